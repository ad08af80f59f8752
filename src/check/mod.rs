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

pub use exact::{Changed, Difference, FirstOf, Quantity};

use crate::config::{Exact, Experiment, GridPoint};
use crate::report::charts::{self, LineChart, PlotError, Series};
use crate::report::{curve_band, fmt_num, label_seed, solved_line};
use crate::stats::{self, Interval};
use crate::store::{write_atomic, ExperimentDir, RunStatus, StoreError};
use crate::sweep::RunResult;
use baseline::{load_baseline, PointConfig, StoredPoint};
use exact::{first_difference, RunCurves};
use std::collections::BTreeMap;
use std::fmt::{self, Write as _};
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

// ---------------------------------------------------------------------------
// Comparison
// ---------------------------------------------------------------------------

/// The statistical rule, applied when a grid point is not identical to its baseline.
///
/// `sweep check` gives it one interval: `d`, the bootstrap interval of IQM(current) −
/// IQM(baseline) of the final return, at `[report] confidence` (0.95: a one-sided test at
/// 2.5% per grid point). **Regressed** if the whole interval lies below −`tolerance`
/// (`d.hi < −tolerance`); otherwise **improved** if it lies wholly above +`tolerance`;
/// otherwise **pass** (also when the interval is NaN). With several intervals, any one below
/// regresses. The AUC is shown but not tested: one pre-declared test keeps the false-alarm
/// rate at its level (two tests measured 8 false alarms in 40 checks at 5% each).
pub fn judge(differences: &[Interval], tolerance: f64) -> Outcome {
    if differences.iter().any(|d| d.hi < -tolerance) {
        Outcome::Regressed
    } else if differences.iter().any(|d| d.lo > tolerance) {
        Outcome::Improved
    } else {
        Outcome::Pass
    }
}

/// IQMs, their difference and the probability of improvement for one per-run score.
fn metric(baseline: &[f64], current: &[f64], opts: &CheckOptions, seed: u64) -> MetricCheck {
    let (n, c) = (opts.resamples, opts.confidence);
    MetricCheck {
        baseline: stats::bootstrap_ci(&[baseline], &stats::iqm, n, c, seed),
        current: stats::bootstrap_ci(&[current], &stats::iqm, n, c, seed),
        difference: stats::bootstrap_diff_ci(current, baseline, &stats::iqm, n, c, seed),
        improvement: stats::probability_of_improvement_ci(current, baseline, n, c, seed),
    }
}

/// Leaf values of a JSON object as `a.b.c` → value.
fn flatten(prefix: &str, v: &serde_json::Value, out: &mut BTreeMap<String, serde_json::Value>) {
    match v {
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&key, v, out);
            }
        }
        leaf => {
            out.insert(prefix.to_owned(), leaf.clone());
        }
    }
}

/// Equal JSON leaves; numbers within a relative 1e-12 (JSON float parsing may be off by an ulp).
fn same_value(a: Option<&serde_json::Value>, b: Option<&serde_json::Value>) -> bool {
    match (a.and_then(|a| a.as_f64()), b.and_then(|b| b.as_f64())) {
        (Some(x), Some(y)) => (x - y).abs() <= 1e-12 * x.abs().max(y.abs()),
        _ => a == b,
    }
}

/// Keys whose values differ, as `key: baseline → current` (absent keys shown as `(absent)`).
fn config_changes(baseline: &serde_json::Value, current: &serde_json::Value) -> Vec<String> {
    let (mut b, mut c) = (BTreeMap::new(), BTreeMap::new());
    flatten("", baseline, &mut b);
    flatten("", current, &mut c);
    let keys: std::collections::BTreeSet<&String> = b.keys().chain(c.keys()).collect();
    let show = |v: Option<&serde_json::Value>| v.map_or("(absent)".to_owned(), |v| v.to_string());
    keys.into_iter()
        .filter(|k| !same_value(b.get(*k), c.get(*k)))
        .map(|k| format!("{k}: {} → {}", show(b.get(k)), show(c.get(k))))
        .collect()
}

/// Compare one grid point's current runs with its baseline.
fn check_point(
    point: &GridPoint,
    baseline: Option<&StoredPoint>,
    results: &[&RunResult],
    final_window: usize,
    opts: &CheckOptions,
) -> PointCheck {
    let mut current: Vec<RunCurves> = results
        .iter()
        .filter(|r| r.ok())
        .map(|r| RunCurves::of(r))
        .collect();
    current.sort_by_key(|r| r.seed);
    let failed_runs: Vec<(u64, String)> = results
        .iter()
        .filter_map(|r| match &r.run.info.status {
            RunStatus::Failed { reason } => Some((r.run.config.seed, reason.clone())),
            RunStatus::Ok => None,
        })
        .collect();
    let mut check = PointCheck {
        label: point.label.clone(),
        outcome: Outcome::Missing,
        first_difference: None,
        final_return: None,
        auc: None,
        config_changes: Vec::new(),
        failed_runs,
        current_runs: current.len(),
        compared_with: BaselineSample::AllSeeds { runs: 0, shared: 0 },
        detectable_drop: None,
    };
    let Some(base) = baseline else {
        return check;
    };
    let current_config =
        serde_json::to_value(PointConfig::of(point)).expect("a grid point serialises");
    check.config_changes = config_changes(&base.config, &current_config);
    check.first_difference = first_difference(&base.runs, &current);

    let (sample, compared_with) = baseline_sample(&base.runs, &current);
    check.compared_with = compared_with;
    let scores = |runs: &[&RunCurves], f: &dyn Fn(&[f64]) -> f64| -> Vec<f64> {
        runs.iter().map(|r| f(&r.returns)).collect()
    };
    let current: Vec<&RunCurves> = current.iter().collect();
    let final_of = |x: &[f64]| stats::last_n_mean(x, final_window);
    let seed = label_seed(&point.label);
    let final_return = metric(
        &scores(&sample, &final_of),
        &scores(&current, &final_of),
        opts,
        seed,
    );
    let auc = metric(
        &scores(&sample, &stats::area_under_curve),
        &scores(&current, &stats::area_under_curve),
        opts,
        seed ^ 0x5555_5555_5555_5555,
    );
    check.outcome = if !check.failed_runs.is_empty() || current.is_empty() {
        Outcome::Regressed
    } else if check.first_difference.is_none() {
        Outcome::Identical
    } else if current.len().min(sample.len()) < MIN_RUNS_TO_TEST {
        Outcome::Untested
    } else {
        judge(&[final_return.difference], opts.tolerance)
    };
    check.detectable_drop = Some(detectable_drop(&final_return.difference, opts));
    check.final_return = Some(final_return);
    check.auc = Some(auc);
    check
}

/// The baseline runs to compare `current` with: those at seeds the check did not train, so
/// both samples are independent; every baseline run when there are no others.
fn baseline_sample<'a>(
    baseline: &'a [RunCurves],
    current: &[RunCurves],
) -> (Vec<&'a RunCurves>, BaselineSample) {
    let checked = |b: &&RunCurves| current.iter().any(|c| c.seed == b.seed);
    let others: Vec<&RunCurves> = baseline.iter().filter(|b| !checked(b)).collect();
    if others.is_empty() {
        let shared = baseline.iter().filter(checked).count();
        let all = baseline.iter().collect();
        (
            all,
            BaselineSample::AllSeeds {
                runs: baseline.len(),
                shared,
            },
        )
    } else {
        let runs = others.len();
        (others, BaselineSample::OtherSeeds { runs })
    }
}

/// The smallest true drop of the IQM that the one-sided test at `opts`' level detects with
/// probability [`DETECTION_POWER`], given the standard error read off the interval `d`
/// (normal approximation): `tolerance + (z(1 − α) + z(power)) · SE`.
fn detectable_drop(d: &Interval, opts: &CheckOptions) -> f64 {
    let z_level = stats::normal_quantile(1.0 - opts.false_alarm_rate());
    let se = d.width() / (2.0 * z_level);
    opts.tolerance + (z_level + stats::normal_quantile(DETECTION_POWER)) * se
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

/// [`check`] against a baseline already read, without the rendered texts.
fn compare(
    exp: &Experiment,
    results: &[RunResult],
    baseline: &baseline::Baseline,
    opts: &CheckOptions,
) -> CheckReport {
    let stored = &baseline.points;
    let mut points = Vec::with_capacity(exp.points.len());
    let mut series = Vec::new();
    for (i, p) in exp.points.iter().enumerate() {
        let runs: Vec<&RunResult> = results.iter().filter(|r| r.point == i).collect();
        let base = stored.iter().find(|s| s.label == p.label);
        points.push(check_point(p, base, &runs, exp.report.final_window, opts));
        series.extend(chart_series(p, base, &runs));
    }
    let dropped_points = stored
        .iter()
        .filter(|s| !exp.points.iter().any(|p| p.label == s.label))
        .map(|s| s.label.clone())
        .collect();
    CheckReport {
        points,
        dropped_points,
        markdown: String::new(),
        terminal: String::new(),
        chart: LineChart {
            title: format!(
                "{}: baseline vs current ({CHART_SMOOTHING}-episode moving average, band = IQR)",
                exp.name
            ),
            x_label: "Episode".into(),
            y_label: "Total Reward".into(),
            series,
            hlines: solved_line(exp),
            y_range: None,
        },
        files: Vec::new(),
        baseline_kernel: baseline.kernel.clone(),
        baseline_format: baseline.format,
        exact: ExactLevel::of(opts.exact, baseline.kernel.as_deref()),
    }
}

fn chart_series(p: &GridPoint, base: Option<&StoredPoint>, runs: &[&RunResult]) -> Vec<Series> {
    let mut out = Vec::new();
    if let Some(b) = base {
        let curves: Vec<&[f64]> = b.runs.iter().map(|r| r.returns.as_slice()).collect();
        let label = format!("{} — baseline (n={})", p.label, curves.len());
        out.push(curve_band(&curves, label, CHART_SMOOTHING));
    }
    let current: Vec<Vec<f64>> = runs
        .iter()
        .filter(|r| r.ok())
        .map(|r| r.run.episodes.iter().map(|e| e.ret).collect())
        .collect();
    if !current.is_empty() {
        let curves: Vec<&[f64]> = current.iter().map(Vec::as_slice).collect();
        let label = format!("{} — current (n={})", p.label, curves.len());
        out.push(curve_band(&curves, label, CHART_SMOOTHING));
    }
    out
}

// ---------------------------------------------------------------------------
// Rendering
// ---------------------------------------------------------------------------

pub(super) fn interval(i: &Interval, decimals: usize) -> String {
    format!(
        "{} [{}, {}]",
        fmt_num(i.point, decimals),
        fmt_num(i.lo, decimals),
        fmt_num(i.hi, decimals)
    )
}

pub(super) fn signed(i: &Interval) -> String {
    let s = |v: f64| {
        if v.is_finite() {
            format!("{v:+.1}")
        } else {
            "–".into()
        }
    };
    format!("{} [{}, {}]", s(i.point), s(i.lo), s(i.hi))
}

fn verdict_line(report: &CheckReport) -> String {
    let count = |o: Outcome| report.points.iter().filter(|p| p.outcome == o).count();
    let n = report.points.len();
    if report.exact_failed() {
        let k = report.not_identical().len();
        format!("fail ({k} of {n} grid points not bit-identical, and the exact level is required)")
    } else if report.regressed() {
        format!(
            "regressed ({} of {n} grid points)",
            count(Outcome::Regressed)
        )
    } else if count(Outcome::Missing) > 0 {
        format!(
            "incomplete ({} of {n} grid points have no baseline)",
            count(Outcome::Missing)
        )
    } else {
        let untested = match count(Outcome::Untested) {
            0 => String::new(),
            u => format!(", {u} untested"),
        };
        format!(
            "pass ({} identical, {} pass, {} improved{untested} of {n} grid points)",
            count(Outcome::Identical),
            count(Outcome::Pass),
            count(Outcome::Improved)
        )
    }
}

fn rule_text(exp: &Experiment, opts: &CheckOptions) -> String {
    format!(
        "A grid point is **identical** when every seed's per-episode training returns and \
         evaluation returns equal the baseline's (at the same seeds) bit for bit. Otherwise, \
         with Δ the {:.0}% bootstrap interval ({} resamples) of IQM(current) − IQM(baseline) of \
         the final return (mean of the last {} episodes), the baseline being its runs at the \
         seeds this check did not train: **regressed** if Δ lies wholly below −{tol} (a \
         one-sided test at {:.1}% per grid point), **improved** if wholly above +{tol}, else \
         **pass**; **untested** with fewer than {MIN_RUNS_TO_TEST} runs on a side. The AUC (mean \
         return over all episodes) is shown, not tested. A failed run is a regression. \"Detectable drop\" is the true IQM drop this check catches with {:.0}% \
         power.",
        opts.confidence * 100.0,
        opts.resamples,
        exp.report.final_window,
        opts.false_alarm_rate() * 100.0,
        DETECTION_POWER * 100.0,
        tol = opts.tolerance,
    )
}

fn markdown(exp: &Experiment, r: &CheckReport, baseline_dir: &Path, opts: &CheckOptions) -> String {
    let mut md = format!("# {} — regression check\n\n", exp.name);
    let _ = writeln!(
        md,
        "Baseline: `{}`. Result: **{}**.\n\n{}\n",
        baseline_dir.display(),
        verdict_line(r),
        rule_text(exp, opts)
    );
    md.push_str(
        "| grid point | outcome | final IQM baseline | final IQM current | Δ final | \
         detectable drop | baseline runs | AUC IQM baseline | AUC IQM current | Δ AUC (not tested) | \
         P(current > baseline), final | first difference |\n",
    );
    md.push_str(&format!("|{}\n", "---|".repeat(12)));
    for p in &r.points {
        let cells = |m: &Option<MetricCheck>| match m {
            Some(m) => [
                interval(&m.baseline, 1),
                interval(&m.current, 1),
                signed(&m.difference),
            ],
            None => ["–".into(), "–".into(), "–".into()],
        };
        let [fb, fc, fd] = cells(&p.final_return);
        let [ab, ac, ad] = cells(&p.auc);
        let poi = p
            .final_return
            .map_or("–".into(), |m| interval(&m.improvement, 2));
        let diff = p
            .first_difference
            .as_ref()
            .map_or("–".into(), |d| d.to_string());
        let outcome = match p.outcome {
            Outcome::Regressed => "**regressed**".to_owned(),
            o => o.to_string(),
        };
        let drop = p.detectable_drop.map_or("–".into(), |d| fmt_num(d, 1));
        let _ = writeln!(
            md,
            "| {} | {outcome} | {fb} | {fc} | {fd} | {drop} | {} | {ab} | {ac} | {ad} | {poi} | {diff} |",
            p.label, p.compared_with
        );
    }
    let notes = notes(r);
    if !notes.is_empty() {
        md.push_str("\n## Notes\n\n");
        for n in notes {
            let _ = writeln!(md, "- {n}");
        }
    }
    md
}

fn notes(r: &CheckReport) -> Vec<String> {
    let mut out = Vec::new();
    if let ExactLevel::OtherKernels { blessed, here } = &r.exact {
        out.push(format!(
            "[check] exact = \"same-kernels\": the baseline was blessed on kernels `{blessed}`, \
             this machine has `{here}`; bit-identity is not expected here, only the statistical \
             level decides"
        ));
    }
    if r.baseline_format < 2 {
        out.push(format!(
            "the baseline has format {} and records returns only: lengths, losses and Q \
             estimates were not compared (bless again to record them)",
            r.baseline_format
        ));
    }
    for p in &r.points {
        if p.outcome == Outcome::Missing {
            out.push(format!(
                "{}: no baseline for this grid point (bless to add it)",
                p.label
            ));
        }
        if !p.config_changes.is_empty() {
            out.push(format!(
                "{}: config differs from the baseline: {}",
                p.label,
                p.config_changes.join("; ")
            ));
        }
        if p.outcome == Outcome::Untested {
            out.push(format!(
                "{}: not identical, and too few runs for the statistical level ({} current \
                 against {}; at least {MIN_RUNS_TO_TEST} on each side): add seeds, or bless \
                 more with `[check] baseline_seeds`",
                p.label, p.current_runs, p.compared_with
            ));
        }
        for (seed, reason) in &p.failed_runs {
            out.push(format!("{} seed {seed} failed: {reason}", p.label));
        }
    }
    for label in &r.dropped_points {
        out.push(format!(
            "{label}: in the baseline but no longer in the experiment"
        ));
    }
    out
}

fn terminal(exp: &Experiment, r: &CheckReport, baseline_dir: &Path, opts: &CheckOptions) -> String {
    let mut t = format!(
        "{}: check against {} (final-return IQM, tolerance {}, one-sided {:.1}% per grid point)\n",
        exp.name,
        baseline_dir.display(),
        opts.tolerance,
        opts.false_alarm_rate() * 100.0
    );
    let width = r.points.iter().map(|p| p.label.len()).max().unwrap_or(0);
    for p in &r.points {
        let _ = write!(
            t,
            "  {:width$}  {:9}",
            p.label,
            p.outcome.to_string().to_uppercase()
        );
        if let (Some(f), Some(a)) = (&p.final_return, &p.auc) {
            let _ = write!(
                t,
                "  final IQM {} → {} (Δ {}; detects a drop of {}), AUC IQM {} → {} (Δ {}), \
                 P(better) {}",
                fmt_num(f.baseline.point, 1),
                fmt_num(f.current.point, 1),
                signed(&f.difference),
                p.detectable_drop.map_or("–".into(), |d| fmt_num(d, 1)),
                fmt_num(a.baseline.point, 1),
                fmt_num(a.current.point, 1),
                signed(&a.difference),
                fmt_num(f.improvement.point, 2)
            );
        }
        t.push('\n');
        if let Some(d) = &p.first_difference {
            let _ = writeln!(t, "  {:width$}  first difference: {d}", "");
        }
    }
    for n in notes(r) {
        let _ = writeln!(t, "  note: {n}");
    }
    let _ = writeln!(t, "result: {}", verdict_line(r));
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ci(lo: f64, hi: f64) -> Interval {
        Interval {
            point: (lo + hi) / 2.0,
            lo,
            hi,
        }
    }

    fn run(seed: u64, returns: &[f64]) -> RunCurves {
        RunCurves {
            seed,
            returns: returns.to_vec(),
            measured: None,
            eval: vec![200.0],
        }
    }

    #[test]
    fn interval_wholly_below_minus_tolerance_is_a_regression() {
        assert_eq!(
            judge(&[ci(-40.0, -10.5), ci(-5.0, 5.0)], 10.0),
            Outcome::Regressed
        );
        assert_eq!(
            judge(&[ci(-5.0, 5.0), ci(-40.0, -11.0)], 10.0),
            Outcome::Regressed
        );
        // A regression in one score outweighs an improvement in the other.
        assert_eq!(
            judge(&[ci(20.0, 40.0), ci(-40.0, -11.0)], 10.0),
            Outcome::Regressed
        );
    }

    #[test]
    fn interval_straddling_or_within_tolerance_passes() {
        assert_eq!(
            judge(&[ci(-30.0, 5.0), ci(-12.0, -8.0)], 10.0),
            Outcome::Pass
        );
        // Touching −tolerance is not wholly below it.
        assert_eq!(
            judge(&[ci(-30.0, -10.0), ci(0.0, 1.0)], 10.0),
            Outcome::Pass
        );
        assert_eq!(
            judge(&[Interval::nan(), Interval::nan()], 10.0),
            Outcome::Pass
        );
    }

    #[test]
    fn interval_wholly_above_tolerance_is_an_improvement() {
        assert_eq!(
            judge(&[ci(10.5, 30.0), ci(-5.0, 20.0)], 10.0),
            Outcome::Improved
        );
        assert_eq!(judge(&[ci(5.0, 30.0), ci(-5.0, 20.0)], 10.0), Outcome::Pass);
    }

    #[test]
    fn the_baseline_sample_leaves_out_the_checked_seeds() {
        let base: Vec<RunCurves> = (0..5).map(|s| run(s, &[s as f64])).collect();
        let (sample, what) = baseline_sample(&base, &base[1..3]);
        assert_eq!(
            sample.iter().map(|r| r.seed).collect::<Vec<_>>(),
            vec![0, 3, 4]
        );
        assert_eq!(what, BaselineSample::OtherSeeds { runs: 3 });
        let (sample, what) = baseline_sample(&base, &base);
        assert_eq!(sample.len(), 5);
        assert_eq!(what, BaselineSample::AllSeeds { runs: 5, shared: 5 });
        let fresh = vec![run(9, &[1.0])];
        assert_eq!(baseline_sample(&base, &fresh).0.len(), 5);
    }

    #[test]
    fn detectable_drop_follows_the_interval_width() {
        // A 95% interval of half-width 1.96 means SE 1; at one-sided 2.5% and 80% power the
        // detectable drop is (1.96 + 0.8416) SE, plus the tolerance.
        let opts = CheckOptions::default();
        let d = detectable_drop(&ci(-1.96, 1.96), &opts);
        assert!((d - 2.8016).abs() < 1e-3, "{d}");
        let with_tol = CheckOptions {
            tolerance: 5.0,
            ..opts
        };
        assert!((detectable_drop(&ci(10.0 - 3.92, 10.0 + 3.92), &with_tol) - 10.603).abs() < 1e-3);
    }

    #[test]
    fn config_changes_name_the_keys() {
        let b =
            serde_json::json!({"agent": {"lr": 0.001, "gamma": 0.98}, "train": {"episodes": 100}});
        let c = serde_json::json!({"agent": {"lr": 0.00001, "gamma": 0.98}, "train": {"episodes": 100, "new": 1}});
        assert_eq!(
            config_changes(&b, &c),
            vec!["agent.lr: 0.001 → 0.00001", "train.new: (absent) → 1"]
        );
        assert!(config_changes(&b, &b).is_empty());
    }

    #[test]
    fn returns_are_written_compactly_and_read_back_exactly() {
        for x in [23.0f64, 0.1, 195.5, -1e-7, 1.0 / 3.0] {
            let text = format!("{x}");
            assert_eq!(
                text.parse::<f64>().unwrap().to_bits(),
                x.to_bits(),
                "{text}"
            );
        }
        assert_eq!(format!("{}", 23.0f64), "23");
    }
}
