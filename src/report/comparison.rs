//! The chapter's comparison table with measured numbers (`comparison.md`), and the charts that
//! compare grid points: Q overestimation over training, final-return distributions and
//! performance profiles.
//!
//! Each variant is compared with the baseline variant (plain DQN by default) at the same values
//! of the other swept keys. A claimed effect is *supported* when the 95% bootstrap interval of
//! the difference lies entirely on the claimed side of zero, *not supported* when entirely on
//! the other side, and *inconclusive* otherwise; the verdicts of one table are also corrected
//! for multiplicity (Holm–Bonferroni over all its tested cells).

use super::charts::{self, Distribution, LineChart, Series};
use super::scores::RunScores;
use super::{curve_band, fmt_num, label_seed, ReportError};
use crate::config::{Experiment, RandomStreams, Variant};
use crate::stats::{self, Verdict};
use crate::store::ExperimentDir;
use crate::sweep::RunResult;
use polars::prelude::*;
use std::path::PathBuf;

/// Fewer successful runs than this on either side: no verdict (a percentile bootstrap of
/// 2 against 2 runs excludes 0 far more often than its nominal level).
pub const MIN_RUNS_FOR_VERDICT: usize = 5;

/// The chapter's qualitative rows for one improvement.
struct Claim {
    name: &'static str,
    purpose: &'static str,
    what_changes: &'static str,
    math_point: &'static str,
    claimed_effect: &'static str,
}

const DOUBLE: Claim = Claim {
    name: "Double DQN",
    purpose: "prevent Q overestimation",
    what_changes: "how the target Q is computed (select vs evaluate)",
    math_point: "max → argmax split",
    claimed_effect: "more stable learning",
};
const PER: Claim = Claim {
    name: "PER",
    purpose: "learn important experience first",
    what_changes: "the probability of sampling each experience",
    math_point: "TD-error-based sampling",
    claimed_effect: "faster, more efficient convergence",
};
const DUELING: Claim = Claim {
    name: "Dueling DQN",
    purpose: "split Q into value and advantage",
    what_changes: "the structure of the Q-function itself",
    math_point: "Q = V + A",
    claimed_effect: "more precise Q approximation, faster learning",
};

fn claims(v: Variant) -> Vec<&'static Claim> {
    let mut c = Vec::new();
    if v.double {
        c.push(&DOUBLE);
    }
    if v.per {
        c.push(&PER);
    }
    if v.dueling {
        c.push(&DUELING);
    }
    c
}

/// A measured quantity compared between a variant and the baseline.
struct Metric {
    row: &'static str,
    higher_is_better: bool,
    /// Column of `run_scores.csv` (one value per run).
    column: &'static str,
    /// Which improvements claim this metric improves (for the verdict row).
    claimed_by: &'static [&'static str],
    /// The claim is about reducing *over*-estimation: untestable when the baseline does not
    /// over-estimate (its mean bias is ≤ 0), since pushing an under-estimate further down is
    /// not an improvement.
    needs_positive_baseline: bool,
}

const METRICS: &[Metric] = &[
    Metric {
        row: "final return (mean of last {final_window} episodes)",
        higher_is_better: true,
        column: "final_return",
        claimed_by: &[],
        needs_positive_baseline: false,
    },
    Metric {
        row: "greedy evaluation return",
        higher_is_better: true,
        column: "eval_return",
        claimed_by: &[],
        needs_positive_baseline: false,
    },
    Metric {
        row: "Q overestimation (predicted Q − Monte-Carlo return)",
        higher_is_better: false,
        column: "overestimation",
        claimed_by: &["Double DQN"],
        needs_positive_baseline: true,
    },
    Metric {
        row: "Q error (mean absolute difference of predicted Q and Monte-Carlo return)",
        higher_is_better: false,
        column: "q_abs_error",
        claimed_by: &["Dueling DQN"],
        needs_positive_baseline: false,
    },
    Metric {
        row: "area under the learning curve (mean return, all episodes)",
        higher_is_better: true,
        column: "auc",
        claimed_by: &["PER", "Dueling DQN"],
        needs_positive_baseline: false,
    },
    Metric {
        row:
            "collapse rate (share of all runs: 20-ep average reached {threshold}, later < {floor})",
        higher_is_better: false,
        column: "collapsed",
        claimed_by: &["Double DQN"],
        needs_positive_baseline: false,
    },
];

/// Finite values of `column` over the successful runs of one grid point, selected with polars
/// from the per-run table.
fn point_values(per_run: &DataFrame, label: &str, column: &str) -> PolarsResult<Vec<f64>> {
    let mask =
        per_run.column("grid_point")?.str()?.equal(label) & per_run.column("ok")?.bool()?.clone();
    super::finite(&per_run.filter(&mask)?, column)
}

/// `(seed, value)` of the successful runs of one grid point with a finite `column`.
fn seeded_values(per_run: &DataFrame, label: &str, column: &str) -> PolarsResult<Vec<(u64, f64)>> {
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
enum Samples {
    /// `(variant, baseline)` at the same seeds, in seed order: both grid points draw common
    /// random numbers and every seed has a value on both sides.
    Paired(Vec<f64>, Vec<f64>),
    /// Unrelated runs (independent streams, or the seeds with a value differ).
    Independent(Vec<f64>, Vec<f64>),
}

impl Samples {
    fn of(mut x: Vec<(u64, f64)>, mut y: Vec<(u64, f64)>, common_streams: bool) -> Samples {
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

/// The same from the in-memory scores (for charts).
fn finite(scores: &[&RunScores], f: fn(&RunScores) -> f64) -> Vec<f64> {
    scores
        .iter()
        .map(|s| f(s))
        .filter(|v| v.is_finite())
        .collect()
}

fn signed(v: f64) -> String {
    if v.is_finite() && v >= 0.0 {
        format!("+{}", fmt_num(v, 2))
    } else {
        fmt_num(v, 2)
    }
}

/// One Δ cell of the table: a metric of a variant against the baseline.
struct Cell {
    variant_mean: f64,
    baseline_mean: f64,
    test: stats::DiffTest,
    /// Runs paired by seed (paired bootstrap) rather than two independent samples.
    paired: bool,
    higher_is_better: bool,
    /// The test counts in the multiplicity family (enough runs, the claim applies).
    tested: bool,
    /// The verdict from the raw interval (or why there is none).
    raw: String,
    /// Holm-adjusted p-value (NaN when not tested).
    adjusted_p: f64,
    /// The verdict after the Holm correction.
    corrected: String,
}

impl Cell {
    fn test(m: &Metric, samples: &Samples, rc: &crate::config::ReportConfig, seed: u64) -> Cell {
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

    fn levels(&self) -> String {
        format!(
            "{} vs {}",
            fmt_num(self.variant_mean, 2),
            fmt_num(self.baseline_mean, 2)
        )
    }

    /// The Δ cell; marked when its runs could not be paired while its column's are.
    fn difference(&self, column_paired: bool) -> String {
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
fn holm_correct(cells: &mut [Vec<Cell>], alpha: f64) -> usize {
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

/// `comparison.md`, when the experiment sweeps `agent.variant` and includes the baseline.
pub fn comparison_markdown(
    exp: &Experiment,
    per_run: &DataFrame,
) -> Result<Option<String>, ReportError> {
    let Some(t) = Table::new(exp, per_run) else {
        return Ok(None);
    };
    let mut md = t.intro();
    md.push_str(&t.claim_rows());
    let column_paired = t.runs_and_design(&mut md)?;
    let metrics = t.metrics();
    // cells[m][pair], then Holm over every tested cell of the table.
    let mut cells = t.cells(&metrics)?;
    let family = holm_correct(&mut cells, 1.0 - exp.report.confidence);
    md.push_str(&t.metric_rows(&metrics, &cells, &column_paired));
    md.push_str(&t.final_return_rows()?);
    md.push_str(&t.verdict_row(&metrics, &cells, family));
    md.push_str(&t.notes());
    Ok(Some(md))
}

/// The comparison table being built: each variant's grid point against the baseline's.
struct Table<'a> {
    exp: &'a Experiment,
    per_run: &'a DataFrame,
    /// (variant point, baseline point) at equal values of the other swept keys.
    pairs: Vec<(usize, usize)>,
    /// The solved threshold (NaN without one).
    threshold: f64,
}

impl<'a> Table<'a> {
    fn new(exp: &'a Experiment, per_run: &'a DataFrame) -> Option<Table<'a>> {
        let base = exp.report.baseline_variant;
        let others = |p: usize| -> Vec<(String, String)> {
            exp.points[p]
                .values
                .iter()
                .filter(|(k, _)| k != "variant")
                .cloned()
                .collect()
        };
        let pairs: Vec<(usize, usize)> = (0..exp.points.len())
            .filter(|&p| exp.points[p].agent.variant != base)
            .filter_map(|p| {
                (0..exp.points.len())
                    .find(|&b| exp.points[b].agent.variant == base && others(b) == others(p))
                    .map(|b| (p, b))
            })
            .collect();
        if pairs.is_empty() || !exp.swept.iter().any(|k| k == "agent.variant") {
            return None;
        }
        let threshold = exp.points.first().map_or(f64::NAN, |p| {
            super::scores::threshold_for(&exp.report, &p.env)
        });
        Some(Table {
            exp,
            per_run,
            pairs,
            threshold,
        })
    }

    fn values(&self, p: usize, column: &str) -> PolarsResult<Vec<f64>> {
        point_values(self.per_run, &self.exp.points[p].label, column)
    }

    /// A variant's and its baseline's values of `column`, paired by seed when both draw
    /// common random numbers.
    fn samples(&self, (p, b): (usize, usize), column: &str) -> PolarsResult<Samples> {
        let points = &self.exp.points;
        let common = [p, b]
            .iter()
            .all(|&i| points[i].train.random_streams == RandomStreams::Paired);
        Ok(Samples::of(
            seeded_values(self.per_run, &points[p].label, column)?,
            seeded_values(self.per_run, &points[b].label, column)?,
            common,
        ))
    }

    /// One cell per column, from `(variant point, baseline point)`.
    fn per_pair<T>(&self, f: impl Fn(usize, usize) -> PolarsResult<T>) -> PolarsResult<Vec<T>> {
        self.pairs.iter().map(|&(p, b)| f(p, b)).collect()
    }

    /// The metric's row name with the report's numbers filled in.
    fn name(&self, row: &str) -> String {
        let rc = &self.exp.report;
        row.replace("{final_window}", &rc.final_window.to_string())
            .replace("{threshold}", &fmt_num(self.threshold, 0))
            .replace("{floor}", &fmt_num(rc.collapse_floor, 0))
    }

    fn intro(&self) -> String {
        let (exp, rc) = (self.exp, &self.exp.report);
        let base = rc.baseline_variant;
        let pct = (rc.confidence * 100.0).round();
        let mut md = format!(
            "# {}: the chapter's comparison table, measured\n\n\
             Each column compares a variant with `{base}` over {} seeds each. Cells under \
             \"vs {base}\" give the difference (variant − {base}) of the per-run means \
             with a {pct}% bootstrap interval ({} resamples). Runs pair up by seed when both \
             sides draw common random numbers (`train.random_streams = \"paired\"`, the default: \
             at one seed every variant meets the same env seeds, resets, exploration and replay \
             draws, and variants of one network shape start from the same weights); a paired \
             cell resamples seeds with each pair kept together (the \"comparison design\" row \
             says which). Verdicts: **supported** when the \
             interval lies entirely on the better side of 0, **not supported** when entirely on \
             the worse side, **inconclusive** otherwise (always with fewer than \
             {MIN_RUNS_FOR_VERDICT} runs a side), **untestable** when the claim does not apply to \
             what was measured. In parentheses: the bootstrap p-value of no difference and its \
             Holm–Bonferroni adjustment, the family being every tested Δ cell of this table (all \
             rows and columns with enough runs and an applicable claim), and the verdict at that \
             adjusted level; the verdict row uses the corrected verdicts. Generated by `sweep` \
             from `run_scores.csv`.\n\n",
            exp.name,
            exp.seeds.len(),
            rc.resamples
        );
        let header: Vec<String> = self
            .pairs
            .iter()
            .map(|(p, _)| exp.points[*p].label.clone())
            .collect();
        md.push_str(&format!(
            "| | {} |\n|---|{}\n",
            header.join(" | "),
            "---|".repeat(self.pairs.len())
        ));
        md
    }

    /// The chapter's qualitative rows: purpose, what changes, math point, claimed effect.
    fn claim_rows(&self) -> String {
        let qual = |f: fn(&Claim) -> &'static str| -> Vec<String> {
            self.pairs
                .iter()
                .map(|(p, _)| {
                    let c = claims(self.exp.points[*p].agent.variant);
                    c.iter().map(|c| f(c)).collect::<Vec<_>>().join("; ")
                })
                .collect()
        };
        [
            row("purpose", qual(|c| c.purpose)),
            row("what changes", qual(|c| c.what_changes)),
            row("math point", qual(|c| c.math_point)),
            row("claimed effect", qual(|c| c.claimed_effect)),
        ]
        .concat()
    }

    /// The runs on each side and whether they pair up; returns each column's pairing.
    fn runs_and_design(&self, md: &mut String) -> PolarsResult<Vec<bool>> {
        md.push_str(&row(
            "runs (variant / baseline)",
            self.per_pair(|p, b| {
                Ok(format!(
                    "{} / {}",
                    self.values(p, "final_return")?.len(),
                    self.values(b, "final_return")?.len()
                ))
            })?,
        ));
        let designs = self.per_pair(|p, b| self.samples((p, b), "final_return"))?;
        md.push_str(&row(
            "comparison design",
            designs
                .iter()
                .map(|d| match d {
                    Samples::Paired(x, _) => format!("paired by seed ({} pairs)", x.len()),
                    Samples::Independent(..) => "independent samples".into(),
                })
                .collect(),
        ));
        Ok(designs
            .iter()
            .map(|d| matches!(d, Samples::Paired(..)))
            .collect())
    }

    /// The tested metrics; without a solved threshold (MinAtar) nothing collapses, so that
    /// row is left out.
    fn metrics(&self) -> Vec<&'static Metric> {
        METRICS
            .iter()
            .filter(|m| m.column != "collapsed" || self.threshold.is_finite())
            .collect()
    }

    fn cells(&self, metrics: &[&Metric]) -> PolarsResult<Vec<Vec<Cell>>> {
        metrics
            .iter()
            .map(|m| {
                self.per_pair(|p, b| {
                    let seed = label_seed(&format!("{}|{}", self.exp.points[p].label, m.row));
                    let samples = self.samples((p, b), m.column)?;
                    Ok(Cell::test(m, &samples, &self.exp.report, seed))
                })
            })
            .collect()
    }

    fn metric_rows(&self, metrics: &[&Metric], cells: &[Vec<Cell>], paired: &[bool]) -> String {
        let base = self.exp.report.baseline_variant;
        let mut md = String::new();
        for (m, row_cells) in metrics.iter().zip(cells) {
            let better = if m.higher_is_better {
                "higher is better"
            } else {
                "lower is better"
            };
            md.push_str(&row(
                &format!("{} ({better}): variant vs {base}", self.name(m.row)),
                row_cells.iter().map(Cell::levels).collect(),
            ));
            md.push_str(&row(
                &format!("Δ {} vs {base}", self.name(m.row)),
                row_cells
                    .iter()
                    .zip(paired)
                    .map(|(c, &paired)| c.difference(paired))
                    .collect(),
            ));
        }
        md
    }

    /// Spread across seeds, probability of improvement and speed.
    fn final_return_rows(&self) -> PolarsResult<String> {
        let rc = &self.exp.report;
        let base = rc.baseline_variant;
        let spread = self.per_pair(|p, b| {
            Ok(format!(
                "{} vs {}",
                fmt_num(stats::std_dev(&self.values(p, "final_return")?), 1),
                fmt_num(stats::std_dev(&self.values(b, "final_return")?), 1)
            ))
        })?;
        let improvement = self.per_pair(|p, b| {
            let (x, y) = (
                self.values(p, "final_return")?,
                self.values(b, "final_return")?,
            );
            let seed = label_seed(&format!("{}|poi", self.exp.points[p].label));
            let i = stats::probability_of_improvement_ci(&x, &y, rc.resamples, rc.confidence, seed);
            Ok(format!(
                "{} [{}, {}]",
                fmt_num(i.point, 2),
                fmt_num(i.lo, 2),
                fmt_num(i.hi, 2)
            ))
        })?;
        let speed = self.per_pair(|p, b| {
            Ok(format!(
                "{} vs {}",
                fmt_num(stats::mean(&self.values(p, "steps_per_s")?), 0),
                fmt_num(stats::mean(&self.values(b, "steps_per_s")?), 0)
            ))
        })?;
        Ok([
            row(
                "spread of final return across seeds (std): variant vs baseline",
                spread,
            ),
            row(&format!("P(variant > {base}) on final return"), improvement),
            row("env steps per second: variant vs baseline", speed),
        ]
        .concat())
    }

    /// The verdict on each claimed effect, from the metrics the claim is about.
    fn verdict_row(&self, metrics: &[&Metric], cells: &[Vec<Cell>], family: usize) -> String {
        let verdicts = |j: usize, c: &Claim| -> String {
            let parts: Vec<String> = metrics
                .iter()
                .enumerate()
                .filter(|(_, m)| m.claimed_by.contains(&c.name))
                .map(|(i, m)| format!("{}: {}", short(&self.name(m.row)), cells[i][j].corrected))
                .collect();
            format!("{} — {}", c.name, parts.join(", "))
        };
        row(
            &format!(
                "**verdict on the claims** (at {} seeds; Holm-corrected over the {family} tests \
                 of this table)",
                self.exp.seeds.len()
            ),
            self.pairs
                .iter()
                .enumerate()
                .map(|(j, (p, _))| {
                    claims(self.exp.points[*p].agent.variant)
                        .iter()
                        .map(|c| verdicts(j, c))
                        .collect::<Vec<_>>()
                        .join("; ")
                })
                .collect(),
        )
    }

    fn notes(&self) -> String {
        format!(
            "\nNotes: every `q_probe_interval` episodes the current network is rolled out greedily \
             without the time limit; its predicted Q(s, a) on the first `time_limit` states (200 on \
             CartPole-v0, 500 on v1, 1000 for envs without a time limit) is compared with the \
             discounted return actually obtained from them. A run's over-estimation (predicted − \
             actual; negative is under-estimation) and Q error (mean absolute difference per \
             state) are the means over its probes in the last {} episodes. A claim to reduce \
             over-estimation is **untestable** when the baseline or the variant under-estimates. \
             {} Variant combinations inherit the claims of each of their parts.\n",
            self.exp.report.final_window,
            if self.threshold.is_finite() {
                "The collapse rate is over all runs: a run that never reached the threshold did \
                 not collapse (summary.md gives the share that reached it beside the rate)."
            } else {
                "The environment has no solved threshold, so the collapse rate is not defined \
                 and not tested."
            }
        )
    }
}

/// One Markdown table row.
fn row(name: &str, cells: Vec<String>) -> String {
    format!("| {name} | {} |\n", cells.join(" | "))
}

fn short(row: &str) -> String {
    row.split(" (").next().unwrap_or(row).to_owned()
}

/// Charts comparing grid points (written for every experiment).
pub fn charts(
    exp: &Experiment,
    results: &[RunResult],
    scores: &[RunScores],
    dir: &ExperimentDir,
) -> Result<Vec<PathBuf>, ReportError> {
    let rc = &exp.report;
    let mut files = Vec::new();
    let ok =
        |p: usize| -> Vec<&RunScores> { scores.iter().filter(|s| s.point == p && s.ok).collect() };

    // Q overestimation over training: mean across seeds of (Q − G) at each probe episode.
    let mut over_series = Vec::new();
    for p in 0..exp.points.len() {
        let curves: Vec<(Vec<f64>, Vec<f64>)> = results
            .iter()
            .filter(|r| r.point == p && r.ok())
            .map(|r| {
                r.run
                    .episodes
                    .iter()
                    .filter(|e| e.q_pred.is_finite() || e.q_mc.is_finite())
                    .map(|e| (f64::from(e.episode + 1), e.q_pred - e.q_mc))
                    .unzip()
            })
            .collect();
        if let Some((x, _)) = curves.first() {
            let ys: Vec<&[f64]> = curves.iter().map(|(_, y)| y.as_slice()).collect();
            let mut s = curve_band(&ys, exp.points[p].label.clone(), 1);
            s.x = x.clone();
            over_series.push(s);
        }
    }
    files.extend(charts::line_chart(
        &LineChart {
            title: format!("{}: Q over-estimation of the greedy policy", exp.name),
            x_label: "Episode".into(),
            y_label: "Predicted Q − actual return (mean; IQR)".into(),
            series: over_series,
            hlines: vec![(0.0, "no bias".into())],
            y_range: None,
        },
        &dir.file("q_overestimation"),
    )?);

    // Final-return distribution with the IQM and its bootstrap interval.
    let groups: Vec<Distribution> = (0..exp.points.len())
        .map(|p| {
            let values = finite(&ok(p), |s| s.final_return);
            let i = stats::bootstrap_ci(
                &[&values],
                &stats::iqm,
                rc.resamples,
                rc.confidence,
                label_seed(&exp.points[p].label),
            );
            Distribution {
                label: exp.points[p].label.clone(),
                interval: i.lo.is_finite().then_some((i.lo, i.point, i.hi)),
                values,
            }
        })
        .collect();
    files.extend(charts::distribution_chart_ext(
        &charts::DistributionChart {
            title: format!("{}: final return per run", exp.name),
            y_label: format!("Mean return, last {} episodes", rc.final_window),
            groups,
            interval_label: Some(format!("IQM ({:.0}% bootstrap CI)", rc.confidence * 100.0)),
            hlines: super::solved_line(exp),
            y_range: None,
        },
        &dir.file("final_return_distribution"),
    )?);

    // Performance profiles (Agarwal et al. 2021): fraction of runs with final return > τ.
    // Up to the env's largest return, or the best final return seen (unbounded envs).
    let best = scores
        .iter()
        .map(|s| s.final_return)
        .filter(|x| x.is_finite())
        .fold(1.0, f64::max);
    let max = exp
        .points
        .first()
        .and_then(|p| p.env.id.max_return())
        .unwrap_or(best);
    let taus = stats::linspace(0.0, max, 101);
    let profiles: Vec<Series> = (0..exp.points.len())
        .map(|p| {
            let values = finite(&ok(p), |s| s.final_return);
            let ci = stats::performance_profile_ci(
                &[&values],
                &taus,
                rc.resamples,
                rc.confidence,
                label_seed(&exp.points[p].label),
            );
            Series {
                label: exp.points[p].label.clone(),
                x: taus.clone(),
                y: stats::performance_profile(&values, &taus),
                band: Some((
                    ci.iter().map(|i| i.lo).collect(),
                    ci.iter().map(|i| i.hi).collect(),
                )),
            }
        })
        .collect();
    files.extend(charts::line_chart(
        &LineChart {
            title: format!("{}: performance profile", exp.name),
            x_label: format!("Final return τ (mean of last {} episodes)", rc.final_window),
            y_label: format!("Fraction of runs > τ ({:.0}% CI)", rc.confidence * 100.0),
            series: profiles,
            hlines: vec![],
            y_range: Some((0.0, 1.0)),
        },
        &dir.file("performance_profile"),
    )?);
    Ok(files)
}
