//! The grid fanned out over rayon: every (grid point, seed) run in parallel, each stored as
//! soon as it finishes; a failing run (error, panic, non-finite loss) is recorded as failed
//! and the others go on. Results come back in grid order whatever the scheduling.

use crate::config::{Experiment, RunConfig};
use crate::train::RunOutcome;

/// Progress-bar units per run.
const PROGRESS_UNITS: u64 = 1000;
use crate::store::{ExperimentDir, RunInfo, RunStatus, StoreError, StoredRun};
use crate::train::train;
use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;
use std::io::IsTerminal;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;

/// How progress is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// A progress bar on a terminal, one line per finished run otherwise.
    Auto,
    /// One line per finished run.
    Lines,
    Quiet,
}

#[derive(Debug, Clone)]
pub struct SweepOptions {
    /// The results root; the experiment goes to `<results>/<name>/`.
    pub results: PathBuf,
    /// Worker threads (default: rayon's, one per core).
    pub threads: Option<usize>,
    pub progress: Progress,
    /// Reuse finished runs with identical configs instead of training them again.
    pub reuse: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    #[error("cannot start {0} worker threads: {1}")]
    Threads(usize, String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// One run of the sweep, as trained or reused.
#[derive(Debug, Clone)]
pub struct RunResult {
    /// Index into `Experiment::points`.
    pub point: usize,
    pub run: StoredRun,
    /// Loaded from an earlier sweep rather than trained now.
    pub reused: bool,
}

impl RunResult {
    pub fn ok(&self) -> bool {
        self.run.info.status == RunStatus::Ok
    }
}

/// Train (or reuse) every run of `exp`, storing each under `<results>/<name>/runs/`.
pub fn run_sweep(exp: &Experiment, opts: &SweepOptions) -> Result<Vec<RunResult>, SweepError> {
    let dir = ExperimentDir::new(&opts.results, &exp.name);
    let runs = exp.runs();
    // Progress in thousandths of a run, so episode and step budgets mix.
    let total_units = runs.len() as u64 * PROGRESS_UNITS;
    let bar = match opts.progress {
        Progress::Auto if std::io::stderr().is_terminal() => {
            let bar = ProgressBar::new(total_units);
            bar.set_style(
                ProgressStyle::with_template(
                    "{spinner} [{elapsed_precise}] {bar:40} {percent}% of {msg} (eta {eta})",
                )
                .expect("valid template"),
            );
            bar.set_message(format!("{} runs", runs.len()));
            Some(bar)
        }
        _ => None,
    };
    let lines = matches!(opts.progress, Progress::Lines)
        || (opts.progress == Progress::Auto && bar.is_none());
    let n = runs.len();
    let one = |(point, cfg): &(usize, RunConfig)| -> Result<RunResult, SweepError> {
        let slug = &exp.points[*point].slug;
        let label = &exp.points[*point].label;
        if opts.reuse {
            if let Some(run) = dir.load_finished(slug, cfg) {
                if let Some(b) = &bar {
                    b.inc(PROGRESS_UNITS);
                }
                return Ok(RunResult {
                    point: *point,
                    run,
                    reused: true,
                });
            }
        }
        let done = std::sync::atomic::AtomicU64::new(0);
        let tick = |fraction: f64| {
            let units = (fraction.clamp(0.0, 1.0) * PROGRESS_UNITS as f64) as u64;
            let before = done.fetch_max(units, std::sync::atomic::Ordering::Relaxed);
            if let (Some(b), true) = (&bar, units > before) {
                b.inc(units - before);
            }
        };
        let outcome = catch_unwind(AssertUnwindSafe(|| train(cfg, &tick)));
        if let Some(b) = &bar {
            b.inc(PROGRESS_UNITS.saturating_sub(done.into_inner()));
        }
        let (status, outcome) = match outcome {
            Ok(Ok(o)) => (RunStatus::Ok, o),
            Ok(Err(e)) => (
                RunStatus::Failed {
                    reason: e.to_string(),
                },
                RunOutcome::default(),
            ),
            Err(panic) => {
                let reason = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_else(|| "panic".into());
                (
                    RunStatus::Failed {
                        reason: format!("panicked: {reason}"),
                    },
                    RunOutcome::default(),
                )
            }
        };
        let run = StoredRun {
            config: cfg.clone(),
            info: RunInfo {
                version: env!("CARGO_PKG_VERSION").to_owned(),
                code: crate::store::TRAINING_CODE.to_owned(),
                grid_point: label.clone(),
                seed: cfg.seed,
                status,
                eval_returns: outcome.eval_returns,
                evaluations: outcome.evaluations,
                env_steps: outcome.env_steps,
                replay_bytes_per_transition: outcome.replay_bytes_per_transition,
                wall_s: outcome.wall_s,
            },
            episodes: outcome.episodes,
        };
        if let Err(e) = dir.save_run(slug, &run) {
            // Say so at once: the sweep only reports its first error when every run is done.
            eprintln!("FAILED to save {label} seed {}: {e}", cfg.seed);
            return Err(e.into());
        }
        let msg = match &run.info.status {
            RunStatus::Ok => format!(
                "done   {label} seed {}: last return {:.0}, {:.1}s, {:.0} steps/s",
                cfg.seed,
                run.episodes.last().map_or(f64::NAN, |e| e.ret),
                run.info.wall_s,
                run.info.env_steps as f64 / run.info.wall_s.max(1e-9)
            ),
            RunStatus::Failed { reason } => format!("FAILED {label} seed {}: {reason}", cfg.seed),
        };
        match &bar {
            Some(b) => b.println(msg),
            None if lines => eprintln!("{msg}"),
            None => {}
        }
        Ok(RunResult {
            point: *point,
            run,
            reused: false,
        })
    };

    let pool = {
        let mut b = rayon::ThreadPoolBuilder::new();
        if let Some(t) = opts.threads {
            b = b.num_threads(t);
        }
        b.build()
            .map_err(|e| SweepError::Threads(opts.threads.unwrap_or(0), e.to_string()))?
    };
    if lines {
        eprintln!(
            "{}: {} runs ({} grid points x {} seeds) on {} threads",
            exp.name,
            n,
            exp.points.len(),
            exp.seeds.len(),
            pool.current_num_threads()
        );
    }
    let results: Result<Vec<RunResult>, SweepError> =
        pool.install(|| runs.par_iter().map(one).collect());
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    results
}
