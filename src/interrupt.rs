//! Graceful stop. SIGTERM, SIGINT and SIGUSR1 ask a sweep to stop: every running run
//! checkpoints at its next step boundary, runs not started stay unstarted, finished ones are
//! stored, and the process exits with [`RESUMABLE`]. A second signal ends the process at once,
//! with the same status: each run's last checkpoint stands.
//!
//! The status means "interrupted, resumable": the same command trains on from the
//! checkpoints. (SLURM's generated scripts requeue a task that exits with it after SIGUSR1.)

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

/// The exit status of an interrupted sweep (`EX_TEMPFAIL`): run the command again to resume.
pub const RESUMABLE: u8 = 75;

/// The signals that stop a sweep.
pub const SIGNALS: [i32; 3] = [
    signal_hook::consts::SIGTERM,
    signal_hook::consts::SIGINT,
    signal_hook::consts::SIGUSR1,
];

/// Set by SIGUSR1 (SLURM's warning before the time limit, with `--signal`).
static USR1: OnceLock<Arc<AtomicBool>> = OnceLock::new();

/// Whether the stop came from SIGUSR1.
pub fn usr1_received() -> bool {
    USR1.get().is_some_and(|f| f.load(Ordering::Relaxed))
}

/// Requeue this SLURM job (or array task) with `scontrol requeue`, saying what happened: after
/// the time-limit warning a task that merely exited would end as TIMEOUT, which SLURM does not
/// requeue.
pub fn slurm_requeue() {
    let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let id = match (var("SLURM_ARRAY_JOB_ID"), var("SLURM_ARRAY_TASK_ID")) {
        (Some(job), Some(task)) => format!("{job}_{task}"),
        _ => match var("SLURM_JOB_ID") {
            Some(job) => job,
            None => {
                eprintln!("note: --slurm-requeue outside a SLURM job: nothing to requeue");
                return;
            }
        },
    };
    match std::process::Command::new("scontrol")
        .args(["requeue", &id])
        .status()
    {
        Ok(s) if s.success() => {
            eprintln!("requeued SLURM job {id}: it resumes from the checkpoints")
        }
        Ok(s) => eprintln!("note: scontrol requeue {id} failed ({s}): resubmit to resume"),
        Err(e) => eprintln!("note: cannot run scontrol ({e}): resubmit job {id} to resume"),
    }
}

/// Install the handlers (once per process) and return the flag they set.
pub fn install() -> &'static AtomicBool {
    static FLAG: OnceLock<Arc<AtomicBool>> = OnceLock::new();
    FLAG.get_or_init(|| {
        let usr1 = USR1.get_or_init(|| Arc::new(AtomicBool::new(false)));
        if let Err(e) = signal_hook::flag::register(signal_hook::consts::SIGUSR1, Arc::clone(usr1)) {
            eprintln!("note: cannot watch for SIGUSR1 ({e})");
        }
        let flag = Arc::new(AtomicBool::new(false));
        for sig in SIGNALS {
            // The second signal finds the flag set and exits; the first sets it.
            let registered = signal_hook::flag::register_conditional_shutdown(
                sig,
                i32::from(RESUMABLE),
                Arc::clone(&flag),
            )
            .and_then(|_| signal_hook::flag::register(sig, Arc::clone(&flag)));
            if let Err(e) = registered {
                eprintln!("note: cannot handle signal {sig} ({e}): it will end sweeps without a checkpoint");
            }
        }
        flag
    })
}

/// Whether `e` says a sweep was interrupted (exit with [`RESUMABLE`], not as a failure).
pub fn is_interrupted(e: &anyhow::Error) -> bool {
    use crate::sweep::SweepError;
    e.chain().any(|c| {
        matches!(
            c.downcast_ref::<SweepError>(),
            Some(SweepError::Interrupted { .. })
        ) || matches!(
            c.downcast_ref::<crate::Error>(),
            Some(crate::Error::Sweep(SweepError::Interrupted { .. }))
        )
    })
}
