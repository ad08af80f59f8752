//! Wrappers that compose on any [`Env`]: frame stacking (Gymnasium's `FrameStackObservation`),
//! hiding state components (a partially observable CartPole), and a step limit
//! (Gymnasium's `TimeLimit`).

use super::state::{decode, encode, same};
use super::{Env, EnvStateError, ObsElem, ObsShape, Step};
use serde::{Deserialize, Serialize};

/// A wrapper's saved state: its own part, then its inner env's saved state (bytes in the
/// inner env's own envelope).
#[derive(Serialize, Deserialize)]
struct Wrapped<T> {
    own: T,
    inner: Vec<u8>,
}

/// `own` and the inner env's state, in the wrapper's envelope.
pub(crate) fn save_wrapped<T: Serialize>(
    kind: &str,
    own: T,
    inner: &impl Env,
) -> Result<Vec<u8>, EnvStateError> {
    let inner = inner.save_state()?;
    encode(kind, &Wrapped { own, inner })
}

/// Decode a wrapper's state, `check` its own part, and load the inner env's; `Ok(own)` only
/// when all of it is good (the inner env is untouched otherwise, and the caller then sets its
/// own part).
pub(crate) fn load_wrapped<T: serde::de::DeserializeOwned>(
    kind: &str,
    state: &[u8],
    inner: &mut impl Env,
    check: impl FnOnce(&T) -> Result<(), EnvStateError>,
) -> Result<T, EnvStateError> {
    let saved: Wrapped<T> = decode(kind, state)?;
    check(&saved.own)?;
    inner.load_state(&saved.inner)?;
    Ok(saved.own)
}

/// The last `k` observations, oldest first, concatenated along the channel axis. After a reset
/// the stack is the first observation repeated `k` times (Gymnasium's default
/// `padding_type = "reset"`), so every stack is a valid observation from the first step on.
pub struct FrameStack<E: Env> {
    inner: E,
    k: usize,
    /// The `k` frames, oldest first (a frame is one inner observation).
    frames: Vec<E::Elem>,
}

impl<E: Env> FrameStack<E> {
    pub fn new(inner: E, k: usize) -> Self {
        assert!(k >= 1, "frame stack needs at least one frame");
        let frame = inner.obs_shape().len();
        FrameStack {
            inner,
            k,
            frames: vec![E::Elem::default(); frame * k],
        }
    }

    fn frame_len(&self) -> usize {
        self.frames.len() / self.k
    }
}

impl<E: Env> Env for FrameStack<E> {
    type Elem = E::Elem;
    forward_to_inner!(num_actions, time_limit, lives);

    fn obs_shape(&self) -> ObsShape {
        let s = self.inner.obs_shape();
        ObsShape {
            channels: s.channels * self.k,
            ..s
        }
    }

    fn reset_into(&mut self, rng: &mut dyn rand::RngCore, obs: &mut [E::Elem]) {
        let n = self.frame_len();
        let (first, rest) = self.frames.split_at_mut(n);
        self.inner.reset_into(rng, first);
        for frame in rest.chunks_exact_mut(n) {
            frame.copy_from_slice(first);
        }
        obs.copy_from_slice(&self.frames);
    }

    fn step_into(&mut self, action: usize, obs: &mut [E::Elem]) -> Step<()> {
        let n = self.frame_len();
        self.frames.copy_within(n.., 0);
        let newest = self.frames.len() - n;
        let step = self.inner.step_into(action, &mut self.frames[newest..]);
        obs.copy_from_slice(&self.frames);
        step
    }

    fn saves_mid_episode(&self) -> bool {
        self.inner.saves_mid_episode()
    }

    /// The stacked frames and the inner env.
    fn save_state(&self) -> Result<Vec<u8>, EnvStateError> {
        save_wrapped("FrameStack", (self.k, &self.frames), &self.inner)
    }

    fn load_state(&mut self, state: &[u8]) -> Result<(), EnvStateError> {
        let check = |(k, frames): &(usize, Vec<E::Elem>)| {
            same("FrameStack", "frame count", *k, self.k)?;
            same(
                "FrameStack",
                "stack length",
                frames.len(),
                self.frames.len(),
            )
        };
        let (_, frames) = load_wrapped("FrameStack", state, &mut self.inner, check)?;
        self.frames = frames;
        Ok(())
    }
}

/// Only the listed components of a state-vector observation are seen (in the given order).
pub struct KeepComponents<E: Env> {
    inner: E,
    keep: Vec<usize>,
    full: Vec<E::Elem>,
}

impl<E: Env> KeepComponents<E> {
    pub fn new(inner: E, keep: &[usize]) -> Self {
        let n = inner.obs_shape().len();
        assert!(
            keep.iter().all(|&i| i < n),
            "component index out of range 0..{n}"
        );
        KeepComponents {
            inner,
            keep: keep.to_vec(),
            full: vec![E::Elem::default(); n],
        }
    }

    fn project(&self, obs: &mut [E::Elem]) {
        for (o, &i) in obs.iter_mut().zip(&self.keep) {
            *o = self.full[i];
        }
    }
}

impl<E: Env> Env for KeepComponents<E> {
    type Elem = E::Elem;
    forward_to_inner!(num_actions, time_limit, lives);

    fn obs_shape(&self) -> ObsShape {
        ObsShape::vector(self.keep.len())
    }

    fn reset_into(&mut self, rng: &mut dyn rand::RngCore, obs: &mut [E::Elem]) {
        self.inner.reset_into(rng, &mut self.full);
        self.project(obs);
    }

    fn step_into(&mut self, action: usize, obs: &mut [E::Elem]) -> Step<()> {
        let step = self.inner.step_into(action, &mut self.full);
        self.project(obs);
        step
    }

    fn saves_mid_episode(&self) -> bool {
        self.inner.saves_mid_episode()
    }

    /// The inner env, and the kept components to check on load (`full` is scratch, written
    /// whole by every reset and step before it is read).
    fn save_state(&self) -> Result<Vec<u8>, EnvStateError> {
        save_wrapped("KeepComponents", &self.keep, &self.inner)
    }

    fn load_state(&mut self, state: &[u8]) -> Result<(), EnvStateError> {
        let check = |keep: &Vec<usize>| same("KeepComponents", "components", keep, &self.keep);
        load_wrapped("KeepComponents", state, &mut self.inner, check)?;
        Ok(())
    }
}

/// Truncates an episode after `limit` steps (Gymnasium's `TimeLimit`).
pub struct TimeLimit<E: Env> {
    inner: E,
    limit: u32,
    elapsed: u32,
}

impl<E: Env> TimeLimit<E> {
    pub fn new(inner: E, limit: u32) -> Self {
        TimeLimit {
            inner,
            limit,
            elapsed: 0,
        }
    }
}

impl<E: Env> Env for TimeLimit<E> {
    type Elem = E::Elem;
    forward_to_inner!(obs_shape, num_actions, lives);

    fn reset_into(&mut self, rng: &mut dyn rand::RngCore, obs: &mut [E::Elem]) {
        self.elapsed = 0;
        self.inner.reset_into(rng, obs);
    }

    fn step_into(&mut self, action: usize, obs: &mut [E::Elem]) -> Step<()> {
        let mut step = self.inner.step_into(action, obs);
        self.elapsed += 1;
        step.truncated |= self.elapsed >= self.limit;
        step
    }

    fn time_limit(&self) -> Option<u32> {
        Some(
            self.inner
                .time_limit()
                .map_or(self.limit, |l| l.min(self.limit)),
        )
    }

    fn saves_mid_episode(&self) -> bool {
        self.inner.saves_mid_episode()
    }

    /// The step count (and the limit, checked on load) and the inner env.
    fn save_state(&self) -> Result<Vec<u8>, EnvStateError> {
        save_wrapped("TimeLimit", (self.limit, self.elapsed), &self.inner)
    }

    fn load_state(&mut self, state: &[u8]) -> Result<(), EnvStateError> {
        let check = |&(limit, _): &(u32, u32)| same("TimeLimit", "limit", limit, self.limit);
        let (_, elapsed) = load_wrapped("TimeLimit", state, &mut self.inner, check)?;
        self.elapsed = elapsed;
        Ok(())
    }
}

/// Convert an observation to the network's `f32` values.
pub fn to_f32<T: ObsElem>(obs: &[T], out: &mut [f32]) {
    for (o, v) in out.iter_mut().zip(obs) {
        *o = v.to_f32();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{CartPole, CartPoleVersion};
    use rand::SeedableRng;

    #[test]
    fn frame_stack_pads_with_the_reset_frame_then_shifts_oldest_first() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let mut plain = CartPole::new(CartPoleVersion::V0);
        let mut stacked = FrameStack::new(CartPole::new(CartPoleVersion::V0), 3);
        assert_eq!(stacked.obs_shape(), ObsShape::vector(12));
        let mut obs = [0.0f32; 12];
        stacked.reset_into(&mut rand_chacha::ChaCha8Rng::seed_from_u64(3), &mut obs);
        let s0 = plain.reset(&mut rng);
        assert_eq!(obs, [s0, s0, s0].concat()[..]);
        let s1 = plain.step(1).observation;
        stacked.step_into(1, &mut obs);
        assert_eq!(obs, [s0, s0, s1].concat()[..]);
        let s2 = plain.step(0).observation;
        let step = stacked.step_into(0, &mut obs);
        assert_eq!(obs, [s0, s1, s2].concat()[..]);
        assert!(!step.done());
    }

    #[test]
    fn positions_only_hides_the_velocities() {
        let mut env = KeepComponents::new(CartPole::new(CartPoleVersion::V0), &[0, 2]);
        let mut obs = [0.0f32; 2];
        env.reset_into(&mut rand_chacha::ChaCha8Rng::seed_from_u64(0), &mut obs);
        let reset = env.inner.state();
        assert_ne!(reset, [0.0; 4]);
        assert_eq!(obs, [reset[0] as f32, reset[2] as f32]);
        env.step_into(1, &mut obs);
        let inner = env.inner.state();
        assert_eq!(obs, [inner[0] as f32, inner[2] as f32]);
    }

    #[test]
    fn to_f32_converts_every_element() {
        let mut out = [9.0f32; 3];
        to_f32(&[0u8, 1, 255], &mut out);
        assert_eq!(out, [0.0, 1.0, 255.0]);
        to_f32(&[-0.5f32, 2.25, 0.0], &mut out);
        assert_eq!(out, [-0.5, 2.25, 0.0]);
    }

    #[test]
    fn time_limit_truncates_and_resets_its_count() {
        let mut env = TimeLimit::new(CartPole::without_time_limit(CartPoleVersion::V0), 3);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
        let mut obs = [0.0f32; 4];
        for _ in 0..2 {
            env.reset_into(&mut rng, &mut obs);
            let flags: Vec<bool> = (0..3)
                .map(|i| env.step_into(i % 2, &mut obs).truncated)
                .collect();
            assert_eq!(flags, [false, false, true]);
        }
        assert_eq!(env.time_limit(), Some(3));
    }
}
