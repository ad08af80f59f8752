//! CartPole, a line-by-line port of Gym 0.26's `cartpole.py` (Euler integration, float64
//! state) with the `TimeLimit` wrapper of `CartPole-v0` (200 steps) and `CartPole-v1` (500).
//!
//! The internal state is kept in `f64` exactly as Gym keeps it; observations handed to the
//! agent are cast to `f32` as Gym's `np.array(state, dtype=np.float32)` does.

use super::state::{decode, encode, same};
use super::{Env, EnvStateError, ObsShape, Step};
use rand::Rng;
use serde::{Deserialize, Serialize};

const GRAVITY: f64 = 9.8;
const MASS_CART: f64 = 1.0;
const MASS_POLE: f64 = 0.1;
const TOTAL_MASS: f64 = MASS_POLE + MASS_CART;
/// Half the pole's length, as in Gym.
const LENGTH: f64 = 0.5;
const POLE_MASS_LENGTH: f64 = MASS_POLE * LENGTH;
const FORCE_MAG: f64 = 10.0;
const TAU: f64 = 0.02;
const THETA_THRESHOLD_RADIANS: f64 = 12.0 * 2.0 * std::f64::consts::PI / 360.0;
const X_THRESHOLD: f64 = 2.4;

/// Which registered Gym id: they differ only in the time limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CartPoleVersion {
    #[serde(rename = "CartPole-v0")]
    V0,
    #[serde(rename = "CartPole-v1")]
    V1,
}

impl CartPoleVersion {
    /// `max_episode_steps` of the Gym registration.
    pub fn time_limit(self) -> u32 {
        match self {
            CartPoleVersion::V0 => 200,
            CartPoleVersion::V1 => 500,
        }
    }

    /// Gym's id string.
    pub fn id(self) -> &'static str {
        match self {
            CartPoleVersion::V0 => "CartPole-v0",
            CartPoleVersion::V1 => "CartPole-v1",
        }
    }

    /// The registration's `reward_threshold` (195 for v0, 475 for v1): "solved".
    pub fn reward_threshold(self) -> f64 {
        match self {
            CartPoleVersion::V0 => 195.0,
            CartPoleVersion::V1 => 475.0,
        }
    }
}

/// The cart-pole system plus its time limit. Its saved state is the whole struct (postcard keeps
/// the `f64`s bit for bit).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CartPole {
    version: CartPoleVersion,
    /// `(x, x_dot, theta, theta_dot)`, float64 as in Gym.
    state: [f64; 4],
    elapsed_steps: u32,
    /// `TimeLimit`'s `max_episode_steps`; `None` for the bare environment.
    time_limit: Option<u32>,
    /// Gym's `steps_beyond_terminated`: `Some` once an out-of-bounds step has been paid 1.0;
    /// from then on out-of-bounds steps pay 0.0 (until the next reset).
    steps_beyond_terminated: Option<u32>,
}

impl CartPole {
    /// The registered environment: physics plus its `TimeLimit` (200 or 500 steps).
    pub fn new(version: CartPoleVersion) -> Self {
        CartPole {
            version,
            state: [0.0; 4],
            elapsed_steps: 0,
            time_limit: Some(version.time_limit()),
            steps_beyond_terminated: None,
        }
    }

    /// The bare `CartPoleEnv` without the `TimeLimit` wrapper (never truncates). Used to
    /// measure true discounted returns past the registered time limit.
    pub fn without_time_limit(version: CartPoleVersion) -> Self {
        CartPole {
            time_limit: None,
            ..CartPole::new(version)
        }
    }

    pub fn version(&self) -> CartPoleVersion {
        self.version
    }

    /// The exact internal (float64) state.
    pub fn state(&self) -> [f64; 4] {
        self.state
    }

    /// Start an episode from a given internal state (for replaying recorded trajectories).
    pub fn reset_to(&mut self, state: [f64; 4]) -> [f32; 4] {
        self.state = state;
        self.elapsed_steps = 0;
        self.steps_beyond_terminated = None;
        self.observation()
    }

    fn observation(&self) -> [f32; 4] {
        self.state.map(|v| v as f32)
    }

    /// One physics step; returns `terminated` (Gym's `CartPoleEnv.step` without the time limit).
    #[allow(clippy::manual_range_contains)] // written as Gym writes it
    fn integrate(&mut self, action: usize) -> bool {
        let [mut x, mut x_dot, mut theta, mut theta_dot] = self.state;
        let force = if action == 1 { FORCE_MAG } else { -FORCE_MAG };
        let costheta = theta.cos();
        let sintheta = theta.sin();
        // Same operation order as Gym, so results agree to the last bit in practice.
        let temp = (force + POLE_MASS_LENGTH * (theta_dot * theta_dot) * sintheta) / TOTAL_MASS;
        let thetaacc = (GRAVITY * sintheta - costheta * temp)
            / (LENGTH * (4.0 / 3.0 - MASS_POLE * (costheta * costheta) / TOTAL_MASS));
        let xacc = temp - POLE_MASS_LENGTH * thetaacc * costheta / TOTAL_MASS;
        // Euler (Gym's default `kinematics_integrator = "euler"`).
        x += TAU * x_dot;
        x_dot += TAU * xacc;
        theta += TAU * theta_dot;
        theta_dot += TAU * thetaacc;
        self.state = [x, x_dot, theta, theta_dot];
        x < -X_THRESHOLD
            || x > X_THRESHOLD
            || theta < -THETA_THRESHOLD_RADIANS
            || theta > THETA_THRESHOLD_RADIANS
    }
}

impl CartPole {
    /// Uniform in ±0.05 for each of the four state variables, as Gym's `reset`.
    pub fn reset(&mut self, rng: &mut dyn rand::RngCore) -> [f32; 4] {
        let state = [(); 4].map(|_| rng.gen_range(-0.05..0.05));
        self.reset_to(state)
    }

    /// Gym's `step`: physics, reward, `terminated`, and the `TimeLimit`'s `truncated`.
    pub fn step(&mut self, action: usize) -> Step<[f32; 4]> {
        assert!(action < 2, "CartPole action must be 0 or 1, got {action}");
        let terminated = self.integrate(action);
        // Gym: 1.0 while in bounds and for the first out-of-bounds step; 0.0 for out-of-bounds
        // steps after that (Gym also warns there: stepping a finished episode is a misuse).
        let reward = if !terminated {
            1.0
        } else if let Some(n) = self.steps_beyond_terminated.as_mut() {
            *n += 1;
            0.0
        } else {
            self.steps_beyond_terminated = Some(0);
            1.0
        };
        self.elapsed_steps += 1;
        let truncated = self
            .time_limit
            .is_some_and(|limit| self.elapsed_steps >= limit);
        Step {
            observation: self.observation(),
            reward,
            terminated,
            truncated,
        }
    }

    /// The largest total reward of an episode: one per step up to the time limit.
    pub fn max_return(&self) -> Option<f64> {
        self.time_limit.map(f64::from)
    }
}

impl Env for CartPole {
    type Elem = f32;

    fn obs_shape(&self) -> ObsShape {
        ObsShape::vector(4)
    }

    fn num_actions(&self) -> usize {
        2
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

    fn save_state(&self) -> Result<Vec<u8>, EnvStateError> {
        encode("CartPole", self)
    }

    fn load_state(&mut self, state: &[u8]) -> Result<(), EnvStateError> {
        let saved: CartPole = decode("CartPole", state)?;
        same("CartPole", "version", saved.version, self.version)?;
        same("CartPole", "time limit", saved.time_limit, self.time_limit)?;
        *self = saved;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rewards_after_termination_follow_gym() {
        let mut env = CartPole::new(CartPoleVersion::V0);
        // Out of bounds on the right and still moving right: terminates, paid 1.0 once.
        env.reset_to([2.39, 5.0, 0.0, 0.0]);
        let first = env.step(1);
        assert!(first.terminated && first.reward == 1.0);
        let second = env.step(1);
        assert!(second.terminated && second.reward == 0.0, "{second:?}");
        // Gym pays 1.0 again if the state comes back in bounds.
        env.reset_to([2.4001, -5.0, 0.0, 0.0]);
        let back = env.step(0);
        assert!(!back.terminated && back.reward == 1.0, "{back:?}");
    }

    /// Gym terminates strictly beyond the thresholds (`x > x_threshold`, …): a state exactly
    /// on one, standing still in that variable, is not done.
    #[test]
    fn the_thresholds_themselves_are_in_bounds() {
        let mut env = CartPole::new(CartPoleVersion::V0);
        for state in [
            [X_THRESHOLD, 0.0, 0.0, 0.0],
            [-X_THRESHOLD, 0.0, 0.0, 0.0],
            [0.0, 0.0, THETA_THRESHOLD_RADIANS, 0.0],
            [0.0, 0.0, -THETA_THRESHOLD_RADIANS, 0.0],
        ] {
            env.reset_to(state);
            let step = env.step(0);
            assert!(!step.terminated, "{state:?} → {:?}", env.state());
            env.reset_to(state.map(|v| v * 1.000001));
            assert!(env.step(0).terminated, "{state:?} × 1.000001");
        }
    }

    /// Gym's registrations: `CartPole-v0` (`max_episode_steps=200, reward_threshold=195.0`) and
    /// `CartPole-v1` (500, 475.0); two actions, one reward per step, so the best return is the
    /// time limit.
    #[test]
    fn versions_carry_gyms_registration() {
        for (version, limit, threshold) in [
            (CartPoleVersion::V0, 200, 195.0),
            (CartPoleVersion::V1, 500, 475.0),
        ] {
            assert_eq!(version.reward_threshold(), threshold);
            assert_eq!(version.time_limit(), limit);
            let env = CartPole::new(version);
            assert_eq!(env.num_actions(), 2);
            assert_eq!(Env::time_limit(&env), Some(limit));
            assert_eq!(env.max_return(), Some(f64::from(limit)));
        }
    }

    /// Gym's `reset`: each variable uniform in ±0.05; the observation is that state as f32.
    #[test]
    fn reset_draws_a_small_random_state_and_observes_it() {
        use rand::SeedableRng;
        let mut env = CartPole::new(CartPoleVersion::V1);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let mut seen = Vec::new();
        for _ in 0..20 {
            let obs = env.reset(&mut rng);
            let state = env.state();
            assert_eq!(obs, state.map(|v| v as f32));
            assert!(state.iter().all(|v| v.abs() < 0.05), "{state:?}");
            seen.push(state);
        }
        assert!(seen.iter().all(|s| s.iter().all(|&v| v != 0.0)));
        assert!(
            seen.windows(2).all(|w| w[0] != w[1]),
            "a fresh draw each time"
        );
    }

    #[test]
    fn without_time_limit_never_truncates() {
        let mut env = CartPole::without_time_limit(CartPoleVersion::V0);
        env.reset_to([0.0; 4]);
        for i in 0..1000 {
            let s = env.state();
            let step = env.step(usize::from(
                s[2] + 0.5 * s[3] + 0.01 * s[0] + 0.1 * s[1] > 0.0,
            ));
            assert!(!step.truncated && !step.terminated, "step {i}");
        }
        assert_eq!(env.max_return(), None);
    }
}
