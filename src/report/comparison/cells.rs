//! One Δ cell of the comparison table: a metric's values for a variant and its baseline
//! (paired by seed when they can be), the bootstrap test of their difference, its verdict,
//! and the Holm correction over the table.

use super::claims::Metric;
use super::MIN_RUNS_FOR_VERDICT;
use crate::report::fmt_num;
use crate::report::tables::finite;
use crate::stats::{self, Verdict};
use polars::prelude::*;

/// Finite values of `column` over the successful runs of one grid point, selected with polars
/// from the per-run table.
pub(super) fn point_values(
    per_run: &DataFrame,
    label: &str,
    column: &str,
) -> PolarsResult<Vec<f64>> {
    let mask =
        per_run.column("grid_point")?.str()?.equal(label) & per_run.column("ok")?.bool()?.clone();
    finite(&per_run.filter(&mask)?, column)
}

/// `(seed, value)` of the successful runs of one grid point with a finite `column`.
pub(super) fn seeded_values(
    per_run: &DataFrame,
    label: &str,
    column: &str,
) -> PolarsResult<Vec<(u64, f64)>> {
    let mask =
        per_run.column("grid_point")?.str()?.equal(label) & per_run.column("ok")?.bool()?.clone();
    let runs = per_run.filter(&mask)?;
    let seeds = runs.column("seed")?.cast(&DataType::UInt64)?;
    let values = runs.column(column)?.cast(&DataType::Float64)?;
    Ok(seeds
        .u64()?
        .iter()
        .zip(values.f64()?.iter())
        .filter_map(|(s, v)| Some((s?, v?)))
        .filter(|(_, v)| v.is_finite())
        .collect())
}

/// A variant's and its baseline's values of one metric.
pub(super) enum Samples {
    /// `(variant, baseline)` at the same seeds, in seed order: both grid points draw common
    /// random numbers and every seed has a value on both sides.
    Paired(Vec<f64>, Vec<f64>),
    /// Unrelated runs (independent streams, or the seeds with a value differ).
    Independent(Vec<f64>, Vec<f64>),
}

impl Samples {
    pub(super) fn of(
        mut x: Vec<(u64, f64)>,
        mut y: Vec<(u64, f64)>,
        common_streams: bool,
    ) -> Samples {
        x.sort_by_key(|(s, _)| *s);
        y.sort_by_key(|(s, _)| *s);
        let same_seeds = x.iter().map(|(s, _)| s).eq(y.iter().map(|(s, _)| s));
        let (xs, ys) = (x.into_iter().map(|(_, v)| v), y.into_iter().map(|(_, v)| v));
        if common_streams && same_seeds {
            Samples::Paired(xs.collect(), ys.collect())
        } else {
            Samples::Independent(xs.collect(), ys.collect())
        }
    }

    fn sides(&self) -> (&[f64], &[f64]) {
        match self {
            Samples::Paired(x, y) | Samples::Independent(x, y) => (x, y),
        }
    }

    /// The paired or two-sample bootstrap test of `mean(variant) − mean(baseline)`.
    fn test(&self, rc: &crate::config::ReportConfig, seed: u64) -> stats::DiffTest {
        let (n, c) = (rc.resamples, rc.confidence);
        match self {
            Samples::Paired(x, y) => {
                stats::paired_bootstrap_diff_test(x, y, &stats::mean, n, c, seed)
            }
            Samples::Independent(x, y) => {
                stats::bootstrap_diff_test(x, y, &stats::mean, n, c, seed)
            }
        }
    }
}

fn signed(v: f64) -> String {
    if v.is_finite() && v >= 0.0 {
        format!("+{}", fmt_num(v, 2))
    } else {
        fmt_num(v, 2)
    }
}

/// One Δ cell of the table: a metric of a variant against the baseline.
pub(super) struct Cell {
    pub(super) variant_mean: f64,
    pub(super) baseline_mean: f64,
    pub(super) test: stats::DiffTest,
    /// Runs paired by seed (paired bootstrap) rather than two independent samples.
    pub(super) paired: bool,
    pub(super) higher_is_better: bool,
    /// The test counts in the multiplicity family (enough runs, the claim applies).
    pub(super) tested: bool,
    /// The verdict from the raw interval (or why there is none).
    pub(super) raw: String,
    /// Holm-adjusted p-value (NaN when not tested).
    pub(super) adjusted_p: f64,
    /// The verdict after the Holm correction.
    pub(super) corrected: String,
}

impl Cell {
    pub(super) fn test(
        m: &Metric,
        samples: &Samples,
        rc: &crate::config::ReportConfig,
        seed: u64,
    ) -> Cell {
        let test = samples.test(rc, seed);
        let (x, y) = samples.sides();
        let underpowered = x.len() < MIN_RUNS_FOR_VERDICT || y.len() < MIN_RUNS_FOR_VERDICT;
        // A claim to reduce over-estimation needs both sides to over-estimate: lowering an
        // under-estimate, or trading over- for under-estimation, is no evidence for it.
        // (Written so that a NaN mean, no data, also counts.)
        let over = |v: &[f64]| stats::mean(v) > 0.0;
        let untestable = m.needs_positive_baseline && (!over(y) || !over(x));
        let raw = if untestable {
            let who = if over(y) {
                "the variant"
            } else {
                "the baseline"
            };
            format!("untestable ({who} under-estimates)")
        } else if underpowered {
            format!("{} (too few runs)", Verdict::Inconclusive)
        } else {
            stats::verdict(test.interval, m.higher_is_better).to_string()
        };
        Cell {
            variant_mean: stats::mean(x),
            baseline_mean: stats::mean(y),
            test,
            paired: matches!(samples, Samples::Paired(..)),
            higher_is_better: m.higher_is_better,
            tested: !untestable && !underpowered && test.p.is_finite(),
            corrected: raw.clone(),
            raw,
            adjusted_p: f64::NAN,
        }
    }

    pub(super) fn levels(&self) -> String {
        format!(
            "{} vs {}",
            fmt_num(self.variant_mean, 2),
            fmt_num(self.baseline_mean, 2)
        )
    }

    /// The Δ cell; marked when its runs could not be paired while its column's are.
    pub(super) fn difference(&self, column_paired: bool) -> String {
        let d = self.test.interval;
        let mut text = format!(
            "{} [{}, {}] {}",
            signed(d.point),
            signed(d.lo),
            signed(d.hi),
            self.raw
        );
        if column_paired && !self.paired {
            text.push_str(" (unpaired: the seeds with a value differ)");
        }
        if self.tested {
            text.push_str(&format!(
                " (p {}; Holm p {}: {})",
                fmt_p(self.test.p),
                fmt_p(self.adjusted_p),
                self.corrected
            ));
        }
        text
    }
}

fn fmt_p(p: f64) -> String {
    if p < 0.001 {
        "< 0.001".into()
    } else {
        format!("{p:.3}")
    }
}

/// Holm–Bonferroni over every tested cell: a cell keeps a direction (supported / not
/// supported) only if its adjusted p-value is at most `alpha`. Returns the family size.
pub(super) fn holm_correct(cells: &mut [Vec<Cell>], alpha: f64) -> usize {
    let mut tested: Vec<&mut Cell> = cells.iter_mut().flatten().filter(|c| c.tested).collect();
    let p: Vec<f64> = tested.iter().map(|c| c.test.p).collect();
    for (c, adj) in tested.iter_mut().zip(stats::holm_adjust(&p)) {
        c.adjusted_p = adj;
        let better = (c.test.interval.point > 0.0) == c.higher_is_better;
        c.corrected = if adj > alpha {
            Verdict::Inconclusive
        } else if better {
            Verdict::Supported
        } else {
            Verdict::NotSupported
        }
        .to_string();
    }
    p.len()
}
