//! The grid fanned out over rayon: every (grid point, seed) run in parallel, each stored as
//! soon as it finishes; a failing run (error, panic, non-finite loss) is recorded as failed
//! and the others go on. Results come back in grid order whatever the scheduling.
//!
//! One writer per run: a sweep takes the run's lock before it looks at or trains the run. A run
//! another process holds is put off until the sweep's other runs are done, then waited for and
//! reused if that process finished it. [`plan`] lists and costs the runs, [`shard`] splits them
//! over the tasks of a cluster job.

pub mod cost;
pub mod plan;
pub mod shard;

use crate::checkpoint;
use crate::config::{Experiment, RunConfig};
use crate::fingerprint::Build;
use crate::store::lock::{remove_stale_temp_files, Claim, DirLock};
use crate::store::{ExperimentDir, Lookup, RunInfo, RunStatus, StoreError, StoredRun};
use crate::train::{train_with, RunControl, RunOutcome, TrainError};
use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;
use shard::Shard;
use std::io::IsTerminal;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

/// Progress-bar units per run.
const PROGRESS_UNITS: u64 = 1000;

/// How progress is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// A progress bar on a terminal, one line per finished run otherwise.
    Auto,
    /// One line per finished run.
    Lines,
    Quiet,
}

/// Called after each run the sweep trained and stored successfully, with the run's experiment
/// folder (the command line draws the run's own chart with it). An error is said and the run
/// is still finished.
pub type RunHook = fn(&Experiment, &ExperimentDir, &RunResult) -> anyhow::Result<()>;

#[derive(Debug, Clone)]
pub struct SweepOptions {
    /// The results root; the experiment goes to `<results>/<name>/`.
    pub results: PathBuf,
    /// Worker threads (default: rayon's, one per core).
    pub threads: Option<usize>,
    pub progress: Progress,
    /// Reuse finished runs with identical configs instead of training them again.
    pub reuse: bool,
    /// Run only this shard's share of the grid (see [`shard`]).
    pub shard: Option<Shard>,
    /// What to do after each run trained and stored successfully (see [`RunHook`]).
    pub after_run: Option<RunHook>,
    /// Once set (by a signal: [`crate::interrupt::install`]), running runs checkpoint and
    /// stop, no new run starts, and the sweep ends with [`SweepError::Interrupted`].
    pub stop: Option<&'static AtomicBool>,
}

impl Default for SweepOptions {
    /// The command line's defaults (results under `results/`, one worker per core, progress
    /// shown, finished runs reused, the whole grid), with nothing after each run.
    fn default() -> Self {
        SweepOptions {
            results: PathBuf::from("results"),
            threads: None,
            progress: Progress::Auto,
            reuse: true,
            shard: None,
            after_run: None,
            stop: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    #[error("cannot start {0} worker threads: {1}")]
    Threads(usize, String),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Stopped by a signal: `runs` runs are unfinished, `checkpointed` of them resume from a
    /// checkpoint; finished runs are stored. Exit with [`crate::interrupt::RESUMABLE`].
    #[error(
        "interrupted: {runs} runs not finished ({checkpointed} checkpointed); run the same \
         command again to resume them"
    )]
    Interrupted { runs: usize, checkpointed: usize },
}

/// One run of the sweep, as trained or reused.
#[derive(Debug, Clone)]
pub struct RunResult {
    /// Index into `Experiment::points`.
    pub point: usize,
    pub run: StoredRun,
    /// Loaded from an earlier sweep (or another process) rather than trained now.
    pub reused: bool,
    /// Not finished: its episodes so far, from its checkpoint (`sweep report --partial`).
    pub in_progress: Option<crate::checkpoint::Progress>,
}

impl RunResult {
    pub fn ok(&self) -> bool {
        self.run.info.status == RunStatus::Ok
    }
}

/// Messages and the progress bar of one sweep.
struct Reporter {
    bar: Option<ProgressBar>,
    lines: bool,
}

impl Reporter {
    fn new(progress: Progress, runs: usize) -> Reporter {
        let bar = match progress {
            Progress::Auto if std::io::stderr().is_terminal() => {
                // Progress in thousandths of a run, so episode and step budgets mix.
                let bar = ProgressBar::new(runs as u64 * PROGRESS_UNITS);
                bar.set_style(
                    ProgressStyle::with_template(
                        "{spinner} [{elapsed_precise}] {bar:40} {percent}% of {msg} (eta {eta})",
                    )
                    .expect("valid template"),
                );
                bar.set_message(format!("{runs} runs"));
                Some(bar)
            }
            _ => None,
        };
        let lines = progress == Progress::Lines || (progress == Progress::Auto && bar.is_none());
        Reporter { bar, lines }
    }

    /// A line for the user: above the bar, on stderr, or nowhere when quiet (unless `always`).
    fn say(&self, msg: &str, always: bool) {
        match &self.bar {
            Some(b) => b.println(msg),
            None if self.lines || always => eprintln!("{msg}"),
            None => {}
        }
    }

    fn advance(&self, units: u64) {
        if let Some(b) = &self.bar {
            b.inc(units);
        }
    }
}

/// Train (or reuse) every run of `exp` (or of `opts.shard`'s share), storing each under
/// `<results>/<name>/runs/`. Results come back in grid order.
pub fn run_sweep(exp: &Experiment, opts: &SweepOptions) -> Result<Vec<RunResult>, SweepError> {
    let dir = ExperimentDir::new(&opts.results, &exp.name);
    let runs = runs_of(exp, opts.shard);
    let report = Reporter::new(opts.progress, runs.len());
    let pool = {
        let mut b = rayon::ThreadPoolBuilder::new();
        if let Some(t) = opts.threads {
            b = b.num_threads(t);
        }
        b.build()
            .map_err(|e| SweepError::Threads(opts.threads.unwrap_or(0), e.to_string()))?
    };
    if report.lines {
        let share = opts.shard.map_or(String::new(), |s| format!(", {s}"));
        eprintln!(
            "{}: {} runs ({} grid points x {} seeds{share}) on {} threads",
            exp.name,
            runs.len(),
            exp.points.len(),
            exp.seeds.len(),
            pool.current_num_threads()
        );
    }
    if runs.len() >= pool.current_num_threads() {
        crate::train::one_core_per_run();
    }
    let ctx = RunContext {
        exp,
        dir: &dir,
        reuse: opts.reuse,
        report: &report,
        after_run: opts.after_run,
        other_builds: Default::default(),
        stop: opts.stop,
    };
    // First every run nobody else holds; then wait for the ones another process was on.
    let first: Vec<Attempt> = pool.install(|| {
        runs.par_iter()
            .enumerate()
            .map(|(index, r)| ctx.attempt(index, r, false))
            .collect::<Result<_, _>>()
    })?;
    let Sorted {
        mut done,
        busy,
        unfinished,
        checkpointed,
    } = Sorted::of(first);
    if unfinished > 0 {
        if let Some(b) = &report.bar {
            b.finish_and_clear();
        }
        return Err(SweepError::Interrupted {
            runs: unfinished + busy.len(),
            checkpointed,
        });
    }
    // Waiting happens on this thread, never on a pool worker: a worker blocked in a lock
    // while its stack holds another run's lock (gemm's nested rayon jobs let it steal work)
    // could deadlock sweeps that wait for each other.
    let waited: Vec<(usize, RunResult)> = busy
        .iter()
        .map(|b| ctx.wait_for(b, &runs))
        .collect::<Result<_, _>>()?;
    done.extend(waited);
    if let Some(b) = &report.bar {
        b.finish_and_clear();
    }
    let again: usize = ctx
        .other_builds
        .into_inner()
        .expect("no panics")
        .values()
        .sum();
    if again > 0 {
        eprintln!("note: {again} runs stored by other builds were trained again");
    }
    done.sort_by_key(|(i, _)| *i);
    Ok(done.into_iter().map(|(_, r)| r).collect())
}

/// A sweep's first pass, sorted by outcome.
struct Sorted {
    done: Vec<(usize, RunResult)>,
    /// Runs another process holds: (position, holder).
    busy: Vec<(usize, String)>,
    /// Runs a signal stopped, and how many of them checkpointed.
    unfinished: usize,
    checkpointed: usize,
}

impl Sorted {
    fn of(attempts: Vec<Attempt>) -> Sorted {
        let mut s = Sorted {
            done: Vec::with_capacity(attempts.len()),
            busy: Vec::new(),
            unfinished: 0,
            checkpointed: 0,
        };
        for a in attempts {
            match a {
                Attempt::Done(r) => s.done.push(*r),
                Attempt::Busy { index, holder } => s.busy.push((index, holder)),
                Attempt::Stopped { checkpointed } => {
                    s.unfinished += 1;
                    s.checkpointed += usize::from(checkpointed);
                }
            }
        }
        s
    }
}

/// Every run of `exp`, or only those of `shard` (in grid order either way).
fn runs_of(exp: &Experiment, shard: Option<Shard>) -> Vec<(usize, RunConfig)> {
    let runs = exp.runs();
    let Some(shard) = shard else {
        return runs;
    };
    runs.into_iter()
        .zip(shard::assign(exp, shard.count))
        .filter(|(_, s)| *s == shard.index)
        .map(|(r, _)| r)
        .collect()
}

/// What one pass over a run gave.
enum Attempt {
    /// The run's position in the sweep's run list, and its result.
    Done(Box<(usize, RunResult)>),
    /// Another process holds the run at this position; `holder` says who.
    Busy { index: usize, holder: String },
    /// Stopped by a signal, before it started or (`checkpointed`) at a checkpoint.
    Stopped { checkpointed: bool },
}

struct RunContext<'a> {
    exp: &'a Experiment,
    dir: &'a ExperimentDir,
    reuse: bool,
    report: &'a Reporter,
    after_run: Option<RunHook>,
    /// Stored runs found from other builds (and trained again), by build id.
    other_builds: std::sync::Mutex<std::collections::BTreeMap<String, usize>>,
    stop: Option<&'static AtomicBool>,
}

impl RunContext<'_> {
    /// Say who holds a put-off run, wait for it, then reuse or train it.
    fn wait_for(
        &self,
        (index, holder): &(usize, String),
        runs: &[(usize, RunConfig)],
    ) -> Result<(usize, RunResult), SweepError> {
        let (point, cfg) = &runs[*index];
        let who = if holder.is_empty() {
            String::new()
        } else {
            format!(" ({holder})")
        };
        let label = &self.exp.points[*point].label;
        let msg = format!(
            "waiting {label} seed {}: another sweep{who} holds it",
            cfg.seed
        );
        self.report.say(&msg, true);
        match self.attempt(*index, &runs[*index], true)? {
            Attempt::Done(r) => Ok(*r),
            Attempt::Busy { .. } => unreachable!("a waiting claim returns only once held"),
            Attempt::Stopped { checkpointed } => Err(SweepError::Interrupted {
                runs: 1,
                checkpointed: usize::from(checkpointed),
            }),
        }
    }

    /// Take the run's lock (waiting for it when `wait`), clean up after any killed writer,
    /// then reuse the stored run or train and store it.
    fn attempt(
        &self,
        index: usize,
        run: &(usize, RunConfig),
        wait: bool,
    ) -> Result<Attempt, SweepError> {
        let (point, cfg) = run;
        if self.stopping() {
            return Ok(Attempt::Stopped {
                checkpointed: false,
            });
        }
        let slug = &self.exp.points[*point].slug;
        let run_dir = self.dir.run_dir(slug, cfg.seed);
        let _lock = if wait {
            DirLock::claim(&run_dir)?
        } else {
            match DirLock::try_claim(&run_dir)? {
                Claim::Held(lock) => lock,
                Claim::Busy { holder } => return Ok(Attempt::Busy { index, holder }),
            }
        };
        remove_stale_temp_files(&run_dir)?;
        remove_stale_temp_files(&checkpoint::dir_of(&run_dir))?;
        let label = &self.exp.points[*point].label;
        if self.reuse {
            match self.dir.lookup(slug, cfg) {
                Lookup::Finished(run) => {
                    // A checkpoint left by a process killed after storing the run is spent.
                    checkpoint::remove(&run_dir)?;
                    self.report.advance(PROGRESS_UNITS);
                    let result = RunResult {
                        point: *point,
                        run,
                        reused: true,
                        in_progress: None,
                    };
                    return Ok(Attempt::Done(Box::new((index, result))));
                }
                Lookup::OtherBuild(old) => self.note_other_build(&old, label),
                Lookup::Missing => {}
            }
        }
        let run = match self.train_one(label, cfg, &run_dir) {
            Ok(run) => run,
            Err(checkpointed) => return Ok(Attempt::Stopped { checkpointed }),
        };
        if let Err(e) = self.dir.save_run(slug, &run) {
            // Say so at once: the sweep only reports its first error when every run is done.
            self.report.say(
                &format!("FAILED to save {label} seed {}: {e}", cfg.seed),
                true,
            );
            return Err(e.into());
        }
        // Finished or failed for good: its checkpoint has served.
        if let Err(e) = checkpoint::remove(&run_dir) {
            self.report.say(&format!("note: {e}"), true);
        }
        let result = RunResult {
            point: *point,
            run,
            reused: false,
            in_progress: None,
        };
        if let Some(hook) = self.after_run.filter(|_| result.ok()) {
            // A run the hook fails on is still a finished run.
            if let Err(e) = hook(self.exp, self.dir, &result) {
                self.report
                    .say(&format!("note: {label} seed {}: {e}", cfg.seed), true);
            }
        }
        self.report.say(&finished_line(label, &result.run), false);
        Ok(Attempt::Done(Box::new((index, result))))
    }

    /// Say once per other build that its runs are trained again, and count them.
    fn note_other_build(&self, old: &StoredRun, label: &str) {
        let id = old.info.build.id();
        let mut seen = self.other_builds.lock().expect("no panics while held");
        let n = seen.entry(id.clone()).or_insert(0);
        *n += 1;
        if *n == 1 {
            self.report.say(
                &format!(
                    "note: stored runs from another build ({id}: differs in {}) are trained \
                     again (first: {label} seed {})",
                    old.info.build.differences(&Build::current()).join(", "),
                    old.config.seed
                ),
                true,
            );
        }
    }

    fn stopping(&self) -> bool {
        self.stop.is_some_and(|s| s.load(Ordering::Relaxed))
    }

    /// Train one run (resuming from its checkpoint in `run_dir`), turning errors and panics
    /// into a failed run; `Err(checkpointed)` when a signal stopped it.
    fn train_one(&self, label: &str, cfg: &RunConfig, run_dir: &Path) -> Result<StoredRun, bool> {
        let done = std::sync::atomic::AtomicU64::new(0);
        let tick = |fraction: f64| {
            let units = (fraction.clamp(0.0, 1.0) * PROGRESS_UNITS as f64) as u64;
            let before = done.fetch_max(units, std::sync::atomic::Ordering::Relaxed);
            if units > before {
                self.report.advance(units - before);
            }
        };
        let say = |m: &str| self.report.say(m, true);
        let ctl = RunControl {
            on_progress: &tick,
            run_dir: Some(run_dir),
            stop: self.stop,
            say: &say,
        };
        let outcome = catch_unwind(AssertUnwindSafe(|| train_with(cfg, &ctl)));
        self.report
            .advance(PROGRESS_UNITS.saturating_sub(done.into_inner()));
        let (status, outcome) = match outcome {
            Ok(Ok(o)) => (RunStatus::Ok, o),
            Ok(Err(TrainError::Interrupted {
                steps,
                checkpointed,
            })) => {
                let how = if checkpointed {
                    "checkpointed"
                } else {
                    "no checkpoint: it starts again"
                };
                say(&format!(
                    "stopped {label} seed {} at step {steps} ({how})",
                    cfg.seed
                ));
                return Err(checkpointed);
            }
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
                let reason = format!("panicked: {reason}");
                (RunStatus::Failed { reason }, RunOutcome::default())
            }
        };
        Ok(StoredRun {
            config: cfg.clone(),
            info: RunInfo {
                version: env!("CARGO_PKG_VERSION").to_owned(),
                run_id: crate::fingerprint::run_id(cfg),
                build: Build::current(),
                grid_point: label.to_owned(),
                seed: cfg.seed,
                status,
                eval_returns: outcome.eval_returns,
                evaluations: outcome.evaluations,
                env_steps: outcome.env_steps,
                replay_bytes_per_transition: outcome.replay_bytes_per_transition,
                wall_s: outcome.wall_s,
            },
            episodes: outcome.episodes,
        })
    }
}

/// The line said when a run is stored.
fn finished_line(label: &str, run: &StoredRun) -> String {
    let seed = run.config.seed;
    match &run.info.status {
        RunStatus::Ok => format!(
            "done   {label} seed {seed}: last return {:.0}, {:.1}s, {:.0} steps/s",
            run.episodes.last().map_or(f64::NAN, |e| e.ret),
            run.info.wall_s,
            run.info.env_steps as f64 / run.info.wall_s.max(1e-9)
        ),
        RunStatus::Failed { reason } => format!("FAILED {label} seed {seed}: {reason}"),
    }
}
