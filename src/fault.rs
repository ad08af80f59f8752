//! Fault injection for the resume tests: `DQN_SWEEP_FAULT` makes this process abort (as a
//! `kill -9` would end it: no unwinding, no cleanup) at a chosen point, so a crash is tested
//! at an exact place rather than by timing.
//!
//! - `step:N` — right after a run's env step `N`;
//! - `eval:N` — inside the `N`-th periodic evaluation of a run (after its first episode);
//! - `checkpoint-bytes:N` — once checkpoint writes have written `N` bytes in this process
//!   (the file being written is left cut there).
//!
//! Unset (always, outside tests), every hook is one load of a cached value.

use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

/// The environment variable read once per process.
pub const VAR: &str = "DQN_SWEEP_FAULT";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    None,
    Step(u64),
    Eval(u64),
    CheckpointBytes(u64),
}

fn fault() -> Fault {
    static FAULT: OnceLock<Fault> = OnceLock::new();
    *FAULT.get_or_init(|| {
        let Ok(v) = std::env::var(VAR) else {
            return Fault::None;
        };
        let parsed = v.split_once(':').and_then(|(k, n)| {
            let n = n.parse().ok()?;
            match k {
                "step" => Some(Fault::Step(n)),
                "eval" => Some(Fault::Eval(n)),
                "checkpoint-bytes" => Some(Fault::CheckpointBytes(n)),
                _ => None,
            }
        });
        parsed.unwrap_or_else(|| panic!("{VAR}={v}: expected step:N, eval:N or checkpoint-bytes:N"))
    })
}

fn abort(at: &str) -> ! {
    eprintln!("{VAR}: aborting {at}");
    std::process::abort()
}

/// After env step `steps` of a run.
pub fn after_step(steps: u64) {
    if fault() == Fault::Step(steps) {
        abort(&format!("after step {steps}"));
    }
}

/// Between the episodes of a periodic evaluation; `first` after its first one.
pub fn in_eval(first: bool) {
    static EVALS: AtomicU64 = AtomicU64::new(0);
    if let Fault::Eval(n) = fault() {
        if first && EVALS.fetch_add(1, Ordering::Relaxed) + 1 == n {
            abort(&format!("inside periodic evaluation {n}"));
        }
    }
}

/// A writer that aborts the process once checkpoint writes reach the configured byte count,
/// after writing exactly up to it.
pub struct Faulty<W>(pub W);

static WRITTEN: AtomicU64 = AtomicU64::new(0);

impl<W: Write> Write for Faulty<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Fault::CheckpointBytes(limit) = fault() {
            let done = WRITTEN.load(Ordering::Relaxed);
            let room = limit.saturating_sub(done);
            if (buf.len() as u64) >= room {
                self.0.write_all(&buf[..room as usize])?;
                self.0.flush()?;
                abort(&format!("after {limit} bytes of checkpoint writes"));
            }
            WRITTEN.fetch_add(buf.len() as u64, Ordering::Relaxed);
        }
        self.0.write_all(buf).map(|()| buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}
