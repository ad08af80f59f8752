# Sourced by minatar_dqn.sh and cleanrl_dqn.sh: the parity venv and the pinned checkout.
# Expects $venv, $req and $here set by the caller.

# The venv from requirements-parity.txt when it does not exist yet (TORCH_INDEX_URL: torch
# from that index and the CUDA packages of the PyPI wheel left out; untested).
ensure_venv() {
  [ -x "$venv/bin/python" ] && return
  "${PYTHON:-python3}" -m venv "$venv"
  if [ -n "${TORCH_INDEX_URL:-}" ]; then
    "$venv/bin/pip" install -q "$(grep '^torch==' "$req")" --index-url "$TORCH_INDEX_URL"
    grep -vE '^(nvidia-|cuda-|triton==)' "$here/requirements-parity.txt" > "$venv/requirements-no-cuda.txt"
    req=$venv/requirements-no-cuda.txt
  fi
  "$venv/bin/pip" install -q -r "$req"
}

# ensure_checkout SRC REPO COMMIT: clone REPO at COMMIT into SRC unless SRC exists.
ensure_checkout() {
  [ -e "$1" ] && return
  git clone -q "$2" "$1"
  git -C "$1" checkout -q "$3"
}

# pinned SRC FILE BLOB: FILE in SRC (a clone or an exported tree) is byte-identical to the
# pinned version, or the script stops.
pinned() {
  [ "$(git hash-object "$1/$2")" = "$3" ] || { echo "$2 in $1 is not the pinned version" >&2; exit 1; }
}
