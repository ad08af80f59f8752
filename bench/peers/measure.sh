#!/usr/bin/env bash
# Run each peer RUNS times (default 3), one after another, each pinned to CPU $CPU (default 1),
# and print one TSV line per run. The peers' own output goes to stderr.
# usage: measure.sh [CHECKOUT] > ../results/peers-DATE.tsv   (CHECKOUT: see chapter_dezero.sh)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
runs=${RUNS:-3}
cpu=${CPU:-1}
printf 'tool\trun\tenv_steps\twall_s\tsteps_per_s\n'
for tool in sweep_chapter8 chapter_dezero sb3_dqn; do
  args=()
  [ "$tool" = chapter_dezero ] && [ $# -gt 0 ] && args=("$1")
  for run in $(seq 1 "$runs"); do
    out=$(taskset -c "$cpu" "$here/$tool.sh" "${args[@]}")
    printf '%s\n' "$out" >&2
    result=$(grep '^RESULT ' <<<"$out")
    awk -v run="$run" '{ for (i = 2; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
      printf "%s\t%s\t%s\t%s\t%s\n", f["tool"], run, f["env_steps"], f["wall_s"], f["steps_per_s"] }' <<<"$result"
  done
done
