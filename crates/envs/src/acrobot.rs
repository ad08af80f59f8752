//! Acrobot-v1, a line-by-line port of Gymnasium 1.4's `acrobot.py` ("book" dynamics, RK4 over
//! one 0.2 s step, no torque noise) with its 500-step `TimeLimit`.
//!
//! The state `[θ₁, θ₂, θ̇₁, θ̇₂]` is `f64` as Gymnasium keeps it after the first step (its reset
//! state is drawn in `float32`); observations are `[cos θ₁, sin θ₁, cos θ₂, sin θ₂, θ̇₁, θ̇₂]` cast
//! to `f32`. Reward −1 per step, 0 on the step that reaches the goal (the free end above the
//! bar by one link length).

use super::state::{decode, encode, same};
use super::{Env, EnvStateError, ObsShape, Step};
use rand::Rng;
use serde::{Deserialize, Serialize};
use std::f64::consts::PI;

const DT: f64 = 0.2;
const LINK_LENGTH_1: f64 = 1.0;
const LINK_MASS_1: f64 = 1.0;
const LINK_MASS_2: f64 = 1.0;
const LINK_COM_POS_1: f64 = 0.5;
const LINK_COM_POS_2: f64 = 0.5;
const LINK_MOI: f64 = 1.0;
const MAX_VEL_1: f64 = 4.0 * PI;
const MAX_VEL_2: f64 = 9.0 * PI;
const AVAIL_TORQUE: [f64; 3] = [-1.0, 0.0, 1.0];
/// Gymnasium's registration of `Acrobot-v1`.
pub const ACROBOT_TIME_LIMIT: u32 = 500;

/// Acrobot-v1.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Acrobot {
    state: [f64; 4],
    elapsed_steps: u32,
    time_limit: Option<u32>,
}

impl Default for Acrobot {
    fn default() -> Self {
        Acrobot::new()
    }
}

impl Acrobot {
    /// As registered: with the 500-step limit.
    pub fn new() -> Self {
        Acrobot {
            state: [0.0; 4],
            elapsed_steps: 0,
            time_limit: Some(ACROBOT_TIME_LIMIT),
        }
    }

    /// Without the time limit (Q-probe rollouts measure untruncated returns).
    pub fn without_time_limit() -> Self {
        Acrobot {
            time_limit: None,
            ..Acrobot::new()
        }
    }

    /// The exact internal (float64) state.
    pub fn state(&self) -> [f64; 4] {
        self.state
    }

    /// Start an episode from a given internal state (for replaying recorded trajectories).
    pub fn reset_to(&mut self, state: [f64; 4]) -> [f32; 6] {
        self.state = state;
        self.elapsed_steps = 0;
        self.observation()
    }

    /// Uniform in ±0.1 for each state variable, drawn in `float32` as Gymnasium's reset.
    pub fn reset(&mut self, rng: &mut dyn rand::RngCore) -> [f32; 6] {
        let state = [(); 4].map(|_| f64::from(rng.gen_range(-0.1f32..0.1f32)));
        self.reset_to(state)
    }

    fn observation(&self) -> [f32; 6] {
        let [t1, t2, d1, d2] = self.state;
        [t1.cos(), t1.sin(), t2.cos(), t2.sin(), d1, d2].map(|v| v as f32)
    }

    /// Gymnasium's `step`: RK4, wrap the angles, bound the speeds, reward and flags.
    pub fn step(&mut self, action: usize) -> Step<[f32; 6]> {
        assert!(action < 3, "Acrobot action must be 0, 1 or 2, got {action}");
        let [t1, t2, d1, d2] = self.state;
        let ns = rk4([t1, t2, d1, d2, AVAIL_TORQUE[action]]);
        self.state = [
            wrap(ns[0], -PI, PI),
            wrap(ns[1], -PI, PI),
            bound(ns[2], -MAX_VEL_1, MAX_VEL_1),
            bound(ns[3], -MAX_VEL_2, MAX_VEL_2),
        ];
        let [t1, t2, ..] = self.state;
        let terminated = -t1.cos() - (t2 + t1).cos() > 1.0;
        self.elapsed_steps += 1;
        Step {
            observation: self.observation(),
            reward: if terminated { 0.0 } else { -1.0 },
            terminated,
            truncated: self.time_limit.is_some_and(|l| self.elapsed_steps >= l),
        }
    }
}

/// Gymnasium's `rk4` over `[0, DT]`: one classical Runge–Kutta step of the augmented state
/// (the torque is its fifth, constant, component).
fn rk4(y0: [f64; 5]) -> [f64; 5] {
    let (dt, dt2) = (DT, DT / 2.0);
    let add = |y: &[f64; 5], h: f64, k: &[f64; 5]| -> [f64; 5] {
        [0, 1, 2, 3, 4].map(|i| y[i] + h * k[i])
    };
    let k1 = dsdt(&y0);
    let k2 = dsdt(&add(&y0, dt2, &k1));
    let k3 = dsdt(&add(&y0, dt2, &k2));
    let k4 = dsdt(&add(&y0, dt, &k3));
    // numpy: y0 + dt / 6.0 * (k1 + 2 * k2 + 2 * k3 + k4), element by element.
    [0, 1, 2, 3, 4].map(|i| y0[i] + dt / 6.0 * (k1[i] + 2.0 * k2[i] + 2.0 * k3[i] + k4[i]))
}

/// Gymnasium's `_dsdt` ("book"): the derivatives of the augmented state.
fn dsdt(s: &[f64; 5]) -> [f64; 5] {
    let (m1, m2, l1) = (LINK_MASS_1, LINK_MASS_2, LINK_LENGTH_1);
    let (lc1, lc2, i1, i2) = (LINK_COM_POS_1, LINK_COM_POS_2, LINK_MOI, LINK_MOI);
    let g = 9.8;
    let [theta1, theta2, dtheta1, dtheta2, a] = *s;
    let d1 = m1 * lc1.powi(2)
        + m2 * (l1.powi(2) + lc2.powi(2) + 2.0 * l1 * lc2 * theta2.cos())
        + i1
        + i2;
    let d2 = m2 * (lc2.powi(2) + l1 * lc2 * theta2.cos()) + i2;
    let phi2 = m2 * lc2 * g * (theta1 + theta2 - PI / 2.0).cos();
    let phi1 = -m2 * l1 * lc2 * dtheta2.powi(2) * theta2.sin()
        - 2.0 * m2 * l1 * lc2 * dtheta2 * dtheta1 * theta2.sin()
        + (m1 * lc1 + m2 * l1) * g * (theta1 - PI / 2.0).cos()
        + phi2;
    let ddtheta2 = (a + d2 / d1 * phi1 - m2 * l1 * lc2 * dtheta1.powi(2) * theta2.sin() - phi2)
        / (m2 * lc2.powi(2) + i2 - d2.powi(2) / d1);
    let ddtheta1 = -(d2 * ddtheta2 + phi1) / d1;
    [dtheta1, dtheta2, ddtheta1, ddtheta2, 0.0]
}

/// Gymnasium's `wrap`: into `[m, M]` by whole turns.
fn wrap(mut x: f64, m: f64, big_m: f64) -> f64 {
    let diff = big_m - m;
    while x > big_m {
        x -= diff;
    }
    while x < m {
        x += diff;
    }
    x
}

/// Gymnasium's `bound`: `min(max(x, m), M)`.
fn bound(x: f64, m: f64, big_m: f64) -> f64 {
    x.max(m).min(big_m)
}

impl Env for Acrobot {
    type Elem = f32;

    fn obs_shape(&self) -> ObsShape {
        ObsShape::vector(6)
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
        encode("Acrobot", self)
    }

    fn load_state(&mut self, state: &[u8]) -> Result<(), EnvStateError> {
        let saved: Acrobot = decode("Acrobot", state)?;
        same("Acrobot", "time limit", saved.time_limit, self.time_limit)?;
        *self = saved;
        Ok(())
    }
}
