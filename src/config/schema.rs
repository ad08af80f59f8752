//! The sections of an experiment file as types: `[env]`, `[train]`, `[report]` (with
//! `[report.normalize."<env id>"]`) and `[check]`, each with its defaults (`[agent]` is
//! `dqn_agent::config::AgentConfig`). These structs are the one source of which keys exist
//! and what they default to; `keys.rs` documents each and its tests hold the two together.

use crate::env::{CartPoleVersion, EnvId, EnvSpec, Observe};
use dqn_agent::config::Variant;
use serde::{Deserialize, Serialize};

/// The top-level keys of a file: three values and the five section tables.
pub const TOP_KEYS: [&str; 8] = [
    "name",
    "description",
    "seeds",
    "env",
    "agent",
    "train",
    "report",
    "check",
];

/// The sections whose values may be lists (swept), in the order their axes are taken.
pub const SWEPT_SECTIONS: [&str; 3] = ["env", "agent", "train"];

/// The chapter's 300 episodes, when neither `episodes` nor `steps` is given.
pub const DEFAULT_EPISODES: u32 = 300;

/// `[env]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EnvConfig {
    /// `"CartPole-v0"` (200 steps), `"CartPole-v1"` (500), or a MinAtar game
    /// (`"MinAtar/Breakout"`, …).
    pub id: EnvId,
    /// `"full"` state, or CartPole's `"positions"` only (velocities hidden).
    pub observe: Observe,
    /// Observations are the last `frame_stack` frames (1: no stacking).
    pub frame_stack: usize,
    /// Truncate episodes after this many steps (on top of the registered limit, if any).
    pub max_episode_steps: Option<u32>,
    /// MinAtar: probability that the previous action is repeated (the package's 0.1).
    pub sticky_action_prob: f64,
    /// MinAtar: the games speed up over time (the package's default).
    pub difficulty_ramping: bool,
    /// Atari: a ROM file to load instead of the bundled one (named as ALE expects).
    pub rom_path: Option<std::path::PathBuf>,
    /// Atari: ALE's sticky actions (0.25, Machado et al. 2018; Gymnasium v5).
    pub repeat_action_probability: f64,
    /// Atari: emulator frames per episode before truncation (108,000; 0: none).
    pub max_episode_frames: u64,
    /// Atari: up to this many no-ops after each reset (30).
    pub noop_max: u32,
    /// Atari: emulator frames per step, max over the last two (4).
    pub frame_skip: u32,
    /// Atari: side of the resized square observation (84).
    pub screen_size: usize,
    /// Atari: a lost life ends the episode for learning (the game goes on).
    pub terminal_on_life_loss: bool,
    /// Atari: press FIRE after each reset (games that wait for it).
    pub fire_reset: bool,
}

impl Default for EnvConfig {
    fn default() -> Self {
        let atari = crate::env::atari::AtariOptions::default();
        EnvConfig {
            id: EnvId::CartPole(CartPoleVersion::V0),
            observe: Observe::Full,
            frame_stack: 1,
            max_episode_steps: None,
            sticky_action_prob: 0.1,
            difficulty_ramping: true,
            rom_path: atari.rom_path,
            repeat_action_probability: atari.repeat_action_probability,
            max_episode_frames: atari.max_episode_frames,
            noop_max: atari.noop_max,
            frame_skip: atari.frame_skip,
            screen_size: atari.screen_size,
            terminal_on_life_loss: atari.terminal_on_life_loss,
            fire_reset: atari.fire_reset,
        }
    }
}

impl EnvConfig {
    /// What the environment registry needs to build this env.
    pub fn spec(&self) -> EnvSpec {
        EnvSpec {
            id: self.id,
            observe: self.observe,
            frame_stack: self.frame_stack,
            max_episode_steps: self.max_episode_steps,
            sticky_action_prob: self.sticky_action_prob,
            difficulty_ramping: self.difficulty_ramping,
            unlimited: false,
            atari: self.atari(),
        }
    }

    /// The Atari settings of this config.
    pub fn atari(&self) -> crate::env::atari::AtariOptions {
        crate::env::atari::AtariOptions {
            rom_path: self.rom_path.clone(),
            repeat_action_probability: self.repeat_action_probability,
            max_episode_frames: self.max_episode_frames,
            noop_max: self.noop_max,
            frame_skip: self.frame_skip,
            screen_size: self.screen_size,
            terminal_on_life_loss: self.terminal_on_life_loss,
            fire_reset: self.fire_reset,
        }
    }

    /// The episode step limit in force: the registered one and `max_episode_steps`.
    pub fn time_limit(&self) -> Option<u32> {
        match (self.id.time_limit(), self.max_episode_steps) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

/// `[train]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrainConfig {
    /// Training episodes (default 300 without a step budget; unlimited with one).
    pub episodes: Option<u32>,
    /// Step budget: training ends after this many env steps (whichever of `episodes` and
    /// `steps` comes first; an episode cut by the budget is not recorded).
    pub steps: Option<u64>,
    /// Every this many env steps, evaluate the current policy for `eval_episodes` episodes
    /// with ε = `eval_epsilon` (0: only after training).
    pub eval_interval: u64,
    /// ε of evaluation episodes (the chapter's greedy evaluation: 0).
    pub eval_epsilon: f64,
    /// Greedy (ε = 0) evaluation episodes after training.
    pub eval_episodes: u32,
    /// Every this many episodes, roll the current network out greedily without the time limit
    /// and compare its predicted Q(s, a) with the discounted return actually obtained
    /// (over-estimation, Q accuracy); 0 disables.
    pub q_probe_interval: u32,
    /// Held-out states (from a random policy, before training) on which the mean max-Q is
    /// tracked at every episode start, as in the DQN paper's Figure 2.
    pub probe_states: usize,
    /// How a run's random streams are derived (common random numbers by default).
    pub random_streams: RandomStreams,
    /// Where the networks train: `"cpu"` (default) or `"cuda"` (a binary built with the `cuda`
    /// feature). Part of a run's identity (GPU kernels round differently), not of its seeds:
    /// both devices start from the same weights and draw the same random streams. Left out of
    /// a run's JSON at its default, so CPU runs keep the ids they had before it existed.
    #[serde(skip_serializing_if = "DeviceKind::is_cpu")]
    pub device: DeviceKind,
    /// Checkpoint every this many env steps (0: not by steps).
    #[serde(skip_serializing)]
    pub checkpoint_interval: NotIdentity<u64>,
    /// Checkpoint after this many minutes of training since the last checkpoint (0: not by
    /// time). A run shorter than that never writes one, unless it is stopped by a signal.
    #[serde(skip_serializing)]
    pub checkpoint_minutes: NotIdentity<f64>,
}

/// A setting that changes how a run is carried out, not what it computes (checkpoints): left
/// out of `config.json` and so of the run id, and equal whatever its value, so that changing it
/// never makes a finished run another config.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct NotIdentity<T>(pub T);

impl<T> PartialEq for NotIdentity<T> {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

/// Minutes between checkpoints by default: short runs never write one, long ones lose at
/// most this much when killed without warning.
pub const DEFAULT_CHECKPOINT_MINUTES: f64 = 10.0;

/// The dfdx device a run trains on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeviceKind {
    /// The CPU, one core per run (the fused layers and optimizer loops of `agent`).
    #[default]
    Cpu,
    /// The first NVIDIA GPU, through dfdx's CUDA device (needs the `cuda` feature).
    Cuda,
}

impl DeviceKind {
    pub fn is_cpu(&self) -> bool {
        *self == DeviceKind::Cpu
    }
}

/// Where a run's random streams come from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RandomStreams {
    /// Common random numbers: at one seed, every run of the same environment draws the same
    /// env seeds, resets, exploration and replay-sampling streams, and every run whose network
    /// has the same shape starts from the same weights, whatever the variant or other
    /// hyperparameters. Comparisons then pair runs by seed.
    #[default]
    Paired,
    /// Every stream from the run's whole config and seed (before pairing existed): runs of
    /// different variants share nothing.
    Independent,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            episodes: None,
            steps: None,
            eval_interval: 0,
            eval_epsilon: 0.0,
            eval_episodes: 10,
            q_probe_interval: 10,
            probe_states: 256,
            random_streams: RandomStreams::Paired,
            device: DeviceKind::Cpu,
            checkpoint_interval: NotIdentity(0),
            checkpoint_minutes: NotIdentity(DEFAULT_CHECKPOINT_MINUTES),
        }
    }
}

/// `[report]`: how results are aggregated (not part of any run's identity).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReportConfig {
    /// Bootstrap resamples for confidence intervals.
    pub resamples: usize,
    /// Confidence level of the intervals.
    pub confidence: f64,
    /// Average return that counts as solved; default: the env's Gym `reward_threshold`
    /// (195 for CartPole-v0, 475 for CartPole-v1).
    pub solved_threshold: Option<f64>,
    /// A run whose 20-episode average reached the solved threshold and later falls below
    /// this has collapsed.
    pub collapse_floor: f64,
    /// Episodes averaged for "final performance".
    pub final_window: usize,
    /// The variant the others are compared with.
    pub baseline_variant: Variant,
    /// Per environment id, how its scores are put on one scale so that results can be
    /// aggregated across environments (`across_envs.md`): `[report.normalize."MinAtar/Breakout"]`.
    pub normalize: std::collections::BTreeMap<String, ScoreReference>,
}

/// How one environment's returns are normalised: `(score − random) / (reference − random)`,
/// so a uniformly random policy scores 0 and the stated reference scores 1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScoreReference {
    /// The score that counts as 1 (a published or previously measured agent's).
    pub reference: f64,
    /// Where `reference` comes from; printed with every normalised table.
    pub source: String,
    /// A uniformly random policy's score; when absent the report measures it (whole games,
    /// 100 episodes, from a seed fixed by the environment's config).
    #[serde(default)]
    pub random: Option<f64>,
}

impl Default for ReportConfig {
    fn default() -> Self {
        ReportConfig {
            resamples: 2000,
            confidence: 0.95,
            solved_threshold: None,
            collapse_floor: 100.0,
            final_window: 100,
            baseline_variant: Variant::DQN,
            normalize: Default::default(),
        }
    }
}

/// `[check]` as the file writes it: `baseline_seeds` stays a TOML value until it is read as
/// seeds (a count or a list, as top-level `seeds`), because its default is `seeds`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CheckKeys {
    /// The seeds `sweep bless` trains; `None`: the experiment's `seeds`.
    pub baseline_seeds: Option<toml::Value>,
    /// Allowed loss (return units) before the statistical level calls a regression.
    pub tolerance: f64,
    /// When a difference from the baseline's curves fails the check.
    pub exact: Exact,
}

/// `[check]`: how `sweep bless` and `sweep check` treat the experiment.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckConfig {
    /// The seeds `sweep bless` trains (default: `seeds`). A baseline with many more seeds than
    /// a check keeps the baseline's own noise out of the statistical level; a check then
    /// compares its runs with the baseline's runs at the *other* seeds (independent samples).
    pub baseline_seeds: Vec<u64>,
    /// Allowed loss (return units) before the statistical level calls a regression.
    pub tolerance: f64,
    /// When a difference from the baseline's curves at the same seeds fails the check, whatever
    /// the statistics say (the guard for changes meant to preserve behaviour).
    pub exact: Exact,
}

/// `[check] exact`: `false`, `true`, or `"same-kernels"`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Exact {
    /// Differences are reported; only the statistical level decides.
    #[default]
    Off,
    /// Any difference fails (as `sweep check --require-identical`): for networks whose products
    /// are bit-identical on every CPU kernel (the MLPs).
    Always,
    /// Any difference fails when this machine's matrix kernels are the ones the baseline was
    /// blessed on; elsewhere bit-identity is not expected (products blocked by cache size, as the
    /// MinAtar CNN's) and only the statistics decide.
    SameKernels,
}

impl Serialize for Exact {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Exact::Off => s.serialize_bool(false),
            Exact::Always => s.serialize_bool(true),
            Exact::SameKernels => s.serialize_str(Exact::SAME_KERNELS),
        }
    }
}

impl<'de> Deserialize<'de> for Exact {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Switch;
        impl serde::de::Visitor<'_> for Switch {
            type Value = Exact;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                write!(f, "true, false or \"{}\"", Exact::SAME_KERNELS)
            }
            fn visit_bool<E: serde::de::Error>(self, on: bool) -> Result<Exact, E> {
                Ok(if on { Exact::Always } else { Exact::Off })
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<Exact, E> {
                match s {
                    Exact::SAME_KERNELS => Ok(Exact::SameKernels),
                    _ => Err(E::invalid_value(serde::de::Unexpected::Str(s), &self)),
                }
            }
        }
        d.deserialize_any(Switch)
    }
}

impl Exact {
    const SAME_KERNELS: &'static str = "same-kernels";
}
