//! Fault injection for the resume tests: `DQN_SWEEP_FAULT` makes this process abort (as a
//! `kill -9` would end it: no unwinding, no cleanup) at a chosen point, so a crash is tested
//! at an exact place rather than by timing.
//!
//! - `step:N` — right after a run's env step `N`;
//! - `eval:N` — inside the `N`-th periodic evaluation of a run (after its first episode);
//! - `checkpoint-bytes:N` — once a run's checkpoint writes have written `N` bytes (the file
//!   being written is left cut there).
//!
//! Only runs that start with no checkpoint folder are cut ([`arm`]): a resumed run (or one
//! whose first checkpoint write was cut) goes on, so running the same sweep again and again
//! (one thread) kills each run exactly once. Unset (always, outside
//! tests), every hook is one load of a cached value.

use std::cell::Cell;
use std::io::Write;
use std::path::Path;
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

thread_local! {
    /// Whether the run on this thread may be cut, and its counts so far.
    static ARMED: Cell<bool> = const { Cell::new(false) };
    static EVALS: Cell<u64> = const { Cell::new(0) };
    static WRITTEN: Cell<u64> = const { Cell::new(0) };
}

/// A run starts on this thread; it can be cut when `fresh`.
pub fn arm(fresh: bool) {
    ARMED.set(fresh && fault() != Fault::None);
    EVALS.set(0);
    WRITTEN.set(0);
}

fn abort(at: &str) -> ! {
    eprintln!("{VAR}: aborting {at}");
    std::process::abort()
}

/// After env step `steps` of a run.
pub fn after_step(steps: u64) {
    if ARMED.get() && fault() == Fault::Step(steps) {
        abort(&format!("after step {steps}"));
    }
}

/// Between the episodes of a periodic evaluation; `first` after its first one.
pub fn in_eval(first: bool) {
    if let (true, true, Fault::Eval(n)) = (ARMED.get(), first, fault()) {
        EVALS.set(EVALS.get() + 1);
        if EVALS.get() == n {
            abort(&format!("inside periodic evaluation {n}"));
        }
    }
}

/// A checkpoint writer of the file `.1`: aborts the process once the run's checkpoint writes
/// reach the configured byte count, after writing exactly up to it.
pub struct Faulty<'a, W>(pub W, pub &'a Path);

impl<W: Write> Write for Faulty<'_, W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let (true, Fault::CheckpointBytes(limit)) = (ARMED.get(), fault()) {
            let room = limit.saturating_sub(WRITTEN.get());
            if (buf.len() as u64) >= room {
                self.0.write_all(&buf[..room as usize])?;
                self.0.flush()?;
                let name = self.1.file_name().unwrap_or_default().to_string_lossy();
                abort(&format!(
                    "after {limit} bytes of checkpoint writes, in {name}"
                ));
            }
            WRITTEN.set(WRITTEN.get() + buf.len() as u64);
        }
        self.0.write_all(buf).map(|()| buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}
