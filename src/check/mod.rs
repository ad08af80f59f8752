//! Learning-curve regression checks: bless an experiment's runs as a baseline, then check
//! later runs of the same experiment against it.
//!
//! A baseline lives in `results/baselines/<experiment>/` ([`baseline`]): `baseline.json` (grid
//! points, their resolved configs and per-seed scores), `curves.csv` (every training episode's
//! return, length, loss and Q estimate, long form) and `changes.md` (what the last blessing
//! moved, [`changes`]). A check compares each grid point at two levels: first exactly
//! ([`exact`]: same code and seeds must give bit-identical curves), then, if that fails,
//! statistically: a one-sided test of the final-return IQM difference against the baseline's
//! runs at the seeds the check did not train (`[check] baseline_seeds`); see [`judge`] for the
//! rule and the README for its measured false-alarm rate and power.

mod baseline;
mod changes;
mod exact;
mod judgement;
mod render;

pub use exact::{Changed, Difference, FirstOf, Quantity};

pub use judgement::judge;

use crate::config::{Exact, Experiment};
use crate::report::charts::{self, LineChart, PlotError};
use crate::stats::Interval;
use crate::store::{write_atomic, ExperimentDir, StoreError};
use crate::sweep::RunResult;
use baseline::load_baseline;
use judgement::compare;
use render::{interval, markdown, signed, terminal};
use std::fmt;
use std::path::{Path, PathBuf};

/// Version of the baseline format written by [`bless`].
pub const FORMAT: u32 = 2;
/// Name of the baseline's description file.
pub const BASELINE_FILE: &str = "baseline.json";
/// Name of the summary of what the last blessing changed.
pub const CHANGES_FILE: &str = "changes.md";
/// Name of the baseline's learning-curve table.
pub const CURVES_FILE: &str = "curves.csv";
/// Header of [`CURVES_FILE`].
pub const CURVES_HEADER: &str = "grid_point,seed,episode,return,length,loss,max_q";
/// Fewest runs on each side (current, baseline) for the statistical level: the percentile
/// bootstrap of an IQM from fewer runs is too narrow to hold its level.
pub const MIN_RUNS_TO_TEST: usize = 8;
/// Power at which [`PointCheck::detectable_drop`] is stated.
pub const DETECTION_POWER: f64 = 0.8;
/// Moving-average window of the baseline-vs-current chart.
const CHART_SMOOTHING: usize = 10;

/// Everything that can go wrong while blessing or checking.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    #[error("{dir}: no baseline for experiment `{experiment}` (expected {BASELINE_FILE} and {CURVES_FILE}; run `sweep bless` first)")]
    NoBaseline { dir: PathBuf, experiment: String },
    #[error("{file}: cannot read the file")]
    Read {
        file: PathBuf,
        source: std::io::Error,
    },
    #[error("{file}: not a valid baseline: {message}")]
    Format { file: PathBuf, message: String },
    #[error("{file}: line {line}: {message}")]
    Line {
        file: PathBuf,
        line: usize,
        message: String,
    },
    #[error("cannot bless `{experiment}`: {message}")]
    Bless { experiment: String, message: String },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("check chart: {0}")]
    Plot(#[from] PlotError),
}

/// How strict the statistical level is.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckOptions {
    /// Largest IQM drop, in return units, that is not a regression.
    pub tolerance: f64,
    /// Bootstrap resamples for every interval.
    pub resamples: usize,
    /// Confidence level of the intervals.
    pub confidence: f64,
    /// Whether any difference from the baseline fails (`[check] exact`; `Always` for
    /// `sweep check --require-identical`).
    pub exact: Exact,
}

impl Default for CheckOptions {
    fn default() -> Self {
        CheckOptions {
            tolerance: 0.0,
            resamples: 2000,
            confidence: 0.95,
            exact: Exact::Off,
        }
    }
}

impl CheckOptions {
    /// The experiment's `[check] tolerance` and `exact` with its `[report]` resamples and
    /// confidence.
    pub fn for_experiment(exp: &Experiment) -> Self {
        CheckOptions {
            tolerance: exp.check.tolerance,
            resamples: exp.report.resamples,
            confidence: exp.report.confidence,
            exact: exp.check.exact,
        }
    }

    /// One-sided level of the test of one grid point: `(1 − confidence) / 2`.
    pub fn false_alarm_rate(&self) -> f64 {
        (1.0 - self.confidence) / 2.0
    }
}

/// The verdict for one grid point.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Every seed's curves equal the baseline bit for bit.
    Identical,
    /// Not identical, but within the tolerance.
    Pass,
    /// Better than the baseline beyond the tolerance (consider blessing).
    Improved,
    /// Not identical, and too few runs on a side (< [`MIN_RUNS_TO_TEST`]) for the statistical
    /// level to say anything: not a failure, but nothing was checked beyond the exact level.
    Untested,
    /// Worse than the baseline beyond the tolerance, or a run failed.
    Regressed,
    /// The baseline has no such grid point.
    Missing,
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Outcome::Identical => "identical",
            Outcome::Pass => "pass",
            Outcome::Improved => "improved",
            Outcome::Untested => "untested",
            Outcome::Regressed => "regressed",
            Outcome::Missing => "missing",
        })
    }
}

/// One score (final return or AUC) of a grid point, baseline against current.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MetricCheck {
    /// IQM across the baseline's runs, with its bootstrap interval.
    pub baseline: Interval,
    /// IQM across the current runs, with its bootstrap interval.
    pub current: Interval,
    /// IQM(current) − IQM(baseline), with its two-sample bootstrap interval.
    pub difference: Interval,
    /// Probability that a current run scores higher than a baseline run, with its interval.
    pub improvement: Interval,
}

/// The check of one grid point.
#[derive(Debug, Clone, PartialEq)]
pub struct PointCheck {
    pub label: String,
    pub outcome: Outcome,
    /// Where the current curves first differ from the baseline's (`None` if identical).
    pub first_difference: Option<Difference>,
    /// Per-run final return: mean of the last `report.final_window` training episodes.
    pub final_return: Option<MetricCheck>,
    /// Per-run area under the curve: mean return over all training episodes.
    pub auc: Option<MetricCheck>,
    /// Config keys that differ from the baseline's, as `key: baseline → current`.
    pub config_changes: Vec<String>,
    /// Current runs that failed: seed and reason.
    pub failed_runs: Vec<(u64, String)>,
    /// Successful current runs.
    pub current_runs: usize,
    /// Which baseline runs the statistical level compares with.
    pub compared_with: BaselineSample,
    /// The final-return IQM drop this check detects with [`DETECTION_POWER`] at its level:
    /// `tolerance + (z(1 − α) + z(power)) · SE(Δ)`, SE from the bootstrap interval's width.
    pub detectable_drop: Option<f64>,
}

/// The baseline runs a statistical comparison uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BaselineSample {
    /// The blessed runs at seeds the check did not train: independent of the current runs.
    OtherSeeds { runs: usize },
    /// Every blessed run, the current seeds included (the baseline has no other seeds).
    AllSeeds { runs: usize, shared: usize },
}

impl fmt::Display for BaselineSample {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BaselineSample::OtherSeeds { runs } => write!(f, "{runs} runs at other seeds"),
            BaselineSample::AllSeeds { runs, shared } => {
                write!(f, "{runs} runs, {shared} at the checked seeds")
            }
        }
    }
}

/// The check of a whole experiment.
#[derive(Debug, Clone)]
pub struct CheckReport {
    pub points: Vec<PointCheck>,
    /// Baseline grid points that the experiment no longer has.
    pub dropped_points: Vec<String>,
    /// GitHub Markdown (usable as a CI job summary).
    pub markdown: String,
    /// Plain text for the terminal.
    pub terminal: String,
    /// Baseline and current learning curves, per grid point.
    pub chart: LineChart,
    /// Files written by [`CheckReport::write`].
    pub files: Vec<PathBuf>,
    /// The matrix kernels the baseline was blessed on, when it records them.
    pub baseline_kernel: Option<String>,
    /// The baseline's format: 1 recorded returns only, so losses and Q estimates were not
    /// compared.
    pub baseline_format: u32,
    /// What the exact level demands here ([`CheckOptions::exact`] on this machine).
    pub exact: ExactLevel,
}

impl CheckReport {
    /// Some grid point regressed.
    pub fn regressed(&self) -> bool {
        self.points.iter().any(|p| p.outcome == Outcome::Regressed)
    }

    /// The grid points whose curves are not bit-identical to the baseline, with their outcome
    /// (what `sweep check --require-identical` refuses).
    pub fn not_identical(&self) -> Vec<String> {
        self.points
            .iter()
            .filter(|p| p.outcome != Outcome::Identical)
            .map(|p| {
                format!(
                    "{} ({})",
                    p.label,
                    format!("{:?}", p.outcome).to_lowercase()
                )
            })
            .chain(self.dropped_points.iter().map(|l| format!("{l} (not run)")))
            .collect()
    }

    /// Every grid point had a baseline and none regressed, and where the exact level is
    /// required every point is bit-identical (what `sweep check` requires).
    pub fn passed(&self) -> bool {
        self.points
            .iter()
            .all(|p| !matches!(p.outcome, Outcome::Regressed | Outcome::Missing))
            && !self.exact_failed()
    }

    /// The exact level is required here and some grid point is not bit-identical.
    pub fn exact_failed(&self) -> bool {
        self.exact == ExactLevel::Required && !self.not_identical().is_empty()
    }

    /// Write `check.md` and `check_curves.{png,svg}` into the experiment's results folder.
    pub fn write(&mut self, dir: &ExperimentDir) -> Result<Vec<PathBuf>, CheckError> {
        let md = dir.file("check.md");
        write_atomic(&md, self.markdown.as_bytes())?;
        let mut files = vec![md];
        files.extend(charts::line_chart(&self.chart, &dir.file("check_curves"))?);
        self.files = files.clone();
        Ok(files)
    }
}

/// Store the experiment's runs as its baseline in `dir` (`baseline.json` and `curves.csv`,
/// byte-identical for identical runs), replacing any earlier one, and write `changes.md`: the
/// new runs checked against the baseline they replace (or a note that there was none), so a
/// behaviour change is reviewed with its effect. Every run must have finished successfully and
/// every grid point must have runs.
pub fn bless(
    exp: &Experiment,
    results: &[RunResult],
    dir: &Path,
    opts: &CheckOptions,
) -> Result<Vec<PathBuf>, CheckError> {
    let previous = match load_baseline(dir, &exp.name) {
        Ok(b) => changes::Previous::Checked(Box::new(compare(exp, results, &b, opts))),
        Err(CheckError::NoBaseline { .. }) => changes::Previous::None,
        Err(e) => changes::Previous::Unreadable(e.to_string()),
    };
    let mut files = baseline::write(exp, results, dir)?;
    let summary = changes::markdown(exp, results, &previous, opts);
    let path = dir.join(CHANGES_FILE);
    write_atomic(&path, summary.as_bytes())?;
    files.push(path);
    Ok(files)
}

/// What `[check] exact` asks of a check on this machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExactLevel {
    /// Differences are reported; only the statistics decide (`exact = false`).
    Off,
    /// Any difference from the baseline fails.
    Required,
    /// `exact = "same-kernels"` on other matrix kernels than the blessing machine's:
    /// bit-identity is not expected here, only the statistics decide.
    OtherKernels { blessed: String, here: String },
}

impl ExactLevel {
    /// What `exact` asks of a check here against a baseline blessed on `blessed` kernels: for
    /// `"same-kernels"` it applies when they are this machine's (or the baseline does not say).
    pub fn of(exact: Exact, blessed: Option<&str>) -> ExactLevel {
        let here = crate::fingerprint::kernel_family();
        match (exact, blessed) {
            (Exact::Off, _) => ExactLevel::Off,
            (Exact::Always, _) => ExactLevel::Required,
            (Exact::SameKernels, Some(blessed)) if blessed != here => ExactLevel::OtherKernels {
                blessed: blessed.to_owned(),
                here: here.to_owned(),
            },
            (Exact::SameKernels, _) => ExactLevel::Required,
        }
    }
}

/// `<results_root>/baselines/<experiment name>`.
pub fn baseline_dir(results_root: &Path, exp: &Experiment) -> PathBuf {
    results_root.join("baselines").join(&exp.name)
}

/// Check the experiment's runs against the baseline in `baseline_dir` (see [`bless`]).
///
/// Per grid point (matched by label): **identical** if every seed's per-episode quantities
/// ([`Quantity`]: return, length, loss, Q estimate) and evaluation returns equal the
/// baseline's bit for bit; otherwise the statistical rule of [`judge`];
/// **regressed** whenever a current run failed (or none ran); **missing** without a baseline.
/// Config keys that differ from the baseline's are listed but do not stop the comparison.
/// Nothing is written; see [`CheckReport::write`].
pub fn check(
    exp: &Experiment,
    results: &[RunResult],
    baseline_dir: &Path,
    opts: &CheckOptions,
) -> Result<CheckReport, CheckError> {
    let baseline = load_baseline(baseline_dir, &exp.name)?;
    let mut report = compare(exp, results, &baseline, opts);
    report.markdown = markdown(exp, &report, baseline_dir, opts);
    report.terminal = terminal(exp, &report, baseline_dir, opts);
    Ok(report)
}
