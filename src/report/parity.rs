//! Parity with a reference implementation (`sweep parity`): one experiment against the same
//! settings run by another code base (a PyTorch script under `bench/peers/`), compared on each
//! run's mean return over the final quarter of training. The verdict is an equivalence test:
//! the bootstrap interval of (ours − reference) inside ±`margin` × the reference's mean is
//! parity, an interval wholly outside that band differs, anything else is inconclusive. Both
//! learning curves go on one chart; both code bases' frames per second into the table.

use super::charts::{self, LineChart, Series};
use crate::stats::{self, Interval};
use crate::store::{read_csv, write_atomic, StoreError};
use polars::prelude::{DataFrame, DataType, PolarsError};
use serde::Serialize;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Bins of the learning-curve chart.
const BINS: usize = 40;

/// What can go wrong reading the two sides or writing the comparison.
#[derive(Debug, thiserror::Error)]
pub enum ParityError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{path}: {message}")]
    Data { path: PathBuf, message: String },
    #[error(transparent)]
    Plot(#[from] charts::PlotError),
}

/// One run of either side: its seed, every finished episode as (env steps at its end,
/// return), and its frames per second when known.
#[derive(Debug, Clone, PartialEq)]
pub struct RunCurve {
    pub seed: u64,
    pub episodes: Vec<(u64, f64)>,
    pub frames_per_s: Option<f64>,
}

impl RunCurve {
    /// Mean return of the episodes that ended after `0.75 × budget` env steps (NaN if none).
    pub fn final_quarter_mean(&self, budget: u64) -> f64 {
        let from = budget as f64 * 0.75;
        let last: Vec<f64> = self
            .episodes
            .iter()
            .filter(|(steps, _)| *steps as f64 > from)
            .map(|(_, ret)| *ret)
            .collect();
        stats::mean(&last)
    }
}

/// One side of the comparison, summarised.
#[derive(Debug, Clone, Serialize)]
pub struct Side {
    pub label: String,
    pub seeds: Vec<u64>,
    /// Per run, in seed order: mean return over the final quarter.
    pub final_quarter: Vec<f64>,
    pub mean: f64,
    /// Median over runs, where every run has a figure.
    pub frames_per_s: Option<f64>,
}

impl Side {
    fn of(label: &str, runs: &[RunCurve], budget: u64) -> Side {
        let final_quarter: Vec<f64> = runs.iter().map(|r| r.final_quarter_mean(budget)).collect();
        let fps: Option<Vec<f64>> = runs.iter().map(|r| r.frames_per_s).collect();
        Side {
            label: label.to_owned(),
            seeds: runs.iter().map(|r| r.seed).collect(),
            mean: stats::mean(&final_quarter),
            final_quarter,
            frames_per_s: fps.filter(|f| !f.is_empty()).map(|f| stats::median(&f)),
        }
    }
}

/// The equivalence verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// The interval of (ours − reference) lies inside ±margin × the reference's mean.
    Parity,
    /// The interval lies wholly outside that band.
    Differs,
    /// Neither: more seeds would tell.
    Inconclusive,
}

/// The comparison of two sides.
#[derive(Debug, Clone, Serialize)]
pub struct Parity {
    pub experiment: String,
    pub budget: u64,
    pub ours: Side,
    pub reference: Side,
    /// Mean of ours − mean of the reference, with its percentile bootstrap interval.
    pub difference: Interval,
    /// Half-width of the band as a fraction of the reference's mean (0.2: ±20%).
    pub margin: f64,
    pub confidence: f64,
    pub verdict: Verdict,
}

/// How the two sides are compared.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    pub margin: f64,
    pub resamples: usize,
    pub confidence: f64,
    pub seed: u64,
}

/// Compare `ours` with `reference`, both trained for `budget` env steps.
pub fn compare(
    experiment: &str,
    (ours, ours_label): (&[RunCurve], &str),
    (reference, reference_label): (&[RunCurve], &str),
    budget: u64,
    s: Settings,
) -> Parity {
    let ours = Side::of(ours_label, ours, budget);
    let reference = Side::of(reference_label, reference, budget);
    let difference = stats::bootstrap_diff_ci(
        &ours.final_quarter,
        &reference.final_quarter,
        &stats::mean,
        s.resamples,
        s.confidence,
        s.seed,
    );
    let band = s.margin * reference.mean.abs();
    let verdict = if difference.lo >= -band && difference.hi <= band {
        Verdict::Parity
    } else if difference.lo > band || difference.hi < -band {
        Verdict::Differs
    } else {
        Verdict::Inconclusive
    };
    Parity {
        experiment: experiment.to_owned(),
        budget,
        ours,
        reference,
        difference,
        margin: s.margin,
        confidence: s.confidence,
        verdict,
    }
}

fn data_error(path: &Path, e: impl ToString) -> ParityError {
    ParityError::Data {
        path: path.to_owned(),
        message: e.to_string(),
    }
}

/// A numeric column of `df` as f64 (`path` names the file in errors).
fn column(df: &DataFrame, name: &str, path: &Path) -> Result<Vec<f64>, ParityError> {
    let read = || -> Result<Vec<f64>, PolarsError> {
        let c = df.column(name)?.cast(&DataType::Float64)?;
        Ok(c.f64()?.iter().map(|v| v.unwrap_or(f64::NAN)).collect())
    };
    read().map_err(|e| data_error(path, format!("column `{name}`: {e}")))
}

/// Rows grouped into runs by `seeds` (in order of first appearance), keeping rows where
/// `keep` holds.
fn runs_by_seed(seeds: &[f64], steps: &[f64], returns: &[f64], keep: &[bool]) -> Vec<RunCurve> {
    let mut runs: Vec<RunCurve> = Vec::new();
    for i in (0..seeds.len()).filter(|&i| keep[i]) {
        let seed = seeds[i] as u64;
        let run = match runs.iter().position(|r| r.seed == seed) {
            Some(k) => &mut runs[k],
            None => {
                runs.push(RunCurve {
                    seed,
                    episodes: Vec::new(),
                    frames_per_s: None,
                });
                runs.last_mut().expect("just pushed")
            }
        };
        run.episodes.push((steps[i] as u64, returns[i]));
    }
    runs
}

/// Our runs of one grid point from the experiment's `runs.csv` (written by every report);
/// frames per second from each run's last episode (`steps / wall_s`).
pub fn read_ours(runs_csv: &Path, grid_point: &str) -> Result<Vec<RunCurve>, ParityError> {
    let df = read_csv(runs_csv)?;
    let points = df
        .column("grid_point")
        .and_then(|c| c.cast(&DataType::String))
        .map_err(|e| data_error(runs_csv, e))?;
    let points: Vec<String> = points
        .str()
        .map_err(|e| data_error(runs_csv, e))?
        .iter()
        .map(|v| v.unwrap_or_default().to_owned())
        .collect();
    let keep: Vec<bool> = points.iter().map(|p| p == grid_point).collect();
    if !keep.contains(&true) {
        let message = format!("no rows of grid point `{grid_point}` (run the experiment first)");
        return Err(data_error(runs_csv, message));
    }
    let (seeds, steps) = (
        column(&df, "seed", runs_csv)?,
        column(&df, "steps", runs_csv)?,
    );
    let (returns, wall) = (
        column(&df, "return", runs_csv)?,
        column(&df, "wall_s", runs_csv)?,
    );
    let mut runs = runs_by_seed(&seeds, &steps, &returns, &keep);
    for run in &mut runs {
        let last = (0..seeds.len()).rfind(|&i| keep[i] && seeds[i] as u64 == run.seed);
        run.frames_per_s = last.map(|i| steps[i] / wall[i]).filter(|f| f.is_finite());
    }
    Ok(runs)
}

/// The reference's runs from `reference.csv` (`seed,episode,frames,return,cut`; episodes cut
/// by the budget are left out, as ours are never recorded) and, when it sits beside it,
/// `reference.json` (each seed's `frames_per_s`).
pub fn read_reference(csv: &Path) -> Result<Vec<RunCurve>, ParityError> {
    let df = read_csv(csv)?;
    let (seeds, frames) = (column(&df, "seed", csv)?, column(&df, "frames", csv)?);
    let (returns, cut) = (column(&df, "return", csv)?, column(&df, "cut", csv)?);
    let keep: Vec<bool> = cut.iter().map(|c| *c == 0.0).collect();
    let mut runs = runs_by_seed(&seeds, &frames, &returns, &keep);
    let json = csv.with_file_name("reference.json");
    if json.exists() {
        let text = std::fs::read(&json).map_err(|e| StoreError::io(&json, e))?;
        let meta: serde_json::Value =
            serde_json::from_slice(&text).map_err(|e| data_error(&json, e))?;
        for s in meta["seeds"].as_array().into_iter().flatten() {
            let seed = s["seed"].as_u64();
            if let Some(run) = runs.iter_mut().find(|r| Some(r.seed) == seed) {
                run.frames_per_s = s["frames_per_s"].as_f64();
            }
        }
    }
    if runs.is_empty() {
        return Err(data_error(csv, "no episodes"));
    }
    Ok(runs)
}

/// Mean return per bin of `budget / BINS` env steps, then mean and min–max across runs.
fn curve(label: &str, runs: &[RunCurve], budget: u64) -> Series {
    let width = (budget as f64 / BINS as f64).max(1.0);
    let per_run: Vec<Vec<f64>> = runs
        .iter()
        .map(|r| {
            let mut sums = vec![(0.0, 0u32); BINS];
            for &(steps, ret) in &r.episodes {
                let bin = ((steps as f64 - 1.0) / width).clamp(0.0, BINS as f64 - 1.0) as usize;
                sums[bin] = (sums[bin].0 + ret, sums[bin].1 + 1);
            }
            sums.iter()
                .map(|&(s, n)| if n > 0 { s / f64::from(n) } else { f64::NAN })
                .collect()
        })
        .collect();
    let at = |i: usize| -> Vec<f64> {
        per_run
            .iter()
            .map(|v| v[i])
            .filter(|v| v.is_finite())
            .collect()
    };
    let bins: Vec<usize> = (0..BINS).filter(|&i| !at(i).is_empty()).collect();
    let of = |f: fn(&[f64]) -> f64| bins.iter().map(|&i| f(&at(i))).collect::<Vec<f64>>();
    Series {
        label: format!("{label} (n={})", runs.len()),
        x: bins.iter().map(|&i| (i as f64 + 1.0) * width).collect(),
        y: of(stats::mean),
        band: Some((
            of(|v| v.iter().copied().fold(f64::INFINITY, f64::min)),
            of(|v| v.iter().copied().fold(f64::NEG_INFINITY, f64::max)),
        )),
    }
}

/// `<stem>.svg` / `<stem>.png`: both sides' learning curves.
fn chart(
    p: &Parity,
    (ours, reference): (&[RunCurve], &[RunCurve]),
    stem: &Path,
) -> Result<Vec<PathBuf>, ParityError> {
    let chart = LineChart {
        title: p.experiment.clone(),
        x_label: format!(
            "Environment steps (final quarter from {})",
            p.budget * 3 / 4
        ),
        y_label: "Episode return (mean, min–max across seeds)".into(),
        series: vec![
            curve(&p.ours.label, ours, p.budget),
            curve(&p.reference.label, reference, p.budget),
        ],
        hlines: Vec::new(),
        y_range: None,
    };
    Ok(charts::line_chart(&chart, stem)?)
}

fn fmt_fps(f: Option<f64>) -> String {
    f.map_or("–".into(), |f| format!("{f:.0}"))
}

/// The Markdown table and verdict.
pub fn markdown(p: &Parity) -> String {
    let mut s = format!(
        "# {} — parity with {}\n\nMean return over the final quarter of training (episodes ending after {} of {} env steps), per run, then across runs; (ours − reference) with its {:.0}% percentile bootstrap interval; parity when that interval lies within ±{:.0}% of the reference's mean.\n\n",
        p.experiment,
        p.reference.label,
        p.budget * 3 / 4,
        p.budget,
        p.confidence * 100.0,
        p.margin * 100.0
    );
    s.push_str("| side | seeds | final-quarter mean | per run | frames/s (median) |\n|---|---|---|---|---|\n");
    for side in [&p.ours, &p.reference] {
        let per_run: Vec<String> = side
            .final_quarter
            .iter()
            .map(|v| format!("{v:.2}"))
            .collect();
        let _ = writeln!(
            s,
            "| {} | {} | {:.2} | {} | {} |",
            side.label,
            side.seeds.len(),
            side.mean,
            per_run.join(", "),
            fmt_fps(side.frames_per_s)
        );
    }
    let d = &p.difference;
    let band = p.margin * p.reference.mean.abs();
    let _ = write!(
        s,
        "\nours − reference: **{:+.2}** [{:+.2}, {:+.2}] ({:+.1}% of the reference's mean; band ±{band:.2})\n\nverdict: **{}**\n",
        d.point,
        d.lo,
        d.hi,
        100.0 * d.point / p.reference.mean,
        match p.verdict {
            Verdict::Parity => "parity",
            Verdict::Differs => "differs",
            Verdict::Inconclusive => "inconclusive",
        }
    );
    s
}

/// Write `<stem>.md`, `<stem>.json` and the chart into `dir`; returns the files.
pub fn write(
    p: &Parity,
    (ours, reference): (&[RunCurve], &[RunCurve]),
    dir: &Path,
    stem: &str,
) -> Result<Vec<PathBuf>, ParityError> {
    std::fs::create_dir_all(dir).map_err(|e| StoreError::io(dir, e))?;
    let md = dir.join(format!("{stem}.md"));
    write_atomic(&md, markdown(p).as_bytes())?;
    let json = dir.join(format!("{stem}.json"));
    let text = serde_json::to_vec_pretty(p).map_err(|e| data_error(&json, e))?;
    write_atomic(&json, &text)?;
    let mut files = vec![md, json];
    files.extend(chart(p, (ours, reference), &dir.join(stem))?);
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(seed: u64, returns: &[(u64, f64)]) -> RunCurve {
        RunCurve {
            seed,
            episodes: returns.to_vec(),
            frames_per_s: Some(100.0),
        }
    }

    #[test]
    fn the_final_quarter_is_the_episodes_ending_after_three_quarters_of_the_budget() {
        let r = run(0, &[(10, 100.0), (75, 50.0), (76, 4.0), (100, 6.0)]);
        assert_eq!(r.final_quarter_mean(100), 5.0);
        assert!(r.final_quarter_mean(1000).is_nan());
    }

    fn side(seed0: u64, level: f64) -> Vec<RunCurve> {
        (0..5)
            .map(|i| run(seed0 + i, &[(90, level + i as f64)]))
            .collect()
    }

    fn verdict(ours: f64, reference: f64) -> Verdict {
        let s = Settings {
            margin: 0.2,
            resamples: 2000,
            confidence: 0.95,
            seed: 1,
        };
        compare(
            "t",
            (&side(0, ours), "ours"),
            (&side(10, reference), "ref"),
            100,
            s,
        )
        .verdict
    }

    #[test]
    fn verdicts_follow_the_interval_and_the_band() {
        // Spread ±2 around each level: the same level is parity, 50% lower differs, and a gap
        // near the band's edge cannot be told (the interval straddles it).
        assert_eq!(verdict(100.0, 100.0), Verdict::Parity);
        assert_eq!(verdict(50.0, 100.0), Verdict::Differs);
        assert_eq!(verdict(120.0, 100.0), Verdict::Inconclusive);
    }

    #[test]
    fn the_table_states_the_interval_and_the_verdict() {
        let s = Settings {
            margin: 0.2,
            resamples: 500,
            confidence: 0.95,
            seed: 1,
        };
        let p = compare(
            "exp",
            (&side(0, 10.0), "ours"),
            (&side(0, 10.0), "ref"),
            100,
            s,
        );
        let md = markdown(&p);
        assert!(md.contains("verdict: **parity**"), "{md}");
        assert!(md.contains("| ours | 5 | 12.00 |"), "{md}");
        assert!(md.contains("±20%"), "{md}");
    }
}
