#!/bin/bash
# Probes of SLURM behaviour behind `sweep slurm`'s requeue design (see ../FINDINGS.md).
#   source ../cluster.sh; slurm_up DIR      (SLURM_CONF set)
#   probe/run.sh SCRATCH EXPERIMENT...      experiments: usr1 array outside timelimit exit75
#                                           norequeue starttime starttime_array release
#                                           requeueexit requeuefinished starttime_loop
# Each prints what it did and saw: timestamps, `scontrol show job` fields, the job's output.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
P=${1:?scratch dir}; shift
mkdir -p "$P/out"
cp "$here/child.sh" "$P/"
export PROBE_DIR=$P
ts() { date +%T.%3N; }
say() { echo "$(ts) # $*"; }
fields() {
    scontrol show job "$1" 2>&1 | grep -oE '(JobState|Reason|Restarts|Requeue|ExitCode|BeginTime|EligibleTime|StartTime|EndTime|SubmitTime|ArrayJobId|ArrayTaskId)=[^ ]+' \
        | grep -v 'EndTime=Unknown' | tr '\n' ' '
}
# watch ID SECS: print a line whenever the job's state/restarts/begin time change; stop at an end state.
watch_job() {
    local id=$1 last="" cur end=$((SECONDS + $2))
    while [ $SECONDS -lt $end ]; do
        cur=$(scontrol show job "$id" 2>&1 | grep -oE '(JobState|Reason|Restarts|StartTime)=[^ ]+' | tr '\n' ' ')
        if [ "$cur" != "$last" ]; then echo "$(ts) $id: $cur"; last=$cur; fi
        case $cur in *JobState=COMPLETED* | *JobState=FAILED* | *JobState=TIMEOUT* | *JobState=CANCELLED* | *JobState=OUT_OF_MEMORY*) return 0 ;; esac
        sleep 0.25
    done
}
wait_running() { # ID: until RUNNING
    local id=$1
    for _ in $(seq 200); do
        [ "$(squeue -h -j "$id" -o %T 2>/dev/null)" = RUNNING ] && return 0
        sleep 0.1
    done
    return 1
}
submit() { sbatch --parsable -o "$P/out/%x-%j.out" "$@" "$here/job.sbatch"; }
show_out() { echo "--- output $1"; cat "$1"; echo "---"; }

exp_usr1() {
    say "2(a)(b)(c): scancel --signal=USR1 --batch, then self-requeue"
    local id; id=$(PROBE_TOTAL=15 submit -J usr1); say "submitted $id"
    wait_running "$id"; say "running: $(fields "$id")"; sleep 4
    say "process tree:"; ps -e -o pid,ppid,pgid,sid,args | grep -E "slurmstepd|slurm_script|child.sh|sleep 1" | grep -v grep
    say "scancel --signal=USR1 $id   (without --batch)"; scancel --signal=USR1 "$id"; echo "rc=$?"; sleep 2
    say "scancel --signal=USR1 --batch $id"; scancel --signal=USR1 --batch "$id"; echo "rc=$?"
    watch_job "$id" 200
    say "final: $(fields "$id")"
    show_out "$P/out/usr1-$id.out"
    say "sacct -j $id"; sacct -j "$id" 2>&1
}

exp_array() {
    say "2(d): array task requeues itself with scontrol requeue \${SLURM_ARRAY_JOB_ID}_\${SLURM_ARRAY_TASK_ID}"
    local a; a=$(PROBE_TOTAL=12 PROBE_AFTER_REQUEUE=5 PROBE_EXIT=75 sbatch --parsable --array=0-1 \
        -o "$P/out/%x-%A_%a.out" -J arr "$here/job.sbatch"); say "submitted array $a"
    wait_running "${a}_0"; sleep 4
    say "squeue:"; squeue -j "$a" -o '%i %A %T %r'
    say "scancel --signal=USR1 --batch ${a}_0"; scancel --signal=USR1 --batch "${a}_0"; echo "rc=$?"
    watch_job "${a}_0" 200
    watch_job "${a}_1" 30 >/dev/null
    say "final task 0: $(fields "${a}_0")"
    say "final task 1: $(fields "${a}_1")"
    show_out "$P/out/arr-${a}_0.out"
    show_out "$P/out/arr-${a}_1.out"
}

exp_outside() {
    say "3(iii): scontrol requeue from outside on a running job (child ignores TERM)"
    local id; id=$(PROBE_TOTAL=60 PROBE_CHILD_IGNORE_TERM=1 PROBE_CHILD_VERBOSE=1 submit -J outside)
    wait_running "$id"; sleep 3
    say "scontrol requeue $id"; scontrol requeue "$id"; echo "rc=$?"
    watch_job "$id" 30
    say "after: $(fields "$id")"
    sleep 3; scancel "$id"; watch_job "$id" 20 >/dev/null
    show_out "$P/out/outside-$id.out"
}

exp_timelimit() {
    say "2(e): --time=00:02:00 --signal=B:USR1@60 (USR1 logged, not forwarded, no requeue: runs into the limit)"
    local id; id=$(PROBE_TOTAL=1000 PROBE_FORWARD_USR1=0 PROBE_REQUEUE=0 PROBE_CHILD_IGNORE_TERM=1 PROBE_CHILD_VERBOSE=1 submit -J tlimit)
    say "submitted $id"
    say "3(ii): --time=1 --signal=B:USR1@50 with self-requeue"
    local id2; id2=$(PROBE_TOTAL=1000 submit -J tshort --time=1 --signal=B:USR1@50); say "submitted $id2"
    wait_running "$id"; say "running: $(fields "$id")"
    ( watch_job "$id2" 100; scancel "$id2" ) &
    watch_job "$id" 240
    wait
    sleep 2
    say "final $id: $(fields "$id")"
    say "final $id2: $(fields "$id2")"
    show_out "$P/out/tlimit-$id.out"
    show_out "$P/out/tshort-$id2.out"
}

exp_exit75() {
    say "2(f): a --requeue job whose script exits 75, no scontrol requeue"
    local id; id=$(sbatch --parsable --requeue -J exit75 -o "$P/out/%x-%j.out" --wrap 'echo running; exit 75')
    watch_job "$id" 30
    say "final: $(fields "$id")"
    tail -1 "$SLURM_CI_DIR/log/jobcomp.txt" 2>/dev/null
}

exp_norequeue() {
    say "a job submitted with --no-requeue that calls scontrol requeue on itself"
    local id; id=$(PROBE_TOTAL=15 submit -J noreq --no-requeue); wait_running "$id"; sleep 3
    scancel --signal=USR1 --batch "$id"
    watch_job "$id" 40
    say "final: $(fields "$id")"
    show_out "$P/out/noreq-$id.out"
}

exp_requeuefinished() {
    say "scontrol requeue from outside on a job that already ended FAILED (exit 1)"
    local id; id=$(sbatch --parsable -J fin -o "$P/out/%x-%j.out" \
        --wrap 'echo "$(date +%T.%3N) run restart=${SLURM_RESTART_COUNT:-unset}"; [ -n "${SLURM_RESTART_COUNT:-}" ] || exit 1')
    watch_job "$id" 30
    say "scontrol requeue $id"; scontrol requeue "$id"; echo "rc=$?"
    watch_job "$id" 150
    say "final: $(fields "$id")"
    show_out "$P/out/fin-$id.out"
}

exp_requeueexit() {
    say "RequeueExit=75 in slurm.conf: a job (and an array task) exiting 75 once, no scontrol"
    grep -i '^RequeueExit' "$SLURM_CONF"
    local cmd='echo "$(date +%T.%3N) run restart=${SLURM_RESTART_COUNT:-unset}"; [ -n "${SLURM_RESTART_COUNT:-}" ] || exit 75'
    local id a
    id=$(sbatch --parsable -J rqx -o "$P/out/%x-%j.out" --wrap "$cmd")
    a=$(sbatch --parsable -J rqxa --array=0-1 -o "$P/out/%x-%A_%a.out" --wrap "$cmd")
    watch_job "$id" 150
    watch_job "${a}_1" 30
    say "final $id: $(fields "$id")"
    say "final ${a}_0: $(fields "${a}_0")"
    say "final ${a}_1: $(fields "${a}_1")"
    show_out "$P/out/rqx-$id.out"; show_out "$P/out/rqxa-${a}_0.out"
    grep -E "JobId=($id|${a}_|$((a+1)))" "$SLURM_CI_DIR/log/slurmctld.log" | tail -8
}

# starttime / release: after a requeue (BeginTime in the future), try to start it at once.
_requeued_pending() { # NAME -> prints job id, pending after a self-requeue
    local id; id=$(PROBE_TOTAL=10 submit -J "$1"); wait_running "$id"; sleep 2
    scancel --signal=USR1 --batch "$id"
    for _ in $(seq 100); do
        [ "$(squeue -h -j "$id" -o %T)" = PENDING ] && break; sleep 0.1
    done
    echo "$id"
}
exp_starttime() {
    say "2(b): after a requeue, scontrol update JobId=.. StartTime=now"
    local id; id=$(_requeued_pending starttime); say "requeued $id: $(fields "$id")"
    say "scontrol update JobId=$id StartTime=now"; scontrol update JobId="$id" StartTime=now; echo "rc=$?"
    watch_job "$id" 60
    show_out "$P/out/starttime-$id.out"
}
exp_starttime_array() {
    say "2(b): after an array task's self-requeue, scontrol update JobId=A_0 StartTime=now"
    local a; a=$(PROBE_TOTAL=10 sbatch --parsable --array=0 -o "$P/out/%x-%A_%a.out" -J sta "$here/job.sbatch")
    wait_running "${a}_0"; sleep 2
    scancel --signal=USR1 --batch "${a}_0"
    for _ in $(seq 100); do [ "$(squeue -h -j "${a}_0" -o %T)" = PENDING ] && break; sleep 0.1; done
    say "requeued ${a}_0: $(fields "${a}_0")"
    say "scontrol update JobId=${a}_0 StartTime=now"; scontrol update JobId="${a}_0" StartTime=now; echo "rc=$?"
    watch_job "${a}_0" 60
    show_out "$P/out/sta-${a}_0.out"
}
# N cut/restart cycles: USR1 --batch at a random sub-second phase, wait for PENDING, sleep
# PROBE_DELAY s, StartTime=now; success = the script's "restart=R: start" line appears.
exp_starttime_loop() {
    local n=${PROBE_CYCLES:-10} d=${PROBE_DELAY:-0} ok=0 bad=0 id="" r=0 st k t0 t1
    say "StartTime=now $n times, ${d}s after the requeued job is PENDING"
    for k in $(seq "$n"); do
        if [ -z "$id" ]; then id=$(PROBE_TOTAL=100000 submit -J loop); r=0; wait_running "$id"; fi
        sleep "$(awk -v r="$RANDOM" 'BEGIN { printf "%.3f", 1 + r / 32768 }')"
        t0=$(date +%s.%N)
        scancel --signal=USR1 --batch "$id"
        for _ in $(seq 100); do [ "$(squeue -h -j "$id" -o %T)" = PENDING ] && break; sleep 0.05; done
        sleep "$d"
        scontrol update JobId="$id" StartTime=now
        r=$((r + 1)); st=timeout
        for _ in $(seq 200); do
            if grep -q "restart=$r: start" "$P/out/loop-$id.out"; then st=restarted; break; fi
            case $(scontrol show job "$id" | grep -oE 'JobState=[A-Z]+') in *FAILED*) st=FAILED; break ;; esac
            sleep 0.05
        done
        t1=$(date +%s.%N)
        echo "$(ts) cycle $k job $id: $st after $(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f", b-a}')s"
        case $st in
        restarted) ok=$((ok + 1)) ;;
        *) bad=$((bad + 1)); grep -E "JobId=$id\b.*(revoked|non-startable)" "$SLURM_CI_DIR/log/slurmctld.log" | tail -1; id="" ;;
        esac
    done
    [ -n "$id" ] && scancel "$id"
    say "delay ${d}s: $ok restarted, $bad failed"
}

exp_release() {
    say "2(b): after a requeue, scontrol release"
    local id; id=$(_requeued_pending release); say "requeued $id: $(fields "$id")"
    say "scontrol release $id"; scontrol release "$id"; echo "rc=$?"
    watch_job "$id" 150
}

for e in "$@"; do "exp_$e"; echo; done
