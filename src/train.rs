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
    /// On Q-probe episodes: mean predicted `Q(s_t, a_t)` over the episode's visited states…
    pub q_pred: f64,
    /// …and the mean discounted return actually obtained from them (NaN on other episodes).
    pub q_mc: f64,
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

/// The 32-byte seed of a run: SHA-256 of its canonical JSON config (seed included).
pub fn run_seed(cfg: &RunConfig) -> [u8; 32] {
    let json = serde_json::to_vec(cfg).expect("a RunConfig always serialises");
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
    let mut agent: DqnAgent<B::Built, 4, 2> =
        DqnAgent::new::<B>(Cpu::seed_from_u64(init_seed), &cfg.agent);
    let probes = probe_states(cfg, &mut stream(seed, Stream::Probe));

    let a = &cfg.agent;
    let mut env = CartPole::new(cfg.env.id);
    let total_episodes = cfg.train.episodes;
    let mut episodes = Vec::with_capacity(total_episodes as usize);
    let mut total_steps: u64 = 0;
    for episode in 0..total_episodes {
        let mean_max_q = mean_max_q(&agent, &probes);
        let probe_q =
            cfg.train.q_probe_interval > 0 && (episode + 1) % cfg.train.q_probe_interval == 0;
        let mut visited: Vec<([f32; 4], usize, f64)> = Vec::new();
        let mut state = env.reset(&mut reset_rng);
        let (mut ret, mut length, mut loss_sum, mut updates) = (0.0, 0u32, 0.0f64, 0u32);
        let truncated = loop {
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
            let progress = f64::from(episode) / f64::from(total_episodes);
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
            if probe_q {
                visited.push((state, action, step.reward));
            }
            ret += step.reward;
            length += 1;
            state = step.observation;
            if step.done() {
                break step.truncated && !step.terminated;
            }
        };
        if agent.sync_due(SyncUnit::Episodes, u64::from(episode), total_steps) {
            agent.sync_target();
        }
        let (q_pred, q_mc) = if probe_q {
            overestimation(&agent, &visited, a.gamma, truncated)
        } else {
            (f64::NAN, f64::NAN)
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
            q_pred,
            q_mc,
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

/// Mean predicted `Q(s_t, a_t)` and mean Monte-Carlo return `G_t = Σ_k γ^k r_{t+k}` over the
/// visited states of one episode.
///
/// When the episode was cut by the time limit, the return after the cut is unknown; the last
/// `k` states with `γ^k > 0.05` are left out so that every kept `G_t` misses at most 5 % of
/// the discounted tail. Returns NaN when no state is kept.
fn overestimation<M: QFunction<4, 2>>(
    agent: &DqnAgent<M, 4, 2>,
    visited: &[([f32; 4], usize, f64)],
    gamma: f64,
    truncated: bool,
) -> (f64, f64) {
    let mut returns = vec![0.0; visited.len()];
    let mut g = 0.0;
    for (t, (_, _, r)) in visited.iter().enumerate().rev() {
        g = r + gamma * g;
        returns[t] = g;
    }
    let keep = if truncated {
        let tail = if gamma < 1.0 {
            (0.05f64.ln() / gamma.ln()).ceil() as usize
        } else {
            visited.len()
        };
        visited.len().saturating_sub(tail)
    } else {
        visited.len()
    };
    if keep == 0 {
        return (f64::NAN, f64::NAN);
    }
    let states: Vec<[f32; 4]> = visited[..keep].iter().map(|v| v.0).collect();
    let q = agent.q_values(&states);
    let pred: f64 = visited[..keep]
        .iter()
        .enumerate()
        .map(|(i, (_, a, _))| f64::from(q[i * 2 + a]))
        .sum();
    let mc: f64 = returns[..keep].iter().sum();
    (pred / keep as f64, mc / keep as f64)
}
