#!/bin/bash
# A resumable worker standing in for `sweep run`: counts to TOTAL steps of 1 s, keeping the count
# in STATE (its "checkpoint"). On USR1 or TERM it finishes the current step, saves, and exits 75.
# PROBE_CHILD_IGNORE_TERM=1: log TERM but keep going (to see when SIGKILL comes).
state=${1:?state file}
total=${2:-20}
log() { echo "$(date +%T.%3N) child pid=$$: $*"; }
step=$(cat "$state" 2>/dev/null || echo 0)
stop=""
trap 'log "got USR1"; stop=USR1' USR1
if [ "${PROBE_CHILD_IGNORE_TERM:-0}" = 1 ]; then
    trap 'log "got TERM (ignored)"' TERM
else
    trap 'log "got TERM"; stop=TERM' TERM
fi
log "resume at step $step/$total"
while [ "$step" -lt "$total" ]; do
    sleep 1 &
    wait $! 2>/dev/null
    step=$((step + 1))
    echo "$step" >"$state"
    [ "${PROBE_CHILD_VERBOSE:-0}" = 1 ] && log "step $step"
    if [ -n "$stop" ]; then
        log "checkpoint at step $step, exit 75"
        exit 75
    fi
done
log "done at step $step, exit 0"
exit 0
