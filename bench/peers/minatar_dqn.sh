#!/usr/bin/env bash
# Learning curves of MinAtar's own DQN (examples/dqn.py, unmodified), one seed after another.
# usage: minatar_dqn.sh [CHECKOUT] [--game breakout] [--seeds 1,2,3] [--frames 200000] --out FILE.csv [--json FILE]
#   CHECKOUT: a copy of kenjyoung/MinAtar at the pinned commit (default /tmp/peers-minatar; cloned if absent).
#   Each seed writes its own part (DIR/.tmp-parts-NAME/seed-S.{csv,json}, DIR and NAME from --out);
#   then all parts there are merged into FILE.csv and the JSON (default DIR/reference.json).
# env:   PEERS_VENV_PARITY (default /tmp/parity-venv), PYTHON (default python3, 3.11),
#        TORCH_INDEX_URL: if set, torch comes from that index (e.g. PyTorch's CPU-only wheels)
#        and the CUDA packages of the PyPI wheel are left out (untested).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
venv=${PEERS_VENV_PARITY:-/tmp/parity-venv}
req=$here/requirements-parity.txt
repo=https://github.com/kenjyoung/MinAtar.git
commit=4241f24685622cfb52f843cab9bbcf385a53484a   # master, 2024-12-19 (examples/dqn.py last changed here)
dqn_blob=f9f964654c6650f9f05222bcd8abfb4265fd076c  # git blob id of examples/dqn.py at $commit
cmdline="$0 $*"

src=/tmp/peers-minatar
if [ $# -gt 0 ] && [ "${1#--}" = "$1" ]; then src=$1; shift; fi
game=breakout seeds=1 frames=200000 out= json=
while [ $# -gt 0 ]; do
  case $1 in
    --game) game=$2; shift 2 ;;
    --seeds|--seed) seeds=$2; shift 2 ;;
    --frames) frames=$2; shift 2 ;;
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
pinned "$src" examples/dqn.py "$dqn_blob"

export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1
export CUDA_VISIBLE_DEVICES=   # dqn.py picks CUDA when it sees a GPU; the reference is the CPU run
export PARITY_CMDLINE=$cmdline PARITY_COMMIT=$commit
mkdir -p "$parts"
for seed in ${seeds//,/ }; do
  "$venv/bin/python" -W ignore "$here/minatar_dqn_run.py" "$src/examples/dqn.py" --blob "$dqn_blob" \
    --game "$game" --seed "$seed" --frames "$frames" --parts "$parts"
done
"$venv/bin/python" "$here/parity_common.py" merge "$parts" "$out" "$json"
