#!/bin/bash
# Checks of cluster.sh itself: sourced use with --trap (a job runs, every daemon is gone after
# the caller exits), and a start-up failure (a clear error, the logs, nothing left running).
set -uo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
base=${1:-/tmp/slurm-selftest}
rm -rf "$base"; mkdir -p "$base"
daemons() { pgrep -a -x slurmctld; pgrep -a -x slurmd; pgrep -a -x munged; pgrep -a -x slurmstepd; true; }

echo "== sourced, slurm_up DIR --trap, a job left running when the caller exits"
bash -c "
    set -e
    source '$here/cluster.sh'
    slurm_up '$base/ok' --trap
    echo \"SLURM_CONF=\$SLURM_CONF install=\${SLURM_CI_INSTALL_S}s start=\${SLURM_CI_START_S}s\"
    t0=\$(date +%s.%N)
    sbatch --wait -o '$base/ok/job.out' --wrap 'echo hello from \$SLURM_JOB_ID on \$(hostname -s)'
    echo \"sbatch --wait round trip: \$(awk -v a=\$t0 -v b=\$(date +%s.%N) 'BEGIN{printf \"%.1f\", b-a}')s\"
    cat '$base/ok/job.out'
    sbatch -o /dev/null --wrap 'sleep 300' >/dev/null   # still running at exit
    sleep 2; squeue
    echo 'caller exits now'
"
echo "rc=$?; left running:"; daemons

echo "== start-up failure: a bad slurm.conf line"
bash -c "
    source '$here/cluster.sh'
    SLURM_CI_EXTRA_CONF='NoSuchOption=1' slurm_up '$base/bad' 2>&1 | head -20
    echo \"slurm_up rc=\${PIPESTATUS[0]}\"
"
echo "left running:"; daemons

echo "== as a command: up, status, down"
"$here/cluster.sh" up "$base/cmd" && "$here/cluster.sh" status "$base/cmd" && "$here/cluster.sh" down "$base/cmd"
echo "rc=$?; left running:"; daemons
