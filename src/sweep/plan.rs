//! `sweep plan`: every run of an experiment (grid point, seed, run id, where it stands on disk,
//! its shard) and what the rest will cost on this machine, without training anything.
//!
//! Seconds come from [`cost::work`] scaled by speeds measured here: finished runs of this build
//! at the same grid point when there are any, otherwise a short calibration run of that kind
//! of run (a few hundred to a few thousand steps, updates included). Episode budgets are
//! costed by their upper bound unless finished runs show what they really take.

use super::cost::{self, Work};
use super::shard;
use crate::checkpoint::{self, Progress};
use crate::config::{Experiment, RunConfig};
use crate::fingerprint::{run_id, Build};
use crate::store::lock::DirLock;
use crate::store::{ExperimentDir, Lookup, RunInfo, RunStatus};
use rayon::prelude::*;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::Path;

/// Where a run stands on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RunState {
    /// Finished by this build: a sweep reuses it.
    Finished,
    /// Finished by another build (code, dependencies or CPU kernels): a sweep trains it again.
    OtherBuild,
    /// A sweep holds its lock now.
    Running,
    /// Stopped with a checkpoint: the next sweep resumes it.
    Interrupted,
    /// Stored as failed.
    Failed,
    /// Not stored, or stored incompletely (a killed writer).
    ToRun,
}

impl RunState {
    pub fn label(self) -> &'static str {
        match self {
            RunState::Finished => "finished",
            RunState::OtherBuild => "other build",
            RunState::Running => "running",
            RunState::Interrupted => "interrupted",
            RunState::Failed => "failed",
            RunState::ToRun => "to run",
        }
    }
}

/// Where a planned run's env-step count comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum StepsBasis {
    /// The config's step budget.
    Budget,
    /// The finished run's own count.
    Measured,
    /// The mean of this grid point's finished runs (an episode budget).
    FinishedMean,
    /// Episodes × time limit (an episode budget, nothing finished yet).
    Bound,
}

impl StepsBasis {
    fn prefix(self) -> &'static str {
        match self {
            StepsBasis::Budget | StepsBasis::Measured => "",
            StepsBasis::FinishedMean => "~",
            StepsBasis::Bound => "≤ ",
        }
    }
}

/// One run of the plan.
#[derive(Debug, Clone, Serialize)]
pub struct PlannedRun {
    pub grid_point: String,
    pub seed: u64,
    pub run_id: String,
    pub state: RunState,
    /// The shard that trains it, when the plan is split (`--shards`).
    pub shard: Option<usize>,
    /// Env steps: the budget, what a finished run took, the mean of finished runs at the
    /// grid point, or an upper bound (`env_steps_basis` says which).
    pub env_steps: u64,
    pub env_steps_basis: StepsBasis,
    /// Seconds on one core: measured for finished runs of this build, estimated otherwise
    /// (for a running or interrupted run: what is left of it).
    pub core_seconds: f64,
    /// How far a running or interrupted run got (its checkpoint's `progress.json`).
    pub progress: Option<Progress>,
    #[serde(skip)]
    pub work: Work,
}

/// The whole plan.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    pub experiment: String,
    pub build: String,
    pub kernel: String,
    pub shards: Option<usize>,
    pub runs: Vec<PlannedRun>,
}

impl Plan {
    /// Core-hours of the runs not finished by this build.
    pub fn core_hours_to_go(&self) -> f64 {
        self.runs
            .iter()
            .filter(|r| r.state != RunState::Finished)
            .fold(0.0, |h, r| h + r.core_seconds / 3600.0)
    }

    pub fn core_hours_total(&self) -> f64 {
        self.runs
            .iter()
            .fold(0.0, |h, r| h + r.core_seconds / 3600.0)
    }

    /// Estimated core-seconds of each shard's runs still to do (empty when not split).
    pub fn shard_seconds(&self) -> Vec<f64> {
        let mut s = vec![0.0; self.shards.unwrap_or(0)];
        for r in self.runs.iter().filter(|r| r.state != RunState::Finished) {
            if let Some(k) = r.shard {
                s[k] += r.core_seconds;
            }
        }
        s
    }
}

/// Plan `exp` against the runs under `results_root`, split over `shards` if given.
pub fn plan(exp: &Experiment, results_root: &Path, shards: Option<usize>) -> Plan {
    let dir = ExperimentDir::new(results_root, &exp.name);
    let runs = exp.runs();
    let split = shards.map(|n| shard::assign(exp, n));
    let states: Vec<(RunState, Option<RunInfo>)> = runs
        .par_iter()
        .map(|(p, cfg)| state_of(&dir, &exp.points[*p].slug, cfg))
        .collect();
    let speeds = Speeds::measure(exp, &runs, &states);
    let planned = runs
        .iter()
        .zip(states)
        .enumerate()
        .map(|(i, ((p, cfg), (state, info)))| {
            let work = cost::work(cfg);
            let (env_steps, env_steps_basis, core_seconds) = match (&info, state) {
                (Some(info), RunState::Finished) => {
                    (info.env_steps, StepsBasis::Measured, info.wall_s)
                }
                _ => {
                    let (steps, basis) = match (work.steps_exact, speeds.steps(*p)) {
                        (true, _) => (work.steps, StepsBasis::Budget),
                        (false, Some(mean)) => (mean, StepsBasis::FinishedMean),
                        (false, None) => (work.steps, StepsBasis::Bound),
                    };
                    (steps, basis, speeds.seconds(*p, &work))
                }
            };
            let run_dir = dir.run_dir(&exp.points[*p].slug, cfg.seed);
            let progress = matches!(state, RunState::Running | RunState::Interrupted)
                .then(|| checkpoint::read_progress(&run_dir))
                .flatten();
            let core_seconds = match &progress {
                Some(pr) => core_seconds * (1.0 - pr.fraction().clamp(0.0, 1.0)),
                None => core_seconds,
            };
            PlannedRun {
                progress,
                grid_point: exp.points[*p].label.clone(),
                seed: cfg.seed,
                run_id: run_id(cfg),
                state,
                shard: split.as_ref().map(|s| s[i]),
                env_steps,
                env_steps_basis,
                core_seconds,
                work,
            }
        })
        .collect();
    let build = Build::current();
    Plan {
        experiment: exp.name.clone(),
        build: build.id(),
        kernel: build.kernel,
        shards,
        runs: planned,
    }
}

fn state_of(dir: &ExperimentDir, slug: &str, cfg: &RunConfig) -> (RunState, Option<RunInfo>) {
    let run_dir = dir.run_dir(slug, cfg.seed);
    match dir.lookup(slug, cfg) {
        Lookup::Finished(run) => return (RunState::Finished, Some(run.info)),
        Lookup::OtherBuild(_) => return (RunState::OtherBuild, None),
        Lookup::Missing => {}
    }
    if DirLock::is_held(&run_dir) {
        return (RunState::Running, None);
    }
    if checkpoint::dir_of(&run_dir).join("state.bin").exists() {
        return (RunState::Interrupted, None);
    }
    let info: Option<RunInfo> = std::fs::read(run_dir.join("run.json"))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok());
    match info {
        Some(i) if matches!(i.status, RunStatus::Failed { .. }) => (RunState::Failed, None),
        _ => (RunState::ToRun, None),
    }
}

/// Seconds per unit of work and env steps per run, by grid point, measured on this machine.
struct Speeds {
    /// From finished runs of this build: (seconds per work unit, mean env steps).
    finished: BTreeMap<usize, (f64, u64)>,
    /// From calibration runs: seconds per work unit, by grid point.
    calibrated: BTreeMap<usize, f64>,
}

impl Speeds {
    fn measure(
        exp: &Experiment,
        runs: &[(usize, RunConfig)],
        states: &[(RunState, Option<RunInfo>)],
    ) -> Speeds {
        let mut sums: BTreeMap<usize, (f64, f64, u64, u64)> = BTreeMap::new();
        for ((p, cfg), (_, info)) in runs.iter().zip(states) {
            if let Some(info) = info {
                let e = sums.entry(*p).or_default();
                e.0 += info.wall_s;
                e.1 += cost::work(cfg).units as f64;
                e.2 += info.env_steps;
                e.3 += 1;
            }
        }
        let finished: BTreeMap<usize, (f64, u64)> = sums
            .into_iter()
            .map(|(p, (s, u, steps, n))| (p, (s / u.max(1.0), steps / n.max(1))))
            .collect();
        let needed: Vec<usize> = (0..exp.points.len())
            .filter(|p| !finished.contains_key(p))
            .filter(|p| {
                states
                    .iter()
                    .zip(runs)
                    .any(|((s, _), (q, _))| q == p && *s != RunState::Finished)
            })
            .collect();
        let calibrated = calibrate(exp, &needed);
        Speeds {
            finished,
            calibrated,
        }
    }

    fn steps(&self, point: usize) -> Option<u64> {
        self.finished.get(&point).map(|(_, steps)| *steps)
    }

    fn seconds(&self, point: usize, work: &Work) -> f64 {
        let per_unit = self
            .finished
            .get(&point)
            .map(|(s, _)| *s)
            .or_else(|| self.calibrated.get(&point).copied())
            .unwrap_or(0.0);
        per_unit * work.units as f64
    }
}

/// Work units per second the calibration aims at (measured: about 1e10 for both the CartPole
/// MLP and the MinAtar CNN on one core here), to size each calibration run near half a second.
const ASSUMED_UNITS_PER_S: f64 = 1e10;

/// Train a short version of one run of each grid point in `points` (grid points of the same
/// kind — env, network, variant, batch, update period — share one) and return seconds per
/// unit of work. Calibration runs store nothing.
fn calibrate(exp: &Experiment, points: &[usize]) -> BTreeMap<usize, f64> {
    let mut kinds: BTreeMap<String, (RunConfig, Vec<usize>)> = BTreeMap::new();
    for &p in points {
        let cfg = calibration_config(&exp.points[p].run(0));
        let a = &cfg.agent;
        let key = serde_json::to_string(&(
            &cfg.env,
            a.variant.to_string(),
            a.batch_size,
            a.update_period,
            a.buffer_size,
        ))
        .expect("configs serialise");
        kinds
            .entry(key)
            .or_insert_with(|| (cfg, Vec::new()))
            .1
            .push(p);
    }
    let kinds: Vec<(RunConfig, Vec<usize>)> = kinds.into_values().collect();
    let per_unit: Vec<f64> = kinds
        .par_iter()
        .map(|(cfg, _)| {
            let start = std::time::Instant::now();
            let ok = crate::train::train(cfg, &|_| {}).is_ok();
            let s = start.elapsed().as_secs_f64();
            if ok {
                s / cost::work(cfg).units.max(1) as f64
            } else {
                0.0
            }
        })
        .collect();
    kinds
        .iter()
        .zip(per_unit)
        .flat_map(|((_, ps), s)| ps.iter().map(move |&p| (p, s)))
        .collect()
}

/// A short run of the same kind as `cfg`: updates from the start, no evaluation to speak of.
fn calibration_config(cfg: &RunConfig) -> RunConfig {
    let mut c = cfg.clone();
    c.agent.learning_starts = 0;
    c.agent.buffer_size = c.agent.buffer_size.min(100_000).max(c.agent.batch_size);
    c.train.eval_interval = 0;
    c.train.eval_episodes = 1;
    c.train.steps = Some(1_000);
    c.train.episodes = None;
    let per_step = cost::work(&c).units as f64 / 1_000.0;
    let steps = (0.5 * ASSUMED_UNITS_PER_S / per_step).clamp(300.0, 20_000.0);
    c.train.steps = Some(steps as u64);
    c
}

/// `0.75 core-hours`, or `12.3 core-minutes` below one hour.
fn core_time(hours: f64) -> String {
    if hours >= 1.0 {
        format!("{hours:.2} core-hours")
    } else {
        format!("{:.1} core-minutes", hours * 60.0)
    }
}

/// A run's status, with its progress and time left when it is running or interrupted.
fn status(r: &PlannedRun) -> String {
    let Some(p) = &r.progress else {
        return r.state.label().to_owned();
    };
    let eta = p.eta_s().map_or(String::new(), |s| {
        format!(", ~{} left", core_time(s / 3600.0))
    });
    format!(
        "{} at {:.0}% ({} steps, {} episodes{eta})",
        r.state.label(),
        100.0 * p.fraction(),
        p.steps,
        p.episodes
    )
}

/// The plan as a Markdown table with a header saying what it adds up to.
pub fn markdown(plan: &Plan) -> String {
    let count = |s: RunState| plan.runs.iter().filter(|r| r.state == s).count();
    let mut md = format!(
        "# plan: {} — {} runs\n\n{} finished, {} to run ({} other build, {} running, {} interrupted, {} failed).\n\
         Estimated {} to go, {} in all, on one core each (build {}, kernels `{}`).\n",
        plan.experiment,
        plan.runs.len(),
        count(RunState::Finished),
        plan.runs.len() - count(RunState::Finished),
        count(RunState::OtherBuild),
        count(RunState::Running),
        count(RunState::Interrupted),
        count(RunState::Failed),
        core_time(plan.core_hours_to_go()),
        core_time(plan.core_hours_total()),
        plan.build,
        plan.kernel,
    );
    let shard_s = plan.shard_seconds();
    if !shard_s.is_empty() {
        let hours: Vec<String> = shard_s.iter().map(|s| core_time(s / 3600.0)).collect();
        md.push_str(&format!(
            "Split over {} shards, to go per shard: {}.\n",
            shard_s.len(),
            hours.join(", ")
        ));
    }
    md.push_str("\n| grid point | seed | run id | status | shard | env steps | est. core-min |\n|---|---|---|---|---|---|---|\n");
    for r in &plan.runs {
        md.push_str(&format!(
            "| {} | {} | {} | {} | {} | {}{} | {:.2} |\n",
            r.grid_point,
            r.seed,
            r.run_id,
            status(r),
            r.shard.map_or("-".into(), |s| s.to_string()),
            r.env_steps_basis.prefix(),
            r.env_steps,
            r.core_seconds / 60.0,
        ));
    }
    md
}
