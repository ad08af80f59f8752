//! dqn-agent: the DQN-family agent — ε-greedy acting, experience replay and the update rule.
//!
//! One generic [`DqnAgent`] covers every variant: the network type picks plain or dueling
//! (compile-time shapes, [`networks`]), [`TargetRule`] picks the max or Double-DQN target, and
//! the replay ([`replay`]) is uniform or prioritized. The update rule lives in
//! [`DqnAgent::update`], on one screen. [`config::AgentConfig`] is the `[agent]` section of an
//! experiment file. The agent is generic over the dfdx device (`dqn_nn::device::AgentDevice`);
//! replay, encoding and targets' bookkeeping stay on the host.
//!
//! Built on `dqn-nn` (layers, kernels, optimizers) and `dqn-envs` (observation element types
//! only). It must not depend on the harness: no experiment files, training loop, storage or
//! reports.

pub mod config;
pub mod networks;
pub mod replay;

use config::{AgentConfig, BootstrapMask, LossKind, OptimizerKind, SyncUnit};
use dfdx::prelude::*;
use dqn_envs::ObsElem;
use dqn_nn::device::AgentDevice;
use dqn_nn::optim::{self, StepOptimizer};
use dqn_nn::Batch;
use networks::QNetOn;
use rand::Rng;
use replay::{FrameReplay, PerConfig, Sampled};
use std::marker::PhantomData;

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
    Replay(#[from] replay::PerError),
    #[error(transparent)]
    Optimizer(#[from] optim::StepError),
    #[error("{0}")]
    Device(String),
}

fn tensor_err<E: std::fmt::Debug>(e: E) -> AgentError {
    AgentError::Tensor(format!("{e:?}"))
}

/// The optimizer the config names: Adam (the chapter's) or one of the RMSprop forms (the DQN
/// and MinAtar papers'), each as its source framework runs it (`optim::RmsForm`).
pub fn optimizer_rule(cfg: &AgentConfig) -> optim::Rule {
    let rms = |form| {
        optim::Rule::RmsProp(
            form,
            RMSpropConfig {
                lr: cfg.lr,
                alpha: cfg.rms_alpha,
                eps: cfg.rms_eps,
                momentum: cfg.rms_momentum,
                centered: cfg.rms_centered,
                weight_decay: None,
            },
        )
    };
    let adam = AdamConfig {
        lr: cfg.lr,
        betas: [cfg.adam_beta1, cfg.adam_beta2],
        eps: cfg.adam_eps,
        weight_decay: None,
    };
    match cfg.optimizer {
        OptimizerKind::Adam => optim::Rule::Adam(adam),
        OptimizerKind::AdamTorch => optim::Rule::AdamTorch(adam),
        OptimizerKind::AdamDezero => optim::Rule::AdamDezero(adam),
        OptimizerKind::Rmsprop => rms(optim::RmsForm::Dfdx),
        OptimizerKind::RmspropTf1 => rms(optim::RmsForm::Tf1),
        OptimizerKind::RmspropTorch => rms(optim::RmsForm::Torch),
        OptimizerKind::RmspropNature => rms(optim::RmsForm::Nature),
    }
}

/// A DQN-family agent with network kind `N` over observations of `E`, network input width
/// `IN` and `ACT` actions, training on device `D`.
pub struct DqnAgent<N, E, const IN: usize, const ACT: usize, D = Cpu>
where
    N: QNetOn<D, E, IN, ACT>,
    E: ObsElem,
    D: AgentDevice,
{
    dev: D,
    qnet: N::Built,
    qnet_target: N::Built,
    optimizer: D::Optimizer<N::Built>,
    grads: Option<Gradients<f32, D>>,
    replay: FrameReplay<E>,
    rule: TargetRule,
    cfg: AgentConfig,
    per: PerConfig,
    /// Scalars in one (stacked) observation.
    obs_len: usize,
    kind: PhantomData<N>,
}

impl<N, E, const IN: usize, const ACT: usize, D> DqnAgent<N, E, IN, ACT, D>
where
    N: QNetOn<D, E, IN, ACT>,
    E: ObsElem,
    D: AgentDevice,
{
    /// Build the agent for observations of `frames × frame_len` scalars (`frames` stacked
    /// frames). `dev` (dfdx's own init) and `init_rng` (DeZero init) must be seeded from the
    /// run's RNG. Fails only if the device cannot hold the networks.
    pub fn new(
        dev: D,
        cfg: &AgentConfig,
        init_rng: &mut impl Rng,
        frame_len: usize,
        frames: usize,
    ) -> Result<Self, AgentError> {
        let qnet = dqn_nn::build::<N, _, _>(&dev, cfg.init, init_rng).map_err(tensor_err)?;
        // As the chapter: the target net starts as its own random network and first becomes a
        // copy at the first sync (end of episode 0). The DQN paper starts it as a copy (θ⁻ = θ);
        // the two differ only in updates made before that first sync.
        let qnet_target = dqn_nn::build::<N, _, _>(&dev, cfg.init, init_rng).map_err(tensor_err)?;
        let per = PerConfig {
            alpha: cfg.per_alpha,
            beta_start: cfg.per_beta_start,
            beta_end: cfg.per_beta_end,
            eps: cfg.per_eps,
        };
        let replay = FrameReplay::new(
            cfg.buffer_size,
            frame_len,
            frames,
            cfg.variant.per.then_some(per),
        )
        .with_n_step(cfg.n_step as usize, cfg.gamma);
        Ok(DqnAgent {
            grads: Some(qnet.try_alloc_grads().map_err(tensor_err)?),
            optimizer: D::optimizer(&qnet, optimizer_rule(cfg))?,
            dev,
            qnet,
            qnet_target,
            replay,
            rule: if cfg.variant.double {
                TargetRule::Double
            } else {
                TargetRule::Max
            },
            cfg: cfg.clone(),
            per,
            obs_len: frame_len * frames,
            kind: PhantomData,
        })
    }

    /// Start an episode in replay with its first observation.
    pub fn begin_episode(&mut self, obs: &[E]) {
        self.replay.begin_episode(obs);
    }

    /// Store the transition from the last observation by `action` to `next_obs`.
    pub fn remember(
        &mut self,
        action: usize,
        reward: f32,
        next_obs: &[E],
        terminated: bool,
        truncated: bool,
    ) {
        self.replay
            .push(action, reward, next_obs, terminated, truncated);
    }

    /// Replay memory per stored transition, in bytes.
    pub fn replay_bytes_per_transition(&self) -> f64 {
        self.replay.bytes_per_transition()
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
    /// With `m = terminated` (or `terminated | truncated`, the chapter's default), and a
    /// transition spanning `k` steps (1; with `n_step`, `n` or fewer at an episode's end) with
    /// `r = Σⱼ γʲ rⱼ` and `s'` the state `k` steps on:
    ///
    /// ```text
    /// a*  = argmax_a Q_θ⁻(s', a)            (DQN)      or argmax_a Q_θ(s', a)   (Double DQN)
    /// y   = r + γᵏ (1 − m) Q_θ⁻(s', a*)                 (no gradient through y)
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
        if self.replay.len() < b {
            return Ok(None);
        }
        let batch = self.replay.sample(b, self.per.beta_at(progress), rng);
        let (states, next_states) = self.batch_inputs(&batch);

        // Targets, computed outside the tape.
        let next_q_target = self.qnet_target.forward(next_states.clone()).as_vec();
        let next_q_online = match self.rule {
            TargetRule::Max => None,
            TargetRule::Double => Some(self.qnet.forward(next_states).as_vec()),
        };
        let discount = |span: u16| match span {
            1 => self.cfg.gamma as f32,
            k => self.cfg.gamma.powi(i32::from(k)) as f32,
        };
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
                let gamma = discount(t.span);
                td_target(t.reward, gamma, cut, &next_q_target[row.clone()], online)
            })
            .collect();

        // Prediction with the tape, loss, optimizer step.
        let actions = self.dev.tensor_from_vec(
            batch.items.iter().map(|t| t.action as usize).collect(),
            (b,),
        );
        let y = self.dev.tensor_from_vec(targets.clone(), (b,));
        let w = self.dev.tensor_from_vec(batch.weights.clone(), (b,));
        let grads = self.grads.take().unwrap_or_else(|| self.qnet.alloc_grads());
        let q = self.qnet.forward_mut(states.traced(grads)).select(actions);
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
        self.optimizer.step(&mut self.qnet, &mut grads)?; // leaves `grads` zeroed
        self.grads = Some(grads);

        if let Some(slots) = &batch.slots {
            let td: Vec<f64> = targets
                .iter()
                .zip(&q_now)
                .map(|(y, q)| f64::from(y - q))
                .collect();
            self.replay.update_priorities(slots, &td)?;
        }
        Ok(Some(loss_value))
    }

    /// The network inputs of the sampled states and next states.
    fn batch_inputs(&self, batch: &Sampled) -> (Batch<IN, NoneTape, D>, Batch<IN, NoneTape, D>) {
        let mut obs = vec![E::default(); self.obs_len * batch.items.len()];
        let mut next = obs.clone();
        let rows = obs
            .chunks_exact_mut(self.obs_len)
            .zip(next.chunks_exact_mut(self.obs_len));
        for (t, (s, s2)) in batch.items.iter().zip(rows) {
            self.replay.write_observation(t, false, s);
            self.replay.write_observation(t, true, s2);
        }
        (
            self.encode(obs.chunks_exact(self.obs_len)),
            self.encode(next.chunks_exact(self.obs_len)),
        )
    }

    /// Encode observations into one input batch for the network.
    fn encode<'a>(
        &self,
        observations: impl ExactSizeIterator<Item = &'a [E]>,
    ) -> Batch<IN, NoneTape, D> {
        let n = observations.len();
        let mut input = vec![0.0f32; n * IN];
        for (obs, row) in observations.zip(input.chunks_exact_mut(IN)) {
            N::encode(obs, row);
        }
        self.dev.tensor_from_vec(input, (n, Const))
    }
}

/// What acting and evaluation need of an agent, whatever its network and device.
pub trait QPolicy<E> {
    /// Actions (Q-values per observation).
    const ACTIONS: usize;

    /// Q-values of observations laid end to end, under the online network; row-major
    /// `n × ACTIONS`.
    fn q_values(&self, observations: &[E]) -> Vec<f32>;

    /// The chapter's `get_action`: a uniform random action with probability ε, else greedy.
    fn act<R: Rng + ?Sized>(&self, obs: &[E], epsilon: f64, rng: &mut R) -> usize {
        if rng.gen::<f64>() < epsilon {
            rng.gen_range(0..Self::ACTIONS)
        } else {
            argmax(&self.q_values(obs))
        }
    }
}

impl<N, E, const IN: usize, const ACT: usize, D> QPolicy<E> for DqnAgent<N, E, IN, ACT, D>
where
    N: QNetOn<D, E, IN, ACT>,
    E: ObsElem,
    D: AgentDevice,
{
    const ACTIONS: usize = ACT;

    fn q_values(&self, observations: &[E]) -> Vec<f32> {
        self.qnet
            .forward(self.encode(observations.chunks_exact(self.obs_len)))
            .as_vec()
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
