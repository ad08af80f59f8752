//! [`MinAtar`] behind the [`Env`] trait: channel-first `u8` observations (0/1), MinAtar's
//! full action set of 6, its own numpy-compatible RNG seeded once at construction.

use super::{Game, MinAtar};
use crate::{Env, ObsShape, Step};

/// A MinAtar game as a training environment.
pub struct MinAtarEnv {
    game: MinAtar,
}

impl MinAtarEnv {
    /// As `Environment(game, sticky_action_prob, difficulty_ramping)` followed by
    /// `env.seed(seed)`: sticky actions and the game's own draws share one `RandomState`.
    pub fn new(game: Game, sticky_action_prob: f64, difficulty_ramping: bool, seed: u32) -> Self {
        MinAtarEnv {
            game: MinAtar::new(game, sticky_action_prob, difficulty_ramping, seed),
        }
    }
}

impl Env for MinAtarEnv {
    type Elem = u8;

    fn obs_shape(&self) -> ObsShape {
        ObsShape {
            channels: self.game.channels(),
            height: 10,
            width: 10,
        }
    }

    fn num_actions(&self) -> usize {
        self.game.num_actions()
    }

    /// MinAtar draws everything from its own `RandomState`; `_rng` is not used.
    fn reset_into(&mut self, _rng: &mut dyn rand::RngCore, obs: &mut [u8]) {
        self.game.reset();
        self.game.state_chw(obs);
    }

    fn step_into(&mut self, action: usize, obs: &mut [u8]) -> Step<()> {
        let (reward, terminal) = self.game.act(action);
        self.game.state_chw(obs);
        Step {
            observation: (),
            reward: f64::from(reward),
            terminated: terminal,
            truncated: false,
        }
    }

    fn time_limit(&self) -> Option<u32> {
        None
    }
}
