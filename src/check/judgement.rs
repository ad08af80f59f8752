//! The judgement of a check: each grid point's runs against its baseline, exactly first
//! ([`super::exact`]: the first run, episode and quantity that differ), then by the statistical
//! rule of [`judge`] on the final-return IQM; the config keys that moved; and the series of the
//! baseline-vs-current chart.

use super::baseline::{Baseline, PointConfig, StoredPoint};
use super::exact::{first_difference, RunCurves};
use super::{
    BaselineSample, CheckOptions, CheckReport, ExactLevel, MetricCheck, Outcome, PointCheck,
    CHART_SMOOTHING, DETECTION_POWER, MIN_RUNS_TO_TEST,
};
use crate::config::{Experiment, GridPoint};
use crate::report::charts::{LineChart, Series};
use crate::report::{curve_band, label_seed, solved_line};
use crate::stats::{self, Interval};
use crate::store::RunStatus;
use crate::sweep::RunResult;
use std::collections::BTreeMap;

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

/// [`check`] against a baseline already read, without the rendered texts.
pub(super) fn compare(
    exp: &Experiment,
    results: &[RunResult],
    baseline: &Baseline,
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

/// The chart's series of one grid point: its baseline's and its current runs' median curves with
/// IQR bands.
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
