//! Per-environment views of an experiment that sweeps `env.id`: returns of different games
//! live on different scales (Breakout ≈ 4, Space Invaders ≈ 25 after 50k steps), so the
//! comparison charts are also drawn for each environment alone, under `by-env/<env>/`, with
//! the environment left out of the labels.

use super::scores::RunScores;
use crate::config::{point_label, slugify, Experiment};
use crate::sweep::RunResult;

/// One environment's share of an experiment, with grid points renumbered from 0.
pub struct EnvView {
    /// File-system-safe env id, e.g. `MinAtar~Breakout`.
    pub slug: String,
    pub exp: Experiment,
    pub results: Vec<RunResult>,
    pub scores: Vec<RunScores>,
}

/// One view per environment, in the order of the grid; none unless two or more envs are swept.
pub fn views(exp: &Experiment, results: &[RunResult], scores: &[RunScores]) -> Vec<EnvView> {
    let ids = env_ids(exp);
    if ids.len() < 2 {
        return Vec::new();
    }
    ids.iter()
        .map(|id| view(exp, results, scores, id))
        .collect()
}

fn view(exp: &Experiment, results: &[RunResult], scores: &[RunScores], id: &str) -> EnvView {
    let kept: Vec<usize> = (0..exp.points.len())
        .filter(|&p| exp.points[p].env.id.to_string() == id)
        .collect();
    let new_index = |p: usize| kept.iter().position(|&k| k == p);
    let mut sub = exp.clone();
    sub.name = format!("{} — {id}", exp.name);
    sub.swept.retain(|k| k != "env.id");
    sub.points = kept
        .iter()
        .map(|&p| {
            let mut point = exp.points[p].clone();
            point.values = without_env(&point.values);
            point.label = point_label(&point.values);
            point.slug = slugify(&point.values);
            point
        })
        .collect();
    EnvView {
        slug: id.replace('/', "~"),
        exp: sub,
        results: results
            .iter()
            .filter_map(|r| new_index(r.point).map(|point| RunResult { point, ..r.clone() }))
            .collect(),
        scores: scores
            .iter()
            .filter_map(|s| new_index(s.point).map(|point| RunScores { point, ..s.clone() }))
            .collect(),
    }
}

/// The environment ids of the grid, each once, in grid order.
pub fn env_ids(exp: &Experiment) -> Vec<String> {
    let mut ids: Vec<String> = Vec::new();
    for p in &exp.points {
        let id = p.env.id.to_string();
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    ids
}

/// A grid point's swept values without the environment id (`env.id` is stored as `id`).
pub fn without_env(values: &[(String, String)]) -> Vec<(String, String)> {
    values.iter().filter(|(k, _)| k != "id").cloned().collect()
}
