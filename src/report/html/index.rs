//! `index.html`: the experiment's front page, a view of the whole [`ReportModel`].

use super::inline::{spans, Span};
use super::TIMING_COLUMNS;
use super::{axis_charts, fmt_duration, point_href, ChartView, HtmlCell, HtmlTable, Provenance};
use super::{SCRIPT, STYLE};
use crate::report::across;
use crate::report::figures::comparison_figures;
use crate::report::{summary, ReportError, ReportModel, TextTable};
use crate::store::ExperimentDir;
use askama::Template;

#[derive(Template)]
#[template(path = "report/index.html")]
pub(super) struct IndexPage {
    title: String,
    description: String,
    /// What the grid is: (what, value) rows.
    grid: Vec<(String, String)>,
    summary_note: Vec<Span>,
    summary: HtmlTable,
    /// Each grid point's mean wall time and speed (in the volatile block).
    speed: HtmlTable,
    notes: Vec<String>,
    comparison: Option<ComparisonView>,
    across: Option<AcrossView>,
    charts: Vec<ChartView>,
    /// Whether some chart exists by episode and by env step (the axis toggle is shown).
    toggle: bool,
    envs: Vec<EnvCharts>,
    /// `check.md` of the last `sweep check`, as HTML.
    check: Option<String>,
    /// Failed and unfinished runs.
    problems: Vec<Problem>,
    provenance: Provenance,
    elapsed: String,
    compute: String,
    style: &'static str,
    script: &'static str,
}

struct ComparisonView {
    intro: Vec<Span>,
    table: HtmlTable,
    notes: Vec<Span>,
}

struct AcrossView {
    method: Vec<Span>,
    references: HtmlTable,
    algorithms: HtmlTable,
    note: Vec<Span>,
    charts: Vec<ChartView>,
}

struct EnvCharts {
    id: String,
    charts: Vec<ChartView>,
}

struct Problem {
    point: String,
    href: String,
    seed: u64,
    status: String,
}

impl IndexPage {
    pub(super) fn build(
        model: &ReportModel,
        dir: &ExperimentDir,
        provenance: &Provenance,
    ) -> Result<IndexPage, ReportError> {
        let exp = model.exp;
        let slug_of = |label: &str| {
            (0..exp.points.len())
                .find(|&p| exp.points[p].label == label)
                .map(|p| point_href(model, p))
        };
        let (charts, toggle) = axis_charts(&comparison_figures(exp, model.results, &model.scores))?;
        let envs = model
            .views
            .iter()
            .map(|v| {
                let figures = comparison_figures(&v.exp, &v.results, &v.scores);
                Ok(EnvCharts {
                    id: v.slug.replace('~', "/"),
                    charts: axis_charts(&figures)?.0,
                })
            })
            .collect::<Result<_, ReportError>>()?;
        let (summary, speed) = TextTable::of_frame(&model.summary).split_off(&TIMING_COLUMNS);
        Ok(IndexPage {
            title: exp.name.clone(),
            description: exp.description.clone(),
            grid: grid(model),
            summary_note: spans(&summary::columns(exp, &model.norms)),
            summary: HtmlTable::of(&summary, slug_of),
            speed: HtmlTable::of(&speed, slug_of),
            notes: across::missing_references(exp, &model.norms)
                .into_iter()
                .collect(),
            comparison: model.comparison.as_ref().map(|c| ComparisonView {
                intro: spans(&c.intro),
                table: comparison_table(c),
                notes: spans(&c.notes),
            }),
            across: model
                .across
                .as_ref()
                .map(|a| across_view(model, a))
                .transpose()?,
            charts,
            toggle,
            envs,
            check: check_html(dir),
            problems: problems(model, dir),
            elapsed: fmt_duration(provenance.elapsed_s),
            compute: fmt_duration(provenance.compute_s),
            provenance: provenance.clone(),
            style: STYLE,
            script: SCRIPT,
        })
    }
}

/// What varies, the seeds, the budget and the environment(s).
fn grid(model: &ReportModel) -> Vec<(String, String)> {
    let exp = model.exp;
    let mut rows: Vec<(String, String)> = exp
        .swept
        .iter()
        .map(|key| {
            let short = key.rsplit('.').next().unwrap_or(key);
            let mut values: Vec<&str> = Vec::new();
            for p in &exp.points {
                if let Some((_, v)) = p.values.iter().find(|(k, _)| k == short) {
                    if !values.contains(&v.as_str()) {
                        values.push(v);
                    }
                }
            }
            (format!("varies: {key}"), values.join(", "))
        })
        .collect();
    let distinct = |f: &dyn Fn(&crate::config::GridPoint) -> String| {
        let mut v: Vec<String> = exp.points.iter().map(f).collect();
        v.dedup();
        v.join(" / ")
    };
    rows.push(("environment".into(), distinct(&|p| p.env.id.to_string())));
    rows.push((
        "budget per run".into(),
        distinct(&|p| match (p.train.steps, p.train.episodes) {
            (Some(s), _) => format!("{s} env steps"),
            (None, Some(e)) => format!("{e} episodes"),
            (None, None) => "–".into(),
        }),
    ));
    rows.push(("seeds".into(), seeds(&exp.seeds)));
    rows.push((
        "runs".into(),
        format!(
            "{} grid point(s) × {} seed(s) = {}",
            exp.points.len(),
            exp.seeds.len(),
            exp.points.len() * exp.seeds.len()
        ),
    ));
    rows
}

/// Seeds as a list, or `first–last` when they are consecutive.
fn seeds(seeds: &[u64]) -> String {
    let consecutive = seeds.windows(2).all(|w| w[1] == w[0] + 1);
    match (seeds.first(), seeds.last()) {
        (Some(a), Some(b)) if consecutive && seeds.len() > 2 => format!("{a}–{b}"),
        _ => seeds
            .iter()
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join(", "),
    }
}

/// The comparison table's speed row (see `comparison::final_return_rows`).
const SPEED_ROW: &str = "env steps per second";

fn comparison_table(c: &crate::report::comparison::ComparisonTable) -> HtmlTable {
    let mut header = vec![String::new()];
    header.extend(c.columns.iter().cloned());
    HtmlTable {
        header,
        rows: c
            .rows
            .iter()
            // Speed changes from run to run: the volatile block has it, per grid point.
            .filter(|r| !r.name.starts_with(SPEED_ROW))
            .map(|r| {
                let mut cells = vec![HtmlCell::text(&r.name)];
                cells.extend(r.cells.iter().map(|t| HtmlCell::text(t)));
                cells
            })
            .collect(),
    }
}

fn across_view(model: &ReportModel, a: &across::Aggregates) -> Result<AcrossView, ReportError> {
    Ok(AcrossView {
        method: spans(&across::method(model.exp)),
        references: HtmlTable::of(&a.references, |_| None),
        algorithms: HtmlTable::of(&a.algorithms, |_| None),
        note: spans(across::GAP_NOTE),
        charts: across::figures(model.exp, a)
            .iter()
            .map(|f| ChartView::of(f, ""))
            .collect::<Result<_, _>>()?,
    })
}

/// `check.md` of the experiment's last regression check, rendered, if there is one.
fn check_html(dir: &ExperimentDir) -> Option<String> {
    use pulldown_cmark::{html, Options, Parser};
    let md = std::fs::read_to_string(dir.file("check.md")).ok()?;
    let mut out = String::new();
    html::push_html(&mut out, Parser::new_ext(&md, Options::ENABLE_TABLES));
    Some(out)
}

/// Every failed run with its reason, and every run of the grid without a result.
fn problems(model: &ReportModel, dir: &ExperimentDir) -> Vec<Problem> {
    let exp = model.exp;
    let mut out: Vec<Problem> = model
        .scores
        .iter()
        .filter(|s| !s.ok)
        .map(|s| Problem {
            point: exp.points[s.point].label.clone(),
            href: point_href(model, s.point),
            seed: s.seed,
            status: format!("failed: {}", s.failure.as_deref().unwrap_or("")),
        })
        .collect();
    out.extend(model.results.iter().filter_map(|r| {
        let p = r.in_progress.as_ref()?;
        Some(Problem {
            point: exp.points[r.point].label.clone(),
            href: point_href(model, r.point),
            seed: r.run.config.seed,
            status: format!(
                "in progress: {:.0}% ({} steps, {} episodes), drawn from its checkpoint",
                100.0 * p.fraction(),
                p.steps,
                p.episodes
            ),
        })
    }));
    out.extend(model.missing.iter().map(|&(p, seed)| Problem {
        point: exp.points[p].label.clone(),
        href: point_href(model, p),
        seed,
        status: super::missing_status(dir, &exp.points[p].slug, seed),
    }));
    out
}
