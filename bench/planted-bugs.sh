#!/usr/bin/env bash
# Planted bugs the tests and the gates must catch (issue 24, item 4). Each bench/bugs/*.patch (a
# one-line bug) is applied to a scratch worktree of HEAD, built, and run through the library's
# unit tests and the three CI gates (`sweep check` of experiments/regression.toml, the statistical
# gate; regression-variants.toml and regression-pixels.toml, the exact gates). With --all-tests
# the integration tests run too. Prints one TSV row per bug: which caught it.
#
# Usage: bench/planted-bugs.sh [--all-tests] [PATCH...]   (default: every patch)
# Cost on 2 cores: about 10 min for the 7 patches, a full first build (in target/planted-bugs)
# included; --all-tests adds the integration tests (a few minutes per patch). Not run in CI.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
ALL=0
if [ "${1:-}" = "--all-tests" ]; then ALL=1; shift; fi
patches=("$@")
[ ${#patches[@]} -gt 0 ] || patches=(bench/bugs/*.patch)
W=$(mktemp -d)
cleanup() { git worktree remove --force "$W/tree" >/dev/null 2>&1 || true; rm -rf "$W"; }
trap cleanup EXIT
git worktree add --detach -q "$W/tree" HEAD
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target/planted-bugs}
BIN=$CARGO_TARGET_DIR/release/sweep

# caught CMD... → "caught" when CMD exits non-zero, "missed" otherwise (output in $W/last.txt)
caught() { if (cd "$W/tree" && "$@") > "$W/last.txt" 2>&1; then echo missed; else echo caught; fi; }

printf 'bug\tlib tests'
[ $ALL = 1 ] && printf '\tintegration tests'
printf '\tregression\tregression-variants\tregression-pixels\n'
for p in "${patches[@]}"; do
    (cd "$W/tree" && git checkout -q -- . && git apply "$ROOT/$p")
    (cd "$W/tree" && cargo build --release --quiet --bins --tests) > "$W/build.txt" 2>&1 \
        || { printf '%s\tdoes not build\n' "$(basename "$p" .patch)"; continue; }
    row="$(basename "$p" .patch)\t$(caught cargo test --release --quiet --lib)"
    [ $ALL = 1 ] && row+="\t$(caught cargo test --release --quiet --tests)"
    for gate in regression regression-variants regression-pixels; do
        # against the committed baseline in the worktree's results/ (reset with the next patch)
        row+="\t$(caught "$BIN" check "experiments/$gate.toml" --quiet)"
    done
    printf '%b\n' "$row"
done
