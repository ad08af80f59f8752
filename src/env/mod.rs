//! Environments the agents train on.
//!
//! [`Env`] is the interface the training loop needs: reset from the run's RNG, step with a
//! discrete action, and the Gym-style `terminated` / `truncated` distinction. CartPole is the
//! first implementation; a pixel environment (Atari-style frame stacks) can implement the same
//! trait with a different observation size.

pub mod cartpole;

pub use cartpole::{CartPole, CartPoleVersion};

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

/// A discrete-action environment with a fixed-size `f32` observation of `OBS` values.
pub trait Env<const OBS: usize> {
    /// Number of discrete actions.
    fn num_actions(&self) -> usize;
    /// Start a new episode, drawing the initial state from `rng`.
    fn reset(&mut self, rng: &mut dyn rand::RngCore) -> [f32; OBS];
    /// Apply `action` (0-based, `< num_actions()`).
    fn step(&mut self, action: usize) -> Step<[f32; OBS]>;
    /// The largest total reward an episode can earn (for score normalisation), if bounded.
    fn max_return(&self) -> Option<f64>;
}
