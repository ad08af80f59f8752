#!/usr/bin/env bash
# Env steps/s of the chapter's own DeZero DQN (ch08/dqn.py, 300 episodes, seed 0).
# usage: chapter_dezero.sh [CHECKOUT]   (CHECKOUT: a copy of the book's repo; cloned if absent)
# env:   PEERS_VENV_DEZERO (default /tmp/peers-venv-dezero), PYTHON (default python3, 3.11)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
venv=${PEERS_VENV_DEZERO:-/tmp/peers-venv-dezero}
src=${1:-/tmp/peers-dlfs4}
repo=https://github.com/oreilly-japan/deep-learning-from-scratch-4.git
commit=aab4e7d0ac4fe221b378bdfc4a8f05b134cac87c   # master, 2024-09-30
dqn_blob=0df571046f07425659cd42c238c8d58b7792285f   # git blob id of ch08/dqn.py at $commit

[ -x "$venv/bin/python" ] || "${PYTHON:-python3}" -m venv "$venv"
"$venv/bin/pip" install -q -r "$here/requirements-dezero.txt"

if [ ! -e "$src" ]; then
  git clone -q "$repo" "$src"
  git -C "$src" checkout -q "$commit"
fi
# Works for a clone or an exported tree: the file must be byte-identical to the pinned one.
[ "$(git hash-object "$src/ch08/dqn.py")" = "$dqn_blob" ] || { echo "ch08/dqn.py in $src is not the pinned version" >&2; exit 1; }

export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 PYGAME_HIDE_SUPPORT_PROMPT=1
exec "$venv/bin/python" -W ignore "$here/chapter_run.py" "$src/ch08/dqn.py"
