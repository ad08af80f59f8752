//! MountainCar-v0, a line-by-line port of Gymnasium 1.4's `mountain_car.py` with its 200-step
//! `TimeLimit`: position and velocity in `f64` as Gymnasium keeps them, observations cast to
//! `f32`; reward −1 per step; the episode ends when the car reaches the flag (position ≥ 0.5).

use super::state::{decode, encode, same};
use super::{Env, EnvStateError, ObsShape, Step};
use rand::Rng;
use serde::{Deserialize, Serialize};

const MIN_POSITION: f64 = -1.2;
const MAX_POSITION: f64 = 0.6;
const MAX_SPEED: f64 = 0.07;
const GOAL_POSITION: f64 = 0.5;
const GOAL_VELOCITY: f64 = 0.0;
const FORCE: f64 = 0.001;
const GRAVITY: f64 = 0.0025;
/// Gymnasium's registration of `MountainCar-v0`.
pub const MOUNTAIN_CAR_TIME_LIMIT: u32 = 200;

/// MountainCar-v0.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MountainCar {
    /// `[position, velocity]`.
    state: [f64; 2],
    elapsed_steps: u32,
    time_limit: Option<u32>,
}

impl Default for MountainCar {
    fn default() -> Self {
        MountainCar::new()
    }
}

impl MountainCar {
    /// As registered: with the 200-step limit.
    pub fn new() -> Self {
        MountainCar {
            state: [0.0; 2],
            elapsed_steps: 0,
            time_limit: Some(MOUNTAIN_CAR_TIME_LIMIT),
        }
    }

    /// Without the time limit (Q-probe rollouts measure untruncated returns).
    pub fn without_time_limit() -> Self {
        MountainCar {
            time_limit: None,
            ..MountainCar::new()
        }
    }

    /// The exact internal (float64) state.
    pub fn state(&self) -> [f64; 2] {
        self.state
    }

    /// Start an episode from a given internal state (for replaying recorded trajectories).
    pub fn reset_to(&mut self, state: [f64; 2]) -> [f32; 2] {
        self.state = state;
        self.elapsed_steps = 0;
        self.observation()
    }

    /// Position uniform in [−0.6, −0.4), at rest, as Gymnasium's reset.
    pub fn reset(&mut self, rng: &mut dyn rand::RngCore) -> [f32; 2] {
        self.reset_to([rng.gen_range(-0.6..-0.4), 0.0])
    }

    fn observation(&self) -> [f32; 2] {
        self.state.map(|v| v as f32)
    }

    /// Gymnasium's `step`, operation for operation.
    pub fn step(&mut self, action: usize) -> Step<[f32; 2]> {
        assert!(
            action < 3,
            "MountainCar action must be 0, 1 or 2, got {action}"
        );
        let [mut position, mut velocity] = self.state;
        velocity += (action as f64 - 1.0) * FORCE + (3.0 * position).cos() * (-GRAVITY);
        velocity = velocity.clamp(-MAX_SPEED, MAX_SPEED);
        position += velocity;
        position = position.clamp(MIN_POSITION, MAX_POSITION);
        if position == MIN_POSITION && velocity < 0.0 {
            velocity = 0.0;
        }
        let terminated = position >= GOAL_POSITION && velocity >= GOAL_VELOCITY;
        self.state = [position, velocity];
        self.elapsed_steps += 1;
        Step {
            observation: self.observation(),
            reward: -1.0,
            terminated,
            truncated: self.time_limit.is_some_and(|l| self.elapsed_steps >= l),
        }
    }
}

impl Env for MountainCar {
    type Elem = f32;

    fn obs_shape(&self) -> ObsShape {
        ObsShape::vector(2)
    }

    fn num_actions(&self) -> usize {
        3
    }

    fn reset_into(&mut self, rng: &mut dyn rand::RngCore, obs: &mut [f32]) {
        obs.copy_from_slice(&self.reset(rng));
    }

    fn step_into(&mut self, action: usize, obs: &mut [f32]) -> Step<()> {
        self.step(action).write_into(obs)
    }

    fn time_limit(&self) -> Option<u32> {
        self.time_limit
    }

    /// The whole struct: state, step count and (checked on load) time limit.
    fn save_state(&self) -> Result<Vec<u8>, EnvStateError> {
        encode("MountainCar", self)
    }

    fn load_state(&mut self, state: &[u8]) -> Result<(), EnvStateError> {
        let saved: MountainCar = decode("MountainCar", state)?;
        same(
            "MountainCar",
            "time limit",
            saved.time_limit,
            self.time_limit,
        )?;
        *self = saved;
        Ok(())
    }
}
