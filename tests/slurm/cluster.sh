#!/usr/bin/env bash
# A real one-node SLURM cluster on localhost for CI (Debian 12: slurm-wlm 22.05, munge 0.5.15).
#
#   source tests/slurm/cluster.sh
#   slurm_up "$dir"            # install if needed, write the config, start munged/slurmctld/slurmd
#   trap slurm_down EXIT       # or: slurm_up "$dir" --trap (installs that trap for you)
#   sbatch ...; squeue; ...    # SLURM_CONF is exported, every client finds the cluster
#   slurm_down                 # kills exactly the pids slurm_up started, waits for them
#
#   tests/slurm/cluster.sh up DIR      # same, as a command (pids kept in DIR/run/*.ci-pid);
#   export SLURM_CONF=DIR/etc/slurm.conf   # it prints this line for the caller
#   tests/slurm/cluster.sh down DIR
#   tests/slurm/cluster.sh status DIR
#
# Everything (config, munge key and socket, state, spool, logs, pid files) lives in DIR; nothing
# is written to /etc or /var apart from the apt install. DIR must not contain spaces. Needs root
# (slurmd runs jobs as their user); sudo is used for apt-get only when not root. Ports 6817/6818
# on localhost. No cgroups needed (proctrack/linuxproc, task/none), no slurmdbd (so no sacct:
# DIR/log/jobcomp.txt gets one line per job end, `scontrol show job` the rest).
# Tunables (environment, optional):
#   SLURM_CI_CRED_EXPIRE  AuthInfo cred_expire, seconds (default 10, Slurm's is 120, at least 5:
#                         slurmctld rejects less). A requeued job waits that long plus 1 s after
#                         it has ended (BeginTime); `scontrol update JobId=ID StartTime=now` skips
#                         it, but `sleep 1` after the job is PENDING first: relaunched within the
#                         second of the kill, it fails ("Job credential revoked").
#   SLURM_CI_KILLWAIT     KillWait: seconds from SIGTERM to SIGKILL on time-out/cancel (default 5).
#   SLURM_CI_MINJOBAGE    MinJobAge: seconds a finished job stays in `scontrol show job` (60).
#   SLURM_CI_CTLD_PORT    slurmctld port (6817); slurmd uses the next one.
#   SLURM_CI_UP_TIMEOUT   seconds to wait for the node to be idle (60).
#   SLURM_CI_EXTRA_CONF   extra lines appended to slurm.conf (e.g. "RequeueExit=75").
# After slurm_up: SLURM_CI_INSTALL_S (0 when already installed) and SLURM_CI_START_S hold the
# seconds taken; they are also written to DIR/timings.

_slurm_ci_log() { echo "[slurm-ci] $*" >&2; }

_slurm_ci_now() { date +%s.%N; }

_slurm_ci_secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

# Install slurm-wlm and munge when a daemon is missing; sets SLURM_CI_INSTALL_S.
slurm_install() {
    SLURM_CI_INSTALL_S=0
    if command -v slurmctld >/dev/null && command -v slurmd >/dev/null \
        && command -v munged >/dev/null && command -v sbatch >/dev/null; then
        return 0
    fi
    local sudo="" t0
    [ "$(id -u)" -eq 0 ] || sudo=sudo
    t0=$(_slurm_ci_now)
    _slurm_ci_log "installing slurm-wlm and munge with apt-get"
    # The packages' postinst try to start the services; without systemd (containers, CI)
    # invoke-rc.d refuses, which is what we want: we start our own daemons below.
    if ! { $sudo apt-get update -qq \
        && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
            --no-install-recommends slurm-wlm munge; } >/tmp/slurm-ci-apt.log 2>&1; then
        _slurm_ci_log "apt-get failed:"; tail -20 /tmp/slurm-ci-apt.log >&2
        return 1
    fi
    SLURM_CI_INSTALL_S=$(_slurm_ci_secs "$t0" "$(_slurm_ci_now)")
    _slurm_ci_log "installed in ${SLURM_CI_INSTALL_S}s"
}

# Write DIR/etc/slurm.conf for this machine.
_slurm_ci_write_conf() {
    local dir=$1 host node_line cpus mem
    host=$(hostname -s)
    # `slurmd -C` prints this machine's node line (CPUs, sockets, cores, threads, RealMemory).
    node_line=$(slurmd -C 2>/dev/null | head -1)
    if [ -z "$node_line" ]; then
        cpus=$(nproc)
        mem=$(awk '/MemTotal/ { print int($2 / 1024) }' /proc/meminfo)
        node_line="NodeName=$host CPUs=$cpus RealMemory=$mem"
    fi
    # Our node name must be the short host name, which `slurmd -C` uses too.
    node_line=$(echo "$node_line" | sed -E "s/^NodeName=[^ ]+/NodeName=$host/")
    local port=${SLURM_CI_CTLD_PORT:-6817}
    cat >"$dir/etc/slurm.conf" <<EOF
# One-node test cluster written by tests/slurm/cluster.sh; all paths inside $dir.
ClusterName=ci
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
SlurmctldPort=$port
SlurmdPort=$((port + 1))
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$dir/munge/munge.socket,cred_expire=${SLURM_CI_CRED_EXPIRE:-10}
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/run/slurmctld.pid
SlurmdPidFile=$dir/run/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
# No cgroups needed: processes are tracked through /proc, tasks are not bound.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
# No slurmdbd, so no sacct; each job's end (state, exit code) is appended to this file.
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$dir/log/jobcomp.txt
SwitchType=switch/none
MpiDefault=none
MailProg=/bin/true
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
PriorityType=priority/basic
SchedulerType=sched/backfill
# Try pending jobs every 2 s (default 60 s), so a job whose BeginTime passed starts at once.
SchedulerParameters=sched_interval=2,bf_interval=1,batch_sched_delay=0,sched_min_interval=0
ReturnToService=2
MinJobAge=${SLURM_CI_MINJOBAGE:-60}
KillWait=${SLURM_CI_KILLWAIT:-5}
OverTimeLimit=0
MessageTimeout=10
InactiveLimit=0
SlurmctldTimeout=30
SlurmdTimeout=60
$node_line NodeAddr=127.0.0.1 State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
${SLURM_CI_EXTRA_CONF:-}
EOF
}

# Start a daemon in the background, in its own session, and record its pid.
_slurm_ci_start() {
    local dir=$1 name=$2
    shift 2
    setsid "$@" </dev/null >>"$dir/log/$name.stdout" 2>&1 &
    echo $! >"$dir/run/$name.ci-pid"
}

_slurm_ci_dump_logs() {
    local dir=$1 f
    for f in "$dir"/log/*; do
        [ -f "$f" ] || continue
        echo "----- $f (last 40 lines)" >&2
        tail -40 "$f" >&2
    done
}

# slurm_up DIR [--trap]: start the cluster; with --trap, slurm_down runs on EXIT.
slurm_up() {
    local dir=${1:?usage: slurm_up DIR [--trap]} t0 deadline state
    [ "${2:-}" = --trap ] && trap slurm_down EXIT
    slurm_install || return 1
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd -P)
    export SLURM_CI_DIR=$dir
    t0=$(_slurm_ci_now)
    mkdir -p "$dir"/{etc,munge,state,spool,log,run}
    # Jobs of any user reach the socket; the key itself is owner-only (munged insists).
    chmod 755 "$dir/munge"
    # A munge key of our own.
    if [ ! -s "$dir/munge/munge.key" ]; then
        dd if=/dev/urandom of="$dir/munge/munge.key" bs=1024 count=1 status=none
        chmod 400 "$dir/munge/munge.key"
    fi
    _slurm_ci_write_conf "$dir"
    export SLURM_CONF=$dir/etc/slurm.conf

    # munged refuses to start when the socket path is insecure, or as root without --force.
    _slurm_ci_start "$dir" munged munged --foreground --force \
        --socket="$dir/munge/munge.socket" --key-file="$dir/munge/munge.key" \
        --pid-file="$dir/munge/munged.pid" --seed-file="$dir/munge/munged.seed" \
        --log-file="$dir/log/munged.log"
    deadline=$((SECONDS + 10))
    until [ -S "$dir/munge/munge.socket" ]; do
        if [ $SECONDS -ge $deadline ] || ! kill -0 "$(cat "$dir/run/munged.ci-pid")" 2>/dev/null; then
            _slurm_ci_log "munged did not start"; _slurm_ci_dump_logs "$dir"; slurm_down; return 1
        fi
        sleep 0.1
    done
    # slurmctld -c: a clean start (no jobs from an earlier state save); -D: stay in the foreground.
    _slurm_ci_start "$dir" slurmctld slurmctld -D -c -f "$SLURM_CONF"
    _slurm_ci_start "$dir" slurmd slurmd -D -f "$SLURM_CONF"

    deadline=$((SECONDS + ${SLURM_CI_UP_TIMEOUT:-60}))
    while :; do
        state=$(sinfo -h -N -o '%t' 2>/dev/null | head -1)
        case $state in idle | mix | alloc) break ;; esac
        local n
        for n in slurmctld slurmd; do
            if ! kill -0 "$(cat "$dir/run/$n.ci-pid")" 2>/dev/null; then
                _slurm_ci_log "$n exited during start-up"; _slurm_ci_dump_logs "$dir"
                slurm_down; return 1
            fi
        done
        if [ $SECONDS -ge $deadline ]; then
            _slurm_ci_log "node not idle after ${SLURM_CI_UP_TIMEOUT:-60}s (state: '${state:-none}')"
            sinfo -N -l >&2 || true
            _slurm_ci_dump_logs "$dir"; slurm_down; return 1
        fi
        # A node left down/drained by an earlier run: bring it back.
        case $state in down* | drain* | drng*)
            scontrol update NodeName="$(hostname -s)" State=RESUME 2>/dev/null || true ;;
        esac
        sleep 0.2
    done
    SLURM_CI_START_S=$(_slurm_ci_secs "$t0" "$(_slurm_ci_now)")
    printf 'install_s=%s\nstart_s=%s\n' "$SLURM_CI_INSTALL_S" "$SLURM_CI_START_S" >"$dir/timings"
    export SLURM_CI_INSTALL_S SLURM_CI_START_S
    _slurm_ci_log "cluster up in ${SLURM_CI_START_S}s (install ${SLURM_CI_INSTALL_S}s): $(sinfo -h -N -o '%N %t %c CPUs %m MB')"
}

# Kill every process in the session of each slurmstepd whose SLURM_CONF is ours.
_slurm_ci_kill_steps() {
    local dir=$1 p sid
    for p in $(pgrep -x slurmstepd); do
        tr '\0' '\n' 2>/dev/null <"/proc/$p/environ" | grep -qx "SLURM_CONF=$dir/etc/slurm.conf" || continue
        sid=$(ps -o sid= -p "$p" | tr -d ' ')
        _slurm_ci_log "killing leftover slurmstepd $p and its session $sid"
        # slurmstepd makes a session of its own; never touch ours (or init's) by mistake.
        if [ -n "$sid" ] && [ "$sid" -gt 1 ] && [ "$sid" != "$(ps -o sid= -p $$ | tr -d ' ')" ]; then
            pkill -KILL -s "$sid" 2>/dev/null
        fi
        kill -KILL "$p" 2>/dev/null || true
    done
}

# slurm_down [DIR]: cancel jobs, kill the daemons slurm_up started (by pid), wait for them.
slurm_down() {
    local dir=${1:-${SLURM_CI_DIR:-}} name pid alive
    [ -n "$dir" ] && [ -d "$dir/run" ] || return 0
    export SLURM_CONF=$dir/etc/slurm.conf
    # Jobs first, so that slurmd ends their slurmstepd processes itself.
    if [ -f "$dir/run/slurmctld.ci-pid" ] && kill -0 "$(cat "$dir/run/slurmctld.ci-pid")" 2>/dev/null; then
        scancel --quiet --full --user="$(id -un)" 2>/dev/null || true
        for _ in $(seq 50); do
            [ -z "$(squeue -h -t R,CG -o %i 2>/dev/null)" ] && break
            sleep 0.2
        done
    fi
    for name in slurmd slurmctld munged; do
        [ -f "$dir/run/$name.ci-pid" ] || continue
        pid=$(cat "$dir/run/$name.ci-pid")
        if kill -0 "$pid" 2>/dev/null; then
            # A job that outlived the scancel: its slurmstepd (started by our slurmd, so it has our
            # SLURM_CONF in its environment) leads a session holding the job's processes.
            [ "$name" = slurmd ] && _slurm_ci_kill_steps "$dir"
            kill -TERM "$pid" 2>/dev/null || true
            for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
            if kill -0 "$pid" 2>/dev/null; then
                _slurm_ci_log "$name ($pid) ignored SIGTERM for 10s: SIGKILL"
                kill -KILL "$pid" 2>/dev/null || true
            fi
            # Reaps it when it is our child (sourced use); harmless otherwise.
            wait "$pid" 2>/dev/null || true
        fi
        rm -f "$dir/run/$name.ci-pid"
    done
    alive=$(ps -e -o pid=,comm=,args= | awk -v d="$dir" '$2 ~ /^(slurm|munge)/ && index($0, d)' || true)
    [ -z "$alive" ] || _slurm_ci_log "still running after slurm_down: $alive"
    return 0
}

slurm_status() {
    local dir=${1:-${SLURM_CI_DIR:-}} name
    export SLURM_CONF=$dir/etc/slurm.conf
    for name in munged slurmctld slurmd; do
        if [ -f "$dir/run/$name.ci-pid" ] && kill -0 "$(cat "$dir/run/$name.ci-pid")" 2>/dev/null; then
            echo "$name: running, pid $(cat "$dir/run/$name.ci-pid")"
        else
            echo "$name: not running"
        fi
    done
    sinfo -N -l 2>&1 || true
}

# As a command rather than sourced.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    set -uo pipefail
    case "${1:-}" in
    up) slurm_up "${2:?usage: $0 up DIR}" && echo "export SLURM_CONF=$SLURM_CONF" ;;
    down) slurm_down "$(cd "${2:?usage: $0 down DIR}" && pwd -P)" ;;
    status) slurm_status "$(cd "${2:?usage: $0 status DIR}" && pwd -P)" ;;
    install) slurm_install ;;
    *) echo "usage: $0 up|down|status DIR  (or: source $0; slurm_up DIR; ...; slurm_down)" >&2; exit 2 ;;
    esac
fi
