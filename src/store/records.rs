//! The records a run produces and the store writes: one per training episode
//! (`episodes.csv`) and one per periodic evaluation (`run.json`). The training loop fills them;
//! the store owns their shape.

use serde::{Deserialize, Serialize};

/// What is recorded after each training episode.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EpisodeRecord {
    pub episode: u32,
    /// Total reward of the episode (Figure 8-8's "Total Reward").
    #[serde(rename = "return")]
    pub ret: f64,
    pub length: u32,
    /// Environment steps since the start of training, this episode included.
    pub steps: u64,
    /// Mean loss of this episode's updates (NaN before the buffer holds a batch).
    pub loss: f64,
    /// ε at the end of the episode.
    pub epsilon: f64,
    /// Mean over the held-out probe states of `max_a Q(s, a)`, at the episode's start.
    pub mean_max_q: f64,
    /// After Q-probe episodes, a greedy rollout of the current network: mean predicted
    /// `Q(s_t, a_t)` over its states… (NaN after other episodes)
    pub q_pred: f64,
    /// …the mean discounted return actually obtained from those states…
    pub q_mc: f64,
    /// …and the mean absolute error `|Q(s_t, a_t) − G_t|` over them.
    pub q_abs_err: f64,
    /// Seconds since the start of training (not deterministic; excluded from comparisons).
    pub wall_s: f64,
}

/// One periodic evaluation: `returns` of evaluation episodes after `steps` env steps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalPoint {
    pub steps: u64,
    pub returns: Vec<f64>,
}

impl EvalPoint {
    /// Mean return of the evaluation episodes.
    pub fn mean(&self) -> f64 {
        self.returns.iter().sum::<f64>() / self.returns.len().max(1) as f64
    }
}
