//! Everything written after the runs, as views of one [`ReportModel`]: polars tables
//! (`runs.csv`, `run_scores.csv`, `summary.csv`; [`tables`]), Markdown (`summary.md`,
//! `comparison.md`), `scores.json` for rliable, plotters charts ([`figures`], drawn with
//! [`charts`]) and the HTML pages (`index.html`, `points/`; [`html`]).

pub mod across;
pub mod charts;
pub mod comparison;
pub mod export;
pub mod figures;
pub mod html;
pub mod model;
pub mod normalize;
pub mod parity;
pub mod per_env;
pub mod scores;
pub mod step_curves;
pub(crate) mod summary;
pub mod tables;

use crate::config::Experiment;
use crate::stats;
use crate::store::{write_atomic, write_csv, ExperimentDir, StoreError};
use crate::sweep::RunResult;
use charts::Series;
pub use model::ReportModel;
use polars::prelude::*;
use std::path::PathBuf;
use std::time::Instant;

pub use figures::{run_chart_hook, write_run_chart};
pub use tables::{run_scores_frame, runs_frame, summary_frame};

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("building tables: {0}")]
    Polars(#[from] PolarsError),
    #[error(transparent)]
    Plot(#[from] charts::PlotError),
    #[error("rendering the page {0}")]
    Page(String),
}

/// What [`write_report`] produced.
#[derive(Debug, Clone)]
pub struct Report {
    pub dir: PathBuf,
    pub summary_markdown: String,
    pub failed_runs: usize,
    pub files: Vec<PathBuf>,
}

/// A stable 64-bit seed for bootstrap resampling, from a label (FNV-1a).
pub fn label_seed(label: &str) -> u64 {
    label.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

/// Write every table and chart of the experiment into `<results>/<name>/`: the model is
/// computed once ([`ReportModel::build`]), then each file is written as a view of it.
/// `started` is when the command began (the page says how long it took).
pub fn write_report(
    exp: &Experiment,
    results: &[RunResult],
    dir: &ExperimentDir,
    started: Instant,
) -> Result<Report, ReportError> {
    let model = ReportModel::build(exp, results)?;
    let mut files = Vec::new();
    let mut csv = |name: &str, df: &mut DataFrame| -> Result<(), ReportError> {
        let path = dir.file(name);
        write_csv(&path, df)?;
        #[cfg(feature = "parquet")]
        {
            let parquet = path.with_extension("parquet");
            write_atomic(&parquet, &export::parquet_bytes(df)?)?;
            files.push(parquet);
        }
        files.push(path);
        Ok(())
    };
    csv("runs.csv", &mut runs_frame(exp, results)?)?;
    csv("run_scores.csv", &mut model.per_run.clone())?;
    csv("summary.csv", &mut model.summary.clone())?;
    let md = summary::markdown(&model)?;
    write_file(dir, "summary.md", md.as_bytes(), &mut files)?;
    let doc = serde_json::to_vec_pretty(&export::scores_json(exp, &model.scores))
        .expect("a JSON value serialises");
    write_file(dir, "scores.json", &doc, &mut files)?;
    if let Some(agg) = &model.across {
        files.extend(across::write(exp, agg, dir)?);
    }
    if let Some(table) = &model.comparison {
        write_file(
            dir,
            "comparison.md",
            table.markdown().as_bytes(),
            &mut files,
        )?;
    }
    files.extend(figures::write_charts(&model, dir)?);
    let provenance = html::Provenance::new(started, results);
    files.extend(html::write_pages(&model, dir, &provenance)?);
    Ok(Report {
        dir: dir.root.clone(),
        summary_markdown: md,
        failed_runs: model.scores.iter().filter(|s| !s.ok).count(),
        files,
    })
}

/// The HTML pages alone, for a folder that holds no tables (`sweep check`'s: the pages show
/// its `check.md`).
pub fn write_pages(
    exp: &Experiment,
    results: &[RunResult],
    dir: &ExperimentDir,
    started: Instant,
) -> Result<Vec<PathBuf>, ReportError> {
    let model = ReportModel::build(exp, results)?;
    html::write_pages(&model, dir, &html::Provenance::new(started, results))
}

/// Write `bytes` to the experiment's file `name` and list it.
fn write_file(
    dir: &ExperimentDir,
    name: &str,
    bytes: &[u8],
    files: &mut Vec<PathBuf>,
) -> Result<(), ReportError> {
    let path = dir.file(name);
    write_atomic(&path, bytes)?;
    files.push(path);
    Ok(())
}

/// Format a cell for Markdown: integers plainly, floats with `decimals`, NaN as "–".
pub fn fmt_num(v: f64, decimals: usize) -> String {
    if !v.is_finite() {
        "–".into()
    } else {
        format!("{v:.decimals$}")
    }
}

/// An interval as `point [lo, hi]`, each with [`fmt_num`]'s `decimals`.
pub fn fmt_interval(i: &crate::stats::Interval, decimals: usize) -> String {
    format!(
        "{} [{}, {}]",
        fmt_num(i.point, decimals),
        fmt_num(i.lo, decimals),
        fmt_num(i.hi, decimals)
    )
}

/// A table of formatted cells (a header and rows): the form the Markdown and HTML views share.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TextTable {
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

impl TextTable {
    /// A DataFrame's cells formatted by [`fmt_cell`].
    pub fn of_frame(df: &DataFrame) -> TextTable {
        TextTable {
            header: df
                .get_column_names()
                .iter()
                .map(|s| s.to_string())
                .collect(),
            rows: (0..df.height())
                .map(|i| df.columns().iter().map(|c| fmt_cell(c.get(i))).collect())
                .collect(),
        }
    }

    /// The table without `columns`, and the first column with them (e.g. a grid point's
    /// name with its timing columns).
    pub fn split_off(&self, columns: &[&str]) -> (TextTable, TextTable) {
        let moved = |i: usize, h: &String| i > 0 && columns.contains(&h.as_str());
        let pick = |split: bool| -> Vec<usize> {
            let idx = self.header.iter().enumerate();
            idx.filter(|&(i, h)| moved(i, h) == split || (i == 0 && split))
                .map(|(i, _)| i)
                .collect()
        };
        let take = |cols: &[usize]| TextTable {
            header: cols.iter().map(|&i| self.header[i].clone()).collect(),
            rows: self
                .rows
                .iter()
                .map(|r| cols.iter().map(|&i| r[i].clone()).collect())
                .collect(),
        };
        let (kept, moved) = (pick(false), pick(true));
        (take(&kept), take(&moved))
    }

    /// As a GitHub Markdown table.
    pub fn markdown(&self) -> String {
        let mut out = format!(
            "| {} |\n|{}\n",
            self.header.join(" | "),
            "---|".repeat(self.header.len())
        );
        for r in &self.rows {
            out.push_str(&format!("| {} |\n", r.join(" | ")));
        }
        out
    }
}

/// One table cell: floats to 1 decimal (3 for small magnitudes), NaN as "–".
fn fmt_cell(v: PolarsResult<AnyValue>) -> String {
    match v {
        Ok(AnyValue::Float64(v)) => fmt_num(v, if v.abs() < 10.0 && v != 0.0 { 3 } else { 1 }),
        Ok(AnyValue::String(s)) => s.to_owned(),
        Ok(AnyValue::StringOwned(s)) => s.to_string(),
        Ok(v) => v.to_string(),
        Err(_) => "?".into(),
    }
}

/// A DataFrame as a GitHub Markdown table (floats to 1 decimal, 3 for small magnitudes).
pub fn markdown_table(df: &DataFrame) -> PolarsResult<String> {
    Ok(TextTable::of_frame(df).markdown())
}

/// The dashed "solved" reference line of charts (from the first grid point's environment).
pub fn solved_line(exp: &Experiment) -> Vec<(f64, String)> {
    exp.points
        .first()
        .map(|p| {
            let t = scores::threshold_for(&exp.report, &p.env);
            (t, format!("solved ({t})"))
        })
        .filter(|(t, _)| t.is_finite())
        .into_iter()
        .collect()
}

/// Mean and interquartile band across seeds, episode by episode.
pub fn curve_band(curves: &[&[f64]], label: String, smooth: usize) -> Series {
    let n = curves.iter().map(|c| c.len()).min().unwrap_or(0);
    let smoothed: Vec<Vec<f64>> = curves
        .iter()
        .map(|c| stats::moving_average(&c[..n], smooth))
        .collect();
    let at = |i: usize| smoothed.iter().map(|c| c[i]).collect::<Vec<f64>>();
    Series {
        label,
        x: (1..=n).map(|i| i as f64).collect(),
        y: (0..n).map(|i| stats::mean(&at(i))).collect(),
        band: Some((
            (0..n).map(|i| stats::quantile(&at(i), 0.25)).collect(),
            (0..n).map(|i| stats::quantile(&at(i), 0.75)).collect(),
        )),
    }
}
