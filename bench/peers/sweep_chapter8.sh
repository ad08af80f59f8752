#!/usr/bin/env bash
# This project's row: the chapter's DQN (experiments/chapter8.toml) at seed 0 only, one thread.
# Env steps and wall time are read from the run's episodes.csv (last row: cumulative `steps`,
# `wall_s` since the run began), i.e. the 300 training episodes, as chapter_run.py times them.
# usage: sweep_chapter8.sh        (SWEEP_BIN defaults to target/release/sweep: cargo build --release)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
sweep=${SWEEP_BIN:-$root/target/release/sweep}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
sed -e 's/^seeds = 10$/seeds = 1/' "$root/experiments/chapter8.toml" > "$work/chapter8.toml"
grep -q '^seeds = 1$' "$work/chapter8.toml" || { echo "chapter8.toml: no 'seeds = 10' line" >&2; exit 2; }
"$sweep" run -o "$work/out" -j 1 --fresh -q "$work/chapter8.toml"
csv="$work/out/chapter8/runs/default/seed-0/episodes.csv"
awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
  { episodes = NR - 1; steps = $col["steps"]; wall = $col["wall_s"] }
  END { printf "RESULT tool=sweep-chapter8 episodes=%d env_steps=%d wall_s=%.3f steps_per_s=%.1f\n",
        episodes, steps, wall, steps / wall }' "$csv"
