//! Aggregates across environments (Agarwal et al. 2021, the `rliable` library), written when
//! an experiment sweeps two or more environments and `[report.normalize]` states a reference
//! for each: `across_envs.md` (IQM, median, mean and optimality gap of normalised final
//! returns, with stratified bootstrap intervals: every replicate resamples runs within each
//! environment), `across_envs_profile.*` (performance profiles of all runs) and
//! `across_envs_sample_efficiency.*` (IQM of normalised training return against env steps).

use super::charts::{Figure, LineChart, Series};
use super::normalize::{self, Normalizer};
use super::per_env::{env_ids, without_env};
use super::scores::RunScores;
use super::step_curves::binned_returns;
use super::{fmt_interval, fmt_num, label_seed, ReportError, TextTable};
use crate::config::{point_label, Experiment};
use crate::stats;
use crate::store::{write_atomic, ExperimentDir};
use crate::sweep::RunResult;
use std::path::PathBuf;

/// One algorithm (a grid point without its environment) over every environment.
struct Algorithm {
    label: String,
    /// Per environment (in the normalisers' order): normalised final returns of its runs.
    finals: Vec<Vec<f64>>,
    /// Per environment: each run's normalised binned training-return curve.
    curves: Vec<Vec<Vec<f64>>>,
}

impl Algorithm {
    fn strata(&self) -> Vec<&[f64]> {
        self.finals.iter().map(Vec::as_slice).collect()
    }

    /// Per environment, the finite values of every run's curve at bin `i`.
    fn at_bin(&self, i: usize) -> Vec<Vec<f64>> {
        self.curves
            .iter()
            .map(|runs| {
                runs.iter()
                    .filter_map(|c| c.get(i).copied())
                    .filter(|v| v.is_finite())
                    .collect()
            })
            .collect()
    }
}

/// Why no cross-environment aggregate is written (for `summary.md`), or `None` when it is
/// (or the experiment has a single environment).
pub fn missing_references(exp: &Experiment, norms: &[Normalizer]) -> Option<String> {
    let ids = env_ids(exp);
    let missing: Vec<&String> = ids
        .iter()
        .filter(|id| normalize::find(norms, id).is_none())
        .collect();
    (ids.len() >= 2 && !missing.is_empty()).then(|| {
        format!(
            "No aggregate across environments: `[report.normalize]` states no reference score \
             for {} (see the README, \"Across environments\").",
            missing
                .iter()
                .map(|m| format!("`{m}`"))
                .collect::<Vec<_>>()
                .join(", ")
        )
    })
}

/// Every algorithm's normalised scores, or `None` unless two or more environments all have a
/// normaliser.
fn algorithms(
    exp: &Experiment,
    results: &[RunResult],
    scores: &[RunScores],
    norms: &[Normalizer],
) -> Option<Vec<Algorithm>> {
    let ids = env_ids(exp);
    if ids.len() < 2 || missing_references(exp, norms).is_some() {
        return None;
    }
    let norms: Vec<&Normalizer> = ids
        .iter()
        .filter_map(|id| normalize::find(norms, id))
        .collect();
    let budget = exp.points.iter().filter_map(|p| p.train.steps).max();
    let mut algs: Vec<Algorithm> = Vec::new();
    for (p, point) in exp.points.iter().enumerate() {
        let label = point_label(&without_env(&point.values));
        let e = ids.iter().position(|id| *id == point.env.id.to_string())?;
        let a = match algs.iter().position(|a| a.label == label) {
            Some(a) => a,
            None => {
                algs.push(Algorithm {
                    label,
                    finals: vec![Vec::new(); ids.len()],
                    curves: vec![Vec::new(); ids.len()],
                });
                algs.len() - 1
            }
        };
        let n = norms[e];
        algs[a].finals[e].extend(
            scores
                .iter()
                .filter(|s| s.point == p && s.ok && s.final_return.is_finite())
                .map(|s| n.apply(s.final_return)),
        );
        if let Some(budget) = budget {
            algs[a].curves[e].extend(results.iter().filter(|r| r.point == p && r.ok()).map(|r| {
                binned_returns(r, budget)
                    .1
                    .into_iter()
                    .map(|y| n.apply(y))
                    .collect()
            }));
        }
    }
    Some(algs)
}

/// The aggregates across environments, computed once: `across_envs.md`, its two charts and
/// the HTML page are views of them.
pub struct Aggregates {
    algs: Vec<Algorithm>,
    /// One row per environment: its id, random score, reference score and the source.
    pub references: TextTable,
    /// One row per algorithm: runs, IQM, median, mean, optimality gap, per-environment IQMs.
    pub algorithms: TextTable,
}

/// The aggregates; `None` unless [`algorithms`] applies.
pub fn aggregates(
    exp: &Experiment,
    results: &[RunResult],
    scores: &[RunScores],
    norms: &[Normalizer],
) -> Option<Aggregates> {
    let algs = algorithms(exp, results, scores, norms)?;
    let ids = env_ids(exp);
    let references = TextTable {
        header: [
            "environment",
            "random (0)",
            "reference (1)",
            "source of the reference",
        ]
        .map(String::from)
        .into(),
        rows: ids
            .iter()
            .map(|id| {
                let n = normalize::find(norms, id).expect("algorithms() checked every env");
                let random = match n.random_episodes {
                    Some(k) => format!("{} (measured: {k} random games)", fmt_num(n.random, 3)),
                    None => format!("{} (stated)", fmt_num(n.random, 3)),
                };
                vec![
                    id.clone(),
                    random,
                    fmt_num(n.reference, 3),
                    n.source.clone(),
                ]
            })
            .collect(),
    };
    let mut header: Vec<String> = [
        "algorithm",
        "runs",
        "IQM",
        "median",
        "mean",
        "optimality gap",
    ]
    .map(String::from)
    .into();
    header.extend(ids.iter().map(|id| format!("{id} IQM")));
    let algorithms = TextTable {
        header,
        rows: algs.iter().map(|a| row(a, exp)).collect(),
    };
    Some(Aggregates {
        algs,
        references,
        algorithms,
    })
}

/// `across_envs.md` and its two charts.
pub fn write(
    exp: &Experiment,
    agg: &Aggregates,
    dir: &ExperimentDir,
) -> Result<Vec<PathBuf>, ReportError> {
    let path = dir.file("across_envs.md");
    write_atomic(&path, markdown(exp, agg).as_bytes())?;
    let mut files = vec![path];
    for f in figures(exp, agg) {
        files.extend(f.write(&dir.root)?);
    }
    Ok(files)
}

/// The performance profile and, with a step budget, the sample-efficiency curves.
pub fn figures(exp: &Experiment, agg: &Aggregates) -> Vec<Figure> {
    let mut figures = vec![profile_chart(exp, &agg.algs)];
    figures.extend(sample_efficiency_chart(exp, &agg.algs));
    figures
}

/// What the aggregates are (one paragraph), for `across_envs.md` and the HTML page.
pub fn method(exp: &Experiment) -> String {
    let rc = &exp.report;
    format!(
        "Final returns (mean of the last {} training episodes) normalised per environment: \
         (score − random) / (reference − random), so a uniformly random policy scores 0 and the \
         reference 1. Aggregates over all runs of all environments with {:.0}% stratified \
         bootstrap intervals ({} resamples; each replicate resamples the runs within each \
         environment, rliable's `StratifiedBootstrap`).",
        rc.final_window,
        rc.confidence * 100.0,
        rc.resamples
    )
}

/// The note under the algorithm table.
pub const GAP_NOTE: &str = "Optimality gap: the mean shortfall below 1 (the reference), scores \
     above 1 counting as 1; lower is better. Per-environment IQMs are of the normalised scores, \
     with plain bootstrap intervals over that environment's runs.";

fn markdown(exp: &Experiment, agg: &Aggregates) -> String {
    format!(
        "# {}: across environments\n\n{} Generated by `sweep`.\n\n{}\n{}\n{GAP_NOTE}\n",
        exp.name,
        method(exp),
        agg.references.markdown(),
        agg.algorithms.markdown(),
    )
}

fn row(a: &Algorithm, exp: &Experiment) -> Vec<String> {
    let rc = &exp.report;
    let strata = a.strata();
    let ci = |name: &str, stat: &dyn Fn(&[f64]) -> f64| {
        let seed = label_seed(&format!("{}|across|{name}", a.label));
        stats::bootstrap_ci(&strata, stat, rc.resamples, rc.confidence, seed)
    };
    let gap = |x: &[f64]| stats::optimality_gap(x, 1.0);
    let mut cells = vec![
        a.label.clone(),
        a.finals
            .iter()
            .map(|x| x.len().to_string())
            .collect::<Vec<_>>()
            .join(" + "),
        fmt_interval(&ci("iqm", &stats::iqm), 2),
        fmt_interval(&ci("median", &stats::median), 2),
        fmt_interval(&ci("mean", &stats::mean), 2),
        fmt_interval(&ci("gap", &gap), 2),
    ];
    cells.extend(a.finals.iter().enumerate().map(|(e, x)| {
        let seed = label_seed(&format!("{}|env{e}", a.label));
        fmt_interval(
            &stats::bootstrap_ci(&[x], &stats::iqm, rc.resamples, rc.confidence, seed),
            2,
        )
    }));
    cells
}

/// Performance profiles over every run of every environment: the share of runs whose
/// normalised final return exceeds τ, with stratified bootstrap bands.
fn profile_chart(exp: &Experiment, algs: &[Algorithm]) -> Figure {
    let rc = &exp.report;
    let best = algs
        .iter()
        .flat_map(|a| a.finals.iter().flatten())
        .copied()
        .filter(|v| v.is_finite())
        .fold(1.0, f64::max);
    let taus = stats::linspace(0.0, best, 101);
    let series = algs
        .iter()
        .map(|a| {
            let strata = a.strata();
            let seed = label_seed(&format!("{}|across|profile", a.label));
            let ci =
                stats::performance_profile_ci(&strata, &taus, rc.resamples, rc.confidence, seed);
            Series {
                label: a.label.clone(),
                x: taus.clone(),
                y: ci.iter().map(|i| i.point).collect(),
                band: Some((
                    ci.iter().map(|i| i.lo).collect(),
                    ci.iter().map(|i| i.hi).collect(),
                )),
            }
        })
        .collect();
    Figure::line(
        "across_envs_profile",
        LineChart {
            title: format!("{}: performance profile across environments", exp.name),
            x_label: "Normalised final return τ (random 0, reference 1)".into(),
            y_label: format!(
                "Fraction of runs > τ ({:.0}% stratified CI)",
                rc.confidence * 100.0
            ),
            series,
            hlines: vec![],
            y_range: Some((0.0, 1.0)),
        },
    )
}

/// rliable's sample-efficiency curves: at each env-step bin, the IQM over all runs of the
/// normalised mean training return, with a stratified bootstrap band. Step budgets only.
fn sample_efficiency_chart(exp: &Experiment, algs: &[Algorithm]) -> Option<Figure> {
    let rc = &exp.report;
    let budget = exp.points.iter().filter_map(|p| p.train.steps).max()?;
    let bins = algs
        .iter()
        .flat_map(|a| a.curves.iter().flatten())
        .map(Vec::len)
        .max();
    let width = budget as f64 / bins.unwrap_or(1).max(1) as f64;
    let series = algs
        .iter()
        .map(|a| {
            let (mut x, mut y, mut lo, mut hi) = (vec![], vec![], vec![], vec![]);
            for i in 0..bins.unwrap_or(0) {
                let values = a.at_bin(i);
                if values.iter().any(Vec::is_empty) {
                    continue;
                }
                let strata: Vec<&[f64]> = values.iter().map(Vec::as_slice).collect();
                let seed = label_seed(&format!("{}|across|bin{i}", a.label));
                let ci =
                    stats::bootstrap_ci(&strata, &stats::iqm, rc.resamples, rc.confidence, seed);
                x.push((i as f64 + 1.0) * width);
                y.push(ci.point);
                lo.push(ci.lo);
                hi.push(ci.hi);
            }
            Series {
                label: a.label.clone(),
                x,
                y,
                band: Some((lo, hi)),
            }
        })
        .collect();
    Some(Figure::line(
        "across_envs_sample_efficiency",
        LineChart {
            title: format!("{}: sample efficiency across environments", exp.name),
            x_label: "Environment steps".into(),
            y_label: format!(
                "IQM normalised training return ({:.0}% stratified CI)",
                rc.confidence * 100.0
            ),
            series,
            hlines: vec![(1.0, "reference".into())],
            y_range: None,
        },
    ))
}
