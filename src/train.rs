//! One training run, as the chapter's loop: reset, act ε-greedily, step, store, update once per
//! step, sync the target network on schedule; then a greedy evaluation.
//!
//! Every random draw comes from streams derived from the run's full config and seed
//! ([`run_seed`]), so a run is bit-identical wherever and whenever it is executed.

use crate::agent::network::{DuelingQNet, QFunction, QNetMlp};
use crate::agent::replay::Transition;
use crate::agent::{AgentError, DqnAgent};
use crate::config::{RunConfig, SyncUnit};
use crate::env::{CartPole, Env};
use dfdx::prelude::{BuildOnDevice, Cpu};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::time::Instant;

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

/// A finished run.
#[derive(Debug, Clone, PartialEq)]
pub struct RunOutcome {
    pub episodes: Vec<EpisodeRecord>,
    /// Total reward of each greedy (ε = 0) evaluation episode.
    pub eval_returns: Vec<f64>,
    pub env_steps: u64,
    pub wall_s: f64,
}

#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    #[error("episode {episode}, step {step}: {source}")]
    Agent {
        episode: u32,
        step: u64,
        source: AgentError,
    },
}

/// The 32-byte seed of a run: SHA-256 of the canonical JSON of everything that shapes its
/// training (env, agent, number of episodes, seed). Measurement-only settings (evaluation
/// episodes, Q-probe interval and size) are left out so that changing them does not change
/// the training trajectory.
pub fn run_seed(cfg: &RunConfig) -> [u8; 32] {
    #[derive(Serialize)]
    struct TrainingKey<'a> {
        env: &'a crate::config::EnvConfig,
        agent: &'a crate::config::AgentConfig,
        episodes: u32,
        seed: u64,
    }
    let key = TrainingKey {
        env: &cfg.env,
        agent: &cfg.agent,
        episodes: cfg.train.episodes,
        seed: cfg.seed,
    };
    let json = serde_json::to_vec(&key).expect("a RunConfig always serialises");
    Sha256::digest(json).into()
}

/// The seed of the held-out probe states: from the environment and seed only, so every
/// variant at the same seed tracks its max-Q on the same states.
fn probe_seed(cfg: &RunConfig) -> [u8; 32] {
    let json = serde_json::to_vec(&(&cfg.env, cfg.seed, "probe-states")).expect("serialises");
    Sha256::digest(json).into()
}

/// Independent random streams of one run.
#[derive(Clone, Copy)]
enum Stream {
    EnvReset = 1,
    Policy = 2,
    Replay = 3,
    EvalReset = 4,
    Probe = 5,
    QRollout = 6,
    WeightInit = 7,
}

fn stream(seed: [u8; 32], s: Stream) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::from_seed(seed);
    rng.set_stream(s as u64);
    rng
}

/// Train one agent as configured. `on_episode` is called after every training episode.
pub fn train(cfg: &RunConfig, on_episode: &(dyn Fn() + Sync)) -> Result<RunOutcome, TrainError> {
    if cfg.agent.variant.dueling {
        train_with::<DuelingQNet<4, 2>>(cfg, on_episode)
    } else {
        train_with::<QNetMlp<4, 2>>(cfg, on_episode)
    }
}

fn train_with<B>(cfg: &RunConfig, on_episode: &(dyn Fn() + Sync)) -> Result<RunOutcome, TrainError>
where
    B: BuildOnDevice<Cpu, f32>,
    B::Built: QFunction<4, 2>,
{
    let start = Instant::now();
    let seed = run_seed(cfg);
    let mut reset_rng = stream(seed, Stream::EnvReset);
    let mut policy_rng = stream(seed, Stream::Policy);
    let mut replay_rng = stream(seed, Stream::Replay);
    let init_seed = u64::from_le_bytes(seed[..8].try_into().expect("8 bytes"));
    let mut agent: DqnAgent<B::Built, 4, 2> = DqnAgent::new::<B>(
        Cpu::seed_from_u64(init_seed),
        &cfg.agent,
        &mut stream(seed, Stream::WeightInit),
    );
    let probes = probe_states(cfg, &mut stream(probe_seed(cfg), Stream::Probe));
    let mut q_rollout_rng = stream(seed, Stream::QRollout);

    let a = &cfg.agent;
    let mut env = CartPole::new(cfg.env.id);
    let total_episodes = cfg.train.episodes;
    let mut episodes = Vec::with_capacity(total_episodes as usize);
    let mut total_steps: u64 = 0;
    for episode in 0..total_episodes {
        let mean_max_q = mean_max_q(&agent, &probes);
        let probe_q =
            cfg.train.q_probe_interval > 0 && (episode + 1) % cfg.train.q_probe_interval == 0;
        let mut state = env.reset(&mut reset_rng);
        let (mut ret, mut length, mut loss_sum, mut updates) = (0.0, 0u32, 0.0f64, 0u32);
        // β anneals from per_beta_start at the first episode to per_beta_end at the last.
        let progress = f64::from(episode) / f64::from(total_episodes.saturating_sub(1).max(1));
        loop {
            let action = agent.act(&state, a.epsilon, &mut policy_rng);
            let step = env.step(action);
            agent.remember(Transition {
                state,
                action,
                reward: step.reward as f32,
                next_state: step.observation,
                terminated: step.terminated,
                truncated: step.truncated,
            });
            total_steps += 1;
            match agent.update(progress, &mut replay_rng) {
                Ok(Some(l)) => {
                    loss_sum += f64::from(l);
                    updates += 1;
                }
                Ok(None) => {}
                Err(source) => {
                    return Err(TrainError::Agent {
                        episode,
                        step: total_steps,
                        source,
                    })
                }
            }
            if agent.sync_due(SyncUnit::Steps, u64::from(episode), total_steps) {
                agent.sync_target();
            }
            ret += step.reward;
            length += 1;
            state = step.observation;
            if step.done() {
                break;
            }
        }
        if agent.sync_due(SyncUnit::Episodes, u64::from(episode), total_steps) {
            agent.sync_target();
        }
        let q = if probe_q {
            q_accuracy(&agent, cfg, &mut q_rollout_rng)
        } else {
            QAccuracy::NAN
        };
        episodes.push(EpisodeRecord {
            episode,
            ret,
            length,
            steps: total_steps,
            loss: if updates > 0 {
                loss_sum / f64::from(updates)
            } else {
                f64::NAN
            },
            epsilon: a.epsilon,
            mean_max_q,
            q_pred: q.predicted,
            q_mc: q.actual,
            q_abs_err: q.abs_err,
            wall_s: start.elapsed().as_secs_f64(),
        });
        on_episode();
    }

    let mut eval_rng = stream(seed, Stream::EvalReset);
    let eval_returns = (0..cfg.train.eval_episodes)
        .map(|_| greedy_episode(&agent, &mut env, &mut eval_rng))
        .collect();
    Ok(RunOutcome {
        episodes,
        eval_returns,
        env_steps: total_steps,
        wall_s: start.elapsed().as_secs_f64(),
    })
}

/// One episode with ε = 0; returns its total reward.
fn greedy_episode<M: QFunction<4, 2>>(
    agent: &DqnAgent<M, 4, 2>,
    env: &mut CartPole,
    rng: &mut ChaCha8Rng,
) -> f64 {
    let mut state = env.reset(rng);
    let mut ret = 0.0;
    loop {
        let step = env.step(agent.act(&state, 0.0, rng));
        ret += step.reward;
        state = step.observation;
        if step.done() {
            return ret;
        }
    }
}

/// States visited by a uniformly random policy before training: the held-out set on which
/// the DQN paper tracks the average predicted max-Q.
fn probe_states(cfg: &RunConfig, rng: &mut ChaCha8Rng) -> Vec<[f32; 4]> {
    use rand::Rng;
    let mut env = CartPole::new(cfg.env.id);
    let mut states = Vec::with_capacity(cfg.train.probe_states);
    while states.len() < cfg.train.probe_states {
        let mut s = env.reset(rng);
        loop {
            states.push(s);
            let step = env.step(rng.gen_range(0..2));
            s = step.observation;
            if step.done() || states.len() >= cfg.train.probe_states {
                break;
            }
        }
    }
    states
}

fn mean_max_q<M: QFunction<4, 2>>(agent: &DqnAgent<M, 4, 2>, probes: &[[f32; 4]]) -> f64 {
    if probes.is_empty() {
        return f64::NAN;
    }
    let q = agent.q_values(probes);
    let sum: f64 = q.chunks(2).map(|row| f64::from(row[0].max(row[1]))).sum();
    sum / probes.len() as f64
}

/// Predicted against actual discounted value of the greedy policy (van Hasselt et al. 2015).
struct QAccuracy {
    predicted: f64,
    actual: f64,
    abs_err: f64,
}

impl QAccuracy {
    const NAN: QAccuracy = QAccuracy {
        predicted: f64::NAN,
        actual: f64::NAN,
        abs_err: f64::NAN,
    };
}

/// Roll out the current network greedily (ε = 0, no learning) from a fresh start and compare,
/// over the first `time_limit` states, its `Q(s_t, a_t)` with the discounted return
/// `G_t = Σ_k γ^k r_{t+k}` actually obtained.
///
/// The rollout ignores the time limit and continues `H` steps past the measured states, with
/// `γ^H < 10⁻³`, so every `G_t` is the return of the untruncated discounted MDP — the quantity
/// Q-learning estimates — up to a relative error below 10⁻³. (With the chapter's
/// `bootstrap_mask = "done"`, Q is also cut at time limits, which shows up here as
/// underestimation.)
fn q_accuracy<M: QFunction<4, 2>>(
    agent: &DqnAgent<M, 4, 2>,
    cfg: &RunConfig,
    rng: &mut ChaCha8Rng,
) -> QAccuracy {
    let gamma = cfg.agent.gamma;
    let measured = cfg.env.id.time_limit() as usize;
    let horizon = if gamma < 1.0 {
        ((1e-3f64).ln() / gamma.ln()).ceil().min(10_000.0) as usize
    } else {
        10_000
    };
    let mut env = CartPole::without_time_limit(cfg.env.id);
    let mut state = env.reset(rng);
    let (mut predicted, mut rewards) = (Vec::new(), Vec::new());
    for _ in 0..measured + horizon {
        let q = agent.q_values(std::slice::from_ref(&state));
        let action = crate::agent::argmax(&q);
        let step = env.step(action);
        predicted.push(f64::from(q[action]));
        rewards.push(step.reward);
        state = step.observation;
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
