//! Measurements taken during training without disturbing it: periodic evaluations, greedy
//! evaluation episodes, mean max-Q on held-out states, and Q estimates against Monte-Carlo
//! returns. Each uses an env and a random stream of its own.

use super::make_env;
use super::seeds::{stream, Stream};
use crate::agent::QPolicy;
use crate::config::RunConfig;
use crate::env::{Env, EnvSpec, EnvStateError, ObsElem};
use crate::store::EvalPoint;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// Evaluation during training: every `eval_interval` env steps, `eval_episodes` episodes with
/// ε = `eval_epsilon` on an env and RNG of its own (so it never changes training).
pub(super) struct PeriodicEval<E> {
    interval: u64,
    episodes: u32,
    epsilon: f64,
    env: Option<Box<dyn Env<Elem = E>>>,
    rng: ChaCha8Rng,
}

impl<E: ObsElem> PeriodicEval<E> {
    pub(super) fn new(cfg: &RunConfig, spec: &EnvSpec, seed: [u8; 32]) -> Self {
        let t = &cfg.train;
        PeriodicEval {
            interval: t.eval_interval,
            episodes: t.eval_episodes,
            epsilon: t.eval_epsilon,
            env: (t.eval_interval > 0).then(|| make_env(spec, seed, Stream::PeriodicEvalEnvSeed)),
            rng: stream(seed, Stream::PeriodicEval),
        }
    }

    pub(super) fn due(&mut self, agent: &impl QPolicy<E>, steps: u64) -> Option<EvalPoint> {
        let env = self.env.as_mut()?;
        if !steps.is_multiple_of(self.interval) {
            return None;
        }
        let returns = (0..self.episodes)
            .map(|i| {
                let r = eval_episode(agent, &mut **env, self.epsilon, &mut self.rng);
                crate::fault::in_eval(i == 0);
                r
            })
            .collect();
        Some(EvalPoint { steps, returns })
    }

    /// Its random stream and env, for a checkpoint.
    pub(super) fn state(&self) -> Result<PeriodicState, EnvStateError> {
        Ok(PeriodicState {
            rng: self.rng.clone(),
            env: self.env.as_ref().map(|e| e.save_state()).transpose()?,
        })
    }

    pub(super) fn restore(&mut self, s: PeriodicState) -> Result<(), EnvStateError> {
        match (&mut self.env, &s.env) {
            (Some(env), Some(state)) => env.load_state(state)?,
            (None, None) => {}
            _ => {
                return Err(EnvStateError::Corrupt(
                    "periodic evaluation on in one, off in the other".into(),
                ))
            }
        }
        self.rng = s.rng;
        Ok(())
    }
}

/// A [`PeriodicEval`]'s state in a checkpoint.
#[derive(Serialize, Deserialize)]
pub(super) struct PeriodicState {
    rng: ChaCha8Rng,
    env: Option<Vec<u8>>,
}

/// Evaluation episodes of envs without a time limit are cut here (27,000 agent steps: the
/// 108,000-frame cap of Atari evaluation protocols).
pub const EVAL_STEP_CAP: u32 = 27_000;

/// One episode with ε-greedy actions (`epsilon = 0`: greedy); returns its total reward.
pub(super) fn eval_episode<E: ObsElem>(
    agent: &impl QPolicy<E>,
    env: &mut dyn Env<Elem = E>,
    epsilon: f64,
    rng: &mut ChaCha8Rng,
) -> f64 {
    let mut obs = vec![E::default(); env.obs_shape().len()];
    env.reset_into(rng, &mut obs);
    let cap = env.time_limit().unwrap_or(EVAL_STEP_CAP);
    let mut ret = 0.0;
    for _ in 0..cap {
        let step = env.step_into(agent.act(&obs, epsilon, rng), &mut obs);
        ret += step.reward;
        if step.done() {
            break;
        }
    }
    ret
}

pub(super) fn mean_max_q<E, A: QPolicy<E>>(agent: &A, probes: &[E]) -> f64 {
    if probes.is_empty() {
        return f64::NAN;
    }
    let q = agent.q_values(probes);
    let rows = q.len() / A::ACTIONS;
    let sum: f64 = q
        .chunks(A::ACTIONS)
        .map(|row| f64::from(row.iter().copied().fold(f32::NEG_INFINITY, f32::max)))
        .sum();
    sum / rows as f64
}

/// Predicted against actual discounted value of the greedy policy (van Hasselt et al. 2015).
pub(super) struct QAccuracy {
    pub(super) predicted: f64,
    pub(super) actual: f64,
    pub(super) abs_err: f64,
}

impl QAccuracy {
    pub(super) const NAN: QAccuracy = QAccuracy {
        predicted: f64::NAN,
        actual: f64::NAN,
        abs_err: f64::NAN,
    };
}

/// States measured by a Q probe in envs without a registered time limit.
const Q_PROBE_STATES: u32 = 1000;

/// Roll out the current network greedily (ε = 0, no learning) from a fresh start and compare,
/// over the first `time_limit` states (1000 without one), its `Q(s_t, a_t)` with the discounted
/// return `G_t = Σ_k γ^k r_{t+k}` actually obtained.
///
/// The rollout ignores the time limit and continues `H` steps past the measured states, with
/// `γ^H < 10⁻³`, so every `G_t` is the return of the untruncated discounted MDP — the quantity
/// Q-learning estimates — up to a relative error below 10⁻³. (With the chapter's
/// `bootstrap_mask = "done"`, Q is also cut at time limits, which shows up here as
/// underestimation.)
pub(super) fn q_accuracy<E: ObsElem>(
    agent: &impl QPolicy<E>,
    cfg: &RunConfig,
    seed: [u8; 32],
    rng: &mut ChaCha8Rng,
) -> QAccuracy {
    let gamma = cfg.agent.gamma;
    let measured = cfg.env.time_limit().unwrap_or(Q_PROBE_STATES) as usize;
    let horizon = if gamma < 1.0 {
        ((1e-3f64).ln() / gamma.ln()).ceil().min(10_000.0) as usize
    } else {
        10_000
    };
    let spec = EnvSpec {
        unlimited: true,
        ..cfg.env.spec()
    };
    let mut env = make_env::<E>(&spec, seed, Stream::QRolloutEnvSeed);
    let mut obs = vec![E::default(); env.obs_shape().len()];
    env.reset_into(rng, &mut obs);
    let (mut predicted, mut rewards) = (Vec::new(), Vec::new());
    for _ in 0..measured + horizon {
        let q = agent.q_values(&obs);
        let action = crate::agent::argmax(&q);
        let step = env.step_into(action, &mut obs);
        predicted.push(f64::from(q[action]));
        rewards.push(step.reward);
        if step.terminated {
            break;
        }
    }
    let mut returns = vec![0.0; rewards.len()];
    let mut g = 0.0;
    for t in (0..rewards.len()).rev() {
        g = rewards[t] + gamma * g;
        returns[t] = g;
    }
    let n = measured.min(rewards.len());
    let mean = |f: &dyn Fn(usize) -> f64| (0..n).map(f).sum::<f64>() / n as f64;
    QAccuracy {
        predicted: mean(&|t| predicted[t]),
        actual: mean(&|t| returns[t]),
        abs_err: mean(&|t| (predicted[t] - returns[t]).abs()),
    }
}
