#!/usr/bin/env bash
# The regression gate's false-alarm rate and power, measured by simulation (issue 10, item 6).
#
# Each check trains experiments/regression.toml on a fresh set of 32 seeds (200 + 32k …, none of
# them blessed, so the runs are never bit-identical: it stands in for another machine) and checks
# it against the committed 200-seed baseline (results/baselines/regression), under a condition:
#   unchanged       the code and config as committed            → false alarms
#   lr-half         [agent] lr × 0.5                            → power
#   epsilon-double  [agent] epsilon × 2 (0.1 → 0.2)             → power (if it lowers the return)
#   drop-done-mask  the one-line bug bench/bugs/drop-done-mask.patch (TD targets bootstrap
#                   through every episode end)                  → power
# From the unchanged checks it also derives the power against a drop of exactly 10% of the
# baseline's final-return IQM: shifting every final return of a check down by d shifts its IQM,
# and each bootstrap replicate, by exactly d, so the check regresses iff hi − d < −tolerance.
#
# Usage: bench/gate-power.sh [NULL_SETS=40] [PERTURBED_SETS=8]   (about a minute per check on
# 2 cores). Uses target/release/sweep (or $SWEEP_BIN); the bug's binary is $SWEEP_BUG_BIN, else
# it is built here by applying the patch to src/ (which must be clean) and reverting it.
# Writes target/gate-power/checks.tsv (one line per check) and prints the summary table.
set -euo pipefail
cd "$(dirname "$0")/.."
NULL_SETS=${1:-40}
PERTURBED_SETS=${2:-8}
BIN=${SWEEP_BIN:-target/release/sweep}
OUT=target/gate-power
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
mkdir -p "$OUT"

if [ -z "${SWEEP_BUG_BIN:-}" ]; then
    git diff --quiet -- src || { echo "src/ has uncommitted changes; commit them or set SWEEP_BUG_BIN" >&2; exit 2; }
    git apply bench/bugs/drop-done-mask.patch
    cargo build --release --quiet || { git apply -R bench/bugs/drop-done-mask.patch; exit 2; }
    cp target/release/sweep "$W/sweep-bug"
    git apply -R bench/bugs/drop-done-mask.patch
    cargo build --release --quiet
    SWEEP_BUG_BIN=$W/sweep-bug
fi

# The committed experiment on seeds $1, with lr $2 and epsilon $3.
experiment() {
    sed -e "s/^seeds = .*/seeds = $1/" -e "s/^lr = .*/lr = $2\nepsilon = $3/" experiments/regression.toml
}

# check CONDITION K BINARY LR EPSILON → one line of checks.tsv
check() {
    local d=$W/$1-$2 first=$((200 + 32 * $2))
    mkdir -p "$d/results/baselines"
    cp -r results/baselines/regression "$d/results/baselines/"
    experiment "[$(seq -s, $first $((first + 31)))]" "$4" "$5" > "$d/regression.toml"
    local start=$SECONDS
    "$3" check "$d/regression.toml" --out "$d/results" --quiet > "$d/out.txt" || true
    # "  default  PASS  final IQM 160.1 → 155.2 (Δ -4.9 [-15.3, +5.1]; detects a drop of 15.0), …"
    sed -nE "s/^  default +([A-Z]+) +final IQM ([0-9.]+) → ([0-9.]+) \(Δ ([-+0-9.]+) \[([-+0-9.]+), ([-+0-9.]+)\]; detects a drop of ([0-9.]+)\).*/$1\t$2\t\1\t\2\t\3\t\4\t\5\t\6\t\7\t$((SECONDS - start))/p" "$d/out.txt"
    rm -rf "$d"
}

TSV=$OUT/checks.tsv
printf 'condition\tset\toutcome\tbaseline_iqm\tcurrent_iqm\tdelta\tlo\thi\tdetectable_drop\tseconds\n' > "$TSV"
for k in $(seq 0 $((NULL_SETS - 1))); do
    check unchanged "$k" "$BIN" 0.001 0.1 | tee -a "$TSV"
done
for k in $(seq 0 $((PERTURBED_SETS - 1))); do
    check lr-half "$k" "$BIN" 0.0005 0.1 | tee -a "$TSV"
    check epsilon-double "$k" "$BIN" 0.001 0.2 | tee -a "$TSV"
    check drop-done-mask "$k" "$SWEEP_BUG_BIN" 0.001 0.1 | tee -a "$TSV"
done

echo
echo "| condition | checks | regressed | mean Δ final IQM | sd Δ | mean detectable drop |"
echo "|---|---|---|---|---|---|"
awk -F'\t' 'NR > 1 {
    n[$1]++; r[$1] += ($3 == "REGRESSED"); s[$1] += $6; ss[$1] += $6 * $6; dd[$1] += $9
    if ($1 == "unchanged") { n10++; r10 += ($8 - 0.1 * $4 < 0) }
    if (!($1 in seen)) { seen[$1] = 1; order[++m] = $1 }
} END {
    for (i = 1; i <= m; i++) { c = order[i]; mu = s[c] / n[c]
        sd = n[c] > 1 ? sqrt((ss[c] - n[c] * mu * mu) / (n[c] - 1)) : 0
        printf "| %s | %d | %d | %+.1f | %.1f | %.1f |\n", c, n[c], r[c], mu, sd, dd[c] / n[c] }
    if (n10) printf "| unchanged, every final return − 10%% of the baseline IQM | %d | %d | | | |\n", n10, r10
}' "$TSV"
