//! Environments the agents train on, and the registry from `env.id` to a concrete type.
//!
//! [`Env`] is what the training loop needs: an observation of a fixed [`ObsShape`] written into
//! a caller's buffer (no allocation per step), a discrete action count, a reset from the run's
//! RNG, and Gym's `terminated` / `truncated` distinction. Implementations: Gym-exact CartPole,
//! Gymnasium-exact Acrobot and MountainCar (`f32` state vectors), MinAtar (`u8` 0/1 channels)
//! and, with the `atari` feature, ALE with
//! Gymnasium's DQN preprocessing (`u8` grayscale frames). Wrappers (frame stacking, hidden
//! components, time limits) compose on any of them; [`make`] builds the configured stack.

/// The [`Env`] methods a wrapper passes straight to its `inner` env, e.g.
/// `forward_to_inner!(obs_shape, num_actions, time_limit, lives);` inside `impl Env for …`.
macro_rules! forward_to_inner {
    ($($method:ident),*) => { $(forward_to_inner!(@ $method);)* };
    (@ obs_shape) => {
        fn obs_shape(&self) -> $crate::ObsShape {
            self.inner.obs_shape()
        }
    };
    (@ num_actions) => {
        fn num_actions(&self) -> usize {
            self.inner.num_actions()
        }
    };
    (@ time_limit) => {
        fn time_limit(&self) -> Option<u32> {
            self.inner.time_limit()
        }
    };
    (@ lives) => {
        fn lives(&self) -> Option<u32> {
            self.inner.lives()
        }
    };
}

pub mod acrobot;
pub mod atari;
pub mod cartpole;
pub mod minatar;
pub mod mountain_car;
mod state;
pub mod wrappers;

pub use acrobot::Acrobot;
pub use cartpole::{CartPole, CartPoleVersion};
pub use mountain_car::MountainCar;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// What one environment step returns (Gym 0.26 / Gymnasium semantics).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Step<O> {
    pub observation: O,
    pub reward: f64,
    /// The MDP reached a terminal state (no bootstrapping past it).
    pub terminated: bool,
    /// The episode was cut by a time limit (the state itself is not terminal).
    pub truncated: bool,
}

impl<O> Step<O> {
    /// The episode is over, for either reason.
    pub fn done(&self) -> bool {
        self.terminated || self.truncated
    }
}

impl<E: Copy, const N: usize> Step<[E; N]> {
    /// The observation written into `obs` (what [`Env::step_into`] returns): the step of an
    /// env whose `step` returns its observation by value.
    pub fn write_into(self, obs: &mut [E]) -> Step<()> {
        obs.copy_from_slice(&self.observation);
        Step {
            observation: (),
            reward: self.reward,
            terminated: self.terminated,
            truncated: self.truncated,
        }
    }
}

/// The scalar type of observations: `f32` for state vectors, `u8` for pixels and MinAtar's
/// 0/1 channels (stored compactly in replay, converted to `f32` only for the network).
/// Serializable, so that wrappers holding observations (frame stacks) can save them.
pub trait ObsElem:
    Copy + Default + PartialEq + fmt::Debug + Send + Sync + Serialize + DeserializeOwned + 'static
{
    fn to_f32(self) -> f32;
    /// Append `values` as little-endian bytes (checkpoints' frame logs).
    fn write_le(values: &[Self], out: &mut Vec<u8>);
    /// Fill `out` from `bytes` as [`ObsElem::write_le`] wrote them; `false` (and `out` left
    /// as it was) when the length does not match.
    fn read_le(bytes: &[u8], out: &mut [Self]) -> bool;
}

impl ObsElem for f32 {
    fn to_f32(self) -> f32 {
        self
    }
    fn write_le(values: &[Self], out: &mut Vec<u8>) {
        out.reserve(values.len() * 4);
        for v in values {
            out.extend_from_slice(&v.to_le_bytes());
        }
    }
    fn read_le(bytes: &[u8], out: &mut [Self]) -> bool {
        if bytes.len() != out.len() * 4 {
            return false;
        }
        for (v, b) in out.iter_mut().zip(bytes.chunks_exact(4)) {
            *v = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        }
        true
    }
}

impl ObsElem for u8 {
    fn to_f32(self) -> f32 {
        f32::from(self)
    }
    fn write_le(values: &[Self], out: &mut Vec<u8>) {
        out.extend_from_slice(values);
    }
    fn read_le(bytes: &[u8], out: &mut [Self]) -> bool {
        if bytes.len() != out.len() {
            return false;
        }
        out.copy_from_slice(bytes);
        true
    }
}

/// Shape of one observation, channel-first: `(channels, height, width)`. A state vector of
/// `n` values is `(n, 1, 1)`; stacking `k` frames multiplies `channels` by `k`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObsShape {
    pub channels: usize,
    pub height: usize,
    pub width: usize,
}

impl ObsShape {
    pub const fn vector(n: usize) -> Self {
        ObsShape {
            channels: n,
            height: 1,
            width: 1,
        }
    }

    /// Number of scalars in one observation.
    pub const fn len(&self) -> usize {
        self.channels * self.height * self.width
    }

    pub const fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A discrete-action environment with observations of a fixed shape.
pub trait Env: Send {
    type Elem: ObsElem;
    /// Shape of the observations written by [`Env::reset_into`] and [`Env::step_into`].
    fn obs_shape(&self) -> ObsShape;
    /// Number of discrete actions.
    fn num_actions(&self) -> usize;
    /// Start a new episode and write its first observation into `obs`. Environments whose
    /// randomness is their own (MinAtar: numpy's `RandomState`, seeded at construction) ignore
    /// `rng`; the others (CartPole) draw the initial state from it.
    fn reset_into(&mut self, rng: &mut dyn rand::RngCore, obs: &mut [Self::Elem]);
    /// Apply `action` (0-based, `< num_actions()`) and write the next observation into `obs`.
    fn step_into(&mut self, action: usize, obs: &mut [Self::Elem]) -> Step<()>;
    /// The registered episode step limit, if any (CartPole-v0: 200).
    fn time_limit(&self) -> Option<u32>;
    /// Lives left, for games that have them (Atari); wrappers pass it through.
    fn lives(&self) -> Option<u32> {
        None
    }
    /// The env's whole state — everything later resets and steps depend on, its own random
    /// generator included — for a checkpoint. Envs that cannot save every state return
    /// [`EnvStateError::Unsupported`] where they cannot (see [`Env::saves_mid_episode`]).
    fn save_state(&self) -> Result<Vec<u8>, EnvStateError> {
        Err(EnvStateError::Unsupported(
            "this environment has no saved state".into(),
        ))
    }
    /// Put back a state written by [`Env::save_state`] of an env built from the same spec and
    /// seed; after it, this env resets and steps exactly as the saved one would have.
    fn load_state(&mut self, _state: &[u8]) -> Result<(), EnvStateError> {
        Err(EnvStateError::Unsupported(
            "this environment has no saved state".into(),
        ))
    }
    /// Whether [`Env::save_state`] works between any two steps (`false`: only once an episode
    /// has ended, before the next reset).
    fn saves_mid_episode(&self) -> bool {
        true
    }
}

/// Why an env's state could not be saved or put back.
#[derive(Debug, thiserror::Error)]
pub enum EnvStateError {
    /// This env (or this moment of it) cannot be saved exactly.
    #[error("cannot save this environment's state: {0}")]
    Unsupported(String),
    /// The bytes are not a state of this env.
    #[error("not a saved state of this environment: {0}")]
    Corrupt(String),
}

impl<E: Env + ?Sized> Env for Box<E> {
    type Elem = E::Elem;
    fn obs_shape(&self) -> ObsShape {
        (**self).obs_shape()
    }
    fn num_actions(&self) -> usize {
        (**self).num_actions()
    }
    fn reset_into(&mut self, rng: &mut dyn rand::RngCore, obs: &mut [Self::Elem]) {
        (**self).reset_into(rng, obs)
    }
    fn step_into(&mut self, action: usize, obs: &mut [Self::Elem]) -> Step<()> {
        (**self).step_into(action, obs)
    }
    fn time_limit(&self) -> Option<u32> {
        (**self).time_limit()
    }
    fn lives(&self) -> Option<u32> {
        (**self).lives()
    }
    fn save_state(&self) -> Result<Vec<u8>, EnvStateError> {
        (**self).save_state()
    }
    fn load_state(&mut self, state: &[u8]) -> Result<(), EnvStateError> {
        (**self).load_state(state)
    }
    fn saves_mid_episode(&self) -> bool {
        (**self).saves_mid_episode()
    }
}

/// A registered environment id, as written in `env.id`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EnvId {
    /// `"CartPole-v0"` (200-step limit) or `"CartPole-v1"` (500).
    CartPole(CartPoleVersion),
    /// `"Acrobot-v1"` (Gymnasium's; 500-step limit).
    Acrobot,
    /// `"MountainCar-v0"` (Gymnasium's; 200-step limit).
    MountainCar,
    /// `"MinAtar/Breakout"`, `"MinAtar/SpaceInvaders"`, `"MinAtar/Freeway"`,
    /// `"MinAtar/Asterix"`, `"MinAtar/Seaquest"`.
    MinAtar(minatar::Game),
    /// `"ALE/Pong"`, `"ALE/Breakout"`, … (the `atari` feature runs them).
    Atari(atari::AtariGame),
}

impl EnvId {
    pub const VALID: &'static str = "\"CartPole-v0\", \"CartPole-v1\", \"Acrobot-v1\", \"MountainCar-v0\", \"MinAtar/Breakout\", \"MinAtar/SpaceInvaders\", \"MinAtar/Freeway\", \"MinAtar/Asterix\", \"MinAtar/Seaquest\", \"ALE/<Game>\" (e.g. \"ALE/Pong\"; games bundled with the `ale` crate)";

    /// Every MinAtar game, in the order of the MinAtar paper's tables.
    pub const MINATAR: [EnvId; 5] = [
        EnvId::MinAtar(minatar::Game::Asterix),
        EnvId::MinAtar(minatar::Game::Breakout),
        EnvId::MinAtar(minatar::Game::Freeway),
        EnvId::MinAtar(minatar::Game::Seaquest),
        EnvId::MinAtar(minatar::Game::SpaceInvaders),
    ];

    /// The registration's "solved" average return (Gym's `reward_threshold`), if it has one.
    pub fn reward_threshold(self) -> Option<f64> {
        match self {
            EnvId::CartPole(v) => Some(v.reward_threshold()),
            EnvId::Acrobot => Some(-100.0),
            EnvId::MountainCar => Some(-110.0),
            EnvId::MinAtar(_) | EnvId::Atari(_) => None,
        }
    }

    /// The registered episode step limit (CartPole's `TimeLimit`; MinAtar has none).
    pub fn time_limit(self) -> Option<u32> {
        match self {
            EnvId::CartPole(v) => Some(v.time_limit()),
            EnvId::Acrobot => Some(acrobot::ACROBOT_TIME_LIMIT),
            EnvId::MountainCar => Some(mountain_car::MOUNTAIN_CAR_TIME_LIMIT),
            EnvId::MinAtar(_) | EnvId::Atari(_) => None,
        }
    }

    /// The lowest and highest return an episode can earn, if bounded: CartPole one per step
    /// up to the limit; Acrobot and MountainCar −1 per step, so from −limit up to 0.
    pub fn return_bounds(self) -> Option<(f64, f64)> {
        let limit = f64::from(self.time_limit()?);
        match self {
            EnvId::CartPole(_) => Some((0.0, limit)),
            EnvId::Acrobot | EnvId::MountainCar => Some((-limit, 0.0)),
            EnvId::MinAtar(_) | EnvId::Atari(_) => None,
        }
    }

    /// Camel-case MinAtar names as in `env.id` (`SpaceInvaders`).
    fn minatar_id(game: minatar::Game) -> &'static str {
        use minatar::Game::*;
        match game {
            Breakout => "Breakout",
            SpaceInvaders => "SpaceInvaders",
            Freeway => "Freeway",
            Asterix => "Asterix",
            Seaquest => "Seaquest",
        }
    }
}

impl fmt::Display for EnvId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EnvId::CartPole(v) => f.write_str(v.id()),
            EnvId::Acrobot => f.write_str("Acrobot-v1"),
            EnvId::MountainCar => f.write_str("MountainCar-v0"),
            EnvId::MinAtar(g) => write!(f, "MinAtar/{}", EnvId::minatar_id(*g)),
            EnvId::Atari(g) => write!(f, "{g}"),
        }
    }
}

impl FromStr for EnvId {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        for v in [CartPoleVersion::V0, CartPoleVersion::V1] {
            if s == v.id() {
                return Ok(EnvId::CartPole(v));
            }
        }
        for id in [EnvId::Acrobot, EnvId::MountainCar] {
            if s == id.to_string() {
                return Ok(id);
            }
        }
        if let Some(id) = EnvId::MINATAR.iter().find(|id| id.to_string() == s) {
            return Ok(*id);
        }
        if let Some(game) = s.strip_prefix("ALE/").and_then(atari::AtariGame::from_name) {
            return Ok(EnvId::Atari(game));
        }
        Err(format!(
            "unknown environment \"{s}\"; valid: {}",
            EnvId::VALID
        ))
    }
}

impl Serialize for EnvId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for EnvId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Which components of a state vector the agent observes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Observe {
    /// The full state (the default).
    Full,
    /// CartPole's positions `(x, θ)` only: the velocities are hidden, so one observation is
    /// not a Markov state (the chapter's argument for frame stacking).
    Positions,
}

/// Everything [`make`] needs to build an environment stack.
#[derive(Debug, Clone, PartialEq)]
pub struct EnvSpec {
    pub id: EnvId,
    pub observe: Observe,
    pub frame_stack: usize,
    pub max_episode_steps: Option<u32>,
    /// MinAtar: probability of repeating the previous action (the package's 0.1).
    pub sticky_action_prob: f64,
    /// MinAtar: games speed up over time (the package's default, true).
    pub difficulty_ramping: bool,
    /// Registered time limits are lifted (to measure untruncated discounted returns).
    pub unlimited: bool,
    /// Atari: emulator and preprocessing settings.
    pub atari: atari::AtariOptions,
}

/// An environment of either observation type, as built from a config.
pub enum AnyEnv {
    /// State vectors (CartPole, Acrobot, MountainCar).
    Vector(Box<dyn Env<Elem = f32>>),
    /// Images and channel grids (MinAtar).
    Pixels(Box<dyn Env<Elem = u8>>),
}

/// Build the configured environment: base env, then hidden components, time limit and frame
/// stack, in that order. `seed` seeds environments that own their RNG (MinAtar).
pub fn make(spec: &EnvSpec, seed: u32) -> AnyEnv {
    use wrappers::{FrameStack, KeepComponents, TimeLimit};
    fn finish<E: ObsElem>(env: Box<dyn Env<Elem = E>>, spec: &EnvSpec) -> Box<dyn Env<Elem = E>> {
        let env: Box<dyn Env<Elem = E>> = match spec.max_episode_steps {
            Some(limit) if !spec.unlimited => Box::new(TimeLimit::new(env, limit)),
            _ => env,
        };
        if spec.frame_stack > 1 {
            Box::new(FrameStack::new(env, spec.frame_stack))
        } else {
            env
        }
    }
    match spec.id {
        EnvId::CartPole(v) => {
            let base = if spec.unlimited {
                CartPole::without_time_limit(v)
            } else {
                CartPole::new(v)
            };
            let env: Box<dyn Env<Elem = f32>> = match spec.observe {
                Observe::Full => Box::new(base),
                Observe::Positions => Box::new(KeepComponents::new(base, &[0, 2])),
            };
            AnyEnv::Vector(finish(env, spec))
        }
        EnvId::Acrobot => {
            let base = match spec.unlimited {
                true => Acrobot::without_time_limit(),
                false => Acrobot::new(),
            };
            AnyEnv::Vector(finish(Box::new(base), spec))
        }
        EnvId::MountainCar => {
            let base = match spec.unlimited {
                true => MountainCar::without_time_limit(),
                false => MountainCar::new(),
            };
            AnyEnv::Vector(finish(Box::new(base), spec))
        }
        EnvId::MinAtar(game) => {
            let env = minatar::MinAtarEnv::new(
                game,
                spec.sticky_action_prob,
                spec.difficulty_ramping,
                seed,
            );
            AnyEnv::Pixels(finish(Box::new(env), spec))
        }
        EnvId::Atari(game) => AnyEnv::Pixels(finish(make_atari(game, spec, seed), spec)),
    }
}

#[cfg(feature = "atari")]
fn make_atari(game: atari::AtariGame, spec: &EnvSpec, seed: u32) -> Box<dyn Env<Elem = u8>> {
    let mut opts = spec.atari.clone();
    if spec.unlimited {
        opts.max_episode_frames = 0;
    }
    // Validation checked the ROM; a failure here is recorded as a failed run.
    atari::make(game, &opts, seed).unwrap_or_else(|e| panic!("{game}: {e}"))
}

#[cfg(not(feature = "atari"))]
fn make_atari(game: atari::AtariGame, _: &EnvSpec, _: u32) -> Box<dyn Env<Elem = u8>> {
    panic!("{game} needs the `atari` feature (validation rejects it without)")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_ids_round_trip_and_reject_unknowns() {
        for s in [
            "CartPole-v0",
            "CartPole-v1",
            "MinAtar/SpaceInvaders",
            "MinAtar/Breakout",
        ] {
            assert_eq!(s.parse::<EnvId>().unwrap().to_string(), s);
        }
        let e = "MinAtar/Pong".parse::<EnvId>().unwrap_err();
        assert!(e.contains("MinAtar/Seaquest"), "{e}");
        assert_eq!(
            serde_json::to_string(&EnvId::CartPole(CartPoleVersion::V0)).unwrap(),
            "\"CartPole-v0\""
        );
    }
}
