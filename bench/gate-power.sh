#!/usr/bin/env bash
# Measure the regression gate's false-alarm rate and power by simulation (issue 10, item 6).
#
# Stands in for "another machine" by re-running experiments/regression.toml on shifted seed
# sets (seeds 8k..8k+7, k = 1..K: not bit-identical to the blessed seeds 0..7, so only the
# statistical level of `sweep check` can judge them), unchanged (false alarms) and perturbed
# (power): lr × 0.5, ε × 2. Prints one line per simulated check and a summary per condition.
#
#   bench/gate-power.sh [K] [extra sweep-check arguments...]     (K default 10)
#
# Needs a release build (cargo build --release). About 25 s per simulated check on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
K=${1:-10}
shift || true
BIN=${SWEEP_BIN:-target/release/sweep}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
src=experiments/regression.toml

variant() { # name, sed expression applied to the experiment file
    local name=$1 expr=$2 k
    shift 2
    for k in $(seq 1 "$K"); do
        local dir="$WORK/$name-$k"
        mkdir -p "$dir/results/baselines"
        cp -r results/baselines/regression "$dir/results/baselines/"
        local seeds
        seeds=$(seq -s, $((8 * k)) $((8 * k + 7)))
        sed -e "s/^seeds = 8$/seeds = [$seeds]/" -e "$expr" "$src" > "$dir/regression.toml"
        grep -q "^seeds = \[" "$dir/regression.toml"
        "$BIN" check "$dir/regression.toml" --out "$dir/results" --quiet "$@" > "$dir/out.txt" || true
        grep -E "^  variant=" "$dir/out.txt" | sed "s/^/$name k=$k /"
    done
}

{
    variant unchanged 's/^$//' "$@"
    variant lr-half 's/^lr = 0.001$/lr = 0.0005/' "$@"
    variant epsilon-double 's/^sync_interval = 5$/sync_interval = 5\nepsilon = 0.2/' "$@"
} | tee "$WORK/all.txt"

echo
echo "| condition | grid point | checks | regressed | pass | improved | mean Δ final IQM |"
echo "|---|---|---|---|---|---|---|"
for cond in unchanged lr-half epsilon-double; do
    for point in dqn double; do
        grep "^$cond " "$WORK/all.txt" | grep "variant=$point " | awk -v c="$cond" -v p="$point" '
            { n++; if ($0 ~ /REGRESSED/) r++; else if ($0 ~ /IMPROVED/) i++; else ok++;
              match($0, /\(Δ [-+0-9.]+/); d += substr($0, RSTART + 3, RLENGTH - 3) }
            END { printf "| %s | %s | %d | %d | %d | %d | %+.1f |\n", c, p, n, r, ok, i, d / n }'
    done
done
