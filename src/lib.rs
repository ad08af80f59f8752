//! dqn-sweep: reproduce, measure and regression-test the DQN family on CartPole.
//!
//! The crate is split by responsibility:
//! - [`config`]: experiment files (the TOML grid) and resolved per-run configs;
//! - [`env`]: environments behind the [`env::Env`] trait (Gym-exact CartPole, MinAtar, ALE),
//!   the `dqn-envs` crate (`crates/envs`);
//! - [`agent`]: replay buffers, dfdx Q-networks and the DQN / Double / PER / Dueling update,
//!   the `dqn-agent` crate (`crates/agent`), on [`nn`]: layers, kernels and optimizers, the
//!   `dqn-nn` crate (`crates/nn`);
//! - [`train`]: one run's training loop and measurements; [`compiled`]: which env and agent
//!   combinations have a compiled network (what config validation checks);
//! - [`sweep`]: the grid fanned out over rayon, failures isolated, results stored atomically,
//!   one writer per run; plans, costs and cluster shards of a sweep;
//! - [`store`]: the on-disk layout of results, run locks, merging results folders;
//! - [`fingerprint`]: run ids and the build fingerprint that decides reuse;
//! - [`launch`]: SLURM array scripts and Kubernetes Indexed Job manifests for a sweep;
//! - [`stats`]: aggregate statistics with bootstrap intervals (rliable-style), the
//!   `dqn-stats` crate (`crates/stats`);
//! - [`report`]: polars tables, Markdown reports, plotters charts and the HTML pages;
//! - [`check`]: baselines (`sweep bless`) and the learning-curve regression gate (`sweep check`);
//! - [`power`]: how many seeds a comparison needs (`sweep power`);
//! - [`bench`]: throughput figures (`sweep bench`);
//! - [`cli`]: the `sweep` commands, their arguments and bodies (the binary only dispatches).

pub use dqn_agent as agent;
pub mod bench;
pub mod check;
pub mod checkpoint;
pub mod cli;
pub mod compiled;
pub mod config;
pub mod fault;
pub use dqn_envs as env;
pub mod fingerprint;
pub mod interrupt;
pub mod launch;
pub use dqn_nn as nn;
pub mod power;
pub mod report;
pub use dqn_stats as stats;
pub mod store;
pub mod sweep;
pub mod train;

use config::Experiment;
use store::ExperimentDir;
use sweep::{run_sweep, SweepOptions};

/// Errors of a whole experiment run.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Config(#[from] config::ConfigError),
    #[error(transparent)]
    Sweep(#[from] sweep::SweepError),
    #[error(transparent)]
    Report(#[from] report::ReportError),
}

/// What `sweep report` found on disk.
pub struct StoredReport {
    pub report: report::Report,
    /// Runs of the grid with no finished result (`grid point label`, seed).
    pub missing: Vec<(String, u64)>,
    /// Runs reported from their checkpoints (`--partial`).
    pub in_progress: usize,
    /// Finished runs trained by other builds than this one: (build id, what differs, runs).
    pub other_builds: Vec<(String, String, usize)>,
}

/// Errors of `sweep report`.
#[derive(Debug, thiserror::Error)]
pub enum ReportOnlyError {
    #[error("{} of {total} runs have no finished result (first: {} seed {}); train them, or report with --partial", missing.len(), missing[0].0, missing[0].1)]
    Missing {
        missing: Vec<(String, u64)>,
        total: usize,
    },
    #[error(transparent)]
    Report(#[from] report::ReportError),
}

/// Build every table and chart from the finished runs on disk; train nothing. Runs are taken
/// whatever build trained them (the result says which other builds it used).
/// Without `partial`, any missing run is an error and nothing is written.
pub fn report_experiment(
    exp: &Experiment,
    results_root: &std::path::Path,
    partial: bool,
) -> Result<StoredReport, ReportOnlyError> {
    let started = std::time::Instant::now();
    let dir = ExperimentDir::new(results_root, &exp.name);
    let (mut found, mut missing) = load_finished(exp, &dir);
    if partial {
        let (in_progress, still) = load_in_progress(exp, &dir, missing);
        (missing, found) = (still, [found, in_progress].concat());
        found.sort_by_key(|r| r.point);
    }
    if !missing.is_empty() && (!partial || found.is_empty()) {
        let total = exp.runs().len();
        return Err(ReportOnlyError::Missing { missing, total });
    }
    let this = fingerprint::Build::current();
    let mut other_builds: Vec<(String, String, usize)> = Vec::new();
    for b in found
        .iter()
        .map(|r| &r.run.info.build)
        .filter(|b| **b != this)
    {
        let id = b.id();
        match other_builds.iter_mut().find(|(c, _, _)| *c == id) {
            Some((_, _, n)) => *n += 1,
            None => other_builds.push((id, b.differences(&this).join(", "), 1)),
        }
    }
    let report = write_report_locked(exp, &found, &dir, started)?;
    Ok(StoredReport {
        in_progress: found.iter().filter(|r| r.in_progress.is_some()).count(),
        report,
        missing,
        other_builds,
    })
}

/// Write the experiment's tables and charts as the one writer of its report files: under the
/// experiment folder's lock, after removing what a killed writer left half-written.
fn write_report_locked(
    exp: &Experiment,
    results: &[sweep::RunResult],
    dir: &ExperimentDir,
    started: std::time::Instant,
) -> Result<report::Report, report::ReportError> {
    let _lock = store::lock::DirLock::claim(&dir.root).map_err(report::ReportError::from)?;
    store::lock::remove_stale_temp_files_below(&dir.root, "runs")?;
    report::write_report(exp, results, dir, started)
}

/// Of the `missing` runs, those with a checkpoint: their episodes so far, as results marked
/// in progress; and the runs still missing.
fn load_in_progress(
    exp: &Experiment,
    dir: &ExperimentDir,
    missing: Vec<(String, u64)>,
) -> (Vec<sweep::RunResult>, Vec<(String, u64)>) {
    let mut found = Vec::new();
    let mut still = Vec::new();
    let runs: std::collections::HashMap<(&str, u64), (usize, config::RunConfig)> = exp
        .runs()
        .into_iter()
        .map(|(p, cfg)| ((exp.points[p].label.as_str(), cfg.seed), (p, cfg)))
        .collect();
    for (label, seed) in missing {
        let run = runs.get(&(label.as_str(), seed));
        match run.and_then(|(p, cfg)| in_progress(exp, dir, *p, cfg)) {
            Some(r) => found.push(r),
            None => still.push((label, seed)),
        }
    }
    (found, still)
}

/// A run's episodes so far from its checkpoint (`checkpoint/episodes.csv`), if any.
fn in_progress(
    exp: &Experiment,
    dir: &ExperimentDir,
    point: usize,
    cfg: &config::RunConfig,
) -> Option<sweep::RunResult> {
    let run_dir = dir.run_dir(&exp.points[point].slug, cfg.seed);
    let progress = checkpoint::read_progress(&run_dir)?;
    let df = store::read_csv(&checkpoint::dir_of(&run_dir).join(checkpoint::EPISODES)).ok()?;
    let episodes = store::episodes_from_frame(&df).ok()?;
    if episodes.is_empty() {
        return None;
    }
    let info = store::RunInfo {
        version: env!("CARGO_PKG_VERSION").to_owned(),
        run_id: fingerprint::run_id(cfg),
        build: fingerprint::Build::current(),
        grid_point: exp.points[point].label.clone(),
        seed: cfg.seed,
        status: store::RunStatus::Ok,
        eval_returns: Vec::new(),
        evaluations: Vec::new(),
        env_steps: progress.steps,
        replay_bytes_per_transition: 0.0,
        wall_s: progress.wall_s,
    };
    Some(sweep::RunResult {
        point,
        run: store::StoredRun {
            config: cfg.clone(),
            info,
            episodes,
        },
        reused: true,
        in_progress: Some(progress),
    })
}

/// The experiment's finished runs on disk, and the (grid point label, seed) of those missing.
/// Runs are read in parallel (10,000 runs: see the README's "Running on a cluster").
fn load_finished(
    exp: &Experiment,
    dir: &ExperimentDir,
) -> (Vec<sweep::RunResult>, Vec<(String, u64)>) {
    use rayon::prelude::*;
    let loaded: Vec<Result<sweep::RunResult, (String, u64)>> = exp
        .runs()
        .into_par_iter()
        .map(|(point, cfg)| {
            let p = &exp.points[point];
            match dir.load_stored(&p.slug, &cfg) {
                Some(run) => Ok(sweep::RunResult {
                    point,
                    run,
                    reused: true,
                    in_progress: None,
                }),
                None => Err((p.label.clone(), cfg.seed)),
            }
        })
        .collect();
    let mut found = Vec::new();
    let mut missing = Vec::new();
    for r in loaded {
        match r {
            Ok(run) => found.push(run),
            Err(m) => missing.push(m),
        }
    }
    (found, missing)
}

/// `sweep power`: for each grid point with finished runs (the pilot), the simulated power of
/// the comparison table's test to detect `plan.delta` in the final return, by seeds per arm,
/// as a Markdown table. `family` tests corrected together plan at Bonferroni's level.
/// Errors when no run has finished.
pub fn power_report(
    exp: &Experiment,
    results_root: &std::path::Path,
    mut plan: power::PowerPlan,
    family: usize,
) -> Result<String, ReportOnlyError> {
    use rayon::prelude::*;
    let dir = ExperimentDir::new(results_root, &exp.name);
    let (found, missing) = load_finished(exp, &dir);
    if found.is_empty() {
        let total = exp.runs().len();
        return Err(ReportOnlyError::Missing { missing, total });
    }
    plan.confidence = 1.0 - (1.0 - plan.confidence) / family.max(1) as f64;
    let pilots: Vec<(String, Vec<f64>)> = (0..exp.points.len())
        .map(|p| {
            let finals = found
                .iter()
                .filter(|r| r.point == p && r.ok())
                .map(|r| report::scores::RunScores::of(r, &exp.report).final_return)
                .filter(|v| v.is_finite())
                .collect();
            (exp.points[p].label.clone(), finals)
        })
        .filter(|(_, v): &(String, Vec<f64>)| !v.is_empty())
        .collect();
    let curves: Vec<power::PowerCurve> = pilots
        .par_iter()
        .map(|(label, v)| power::power_curve(v, &plan, report::label_seed(label)))
        .collect();
    let rows: Vec<(&str, &power::PowerCurve)> = pilots
        .iter()
        .map(|(l, _)| l.as_str())
        .zip(&curves)
        .collect();
    Ok(power::markdown(&exp.name, &rows, &plan, family))
}

/// Run every run of the experiment (reusing finished ones if asked), then write its reports.
pub fn run_experiment(exp: &Experiment, opts: &SweepOptions) -> Result<report::Report, Error> {
    let started = std::time::Instant::now();
    let results = run_sweep(exp, opts)?;
    let dir = ExperimentDir::new(&opts.results, &exp.name);
    Ok(write_report_locked(exp, &results, &dir, started)?)
}
