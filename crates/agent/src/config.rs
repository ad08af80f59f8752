//! The `[agent]` section of an experiment file: which DQN-family agent a run trains and with
//! which hyperparameters. Every key has the chapter's value as its default; new keys serialise
//! only when set, so a run's identity (its config's JSON) stays as it was before they existed.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

pub use dqn_nn::WeightInit;

/// Which improvements over plain DQN a run uses; each switch is independent.
///
/// Written in TOML as `"dqn"` or a `+`-joined set of `double`, `per`, `dueling`, `nstep`,
/// `c51` (or `distributional`) and `noisy`, in any order; `"rainbow"` is all six (Hessel et
/// al. 2018) and `"rainbow-per"` (or `"rainbow-per-noisy"`) is Rainbow without the named ones.
/// `nstep` is a request for multi-step returns that [`AgentConfig::resolve`] turns into
/// `n_step = 3` (Rainbow's n); a resolved variant never carries it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct Variant {
    /// Double DQN target (van Hasselt et al. 2015): the online net selects, the target net evaluates.
    pub double: bool,
    /// Prioritized experience replay, proportional (Schaul et al. 2015).
    pub per: bool,
    /// Dueling architecture (Wang et al. 2015).
    pub dueling: bool,
    /// Distributional C51 head and loss (Bellemare et al. 2017).
    pub distributional: bool,
    /// Noisy fully connected layers, factorised Gaussian (Fortunato et al. 2018).
    pub noisy: bool,
    /// Multi-step returns asked for by the shorthand, before [`AgentConfig::resolve`].
    pub multi_step: bool,
}

/// The switch of one component in a [`Variant`].
type Field = fn(&mut Variant) -> &mut bool;

/// The components in their written order, with their names and the field each sets.
const COMPONENTS: [(&str, Field); 6] = [
    ("double", |v| &mut v.double),
    ("per", |v| &mut v.per),
    ("dueling", |v| &mut v.dueling),
    ("nstep", |v| &mut v.multi_step),
    ("c51", |v| &mut v.distributional),
    ("noisy", |v| &mut v.noisy),
];

impl Variant {
    pub const VALID: &'static str =
        "\"dqn\", \"rainbow\", a '+'-joined set of double, per, dueling, nstep, c51, noisy (e.g. \"double+per+dueling\"), or \"rainbow-<component>\"";

    /// Plain DQN (Mnih et al. 2015), the chapter's agent.
    pub const DQN: Variant = Variant {
        double: false,
        per: false,
        dueling: false,
        distributional: false,
        noisy: false,
        multi_step: false,
    };

    /// Rainbow (Hessel et al. 2018): all six components.
    pub const RAINBOW: Variant = Variant {
        double: true,
        per: true,
        dueling: true,
        distributional: true,
        noisy: true,
        multi_step: true,
    };

    /// The field a component's name (or alias) sets.
    fn component(name: &str) -> Option<Field> {
        let name = match name {
            "ddqn" => "double",
            "prioritized" => "per",
            "distributional" => "c51",
            "multistep" | "n_step" => "nstep",
            other => other,
        };
        COMPONENTS.iter().find(|(n, _)| *n == name).map(|(_, f)| *f)
    }

    /// `"rainbow"` less the components after each `-`.
    fn rainbow_less(s: &str, part: &str) -> Result<Variant, String> {
        let mut v = Variant::RAINBOW;
        for name in part.split('-').skip(1) {
            let field = Variant::component(name.trim()).ok_or_else(|| {
                format!(
                    "unknown component `{name}` in \"{s}\"; valid: {}",
                    Variant::VALID
                )
            })?;
            if !std::mem::replace(field(&mut v), false) {
                return Err(format!("variant \"{s}\" removes `{name}` twice"));
            }
        }
        Ok(v)
    }
}

impl fmt::Display for Variant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if *self == Variant::RAINBOW {
            return f.write_str("rainbow");
        }
        let mut v = *self;
        let parts: Vec<&str> = COMPONENTS
            .iter()
            .filter(|(_, field)| *field(&mut v))
            .map(|(name, _)| *name)
            .collect();
        if parts.is_empty() {
            f.write_str("dqn")
        } else {
            f.write_str(&parts.join("+"))
        }
    }
}

impl FromStr for Variant {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim().to_ascii_lowercase();
        let mut v = Variant::DQN;
        for part in s.split('+').map(str::trim) {
            let other = match part {
                "dqn" => continue,
                p if p == "rainbow" || p.starts_with("rainbow-") => Variant::rainbow_less(&s, p)?,
                p => {
                    let field = Variant::component(p).ok_or_else(|| {
                        format!(
                            "unknown variant part `{p}` in \"{s}\"; valid: {}",
                            Variant::VALID
                        )
                    })?;
                    let mut one = Variant::DQN;
                    *field(&mut one) = true;
                    one
                }
            };
            for (name, field) in COMPONENTS {
                let (mine, theirs) = (*field(&mut v), *field(&mut other.clone()));
                if mine && theirs {
                    return Err(format!("variant \"{s}\" names `{name}` twice"));
                }
                *field(&mut v) = mine || theirs;
            }
        }
        Ok(v)
    }
}

impl Serialize for Variant {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for Variant {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// When the target network is refreshed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SyncUnit {
    /// Every `sync_interval` episodes, at the end of episodes 0, k, 2k, … (the chapter's rule).
    Episodes,
    /// Every `sync_interval` environment steps (the DQN paper's rule, C = 10 000 on Atari).
    Steps,
}

/// The regression loss on the TD error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LossKind {
    /// Mean squared error (the chapter's `F.mean_squared_error`).
    Mse,
    /// Huber loss with threshold `huber_delta` (the DQN paper's error clipping).
    Huber,
}

/// Which end of episode stops bootstrapping in the target `r + γ (1 − m) max Q(s', ·)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BootstrapMask {
    /// `m = terminated | truncated`: the chapter's code (also cuts at the time limit).
    Done,
    /// `m = terminated`: correct time-limit handling (Pardo et al. 2018).
    Terminated,
}

/// The hidden-layer widths of the MLP Q-network (shapes are compiled in: these are the ones
/// built).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum MlpHidden {
    /// The chapter's `QNet`: 128 and 128.
    #[default]
    #[serde(rename = "128x128")]
    W128x128,
    /// CleanRL's `dqn.py`: 120 and 84 (compiled for 4 inputs, CartPole's full state).
    #[serde(rename = "120x84")]
    W120x84,
}

impl MlpHidden {
    pub fn is_default(&self) -> bool {
        *self == MlpHidden::default()
    }
}

/// The MinAtar network.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MinAtarNet {
    /// Young & Tian 2019 (MinAtar's `examples/dqn.py`): conv 16 3×3 VALID → 1024 → 128 → head.
    #[default]
    Minatar,
    /// Revisiting Rainbow's (Obando-Ceron & Castro 2021): conv 16 3×3 SAME → 1600 → head, no
    /// hidden layer (use with `init = "xavier"`, theirs).
    RevisitingRainbow,
}

impl MinAtarNet {
    pub fn is_default(&self) -> bool {
        *self == MinAtarNet::default()
    }
}

/// Where a linear ε schedule starts counting.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EpsilonFrom {
    /// At `learning_starts` (MinAtar's dqn.py, the DQN paper).
    #[default]
    LearningStarts,
    /// At the first env step (CleanRL's `linear_schedule(…, global_step)`).
    FirstStep,
}

impl EpsilonFrom {
    pub fn is_default(&self) -> bool {
        *self == EpsilonFrom::default()
    }
}

/// How actions are chosen before `learning_starts`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WarmupActions {
    /// Uniformly at random (MinAtar's dqn.py, SB3).
    #[default]
    Uniform,
    /// ε-greedy at the scheduled ε, as after warm-up (CleanRL).
    EpsilonGreedy,
}

impl WarmupActions {
    pub fn is_default(&self) -> bool {
        *self == WarmupActions::default()
    }
}

/// The optimizer of the online network, named after the framework whose arithmetic it runs
/// (`agent::optim`). Each RMSprop reads `rms_alpha`, `rms_eps`, `rms_centered` and
/// `rms_momentum`; Adam reads `adam_beta1`, `adam_beta2` and `adam_eps`; both read `lr`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum OptimizerKind {
    /// Adam with ε added to `√v̂` after the bias corrections: dfdx's arithmetic, the form of
    /// PyTorch's `torch.optim.Adam` and optax's `adam` (the chapter's DeZero Adam and TF1's
    /// add ε̂ before the correction; the two differ only while `√v̂` is near ε).
    #[serde(rename = "adam")]
    Adam,
    /// PyTorch's `torch.optim.Adam` in PyTorch's own arithmetic (bias corrections in f64,
    /// folded into the step size; ATen's fused multiply-adds): CleanRL, SB3. Same algorithm as
    /// `"adam"`; the two round differently (about 10² ULPs apart after 300 steps).
    #[serde(rename = "adam-torch")]
    AdamTorch,
    /// DeZero's `optimizers.Adam`, the chapter's: ε added before the bias correction
    /// (`p −= lr·√(1−β₂ᵗ)/(1−β₁ᵗ) · m/(√v + ε)`). The chapter's arithmetic exactly; `"adam"`
    /// (Kingma & Ba's Algorithm 1) stays the default, so committed results keep their bits.
    #[serde(rename = "adam-dezero")]
    AdamDezero,
    /// dfdx's RMSprop: ε inside the root `√(s + ε)`, `s` starting at 1, `p −= lr·g/d` (TF1's
    /// form up to where `lr` multiplies). Also written `"rmsprop-dfdx"`.
    #[serde(rename = "rmsprop", alias = "rmsprop-dfdx")]
    Rmsprop,
    /// TF1's `tf.compat.v1.train.RMSPropOptimizer`: ε inside the root, `s` starting at 1, `lr`
    /// inside the momentum accumulator (Dopamine's TF agents, the Rainbow-era TF code).
    #[serde(rename = "rmsprop-tf1")]
    RmspropTf1,
    /// PyTorch's `torch.optim.RMSprop`: ε outside the root `√s + ε`, averages starting at 0
    /// (MinAtar's examples/dqn.py, CleanRL, SB3).
    #[serde(rename = "rmsprop-torch")]
    RmspropTorch,
    /// DeepMind's Nature-DQN Lua code (`NeuralQLearner.lua`): centered, ε inside the root,
    /// averages starting at 0, no momentum.
    #[serde(rename = "rmsprop-nature")]
    RmspropNature,
}

/// `[agent]`: the chapter's `DQNAgent` plus the switches of the extensions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AgentConfig {
    pub variant: Variant,
    pub gamma: f64,
    /// Adam learning rate.
    pub lr: f64,
    /// ε of the ε-greedy policy: constant (the chapter), or the final value of a linear
    /// schedule from `epsilon_start`.
    pub epsilon: f64,
    /// Start of a linear ε schedule (the DQN and MinAtar papers: 1.0); `None`: constant ε.
    pub epsilon_start: Option<f64>,
    /// Env steps over which ε falls linearly from `epsilon_start` to `epsilon`, counted from
    /// `epsilon_from`.
    pub epsilon_decay_steps: u64,
    /// Where the ε schedule starts: `"learning_starts"` (MinAtar's dqn.py) or `"first_step"`
    /// (CleanRL).
    #[serde(skip_serializing_if = "EpsilonFrom::is_default")]
    pub epsilon_from: EpsilonFrom,
    /// Before this many env steps: no updates (replay warm-up), actions as `warmup_actions`.
    pub learning_starts: u64,
    /// Actions during warm-up: `"uniform"` or `"epsilon_greedy"` (CleanRL).
    #[serde(skip_serializing_if = "WarmupActions::is_default")]
    pub warmup_actions: WarmupActions,
    /// Learn from the sign of each reward (−1, 0, +1), as the DQN paper does on Atari; the
    /// reported returns stay the game's scores.
    pub clip_rewards: bool,
    /// One gradient step every this many env steps.
    pub update_period: u64,
    pub optimizer: OptimizerKind,
    /// RMSprop's squared-gradient decay (PyTorch `alpha`, TF1 `decay`; MinAtar 0.95).
    pub rms_alpha: f64,
    /// RMSprop's ε, inside or outside the root as the form puts it (MinAtar's
    /// `MIN_SQUARED_GRAD` 0.01, outside: PyTorch's).
    pub rms_eps: f64,
    /// Centered RMSprop (MinAtar's dqn.py; the Nature code always is).
    pub rms_centered: bool,
    /// RMSprop momentum (PyTorch `momentum`, TF1 `momentum`); `None`: none (MinAtar's dqn.py).
    pub rms_momentum: Option<f64>,
    /// Adam's β₁ (PyTorch's default 0.9).
    #[serde(skip_serializing_if = "is_adam_beta1")]
    pub adam_beta1: f64,
    /// Adam's β₂ (PyTorch's default 0.999).
    #[serde(skip_serializing_if = "is_adam_beta2")]
    pub adam_beta2: f64,
    /// Adam's ε, added to `√v̂` (PyTorch's default 1e-8; Revisiting Rainbow's 3.125e-4).
    #[serde(skip_serializing_if = "is_adam_eps")]
    pub adam_eps: f64,
    pub buffer_size: usize,
    pub batch_size: usize,
    pub sync_interval: u64,
    pub sync_unit: SyncUnit,
    pub loss: LossKind,
    pub huber_delta: f64,
    pub bootstrap_mask: BootstrapMask,
    /// The components as keys of their own, read from a file and folded into `variant` by
    /// [`AgentConfig::resolve`] (never written: a run's identity is its resolved `variant`).
    #[serde(skip_serializing)]
    pub double: Option<bool>,
    #[serde(skip_serializing)]
    pub per: Option<bool>,
    #[serde(skip_serializing)]
    pub dueling: Option<bool>,
    #[serde(skip_serializing)]
    pub distributional: Option<bool>,
    #[serde(skip_serializing)]
    pub noisy: Option<bool>,
    /// C51: atoms of the return distribution's support (compiled for 51).
    #[serde(skip_serializing_if = "is_default_atoms")]
    pub atoms: u32,
    /// C51: the support's lower end.
    #[serde(skip_serializing_if = "is_default_v_min")]
    pub v_min: f64,
    /// C51: the support's upper end.
    #[serde(skip_serializing_if = "is_default_v_max")]
    pub v_max: f64,
    /// C51 with PER: what the priority is computed from.
    #[serde(skip_serializing_if = "C51Priority::is_default")]
    pub c51_priority: C51Priority,
    /// Multi-step returns (Rainbow; Sutton 1988): each target sums `n_step` discounted rewards
    /// and bootstraps `n_step` steps on (fewer where the episode ended). 1: one-step targets.
    #[serde(skip_serializing_if = "is_one_step")]
    pub n_step: u32,
    pub init: WeightInit,
    /// The MLP's hidden widths (CartPole): `"128x128"` (the chapter) or `"120x84"` (CleanRL).
    #[serde(skip_serializing_if = "MlpHidden::is_default")]
    pub mlp_hidden: MlpHidden,
    /// The MinAtar network: `"minatar"` (the MinAtar paper's) or `"revisiting-rainbow"`.
    #[serde(skip_serializing_if = "MinAtarNet::is_default")]
    pub minatar_net: MinAtarNet,
    /// PER priority exponent α.
    pub per_alpha: f64,
    /// PER importance-sampling exponent β, annealed linearly to `per_beta_end` over the run.
    pub per_beta_start: f64,
    pub per_beta_end: f64,
    /// PER's small constant in `(|δ| + ε)^α`.
    pub per_eps: f64,
}

impl Default for AgentConfig {
    fn default() -> Self {
        AgentConfig {
            variant: Variant::DQN,
            gamma: 0.98,
            lr: 0.0005,
            epsilon: 0.1,
            epsilon_start: None,
            epsilon_decay_steps: 0,
            epsilon_from: EpsilonFrom::LearningStarts,
            learning_starts: 0,
            warmup_actions: WarmupActions::Uniform,
            clip_rewards: false,
            update_period: 1,
            optimizer: OptimizerKind::Adam,
            rms_alpha: 0.95,
            rms_eps: 0.01,
            rms_centered: true,
            rms_momentum: None,
            adam_beta1: ADAM_BETA1,
            adam_beta2: ADAM_BETA2,
            adam_eps: ADAM_EPS,
            buffer_size: 10_000,
            batch_size: 32,
            sync_interval: 20,
            sync_unit: SyncUnit::Episodes,
            loss: LossKind::Mse,
            huber_delta: 1.0,
            bootstrap_mask: BootstrapMask::Done,
            n_step: 1,
            double: None,
            per: None,
            dueling: None,
            distributional: None,
            noisy: None,
            atoms: C51_ATOMS,
            v_min: -C51_V_MAX,
            v_max: C51_V_MAX,
            c51_priority: C51Priority::Kl,
            init: WeightInit::Dezero,
            mlp_hidden: MlpHidden::W128x128,
            minatar_net: MinAtarNet::Minatar,
            per_alpha: 0.6,
            per_beta_start: 0.4,
            per_beta_end: 1.0,
            per_eps: 1e-6,
        }
    }
}

/// Adam's defaults (PyTorch's and dfdx's). Left out of a run's JSON at these values, so runs
/// recorded before they could be set keep their ids.
const ADAM_BETA1: f64 = 0.9;
const ADAM_BETA2: f64 = 0.999;
const ADAM_EPS: f64 = 1e-8;

/// C51's defaults (Bellemare et al. 2017 on Atari; Rainbow's): 51 atoms on [−10, 10].
pub const C51_ATOMS: u32 = 51;
const C51_V_MAX: f64 = 10.0;
/// The n of `variant = "rainbow"` (or `nstep`) when `n_step` is not given: Rainbow's 3.
pub const RAINBOW_N_STEP: u32 = 3;

fn is_default_atoms(n: &u32) -> bool {
    *n == C51_ATOMS
}
fn is_default_v_min(v: &f64) -> bool {
    *v == -C51_V_MAX
}
fn is_default_v_max(v: &f64) -> bool {
    *v == C51_V_MAX
}

/// What a distributional agent's PER priority is made of. Either way the priority is then
/// `(x + per_eps)^per_alpha` of the named per-sample loss `x`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum C51Priority {
    /// The KL divergence of the projected target from the prediction, as the Rainbow paper
    /// defines it (Hessel et al. 2018, eq. 3; with per_alpha ω = 0.5, β 0.4 → 1).
    #[default]
    Kl,
    /// The cross-entropy loss itself (KL plus the target's entropy), as Dopamine and
    /// Revisiting Rainbow compute it: `√(loss + 1e-10)` is per_alpha 0.5 with per_eps 1e-10,
    /// and their fixed importance exponent is per_beta_start = per_beta_end = 0.5.
    CrossEntropy,
}

impl C51Priority {
    pub fn is_default(&self) -> bool {
        *self == C51Priority::default()
    }
}

/// A contradiction between `variant` and a component key, found by [`AgentConfig::resolve`]:
/// the key it concerns and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contradiction {
    pub key: &'static str,
    pub message: String,
}

fn is_one_step(n: &u32) -> bool {
    *n == 1
}
fn is_adam_beta1(b: &f64) -> bool {
    *b == ADAM_BETA1
}
fn is_adam_beta2(b: &f64) -> bool {
    *b == ADAM_BETA2
}
fn is_adam_eps(e: &f64) -> bool {
    *e == ADAM_EPS
}

impl AgentConfig {
    /// Fold the component keys and the shorthand's `nstep` into `variant` and `n_step`:
    /// a key adds its component; a key set to `false` for a component the variant names is a
    /// contradiction, as is `n_step = 1` (given, per `n_step_given`) with a variant that asks
    /// for multi-step returns, which otherwise get Rainbow's n = 3.
    pub fn resolve(&mut self, n_step_given: bool) -> Result<(), Contradiction> {
        let written = self.variant;
        let keys = [
            ("double", self.double.take(), &mut self.variant.double),
            ("per", self.per.take(), &mut self.variant.per),
            ("dueling", self.dueling.take(), &mut self.variant.dueling),
            (
                "distributional",
                self.distributional.take(),
                &mut self.variant.distributional,
            ),
            ("noisy", self.noisy.take(), &mut self.variant.noisy),
        ];
        for (key, given, on) in keys {
            match given {
                Some(false) if *on => {
                    return Err(Contradiction {
                        key,
                        message: format!(
                            "agent.variant = \"{written}\" turns `{key}` on, but agent.{key} = false; drop one of the two"
                        ),
                    })
                }
                Some(true) => *on = true,
                _ => {}
            }
        }
        if std::mem::take(&mut self.variant.multi_step) {
            if n_step_given && self.n_step == 1 {
                return Err(Contradiction {
                    key: "n_step",
                    message: format!(
                        "agent.variant = \"{written}\" asks for multi-step returns, but agent.n_step = 1; drop one of the two"
                    ),
                });
            }
            if !n_step_given {
                self.n_step = RAINBOW_N_STEP;
            }
        }
        Ok(())
    }

    /// ε after `step` env steps: constant, or linear from `epsilon_start` to `epsilon` over
    /// `epsilon_decay_steps` steps counted from `learning_starts` (MinAtar's dqn.py schedule)
    /// or from the first step (CleanRL's), as `epsilon_from` says.
    pub fn epsilon_at(&self, step: u64) -> f64 {
        let Some(start) = self.epsilon_start else {
            return self.epsilon;
        };
        let t = match self.epsilon_from {
            EpsilonFrom::LearningStarts => step.saturating_sub(self.learning_starts),
            EpsilonFrom::FirstStep => step,
        };
        if t >= self.epsilon_decay_steps {
            self.epsilon
        } else {
            start + (self.epsilon - start) * t as f64 / self.epsilon_decay_steps as f64
        }
    }
}
