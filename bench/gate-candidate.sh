#!/usr/bin/env bash
# A candidate design for the regression gate (issue 10, item 6), measured by simulation:
# DQN only, a 100-seed blessed baseline, 24 seeds per check, tolerance 0,
# 90% two-sided intervals (one-sided 5%). Checks 10 shifted 24-seed sets unchanged and with
# lr x 0.5 against the baseline; about 13 min on 2 cores. Needs a release build.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${SWEEP_BIN:-target/release/sweep}
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
mk() { # seeds-expr, lr
cat <<T
name = "gate"
seeds = $1
[env]
id = "CartPole-v0"
[agent]
variant = "dqn"
lr = $2
sync_interval = 5
[train]
episodes = 100
eval_episodes = 5
q_probe_interval = 0
probe_states = 32
[report]
resamples = 2000
final_window = 50
confidence = 0.90
T
}
mk 100 0.001 > $W/base.toml
/usr/bin/time -f "bless %e s" $BIN bless $W/base.toml --out $W/results --quiet
for k in $(seq 0 9); do
  seeds="[$(seq -s, $((100 + 24 * k)) $((100 + 24 * k + 23)))]"
  for cond in unchanged:0.001 lr-half:0.0005; do
    name=${cond%%:*}; lr=${cond##*:}
    d=$W/$name-$k; mkdir -p $d/results/baselines; cp -r $W/results/baselines/gate $d/results/baselines/
    mk "$seeds" $lr > $d/gate.toml
    /usr/bin/time -f "%e s" $BIN check $d/gate.toml --out $d/results --quiet --tolerance 0 > $d/out.txt 2> $d/time.txt || true
    echo "$name k=$k $(grep -E "^  default" $d/out.txt) $(cat $d/time.txt | tail -1)"
  done
done
