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
pub mod distributional;
pub mod networks;
pub mod replay;
mod state;

use config::{AgentConfig, BootstrapMask, C51Priority, LossKind, OptimizerKind, SyncUnit};
use dfdx::prelude::*;
use distributional::{entropy, softmax_rows, Support};
use dqn_envs::ObsElem;
use dqn_nn::device::AgentDevice;
use dqn_nn::optim::{self, StepOptimizer};
use dqn_nn::{Batch, Traced};
use networks::QNetOn;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
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
    #[error("checkpoint: {0}")]
    Checkpoint(String),
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
/// `IN` and `OUT` network outputs (the actions, or actions × atoms for a distributional head),
/// training on device `D`.
pub struct DqnAgent<N, E, const IN: usize, const OUT: usize, D = Cpu>
where
    N: QNetOn<D, E, IN, OUT>,
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
    /// C51's support (unused with one atom per action).
    support: Support,
    /// The noisy layers' stream (drawn from only with `noisy`).
    noise_rng: ChaCha8Rng,
    kind: PhantomData<N>,
}

/// Which of the agent's two networks.
#[derive(Debug, Clone, Copy)]
enum Which {
    Online,
    Target,
}

impl<N, E, const IN: usize, const OUT: usize, D> DqnAgent<N, E, IN, OUT, D>
where
    N: QNetOn<D, E, IN, OUT>,
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
        let build =
            |rng: &mut _| dqn_nn::build_cnn::<N, _, _>(&dev, cfg.init, rng, N::RECEPTIVE_FIELD);
        let qnet = build(init_rng).map_err(tensor_err)?;
        // As the chapter: the target net starts as its own random network and first becomes a
        // copy at the first sync (end of episode 0). The DQN paper starts it as a copy (θ⁻ = θ);
        // the two differ only in updates made before that first sync.
        let qnet_target = build(init_rng).map_err(tensor_err)?;
        // Noisy layers draw from their own stream, seeded from the weight-init stream after
        // both networks are built (other variants leave that stream as it was).
        let noise_rng = if cfg.variant.noisy {
            ChaCha8Rng::from_rng(&mut *init_rng).map_err(|e| AgentError::Device(e.to_string()))?
        } else {
            ChaCha8Rng::seed_from_u64(0)
        };
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
            support: Support::new(cfg.v_min, cfg.v_max, N::ATOMS.max(2)),
            noise_rng,
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
    /// `progress` ∈ [0, 1] is the fraction of training done (anneals PER's β). The step is
    /// [`Self::q_step`] (Q-values) or [`Self::c51_step`] (a distributional head); PER's
    /// priorities are then updated from what the step says.
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
        let (loss, priority) = if N::ATOMS == 1 {
            self.q_step(&batch, states, next_states)?
        } else {
            self.c51_step(&batch, states, next_states)?
        };
        self.clear_noise(Which::Online)?;
        if let Some(slots) = &batch.slots {
            self.replay.update_priorities(slots, &priority)?;
        }
        Ok(Some(loss))
    }

    /// The Q-value update. With `m = terminated` (or `terminated | truncated`, the chapter's
    /// default), and a transition spanning `k` steps (1; with `n_step`, `n` or fewer at an
    /// episode's end) with `r = Σⱼ γʲ rⱼ` and `s'` the state `k` steps on:
    ///
    /// ```text
    /// a*  = argmax_a Q_θ⁻(s', a)            (DQN)      or argmax_a Q_θ(s', a)   (Double DQN)
    /// y   = r + γᵏ (1 − m) Q_θ⁻(s', a*)                 (no gradient through y)
    /// δ   = y − Q_θ(s, a)
    /// L   = 1/B Σ w_i ℓ(δ_i)                ℓ = δ² (MSE) or Huber;  w = 1, or PER's IS weights
    /// PER: p_i ← (|δ_i| + ε)^α
    /// ```
    ///
    /// With noisy layers each of the three forward passes draws its own noise.
    fn q_step(
        &mut self,
        batch: &Sampled,
        states: Batch<IN, NoneTape, D>,
        next_states: Batch<IN, NoneTape, D>,
    ) -> Result<(f32, Vec<f64>), AgentError> {
        // Targets, computed outside the tape.
        self.draw_noise(Which::Target)?;
        let next_q_target = self.qnet_target.forward(next_states.clone()).as_vec();
        let next_q_online = match self.rule {
            TargetRule::Max => None,
            TargetRule::Double => {
                self.draw_noise(Which::Online)?;
                Some(self.qnet.forward(next_states).as_vec())
            }
        };
        let targets: Vec<f32> = batch
            .items
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let row = i * OUT..(i + 1) * OUT;
                let online = next_q_online.as_deref().map(|q| &q[row.clone()]);
                let gamma = self.discount(t.span);
                td_target(t.reward, gamma, self.cut(t), &next_q_target[row], online)
            })
            .collect();

        // Prediction with the tape, loss, optimizer step.
        let b = batch.items.len();
        let y = self.dev.tensor_from_vec(targets.clone(), (b,));
        self.draw_noise(Which::Online)?;
        let grads = self.grads.take().unwrap_or_else(|| self.qnet.alloc_grads());
        let q = self
            .qnet
            .forward_mut(states.traced(grads))
            .select(self.actions(batch));
        let q_now = q.as_vec();
        let per_sample = match self.cfg.loss {
            LossKind::Mse => (q - y).square(),
            LossKind::Huber => q.huber_error(y, self.cfg.huber_delta),
        };
        let loss = self.optimize(per_sample, batch)?;
        let td = targets
            .iter()
            .zip(&q_now)
            .map(|(y, q)| f64::from(y - q))
            .collect();
        Ok((loss, td))
    }

    /// The distributional (C51) update, with `z` the support, `p` the softmax over atoms and
    /// `Q = Σ p z` (Bellemare et al. 2017; Rainbow with `n_step`, Double, PER, noisy):
    ///
    /// ```text
    /// a*  = argmax_a Q_θ⁻(s', a)   or, Double, argmax_a Q_θ(s', a)
    /// m   = Φ(r + γᵏ (1 − m) z,  p_θ⁻(s', a*))        the clipped projection (distributional.rs)
    /// L   = 1/B Σ w_i · (−Σ_z m log p_θ(s, a))        cross-entropy
    /// PER: p_i ← (KL(m ‖ p_θ) + ε)^α   or the cross-entropy itself (`c51_priority`)
    /// ```
    fn c51_step(
        &mut self,
        batch: &Sampled,
        states: Batch<IN, NoneTape, D>,
        next_states: Batch<IN, NoneTape, D>,
    ) -> Result<(f32, Vec<f64>), AgentError> {
        let (atoms, actions, b) = (N::ATOMS, OUT / N::ATOMS, batch.items.len());
        self.draw_noise(Which::Target)?;
        let mut p_next = self.qnet_target.forward(next_states.clone()).as_vec();
        softmax_rows(&mut p_next, atoms);
        let choose = match self.rule {
            TargetRule::Max => self.support.means(&p_next),
            TargetRule::Double => {
                self.draw_noise(Which::Online)?;
                let mut p = self.qnet.forward(next_states).as_vec();
                softmax_rows(&mut p, atoms);
                self.support.means(&p)
            }
        };
        let mut m = Vec::with_capacity(b * atoms);
        for (i, t) in batch.items.iter().enumerate() {
            let a_star = argmax(&choose[i * actions..(i + 1) * actions]);
            let discount = if self.cut(t) {
                0.0
            } else {
                self.discount(t.span)
            };
            let next = (i * actions + a_star) * atoms;
            m.extend(
                self.support
                    .project(t.reward, discount, &p_next[next..next + atoms]),
            );
        }

        let target = self.dev.tensor_from_vec(m.clone(), (b, atoms));
        self.draw_noise(Which::Online)?;
        let grads = self.grads.take().unwrap_or_else(|| self.qnet.alloc_grads());
        let log_p = self
            .qnet
            .forward_mut(states.traced(grads))
            .reshape_like(&(b, actions, atoms))
            .select(self.actions(batch))
            .log_softmax::<Axis<1>>();
        let cross_entropy = (log_p * target).sum::<(usize,), Axis<1>>().negate();
        let per_sample_loss = cross_entropy.as_vec();
        let loss = self.optimize(cross_entropy, batch)?;
        let priority = per_sample_loss
            .iter()
            .zip(m.chunks_exact(atoms))
            .map(|(ce, m)| match self.cfg.c51_priority {
                C51Priority::Kl => f64::from((ce - entropy(m)).max(0.0)),
                C51Priority::CrossEntropy => f64::from(*ce),
            })
            .collect();
        Ok((loss, priority))
    }

    /// `L = 1/B Σ wᵢ ℓᵢ` (PER's importance weights, or 1) and one optimizer step on it.
    fn optimize(
        &mut self,
        per_sample: Tensor<(usize,), f32, D, Traced<D>>,
        batch: &Sampled,
    ) -> Result<f32, AgentError> {
        let w = self
            .dev
            .tensor_from_vec(batch.weights.clone(), (batch.items.len(),));
        let loss = (per_sample * w).mean();
        let loss_value = loss.array();
        if !loss_value.is_finite() {
            return Err(AgentError::NonFiniteLoss(loss_value));
        }
        let mut grads = loss.backward();
        self.optimizer.step(&mut self.qnet, &mut grads)?; // leaves `grads` zeroed
        self.grads = Some(grads);
        Ok(loss_value)
    }

    /// The sampled actions, as an index tensor.
    fn actions(&self, batch: &Sampled) -> Tensor<(usize,), usize, D> {
        let a = batch.items.iter().map(|t| t.action as usize).collect();
        self.dev.tensor_from_vec(a, (batch.items.len(),))
    }

    /// Whether bootstrapping stops after this transition (`bootstrap_mask`).
    fn cut(&self, t: &replay::FrameTransition) -> bool {
        match self.cfg.bootstrap_mask {
            BootstrapMask::Done => t.terminated || t.truncated,
            BootstrapMask::Terminated => t.terminated,
        }
    }

    /// `γᵏ` for a transition spanning `k` steps.
    fn discount(&self, span: u16) -> f32 {
        match span {
            1 => self.cfg.gamma as f32,
            k => self.cfg.gamma.powi(i32::from(k)) as f32,
        }
    }

    /// Fresh noise into a network's noisy layers (nothing without `noisy`).
    fn draw_noise(&mut self, which: Which) -> Result<(), AgentError> {
        self.set_noise(which, true)
    }

    /// Back to a network's mean weights (nothing without `noisy`).
    fn clear_noise(&mut self, which: Which) -> Result<(), AgentError> {
        self.set_noise(which, false)
    }

    /// Draws (`draw`) or zeroes a network's noise; nothing without `noisy`.
    fn set_noise(&mut self, which: Which, draw: bool) -> Result<(), AgentError> {
        if !self.cfg.variant.noisy {
            return Ok(());
        }
        let net = match which {
            Which::Online => &mut self.qnet,
            Which::Target => &mut self.qnet_target,
        };
        match draw {
            true => dqn_nn::resample_noise(net, &mut self.noise_rng),
            false => dqn_nn::clear_noise(net),
        }
        .map_err(tensor_err)
    }

    /// The training policy: ε-greedy as [`QPolicy::act`]; with noisy layers the greedy action
    /// is taken under a fresh noise sample (Fortunato et al. 2018), then the online network
    /// returns to its mean weights, which evaluation and the Q probes use.
    pub fn act_exploring<R: Rng + ?Sized>(
        &mut self,
        obs: &[E],
        epsilon: f64,
        rng: &mut R,
    ) -> Result<usize, AgentError> {
        if !self.cfg.variant.noisy {
            return Ok(self.act(obs, epsilon, rng));
        }
        if rng.gen::<f64>() < epsilon {
            return Ok(rng.gen_range(0..Self::ACTIONS));
        }
        self.draw_noise(Which::Online)?;
        let q = self.q_values(obs);
        self.clear_noise(Which::Online)?;
        Ok(argmax(&q))
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

impl<N, E, const IN: usize, const OUT: usize, D> QPolicy<E> for DqnAgent<N, E, IN, OUT, D>
where
    N: QNetOn<D, E, IN, OUT>,
    E: ObsElem,
    D: AgentDevice,
{
    const ACTIONS: usize = OUT / N::ATOMS;

    /// Q-values; for a distributional head, the means of its distributions.
    fn q_values(&self, observations: &[E]) -> Vec<f32> {
        let mut out = self
            .qnet
            .forward(self.encode(observations.chunks_exact(self.obs_len)))
            .as_vec();
        if N::ATOMS == 1 {
            return out;
        }
        softmax_rows(&mut out, N::ATOMS);
        self.support.means(&out)
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
