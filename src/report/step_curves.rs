//! Curves against environment steps, for step-budget experiments (MinAtar, Atari): training
//! returns binned by env steps, and the periodic evaluation curve (`train.eval_interval`),
//! each as the mean across seeds with an interquartile band.

use super::charts::{Figure, LineChart, Series};
use crate::config::Experiment;
use crate::stats;
use crate::sweep::RunResult;

/// Bins of the training-return curve.
const BINS: usize = 50;

/// `learning_curves_steps.*` (when runs have a step budget) and `eval_curves.*` (when they
/// evaluate periodically).
pub fn figures(exp: &Experiment, results: &[RunResult]) -> Vec<Figure> {
    let mut figures = Vec::new();
    let budget = exp.points.iter().filter_map(|p| p.train.steps).max();
    if let Some(budget) = budget {
        let series = per_point(exp, results, |r| binned_returns(r, budget));
        figures.push(Figure::line(
            "learning_curves_steps",
            LineChart {
                title: format!("{}: training return by env steps", exp.name),
                x_label: "Environment steps".into(),
                y_label: format!("Episode return ({BINS} bins; mean, IQR band)"),
                series,
                hlines: super::solved_line(exp),
                y_range: None,
            },
        ));
    }
    let evaluating = results.iter().any(|r| !r.run.info.evaluations.is_empty());
    if evaluating {
        let series = per_point(exp, results, |r| {
            let e = &r.run.info.evaluations;
            (
                e.iter().map(|p| p.steps as f64).collect(),
                e.iter().map(|p| p.mean()).collect(),
            )
        });
        let eps = exp.points.first().map_or(0.0, |p| p.train.eval_epsilon);
        figures.push(Figure::line(
            "eval_curves",
            LineChart {
                title: format!("{}: evaluation return (ε = {eps})", exp.name),
                x_label: "Environment steps".into(),
                y_label: "Mean evaluation return (mean across seeds, IQR band)".into(),
                series,
                hlines: super::solved_line(exp),
                y_range: None,
            },
        ));
    }
    figures
}

/// One series per grid point: each run's `(x, y)` curve, then mean and IQR across runs at
/// each x of the shortest run (all runs of a point share their x grid).
fn per_point(
    exp: &Experiment,
    results: &[RunResult],
    curve: impl Fn(&RunResult) -> (Vec<f64>, Vec<f64>),
) -> Vec<Series> {
    (0..exp.points.len())
        .filter_map(|p| {
            let curves: Vec<(Vec<f64>, Vec<f64>)> = results
                .iter()
                .filter(|r| r.point == p && r.ok())
                .map(&curve)
                .collect();
            let n = curves.iter().map(|(x, _)| x.len()).min()?;
            let at = |i: usize| -> Vec<f64> {
                curves
                    .iter()
                    .map(|(_, y)| y[i])
                    .filter(|v| v.is_finite())
                    .collect()
            };
            let keep: Vec<usize> = (0..n).filter(|&i| !at(i).is_empty()).collect();
            (!keep.is_empty()).then(|| Series {
                label: format!("{} (n={})", exp.points[p].label, curves.len()),
                x: keep.iter().map(|&i| curves[0].0[i]).collect(),
                y: keep.iter().map(|&i| stats::mean(&at(i))).collect(),
                band: Some((
                    keep.iter()
                        .map(|&i| stats::quantile(&at(i), 0.25))
                        .collect(),
                    keep.iter()
                        .map(|&i| stats::quantile(&at(i), 0.75))
                        .collect(),
                )),
            })
        })
        .collect()
}

/// Mean return of the episodes that ended in each of [`BINS`] equal bins of `0..budget` env
/// steps; a bin without an ending episode is NaN (left out of the mean across seeds).
pub fn binned_returns(r: &RunResult, budget: u64) -> (Vec<f64>, Vec<f64>) {
    let width = (budget as f64 / BINS as f64).max(1.0);
    let mut sums = vec![(0.0, 0u32); BINS];
    for e in &r.run.episodes {
        let bin = ((e.steps as f64 - 1.0) / width)
            .floor()
            .clamp(0.0, BINS as f64 - 1.0) as usize;
        sums[bin].0 += e.ret;
        sums[bin].1 += 1;
    }
    let x = (0..BINS).map(|i| (i as f64 + 1.0) * width).collect();
    let y = sums
        .iter()
        .map(|&(s, n)| if n > 0 { s / f64::from(n) } else { f64::NAN })
        .collect();
    (x, y)
}
