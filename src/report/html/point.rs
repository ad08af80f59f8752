//! `points/<grid point>.html`: one grid point's runs: their learning curves (by episode and by
//! env step), evaluations, Q estimates against Monte-Carlo returns, each run's status, and the
//! point's config. Above [`MAX_LINES`] runs the charts summarise (mean and IQR band) and the
//! run table is folded.

use super::{axis_charts, fmt_duration, missing_status, ChartView, HtmlCell, HtmlTable};
use super::{Provenance, MAX_LINES};
use super::{SCRIPT, STYLE};
use crate::report::charts::{Figure, LineChart, Series};
use crate::report::scores::RunScores;
use crate::report::{curve_band, fmt_num, solved_line, ReportError, ReportModel};
use crate::store::ExperimentDir;
use crate::sweep::RunResult;
use askama::Template;

#[derive(Template)]
#[template(path = "report/point.html")]
pub(super) struct PointPage {
    experiment: String,
    label: String,
    counts: String,
    runs: HtmlTable,
    /// Above [`MAX_LINES`] runs the run table is folded (the charts summarise them).
    fold_runs: bool,
    /// Each run's wall time and speed (in the volatile block).
    timing: HtmlTable,
    charts: Vec<ChartView>,
    toggle: bool,
    config: String,
    provenance: Provenance,
    elapsed: String,
    style: &'static str,
    script: &'static str,
}

impl PointPage {
    pub(super) fn build(
        model: &ReportModel,
        p: usize,
        dir: &ExperimentDir,
        provenance: &Provenance,
    ) -> Result<PointPage, ReportError> {
        let exp = model.exp;
        let point = &exp.points[p];
        let runs: Vec<(&RunResult, &RunScores)> = model.point_runs(p).collect();
        let ok: Vec<&RunResult> = runs
            .iter()
            .filter(|(r, _)| r.ok())
            .map(|(r, _)| *r)
            .collect();
        let missing: Vec<(u64, String)> = model
            .missing
            .iter()
            .filter(|(q, _)| *q == p)
            .map(|&(_, s)| (s, missing_status(dir, &point.slug, s)))
            .collect();
        let (charts, toggle) = axis_charts(&figures(model, p, &ok))?;
        Ok(PointPage {
            experiment: exp.name.clone(),
            label: point.label.clone(),
            counts: counts(runs.len(), ok.len(), &missing),
            fold_runs: runs.len() + missing.len() > MAX_LINES,
            runs: run_table(&runs, &missing),
            timing: timing_table(&runs),
            charts,
            toggle,
            config: config_text(point),
            provenance: provenance.clone(),
            elapsed: fmt_duration(provenance.elapsed_s),
            style: STYLE,
            script: SCRIPT,
        })
    }
}

/// How many runs the grid point has, and how they ended.
fn counts(with_result: usize, ok: usize, missing: &[(u64, String)]) -> String {
    let failed = missing
        .iter()
        .filter(|(_, s)| s.starts_with("failed"))
        .count();
    format!(
        "{} run(s): {ok} ok, {} failed, {} not finished",
        with_result + missing.len(),
        with_result - ok + failed,
        missing.len() - failed
    )
}

/// One row per run of the grid point, by seed: status, scores, size, time.
fn run_table(runs: &[(&RunResult, &RunScores)], missing: &[(u64, String)]) -> HtmlTable {
    let header = [
        "seed",
        "status",
        "final return",
        "eval return",
        "episodes",
        "env steps",
        "run id",
    ];
    let mut rows: Vec<(u64, Vec<HtmlCell>)> = runs
        .iter()
        .map(|(r, s)| {
            let status = match &s.failure {
                None => "ok".to_owned(),
                Some(reason) => format!("failed: {reason}"),
            };
            let cells = [
                s.seed.to_string(),
                status,
                fmt_num(s.final_return, 2),
                fmt_num(s.eval_return, 2),
                r.run.episodes.len().to_string(),
                s.env_steps.to_string(),
                r.run.info.run_id.clone(),
            ];
            (s.seed, cells.iter().map(|c| HtmlCell::text(c)).collect())
        })
        .collect();
    rows.extend(missing.iter().map(|(seed, status)| {
        let seed = *seed;
        let mut cells = vec![HtmlCell::text(&seed.to_string()), HtmlCell::text(status)];
        cells.extend((2..header.len()).map(|_| HtmlCell::text("–")));
        (seed, cells)
    }));
    rows.sort_by_key(|(seed, _)| *seed);
    HtmlTable {
        header: header.map(String::from).into(),
        rows: rows.into_iter().map(|(_, r)| r).collect(),
    }
}

/// Each run's wall time and env steps per second, by seed.
fn timing_table(runs: &[(&RunResult, &RunScores)]) -> HtmlTable {
    let mut rows: Vec<&RunScores> = runs.iter().map(|(_, s)| *s).collect();
    rows.sort_by_key(|s| s.seed);
    HtmlTable {
        header: ["seed", "wall time", "env steps per second"]
            .map(String::from)
            .into(),
        rows: rows
            .iter()
            .map(|s| {
                [
                    s.seed.to_string(),
                    fmt_duration(s.wall_s),
                    fmt_num(s.steps_per_s, 0),
                ]
                .iter()
                .map(|c| HtmlCell::text(c))
                .collect()
            })
            .collect(),
    }
}

/// The grid point's settings as TOML (`[env]`, `[agent]`, `[train]`).
fn config_text(point: &crate::config::GridPoint) -> String {
    #[derive(serde::Serialize)]
    struct Sections<'a> {
        env: &'a crate::config::EnvConfig,
        agent: &'a crate::agent::config::AgentConfig,
        train: &'a crate::config::TrainConfig,
    }
    let sections = Sections {
        env: &point.env,
        agent: &point.agent,
        train: &point.train,
    };
    toml::to_string(&sections)
        .unwrap_or_else(|_| serde_json::to_string_pretty(&sections).expect("configs serialise"))
}

/// A run's label in the charts.
fn seed_label(r: &RunResult) -> String {
    format!("seed {}", r.run.config.seed)
}

/// One line per run, or above [`MAX_LINES`] runs their mean and IQR band at each shared x.
fn lines(runs: &[&RunResult], curve: impl Fn(&RunResult) -> (Vec<f64>, Vec<f64>)) -> Vec<Series> {
    if runs.len() <= MAX_LINES {
        return runs
            .iter()
            .map(|r| {
                let (x, y) = curve(r);
                Series {
                    label: seed_label(r),
                    x,
                    y,
                    band: None,
                }
            })
            .collect();
    }
    let curves: Vec<(Vec<f64>, Vec<f64>)> = runs.iter().map(|r| curve(r)).collect();
    let ys: Vec<&[f64]> = curves.iter().map(|(_, y)| y.as_slice()).collect();
    let mut s = curve_band(&ys, format!("mean of {} runs (IQR band)", runs.len()), 1);
    if let Some((x, _)) = curves.iter().min_by_key(|(x, _)| x.len()) {
        s.x = x[..s.y.len()].to_vec();
    }
    vec![s]
}

/// The grid point's charts: returns by episode and by env step, evaluations, Q estimates.
fn figures(model: &ReportModel, p: usize, ok: &[&RunResult]) -> Vec<Figure> {
    let exp = model.exp;
    let point = &exp.points[p];
    let title = |what: &str| format!("{} — {}: {what}", exp.name, point.label);
    let returns = |r: &RunResult| -> Vec<f64> { r.run.episodes.iter().map(|e| e.ret).collect() };
    let by_episode = lines(ok, |r| {
        let y = returns(r);
        ((1..=y.len()).map(|i| i as f64).collect(), y)
    });
    let mut figures = vec![Figure::line(
        "returns_episodes",
        LineChart {
            title: title("training return per episode"),
            x_label: "Episode".into(),
            y_label: "Total reward".into(),
            series: by_episode,
            hlines: solved_line(exp),
            y_range: None,
        },
    )];
    if ok.len() <= MAX_LINES {
        let by_steps = lines(ok, |r| {
            let x = r.run.episodes.iter().map(|e| e.steps as f64).collect();
            (x, returns(r))
        });
        figures.push(Figure::line(
            "returns_steps",
            LineChart {
                title: title("training return by env steps"),
                x_label: "Environment steps (at the episode's end)".into(),
                y_label: "Total reward".into(),
                series: by_steps,
                hlines: solved_line(exp),
                y_range: None,
            },
        ));
    }
    figures.extend(evaluations(model, p, ok));
    figures.extend(q_estimates(model, p, ok));
    figures
}

/// The periodic evaluations (`train.eval_interval`), when the runs made any.
fn evaluations(model: &ReportModel, p: usize, ok: &[&RunResult]) -> Option<Figure> {
    if ok.iter().all(|r| r.run.info.evaluations.is_empty()) {
        return None;
    }
    let exp = model.exp;
    let series = lines(ok, |r| {
        let e = &r.run.info.evaluations;
        (
            e.iter().map(|p| p.steps as f64).collect(),
            e.iter().map(|p| p.mean()).collect(),
        )
    });
    Some(Figure::line(
        "evaluations",
        LineChart {
            title: format!("{} — {}: evaluation return", exp.name, exp.points[p].label),
            x_label: "Environment steps".into(),
            y_label: format!("Mean return at ε = {}", exp.points[p].train.eval_epsilon),
            series,
            hlines: solved_line(exp),
            y_range: None,
        },
    ))
}

/// Predicted Q against the Monte-Carlo return actually obtained, at the Q probes: mean and
/// IQR band across runs of each.
fn q_estimates(model: &ReportModel, p: usize, ok: &[&RunResult]) -> Option<Figure> {
    let probes = |r: &RunResult| -> Vec<(f64, f64, f64)> {
        r.run
            .episodes
            .iter()
            .filter(|e| e.q_pred.is_finite() && e.q_mc.is_finite())
            .map(|e| (f64::from(e.episode + 1), e.q_pred, e.q_mc))
            .collect()
    };
    let all: Vec<Vec<(f64, f64, f64)>> = ok.iter().map(|r| probes(r)).collect();
    let x: Vec<f64> = all
        .iter()
        .min_by_key(|v| v.len())?
        .iter()
        .map(|t| t.0)
        .collect();
    if x.is_empty() {
        return None;
    }
    let column = |f: fn(&(f64, f64, f64)) -> f64| -> Vec<Vec<f64>> {
        all.iter().map(|v| v.iter().map(f).collect()).collect()
    };
    let (pred, mc) = (column(|t| t.1), column(|t| t.2));
    let band = |c: &[Vec<f64>], label: &str| {
        let ys: Vec<&[f64]> = c.iter().map(Vec::as_slice).collect();
        let mut s = curve_band(&ys, label.to_owned(), 1);
        s.x = x[..s.y.len()].to_vec();
        s
    };
    let exp = model.exp;
    Some(Figure::line(
        "q_estimates",
        LineChart {
            title: format!("{} — {}: Q estimates", exp.name, exp.points[p].label),
            x_label: "Episode".into(),
            y_label: "Greedy policy's value (mean across runs; IQR)".into(),
            series: vec![band(&pred, "predicted Q"), band(&mc, "Monte-Carlo return")],
            hlines: vec![],
            y_range: None,
        },
    ))
}
