//! Exports for other tools: `scores.json` (below) and, with the `parquet` feature, the tables
//! as Parquet ([`parquet_bytes`]).
//!
//! `scores.json`: every run's final return in the shape rliable's `get_interval_estimates`
//! takes — `{algorithm: runs × tasks}` — so users can plot with rliable directly:
//!
//! ```python
//! import json, numpy as np
//! from rliable import library as rly, metrics
//! doc = json.load(open("results/minatar-ablation/scores.json"))
//! scores = {alg: np.array(m, dtype=float) for alg, m in doc["scores"].items()}
//! iqm, cis = rly.get_interval_estimates(scores, lambda x: np.array([metrics.aggregate_iqm(x)]))
//! ```
//!
//! An algorithm is a grid point without its environment; a task is an environment; rows are
//! the experiment's seeds in order. A failed run is `null` (NaN in numpy).

use super::per_env::without_env;
use super::scores::RunScores;
use crate::config::{point_label, Experiment};
use serde_json::{json, Map, Value};

/// The `scores.json` document: `tasks`, `seeds`, `metric` and `scores`.
pub fn scores_json(exp: &Experiment, scores: &[RunScores]) -> Value {
    // (algorithm, task) of each grid point, and both lists in grid order.
    let keys: Vec<(String, String)> = exp
        .points
        .iter()
        .map(|p| (point_label(&without_env(&p.values)), p.env.id.to_string()))
        .collect();
    let mut tasks: Vec<&str> = Vec::new();
    let mut algorithms: Vec<&str> = Vec::new();
    for (alg, task) in &keys {
        if !tasks.contains(&task.as_str()) {
            tasks.push(task);
        }
        if !algorithms.contains(&alg.as_str()) {
            algorithms.push(alg);
        }
    }
    let score = |alg: &str, task: &str, seed: u64| -> Value {
        scores
            .iter()
            .find(|s| s.seed == seed && keys[s.point].0 == alg && keys[s.point].1 == task)
            .filter(|s| s.ok && s.final_return.is_finite())
            .map_or(Value::Null, |s| json!(s.final_return))
    };
    let mut by_alg = Map::new();
    for alg in &algorithms {
        let rows: Vec<Value> = exp
            .seeds
            .iter()
            .map(|&seed| Value::Array(tasks.iter().map(|t| score(alg, t, seed)).collect()))
            .collect();
        by_alg.insert((*alg).to_owned(), Value::Array(rows));
    }
    json!({
        "experiment": exp.name,
        "metric": format!("final_return (mean return of the last {} training episodes)", exp.report.final_window),
        "tasks": tasks,
        "seeds": exp.seeds,
        "scores": by_alg,
    })
}

/// A table as Parquet (feature `parquet`), written beside its CSV by the report: typed columns
/// for `pd.read_parquet` and `pl.read_parquet`.
#[cfg(feature = "parquet")]
pub fn parquet_bytes(
    df: &mut polars::prelude::DataFrame,
) -> polars::prelude::PolarsResult<Vec<u8>> {
    let mut buf = Vec::new();
    polars::prelude::ParquetWriter::new(&mut buf).finish(df)?;
    Ok(buf)
}
