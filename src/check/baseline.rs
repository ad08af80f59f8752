//! Baseline files: what `sweep bless` writes into `results/baselines/<experiment>/` and how a
//! check reads it back — `baseline.json` (grid points, resolved configs, per-seed scores) and
//! `curves.csv` (every training episode's measured quantities, long form).

use super::exact::{Quantity, RunCurves};
use super::{CheckError, BASELINE_FILE, CURVES_FILE, CURVES_HEADER, FORMAT};
use crate::config::{AgentConfig, EnvConfig, Experiment, GridPoint, TrainConfig};
use crate::stats;
use crate::store::{write_atomic, RunStatus};
use crate::sweep::RunResult;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Header of `curves.csv` in baselines of format 1 (returns only).
const CURVES_HEADER_V1: &str = "grid_point,seed,episode,return";

/// `baseline.json`; `C` is the typed config when writing, a JSON value when reading.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct BaselineFile<C> {
    format: u32,
    experiment: String,
    description: String,
    /// Episodes averaged for the runs' `final_return`.
    final_window: usize,
    /// The matrix kernels of the machine that blessed it ([`crate::fingerprint::kernel_family`]);
    /// absent in baselines blessed before it was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    kernel: Option<String>,
    points: Vec<BaselinePoint<C>>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct BaselinePoint<C> {
    label: String,
    /// The grid point's key in `curves.csv`.
    slug: String,
    /// The resolved run config without its seed.
    config: C,
    runs: Vec<BaselineRun>,
}

/// One blessed run. Scores are rounded to 3 decimals and only for reading: checks recompute
/// them from `curves.csv`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct BaselineRun {
    seed: u64,
    episodes: usize,
    final_return: f64,
    auc: f64,
    eval_returns: Vec<f64>,
}

/// The config of a grid point as stored in a baseline.
#[derive(Serialize)]
pub(super) struct PointConfig<'a> {
    env: &'a EnvConfig,
    agent: &'a AgentConfig,
    train: &'a TrainConfig,
}

impl<'a> PointConfig<'a> {
    pub(super) fn of(p: &'a GridPoint) -> Self {
        PointConfig {
            env: &p.env,
            agent: &p.agent,
            train: &p.train,
        }
    }
}

/// A grid point of a baseline, as read back.
#[derive(Debug)]
pub(super) struct StoredPoint {
    pub label: String,
    pub config: serde_json::Value,
    pub runs: Vec<RunCurves>,
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// Store the experiment's runs as its baseline in `dir` (`baseline.json`, `curves.csv`),
/// replacing any earlier one. The files are byte-identical for identical runs. Every run must
/// have finished successfully and every grid point must have runs.
pub(super) fn write(
    exp: &Experiment,
    results: &[RunResult],
    dir: &Path,
) -> Result<Vec<PathBuf>, CheckError> {
    blessable(exp, results)?;
    let mut points = Vec::with_capacity(exp.points.len());
    let mut csv = String::from(CURVES_HEADER);
    csv.push('\n');
    for (i, p) in exp.points.iter().enumerate() {
        let mut runs: Vec<&RunResult> = results.iter().filter(|r| r.point == i).collect();
        if runs.is_empty() {
            return Err(CheckError::Bless {
                experiment: exp.name.clone(),
                message: format!("grid point {} has no runs", p.label),
            });
        }
        runs.sort_by_key(|r| r.run.config.seed);
        let mut stored = Vec::with_capacity(runs.len());
        for r in runs {
            let c = RunCurves::of(r);
            let series = c.series();
            for episode in 0..c.returns.len() {
                let _ = write!(csv, "{},{},{episode}", p.slug, c.seed);
                // `{}` prints the shortest text that parses back to the same f64 ("23" for
                // 23.0, "NaN" for a loss before learning starts).
                for (_, values) in &series {
                    let _ = write!(csv, ",{}", values[episode]);
                }
                csv.push('\n');
            }
            stored.push(BaselineRun {
                seed: c.seed,
                episodes: c.returns.len(),
                final_return: round3(stats::last_n_mean(&c.returns, exp.report.final_window)),
                auc: round3(stats::area_under_curve(&c.returns)),
                eval_returns: c.eval,
            });
        }
        points.push(BaselinePoint {
            label: p.label.clone(),
            slug: p.slug.clone(),
            config: PointConfig::of(p),
            runs: stored,
        });
    }
    let file = BaselineFile {
        format: FORMAT,
        experiment: exp.name.clone(),
        description: exp.description.clone(),
        final_window: exp.report.final_window,
        kernel: Some(crate::fingerprint::kernel_family().to_owned()),
        points,
    };
    let mut json = serde_json::to_vec_pretty(&file).expect("a baseline serialises");
    json.push(b'\n');

    let (json_path, csv_path) = (dir.join(BASELINE_FILE), dir.join(CURVES_FILE));
    write_atomic(&csv_path, csv.as_bytes())?;
    write_atomic(&json_path, &json)?;
    Ok(vec![json_path, csv_path])
}

/// Every run belongs to a grid point of `exp` and finished successfully.
fn blessable(exp: &Experiment, results: &[RunResult]) -> Result<(), CheckError> {
    let bless_err = |message: String| CheckError::Bless {
        experiment: exp.name.clone(),
        message,
    };
    if let Some(r) = results.iter().find(|r| r.point >= exp.points.len()) {
        return Err(bless_err(format!(
            "a run belongs to grid point #{} but the experiment has {}",
            r.point,
            exp.points.len()
        )));
    }
    if let Some(r) = results.iter().find(|r| !r.ok()) {
        let reason = match &r.run.info.status {
            RunStatus::Failed { reason } => reason.as_str(),
            RunStatus::Ok => "",
        };
        return Err(bless_err(format!(
            "run {} seed {} failed ({reason}); only successful runs can be blessed",
            exp.points[r.point].label, r.run.config.seed
        )));
    }
    Ok(())
}

fn read(file: &Path) -> Result<String, CheckError> {
    std::fs::read_to_string(file).map_err(|source| CheckError::Read {
        file: file.to_owned(),
        source,
    })
}

/// A baseline as read back.
#[derive(Debug)]
pub(super) struct Baseline {
    pub points: Vec<StoredPoint>,
    /// The matrix kernels it was blessed on, when it records them.
    pub kernel: Option<String>,
    /// Its format: 1 stored returns only, 2 every [`Quantity`].
    pub format: u32,
}

/// Read a baseline written by [`bless`] for experiment `name`.
pub(super) fn load_baseline(dir: &Path, name: &str) -> Result<Baseline, CheckError> {
    let (json_path, csv_path) = (dir.join(BASELINE_FILE), dir.join(CURVES_FILE));
    if !json_path.exists() && !csv_path.exists() {
        return Err(CheckError::NoBaseline {
            dir: dir.to_owned(),
            experiment: name.to_owned(),
        });
    }
    let format_err = |message: String| CheckError::Format {
        file: json_path.clone(),
        message,
    };
    let file: BaselineFile<serde_json::Value> = serde_json::from_str(&read(&json_path)?)
        .map_err(|e| format_err(format!("expected the JSON written by `sweep bless`: {e}")))?;
    if !(1..=FORMAT).contains(&file.format) {
        return Err(format_err(format!(
            "format {} is not supported (expected 1 to {FORMAT}); bless again",
            file.format
        )));
    }
    if file.experiment != name {
        return Err(format_err(format!(
            "this is the baseline of experiment `{}`, expected `{name}`",
            file.experiment
        )));
    }
    let mut curves = read_curves(&csv_path)?;
    let (kernel, format) = (file.kernel, file.format);
    let mut points = Vec::with_capacity(file.points.len());
    for p in file.points {
        let mut runs = Vec::with_capacity(p.runs.len());
        for r in p.runs {
            let curve =
                curves
                    .remove(&(p.slug.clone(), r.seed))
                    .ok_or_else(|| CheckError::Format {
                        file: csv_path.clone(),
                        message: format!(
                            "no curve for grid point `{}` seed {} listed in {BASELINE_FILE}",
                            p.slug, r.seed
                        ),
                    })?;
            if curve.returns.len() != r.episodes {
                return Err(CheckError::Format {
                    file: csv_path.clone(),
                    message: format!(
                        "grid point `{}` seed {}: {} episodes, but {BASELINE_FILE} says {}",
                        p.slug,
                        r.seed,
                        curve.returns.len(),
                        r.episodes
                    ),
                });
            }
            runs.push(RunCurves {
                eval: r.eval_returns,
                ..curve
            });
        }
        points.push(StoredPoint {
            label: p.label,
            config: p.config,
            runs,
        });
    }
    if let Some((slug, seed)) = curves.keys().next() {
        return Err(CheckError::Format {
            file: csv_path,
            message: format!(
                "curve for grid point `{slug}` seed {seed} is not listed in {BASELINE_FILE}"
            ),
        });
    }
    Ok(Baseline {
        points,
        kernel,
        format,
    })
}

/// Parse `curves.csv`: per (grid point slug, seed), the run's quantities for episodes 0, 1,
/// 2, … in order (evaluation returns left empty: they live in `baseline.json`). Format 1
/// files have returns only.
fn read_curves(file: &Path) -> Result<BTreeMap<(String, u64), RunCurves>, CheckError> {
    let text = read(file)?;
    let line_err = |line: usize, message: String| CheckError::Line {
        file: file.to_owned(),
        line,
        message,
    };
    let mut lines = text.lines().enumerate().map(|(i, l)| (i + 1, l));
    let header = lines.next().map_or("", |(_, l)| l.trim_end());
    let all_quantities = match header {
        CURVES_HEADER => true,
        CURVES_HEADER_V1 => false,
        other => {
            return Err(line_err(
                1,
                format!("expected the header `{CURVES_HEADER}`, found `{other}`"),
            ))
        }
    };
    let mut curves: BTreeMap<(String, u64), RunCurves> = BTreeMap::new();
    for (n, line) in lines.filter(|(_, l)| !l.trim().is_empty()) {
        let row = parse_row(line, header).map_err(|m| line_err(n, m))?;
        let curve = curves
            .entry((row.slug.to_owned(), row.seed))
            .or_insert_with(|| RunCurves {
                seed: row.seed,
                returns: Vec::new(),
                measured: all_quantities.then(Default::default),
                eval: Vec::new(),
            });
        if row.episode != curve.returns.len() {
            return Err(line_err(
                n,
                format!(
                    "expected episode {} of grid point `{}` seed {} (episodes run 0, 1, 2, … in order), found {}",
                    curve.returns.len(), row.slug, row.seed, row.episode
                ),
            ));
        }
        curve.returns.push(row.values[0]);
        if let Some(m) = &mut curve.measured {
            for (column, v) in m.iter_mut().zip(&row.values[1..]) {
                column.push(*v);
            }
        }
    }
    Ok(curves)
}

/// One line of `curves.csv`.
struct Row<'a> {
    slug: &'a str,
    seed: u64,
    episode: usize,
    /// The quantities in [`Quantity`] order, as many as the header names.
    values: Vec<f64>,
}

fn parse_row<'a>(line: &'a str, header: &str) -> Result<Row<'a>, String> {
    let fields: Vec<&str> = line.trim_end().split(',').collect();
    let expected = header.split(',').count();
    if fields.len() != expected {
        return Err(format!(
            "expected {expected} fields `{header}`, found `{line}`"
        ));
    }
    let seed = fields[1]
        .parse()
        .map_err(|_| format!("expected a seed (integer), found `{}`", fields[1]))?;
    let episode = fields[2].parse().map_err(|_| {
        format!(
            "expected an episode number (integer), found `{}`",
            fields[2]
        )
    })?;
    let values = fields[3..]
        .iter()
        .zip(Quantity::ALL)
        .map(|(v, q)| {
            v.parse::<f64>()
                .map_err(|_| format!("expected a {q} (number), found `{v}`"))
        })
        .collect::<Result<Vec<f64>, String>>()?;
    Ok(Row {
        slug: fields[0],
        seed,
        episode,
        values,
    })
}
