//! [`MinAtar`] behind the [`Env`] trait: channel-first `u8` observations (0/1), MinAtar's
//! full action set of 6, its own numpy-compatible RNG seeded once at construction.

use super::{Game, MinAtar};
use crate::{Env, EnvStateError, ObsShape, Step};

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

    /// The game and its generator: [`MinAtar::save_state`].
    fn save_state(&self) -> Result<Vec<u8>, EnvStateError> {
        self.game.save_state()
    }

    fn load_state(&mut self, state: &[u8]) -> Result<(), EnvStateError> {
        self.game.load_state(state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    /// Six actions (`Environment.num_actions()`), a 10×10 state of the game's channels, and no
    /// time limit: episodes end only through the game (Freeway's own 2500-frame end is a
    /// terminal, not a truncation).
    #[test]
    fn every_game_has_six_actions_its_channels_and_no_time_limit() {
        for game in Game::ALL {
            let env = MinAtarEnv::new(game, 0.1, true, 0);
            assert_eq!(env.num_actions(), 6);
            assert_eq!(env.time_limit(), None);
            assert_eq!(
                env.obs_shape(),
                ObsShape {
                    channels: game.channels(),
                    height: 10,
                    width: 10
                }
            );
        }
    }

    /// `reset_into` is `env.reset()` and then the state, channel first, in place.
    #[test]
    fn reset_into_starts_an_episode_and_writes_its_state() {
        let mut env = MinAtarEnv::new(Game::Breakout, 0.0, true, 3);
        let mut reference = MinAtar::new(Game::Breakout, 0.0, true, 3);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
        let (mut obs, mut expected) = (vec![7u8; 400], vec![0u8; 400]);
        for episode in 0..3 {
            env.reset_into(&mut rng, &mut obs);
            reference.reset();
            reference.state_chw(&mut expected);
            assert_eq!(obs, expected, "episode {episode}");
            // A paddle that stands still loses the ball.
            let mut steps = 0;
            while !env.step_into(0, &mut obs).terminated {
                reference.act(0);
                steps += 1;
                assert!(steps < 1000);
            }
            reference.act(0);
        }
    }
}
