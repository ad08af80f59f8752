//! One training run: the chapter's loop — reset, act ε-greedily, step, store, update, sync the
//! target network on schedule — generic over the environment and the network, with the
//! long-run options of the DQN and MinAtar papers (step budget, ε schedule, replay warm-up,
//! update period, periodic evaluation). [`train`] holds the one dispatch from an env config to
//! a monomorphised network.
//!
//! Every random draw comes from streams derived from the run's full config and seed
//! ([`run_seed`]), so a run is bit-identical wherever and whenever it is executed.

use crate::agent::networks::cnn::{MinAtarDuelingQNet, MinAtarQNet};
use crate::agent::networks::{DuelingQNet, QNetMlp, QNetMlpOf, QNetOn};
use crate::agent::{AgentError, DqnAgent, QPolicy};
use crate::config::{
    DeviceKind, EnvConfig, MlpHidden, RandomStreams, RunConfig, SyncUnit, WarmupActions,
};
use crate::env::{self, AnyEnv, Env, EnvId, EnvSpec, ObsElem};
use crate::nn::device::AgentDevice;
use crate::store::{EpisodeRecord, EvalPoint};
use dfdx::prelude::Cpu;
#[cfg(feature = "cuda")]
use dfdx::tensor::Cuda;
use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sha2::{Digest, Sha256};
use std::time::Instant;

impl EvalPoint {
    pub fn mean(&self) -> f64 {
        self.returns.iter().sum::<f64>() / self.returns.len().max(1) as f64
    }
}

/// A finished run.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RunOutcome {
    pub episodes: Vec<EpisodeRecord>,
    /// Total reward of each evaluation episode after training.
    pub eval_returns: Vec<f64>,
    /// Periodic evaluations during training (`train.eval_interval`).
    pub evaluations: Vec<EvalPoint>,
    pub env_steps: u64,
    /// Replay memory per stored transition at the end of training, in bytes.
    pub replay_bytes_per_transition: f64,
    pub wall_s: f64,
}

#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    #[error("setting up the agent: {0}")]
    Setup(#[source] AgentError),
    #[error("episode {episode}, step {step}: {source}")]
    Agent {
        episode: u32,
        step: u64,
        source: AgentError,
    },
}

/// The 32-byte seed of a run: SHA-256 of [`RunConfig::seed_key`].
pub fn run_seed(cfg: &RunConfig) -> [u8; 32] {
    Sha256::digest(cfg.seed_key().as_bytes()).into()
}

/// The seeds a run's streams come from. With [`RandomStreams::Paired`] (common random
/// numbers) the environment, exploration and replay streams depend on the environment and
/// seed only, and the initial weights on those plus what fixes the network (its shape: dueling
/// or not; its init scheme), so at one seed every variant meets the same episodes' starts and
/// the same random choices, and variants of one network shape start from the same weights.
/// With [`RandomStreams::Independent`] both are [`run_seed`].
#[derive(Clone, Copy)]
struct RunSeeds {
    /// Env seeds, resets, ε-greedy, replay sampling, evaluation, Q rollouts.
    streams: [u8; 32],
    /// Initial weights (both dfdx's device RNG and the DeZero init stream).
    weights: [u8; 32],
}

impl RunSeeds {
    fn of(cfg: &RunConfig) -> RunSeeds {
        match cfg.train.random_streams {
            RandomStreams::Independent => RunSeeds {
                streams: run_seed(cfg),
                weights: run_seed(cfg),
            },
            RandomStreams::Paired => {
                let env = cfg.seed_key_env();
                let a = &cfg.agent;
                let streams = (&env, cfg.seed, "paired-streams");
                let weights = (&env, cfg.seed, a.variant.dueling, a.init, "paired-weights");
                RunSeeds {
                    streams: sha256_json(&streams),
                    weights: sha256_json(&weights),
                }
            }
        }
    }
}

fn sha256_json(value: &impl serde::Serialize) -> [u8; 32] {
    Sha256::digest(serde_json::to_vec(value).expect("serialises")).into()
}

/// The seed of the held-out probe states: from the environment and seed only, so every
/// variant at the same seed tracks its max-Q on the same states.
fn probe_seed(cfg: &RunConfig) -> [u8; 32] {
    sha256_json(&(&cfg.env, cfg.seed, "probe-states"))
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
    /// Seeds of environments that own their RNG (MinAtar), one stream per env instance.
    TrainEnvSeed = 8,
    EvalEnvSeed = 9,
    ProbeEnvSeed = 10,
    QRolloutEnvSeed = 11,
    PeriodicEval = 12,
    PeriodicEvalEnvSeed = 13,
}

fn stream(seed: [u8; 32], s: Stream) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::from_seed(seed);
    rng.set_stream(s as u64);
    rng
}

/// Network inputs of the MinAtar CNN: 8×8 output positions × 3×3×C patch values.
const fn minatar_input(channels: usize) -> usize {
    64 * 9 * channels
}

/// Train one agent as configured. `on_progress` gets the fraction of the run done (0–1) after
/// every training episode.
pub fn train(
    cfg: &RunConfig,
    on_progress: &(dyn Fn(f64) + Sync),
) -> Result<RunOutcome, TrainError> {
    if let Err(m) = crate::compiled::check_supported(&cfg.env, &cfg.agent) {
        panic!("unsupported configuration reached training: {m}");
    }
    let dueling = cfg.agent.variant.dueling;
    macro_rules! mlp {
        ($d:ty; $($n:literal)*) => {
            match cfg.env.observe_len() {
                4 if cfg.agent.mlp_hidden == MlpHidden::W120x84 => {
                    Loop::<QNetMlpOf<4, 2, 120, 84>, f32, 4, 2, $d>::run(cfg, on_progress)
                }
                $($n => if dueling {
                    Loop::<DuelingQNet<$n, 2>, f32, $n, 2, $d>::run(cfg, on_progress)
                } else {
                    Loop::<QNetMlp<$n, 2>, f32, $n, 2, $d>::run(cfg, on_progress)
                },)*
                n => unreachable!("checked: {n}"),
            }
        };
    }
    macro_rules! minatar {
        ($d:ty; $($c:literal)*) => {
            match cfg.env.observe_len() / 100 {
                $($c => if dueling {
                    Loop::<MinAtarDuelingQNet<$c, {9 * $c}, {minatar_input($c)}, 6>, u8, {minatar_input($c)}, 6, $d>::run(cfg, on_progress)
                } else {
                    Loop::<MinAtarQNet<$c, {9 * $c}, {minatar_input($c)}, 6>, u8, {minatar_input($c)}, 6, $d>::run(cfg, on_progress)
                },)*
                c => unreachable!("MinAtar games have 4, 6, 7 or 10 channels, not {c}"),
            }
        };
    }
    match cfg.env.id {
        EnvId::CartPole(_) => on_device!(cfg, mlp!(2 4 6 8 12 16)),
        EnvId::MinAtar(_) => on_device!(cfg, minatar!(4 6 7 10)),
        EnvId::Atari(_) => train_atari(cfg, on_progress),
    }
}

/// `$dispatch!(D; args…)` with `D` the dfdx device type of `$cfg.train.device`.
macro_rules! on_device {
    ($cfg:expr, $dispatch:ident!($($args:tt)*)) => {
        match $cfg.train.device {
            DeviceKind::Cpu => $dispatch!(Cpu; $($args)*),
            #[cfg(feature = "cuda")]
            DeviceKind::Cuda => $dispatch!(Cuda; $($args)*),
            #[cfg(not(feature = "cuda"))]
            DeviceKind::Cuda => unreachable!("validation rejects device = \"cuda\" without the `cuda` feature"),
        }
    };
}
use on_device;

/// From now on, in this process, keep every matrix product on the thread that asks for it.
///
/// dfdx's CPU matmul lets `gemm` split a large product (MinAtar's 1024 → 128 layer, the Nature
/// CNN) over the threads of the calling rayon pool, which in a sweep are the other runs' cores.
/// A sweep that has a run for every thread calls this, so that each run keeps to one core
/// (`gemm`'s threading threshold, a process-wide setting, is raised past any product size).
/// Results do not change: `gemm` splits a product by blocks of output, and each output value is
/// accumulated in the same order either way.
pub fn one_core_per_run() {
    gemm_common::gemm::set_threading_threshold(usize::MAX);
}

/// The env spec for measuring: a lost life does not end an evaluation episode (with
/// `terminal_on_life_loss`, training episodes are lives; scores are whole games).
fn whole_games(env: &crate::config::EnvConfig) -> env::EnvSpec {
    let mut spec = env.spec();
    spec.atari.terminal_on_life_loss = false;
    spec
}

/// The reward the agent learns from: the env's, or its sign with `clip_rewards`.
fn learned_reward(agent: &crate::config::AgentConfig, reward: f64) -> f32 {
    if !agent.clip_rewards {
        reward as f32
    } else if reward > 0.0 {
        1.0
    } else if reward < 0.0 {
        -1.0
    } else {
        0.0
    }
}

/// Action counts the Atari dispatch compiles the Nature CNN for (the minimal action sets of
/// the common benchmark games: Freeway 3, Breakout 4, Pong 6, Ms. Pac-Man 9, Seaquest 18).
pub const ATARI_ACTIONS: [usize; 5] = [3, 4, 6, 9, 18];

/// The Nature CNN for the game's minimal action set, on 1 or 4 stacked 84×84 frames.
#[cfg(feature = "atari")]
fn train_atari(
    cfg: &RunConfig,
    on_progress: &(dyn Fn(f64) + Sync),
) -> Result<RunOutcome, TrainError> {
    use crate::agent::networks::cnn::{NatureDuelingQNet, NatureQNet};
    let actions = match env::make(&cfg.env.spec(), 0) {
        AnyEnv::Pixels(e) => e.num_actions(),
        AnyEnv::Vector(_) => unreachable!("Atari screens are pixels"),
    };
    let dueling = cfg.agent.variant.dueling;
    macro_rules! nature {
        ($d:ty; $c:literal, $patch:literal, $in:literal; $($a:literal)*) => {
            match actions {
                $($a => if dueling {
                    Loop::<NatureDuelingQNet<$c, $patch, $in, $a>, u8, $in, $a, $d>::run(cfg, on_progress)
                } else {
                    Loop::<NatureQNet<$c, $patch, $in, $a>, u8, $in, $a, $d>::run(cfg, on_progress)
                },)*
                a => panic!("{} has {a} actions; the Nature CNN is compiled for {ATARI_ACTIONS:?}", cfg.env.id),
            }
        };
    }
    match cfg.env.frame_stack {
        1 => on_device!(cfg, nature!(1, 64, 25600; 3 4 6 9 18)),
        _ => on_device!(cfg, nature!(4, 256, 102400; 3 4 6 9 18)),
    }
}

#[cfg(not(feature = "atari"))]
fn train_atari(cfg: &RunConfig, _: &(dyn Fn(f64) + Sync)) -> Result<RunOutcome, TrainError> {
    panic!(
        "{} needs the `atari` feature (validation rejects it without)",
        cfg.env.id
    )
}

impl EnvConfig {
    /// Scalars in one (stacked) observation.
    pub fn observe_len(&self) -> usize {
        let frame = match (self.id, self.observe) {
            (EnvId::CartPole(_), env::Observe::Full) => 4,
            (EnvId::CartPole(_), env::Observe::Positions) => 2,
            (EnvId::MinAtar(g), _) => g.channels() * 100,
            (EnvId::Atari(_), _) => self.screen_size * self.screen_size,
        };
        frame * self.frame_stack
    }
}

/// Build an env of element type `E` from `spec`, seeded (where it owns its RNG) from `stream`.
fn make_env<E: ObsElem>(spec: &EnvSpec, seed: [u8; 32], s: Stream) -> Box<dyn Env<Elem = E>> {
    let env_seed = stream(seed, s).next_u32();
    let any: Box<dyn std::any::Any> = match env::make(spec, env_seed) {
        AnyEnv::Vector(e) => Box::new(e),
        AnyEnv::Pixels(e) => Box::new(e),
    };
    *any.downcast::<Box<dyn Env<Elem = E>>>()
        .expect("the dispatch picks the element type of the env")
}

/// The training loop for network kind `N` over observations of `E` on device `D`: the run's
/// state between episodes.
struct Loop<'c, N, E, const IN: usize, const ACT: usize, D>
where
    N: QNetOn<D, E, IN, ACT>,
    E: ObsElem,
    D: AgentDevice,
{
    cfg: &'c RunConfig,
    seed: [u8; 32],
    start: Instant,
    env: Box<dyn Env<Elem = E>>,
    agent: DqnAgent<N, E, IN, ACT, D>,
    reset_rng: ChaCha8Rng,
    policy_rng: ChaCha8Rng,
    replay_rng: ChaCha8Rng,
    q_rollout_rng: ChaCha8Rng,
    probes: Vec<E>,
    periodic: PeriodicEval<E>,
    evaluations: Vec<EvalPoint>,
    total_steps: u64,
}

/// Counters of the episode in progress.
#[derive(Default)]
struct EpisodeTally {
    ret: f64,
    length: u32,
    loss_sum: f64,
    updates: u32,
    /// The step budget ran out before the episode ended.
    cut: bool,
}

impl<'c, N, E, const IN: usize, const ACT: usize, D> Loop<'c, N, E, IN, ACT, D>
where
    N: QNetOn<D, E, IN, ACT>,
    E: ObsElem,
    D: AgentDevice,
{
    fn run(cfg: &RunConfig, on_progress: &(dyn Fn(f64) + Sync)) -> Result<RunOutcome, TrainError> {
        let mut run = Loop::<N, E, IN, ACT, D>::new(cfg)?;
        let t = &cfg.train;
        let max_episodes = t.episodes.unwrap_or(u32::MAX);
        let budget = t.steps.unwrap_or(u64::MAX);
        let mut episodes = Vec::new();
        let mut episode = 0u32;
        while episode < max_episodes && run.total_steps < budget {
            let mean_max_q = mean_max_q(&run.agent, &run.probes);
            let tally = run.episode(episode, max_episodes)?;
            if tally.cut {
                break; // the budget cut this episode: not recorded
            }
            episodes.push(run.record(episode, &tally, mean_max_q));
            episode += 1;
            on_progress(match t.steps {
                Some(b) => run.total_steps as f64 / b as f64,
                None => f64::from(episode) / f64::from(max_episodes),
            });
        }
        Ok(run.finish(episodes))
    }

    fn new(cfg: &'c RunConfig) -> Result<Self, TrainError> {
        let RunSeeds {
            streams: seed,
            weights,
        } = RunSeeds::of(cfg);
        let spec = cfg.env.spec();
        let env: Box<dyn Env<Elem = E>> = make_env(&spec, seed, Stream::TrainEnvSeed);
        assert_eq!(
            env.num_actions(),
            ACT,
            "the dispatch matches the env's actions"
        );
        let frame_len = env.obs_shape().len() / cfg.env.frame_stack;
        let init_seed = u64::from_le_bytes(weights[..8].try_into().expect("8 bytes"));
        let dev = D::seeded(init_seed).map_err(|e| TrainError::Setup(AgentError::Device(e)))?;
        Ok(Loop {
            agent: DqnAgent::new(
                dev,
                &cfg.agent,
                &mut stream(weights, Stream::WeightInit),
                frame_len,
                cfg.env.frame_stack,
            )
            .map_err(TrainError::Setup)?,
            env,
            reset_rng: stream(seed, Stream::EnvReset),
            policy_rng: stream(seed, Stream::Policy),
            replay_rng: stream(seed, Stream::Replay),
            q_rollout_rng: stream(seed, Stream::QRollout),
            probes: Self::probe_states(cfg, &spec),
            periodic: PeriodicEval::new(cfg, &spec, seed),
            evaluations: Vec::new(),
            total_steps: 0,
            start: Instant::now(),
            cfg,
            seed,
        })
    }

    /// One training episode: act, step, store, update every `update_period` steps after
    /// `learning_starts`, sync on schedule, evaluate when due.
    fn episode(&mut self, episode: u32, max_episodes: u32) -> Result<EpisodeTally, TrainError> {
        let (a, t) = (&self.cfg.agent, &self.cfg.train);
        let mut obs = vec![E::default(); self.env.obs_shape().len()];
        let mut next = obs.clone();
        self.env.reset_into(&mut self.reset_rng, &mut obs);
        self.agent.begin_episode(&obs);
        // β anneals from per_beta_start at the first episode (or step) to per_beta_end at the
        // last.
        let progress_at = |steps: u64| match t.steps {
            Some(b) => steps as f64 / b as f64,
            None => f64::from(episode) / f64::from(max_episodes.saturating_sub(1).max(1)),
        };
        let mut tally = EpisodeTally::default();
        loop {
            let action = if self.total_steps < a.learning_starts
                && a.warmup_actions == WarmupActions::Uniform
            {
                self.policy_rng.gen_range(0..ACT)
            } else {
                let eps = a.epsilon_at(self.total_steps);
                self.agent.act(&obs, eps, &mut self.policy_rng)
            };
            let step = self.env.step_into(action, &mut next);
            let (term, trunc) = (step.terminated, step.truncated);
            self.agent
                .remember(action, learned_reward(a, step.reward), &next, term, trunc);
            self.total_steps += 1;
            let steps = self.total_steps;
            if steps >= a.learning_starts && steps.is_multiple_of(a.update_period) {
                match self.agent.update(progress_at(steps), &mut self.replay_rng) {
                    Ok(Some(l)) => {
                        tally.loss_sum += f64::from(l);
                        tally.updates += 1;
                    }
                    Ok(None) => {}
                    Err(source) => {
                        return Err(TrainError::Agent {
                            episode,
                            step: steps,
                            source,
                        })
                    }
                }
            }
            if self
                .agent
                .sync_due(SyncUnit::Steps, u64::from(episode), steps)
            {
                self.agent.sync_target();
            }
            if let Some(point) = self.periodic.due(&self.agent, steps) {
                self.evaluations.push(point);
            }
            tally.ret += step.reward;
            tally.length += 1;
            std::mem::swap(&mut obs, &mut next);
            if step.done() {
                break;
            }
            if t.steps.is_some_and(|b| steps >= b) {
                tally.cut = true;
                return Ok(tally);
            }
        }
        if self
            .agent
            .sync_due(SyncUnit::Episodes, u64::from(episode), self.total_steps)
        {
            self.agent.sync_target();
        }
        Ok(tally)
    }

    /// The record of a finished episode (and its Q probe, when due).
    fn record(&mut self, episode: u32, tally: &EpisodeTally, mean_max_q: f64) -> EpisodeRecord {
        let interval = self.cfg.train.q_probe_interval;
        let q = if interval > 0 && (episode + 1).is_multiple_of(interval) {
            q_accuracy(&self.agent, self.cfg, self.seed, &mut self.q_rollout_rng)
        } else {
            QAccuracy::NAN
        };
        EpisodeRecord {
            episode,
            ret: tally.ret,
            length: tally.length,
            steps: self.total_steps,
            loss: if tally.updates > 0 {
                tally.loss_sum / f64::from(tally.updates)
            } else {
                f64::NAN
            },
            epsilon: self.cfg.agent.epsilon_at(self.total_steps),
            mean_max_q,
            q_pred: q.predicted,
            q_mc: q.actual,
            q_abs_err: q.abs_err,
            wall_s: self.start.elapsed().as_secs_f64(),
        }
    }

    /// The evaluation episodes after training, and the outcome.
    fn finish(self, episodes: Vec<EpisodeRecord>) -> RunOutcome {
        let t = &self.cfg.train;
        let mut eval_env =
            make_env::<E>(&whole_games(&self.cfg.env), self.seed, Stream::EvalEnvSeed);
        let mut eval_rng = stream(self.seed, Stream::EvalReset);
        let eval_returns = (0..t.eval_episodes)
            .map(|_| eval_episode(&self.agent, &mut *eval_env, t.eval_epsilon, &mut eval_rng))
            .collect();
        RunOutcome {
            episodes,
            eval_returns,
            evaluations: self.evaluations,
            env_steps: self.total_steps,
            replay_bytes_per_transition: self.agent.replay_bytes_per_transition(),
            wall_s: self.start.elapsed().as_secs_f64(),
        }
    }

    /// Observations visited by a uniformly random policy before training: the held-out set on
    /// which the DQN paper tracks the average predicted max-Q; laid end to end.
    fn probe_states(cfg: &RunConfig, spec: &EnvSpec) -> Vec<E> {
        let pseed = probe_seed(cfg);
        let mut rng = stream(pseed, Stream::Probe);
        let mut env = make_env::<E>(spec, pseed, Stream::ProbeEnvSeed);
        let n = env.obs_shape().len();
        let mut states: Vec<E> = Vec::with_capacity(cfg.train.probe_states * n);
        let mut obs = vec![E::default(); n];
        while states.len() < cfg.train.probe_states * n {
            env.reset_into(&mut rng, &mut obs);
            loop {
                states.extend_from_slice(&obs);
                let step = env.step_into(rng.gen_range(0..ACT), &mut obs);
                if step.done() || states.len() >= cfg.train.probe_states * n {
                    break;
                }
            }
        }
        states
    }
}

/// Evaluation during training: every `eval_interval` env steps, `eval_episodes` episodes with
/// ε = `eval_epsilon` on an env and RNG of its own (so it never changes training).
struct PeriodicEval<E> {
    interval: u64,
    episodes: u32,
    epsilon: f64,
    env: Option<Box<dyn Env<Elem = E>>>,
    rng: ChaCha8Rng,
}

impl<E: ObsElem> PeriodicEval<E> {
    fn new(cfg: &RunConfig, spec: &EnvSpec, seed: [u8; 32]) -> Self {
        let t = &cfg.train;
        PeriodicEval {
            interval: t.eval_interval,
            episodes: t.eval_episodes,
            epsilon: t.eval_epsilon,
            env: (t.eval_interval > 0).then(|| make_env(spec, seed, Stream::PeriodicEvalEnvSeed)),
            rng: stream(seed, Stream::PeriodicEval),
        }
    }

    fn due(&mut self, agent: &impl QPolicy<E>, steps: u64) -> Option<EvalPoint> {
        let env = self.env.as_mut()?;
        if !steps.is_multiple_of(self.interval) {
            return None;
        }
        let returns = (0..self.episodes)
            .map(|_| eval_episode(agent, &mut **env, self.epsilon, &mut self.rng))
            .collect();
        Some(EvalPoint { steps, returns })
    }
}

/// Evaluation episodes of envs without a time limit are cut here (27,000 agent steps: the
/// 108,000-frame cap of Atari evaluation protocols).
pub const EVAL_STEP_CAP: u32 = 27_000;

/// One episode with ε-greedy actions (`epsilon = 0`: greedy); returns its total reward.
fn eval_episode<E: ObsElem>(
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

fn mean_max_q<E, A: QPolicy<E>>(agent: &A, probes: &[E]) -> f64 {
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
fn q_accuracy<E: ObsElem>(
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

#[cfg(test)]
mod tests {
    use crate::config::RunConfig;

    /// `run.json`'s replay memory per transition: one CartPole frame (4 × f32) plus the ring
    /// entry (`FrameTransition`, 32 bytes) and the episodes' first frames, whatever the stack
    /// (frames are stored once, not per stacked state).
    #[test]
    fn replay_memory_per_transition_is_one_frame_whatever_the_stack() {
        let bytes = |stack: usize| {
            let mut cfg = RunConfig::default();
            cfg.env.frame_stack = stack;
            cfg.train.episodes = Some(5);
            cfg.train.eval_episodes = 0;
            cfg.train.q_probe_interval = 0;
            cfg.train.probe_states = 0;
            super::train(&cfg, &|_| {})
                .expect("a short run trains")
                .replay_bytes_per_transition
        };
        let (one, four) = (bytes(1), bytes(4));
        let frame = 16.0;
        let entry = std::mem::size_of::<crate::agent::replay::FrameTransition>();
        assert_eq!(entry, 32);
        assert!(one > frame + 32.0 && one < 2.0 * frame + 32.0, "{one}");
        assert!((four - one).abs() < 1.0, "stack 4: {four}, stack 1: {one}");
    }

    #[test]
    fn one_core_per_run_stops_gemm_from_splitting_any_product() {
        super::one_core_per_run();
        // `gemm` threads a product only when m·n·k reaches this threshold.
        assert_eq!(gemm_common::gemm::get_threading_threshold(), usize::MAX);
    }
}
