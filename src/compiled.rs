//! What the binary has compiled: network shapes are fixed at compile time, so only some
//! (environment, agent) combinations have a network. Config validation asks here before any
//! run starts; the training dispatch (`crate::train::train`) instantiates exactly these. A leaf
//! module, so that configuration does not depend on training.

use crate::config::{AgentConfig, EnvConfig, WeightInit};
use crate::env::{self, EnvId};

/// Whether [`crate::train::train`] has a network for this env and agent; the error says what is
/// supported.
pub fn check_supported(env: &EnvConfig, agent: &AgentConfig) -> Result<(), String> {
    check_components(env, agent)?;
    if !agent.mlp_hidden.is_default() {
        let n = env.observe_len();
        let cartpole = matches!(env.id, EnvId::CartPole(_));
        if !cartpole || n != 4 || agent.variant.dueling {
            return Err(format!(
                "mlp_hidden = \"120x84\" is compiled for the plain (not dueling) MLP on CartPole's 4 full-state inputs, not {} with {n} inputs{}",
                env.id,
                if agent.variant.dueling { ", dueling" } else { "" }
            ));
        }
    }
    match env.id {
        EnvId::CartPole(_) => {
            let n = match env.observe {
                env::Observe::Full => 4,
                env::Observe::Positions => 2,
            } * env.frame_stack;
            if MLP_INPUTS.contains(&n) {
                Ok(())
            } else {
                Err(format!(
                    "{} observations of {n} values ({} × frame_stack {}) have no compiled network; supported sizes: {MLP_INPUTS:?}",
                    env.id,
                    n / env.frame_stack,
                    env.frame_stack
                ))
            }
        }
        EnvId::Acrobot | EnvId::MountainCar if env.frame_stack == 1 => Ok(()),
        EnvId::Acrobot | EnvId::MountainCar => Err(format!(
            "{}: frame_stack must be 1 (its state vector is Markov; the 3-action MLP is compiled for {} inputs)",
            env.id,
            env.observe_len() / env.frame_stack
        )),
        EnvId::MinAtar(_) if env.frame_stack == 1 => Ok(()),
        EnvId::MinAtar(_) => Err(format!(
            "{}: frame_stack must be 1 (MinAtar states already carry motion trails)",
            env.id
        )),
        EnvId::Atari(_) if env.screen_size != 84 || ![1, 4].contains(&env.frame_stack) => {
            Err(format!(
            "{}: the Nature CNN is compiled for 84×84 screens stacked 1 or 4 deep, not {}×{} × {}",
            env.id, env.screen_size, env.screen_size, env.frame_stack
        ))
        }
        EnvId::Atari(game) => match game.minimal_actions() {
            None => Err(format!(
                "{}: ALE 0.6.0 (what the `atari` feature builds) never finishes loading this ROM",
                env.id
            )),
            Some(n) if !ATARI_ACTIONS.contains(&n) => Err(format!(
                "{}'s minimal action set has {n} actions; the Nature CNN is compiled for {ATARI_ACTIONS:?}",
                env.id
            )),
            Some(_) => Ok(()),
        },
    }
}

/// The distributional and noisy networks are compiled for the MinAtar CNN and the 128-128 MLPs
/// of the unstacked classic-control states (CartPole's 4 inputs, Acrobot's 6, MountainCar's 2),
/// not the Nature CNN.
fn check_components(env: &EnvConfig, agent: &AgentConfig) -> Result<(), String> {
    let minatar = matches!(env.id, EnvId::MinAtar(_));
    if !agent.minatar_net.is_default() && !minatar {
        return Err(format!(
            "minatar_net = \"revisiting-rainbow\" is a MinAtar network, not one for {}",
            env.id
        ));
    }
    if agent.init == WeightInit::Xavier && matches!(env.id, EnvId::Atari(_)) {
        return Err(format!(
            "init = \"xavier\" is compiled for networks with at most one convolution (the MLPs and MinAtar's), not the Nature CNN ({})",
            env.id
        ));
    }
    let v = agent.variant;
    if !(v.distributional || v.noisy) {
        return Ok(());
    }
    let what = if v.distributional {
        "distributional"
    } else {
        "noisy"
    };
    let n = env.observe_len();
    match env.id {
        EnvId::MinAtar(_) => Ok(()),
        EnvId::Atari(_) => Err(format!(
            "{what} networks are compiled for the MinAtar CNN and the classic-control MLPs, not the Nature CNN ({})",
            env.id
        )),
        _ if !agent.mlp_hidden.is_default() => Err(format!(
            "{what} networks are compiled with the 128-128 MLP, not mlp_hidden = \"120x84\""
        )),
        EnvId::Acrobot | EnvId::MountainCar => Ok(()),
        EnvId::CartPole(_) if n == 4 => Ok(()),
        EnvId::CartPole(_) => Err(format!(
            "{what} MLPs are compiled for CartPole's unstacked full state (4 inputs), not {n} inputs"
        )),
    }
}

/// Action counts the Atari dispatch compiles the Nature CNN for: the minimal action sets of 51
/// of the 62 bundled games (Freeway 3, Breakout 4, Pong 6, Ms. Pac-Man 9, Seaquest 18; not
/// Assault 7, Gopher 8, Amidar 10, Asteroids 14, Journey Escape 16 and their like).
pub const ATARI_ACTIONS: [usize; 5] = [3, 4, 6, 9, 18];

/// Input sizes of the compiled MLPs (CartPole full or positions-only, stacked 1–4 deep).
pub const MLP_INPUTS: [usize; 6] = [2, 4, 6, 8, 12, 16];

/// Input sizes of the compiled 3-action MLPs: MountainCar's 2 and Acrobot's 6, unstacked.
pub const MLP3_INPUTS: [usize; 2] = [2, 6];

impl EnvConfig {
    /// Scalars in one (stacked) observation.
    /// (What the compiled networks take as input: kept here, beside the list of compiled
    /// sizes, so that configuration does not reach into training for it.)
    pub fn observe_len(&self) -> usize {
        let frame = match (self.id, self.observe) {
            (EnvId::CartPole(_), env::Observe::Full) => 4,
            (EnvId::CartPole(_), env::Observe::Positions) => 2,
            (EnvId::Acrobot, _) => 6,
            (EnvId::MountainCar, _) => 2,
            (EnvId::MinAtar(g), _) => g.channels() * 100,
            (EnvId::Atari(_), _) => self.screen_size * self.screen_size,
        };
        frame * self.frame_stack
    }
}
