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

use super::scores::RunScores;
use crate::config::{point_label, Experiment};
use serde_json::{json, Map, Value};

/// The `scores.json` document: `tasks`, `seeds`, `metric` and `scores`.
pub fn scores_json(exp: &Experiment, scores: &[RunScores]) -> Value {
    let mut tasks: Vec<String> = Vec::new();
    let mut algorithms: Vec<String> = Vec::new();
    for p in &exp.points {
        let task = p.env.id.to_string();
        if !tasks.contains(&task) {
            tasks.push(task);
        }
        let alg = algorithm(&p.values);
        if !algorithms.contains(&alg) {
            algorithms.push(alg);
        }
    }
    let score = |alg: &str, task: &str, seed: u64| -> Value {
        scores
            .iter()
            .find(|s| {
                let p = &exp.points[s.point];
                s.seed == seed && p.env.id.to_string() == task && algorithm(&p.values) == alg
            })
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
        by_alg.insert(alg.clone(), Value::Array(rows));
    }
    json!({
        "experiment": exp.name,
        "metric": format!("final_return (mean return of the last {} training episodes)", exp.report.final_window),
        "tasks": tasks,
        "seeds": exp.seeds,
        "scores": by_alg,
    })
}

/// The grid point's label without the environment (`default` when only the env is swept).
fn algorithm(values: &[(String, String)]) -> String {
    let rest: Vec<(String, String)> = values.iter().filter(|(k, _)| k != "id").cloned().collect();
    point_label(&rest)
}
