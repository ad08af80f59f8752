//! Everything written after the runs: polars tables (`runs.csv`, `run_scores.csv`,
//! `summary.csv`), Markdown (`summary.md`, `comparison.md`), `scores.json` for rliable and
//! plotters charts.

pub mod across;
pub mod charts;
pub mod comparison;
pub mod export;
pub mod normalize;
pub mod parity;
pub mod per_env;
pub mod scores;
pub mod step_curves;

use crate::config::{Experiment, ReportConfig};
use crate::stats::{self, Interval};
use crate::store::{self, write_atomic, write_csv, ExperimentDir, StoreError};
use crate::sweep::RunResult;
use charts::{LineChart, Series};
use polars::prelude::*;
use scores::RunScores;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("building tables: {0}")]
    Polars(#[from] PolarsError),
    #[error(transparent)]
    Plot(#[from] charts::PlotError),
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

/// Write every table and chart of the experiment into `<results>/<name>/`.
pub fn write_report(
    exp: &Experiment,
    results: &[RunResult],
    dir: &ExperimentDir,
) -> Result<Report, ReportError> {
    let rc = &exp.report;
    let scores: Vec<RunScores> = results.iter().map(|r| RunScores::of(r, rc)).collect();
    let mut files = Vec::new();

    let mut runs = runs_frame(exp, results)?;
    let path = dir.file("runs.csv");
    write_csv(&path, &mut runs)?;
    files.push(path);

    let norms = normalize::normalizers(exp);
    let mut per_run = run_scores_frame(exp, &scores, &norms)?;
    let path = dir.file("run_scores.csv");
    write_csv(&path, &mut per_run)?;
    files.push(path);

    let mut summary = summary_frame(&per_run, rc)?;
    let path = dir.file("summary.csv");
    write_csv(&path, &mut summary)?;
    files.push(path);

    let failed: Vec<&RunScores> = scores.iter().filter(|s| !s.ok).collect();
    let mut md = format!("# {} — summary\n\n", exp.name);
    if !exp.description.is_empty() {
        md.push_str(&format!("{}\n\n", exp.description));
    }
    let thresholds: Vec<String> = {
        let mut t: Vec<String> = exp
            .points
            .iter()
            .map(|p| fmt_num(scores::threshold_for(rc, &p.env), 0))
            .collect();
        t.dedup();
        t
    };
    let solved = if thresholds.iter().all(|t| t == "–") {
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
    };
    md.push_str(&format!(
        "{} grid point(s) × {} seed(s); final = mean return of the last {} episodes; \
         IQM with a {:.0}% bootstrap interval ({} resamples); {solved}; normalized = {}.\n\n",
        exp.points.len(),
        exp.seeds.len(),
        rc.final_window,
        rc.confidence * 100.0,
        rc.resamples,
        if norms.is_empty() {
            "final / the env's largest return (– without one)"
        } else {
            "(final − random) / (reference − random) as `[report.normalize]` states (across_envs.md)"
        },
    ));
    md.push_str(&markdown_table(&summary)?);
    if let Some(note) = across::missing_references(exp, &norms) {
        md.push_str(&format!("\n{note}\n"));
    }
    if !failed.is_empty() {
        md.push_str("\n## Failed runs\n\n");
        for s in &failed {
            md.push_str(&format!(
                "- {} seed {}: {}\n",
                exp.points[s.point].label,
                s.seed,
                s.failure.as_deref().unwrap_or("")
            ));
        }
    }
    let path = dir.file("summary.md");
    write_atomic(&path, md.as_bytes())?;
    files.push(path);

    let path = dir.file("scores.json");
    let doc = serde_json::to_vec_pretty(&export::scores_json(exp, &scores))
        .expect("a JSON value serialises");
    write_atomic(&path, &doc)?;
    files.push(path);

    files.extend(across::report(exp, results, &scores, &norms, dir)?);
    if let Some(text) = comparison::comparison_markdown(exp, &per_run)? {
        let path = dir.file("comparison.md");
        write_atomic(&path, text.as_bytes())?;
        files.push(path);
    }

    files.extend(charts(exp, results, &scores, dir)?);
    Ok(Report {
        dir: dir.root.clone(),
        summary_markdown: md,
        failed_runs: failed.len(),
        files,
    })
}

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
            None => stats::normalize(s.final_return, 0.0, env.id.max_return().unwrap_or(f64::NAN)),
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

/// Format a cell for Markdown: integers plainly, floats with `decimals`, NaN as "–".
pub fn fmt_num(v: f64, decimals: usize) -> String {
    if !v.is_finite() {
        "–".into()
    } else {
        format!("{v:.decimals$}")
    }
}

/// A DataFrame as a GitHub Markdown table (floats to 1 decimal, 3 for small magnitudes).
pub fn markdown_table(df: &DataFrame) -> PolarsResult<String> {
    let names: Vec<String> = df
        .get_column_names()
        .iter()
        .map(|s| s.to_string())
        .collect();
    let mut out = format!(
        "| {} |\n|{}\n",
        names.join(" | "),
        "---|".repeat(names.len())
    );
    for i in 0..df.height() {
        let cells: Vec<String> = df
            .columns()
            .iter()
            .map(|c| match c.get(i) {
                Ok(AnyValue::Float64(v)) => {
                    fmt_num(v, if v.abs() < 10.0 && v != 0.0 { 3 } else { 1 })
                }
                Ok(AnyValue::String(s)) => s.to_owned(),
                Ok(AnyValue::StringOwned(s)) => s.to_string(),
                Ok(v) => v.to_string(),
                Err(_) => "?".into(),
            })
            .collect();
        out.push_str(&format!("| {} |\n", cells.join(" | ")));
    }
    Ok(out)
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

fn charts(
    exp: &Experiment,
    results: &[RunResult],
    scores: &[RunScores],
    dir: &ExperimentDir,
) -> Result<Vec<PathBuf>, ReportError> {
    let mut files = Vec::new();
    // Figure 8-8 for each run: drawn when the run is stored; here only where it is missing
    // (runs stored by older versions), in parallel.
    use rayon::prelude::*;
    let missing: Vec<&RunResult> = results
        .iter()
        .filter(|r| r.ok() && !run_chart_exists(exp, dir, r))
        .collect();
    let drawn: Vec<Vec<PathBuf>> = missing
        .par_iter()
        .map(|r| write_run_chart(exp, dir, r))
        .collect::<Result<_, _>>()?;
    files.extend(drawn.into_iter().flatten());
    // Figure 8-8 per grid point: every seed's total reward per episode.
    for (p, point) in exp.points.iter().enumerate() {
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
        files.extend(charts::line_chart(&chart, &dir.file(&name))?);
    }
    files.extend(comparison_charts(exp, results, scores, dir)?);
    for view in per_env::views(exp, results, scores) {
        let sub = ExperimentDir {
            root: dir.root.join("by-env").join(&view.slug),
        };
        files.extend(comparison_charts(
            &view.exp,
            &view.results,
            &view.scores,
            &sub,
        )?);
    }
    Ok(files)
}

/// The charts that compare grid points: learning curves by episode and by env step,
/// evaluation curves, Q over-estimation, final-return distribution, performance profile.
fn comparison_charts(
    exp: &Experiment,
    results: &[RunResult],
    scores: &[RunScores],
    dir: &ExperimentDir,
) -> Result<Vec<PathBuf>, ReportError> {
    let mut files = Vec::new();
    // Learning curves: one line per grid point, mean across seeds with an IQR band.
    let per_point =
        |p: usize| -> Vec<&RunScores> { scores.iter().filter(|s| s.point == p && s.ok).collect() };
    let series: Vec<Series> = (0..exp.points.len())
        .filter_map(|p| {
            let runs = per_point(p);
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
    files.extend(charts::line_chart(&chart, &dir.file("learning_curves"))?);
    files.extend(comparison::charts(exp, results, scores, dir)?);
    files.extend(step_curves::charts(exp, results, dir)?);
    Ok(files)
}
