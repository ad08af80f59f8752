//! The report's tables, built with polars: `runs.csv` (every episode), `run_scores.csv` (one
//! row per run) and `summary.csv` (one row per grid point).

use super::label_seed;
use super::normalize;
use super::scores::RunScores;
use crate::config::{Experiment, ReportConfig};
use crate::stats::{self, Interval};
use crate::store;
use crate::sweep::RunResult;
use polars::prelude::*;

/// `runs.csv`: every episode of every run, long format, with the run's grid point and seed.
pub fn runs_frame(exp: &Experiment, results: &[RunResult]) -> PolarsResult<DataFrame> {
    let mut all: Option<DataFrame> = None;
    for r in results {
        let mut df = store::episodes_frame(&r.run.episodes)?;
        let h = df.height();
        let point = &exp.points[r.point];
        let mut front = vec![
            Column::new("grid_point".into(), vec![point.label.as_str(); h]),
            Column::new("seed".into(), vec![r.run.config.seed; h]),
        ];
        for (k, v) in &point.values {
            front.push(Column::new(k.as_str().into(), vec![v.as_str(); h]));
        }
        for (i, c) in front.into_iter().enumerate() {
            df.insert_column(i, c)?;
        }
        match &mut all {
            None => all = Some(df),
            Some(a) => {
                a.vstack_mut_owned(df)?;
            }
        }
    }
    match all {
        Some(mut df) => {
            df.rechunk_mut();
            Ok(df)
        }
        None => Ok(DataFrame::empty()),
    }
}

fn opt(v: Option<usize>) -> f64 {
    v.map_or(f64::NAN, |v| v as f64)
}

/// `run_scores.csv`: one row per run with all its measurements.
pub fn run_scores_frame(
    exp: &Experiment,
    scores: &[RunScores],
    norms: &[normalize::Normalizer],
) -> PolarsResult<DataFrame> {
    let f = |g: fn(&RunScores) -> f64| scores.iter().map(g).collect::<Vec<f64>>();
    // By the stated reference where `[report.normalize]` gives one, else by the env's range.
    let normalized = |s: &RunScores| {
        let env = &exp.points[s.point].env;
        match normalize::find(norms, &env.id.to_string()) {
            Some(n) => n.apply(s.final_return),
            None => {
                let (lo, hi) = env.id.return_bounds().unwrap_or((0.0, f64::NAN));
                stats::normalize(s.final_return, lo, hi)
            }
        }
    };
    df!(
        "grid_point" => scores.iter().map(|s| exp.points[s.point].label.clone()).collect::<Vec<_>>(),
        "variant" => scores.iter().map(|s| exp.points[s.point].agent.variant.to_string()).collect::<Vec<_>>(),
        "seed" => scores.iter().map(|s| s.seed).collect::<Vec<u64>>(),
        "ok" => scores.iter().map(|s| s.ok).collect::<Vec<bool>>(),
        "final_return" => f(|s| s.final_return),
        "final_normalized" => scores.iter().map(normalized).collect::<Vec<f64>>(),
        "eval_return" => f(|s| s.eval_return),
        "auc" => f(|s| s.auc),
        "episodes_to_solve" => f(|s| opt(s.episodes_to_solve)),
        "episodes_to_threshold_ma20" => f(|s| opt(s.episodes_to_threshold_ma20)),
        "collapsed" => f(|s| s.collapsed.map_or(f64::NAN, |c| if c { 1.0 } else { 0.0 })),
        "reached_threshold" => f(|s| s.reached_threshold.map_or(f64::NAN, |c| if c { 1.0 } else { 0.0 })),
        "overestimation" => f(|s| s.overestimation),
        "q_abs_error" => f(|s| s.q_abs_error),
        "final_mean_max_q" => f(|s| s.final_mean_max_q),
        "env_steps" => scores.iter().map(|s| s.env_steps).collect::<Vec<u64>>(),
        "wall_s" => f(|s| s.wall_s),
        "steps_per_s" => f(|s| s.steps_per_s),
    )
}

/// Finite values of a float column.
pub(crate) fn finite(df: &DataFrame, name: &str) -> PolarsResult<Vec<f64>> {
    Ok(df
        .column(name)?
        .cast(&DataType::Float64)?
        .f64()?
        .iter()
        .flatten()
        .filter(|v| v.is_finite())
        .collect())
}

/// Every value of `column` (one per run), NaN as "never happened".
fn censored(df: &DataFrame, name: &str) -> PolarsResult<Vec<Option<f64>>> {
    Ok(df
        .column(name)?
        .cast(&DataType::Float64)?
        .f64()?
        .iter()
        .map(|v| v.filter(|x| x.is_finite()))
        .collect())
}

/// `summary.csv`: one row per grid point (in grid order), aggregated over its successful runs.
pub fn summary_frame(per_run: &DataFrame, rc: &ReportConfig) -> PolarsResult<DataFrame> {
    let ok = per_run.filter(per_run.column("ok")?.bool()?)?;
    let mut rows: Vec<(String, SummaryRow)> = Vec::new();
    // Grid points in order of first appearance (including points whose runs all failed).
    let labels: Vec<String> = {
        let mut seen = Vec::new();
        for l in per_run.column("grid_point")?.str()?.iter().flatten() {
            if !seen.iter().any(|s: &String| s == l) {
                seen.push(l.to_owned());
            }
        }
        seen
    };
    let groups = ok.partition_by_stable(["grid_point"], true)?;
    for label in labels {
        let total = per_run
            .column("grid_point")?
            .str()?
            .iter()
            .filter(|l| *l == Some(label.as_str()))
            .count();
        let g = groups.iter().find(|g| {
            g.column("grid_point")
                .ok()
                .and_then(|c| c.str().ok().and_then(|s| s.get(0).map(|v| v == label)))
                .unwrap_or(false)
        });
        let row = match g {
            Some(g) => SummaryRow::of(g, total, rc, &label)?,
            None => SummaryRow::empty(total),
        };
        rows.push((label, row));
    }
    let col = |f: fn(&SummaryRow) -> f64| rows.iter().map(|(_, r)| f(r)).collect::<Vec<f64>>();
    df!(
        "grid_point" => rows.iter().map(|(l, _)| l.clone()).collect::<Vec<_>>(),
        "runs" => rows.iter().map(|(_, r)| r.runs).collect::<Vec<u32>>(),
        "failed" => rows.iter().map(|(_, r)| r.failed).collect::<Vec<u32>>(),
        "final_mean" => col(|r| r.final_mean),
        "final_median" => col(|r| r.final_median),
        "final_iqm" => col(|r| r.final_iqm.point),
        "final_iqm_lo" => col(|r| r.final_iqm.lo),
        "final_iqm_hi" => col(|r| r.final_iqm.hi),
        "final_iqm_normalized" => col(|r| r.normalized_iqm),
        "optimality_gap" => col(|r| r.optimality_gap),
        "eval_mean" => col(|r| r.eval_mean),
        "solved_runs" => rows.iter().map(|(_, r)| r.solved).collect::<Vec<u32>>(),
        "episodes_to_solve_median" => col(|r| r.to_solve_median),
        "episodes_to_threshold_ma20_median" => col(|r| r.to_ma20_median),
        "auc_mean" => col(|r| r.auc_mean),
        "reached_threshold_rate" => col(|r| r.reached_rate),
        "collapse_rate" => col(|r| r.collapse_rate),
        "final_std_across_seeds" => col(|r| r.final_std),
        "overestimation_mean" => col(|r| r.overestimation),
        "env_steps_mean" => col(|r| r.steps_mean),
        "wall_s_mean" => col(|r| r.wall_mean),
        "steps_per_s_mean" => col(|r| r.sps_mean),
    )
}

struct SummaryRow {
    runs: u32,
    failed: u32,
    final_mean: f64,
    final_median: f64,
    final_iqm: Interval,
    /// IQM of normalised final returns (stated reference, else the env's range 0..max).
    normalized_iqm: f64,
    /// rliable's optimality gap of the normalised final returns (target 1).
    optimality_gap: f64,
    final_std: f64,
    eval_mean: f64,
    solved: u32,
    to_solve_median: f64,
    to_ma20_median: f64,
    auc_mean: f64,
    /// Share of all runs whose 20-episode average reached the threshold.
    reached_rate: f64,
    /// Share of all runs that reached it and later fell below the floor.
    collapse_rate: f64,
    overestimation: f64,
    steps_mean: f64,
    wall_mean: f64,
    sps_mean: f64,
}

impl SummaryRow {
    fn of(g: &DataFrame, total: usize, rc: &ReportConfig, label: &str) -> PolarsResult<SummaryRow> {
        let fin = finite(g, "final_return")?;
        let normalized = finite(g, "final_normalized")?;
        let to_solve = finite(g, "episodes_to_solve")?;
        Ok(SummaryRow {
            runs: g.height() as u32,
            failed: (total - g.height()) as u32,
            final_mean: stats::mean(&fin),
            final_median: stats::median(&fin),
            final_iqm: stats::bootstrap_ci(
                &[&fin],
                &stats::iqm,
                rc.resamples,
                rc.confidence,
                label_seed(label),
            ),
            normalized_iqm: stats::iqm(&normalized),
            optimality_gap: stats::optimality_gap(&normalized, 1.0),
            final_std: stats::std_dev(&fin),
            eval_mean: stats::mean(&finite(g, "eval_return")?),
            solved: to_solve.len() as u32,
            // Over all runs, the ones that never got there counting as "not yet".
            to_solve_median: stats::censored_median(&censored(g, "episodes_to_solve")?),
            to_ma20_median: stats::censored_median(&censored(g, "episodes_to_threshold_ma20")?),
            auc_mean: stats::mean(&finite(g, "auc")?),
            reached_rate: stats::mean(&finite(g, "reached_threshold")?),
            collapse_rate: stats::mean(&finite(g, "collapsed")?),
            overestimation: stats::mean(&finite(g, "overestimation")?),
            steps_mean: stats::mean(&finite(g, "env_steps")?),
            wall_mean: stats::mean(&finite(g, "wall_s")?),
            sps_mean: stats::mean(&finite(g, "steps_per_s")?),
        })
    }

    fn empty(total: usize) -> SummaryRow {
        let nan = f64::NAN;
        SummaryRow {
            runs: 0,
            failed: total as u32,
            final_mean: nan,
            final_median: nan,
            final_iqm: Interval {
                point: nan,
                lo: nan,
                hi: nan,
            },
            normalized_iqm: nan,
            optimality_gap: nan,
            final_std: nan,
            eval_mean: nan,
            solved: 0,
            to_solve_median: nan,
            to_ma20_median: nan,
            auc_mean: nan,
            reached_rate: nan,
            collapse_rate: nan,
            overestimation: nan,
            steps_mean: nan,
            wall_mean: nan,
            sps_mean: nan,
        }
    }
}
