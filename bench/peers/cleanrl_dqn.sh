#!/usr/bin/env bash
# Learning curves of CleanRL's DQN (cleanrl/dqn.py, unmodified, CleanRL's defaults), one seed after another.
# usage: cleanrl_dqn.sh [CHECKOUT] [--env-id CartPole-v1] [--seeds 1,2,3] [--total-timesteps 500000] --out FILE.csv [--json FILE]
#   CHECKOUT: a copy of vwxyzjn/cleanrl at the pinned commit (default /tmp/peers-cleanrl; cloned if absent).
#   Each seed writes its own part (DIR/.tmp-parts-NAME/seed-S.{csv,json}, DIR and NAME from --out);
#   then all parts there are merged into FILE.csv and the JSON (default DIR/reference.json).
# env:   PEERS_VENV_PARITY (default /tmp/parity-venv), PYTHON (default python3, 3.11),
#        TORCH_INDEX_URL: if set, torch comes from that index (e.g. PyTorch's CPU-only wheels)
#        and the CUDA packages of the PyPI wheel are left out (untested).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
venv=${PEERS_VENV_PARITY:-/tmp/parity-venv}
req=$here/requirements-parity.txt
repo=https://github.com/vwxyzjn/cleanrl.git
commit=fe8d8a03c41a7ef5b523e2e354bd01c363e786bb      # master, 2026-04-20
dqn_blob=c0ad5e98b8b37582301b38b0a786ae5050efff1f     # git blob id of cleanrl/dqn.py at $commit (last changed 004f8a08, 2025-07-08)
buffers_blob=544faaf478831e528fd90b1ea02005be9befcdea # git blob id of cleanrl_utils/buffers.py at $commit (its ReplayBuffer)
cmdline="$0 $*"

src=/tmp/peers-cleanrl
if [ $# -gt 0 ] && [ "${1#--}" = "$1" ]; then src=$1; shift; fi
env_id=CartPole-v1 seeds=1 steps=500000 out= json=
while [ $# -gt 0 ]; do
  case $1 in
    --env-id) env_id=$2; shift 2 ;;
    --seeds|--seed) seeds=$2; shift 2 ;;
    --total-timesteps) steps=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --json) json=$2; shift 2 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done
[ -n "$out" ] || { echo "--out FILE.csv is required" >&2; exit 2; }
outdir=$(dirname "$out")
json=${json:-$outdir/reference.json}
parts=$outdir/.tmp-parts-$(basename "$out" .csv)

# shellcheck source=parity_setup.sh
. "$here/parity_setup.sh"
ensure_venv
ensure_checkout "$src" "$repo" "$commit"
pinned "$src" cleanrl/dqn.py "$dqn_blob"
pinned "$src" cleanrl_utils/buffers.py "$buffers_blob"

export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1
export CUDA_VISIBLE_DEVICES=   # --no-cuda already; also keeps torch from touching a GPU
export PYTHONPATH=$src${PYTHONPATH:+:$PYTHONPATH}   # cleanrl_utils
export PARITY_CMDLINE=$cmdline PARITY_COMMIT=$commit
mkdir -p "$parts"
for seed in ${seeds//,/ }; do
  "$venv/bin/python" -W ignore "$here/cleanrl_dqn_run.py" "$src" --blob "$dqn_blob" --buffers-blob "$buffers_blob" \
    --env-id "$env_id" --seed "$seed" --total-timesteps "$steps" --parts "$parts"
done
"$venv/bin/python" "$here/parity_common.py" merge "$parts" "$out" "$json"
