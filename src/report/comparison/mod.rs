//! The chapter's comparison table with measured numbers (`comparison.md`): the chapter's
//! claims ([`claims`]) tested cell by cell ([`cells`]). The charts that compare grid points are
//! in [`super::figures`].
//!
//! Each variant is compared with the baseline variant (plain DQN by default) at the same values
//! of the other swept keys. A claimed effect is *supported* when the 95% bootstrap interval of
//! the difference lies entirely on the claimed side of zero, *not supported* when entirely on
//! the other side, and *inconclusive* otherwise; the verdicts of one table are also corrected
//! for multiplicity (Holm–Bonferroni over all its tested cells).

mod cells;
mod claims;

use super::{fmt_num, label_seed, ReportError};
use crate::config::{Experiment, RandomStreams};
use crate::stats;
use cells::{holm_correct, point_values, seeded_values, Cell, Samples};
use claims::{claims, Claim, Metric, METRICS};
use polars::prelude::*;

/// Fewer successful runs than this on either side: no verdict (a percentile bootstrap of
/// 2 against 2 runs excludes 0 far more often than its nominal level).
pub const MIN_RUNS_FOR_VERDICT: usize = 5;

/// The comparison table, computed once from the per-run table: `comparison.md` and the HTML
/// page are views of it. Cells are Markdown inline text (verdict words, `code`, **bold**).
#[derive(Debug, Clone)]
pub struct ComparisonTable {
    pub title: String,
    /// What the cells mean and how they were tested (one paragraph).
    pub intro: String,
    /// One column per variant grid point compared with its baseline.
    pub columns: Vec<String>,
    pub rows: Vec<ComparisonRow>,
    /// How the over-estimation and collapse rows are measured (one paragraph).
    pub notes: String,
}

/// One row of [`ComparisonTable`]: its name and one cell per column.
#[derive(Debug, Clone)]
pub struct ComparisonRow {
    pub name: String,
    pub cells: Vec<String>,
}

impl ComparisonTable {
    /// The table, when the experiment sweeps `agent.variant` and includes the baseline.
    pub fn build(exp: &Experiment, per_run: &DataFrame) -> Result<Option<Self>, ReportError> {
        let Some(t) = Table::new(exp, per_run) else {
            return Ok(None);
        };
        let mut rows = t.claim_rows();
        let column_paired = t.runs_and_design(&mut rows)?;
        let metrics = t.metrics();
        // cells[m][pair], then Holm over every tested cell of the table.
        let mut cells = t.cells(&metrics)?;
        let family = holm_correct(&mut cells, 1.0 - exp.report.confidence);
        rows.extend(t.metric_rows(&metrics, &cells, &column_paired));
        rows.extend(t.final_return_rows()?);
        rows.push(t.verdict_row(&metrics, &cells, family));
        Ok(Some(ComparisonTable {
            title: format!("{}: the chapter's comparison table, measured", exp.name),
            intro: t.intro(),
            columns: t.columns(),
            rows,
            notes: t.notes(),
        }))
    }

    /// `comparison.md`.
    pub fn markdown(&self) -> String {
        let mut md = format!(
            "# {}\n\n{}\n\n| | {} |\n|---|{}\n",
            self.title,
            self.intro,
            self.columns.join(" | "),
            "---|".repeat(self.columns.len())
        );
        for r in &self.rows {
            md.push_str(&format!("| {} | {} |\n", r.name, r.cells.join(" | ")));
        }
        md.push_str(&format!("\n{}\n", self.notes));
        md
    }
}

/// A point's variant as its grid value is written, before `nstep` becomes `n_step` (so that
/// `"dqn+nstep"` is not the baseline `"dqn"`); the resolved variant when it is not swept.
fn written_variant(exp: &Experiment, p: usize) -> crate::config::Variant {
    let point = &exp.points[p];
    point
        .values
        .iter()
        .find(|(k, _)| k == "variant")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(point.agent.variant)
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
            .filter(|&p| written_variant(exp, p) != base)
            .filter_map(|p| {
                (0..exp.points.len())
                    .find(|&b| written_variant(exp, b) == base && others(b) == others(p))
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

    /// The claims of what point `p`'s variant adds to the baseline.
    fn claims(&self, p: usize) -> Vec<&'static Claim> {
        claims(
            written_variant(self.exp, p),
            self.exp.report.baseline_variant,
        )
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
        format!(
            "Each column compares a variant with `{base}` over {} seeds each. Cells under \
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
             from `run_scores.csv`.",
            exp.seeds.len(),
            rc.resamples
        )
    }

    /// The column headers: each compared variant's grid point.
    fn columns(&self) -> Vec<String> {
        self.pairs
            .iter()
            .map(|(p, _)| self.exp.points[*p].label.clone())
            .collect()
    }

    /// The chapter's qualitative rows: purpose, what changes, math point, claimed effect.
    fn claim_rows(&self) -> Vec<ComparisonRow> {
        let qual = |f: fn(&Claim) -> &'static str| -> Vec<String> {
            self.pairs
                .iter()
                .map(|(p, _)| {
                    let c = self.claims(*p);
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
        .into()
    }

    /// The runs on each side and whether they pair up; returns each column's pairing.
    fn runs_and_design(&self, rows: &mut Vec<ComparisonRow>) -> PolarsResult<Vec<bool>> {
        rows.push(row(
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
        rows.push(row(
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

    fn metric_rows(
        &self,
        metrics: &[&Metric],
        cells: &[Vec<Cell>],
        paired: &[bool],
    ) -> Vec<ComparisonRow> {
        let base = self.exp.report.baseline_variant;
        let mut rows = Vec::new();
        for (m, row_cells) in metrics.iter().zip(cells) {
            let better = if m.higher_is_better {
                "higher is better"
            } else {
                "lower is better"
            };
            rows.push(row(
                &format!("{} ({better}): variant vs {base}", self.name(m.row)),
                row_cells.iter().map(Cell::levels).collect(),
            ));
            rows.push(row(
                &format!("Δ {} vs {base}", self.name(m.row)),
                row_cells
                    .iter()
                    .zip(paired)
                    .map(|(c, &paired)| c.difference(paired))
                    .collect(),
            ));
        }
        rows
    }

    /// Spread across seeds, probability of improvement and speed.
    fn final_return_rows(&self) -> PolarsResult<Vec<ComparisonRow>> {
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
        .into())
    }

    /// The verdict on each claimed effect, from the metrics the claim is about.
    fn verdict_row(
        &self,
        metrics: &[&Metric],
        cells: &[Vec<Cell>],
        family: usize,
    ) -> ComparisonRow {
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
                    self.claims(*p)
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
            "Notes: every `q_probe_interval` episodes the current network is rolled out greedily \
             without the time limit; its predicted Q(s, a) on the first `time_limit` states (200 on \
             CartPole-v0, 500 on v1, 1000 for envs without a time limit) is compared with the \
             discounted return actually obtained from them. A run's over-estimation (predicted − \
             actual; negative is under-estimation) and Q error (mean absolute difference per \
             state) are the means over its probes in the last {} episodes. A claim to reduce \
             over-estimation is **untestable** when the baseline or the variant under-estimates. \
             {} Variant combinations inherit the claims of each of their parts.",
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

/// One row of the table.
fn row(name: &str, cells: Vec<String>) -> ComparisonRow {
    ComparisonRow {
        name: name.to_owned(),
        cells,
    }
}

fn short(row: &str) -> String {
    row.split(" (").next().unwrap_or(row).to_owned()
}
