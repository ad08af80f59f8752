//! Graceful stop. SIGTERM, SIGINT and SIGUSR1 ask a sweep to stop: every running run
//! checkpoints at its next step boundary, runs not started stay unstarted, finished ones are
//! stored, and the process exits with [`RESUMABLE`]. A second signal ends the process at once,
//! with the same status: each run's last checkpoint stands.
//!
//! The status means "interrupted, resumable": the same command trains on from the
//! checkpoints. (SLURM's generated scripts requeue a task that exits with it after SIGUSR1.)

use std::sync::atomic::AtomicBool;
use std::sync::{Arc, OnceLock};

/// The exit status of an interrupted sweep (`EX_TEMPFAIL`): run the command again to resume.
pub const RESUMABLE: u8 = 75;

/// The signals that stop a sweep.
pub const SIGNALS: [i32; 3] = [
    signal_hook::consts::SIGTERM,
    signal_hook::consts::SIGINT,
    signal_hook::consts::SIGUSR1,
];

/// Install the handlers (once per process) and return the flag they set.
pub fn install() -> &'static AtomicBool {
    static FLAG: OnceLock<Arc<AtomicBool>> = OnceLock::new();
    FLAG.get_or_init(|| {
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
