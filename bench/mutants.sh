#!/usr/bin/env bash
# Mutation testing of the core with cargo-mutants (issue 24, item 3). Each group mutates a few
# files and runs the tests that reach them, in the release profile, in a scratch worktree of
# HEAD, so the checkout you work in is never touched. Results go to
# bench/results/mutants/<group>/ (cargo-mutants' outcomes.json, caught.txt, missed.txt, …);
# bench/mutants-table.py turns them into the per-file table. Justified survivors are listed,
# one reason each, in .cargo/mutants.toml (exclude_re).
#
# Tests per group: the mutated crate's own tests (fast: only that crate is rebuilt), and for
# `update` also the exact gates driven through `cargo test` (tests/check.rs: every variant on
# CartPole, the MinAtar pixel path), which rebuild the harness. MUTANTS_GATES=1 adds the gates
# to any group: use it to recheck survivors (`-F` with their functions, MUTANTS_NAME=<g>-gates).
#
# Usage: bench/mutants.sh GROUP [cargo-mutants args, e.g. --shard 0/8 --sharding round-robin
#        for a sample, --baseline skip to save the unmutated run]
#        MUTANTS_DIR=~/.cache/dqn-sweep-mutants/b bench/mutants.sh ...   (a second run at once)
#        bench/mutants.sh --list            (groups, files and mutant counts; builds nothing)
# Groups: update (crates/agent/src/lib.rs: the update rule and TD targets), replay (uniform,
#         frame and prioritized replay, the sum tree), envs (CartPole, wrappers, MinAtar's games
#         and RNG), stats (the dqn-stats crate).
# Cost on 2 cores (measured, see docs/guide/planted-bugs-and-mutants.md): the first build of
# the scratch target is a few minutes; then per mutant a few seconds for stats, envs and
# replay (their own crates) and about a minute for update (the harness rebuilt, the gates).
# Not run in CI.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

group_files() {
    case "$1" in
        update) echo "crates/agent/src/lib.rs" ;;
        replay) echo "crates/agent/src/replay/uniform.rs crates/agent/src/replay/frames.rs crates/agent/src/replay/prioritized.rs crates/agent/src/replay/sum_tree.rs" ;;
        envs) echo "crates/envs/src/cartpole.rs crates/envs/src/wrappers.rs crates/envs/src/minatar/*.rs" ;;
        stats) echo "crates/stats/src/lib.rs crates/stats/src/bootstrap.rs crates/stats/src/curves.rs" ;;
        *) echo "unknown group \`$1\` (expected update, replay, envs or stats)" >&2; return 2 ;;
    esac
}

# The package that holds a group's files.
group_package() {
    case "$1" in
        update | replay) echo dqn-agent ;;
        envs) echo dqn-envs ;;
        stats) echo dqn-stats ;;
    esac
}

# Seconds a mutant's tests may take before it counts as a timeout (an infinite loop, caught):
# the gates train agents for about a minute; a crate's own tests take a few seconds.
group_timeout() {
    if with_gates "$1"; then echo 300; else echo 60; fi
}

# cargo test arguments per group: test targets, then name filters (any of them selects a test).
# Without the gates cargo-mutants tests only the mutated package (its unit and integration
# tests); with them, the workspace: every crate's unit tests (`tests::`) and the gates.
GATES="every_variant_is_bit_identical the_pixel_path_is_bit_identical"
with_gates() { [ "$1" = update ] || [ "${MUTANTS_GATES:-0}" = 1 ]; }
group_tests() {
    if with_gates "$1"; then
        echo "--lib --test check -- tests:: $GATES"
        return
    fi
    case "$1" in
        replay) echo "--lib" ;;   # dqn-agent's unit tests (replay::…)
        # dqn-envs' unit tests and the Gym and MinAtar trajectory replays
        envs) echo "--lib --test cartpole_gym --test minatar_replay" ;;
        stats) echo "--lib" ;;    # dqn-stats' own tests
    esac
}

if [ "${1:-}" = "--list" ]; then
    for g in update replay envs stats; do
        for f in $(group_files $g); do
            printf '%s\t%s\t%s\n' "$g" "$f" "$(cargo mutants --list --workspace -f "$f" | wc -l)"
        done
    done
    exit 0
fi
[ $# -ge 1 ] || { sed -n 2,26p "$0"; exit 2; }
GROUP=$1; shift
FILES=$(group_files "$GROUP")
# One output folder per group and shard (`--shard K/N` → <group>-K-of-N).
# MUTANTS_NAME overrides it (e.g. a re-run of the survivors with -F, kept beside the full run).
NAME=${MUTANTS_NAME:-$GROUP}
for ((i = 1; i <= $#; i++)); do
    if [ "${!i}" = "--shard" ]; then j=$((i + 1)); NAME=$NAME-${!j/\//-of-}; fi
done
OUT=$ROOT/bench/results/mutants/$NAME
mkdir -p "$OUT"

# A persistent scratch worktree and target (MUTANTS_DIR, default ~/.cache/dqn-sweep-mutants/a;
# outside this checkout, whose workspace would otherwise claim the worktree; several runs can
# go at once with different MUTANTS_DIRs, one per core): after the first build only the mutated
# crate is rebuilt. The target is seeded from this checkout's release build.
M=${MUTANTS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/dqn-sweep-mutants/a}
mkdir -p "$M"
if [ -d "$M/tree" ]; then
    git -C "$M/tree" checkout -q --detach -f "$(git rev-parse HEAD)"
else
    git worktree add --detach -q "$M/tree" HEAD
fi
export CARGO_TARGET_DIR=$M/target
if [ ! -d "$CARGO_TARGET_DIR/release" ] && [ -d "$ROOT/target/release" ]; then
    mkdir -p "$CARGO_TARGET_DIR" && cp -a "$ROOT/target/release" "$CARGO_TARGET_DIR/"
fi

args=()
for f in $FILES; do args+=(-f "$f"); done
# With the gates the tests live in two packages: the mutated crate (its unit tests) and the
# harness (the gates in tests/check.rs). cargo-mutants 27.1 tests the unmutated baseline with
# the mutated package alone whatever --test-package says (lab.rs `run_baseline`), and that
# package has no `check` target, so the baseline is skipped: run the same tests unmutated first
# (`cargo test --release -p dqn-agent -p dqn-sweep --lib --test check`); --timeout bounds each.
if with_gates "$GROUP"; then
    args+=(--test-package "$(group_package "$GROUP")" --test-package dqn-sweep --baseline skip)
fi
# shellcheck disable=SC2046
cargo mutants --in-place -d "$M/tree" --workspace "${args[@]}" --profile release \
    --timeout "$(group_timeout "$GROUP")" --build-timeout 600 --output "$OUT" "$@" \
    -- $(group_tests "$GROUP") || true   # cargo-mutants exits 2 when mutants survive
echo "results: $OUT/mutants.out (summary: bench/mutants-table.py)"
