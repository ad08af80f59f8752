//! The report model: everything a report shows, computed once from the runs (per-run scores,
//! the per-run and summary tables, the comparison table, the aggregates across environments,
//! each environment's share as a filter of it, the runs that have no result). Every output
//! file (CSV, Markdown, `scores.json`, each chart, the HTML pages) is a view that reads it.

use super::across::{self, Aggregates};
use super::comparison::ComparisonTable;
use super::normalize::{self, Normalizer};
use super::per_env::{self, EnvView};
use super::scores::RunScores;
use super::tables::{run_scores_frame, summary_frame};
use super::ReportError;
use crate::config::Experiment;
use crate::sweep::RunResult;
use polars::prelude::DataFrame;
use std::collections::HashSet;

/// The experiment's results, aggregated once.
pub struct ReportModel<'a> {
    pub exp: &'a Experiment,
    /// The runs that have a result (finished or failed), in grid order.
    pub results: &'a [RunResult],
    /// One entry per element of `results`.
    pub scores: Vec<RunScores>,
    pub norms: Vec<Normalizer>,
    /// `run_scores.csv`: one row per run.
    pub per_run: DataFrame,
    /// `summary.csv`: one row per grid point.
    pub summary: DataFrame,
    pub comparison: Option<ComparisonTable>,
    pub across: Option<Aggregates>,
    /// One view per environment when two or more are swept.
    pub views: Vec<EnvView>,
    /// `(grid point, seed)` of the runs of the grid with no result: interrupted, or not run
    /// yet (`sweep report --partial`).
    pub missing: Vec<(usize, u64)>,
}

impl<'a> ReportModel<'a> {
    pub fn build(
        exp: &'a Experiment,
        results: &'a [RunResult],
    ) -> Result<ReportModel<'a>, ReportError> {
        let scores: Vec<RunScores> = results
            .iter()
            .map(|r| RunScores::of(r, &exp.report))
            .collect();
        let norms = normalize::normalizers(exp);
        let per_run = run_scores_frame(exp, &scores, &norms)?;
        let summary = summary_frame(&per_run, &exp.report)?;
        let comparison = ComparisonTable::build(exp, &per_run)?;
        let across = across::aggregates(exp, results, &scores, &norms);
        let views = per_env::views(exp, results, &scores);
        let present: HashSet<(usize, u64)> = results
            .iter()
            .map(|r| (r.point, r.run.config.seed))
            .collect();
        let missing = (0..exp.points.len())
            .flat_map(|p| exp.seeds.iter().map(move |&seed| (p, seed)))
            .filter(|run| !present.contains(run))
            .collect();
        Ok(ReportModel {
            exp,
            results,
            scores,
            norms,
            per_run,
            summary,
            comparison,
            across,
            views,
            missing,
        })
    }

    /// The results and scores of grid point `p`'s runs.
    pub fn point_runs(&self, p: usize) -> impl Iterator<Item = (&RunResult, &RunScores)> {
        self.results
            .iter()
            .zip(&self.scores)
            .filter(move |(r, _)| r.point == p)
    }
}
