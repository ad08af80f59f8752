//! The DQN preprocessing as composable wrappers over any pixel [`Env`], following Gymnasium's
//! `AtariPreprocessing` (no-op starts, frame skip with the max over the last two frames,
//! INTER_AREA resize) and Stable-Baselines3's `FireResetEnv` / `EpisodicLifeEnv`. Stacking is
//! the generic [`crate::wrappers::FrameStack`]; reward clipping is the agent's
//! (`agent.clip_rewards`), so reported returns stay game scores.
//!
//! Saved states: each wrapper saves its settings (checked on load) and its own state with its
//! inner env's. ALE saves only at episode boundaries (see [`super::ale::AleEnv`]), where the
//! reset that follows rewrites the wrappers' frame buffers, so those are not saved.

use super::resize::AreaResize;
use crate::state::same;
use crate::wrappers::{load_wrapped, save_wrapped};
use crate::{Env, EnvStateError, ObsShape, Step};

/// The [`Env`] methods for saving a wrapper whose own state is only its `$setting`s (compared
/// on load): `saves_mid_episode` from the inner env, `save_state`, `load_state`.
macro_rules! save_settings_and_inner {
    ($kind:literal $(, $setting:ident)*) => {
        fn saves_mid_episode(&self) -> bool {
            self.inner.saves_mid_episode()
        }
        fn save_state(&self) -> Result<Vec<u8>, EnvStateError> {
            save_wrapped($kind, ($(&self.$setting,)*), &self.inner)
        }
        fn load_state(&mut self, state: &[u8]) -> Result<(), EnvStateError> {
            let here = ($(self.$setting.clone(),)*);
            let check = |saved: &_| same($kind, "settings", saved, &here);
            load_wrapped($kind, state, &mut self.inner, check).map(drop)
        }
    };
}

/// On reset, a random number of no-op steps in `1..=noop_max` (action 0, the NOOP of every
/// minimal action set), drawn from the reset RNG; a game that ends meanwhile is reset again.
pub struct NoopReset<E> {
    inner: E,
    noop_max: u32,
}

impl<E: Env> NoopReset<E> {
    pub fn new(inner: E, noop_max: u32) -> Self {
        NoopReset { inner, noop_max }
    }
}

impl<E: Env> Env for NoopReset<E> {
    type Elem = E::Elem;
    forward_to_inner!(obs_shape, num_actions, time_limit, lives);
    fn reset_into(&mut self, rng: &mut dyn rand::RngCore, obs: &mut [E::Elem]) {
        use rand::Rng;
        self.inner.reset_into(rng, obs);
        let noops = if self.noop_max > 0 {
            rng.gen_range(1..=self.noop_max)
        } else {
            0
        };
        for _ in 0..noops {
            if self.inner.step_into(0, obs).done() {
                self.inner.reset_into(rng, obs);
            }
        }
    }
    fn step_into(&mut self, action: usize, obs: &mut [E::Elem]) -> Step<()> {
        self.inner.step_into(action, obs)
    }
    save_settings_and_inner!("NoopReset", noop_max);
}

/// On reset, press FIRE (action 1) then action 2, for games that wait for FIRE to start
/// (Stable-Baselines3's `FireResetEnv`); a game that ends meanwhile is reset again.
pub struct FireReset<E> {
    inner: E,
}

impl<E: Env> FireReset<E> {
    pub fn new(inner: E) -> Self {
        FireReset { inner }
    }
}

impl<E: Env> Env for FireReset<E> {
    type Elem = E::Elem;
    forward_to_inner!(obs_shape, num_actions, time_limit, lives);
    fn reset_into(&mut self, rng: &mut dyn rand::RngCore, obs: &mut [E::Elem]) {
        self.inner.reset_into(rng, obs);
        for action in [1, 2] {
            if self.inner.step_into(action, obs).done() {
                self.inner.reset_into(rng, obs);
            }
        }
    }
    fn step_into(&mut self, action: usize, obs: &mut [E::Elem]) -> Step<()> {
        self.inner.step_into(action, obs)
    }
    save_settings_and_inner!("FireReset");
}

/// Repeat each action `skip` times, summing rewards; the observation is the element-wise max
/// of the frames after the last two repeats (Atari sprites flicker between frames). As in
/// Gymnasium: the repeats stop when the episode ends, the two frames persist between steps,
/// and after a reset the second one is zero (so the reset frame is the observation).
pub struct MaxAndSkip<E: Env<Elem = u8>> {
    inner: E,
    skip: u32,
    /// Frame after the last repeat, and after the one before it.
    frames: [Vec<u8>; 2],
}

impl<E: Env<Elem = u8>> MaxAndSkip<E> {
    pub fn new(inner: E, skip: u32) -> Self {
        let n = inner.obs_shape().len();
        MaxAndSkip {
            inner,
            skip: skip.max(1),
            frames: [vec![0; n], vec![0; n]],
        }
    }

    fn write_max(&self, obs: &mut [u8]) {
        for ((o, a), b) in obs.iter_mut().zip(&self.frames[0]).zip(&self.frames[1]) {
            *o = (*a).max(*b);
        }
    }
}

impl<E: Env<Elem = u8>> Env for MaxAndSkip<E> {
    type Elem = u8;
    forward_to_inner!(obs_shape, num_actions, time_limit, lives);
    fn reset_into(&mut self, rng: &mut dyn rand::RngCore, obs: &mut [u8]) {
        self.inner.reset_into(rng, &mut self.frames[0]);
        self.frames[1].fill(0);
        self.write_max(obs);
    }
    fn step_into(&mut self, action: usize, obs: &mut [u8]) -> Step<()> {
        let mut total = Step {
            observation: (),
            reward: 0.0,
            terminated: false,
            truncated: false,
        };
        for t in 0..self.skip {
            // Every frame lands in `obs` (scratch); the last two are kept, unless the episode
            // ended on them (Gymnasium breaks out before storing that frame).
            let step = self.inner.step_into(action, obs);
            total.reward += step.reward;
            total.terminated = step.terminated;
            total.truncated = step.truncated;
            if step.done() {
                break;
            }
            if t + 2 == self.skip {
                self.frames[1].copy_from_slice(obs);
            } else if t + 1 == self.skip {
                self.frames[0].copy_from_slice(obs);
            }
        }
        self.write_max(obs);
        total
    }
    // The two frames are rewritten by the reset after the episode boundary of every save.
    save_settings_and_inner!("MaxAndSkip", skip);
}

/// A life lost ends the episode for learning, while the game goes on (Stable-Baselines3's
/// `EpisodicLifeEnv`): the next reset takes one no-op step instead of restarting, unless the
/// game is really over. Episodes, and their returns, are then lives.
///
/// Its state saves only after a real game over (or before the first reset): at the end of an
/// episode cut by a life loss (or by a time limit above it) the game goes on, and the next
/// reset steps it, so its first frame may repeat, through sticky actions, the last action
/// taken — which ALE 0.6 does not save (`m_player_a_action`, see
/// [`super::ale::AleEnv::saves_mid_episode`]). There [`Env::save_state`] is `Unsupported`,
/// and a checkpoint waits for the game to end.
pub struct EpisodicLife<E> {
    inner: E,
    lives: u32,
    game_over: bool,
}

impl<E: Env> EpisodicLife<E> {
    pub fn new(inner: E) -> Self {
        EpisodicLife {
            inner,
            lives: 0,
            game_over: true,
        }
    }
}

impl<E: Env> Env for EpisodicLife<E> {
    type Elem = E::Elem;
    forward_to_inner!(obs_shape, num_actions, time_limit, lives);
    fn reset_into(&mut self, rng: &mut dyn rand::RngCore, obs: &mut [E::Elem]) {
        // A real game over (or one reached by the no-op step) restarts the game.
        if self.game_over || self.inner.step_into(0, obs).done() {
            self.inner.reset_into(rng, obs);
        }
        self.game_over = false;
        self.lives = self.inner.lives().unwrap_or(0);
    }
    fn step_into(&mut self, action: usize, obs: &mut [E::Elem]) -> Step<()> {
        let mut step = self.inner.step_into(action, obs);
        self.game_over = step.done();
        let lives = self.inner.lives().unwrap_or(0);
        if lives < self.lives && lives > 0 {
            step.terminated = true;
        }
        self.lives = lives;
        step
    }

    fn saves_mid_episode(&self) -> bool {
        false
    }

    fn save_state(&self) -> Result<Vec<u8>, EnvStateError> {
        if !self.game_over {
            return Err(EnvStateError::Unsupported(
                "EpisodicLife: the game goes on after this episode (a life was lost); ALE \
                 does not save the action its sticky actions would repeat, so the state is \
                 saved only once the game is over"
                    .into(),
            ));
        }
        save_wrapped("EpisodicLife", (self.lives, self.game_over), &self.inner)
    }

    fn load_state(&mut self, state: &[u8]) -> Result<(), EnvStateError> {
        let check = |&(_, over): &(u32, bool)| same("EpisodicLife", "game over", over, true);
        (self.lives, self.game_over) = load_wrapped("EpisodicLife", state, &mut self.inner, check)?;
        Ok(())
    }
}

/// Resize every observation (one channel) with OpenCV's `INTER_AREA`.
pub struct Resize<E: Env<Elem = u8>> {
    inner: E,
    area: AreaResize,
    frame: Vec<u8>,
    shape: ObsShape,
}

impl<E: Env<Elem = u8>> Resize<E> {
    pub fn new(inner: E, height: usize, width: usize) -> Self {
        let s = inner.obs_shape();
        assert_eq!(s.channels, 1, "Resize takes one channel");
        Resize {
            area: AreaResize::new(s.height, s.width, height, width),
            frame: vec![0; s.len()],
            shape: ObsShape {
                channels: 1,
                height,
                width,
            },
            inner,
        }
    }
}

impl<E: Env<Elem = u8>> Env for Resize<E> {
    type Elem = u8;
    forward_to_inner!(num_actions, time_limit, lives);
    fn obs_shape(&self) -> ObsShape {
        self.shape
    }
    fn reset_into(&mut self, rng: &mut dyn rand::RngCore, obs: &mut [u8]) {
        self.inner.reset_into(rng, &mut self.frame);
        self.area.apply(&self.frame, obs);
    }
    fn step_into(&mut self, action: usize, obs: &mut [u8]) -> Step<()> {
        let step = self.inner.step_into(action, &mut self.frame);
        self.area.apply(&self.frame, obs);
        step
    }
    // `frame` is scratch, written whole by every reset and step.
    save_settings_and_inner!("Resize", shape);
}
