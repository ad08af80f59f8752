//! Per-run scores: every learning-curve measurement the reports aggregate, computed once.

use crate::config::{EnvConfig, ReportConfig, RunConfig};
use crate::stats;
use crate::store::RunStatus;
use crate::sweep::RunResult;

/// Window of the short moving average used for convergence speed and stability.
pub const SHORT_WINDOW: usize = 20;

/// The measurements of one finished run.
#[derive(Debug, Clone)]
pub struct RunScores {
    pub point: usize,
    pub seed: u64,
    pub ok: bool,
    pub failure: Option<String>,
    /// Mean return over the last `final_window` training episodes.
    pub final_return: f64,
    /// Mean return of the greedy evaluation episodes.
    pub eval_return: f64,
    /// Mean return over all training episodes (area under the learning curve / episodes).
    pub auc: f64,
    /// First episode (1-based count) at which the `final_window`-episode average ≥ threshold.
    pub episodes_to_solve: Option<usize>,
    /// First episode (1-based count) at which the 20-episode average ≥ threshold.
    pub episodes_to_threshold_ma20: Option<usize>,
    /// Whether the 20-episode average reached the threshold and later fell below
    /// `collapse_floor`; `Some(false)` for a run that never reached it (the rate is over all
    /// runs). `None` when the environment has no threshold, or the floor is not below it
    /// (Acrobot's −100 under CartPole's floor of 100: no collapse is defined there).
    pub collapsed: Option<bool>,
    /// Whether the 20-episode average ever reached the threshold (`None`: no threshold).
    pub reached_threshold: Option<bool>,
    /// Mean over the Q probes of the last `final_window` episodes of predicted Q − actual
    /// discounted return (positive: over-estimation).
    pub overestimation: f64,
    /// Mean over the same probes of |predicted Q − actual return| per state (Q accuracy).
    pub q_abs_error: f64,
    /// Mean max-Q on the probe states at the last episode's start.
    pub final_mean_max_q: f64,
    pub env_steps: u64,
    pub wall_s: f64,
    pub steps_per_s: f64,
    /// Per-episode returns (for curves).
    pub returns: Vec<f64>,
}

impl RunScores {
    pub fn of(r: &RunResult, report: &ReportConfig) -> RunScores {
        let run = &r.run;
        let returns: Vec<f64> = run.episodes.iter().map(|e| e.ret).collect();
        let thr = solved_threshold(report, &run.config);
        // Q accuracy is judged where "final performance" is: over the Q probes of the last
        // `final_window` episodes (early in training every variant under-estimates).
        let late = run.episodes.len().saturating_sub(report.final_window);
        let probes: Vec<_> = run.episodes[late..]
            .iter()
            .filter(|e| e.q_pred.is_finite() && e.q_mc.is_finite())
            .collect();
        let over: Vec<f64> = probes.iter().map(|e| e.q_pred - e.q_mc).collect();
        let abs_err: Vec<f64> = probes.iter().map(|e| e.q_abs_err).collect();
        let failure = match &run.info.status {
            RunStatus::Ok => None,
            RunStatus::Failed { reason } => Some(reason.clone()),
        };
        RunScores {
            point: r.point,
            seed: run.config.seed,
            ok: failure.is_none(),
            failure,
            final_return: stats::last_n_mean(&returns, report.final_window),
            eval_return: stats::mean(&run.info.eval_returns),
            auc: stats::area_under_curve(&returns),
            episodes_to_solve: stats::first_reach(&returns, report.final_window, thr)
                .map(|i| i + 1),
            episodes_to_threshold_ma20: stats::first_reach(&returns, SHORT_WINDOW, thr)
                .map(|i| i + 1),
            // Over all runs: one that never reached the threshold did not collapse.
            collapsed: (thr.is_finite() && report.collapse_floor < thr).then(|| {
                stats::collapsed_after_reaching(&returns, SHORT_WINDOW, thr, report.collapse_floor)
                    .unwrap_or(false)
            }),
            reached_threshold: thr
                .is_finite()
                .then(|| stats::first_reach(&returns, SHORT_WINDOW, thr).is_some()),
            overestimation: stats::mean(&over),
            q_abs_error: stats::mean(&abs_err),
            final_mean_max_q: run.episodes.last().map_or(f64::NAN, |e| e.mean_max_q),
            env_steps: run.info.env_steps,
            wall_s: run.info.wall_s,
            steps_per_s: run.info.env_steps as f64 / run.info.wall_s.max(1e-9),
            returns,
        }
    }
}

/// The return that counts as solved for this run's environment.
pub fn solved_threshold(report: &ReportConfig, run: &RunConfig) -> f64 {
    threshold_for(report, &run.env)
}

/// The configured solved threshold, or the environment's Gym `reward_threshold`; NaN when
/// there is neither (MinAtar): then nothing counts as solved or collapsed.
pub fn threshold_for(report: &ReportConfig, env: &EnvConfig) -> f64 {
    report
        .solved_threshold
        .or(env.id.reward_threshold())
        .unwrap_or(f64::NAN)
}
