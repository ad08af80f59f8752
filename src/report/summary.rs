//! `summary.md`: the summary table, what its columns mean, and the failed runs.

use super::normalize::Normalizer;
use super::scores::{self, RunScores};
use super::{across, fmt_num, markdown_table, ReportModel};
use crate::config::Experiment;
use polars::prelude::*;

/// `summary.md` from the summary table (`summary.csv`) and the runs' scores.
pub(super) fn markdown(model: &ReportModel) -> PolarsResult<String> {
    let (exp, norms, summary) = (model.exp, &model.norms, &model.summary);
    let mut md = format!("# {} — summary\n\n", exp.name);
    if !exp.description.is_empty() {
        md.push_str(&format!("{}\n\n", exp.description));
    }
    md.push_str(&columns(exp, norms));
    md.push_str(&markdown_table(summary)?);
    if let Some(note) = across::missing_references(exp, norms) {
        md.push_str(&format!("\n{note}\n"));
    }
    md.push_str(&failed_runs(exp, &model.scores));
    Ok(md)
}

/// The paragraph above the table: the grid, and what final, IQM, solved and normalized mean.
pub(super) fn columns(exp: &Experiment, norms: &[Normalizer]) -> String {
    let rc = &exp.report;
    format!(
        "{} grid point(s) × {} seed(s); final = mean return of the last {} episodes; \
         IQM with a {:.0}% bootstrap interval ({} resamples); {}; normalized = {}.\n\n",
        exp.points.len(),
        exp.seeds.len(),
        rc.final_window,
        rc.confidence * 100.0,
        rc.resamples,
        solved(exp),
        if norms.is_empty() {
            "final / the env's largest return (– without one)"
        } else {
            "(final − random) / (reference − random) as `[report.normalize]` states (across_envs.md)"
        },
    )
}

/// What solved, reached and collapse mean, at the grid points' thresholds.
fn solved(exp: &Experiment) -> String {
    let rc = &exp.report;
    let thresholds: Vec<String> = {
        let mut t: Vec<String> = exp
            .points
            .iter()
            .map(|p| fmt_num(scores::threshold_for(rc, &p.env), 0))
            .collect();
        t.dedup();
        t
    };
    if thresholds.iter().all(|t| t == "–") {
        "solved and collapse: not defined (the environment has no solved threshold; set \
         `[report] solved_threshold` to define them)"
            .to_owned()
    } else {
        format!(
            "solved = first episode at which the {}-episode average reaches {} (medians over all \
             runs, a run that never got there counting as later than any; – when half or more \
             never did); reached = share of runs whose 20-episode average reached it; collapse = \
             share of all runs whose 20-episode average reached it and later fell below {}",
            rc.final_window,
            thresholds.join(" / "),
            rc.collapse_floor
        )
    }
}

/// The failed runs with their reasons (nothing when none failed).
fn failed_runs(exp: &Experiment, scores: &[RunScores]) -> String {
    let failed: Vec<&RunScores> = scores.iter().filter(|s| !s.ok).collect();
    if failed.is_empty() {
        return String::new();
    }
    let mut md = "\n## Failed runs\n\n".to_owned();
    for s in &failed {
        md.push_str(&format!(
            "- {} seed {}: {}\n",
            exp.points[s.point].label,
            s.seed,
            s.failure.as_deref().unwrap_or("")
        ));
    }
    md
}
