//! One training run: the chapter's loop — reset, act ε-greedily, step, store, update, sync the
//! target network on schedule — generic over the environment and the network, with the
//! long-run options of the DQN and MinAtar papers (step budget, ε schedule, replay warm-up,
//! update period, periodic evaluation). [`train`] holds the one dispatch from an env config to
//! a monomorphised network.
//!
//! Every random draw comes from streams derived from the run's seed and config ([`seeds`]:
//! with paired streams, the default, from the env config and seed only, so every variant at
//! one seed shares them), so a run is bit-identical wherever and whenever it is executed.
//!
//! - [`seeds`]: the run's seeds and streams; `episode_loop`: the loop, generic over the
//!   environment and the network; `measure`: evaluations and Q measurements.

use crate::agent::networks::cnn::{MinAtarDuelingQNet, MinAtarQNet};
use crate::agent::networks::{DuelingQNet, QNetMlp, QNetMlpOf};
use crate::agent::AgentError;
use crate::config::{DeviceKind, MlpHidden, RunConfig};
use crate::env::{self, AnyEnv, Env, EnvId, EnvSpec, ObsElem};
use crate::store::{EpisodeRecord, EvalPoint};
use dfdx::prelude::Cpu;
#[cfg(feature = "cuda")]
use dfdx::tensor::Cuda;
use rand::RngCore;
use std::path::Path;
use std::sync::atomic::AtomicBool;

mod components;
mod episode_loop;
mod measure;
mod resume;
pub mod seeds;

use episode_loop::Loop;
pub use measure::EVAL_STEP_CAP;
pub use seeds::run_seed;
use seeds::{stream, Stream};

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
    /// Asked to stop (a signal): the run ended at a step boundary, checkpointed there if
    /// `checkpointed`, and resumes from there when trained again.
    #[error("interrupted at step {steps} ({})", if *checkpointed { "checkpointed" } else { "no checkpoint" })]
    Interrupted { steps: u64, checkpointed: bool },
}

/// Network inputs of the MinAtar CNN: 8×8 output positions × 3×3×C patch values.
const fn minatar_input(channels: usize) -> usize {
    64 * 9 * channels
}

/// What a run may do besides training: report progress, checkpoint (and resume), stop.
#[derive(Clone, Copy)]
pub struct RunControl<'a> {
    /// Gets the fraction of the run done (0–1) after every training episode.
    pub on_progress: &'a (dyn Fn(f64) + Sync),
    /// The run's folder: checkpoints go to its `checkpoint/`, and a run that finds one there
    /// resumes from it. `None`: no checkpoints.
    pub run_dir: Option<&'a Path>,
    /// Once set, the run checkpoints at its next step boundary and ends with
    /// [`TrainError::Interrupted`].
    pub stop: Option<&'a AtomicBool>,
    /// Notes for the user (a refused checkpoint, a failed write).
    pub say: &'a (dyn Fn(&str) + Sync),
}

impl<'a> RunControl<'a> {
    /// Progress only: no checkpoints, no stopping.
    pub fn progress(on_progress: &'a (dyn Fn(f64) + Sync)) -> Self {
        RunControl {
            on_progress,
            run_dir: None,
            stop: None,
            say: &|m| eprintln!("{m}"),
        }
    }
}

/// Train one agent as configured. `on_progress` gets the fraction of the run done (0–1) after
/// every training episode. No checkpoints: see [`train_with`].
pub fn train(
    cfg: &RunConfig,
    on_progress: &(dyn Fn(f64) + Sync),
) -> Result<RunOutcome, TrainError> {
    train_with(cfg, &RunControl::progress(on_progress))
}

/// Train one agent as configured, checkpointing, resuming and stopping as `ctl` says.
pub fn train_with(cfg: &RunConfig, ctl: &RunControl) -> Result<RunOutcome, TrainError> {
    if let Err(m) = crate::compiled::check_supported(&cfg.env, &cfg.agent) {
        panic!("unsupported configuration reached training: {m}");
    }
    let v = cfg.agent.variant;
    if v.distributional || v.noisy || !cfg.agent.minatar_net.is_default() {
        return components::train(cfg, ctl);
    }
    let dueling = cfg.agent.variant.dueling;
    macro_rules! mlp {
        ($d:ty; $($n:literal)*) => {
            match cfg.env.observe_len() {
                4 if cfg.agent.mlp_hidden == MlpHidden::W120x84 => {
                    Loop::<QNetMlpOf<4, 2, 120, 84>, f32, 4, 2, $d>::run(cfg, ctl)
                }
                $($n => if dueling {
                    Loop::<DuelingQNet<$n, 2>, f32, $n, 2, $d>::run(cfg, ctl)
                } else {
                    Loop::<QNetMlp<$n, 2>, f32, $n, 2, $d>::run(cfg, ctl)
                },)*
                n => unreachable!("checked: {n}"),
            }
        };
    }
    // The classic-control tasks with three actions (Acrobot: 6 inputs, MountainCar: 2).
    macro_rules! mlp3 {
        ($d:ty; $($n:literal)*) => {
            match cfg.env.observe_len() {
                $($n => if dueling {
                    Loop::<DuelingQNet<$n, 3>, f32, $n, 3, $d>::run(cfg, ctl)
                } else {
                    Loop::<QNetMlp<$n, 3>, f32, $n, 3, $d>::run(cfg, ctl)
                },)*
                n => unreachable!("checked: {n}"),
            }
        };
    }
    macro_rules! minatar {
        ($d:ty; $($c:literal)*) => {
            match cfg.env.observe_len() / 100 {
                $($c => if dueling {
                    Loop::<MinAtarDuelingQNet<$c, {9 * $c}, {minatar_input($c)}, 6>, u8, {minatar_input($c)}, 6, $d>::run(cfg, ctl)
                } else {
                    Loop::<MinAtarQNet<$c, {9 * $c}, {minatar_input($c)}, 6>, u8, {minatar_input($c)}, 6, $d>::run(cfg, ctl)
                },)*
                c => unreachable!("MinAtar games have 4, 6, 7 or 10 channels, not {c}"),
            }
        };
    }
    match cfg.env.id {
        EnvId::CartPole(_) => on_device!(cfg, mlp!(2 4 6 8 12 16)),
        EnvId::Acrobot | EnvId::MountainCar => on_device!(cfg, mlp3!(2 6)),
        EnvId::MinAtar(_) => on_device!(cfg, minatar!(4 6 7 10)),
        EnvId::Atari(_) => train_atari(cfg, ctl),
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

pub use crate::compiled::ATARI_ACTIONS;

/// The Nature CNN for the game's minimal action set, on 1 or 4 stacked 84×84 frames.
#[cfg(feature = "atari")]
fn train_atari(cfg: &RunConfig, ctl: &RunControl) -> Result<RunOutcome, TrainError> {
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
                    Loop::<NatureDuelingQNet<$c, $patch, $in, $a>, u8, $in, $a, $d>::run(cfg, ctl)
                } else {
                    Loop::<NatureQNet<$c, $patch, $in, $a>, u8, $in, $a, $d>::run(cfg, ctl)
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
fn train_atari(cfg: &RunConfig, _: &RunControl) -> Result<RunOutcome, TrainError> {
    panic!(
        "{} needs the `atari` feature (validation rejects it without)",
        cfg.env.id
    )
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

    /// Every MLP input size validation accepts (`compiled::MLP_INPUTS`) has an arm in `train`'s
    /// dispatch, plain and dueling: the two lists are kept in step by hand.
    #[test]
    fn every_compiled_mlp_input_size_trains() {
        use crate::env::Observe;
        let mut sizes = Vec::new();
        for observe in [Observe::Full, Observe::Positions] {
            for stack in 1..=4 {
                for dueling in [false, true] {
                    let mut cfg = RunConfig::default();
                    (cfg.env.observe, cfg.env.frame_stack) = (observe, stack);
                    cfg.agent.variant.dueling = dueling;
                    if crate::compiled::check_supported(&cfg.env, &cfg.agent).is_err() {
                        continue;
                    }
                    cfg.train.episodes = Some(1);
                    cfg.train.eval_episodes = 0;
                    cfg.train.q_probe_interval = 0;
                    cfg.train.probe_states = 0;
                    super::train(&cfg, &|_| {}).expect("one episode trains");
                    sizes.push(cfg.env.observe_len());
                }
            }
        }
        sizes.sort_unstable();
        sizes.dedup();
        assert_eq!(sizes, crate::compiled::MLP_INPUTS);
    }

    /// The same for the 3-action MLPs (`compiled::MLP3_INPUTS`): Acrobot's and MountainCar's
    /// observations, plain and dueling, train; stacked ones are rejected by validation.
    #[test]
    fn every_compiled_three_action_mlp_trains() {
        use crate::env::EnvId;
        let mut sizes = Vec::new();
        for id in [EnvId::Acrobot, EnvId::MountainCar] {
            for stack in 1..=2 {
                for dueling in [false, true] {
                    let mut cfg = RunConfig::default();
                    (cfg.env.id, cfg.env.frame_stack) = (id, stack);
                    cfg.agent.variant.dueling = dueling;
                    if crate::compiled::check_supported(&cfg.env, &cfg.agent).is_err() {
                        assert_eq!(stack, 2, "{id} unstacked is compiled");
                        continue;
                    }
                    cfg.train.steps = Some(300);
                    cfg.train.episodes = None;
                    cfg.train.eval_episodes = 0;
                    cfg.train.q_probe_interval = 0;
                    cfg.train.probe_states = 0;
                    let out = super::train(&cfg, &|_| {}).expect("trains");
                    assert_eq!(out.env_steps, 300);
                    sizes.push(cfg.env.observe_len());
                }
            }
        }
        sizes.sort_unstable();
        sizes.dedup();
        assert_eq!(sizes, crate::compiled::MLP3_INPUTS);
    }

    #[test]
    fn one_core_per_run_stops_gemm_from_splitting_any_product() {
        super::one_core_per_run();
        // `gemm` threads a product only when m·n·k reaches this threshold.
        assert_eq!(gemm_common::gemm::get_threading_threshold(), usize::MAX);
    }
}
