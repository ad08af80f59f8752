//! A run's work from its config alone, in multiply-adds: the same number on every machine, so
//! shards of a cluster job agree on who runs what without talking to each other. `plan` turns
//! work into seconds with speeds measured on this machine.
//!
//! Per env step: one greedy forward pass to act, plus the environment. Per update (every
//! `update_period` steps after `learning_starts`), for a batch of B: the online forward and
//! backward passes (≈ 3 forward passes), the target forward pass, one more online forward
//! pass for Double DQN's argmax, and PER's sum-tree walks. Episode budgets are bounded by
//! episodes × the time limit, so their work is an upper bound.

use crate::agent::networks::HIDDEN;
use crate::config::{MinAtarNet, RunConfig};
use crate::env::EnvId;

/// Multiply-adds of one classic-control (CartPole, Acrobot, MountainCar), MinAtar or Atari env step, relative to the networks' (rough,
/// measured orders of magnitude; only ratios between runs matter for sharding).
const ENV_STEP: [(&str, u64); 3] = [
    ("CartPole", 200),
    ("MinAtar", 5_000),
    // One emulator frame (an agent step is `frame_skip` of them), plus the resize.
    ("Atari frame", 200_000),
];
/// The step bound of MinAtar episodes under an episode budget (the evaluation's cap).
const MINATAR_EPISODE_BOUND: u64 = 27_000;
/// Multiply-add equivalents of one PER sum-tree level per sampled transition.
const SUM_TREE_LEVEL: u64 = 40;

/// How much a run costs, before it runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Work {
    /// Env steps: the step budget, or episodes × time limit (an upper bound).
    pub steps: u64,
    /// Whether `steps` is the budget itself rather than a bound.
    pub steps_exact: bool,
    /// Multiply-adds (rough) of the whole run.
    pub units: u64,
}

/// The work of `cfg`.
pub fn work(cfg: &RunConfig) -> Work {
    let (steps, steps_exact) = match cfg.train.steps {
        Some(s) => (s, true),
        None => {
            let limit = cfg
                .env
                .max_episode_steps
                .or(cfg.env.id.time_limit())
                .map_or(MINATAR_EPISODE_BOUND, u64::from);
            (u64::from(cfg.train.episodes.unwrap_or(0)) * limit, false)
        }
    };
    let a = &cfg.agent;
    let forward = forward_macs(cfg);
    let env_step = match cfg.env.id {
        EnvId::CartPole(_) | EnvId::Acrobot | EnvId::MountainCar => ENV_STEP[0].1,
        EnvId::MinAtar(_) => ENV_STEP[1].1,
        EnvId::Atari(_) => ENV_STEP[2].1 * u64::from(cfg.env.frame_skip.max(1)),
    };
    let passes = 4 + u64::from(a.variant.double);
    // Noisy layers form their weights (μ + σ ⊙ ε) once per forward pass, whatever the batch.
    let noise = if a.variant.noisy {
        dense_weights(cfg)
    } else {
        0
    };
    let mut update = a.batch_size as u64 * forward * passes + passes * noise;
    if a.variant.per {
        let levels = (a.buffer_size.max(2) as f64).log2().ceil() as u64;
        update += a.batch_size as u64 * levels * SUM_TREE_LEVEL;
    }
    let updates = steps.saturating_sub(a.learning_starts) / a.update_period.max(1);
    Work {
        steps,
        steps_exact,
        units: steps * (forward + noise + env_step) + updates * update,
    }
}

/// Bytes one run holds at most, roughly: the full replay buffer (pixel frames stored once,
/// vector observations twice per transition) plus the process's working set per run.
pub fn memory_bytes(cfg: &RunConfig) -> u64 {
    const PER_RUN: u64 = 64 << 20;
    const PER_TRANSITION: u64 = 48;
    let obs = cfg.env.observe_len() as u64;
    let per_transition = match cfg.env.id {
        // f32 observation and next observation.
        EnvId::CartPole(_) | EnvId::Acrobot | EnvId::MountainCar => 2 * 4 * obs,
        // u8 frames stored once (a stack shares frames with its neighbours).
        EnvId::MinAtar(_) | EnvId::Atari(_) => obs / cfg.env.frame_stack.max(1) as u64,
    };
    PER_RUN + cfg.agent.buffer_size as u64 * (per_transition + PER_TRANSITION)
}

/// Multiply-adds of one forward pass of the run's Q-network on one observation.
fn forward_macs(cfg: &RunConfig) -> u64 {
    let (trunk, dense) = layer_macs(cfg);
    trunk + dense
}

/// The weights of the run's fully connected layers (those a noisy network perturbs).
fn dense_weights(cfg: &RunConfig) -> u64 {
    layer_macs(cfg).1
}

/// Multiply-adds per observation of the convolutions and of the fully connected layers; a
/// distributional head has `atoms` outputs per action (and per value stream).
fn layer_macs(cfg: &RunConfig) -> (u64, u64) {
    let h = HIDDEN as u64;
    let dueling = cfg.agent.variant.dueling;
    let (trunk, actions) = match cfg.env.id {
        EnvId::CartPole(_) => (cfg.env.observe_len() as u64 * h, 2),
        EnvId::Acrobot | EnvId::MountainCar => (cfg.env.observe_len() as u64 * h, 3),
        EnvId::MinAtar(g) => {
            // conv 16 × 3×3 over 10×10 (same padding), then the 1600-wide flatten.
            let conv = 100 * 16 * 9 * g.channels() as u64 * cfg.env.frame_stack as u64;
            (conv, 6)
        }
        EnvId::Atari(_) => {
            // Nature CNN: 32 8×8/4 (20×20), 64 4×4/2 (9×9), 64 3×3/1 (7×7), then 3136 → 512.
            let k = cfg.env.frame_stack as u64;
            let conv = 400 * 32 * 64 * k + 81 * 64 * 16 * 32 + 49 * 64 * 9 * 64;
            (conv, 6)
        }
    };
    let hidden_in = match cfg.env.id {
        EnvId::CartPole(_) | EnvId::Acrobot | EnvId::MountainCar => h,
        EnvId::MinAtar(_) => 1600,
        // The Nature CNN's 512-wide layer, counted as 3136 × 512 = 12.25 × (1024 × 128).
        EnvId::Atari(_) => 3136 * 4,
    };
    let atoms = if cfg.agent.variant.distributional {
        u64::from(cfg.agent.atoms)
    } else {
        1
    };
    let stream = hidden_in * h;
    let dense = if cfg.agent.minatar_net == MinAtarNet::RevisitingRainbow {
        // Revisiting Rainbow's MinAtar net: the 1600 features straight to the head(s).
        hidden_in * (actions * atoms + if dueling { atoms } else { 0 })
    } else if dueling {
        2 * stream + h * atoms + h * actions * atoms
    } else {
        stream + h * actions * atoms
    };
    match cfg.env.id {
        // The MLP's first layer is its "trunk" above; all of it is fully connected.
        EnvId::CartPole(_) | EnvId::Acrobot | EnvId::MountainCar => (0, trunk + dense),
        _ => (trunk, dense),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Variant;
    use crate::env::minatar::Game;

    #[test]
    fn step_budgets_are_exact_and_episode_budgets_are_bounded_by_the_time_limit() {
        let mut cfg = RunConfig::default();
        cfg.train.episodes = Some(300);
        cfg.train.steps = None;
        let w = work(&cfg);
        assert_eq!((w.steps, w.steps_exact), (300 * 200, false));
        cfg.train.steps = Some(5_000);
        assert_eq!((work(&cfg).steps, work(&cfg).steps_exact), (5_000, true));
    }

    #[test]
    fn pixels_double_per_and_learning_cost_more() {
        let mut cart = RunConfig::default();
        cart.train.steps = Some(10_000);
        let base = work(&cart).units;
        let mut pixels = cart.clone();
        pixels.env.id = EnvId::MinAtar(Game::Breakout);
        // The MinAtar net is about an order of magnitude more work per step (measured: CartPole
        // ~4,400 vs MinAtar ~350 env steps/s with an update every step).
        let ratio = work(&pixels).units as f64 / base as f64;
        assert!((5.0..30.0).contains(&ratio), "ratio {ratio}");
        for (double, per) in [(true, false), (false, true)] {
            let mut c = cart.clone();
            c.agent.variant = Variant {
                double,
                per,
                ..Variant::DQN
            };
            assert!(work(&c).units > base);
        }
        // C51's 51 outputs per action and noisy layers' weight forming cost more too.
        for variant in ["c51", "noisy", "rainbow"] {
            let mut c = pixels.clone();
            c.agent.variant = variant.parse().unwrap();
            assert!(work(&c).units > work(&pixels).units, "{variant}");
        }
        let mut late = cart.clone();
        late.agent.learning_starts = 5_000;
        assert!(work(&late).units < base);
    }
}
