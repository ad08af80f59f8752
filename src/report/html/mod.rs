//! The experiment's pages, the front door to its results: `index.html` (description, grid,
//! summary, comparison, across-environment aggregates, every comparison chart, the regression
//! check, provenance) and one page per grid point under `points/` (its runs' curves,
//! evaluations, Q estimates, statuses and config). Each page is self-contained: charts inlined
//! as SVG, the stylesheet and a small script (sortable tables, chart hover, the episode /
//! env-step toggle) inlined, nothing fetched. Rendered from askama templates
//! (`templates/report/`) as views of the [`ReportModel`].

mod index;
pub mod inline;
mod point;

use super::charts::Figure;
use super::{ReportError, ReportModel, TextTable};
use crate::store::{write_atomic, ExperimentDir, RunInfo, RunStatus};
use crate::sweep::RunResult;
use askama::Template;
use inline::Span;
use std::path::PathBuf;
use std::time::Instant;

/// The pages' stylesheet and script, inlined into every page.
const STYLE: &str = include_str!("../../../templates/report/report.css");
const SCRIPT: &str = include_str!("../../../templates/report/report.js");

/// Above this many runs a grid point's charts show the mean and interquartile band across
/// seeds instead of one line per run.
pub const MAX_LINES: usize = 20;

/// The summary's columns that change from run to run of the same config (wall time, speed):
/// the pages show them only in their volatile block.
pub const TIMING_COLUMNS: [&str; 2] = ["wall_s_mean", "steps_per_s_mean"];

/// Why a run of the grid has no result in the report, from what its folder holds: failed
/// (`sweep report` loads finished runs only), interrupted, or not run yet.
pub fn missing_status(dir: &ExperimentDir, slug: &str, seed: u64) -> String {
    let run = dir.run_dir(slug, seed);
    let info: Option<RunInfo> = std::fs::read(run.join("run.json"))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok());
    match info.map(|i| i.status) {
        Some(RunStatus::Failed { reason }) => format!("failed: {reason}"),
        Some(RunStatus::Ok) => "not finished: stored for another config, or incomplete".into(),
        None if run.is_dir() => "not finished: interrupted (no run.json)".into(),
        None => "not finished: not run yet".into(),
    }
}

/// How the pages were produced: the part of a page that changes with every build and run,
/// kept in one marked block (`<!-- volatile:begin -->` … `<!-- volatile:end -->`).
#[derive(Debug, Clone)]
pub struct Provenance {
    /// The command line, as typed.
    pub command: String,
    /// The build fingerprint's short id.
    pub build: String,
    /// Wall time of the command up to the pages, in seconds.
    pub elapsed_s: f64,
    /// Runs trained by this command, and runs reused from the store.
    pub trained: usize,
    pub reused: usize,
    /// Sum of the runs' own wall times, in seconds.
    pub compute_s: f64,
}

impl Provenance {
    /// This process's command, for a report that began at `started`.
    pub fn new(started: Instant, results: &[RunResult]) -> Provenance {
        let quote = |a: String| {
            if a.is_empty() || a.contains(|c: char| c.is_whitespace() || "'\"$\\".contains(c)) {
                format!("'{}'", a.replace('\'', "'\\''"))
            } else {
                a
            }
        };
        let mut args = std::env::args();
        let program = args.next().map(|p| {
            std::path::Path::new(&p)
                .file_name()
                .map_or(p.clone(), |n| n.to_string_lossy().into_owned())
        });
        Provenance {
            command: program
                .into_iter()
                .chain(args.map(quote))
                .collect::<Vec<_>>()
                .join(" "),
            build: crate::fingerprint::Build::current().id(),
            elapsed_s: started.elapsed().as_secs_f64(),
            trained: results.iter().filter(|r| !r.reused).count(),
            reused: results.iter().filter(|r| r.reused).count(),
            compute_s: results.iter().map(|r| r.run.info.wall_s).sum(),
        }
    }
}

/// A table as the page shows it: sortable by any column.
pub struct HtmlTable {
    pub header: Vec<String>,
    pub rows: Vec<Vec<HtmlCell>>,
}

/// One cell: its spans, and a link when it names a grid point.
pub struct HtmlCell {
    pub spans: Vec<Span>,
    pub href: Option<String>,
}

impl HtmlCell {
    pub fn text(text: &str) -> HtmlCell {
        HtmlCell {
            spans: inline::spans(text),
            href: None,
        }
    }
}

impl HtmlTable {
    /// `table`'s cells; the first column links to its grid point's page where `href` says.
    pub fn of(table: &TextTable, href: impl Fn(&str) -> Option<String>) -> HtmlTable {
        HtmlTable {
            header: table.header.clone(),
            rows: table
                .rows
                .iter()
                .map(|r| {
                    r.iter()
                        .enumerate()
                        .map(|(i, c)| HtmlCell {
                            href: if i == 0 { href(c) } else { None },
                            ..HtmlCell::text(c)
                        })
                        .collect()
                })
                .collect(),
        }
    }
}

/// A chart inlined into a page.
pub struct ChartView {
    pub title: String,
    pub svg: String,
    /// `[["#RRGGBB", label], …]`: what hovering a colour names.
    pub legend: String,
    /// `"episode"` or `"steps"` for the two forms of one chart the axis toggle switches
    /// between; empty otherwise.
    pub axis: &'static str,
}

impl ChartView {
    pub fn of(figure: &Figure, axis: &'static str) -> Result<ChartView, ReportError> {
        Ok(ChartView {
            title: figure.title().to_owned(),
            svg: figure.svg()?,
            legend: serde_json::to_string(&figure.legend()).expect("strings serialise"),
            axis,
        })
    }
}

/// The figures as charts; the learning curves by episode and by env step become the two
/// sides of the axis toggle when both exist.
fn axis_charts(figures: &[Figure]) -> Result<(Vec<ChartView>, bool), ReportError> {
    let has = |n: &str| figures.iter().any(|f| f.name == n);
    let toggle = has("returns_episodes") && has("returns_steps")
        || has("learning_curves") && has("learning_curves_steps");
    let charts = figures
        .iter()
        .map(|f| {
            let axis = match f.name.as_str() {
                _ if !toggle => "",
                "learning_curves" | "returns_episodes" => "episode",
                "learning_curves_steps" | "returns_steps" => "steps",
                _ => "",
            };
            ChartView::of(f, axis)
        })
        .collect::<Result<_, _>>()?;
    Ok((charts, toggle))
}

/// Write `index.html` and `points/<grid point>.html` into the experiment's folder.
pub fn write_pages(
    model: &ReportModel,
    dir: &ExperimentDir,
    provenance: &Provenance,
) -> Result<Vec<PathBuf>, ReportError> {
    let mut files = Vec::new();
    for p in 0..model.exp.points.len() {
        let page = point::PointPage::build(model, p, dir, provenance)?;
        let path = dir.root.join(point_href(model, p));
        write_page(&path, &page)?;
        files.push(path);
    }
    let index = index::IndexPage::build(model, dir, provenance)?;
    let path = dir.file("index.html");
    write_page(&path, &index)?;
    files.push(path);
    Ok(files)
}

/// Where grid point `p`'s page is, relative to the experiment folder.
pub fn point_href(model: &ReportModel, p: usize) -> String {
    format!("points/{}.html", model.exp.points[p].slug)
}

/// Render `page` and write it atomically (`write_atomic` makes the folder).
fn write_page(path: &std::path::Path, page: &impl Template) -> Result<(), ReportError> {
    let html = page
        .render()
        .map_err(|e| ReportError::Page(format!("{}: {e}", path.display())))?;
    Ok(write_atomic(path, html.as_bytes())?)
}

/// Seconds as `12.3 s`, `4 min 5 s` or `1 h 2 min`.
pub fn fmt_duration(s: f64) -> String {
    if !s.is_finite() {
        return "–".into();
    }
    let whole = s.round() as u64;
    match whole {
        0..=59 => format!("{s:.1} s"),
        60..=3599 => format!("{} min {} s", whole / 60, whole % 60),
        _ => format!("{} h {} min", whole / 3600, whole % 3600 / 60),
    }
}
