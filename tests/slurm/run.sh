#!/usr/bin/env bash
# A real one-node SLURM cluster (tests/slurm/cluster.sh) runs what `sweep slurm` writes for a
# small MinAtar experiment, and every array task is cut once mid-run the way a time limit cuts
# it: USR1 to the batch shell (`scancel --signal=USR1 --batch`, what `--signal=B:USR1@margin`
# sends), on which the sweep checkpoints its run, requeues its own task and exits 75; the
# requeued task resumes from the checkpoint. Checks that each run was cut once and resumed
# from the step it was cut at (trained to the end exactly once in total), that the report job
# ran, and that the results equal a plain sweep's. Stops the daemons it started (by pid).
#
#   tests/slurm/run.sh            # after `cargo build --release` (SWEEP_BIN overrides the binary)
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
bin=${SWEEP_BIN:-$repo/target/release/sweep}
[ -x "$bin" ] || { echo "no sweep binary at $bin (cargo build --release)" >&2; exit 2; }
work=$(mktemp -d /tmp/slurm-ci.XXXXXX)
t_start=$(date +%s)
say() { echo "[slurm-test $(date +%T)] $*"; }

# shellcheck source=tests/slurm/cluster.sh
source "$repo/tests/slurm/cluster.sh"
slurm_up "$work/cluster" --trap
say "cluster up (install ${SLURM_CI_INSTALL_S}s, start ${SLURM_CI_START_S}s)"

cd "$work"
cat > slurm-ci.toml <<'EOF'
# Two MinAtar runs, one per array task, each cut once by the test.
name = "slurm-ci"
seeds = 2
[env]
id = "MinAtar/Breakout"
[agent]
variant = "per"
buffer_size = 5000
learning_starts = 500
[train]
steps = 12000
eval_interval = 4000
eval_episodes = 3
q_probe_interval = 10
probe_states = 32
checkpoint_interval = 1000
[report]
resamples = 200
EOF

"$bin" slurm slurm-ci.toml --shards 2 --cpus 1 --time 0-00:30:00 --out results --dir launch
say "train.sbatch:"; sed 's/^/    /' launch/slurm-ci/train.sbatch
submitted=$(launch/slurm-ci/submit.sh)
say "$submitted"
job=$(sed -n 's/.*array job \([0-9]*\).*/\1/p' <<<"$submitted")
report=$(sed -n 's/.*report job \([0-9]*\).*/\1/p' <<<"$submitted")
[ -n "$job" ] && [ -n "$report" ] || { echo "cannot read the job ids" >&2; exit 1; }

# Which seed each task trains (the plan's split is the one the tasks use).
"$bin" plan slurm-ci.toml --shards 2 --out results --json > plan.json
seed_of() {
    python3 -c 'import json,sys; p=json.load(open("plan.json")); print([r["seed"] for r in p["runs"] if r["shard"]==int(sys.argv[1])][0])' "$1"
}

state_of() { scontrol show job "$1" 2>/dev/null | sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p' | head -1; }

wait_for() { # wait_for SECONDS DESCRIPTION COMMAND...
    local limit=$1 what=$2 t0; shift 2; t0=$(date +%s)
    until "$@"; do
        if [ $(( $(date +%s) - t0 )) -ge "$limit" ]; then
            echo "timed out after ${limit}s waiting for $what" >&2
            squeue >&2 || true; tail -n 30 slurm-logs/* >&2 || true
            exit 1
        fi
        sleep 0.2
    done
}

for task in 0 1; do
    seed=$(seed_of "$task")
    ckpt="results/slurm-ci/runs/default/seed-$seed/checkpoint/state.bin"
    wait_for 120 "task $task's first checkpoint" test -f "$ckpt"
    say "task ${job}_$task (seed $seed) has a checkpoint; USR1 to its batch shell"
    scancel --signal=USR1 --batch "${job}_$task"
    wait_for 60 "task $task to requeue itself" bash -c "[ \"\$(scontrol show job ${job}_$task | sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p' | head -1)\" = PENDING ]"
    say "task ${job}_$task requeued itself: $(scontrol show job "${job}_$task" | grep -o 'JobState=[A-Z_]* Reason=[A-Za-z_]*' | head -1)"
    # A requeued job waits cred_expire + 1 s; start it now (after 1 s: cluster.sh explains).
    sleep 1
    scontrol update JobId="${job}_$task" StartTime=now
done

done_all() { [ -z "$(squeue -h -j "$job,$report" 2>/dev/null)" ]; }
wait_for 240 "the array and the report job to end" done_all
say "array and report job ended: $(cat "$work/cluster/log/jobcomp.txt" 2>/dev/null | grep -c . || true) job-end records"

fail() { echo "FAIL: $*" >&2; exit 1; }
for task in 0 1; do
    seed=$(seed_of "$task")
    log="slurm-logs/slurm-ci-${job}_$task.out"
    [ -f "$log" ] || log=$(ls slurm-logs/*"${job}_$task".out)
    say "log of task $task:"; sed 's/^/    /' "$log"
    stops=$(grep -c '^stopped .* (checkpointed)' "$log" || true)
    [ "$stops" -eq 1 ] || fail "task $task stopped $stops times (expected 1)"
    grep -q "^requeued SLURM job ${job}_$task" "$log" || fail "task $task did not requeue itself"
    cut=$(sed -n 's/^stopped .* at step \([0-9]*\) (checkpointed)/\1/p' "$log")
    resumed=$(sed -n 's/^resumed .* at step \([0-9]*\)$/\1/p' "$log")
    [ "$cut" = "$resumed" ] || fail "task $task cut at step $cut but resumed at ${resumed:-nothing}"
    starts=$(grep -c ' starts (restart' "$log")
    [ "$starts" -eq 2 ] || fail "task $task started $starts times (expected 2)"
    say "task $task: cut at step $cut, resumed there, finished"
done
[ -f results/slurm-ci/summary.csv ] || fail "the report job wrote no summary"

# The same experiment as a plain sweep on this machine: the same runs, bit for bit.
"$bin" run slurm-ci.toml --out plain --quiet > /dev/null
python3 - results/slurm-ci/runs plain/slurm-ci/runs <<'EOF'
import csv, json, pathlib, sys
a, b = map(pathlib.Path, sys.argv[1:3])
def runs(root):
    return sorted(p.relative_to(root) for p in root.glob("*/seed-*") if p.is_dir())
assert runs(a) == runs(b) and runs(a), (runs(a), runs(b))
for r in runs(a):
    for name in ("episodes.csv", "run.json"):
        x, y = a / r / name, b / r / name
        if name.endswith(".csv"):
            rows = lambda p: [{k: v for k, v in row.items() if k != "wall_s"} for row in csv.DictReader(open(p))]
            same = rows(x) == rows(y)
        else:
            load = lambda p: {k: v for k, v in json.load(open(p)).items() if k != "wall_s"}
            same = load(x) == load(y)
        assert same, f"{r}/{name} differs from the plain sweep's"
    info = json.load(open(a / r / "run.json"))
    assert info["status"] == "ok" and info["env_steps"] == 12000, info
    assert not (a / r / "checkpoint").exists(), f"{r} kept its checkpoint"
print(f"slurm runs equal the plain sweep's: {len(runs(a))} runs")
EOF
say "passed in $(( $(date +%s) - t_start ))s"
