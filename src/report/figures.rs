//! The report's charts: each run's own Figure 8-8 (drawn when the run is stored, here only
//! where missing), Figure 8-8 per grid point, and the charts that compare grid points
//! (learning curves, Q over-estimation, final-return distribution, performance profile, step
//! and evaluation curves), for the whole experiment and for each environment.

use super::charts::{self, Distribution, DistributionChart, Figure, LineChart, Series};
use super::scores::RunScores;
use super::{curve_band, label_seed, solved_line, step_curves, ReportError, ReportModel};
use crate::config::Experiment;
use crate::stats;
use crate::store::ExperimentDir;
use crate::sweep::RunResult;
use std::path::PathBuf;

/// Where a run's own Figure 8-8 goes: `reward.png` and `reward.svg` in its folder.
fn run_chart_stem(exp: &Experiment, dir: &ExperimentDir, r: &RunResult) -> PathBuf {
    dir.run_dir(&exp.points[r.point].slug, r.run.config.seed)
        .join("reward")
}

fn run_chart_exists(exp: &Experiment, dir: &ExperimentDir, r: &RunResult) -> bool {
    let stem = run_chart_stem(exp, dir, r);
    ["png", "svg"]
        .iter()
        .all(|ext| stem.with_extension(ext).is_file())
}

/// Figure 8-8 for one run (total reward per episode), beside its files.
pub fn write_run_chart(
    exp: &Experiment,
    dir: &ExperimentDir,
    r: &RunResult,
) -> Result<Vec<PathBuf>, ReportError> {
    let point = &exp.points[r.point];
    let returns: Vec<f64> = r.run.episodes.iter().map(|e| e.ret).collect();
    let chart = LineChart {
        title: format!("{} — {} seed {}", exp.name, point.label, r.run.config.seed),
        x_label: "Episode".into(),
        y_label: "Total Reward".into(),
        series: vec![Series {
            label: "total reward".into(),
            x: (0..returns.len()).map(|i| i as f64).collect(),
            y: returns,
            band: None,
        }],
        hlines: vec![],
        y_range: None,
    };
    Ok(charts::line_chart(&chart, &run_chart_stem(exp, dir, r))?)
}

/// [`write_run_chart`] as the sweep's hook after each stored run
/// ([`crate::sweep::SweepOptions::after_run`]): the run's own chart is part of what a run
/// stores, so reports need not draw thousands of them.
pub fn run_chart_hook(exp: &Experiment, dir: &ExperimentDir, r: &RunResult) -> anyhow::Result<()> {
    write_run_chart(exp, dir, r)
        .map(drop)
        .map_err(|e| anyhow::anyhow!("no chart: {e}"))
}

/// Every chart of the report: the runs' own where missing, Figure 8-8 per grid point, and the
/// comparison charts of the experiment and of each environment (`by-env/<env>/`).
pub(super) fn write_charts(
    model: &ReportModel,
    dir: &ExperimentDir,
) -> Result<Vec<PathBuf>, ReportError> {
    let (exp, results, scores) = (model.exp, model.results, &model.scores);
    let mut files = missing_run_charts(exp, results, dir)?;
    for p in 0..exp.points.len() {
        files.extend(figure_8_8(exp, results, p).write(&dir.root)?);
    }
    for f in comparison_figures(exp, results, scores) {
        files.extend(f.write(&dir.root)?);
    }
    for view in &model.views {
        let sub = dir.root.join("by-env").join(&view.slug);
        for f in comparison_figures(&view.exp, &view.results, &view.scores) {
            files.extend(f.write(&sub)?);
        }
    }
    Ok(files)
}

/// Figure 8-8 for each run: drawn when the run is stored; here only where it is missing
/// (runs stored by older versions), in parallel.
fn missing_run_charts(
    exp: &Experiment,
    results: &[RunResult],
    dir: &ExperimentDir,
) -> Result<Vec<PathBuf>, ReportError> {
    use rayon::prelude::*;
    let missing: Vec<&RunResult> = results
        .iter()
        .filter(|r| r.ok() && !run_chart_exists(exp, dir, r))
        .collect();
    let drawn: Vec<Vec<PathBuf>> = missing
        .par_iter()
        .map(|r| write_run_chart(exp, dir, r))
        .collect::<Result<_, _>>()?;
    Ok(drawn.into_iter().flatten().collect())
}

/// Figure 8-8 of grid point `p`: every seed's total reward per episode.
pub fn figure_8_8(exp: &Experiment, results: &[RunResult], p: usize) -> Figure {
    let point = &exp.points[p];
    let series: Vec<Series> = results
        .iter()
        .filter(|r| r.point == p && r.ok())
        .map(|r| Series {
            label: format!("seed {}", r.run.config.seed),
            x: r.run
                .episodes
                .iter()
                .map(|e| f64::from(e.episode))
                .collect(),
            y: r.run.episodes.iter().map(|e| e.ret).collect(),
            band: None,
        })
        .collect();
    let chart = LineChart {
        title: format!("{}: total reward per episode ({})", exp.name, point.label),
        x_label: "Episode".into(),
        y_label: "Total Reward".into(),
        series,
        hlines: vec![],
        y_range: None,
    };
    let name = if exp.points.len() == 1 {
        "figure_8_8".to_owned()
    } else {
        format!("figure_8_8_{}", point.slug)
    };
    Figure::line(&name, chart)
}

/// The charts that compare grid points: learning curves by episode, Q over-estimation,
/// final-return distribution, performance profile, then learning curves by env step and
/// evaluation curves.
pub fn comparison_figures(
    exp: &Experiment,
    results: &[RunResult],
    scores: &[RunScores],
) -> Vec<Figure> {
    let mut figures = vec![
        learning_curves(exp, scores),
        q_overestimation(exp, results),
        final_return_distribution(exp, scores),
        performance_profile(exp, scores),
    ];
    figures.extend(step_curves::figures(exp, results));
    figures
}

/// The successful runs of grid point `p`.
fn ok_runs(scores: &[RunScores], p: usize) -> Vec<&RunScores> {
    scores.iter().filter(|s| s.point == p && s.ok).collect()
}

/// The finite values of `f` over `scores`.
fn finite(scores: &[&RunScores], f: fn(&RunScores) -> f64) -> Vec<f64> {
    scores
        .iter()
        .map(|s| f(s))
        .filter(|v| v.is_finite())
        .collect()
}

/// Learning curves: one line per grid point, mean across seeds with an IQR band.
fn learning_curves(exp: &Experiment, scores: &[RunScores]) -> Figure {
    let series: Vec<Series> = (0..exp.points.len())
        .filter_map(|p| {
            let runs = ok_runs(scores, p);
            (!runs.is_empty()).then(|| {
                let curves: Vec<&[f64]> = runs.iter().map(|s| s.returns.as_slice()).collect();
                curve_band(
                    &curves,
                    format!("{} (n={})", exp.points[p].label, runs.len()),
                    10,
                )
            })
        })
        .collect();
    let chart = LineChart {
        title: format!("{}: learning curves", exp.name),
        x_label: "Episode".into(),
        y_label: "Total reward (10-ep moving avg; mean, IQR band)".into(),
        series,
        hlines: solved_line(exp),
        y_range: None,
    };
    Figure::line("learning_curves", chart)
}

/// Q overestimation over training: mean across seeds of (Q − G) at each probe episode.
fn q_overestimation(exp: &Experiment, results: &[RunResult]) -> Figure {
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
    Figure::line(
        "q_overestimation",
        LineChart {
            title: format!("{}: Q over-estimation of the greedy policy", exp.name),
            x_label: "Episode".into(),
            y_label: "Predicted Q − actual return (mean; IQR)".into(),
            series: over_series,
            hlines: vec![(0.0, "no bias".into())],
            y_range: None,
        },
    )
}

/// Final-return distribution with the IQM and its bootstrap interval.
fn final_return_distribution(exp: &Experiment, scores: &[RunScores]) -> Figure {
    let rc = &exp.report;
    let groups: Vec<Distribution> = (0..exp.points.len())
        .map(|p| {
            let values = finite(&ok_runs(scores, p), |s| s.final_return);
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
    Figure::distribution(
        "final_return_distribution",
        DistributionChart {
            title: format!("{}: final return per run", exp.name),
            y_label: format!("Mean return, last {} episodes", rc.final_window),
            groups,
            interval_label: Some(format!("IQM ({:.0}% bootstrap CI)", rc.confidence * 100.0)),
            hlines: solved_line(exp),
            y_range: None,
        },
    )
}

/// Performance profiles (Agarwal et al. 2021): fraction of runs with final return > τ.
/// Over the env's range of returns (CartPole 0 to the limit, Acrobot and MountainCar −limit
/// to 0), or from 0 to the best final return seen (unbounded envs).
fn performance_profile(exp: &Experiment, scores: &[RunScores]) -> Figure {
    let rc = &exp.report;
    let best = scores
        .iter()
        .map(|s| s.final_return)
        .filter(|x| x.is_finite())
        .fold(1.0, f64::max);
    let (lo, hi) = exp
        .points
        .first()
        .and_then(|p| p.env.id.return_bounds())
        .unwrap_or((0.0, best));
    let taus = stats::linspace(lo, hi, 101);
    let profiles: Vec<Series> = (0..exp.points.len())
        .map(|p| {
            let values = finite(&ok_runs(scores, p), |s| s.final_return);
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
    Figure::line(
        "performance_profile",
        LineChart {
            title: format!("{}: performance profile", exp.name),
            x_label: format!("Final return τ (mean of last {} episodes)", rc.final_window),
            y_label: format!("Fraction of runs > τ ({:.0}% CI)", rc.confidence * 100.0),
            series: profiles,
            hlines: vec![],
            y_range: Some((0.0, 1.0)),
        },
    )
}
