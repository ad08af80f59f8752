//! Replay memory for observations of any size: every frame is stored once, in its compact
//! element type (`u8` for pixels), and a transition holds only frame ids.
//!
//! An observation is a stack of `k` frames, oldest first (`k = 1` without frame stacking). The
//! env pushes one new frame per step, so consecutive observations share `k − 1` frames; storing
//! `(s, s')` per transition would store each frame `2k` times. Here a transition records the id
//! of its state's newest frame `f` and of its episode's first frame `e`; its state is frames
//! `max(e, f − k + 1) ..= f` (the episode's first frame repeated as padding, as
//! [`dqn_envs::wrappers::FrameStack`] pads after a reset) and its next state ends at `f + 1`.
//! Transitions live in the same uniform ([`ReplayBuffer`]) or prioritized
//! ([`PrioritizedReplay`]) rings as before, so sampling draws the same slots; frames that no
//! live transition needs any more are released.
//!
//! With n-step returns ([`FrameReplay::with_n_step`]) a stored transition spans `m` env steps:
//! its reward is `Σₖ₌₀..ₘ₋₁ γᵏ rₜ₊ₖ` and its next state ends `m` frames after its state, with
//! `m = n`, or less where the episode ended inside the window (the end's `terminated` /
//! `truncated` then belong to every window that reaches it). The last `n` steps wait in a small
//! window until their return is known; a window never spans two episodes.

use super::prioritized::{PerConfig, PerError, PrioritizedReplay};
use super::uniform::ReplayBuffer;
use dqn_envs::ObsElem;
use rand::Rng;
use serde::{Deserialize, Serialize};

/// One stored transition: frame ids plus `(a, r, terminated, truncated)` and its span.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FrameTransition {
    /// Id of the newest frame of the state `s`; `s'` ends at `frame + span`.
    pub frame: u64,
    /// Id of the first frame of the episode (stack padding).
    pub episode_start: u64,
    pub action: u32,
    /// The reward, or with n-step returns the discounted sum over the span.
    pub reward: f32,
    pub terminated: bool,
    pub truncated: bool,
    /// Env steps from `s` to `s'`: 1, or up to `n` with n-step returns.
    pub span: u16,
}

/// A step waiting in the n-step window: its state's newest frame, action and reward.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
struct Pending {
    frame: u64,
    action: u32,
    reward: f32,
}

/// Frames by id in a ring that grows when live transitions still need its oldest frame.
///
/// Serialised without its frames (a checkpoint writes those apart, as a log of the frames
/// pushed since the last one: [`FrameStore::frames_from`]); a deserialised store is refilled
/// with [`FrameStore::restore_frame`].
#[derive(Debug, Clone)]
pub struct FrameStore<E> {
    data: Vec<E>,
    frame_len: usize,
    /// Capacity in frames (`data` grows up to `capacity * frame_len`, then wraps).
    capacity: usize,
    /// Slot of the oldest stored frame.
    head: usize,
    /// Frames stored.
    len: usize,
    /// Id of the oldest stored frame.
    first_id: u64,
}

impl<E: ObsElem> FrameStore<E> {
    pub fn new(frame_len: usize, capacity: usize) -> Self {
        FrameStore {
            data: Vec::new(),
            frame_len,
            capacity: capacity.max(1),
            head: 0,
            len: 0,
            first_id: 0,
        }
    }

    /// Store a frame; returns its id (ids count up from 0).
    pub fn push(&mut self, frame: &[E]) -> u64 {
        debug_assert_eq!(frame.len(), self.frame_len);
        if self.len == self.capacity {
            self.grow();
        }
        let slot = (self.head + self.len) % self.capacity;
        let at = slot * self.frame_len;
        if at == self.data.len() {
            // Reserve the planned capacity exactly (a doubling Vec would hold up to twice the
            // frames); pages are only touched as frames arrive.
            let planned = self.capacity * self.frame_len;
            self.data
                .reserve_exact(planned.saturating_sub(self.data.len()));
            self.data.extend_from_slice(frame);
        } else {
            self.data[at..at + self.frame_len].copy_from_slice(frame);
        }
        self.len += 1;
        self.first_id + self.len as u64 - 1
    }

    /// Make room: unroll the ring so the oldest frame is at slot 0, then add an eighth.
    fn grow(&mut self) {
        self.data.rotate_left(self.head * self.frame_len);
        self.head = 0;
        self.capacity += (self.capacity / 8).max(64);
    }

    /// The frame with id `id`. Panics if it was released or not yet stored.
    pub fn get(&self, id: u64) -> &[E] {
        assert!(
            id >= self.first_id && id < self.first_id + self.len as u64,
            "frame {id} is not stored (ids {}..{})",
            self.first_id,
            self.first_id + self.len as u64
        );
        let slot = (self.head + (id - self.first_id) as usize) % self.capacity;
        &self.data[slot * self.frame_len..(slot + 1) * self.frame_len]
    }

    /// Forget every frame with an id below `id`.
    pub fn release_before(&mut self, id: u64) {
        let n = (id.saturating_sub(self.first_id) as usize).min(self.len);
        self.head = (self.head + n) % self.capacity;
        self.len -= n;
        self.first_id += n as u64;
    }

    /// Frames currently stored.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Bytes of frame data in use. (The planned capacity is reserved up front, but its pages
    /// are only touched, and resident, as frames arrive.)
    pub fn bytes(&self) -> usize {
        self.len * self.frame_len * std::mem::size_of::<E>()
    }
}

/// A [`FrameStore`] without its frames, as a checkpoint holds it.
#[derive(Serialize, Deserialize)]
struct StoreLayout {
    data_len: usize,
    frame_len: usize,
    capacity: usize,
    head: usize,
    len: usize,
    first_id: u64,
}

impl<E> Serialize for FrameStore<E> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        StoreLayout {
            data_len: self.data.len(),
            frame_len: self.frame_len,
            capacity: self.capacity,
            head: self.head,
            len: self.len,
            first_id: self.first_id,
        }
        .serialize(s)
    }
}

impl<'de, E: ObsElem> Deserialize<'de> for FrameStore<E> {
    /// The layout, with every slot at the default value until [`FrameStore::restore_frame`].
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let l = StoreLayout::deserialize(d)?;
        let fits = l.frame_len > 0
            && l.len <= l.capacity
            && l.head < l.capacity.max(1)
            && l.data_len <= l.capacity.saturating_mul(l.frame_len)
            && l.data_len.is_multiple_of(l.frame_len);
        if !fits {
            return Err(serde::de::Error::custom("inconsistent frame store layout"));
        }
        Ok(FrameStore {
            data: vec![E::default(); l.data_len],
            frame_len: l.frame_len,
            capacity: l.capacity,
            head: l.head,
            len: l.len,
            first_id: l.first_id,
        })
    }
}

impl<E: ObsElem> FrameStore<E> {
    /// Values per frame.
    pub fn frame_len(&self) -> usize {
        self.frame_len
    }

    /// Ids of the frames stored: `first..end`.
    pub fn ids(&self) -> std::ops::Range<u64> {
        self.first_id..self.first_id + self.len as u64
    }

    /// The stored frames from id `from` on (from the oldest when `from` is older), in id order.
    pub fn frames_from(&self, from: u64) -> impl Iterator<Item = (u64, &[E])> + '_ {
        let ids = self.ids();
        (from.max(ids.start)..ids.end).map(|id| (id, self.get(id)))
    }

    /// Put back frame `id` into a deserialised store; `false` (and nothing written) when the
    /// store does not hold that id or the frame's length differs.
    pub fn restore_frame(&mut self, id: u64, frame: &[E]) -> bool {
        if !self.ids().contains(&id) || frame.len() != self.frame_len {
            return false;
        }
        let slot = (self.head + (id - self.first_id) as usize) % self.capacity;
        let at = slot * self.frame_len;
        match self.data.get_mut(at..at + self.frame_len) {
            Some(dst) => {
                dst.copy_from_slice(frame);
                true
            }
            None => false,
        }
    }
}

/// Uniform or prioritized ring of [`FrameTransition`]s.
#[derive(Serialize, Deserialize)]
enum Ring {
    Uniform(ReplayBuffer<FrameTransition>),
    Prioritized(PrioritizedReplay<FrameTransition>),
}

/// A sampled minibatch: the transitions, their slots (for PER updates) and IS weights.
pub struct Sampled {
    pub items: Vec<FrameTransition>,
    pub slots: Option<Vec<usize>>,
    pub weights: Vec<f32>,
}

/// Experience replay over stacked observations with each frame stored once. Serialised (for a
/// checkpoint) without the frames themselves: see [`FrameStore`].
#[derive(Serialize, Deserialize)]
#[serde(bound(deserialize = "E: ObsElem"))]
pub struct FrameReplay<E> {
    frames: FrameStore<E>,
    ring: Ring,
    /// Frames per observation.
    stack: usize,
    /// Id of the current episode's first frame, and of the newest frame pushed.
    episode_start: u64,
    newest: Option<u64>,
    /// Steps per stored transition (1: one-step targets) and the discount of their sum.
    n_step: usize,
    gamma: f64,
    /// The current episode's last steps whose n-step return is not known yet.
    window: std::collections::VecDeque<Pending>,
}

impl<E: ObsElem> FrameReplay<E> {
    /// Room for `capacity` transitions of observations made of `stack` frames of `frame_len`
    /// values; `per` selects prioritized replay.
    pub fn new(capacity: usize, frame_len: usize, stack: usize, per: Option<PerConfig>) -> Self {
        let ring = match per {
            Some(cfg) => Ring::Prioritized(PrioritizedReplay::new(capacity, cfg)),
            None => Ring::Uniform(ReplayBuffer::new(capacity)),
        };
        FrameReplay {
            // One frame per transition, plus the frames an episode's first state adds.
            frames: FrameStore::new(frame_len, capacity + stack + 64),
            ring,
            stack: stack.max(1),
            episode_start: 0,
            newest: None,
            n_step: 1,
            gamma: 1.0,
            window: std::collections::VecDeque::new(),
        }
    }

    /// Store n-step transitions (`n ≥ 1`; 1 is the default), their rewards discounted by
    /// `gamma`.
    pub fn with_n_step(mut self, n: usize, gamma: f64) -> Self {
        assert!(
            (1..=u16::MAX as usize).contains(&n),
            "n-step must be 1..=65535"
        );
        self.n_step = n;
        self.gamma = gamma;
        // The window's frames are live too.
        self.frames.capacity += n;
        self
    }

    fn newest_frame<'a>(&self, obs: &'a [E]) -> &'a [E] {
        &obs[obs.len() - self.frames.frame_len..]
    }

    /// Start an episode with its first observation (steps of an episode that ended without
    /// `terminated` or `truncated` are dropped from the window: no window spans two).
    pub fn begin_episode(&mut self, obs: &[E]) {
        self.window.clear();
        let id = self.frames.push(self.newest_frame(obs));
        self.episode_start = id;
        self.newest = Some(id);
    }

    /// Store the transition from the last observation to `next_obs`. With n-step returns the
    /// step waits in the window; what leaves it (the oldest step once `n` are there, every step
    /// at the episode's end) is stored.
    pub fn push(
        &mut self,
        action: usize,
        reward: f32,
        next_obs: &[E],
        terminated: bool,
        truncated: bool,
    ) {
        let frame = self.newest.expect("begin_episode before push");
        let next = self.frames.push(self.newest_frame(next_obs));
        self.newest = Some(next);
        self.window.push_back(Pending {
            frame,
            action: action as u32,
            reward,
        });
        if terminated || truncated {
            while !self.window.is_empty() {
                self.store_oldest(next, terminated, truncated);
            }
        } else if self.window.len() == self.n_step {
            self.store_oldest(next, false, false);
        }
    }

    /// Store the window's oldest step as a transition whose next state ends at frame `next`.
    fn store_oldest(&mut self, next: u64, terminated: bool, truncated: bool) {
        let span = self.window.len();
        let first = self.window[0];
        let reward = if span == 1 {
            first.reward
        } else {
            // Σₖ γᵏ rₜ₊ₖ by Horner's rule in f64, stored as f32.
            let discounted = self
                .window
                .iter()
                .rev()
                .fold(0.0, |acc, p| f64::from(p.reward) + self.gamma * acc);
            discounted as f32
        };
        self.window.pop_front();
        let t = FrameTransition {
            frame: first.frame,
            episode_start: self.episode_start,
            action: first.action,
            reward,
            terminated,
            truncated,
            span: span as u16,
        };
        debug_assert_eq!(first.frame + span as u64, next);
        let oldest = match &mut self.ring {
            Ring::Uniform(b) => {
                b.push(t);
                b.oldest().copied()
            }
            Ring::Prioritized(b) => {
                b.push(t);
                b.oldest().copied()
            }
        };
        if let Some(o) = oldest {
            self.frames.release_before(self.first_frame(&o));
        }
    }

    /// The oldest frame id `t`'s state uses.
    fn first_frame(&self, t: &FrameTransition) -> u64 {
        t.frame
            .saturating_sub(self.stack as u64 - 1)
            .max(t.episode_start)
    }

    /// Write the state (`next = false`) or next state of `t`, oldest frame first.
    pub fn write_observation(&self, t: &FrameTransition, next: bool, out: &mut [E]) {
        let newest = t.frame + if next { u64::from(t.span) } else { 0 };
        let n = self.frames.frame_len;
        for (j, chunk) in out.chunks_exact_mut(n).enumerate() {
            let back = (self.stack - 1 - j) as u64;
            let id = newest.saturating_sub(back).max(t.episode_start);
            chunk.copy_from_slice(self.frames.get(id));
        }
    }

    /// Transitions stored.
    pub fn len(&self) -> usize {
        match &self.ring {
            Ring::Uniform(b) => b.len(),
            Ring::Prioritized(b) => b.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// `batch` transitions: uniformly without replacement (the chapter's `random.sample`), or
    /// proportionally to priority with IS weights at exponent `beta` (PER).
    pub fn sample<R: Rng + ?Sized>(&self, batch: usize, beta: f64, rng: &mut R) -> Sampled {
        match &self.ring {
            Ring::Uniform(b) => Sampled {
                items: b.sample(batch, rng),
                slots: None,
                weights: vec![1.0; batch],
            },
            Ring::Prioritized(b) => {
                let s = b.sample(batch, beta, rng);
                Sampled {
                    items: s.items,
                    slots: Some(s.indices),
                    weights: s.weights.iter().map(|w| *w as f32).collect(),
                }
            }
        }
    }

    /// PER: new priorities from the TD errors of sampled slots (no-op for uniform replay).
    pub fn update_priorities(&mut self, slots: &[usize], td: &[f64]) -> Result<(), PerError> {
        match &mut self.ring {
            Ring::Prioritized(b) => b.update_priorities(slots, td),
            Ring::Uniform(_) => Ok(()),
        }
    }

    /// Bytes per stored transition: the frames in use plus the transition records.
    pub fn bytes_per_transition(&self) -> f64 {
        let ring = self.len() * std::mem::size_of::<FrameTransition>();
        (self.frames.bytes() + ring) as f64 / self.len().max(1) as f64
    }

    /// Frames currently stored (for tests and memory reports).
    pub fn frames_stored(&self) -> usize {
        self.frames.len()
    }

    /// The frames, for checkpoints (written apart from the rest of the replay).
    pub fn frames(&self) -> &FrameStore<E> {
        &self.frames
    }

    pub fn frames_mut(&mut self) -> &mut FrameStore<E> {
        &mut self.frames
    }
}

/// Bytes a full buffer of `capacity` transitions takes when each frame has `frame_len`
/// elements of type `E` and episodes average `mean_episode` steps (each adds one first frame).
pub fn planned_bytes<E>(capacity: usize, frame_len: usize, stack: usize, mean_episode: f64) -> f64 {
    let frames = capacity as f64 * (1.0 + 1.0 / mean_episode.max(1.0)) + stack as f64;
    frames * (frame_len * std::mem::size_of::<E>()) as f64
        + (capacity * std::mem::size_of::<FrameTransition>()) as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    /// The stacked observation at the end of `history` (one-value frames), padded with the
    /// episode's first frame as FrameStack pads.
    fn stacked(history: &[u8], k: usize) -> Vec<u8> {
        (0..k)
            .map(|j| history[history.len().saturating_sub(k - j)])
            .collect()
    }

    #[test]
    fn stacks_are_rebuilt_exactly_across_episode_boundaries_and_wraparound() {
        let k = 3;
        let mut replay = FrameReplay::<u8>::new(5, 1, k, None);
        let mut expected = Vec::new();
        let mut value = 0u8;
        assert!(replay.is_empty());
        for episode_len in [4usize, 1, 6, 2] {
            let mut history = vec![value];
            replay.begin_episode(&stacked(&history, k));
            for step in 0..episode_len {
                value += 1;
                let s = stacked(&history, k);
                history.push(value);
                let s2 = stacked(&history, k);
                replay.push(step, 0.0, &s2, step + 1 == episode_len, false);
                expected.push((s, s2));
            }
            value += 1;
        }
        // The ring keeps the last 5 transitions; each must rebuild its own (s, s').
        assert_eq!((replay.len(), replay.is_empty()), (5, false));
        let live = &expected[expected.len() - 5..];
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
        let batch = replay.sample(5, 0.0, &mut rng);
        let mut seen = Vec::new();
        for t in &batch.items {
            let (mut s, mut s2) = (vec![0u8; k], vec![0u8; k]);
            replay.write_observation(t, false, &mut s);
            replay.write_observation(t, true, &mut s2);
            seen.push((s, s2));
        }
        for pair in live {
            assert!(seen.contains(pair), "{pair:?} not rebuilt; got {seen:?}");
        }
        // Released frames: only what the live transitions need (plus at most the stack).
        assert!(
            replay.frames_stored() <= 5 + 3 + k,
            "{}",
            replay.frames_stored()
        );
    }

    /// What an n-step window should store: `(reward, span, terminated, truncated, s, s')`.
    type Expected = (f32, u16, bool, bool, Vec<u8>, Vec<u8>);

    /// Every stored transition, oldest first, as [`Expected`].
    fn stored(replay: &FrameReplay<u8>, k: usize) -> Vec<Expected> {
        let items: Vec<FrameTransition> = match &replay.ring {
            Ring::Uniform(b) => b.iter_oldest_first().copied().collect(),
            Ring::Prioritized(b) => (0..b.len()).filter_map(|i| b.get(i).copied()).collect(),
        };
        items
            .iter()
            .map(|t| {
                let (mut s, mut s2) = (vec![0u8; k], vec![0u8; k]);
                replay.write_observation(t, false, &mut s);
                replay.write_observation(t, true, &mut s2);
                (t.reward, t.span, t.terminated, t.truncated, s, s2)
            })
            .collect()
    }

    /// An episode's rewards and how it ends: `Some((terminated, truncated))`, or `None`: cut
    /// off, the next `begin_episode` following.
    type Episode<'a> = (&'a [f32], Option<(bool, bool)>);

    /// [`Episode`]s of one-value frames (each frame a new value) pushed into `replay`.
    fn play(replay: &mut FrameReplay<u8>, k: usize, episodes: &[Episode]) {
        let mut value = 0u8;
        for (rewards, end) in episodes {
            let mut history = vec![value];
            replay.begin_episode(&stacked(&history, k));
            for (i, &r) in rewards.iter().enumerate() {
                value += 1;
                history.push(value);
                let (term, trunc) = match end {
                    Some(flags) if i + 1 == rewards.len() => *flags,
                    _ => (false, false),
                };
                replay.push(i, r, &stacked(&history, k), term, trunc);
            }
            value += 1;
        }
    }

    /// n = 3, γ = 0.5, worked by hand: full windows sum three rewards and bootstrap three
    /// steps on; at a terminal or a truncation every window still open is stored with fewer
    /// steps and the end's flag; an episode cut off without either leaves its open windows
    /// unstored; nothing spans two episodes. Uniform and prioritized rings, stacks of 1 and 2
    /// (rebuilt at the window's end), and a ring small enough to wrap.
    #[test]
    fn n_step_windows_worked_by_hand_in_every_replay_kind() {
        let per = PerConfig {
            alpha: 0.6,
            beta_start: 0.4,
            beta_end: 1.0,
            eps: 1e-6,
        };
        let episodes: [Episode; 4] = [
            (&[1.0, 2.0, 4.0, 8.0, 16.0], Some((true, false))),
            (&[1.0, 1.0], Some((false, true))),
            (&[1.0, 1.0, 1.0, 1.0], None),
            (&[5.0], Some((true, false))),
        ];
        // (episode, first step, reward, span, terminated, truncated); frames count up from 0
        // with one extra per episode start, so episode e's step i has state frame base[e] + i.
        let base = [0u8, 6, 9, 14];
        let by_hand: [(usize, u8, f32, u16, bool, bool); 8] = [
            (0, 0, 1.0 + 0.5 * 2.0 + 0.25 * 4.0, 3, false, false),
            (0, 1, 2.0 + 0.5 * 4.0 + 0.25 * 8.0, 3, false, false),
            (0, 2, 4.0 + 0.5 * 8.0 + 0.25 * 16.0, 3, true, false),
            (0, 3, 8.0 + 0.5 * 16.0, 2, true, false),
            (0, 4, 16.0, 1, true, false),
            (1, 0, 1.0 + 0.5, 2, false, true),
            (1, 1, 1.0, 1, false, true),
            // Episode 2 (cut off): its first two windows filled; steps 2 and 3 were dropped.
            (2, 0, 1.0 + 0.5 + 0.25, 3, false, false),
        ];
        for k in [1usize, 2] {
            let frames = |e: usize, i: u8| -> Vec<u8> {
                // The stack ending at episode e's frame i, padded with its first frame.
                (0..k as u8)
                    .map(|j| base[e] + i.saturating_sub(k as u8 - 1 - j))
                    .collect()
            };
            let mut expected: Vec<Expected> = by_hand
                .iter()
                .map(|&(e, i, r, span, term, trunc)| {
                    (
                        r,
                        span,
                        term,
                        trunc,
                        frames(e, i),
                        frames(e, i + span as u8),
                    )
                })
                .collect();
            expected.insert(
                8,
                (
                    1.0 + 0.5 + 0.25,
                    3,
                    false,
                    false,
                    frames(2, 1),
                    frames(2, 4),
                ),
            );
            expected.push((5.0, 1, true, false, frames(3, 0), frames(3, 1)));
            for ring in [None, Some(per)] {
                let mut all = FrameReplay::<u8>::new(100, 1, k, ring).with_n_step(3, 0.5);
                play(&mut all, k, &episodes);
                assert_eq!(
                    stored(&all, k),
                    expected,
                    "k = {k}, per = {}",
                    ring.is_some()
                );
            }
            // A ring of 4 keeps the last 4, each rebuilt from frames still stored.
            let mut small = FrameReplay::<u8>::new(4, 1, k, None).with_n_step(3, 0.5);
            play(&mut small, k, &episodes);
            assert_eq!(stored(&small, k), expected[expected.len() - 4..], "k = {k}");
        }
    }

    /// With n = 1 the window stores each step at once, as without it.
    #[test]
    fn one_step_windows_are_plain_transitions() {
        let episodes: [Episode; 2] = [(&[1.0, 2.0, 3.0], Some((true, false))), (&[4.0, 5.0], None)];
        let mut plain = FrameReplay::<u8>::new(10, 1, 2, None);
        let mut one = FrameReplay::<u8>::new(10, 1, 2, None).with_n_step(1, 0.5);
        play(&mut plain, 2, &episodes);
        play(&mut one, 2, &episodes);
        assert_eq!(stored(&plain, 2), stored(&one, 2));
        assert_eq!(
            stored(&plain, 2).len(),
            5,
            "a cut-off episode keeps its one-step transitions"
        );
    }

    #[test]
    fn the_store_grows_instead_of_overwriting_needed_frames() {
        let mut store = FrameStore::<u8>::new(2, 2);
        let ids: Vec<u64> = (0..5u8).map(|i| store.push(&[i, i])).collect();
        assert_eq!(ids, [0, 1, 2, 3, 4]);
        assert_eq!(store.get(0), [0, 0]);
        store.release_before(3);
        assert_eq!(store.len(), 2);
        store.push(&[5, 5]);
        assert_eq!((store.get(3), store.get(5)), (&[3u8, 3][..], &[5u8, 5][..]));
    }

    /// The plan counts bytes of the element type: CartPole's `f32` frames are 4 bytes a value.
    #[test]
    fn planned_bytes_count_the_element_size() {
        // 1000 transitions, 100-step episodes: 1000·1.01 + 1 frames of 4 f32, plus the ring.
        let expected = 1011.0 * 16.0 + 1000.0 * 32.0;
        assert_eq!(planned_bytes::<f32>(1000, 4, 1, 100.0), expected);
        assert_eq!(
            planned_bytes::<u8>(1000, 4, 1, 100.0),
            1011.0 * 4.0 + 32_000.0
        );
    }

    /// A full store grows by an eighth of its capacity (at least 64 frames), not more: the
    /// memory plan (`planned_bytes`) holds when episodes outlive the estimate.
    #[test]
    fn a_full_store_grows_by_an_eighth() {
        for (capacity, grown) in [(100, 164), (1024, 1152)] {
            let mut store = FrameStore::<u8>::new(1, capacity);
            for i in 0..=capacity {
                store.push(&[i as u8]);
            }
            assert_eq!(store.capacity, grown);
            assert!(store.data.capacity() <= grown, "{}", store.data.capacity());
            assert_eq!(store.get(capacity as u64), [capacity as u8]);
        }
        // Growing a wrapped ring unrolls it: 2-value frames, the oldest at slot 1.
        let mut store = FrameStore::<u8>::new(2, 3);
        for i in 0..3u8 {
            store.push(&[i, i]);
        }
        store.release_before(1);
        store.push(&[3, 3]); // wraps into slot 0
        store.push(&[4, 4]); // full: grows
        let frames: Vec<&[u8]> = (1..5).map(|id| store.get(id)).collect();
        assert_eq!(frames, [[1, 1], [2, 2], [3, 3], [4, 4]]);
    }

    #[test]
    fn planned_bytes_match_a_filled_buffer_of_atari_frames() {
        // 10k transitions of 84×84 frames, stack 4, 800-step episodes, past wrap-around: the
        // measured bytes per transition are what `planned_bytes` says, within 1%.
        let (capacity, frame) = (10_000, 84 * 84);
        let mut replay = FrameReplay::<u8>::new(capacity, frame, 4, None);
        let obs = vec![7u8; frame];
        replay.begin_episode(&obs);
        for t in 1..=13_000 {
            let end = t % 800 == 0;
            replay.push(0, 0.0, &obs, end, false);
            if end {
                replay.begin_episode(&obs);
            }
        }
        let planned = planned_bytes::<u8>(capacity, frame, 4, 800.0) / capacity as f64;
        let measured = replay.bytes_per_transition();
        assert!(
            (measured / planned - 1.0).abs() < 0.01,
            "measured {measured} vs planned {planned} bytes/transition"
        );
    }

    #[test]
    fn an_atari_sized_million_transition_buffer_fits_in_8_gb() {
        // 84×84 u8 frames, stack 4, Pong-length episodes (~800 agent steps).
        let bytes = planned_bytes::<u8>(1_000_000, 84 * 84, 4, 800.0);
        assert!(bytes < 8e9, "{bytes}");
        // A 100k MinAtar buffer (Seaquest: 10 channels of 10×10) is tiny.
        assert!(planned_bytes::<u8>(100_000, 1000, 1, 100.0) < 0.2e9);
    }

    #[test]
    fn replay_rebuilds_the_stacks_the_frame_stack_wrapper_produced() {
        use dqn_envs::wrappers::FrameStack;
        use dqn_envs::{CartPole, CartPoleVersion, Env};
        let k = 4;
        let mut env = FrameStack::new(CartPole::new(CartPoleVersion::V0), k);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        let mut replay = FrameReplay::<f32>::new(300, 4, k, None);
        let mut recorded = Vec::new();
        let (mut obs, mut next) = (vec![0.0f32; 4 * k], vec![0.0f32; 4 * k]);
        // Many short episodes, so the ring wraps across episode boundaries.
        while recorded.len() < 1000 {
            env.reset_into(&mut rng, &mut obs);
            replay.begin_episode(&obs);
            loop {
                let a = rng.gen_range(0..2);
                let step = env.step_into(a, &mut next);
                replay.push(a, 1.0, &next, step.terminated, step.truncated);
                recorded.push((obs.clone(), next.clone(), a));
                std::mem::swap(&mut obs, &mut next);
                if step.done() {
                    break;
                }
            }
        }
        let live = &recorded[recorded.len() - 300..];
        let batch = replay.sample(300, 0.0, &mut rng);
        let (mut s, mut s2) = (vec![0.0f32; 4 * k], vec![0.0f32; 4 * k]);
        for t in &batch.items {
            replay.write_observation(t, false, &mut s);
            replay.write_observation(t, true, &mut s2);
            let hit = live
                .iter()
                .any(|(o, n, a)| *o == s && *n == s2 && *a == t.action as usize);
            assert!(hit, "a sampled transition matches no recorded (s, a, s')");
        }
        // Frames stored once: about one per transition, not 2k.
        assert!(
            replay.frames_stored() < 300 + 300 / 5 + k,
            "{}",
            replay.frames_stored()
        );
    }

    /// One long episode through a full ring: the store keeps exactly the frames the live
    /// transitions' states and next states use — the oldest state's `k` frames through the
    /// newest frame — for uniform and prioritized rings alike.
    #[test]
    fn frames_stored_are_exactly_those_the_live_transitions_use() {
        let (capacity, k) = (5, 3);
        for per in [None, Some(PerConfig::default())] {
            let mut replay = FrameReplay::<u8>::new(capacity, 1, k, per);
            replay.begin_episode(&[0, 0, 0]);
            for t in 1..=20u8 {
                replay.push(0, 0.0, &[t, t, t], false, false);
            }
            // Live: the transitions from frames 15..=19; the oldest state is frames 13..=15.
            assert_eq!(
                replay.frames_stored(),
                capacity + k,
                "per: {}",
                per.is_some()
            );
        }
    }

    /// The store reserves its planned capacity (frames × values) up front and counts the bytes
    /// of the frames it holds in their element type.
    #[test]
    fn a_store_reserves_its_plan_and_counts_its_bytes() {
        let mut store = FrameStore::<f32>::new(4, 100);
        assert!(store.is_empty());
        store.push(&[1.0; 4]);
        assert!(!store.is_empty());
        assert!(store.data.capacity() >= 400, "{}", store.data.capacity());
        for _ in 1..100 {
            store.push(&[2.0; 4]);
        }
        assert_eq!(
            store.data.capacity(),
            400,
            "no reallocation before the plan is full"
        );
        assert_eq!(store.bytes(), 100 * 4 * 4);
    }

    /// Bytes per transition: the frames in use plus one 32-byte ring entry per transition.
    #[test]
    fn bytes_per_transition_count_frames_and_ring_entries() {
        let mut replay = FrameReplay::<f32>::new(10, 4, 1, None);
        replay.begin_episode(&[0.0; 4]);
        for _ in 0..3 {
            replay.push(0, 0.0, &[1.0; 4], false, false);
        }
        // 4 frames of 16 bytes and 3 entries of 32, over 3 transitions.
        assert_eq!(
            replay.bytes_per_transition(),
            (4.0 * 16.0 + 3.0 * 32.0) / 3.0
        );
    }

    /// Prioritized rings take new priorities from TD errors, `(|δ| + ε)^α`; uniform rings
    /// ignore them.
    #[test]
    fn td_errors_reach_the_prioritized_ring() {
        let cfg = PerConfig {
            alpha: 0.5,
            eps: 1.0,
            ..PerConfig::default()
        };
        let mut replay = FrameReplay::<u8>::new(8, 1, 1, Some(cfg));
        replay.begin_episode(&[0]);
        for t in 1..=4u8 {
            replay.push(0, 0.0, &[t], false, false);
        }
        replay.update_priorities(&[2], &[-3.0]).unwrap();
        let Ring::Prioritized(ring) = &replay.ring else {
            unreachable!("a prioritized ring")
        };
        assert_eq!(ring.priority(2), 2.0); // (3 + 1)^0.5
        assert_eq!(ring.priority(1), 1.0); // entered at the initial max priority
        let mut uniform = FrameReplay::<u8>::new(8, 1, 1, None);
        uniform.begin_episode(&[0]);
        uniform.push(0, 0.0, &[1], false, false);
        assert_eq!(uniform.update_priorities(&[0], &[f64::NAN]), Ok(()));
    }
}
