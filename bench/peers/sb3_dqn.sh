#!/usr/bin/env bash
# Env steps/s of Stable-Baselines3 DQN on CartPole-v0, 1 torch thread, seed 0.
# usage: sb3_dqn.sh [--steps N] [--seed S]   (arguments go to sb3_dqn.py; default 20000 steps)
# env:   PEERS_VENV_SB3 (default /tmp/peers-venv-sb3), PYTHON (default python3, 3.11),
#        TORCH_INDEX_URL: if set, torch comes from that index (e.g. PyTorch's CPU-only wheels)
#        and the CUDA packages of the PyPI wheel are left out.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
venv=${PEERS_VENV_SB3:-/tmp/peers-venv-sb3}
req=$here/requirements-sb3.txt

[ -x "$venv/bin/python" ] || "${PYTHON:-python3}" -m venv "$venv"
if [ -n "${TORCH_INDEX_URL:-}" ]; then
  "$venv/bin/pip" install -q "$(grep '^torch==' "$req")" --index-url "$TORCH_INDEX_URL"
  req=$venv/requirements-no-cuda.txt
  grep -vE '^(nvidia-|cuda-|triton==)' "$here/requirements-sb3.txt" > "$req"
fi
"$venv/bin/pip" install -q -r "$req"

export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1
exec "$venv/bin/python" -W ignore "$here/sb3_dqn.py" "$@"
