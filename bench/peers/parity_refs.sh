#!/usr/bin/env bash
# What produced results/parity/*/reference.{csv,json}: the two reference DQNs, unmodified, 5 seeds each,
# one run at a time, each pinned to CPU $CPU (default 1) with taskset:
#   CleanRL cleanrl/dqn.py, CartPole-v1, seeds 1..5, 500000 steps -> results/parity/cartpole-cleanrl/
#   MinAtar examples/dqn.py, breakout,   seeds 1..5, 200000 frames -> results/parity/minatar-breakout/
# usage: parity_refs.sh [MINATAR_CHECKOUT] [CLEANRL_CHECKOUT]   (defaults /tmp/peers-minatar, /tmp/peers-cleanrl)
# Old per-seed parts in the two folders are removed first, so the merged files hold exactly this run.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
minatar_src=${1:-/tmp/peers-minatar}
cleanrl_src=${2:-/tmp/peers-cleanrl}
cpu=${CPU:-1}
cd "$root"   # so the command lines recorded in the JSON are relative to the repo root
cl=results/parity/cartpole-cleanrl
mn=results/parity/minatar-breakout
rm -rf "$cl/.tmp-parts-reference" "$mn/.tmp-parts-reference"
mkdir -p "$cl" "$mn"

# Each script runs its seeds one after another in its own process per seed (taskset's pin is inherited).
taskset -c "$cpu" bench/peers/cleanrl_dqn.sh "$cleanrl_src" --env-id CartPole-v1 --seeds 1,2,3,4,5 \
  --total-timesteps 500000 --out "$cl/reference.csv"
taskset -c "$cpu" bench/peers/minatar_dqn.sh "$minatar_src" --game breakout --seeds 1,2,3,4,5 \
  --frames 200000 --out "$mn/reference.csv"
