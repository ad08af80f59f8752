//! The DQN-family agent: ε-greedy acting, experience replay and the update rule.
//!
//! One generic [`DqnAgent`] covers every variant: the network type picks plain or dueling
//! (compile-time shapes), [`TargetRule`] picks the max or Double-DQN target, and the replay is
//! uniform or prioritized. The update rule lives in [`DqnAgent::update`], on one screen.

pub mod network;
pub mod prioritized;
pub mod replay;

use crate::config::{AgentConfig, BootstrapMask, LossKind, SyncUnit};
use dfdx::optim::Adam;
use dfdx::prelude::*;
use network::{Batch, QFunction};
use prioritized::{PerConfig, PrioritizedReplay};
use rand::Rng;
use replay::{ReplayBuffer, Transition};

/// How the bootstrap action in the TD target is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetRule {
    /// DQN (Mnih et al. 2015): `y = r + γ max_a' Q_θ⁻(s', a')`.
    Max,
    /// Double DQN (van Hasselt et al. 2015): `y = r + γ Q_θ⁻(s', argmax_a' Q_θ(s', a'))`.
    Double,
}

/// Errors that end a run.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    #[error("non-finite loss ({0}) — training diverged")]
    NonFiniteLoss(f32),
    #[error("dfdx: {0}")]
    Tensor(String),
    #[error("prioritized replay: {0}")]
    Replay(#[from] prioritized::PerError),
}

fn tensor_err<E: std::fmt::Debug>(e: E) -> AgentError {
    AgentError::Tensor(format!("{e:?}"))
}

/// Uniform (the chapter's) or prioritized replay.
enum Replay<const OBS: usize> {
    Uniform(ReplayBuffer<Transition<OBS>>),
    Prioritized(PrioritizedReplay<Transition<OBS>>),
}

/// A sampled minibatch: transitions, their slots (PER) and importance weights (1 for uniform).
struct Minibatch<const OBS: usize> {
    items: Vec<Transition<OBS>>,
    slots: Option<Vec<usize>>,
    weights: Vec<f32>,
}

/// A DQN-family agent with online network `M`, `OBS` observations and `ACT` actions.
pub struct DqnAgent<M, const OBS: usize, const ACT: usize> {
    dev: Cpu,
    qnet: M,
    qnet_target: M,
    optimizer: Adam<M, f32, Cpu>,
    grads: Option<Gradients<f32, Cpu>>,
    replay: Replay<OBS>,
    rule: TargetRule,
    cfg: AgentConfig,
    per: PerConfig,
}

impl<M: QFunction<OBS, ACT>, const OBS: usize, const ACT: usize> DqnAgent<M, OBS, ACT> {
    /// Build the agent. `dev` (dfdx's own init) and `init_rng` (DeZero init) must be seeded
    /// from the run's RNG.
    pub fn new<B: BuildOnDevice<Cpu, f32, Built = M>>(
        dev: Cpu,
        cfg: &AgentConfig,
        init_rng: &mut impl Rng,
    ) -> Self {
        let qnet = network::build::<B, _>(&dev, cfg.init, init_rng);
        // As the chapter: the target net starts as its own random network and first becomes a
        // copy at the first sync (end of episode 0). The DQN paper starts it as a copy (θ⁻ = θ);
        // the two differ only in updates made before that first sync.
        let qnet_target = network::build::<B, _>(&dev, cfg.init, init_rng);
        let optimizer = Adam::new(
            &qnet,
            AdamConfig {
                lr: cfg.lr,
                ..Default::default()
            },
        );
        let per = PerConfig {
            alpha: cfg.per_alpha,
            beta_start: cfg.per_beta_start,
            beta_end: cfg.per_beta_end,
            eps: cfg.per_eps,
        };
        let replay = if cfg.variant.per {
            Replay::Prioritized(PrioritizedReplay::new(cfg.buffer_size, per))
        } else {
            Replay::Uniform(ReplayBuffer::new(cfg.buffer_size))
        };
        DqnAgent {
            grads: Some(qnet.alloc_grads()),
            dev,
            qnet,
            qnet_target,
            optimizer,
            replay,
            rule: if cfg.variant.double {
                TargetRule::Double
            } else {
                TargetRule::Max
            },
            cfg: cfg.clone(),
            per,
        }
    }

    /// Q-values of a batch of states under the online network, row-major `states.len() × ACT`.
    pub fn q_values(&self, states: &[[f32; OBS]]) -> Vec<f32> {
        forward(&self.dev, &self.qnet, states)
    }

    /// The chapter's `get_action`: a uniform random action with probability ε, else greedy.
    pub fn act<R: Rng + ?Sized>(&self, state: &[f32; OBS], epsilon: f64, rng: &mut R) -> usize {
        if rng.gen::<f64>() < epsilon {
            rng.gen_range(0..ACT)
        } else {
            argmax(&self.q_values(std::slice::from_ref(state)))
        }
    }

    /// Store a transition.
    pub fn remember(&mut self, t: Transition<OBS>) {
        match &mut self.replay {
            Replay::Uniform(b) => b.push(t),
            Replay::Prioritized(b) => b.push(t),
        }
    }

    /// Transitions stored so far.
    pub fn replay_len(&self) -> usize {
        match &self.replay {
            Replay::Uniform(b) => b.len(),
            Replay::Prioritized(b) => b.len(),
        }
    }

    /// `sync_qnet`: deep copy of the online weights into the target network.
    pub fn sync_target(&mut self) {
        self.qnet_target = self.qnet.clone();
    }

    /// Whether the target network is due for a sync after this episode / step.
    pub fn sync_due(&self, unit: SyncUnit, episode: u64, total_steps: u64) -> bool {
        self.cfg.sync_unit == unit
            && match unit {
                SyncUnit::Episodes => episode.is_multiple_of(self.cfg.sync_interval),
                SyncUnit::Steps => total_steps.is_multiple_of(self.cfg.sync_interval),
            }
    }

    /// One gradient step on a replayed minibatch; `None` until the buffer holds a batch.
    ///
    /// With `m = terminated` (or `terminated | truncated`, the chapter's default):
    ///
    /// ```text
    /// a*  = argmax_a Q_θ⁻(s', a)            (DQN)      or argmax_a Q_θ(s', a)   (Double DQN)
    /// y   = r + γ (1 − m) Q_θ⁻(s', a*)                  (no gradient through y)
    /// δ   = y − Q_θ(s, a)
    /// L   = 1/B Σ w_i ℓ(δ_i)                ℓ = δ² (MSE) or Huber;  w = 1, or PER's IS weights
    /// PER: p_i ← (|δ_i| + ε)^α
    /// ```
    ///
    /// `progress` ∈ [0, 1] is the fraction of training done (anneals PER's β).
    pub fn update<R: Rng + ?Sized>(
        &mut self,
        progress: f64,
        rng: &mut R,
    ) -> Result<Option<f32>, AgentError> {
        let b = self.cfg.batch_size;
        if self.replay_len() < b {
            return Ok(None);
        }
        let batch = self.sample(b, progress, rng);
        let states: Vec<[f32; OBS]> = batch.items.iter().map(|t| t.state).collect();
        let next_states: Vec<[f32; OBS]> = batch.items.iter().map(|t| t.next_state).collect();

        // Targets, computed outside the tape.
        let next_q_target = forward(&self.dev, &self.qnet_target, &next_states);
        let next_q_online = match self.rule {
            TargetRule::Max => None,
            TargetRule::Double => Some(forward(&self.dev, &self.qnet, &next_states)),
        };
        let gamma = self.cfg.gamma as f32;
        let targets: Vec<f32> = batch
            .items
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let row = i * ACT..(i + 1) * ACT;
                let cut = match self.cfg.bootstrap_mask {
                    BootstrapMask::Done => t.terminated || t.truncated,
                    BootstrapMask::Terminated => t.terminated,
                };
                let online = next_q_online.as_deref().map(|q| &q[row.clone()]);
                td_target(t.reward, gamma, cut, &next_q_target[row.clone()], online)
            })
            .collect();

        // Prediction with the tape, loss, Adam step.
        let x: Batch<OBS> = self.dev.tensor_from_vec(states.concat(), (b, Const));
        let actions = self
            .dev
            .tensor_from_vec(batch.items.iter().map(|t| t.action).collect(), (b,));
        let y = self.dev.tensor_from_vec(targets.clone(), (b,));
        let w = self.dev.tensor_from_vec(batch.weights.clone(), (b,));
        let grads = self.grads.take().unwrap_or_else(|| self.qnet.alloc_grads());
        let q = self.qnet.forward_mut(x.traced(grads)).select(actions);
        let q_now = q.as_vec();
        let per_sample = match self.cfg.loss {
            LossKind::Mse => (q - y).square(),
            LossKind::Huber => q.huber_error(y, self.cfg.huber_delta),
        };
        let loss = (per_sample * w).mean();
        let loss_value = loss.array();
        if !loss_value.is_finite() {
            return Err(AgentError::NonFiniteLoss(loss_value));
        }
        let mut grads = loss.backward();
        self.optimizer
            .update(&mut self.qnet, &grads)
            .map_err(tensor_err)?;
        self.qnet.zero_grads(&mut grads);
        self.grads = Some(grads);

        if let (Replay::Prioritized(buffer), Some(slots)) = (&mut self.replay, &batch.slots) {
            let td: Vec<f64> = targets
                .iter()
                .zip(&q_now)
                .map(|(y, q)| f64::from(y - q))
                .collect();
            buffer.update_priorities(slots, &td)?;
        }
        Ok(Some(loss_value))
    }

    fn sample<R: Rng + ?Sized>(&self, b: usize, progress: f64, rng: &mut R) -> Minibatch<OBS> {
        match &self.replay {
            Replay::Uniform(buffer) => Minibatch {
                items: buffer.sample(b, rng),
                slots: None,
                weights: vec![1.0; b],
            },
            Replay::Prioritized(buffer) => {
                let s = buffer.sample(b, self.per.beta_at(progress), rng);
                Minibatch {
                    items: s.items,
                    slots: Some(s.indices),
                    weights: s.weights.iter().map(|w| *w as f32).collect(),
                }
            }
        }
    }
}

/// The TD target of one transition: `r` if bootstrapping is cut, else
/// `r + γ Q_θ⁻(s', a*)` with `a* = argmax Q_θ⁻(s', ·)` (DQN, `q_online_next = None`) or
/// `a* = argmax Q_θ(s', ·)` (Double DQN: the online net selects, the target net evaluates).
pub fn td_target(
    reward: f32,
    gamma: f32,
    cut: bool,
    q_target_next: &[f32],
    q_online_next: Option<&[f32]>,
) -> f32 {
    if cut {
        return reward;
    }
    let a_star = argmax(q_online_next.unwrap_or(q_target_next));
    reward + gamma * q_target_next[a_star]
}

/// Forward a batch of states without a tape; row-major `states.len() × ACT`.
fn forward<M: QFunction<OBS, ACT>, const OBS: usize, const ACT: usize>(
    dev: &Cpu,
    net: &M,
    states: &[[f32; OBS]],
) -> Vec<f32> {
    let x: Batch<OBS> = dev.tensor_from_vec(states.concat(), (states.len(), Const));
    net.forward(x).as_vec()
}

/// Index of the largest value; the first one on ties (as `np.argmax`).
pub fn argmax(values: &[f32]) -> usize {
    let mut best = 0;
    for (i, v) in values.iter().enumerate() {
        if *v > values[best] {
            best = i;
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dqn_target_takes_the_target_nets_max() {
        // Q_target(s') = [1, 3], Q_online(s') = [5, 0]: DQN ignores the online net.
        let y = td_target(1.0, 0.5, false, &[1.0, 3.0], None);
        assert_eq!(y, 1.0 + 0.5 * 3.0);
    }

    #[test]
    fn double_dqn_target_lets_the_online_net_select() {
        // Online picks action 0 (5 > 0); the target net evaluates it at 1, not its own max 3.
        let y = td_target(1.0, 0.5, false, &[1.0, 3.0], Some(&[5.0, 0.0]));
        assert_eq!(y, 1.0 + 0.5 * 1.0);
        // When both nets agree the two targets coincide.
        let y = td_target(1.0, 0.5, false, &[1.0, 3.0], Some(&[0.0, 2.0]));
        assert_eq!(y, 2.5);
    }

    #[test]
    fn cut_bootstrap_is_just_the_reward() {
        assert_eq!(
            td_target(1.0, 0.98, true, &[10.0, 20.0], Some(&[1.0, 0.0])),
            1.0
        );
    }

    #[test]
    fn argmax_takes_the_first_on_ties() {
        assert_eq!(argmax(&[1.0, 3.0, 3.0]), 1);
        assert_eq!(argmax(&[2.0]), 0);
    }
}
