#!/usr/bin/env bash
# Mutation testing of the core with cargo-mutants (issue 24, item 3). Each group mutates a few
# files and runs only the tests that reach them — the library's unit tests of that module and
# the exact gates driven through `cargo test` (tests/check.rs: every variant on CartPole, the
# MinAtar pixel path) — in the release profile, in a scratch worktree of HEAD, so the checkout
# you work in is never touched. Results go to bench/results/mutants/<group>/ (cargo-mutants'
# outcomes.json, caught.txt, missed.txt, …); bench/mutants-table.py turns them into the per-file
# table. Justified survivors are listed, one reason each, in .cargo/mutants.toml (exclude_re).
#
# Usage: bench/mutants.sh GROUP [cargo-mutants args, e.g. --shard 0/8 --sharding round-robin
#        for a sample, --baseline skip to save the unmutated run]
#        MUTANTS_DIR=~/.cache/dqn-sweep-mutants/b bench/mutants.sh ...   (a second run at once)
#        bench/mutants.sh --list            (groups, files and mutant counts; builds nothing)
# Groups: update (agent/mod.rs: the update rule and TD targets), replay (uniform, frame and
#         prioritized replay, the sum tree), envs (CartPole, MinAtar's games and RNG), stats
#         (the dqn-stats crate).
# Cost on 2 cores (measured, see README "Mutation testing"): the first build of the scratch
# target is a few minutes; then a few seconds per mutant for stats (its own small crate) and
# about 45 s for update and replay (the harness rebuilt twice, plus the gates). Not run in CI.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

group_files() {
    case "$1" in
        update) echo "src/agent/mod.rs" ;;
        replay) echo "src/agent/replay.rs src/agent/frames.rs src/agent/prioritized.rs" ;;
        envs) echo "crates/envs/src/cartpole.rs crates/envs/src/wrappers.rs crates/envs/src/minatar/*.rs" ;;
        stats) echo "crates/stats/src/lib.rs crates/stats/src/bootstrap.rs crates/stats/src/curves.rs" ;;
        *) echo "unknown group \`$1\` (expected update, replay, envs or stats)" >&2; return 2 ;;
    esac
}

# cargo test arguments per group: test targets, then name filters (any of them selects a test).
group_tests() {
    local gates="every_variant_is_bit_identical the_pixel_path_is_bit_identical"
    case "$1" in
        update | replay) echo "--lib --test check -- agent:: train:: $gates" ;;
        # the dqn-envs crate's unit tests and the harness's (`tests::` matches every unit test),
        # the Gym and MinAtar trajectory replays, the exact gates
        envs) echo "--lib --test check --test cartpole_gym --test minatar_replay -- tests:: every_recorded_gym time_limits replays_every_reference $gates" ;;
        stats) echo "--lib" ;;   # the dqn-stats crate's own tests (cargo-mutants tests the mutated package)
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
[ $# -ge 1 ] || { sed -n 2,17p "$0"; exit 2; }
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
# shellcheck disable=SC2046
# The envs group's tests live in two packages (dqn-envs and the harness): test the workspace.
[ "$GROUP" = envs ] && args+=(--test-workspace=true)
cargo mutants --in-place -d "$M/tree" --workspace "${args[@]}" --profile release \
    --timeout 300 --build-timeout 600 --output "$OUT" "$@" \
    -- $(group_tests "$GROUP") || true   # cargo-mutants exits 2 when mutants survive
echo "results: $OUT/mutants.out (summary: bench/mutants-table.py)"
