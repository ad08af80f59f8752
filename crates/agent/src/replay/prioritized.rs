//! Prioritized experience replay, proportional variant (Schaul et al. 2015, "Prioritized
//! Experience Replay", Algorithm 1).
//!
//! Transition `i` is replayed with probability `P(i) = p_i^α / Σ_k p_k^α`, where
//! `p_i = |δ_i| + ε` is its last absolute TD error; the bias this introduces is corrected by
//! importance-sampling weights `w_i = (N · P(i))^(−β) / max_j w_j`, with β annealed to 1.
//! A [`SumTree`] over the `p^α` gives O(log N) updates and O(log N) proportional draws.

pub use super::sum_tree::SumTree;
use rand::Rng;

/// Errors from [`PrioritizedReplay::update_priorities`]. On any error nothing is updated.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PerError {
    #[error("{indices} indices but {td_errors} TD errors")]
    LengthMismatch { indices: usize, td_errors: usize },
    #[error("slot {index} is out of range (the buffer holds {len} transitions)")]
    IndexOutOfRange { index: usize, len: usize },
    #[error("non-finite TD error {td_error} for slot {index}")]
    NonFiniteTdError { index: usize, td_error: f64 },
    #[error(
        "priority (|δ| + ε)^α = {priority} for slot {index} (TD error {td_error}) is not finite"
    )]
    NonFinitePriority {
        index: usize,
        td_error: f64,
        priority: f64,
    },
}

/// Hyper-parameters of proportional PER (defaults: the paper's proportional variant,
/// α = 0.6, β₀ = 0.4 → 1).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PerConfig {
    /// Priority exponent α: `P(i) ∝ p_i^α`; α = 0 is uniform replay.
    pub alpha: f64,
    /// Importance-sampling exponent β at the start of training.
    pub beta_start: f64,
    /// β at the end of training (1 fully corrects the sampling bias).
    pub beta_end: f64,
    /// ε in `p_i = |δ_i| + ε`, keeping zero-error transitions sampleable.
    pub eps: f64,
}

impl Default for PerConfig {
    fn default() -> Self {
        PerConfig {
            alpha: 0.6,
            beta_start: 0.4,
            beta_end: 1.0,
            eps: 1e-6,
        }
    }
}

impl PerConfig {
    /// `β(t) = β_start + (β_end − β_start) · clamp(t, 0, 1)`, `t` the fraction of training done
    /// (a NaN `t` counts as 0).
    pub fn beta_at(&self, progress: f64) -> f64 {
        let t = if progress.is_nan() {
            0.0
        } else {
            progress.clamp(0.0, 1.0)
        };
        self.beta_start + (self.beta_end - self.beta_start) * t
    }
}

/// One prioritized minibatch; all vectors have the batch's length.
#[derive(Debug, Clone, PartialEq)]
pub struct PrioritizedBatch<T> {
    /// Buffer slots of the sampled transitions (pass back to
    /// [`PrioritizedReplay::update_priorities`]). A slot may appear more than once.
    pub indices: Vec<usize>,
    /// The sampled transitions (clones).
    pub items: Vec<T>,
    /// Importance-sampling weights, max-normalised over the batch (the largest is 1).
    pub weights: Vec<f64>,
    /// `P(i) = p_i^α / Σ_k p_k^α` of each sampled slot.
    pub probabilities: Vec<f64>,
}

/// A FIFO replay buffer of fixed capacity with proportional prioritized sampling.
///
/// Slot `i` stores a transition and, in a [`SumTree`], its priority `p_i^α` (stored already
/// raised to α). Once full, each push overwrites the oldest slot. Slot indices handed out by
/// [`PrioritizedReplay::sample`] refer to slots, so updating a slot that was overwritten since
/// it was sampled sets the priority of its new occupant (as the reference implementations do).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct PrioritizedReplay<T> {
    items: Vec<T>,
    capacity: usize,
    /// Slot the next push writes (== `items.len()` until the buffer is full).
    next: usize,
    tree: SumTree,
    /// Largest stored priority `p^α` ever assigned; 1 initially.
    max_priority: f64,
    config: PerConfig,
}

impl<T: Clone> PrioritizedReplay<T> {
    /// An empty buffer of `capacity` slots.
    ///
    /// Panics if `capacity == 0`, α is negative or not finite, ε is not positive and finite,
    /// or `beta_start` / `beta_end` is not finite.
    pub fn new(capacity: usize, config: PerConfig) -> Self {
        assert!(capacity > 0, "replay capacity must be at least 1");
        assert!(
            config.alpha.is_finite() && config.alpha >= 0.0,
            "PER alpha must be finite and >= 0, got {}",
            config.alpha
        );
        assert!(
            config.eps.is_finite() && config.eps > 0.0,
            "PER eps must be finite and > 0, got {}",
            config.eps
        );
        assert!(
            config.beta_start.is_finite() && config.beta_end.is_finite(),
            "PER beta_start / beta_end must be finite"
        );
        PrioritizedReplay {
            items: Vec::with_capacity(capacity.min(1 << 20)),
            capacity,
            next: 0,
            tree: SumTree::new(capacity),
            max_priority: 1.0,
            config,
        }
    }

    /// Transitions stored.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    pub fn config(&self) -> &PerConfig {
        &self.config
    }

    /// The priority tree over the slots (stored priorities `p^α`; empty slots are 0).
    pub fn tree(&self) -> &SumTree {
        &self.tree
    }

    /// The transition in slot `index`, if that slot is filled.
    pub fn get(&self, index: usize) -> Option<&T> {
        self.items.get(index)
    }

    /// The oldest stored transition (the next to be overwritten once full).
    pub fn oldest(&self) -> Option<&T> {
        if self.items.len() < self.capacity {
            self.items.first()
        } else {
            self.items.get(self.next)
        }
    }

    /// Stored priority `p^α` of slot `index` (0 for an empty slot). Panics if
    /// `index >= capacity`.
    pub fn priority(&self, index: usize) -> f64 {
        self.tree.get(index)
    }

    /// The priority new transitions enter with: the largest `p^α` ever assigned, initially 1.
    pub fn max_priority(&self) -> f64 {
        self.max_priority
    }

    /// Store `item`, overwriting the oldest transition when full. "New transitions arrive
    /// without a known TD-error, so we put them at maximal priority": its stored priority is
    /// [`PrioritizedReplay::max_priority`].
    pub fn push(&mut self, item: T) {
        let slot = self.next;
        if self.items.len() < self.capacity {
            self.items.push(item);
        } else {
            self.items[slot] = item;
        }
        self.tree.update(slot, self.max_priority);
        self.next = (slot + 1) % self.capacity;
    }

    /// Draw `batch_size` transitions (with replacement) with `P(i) = p_i^α / Σ_k p_k^α`.
    ///
    /// Stratified as in the paper: `[0, Σ p^α)` is split into `batch_size` equal segments, one
    /// mass is drawn uniformly in each (`(j + U[0,1)) · Σ p^α / batch_size` for segment `j`),
    /// and [`SumTree::find_prefix_sum`] maps it to a slot. Each draw's marginal is still `P(i)`.
    ///
    /// Importance-sampling weights, `N` = [`PrioritizedReplay::len`]:
    ///
    /// ```text
    /// w_i = (N · P(i))^(−β) / max_j (N · P(j))^(−β)  =  (min_j P(j) / P(i))^β
    /// ```
    ///
    /// The paper (Algorithm 1, line 10) normalises by `max_i w_i`; here, as in the common
    /// reference implementations, the max is taken over the sampled batch `j`, so the largest
    /// weight in every batch is exactly 1. (Normalising by the max over the whole buffer would
    /// use the smallest stored priority instead of the batch's.) The right-hand form is the same
    /// quantity without forming `(N·P)^(−β)`, which could overflow for tiny `P`.
    ///
    /// Deterministic given the RNG state: one `rng.gen::<f64>()` per sampled transition.
    ///
    /// Panics if the buffer is empty, `batch_size == 0`, or β is negative or not finite.
    pub fn sample<R: Rng + ?Sized>(
        &self,
        batch_size: usize,
        beta: f64,
        rng: &mut R,
    ) -> PrioritizedBatch<T> {
        assert!(
            !self.is_empty(),
            "cannot sample from an empty prioritized replay"
        );
        assert!(
            batch_size > 0,
            "prioritized replay batch_size must be at least 1"
        );
        assert!(
            beta.is_finite() && beta >= 0.0,
            "PER beta must be finite and >= 0, got {beta}"
        );
        let total = self.tree.total();
        assert!(
            total.is_finite() && total > 0.0,
            "prioritized replay: total priority {total} is not positive and finite"
        );
        let segment = total / batch_size as f64;
        let mut indices = Vec::with_capacity(batch_size);
        let mut items = Vec::with_capacity(batch_size);
        let mut probabilities = Vec::with_capacity(batch_size);
        for j in 0..batch_size {
            let mass = (j as f64 + rng.gen::<f64>()) * segment;
            let i = self.tree.find_prefix_sum(mass);
            indices.push(i);
            items.push(self.items[i].clone());
            probabilities.push(self.tree.get(i) / total);
        }
        let p_min = probabilities.iter().copied().fold(f64::INFINITY, f64::min);
        let weights = probabilities
            .iter()
            .map(|&p| (p_min / p).powf(beta))
            .collect();
        PrioritizedBatch {
            indices,
            items,
            weights,
            probabilities,
        }
    }

    /// Set slot `indices[k]`'s stored priority to `(|td_errors[k]| + ε)^α` and raise
    /// [`PrioritizedReplay::max_priority`] if it is exceeded (it never decreases).
    ///
    /// With repeated slots the last one wins.
    ///
    /// # Errors
    ///
    /// All inputs are checked before anything changes, so on error the buffer is as it was:
    /// [`PerError::LengthMismatch`] if the slices differ in length,
    /// [`PerError::IndexOutOfRange`] for a slot not holding a transition,
    /// [`PerError::NonFiniteTdError`] for a NaN or infinite TD error (a diverged run), and
    /// [`PerError::NonFinitePriority`] if `(|δ| + ε)^α` overflows.
    pub fn update_priorities(
        &mut self,
        indices: &[usize],
        td_errors: &[f64],
    ) -> Result<(), PerError> {
        if indices.len() != td_errors.len() {
            return Err(PerError::LengthMismatch {
                indices: indices.len(),
                td_errors: td_errors.len(),
            });
        }
        let mut updates = Vec::with_capacity(indices.len());
        for (&index, &td_error) in indices.iter().zip(td_errors) {
            if index >= self.len() {
                return Err(PerError::IndexOutOfRange {
                    index,
                    len: self.len(),
                });
            }
            if !td_error.is_finite() {
                return Err(PerError::NonFiniteTdError { index, td_error });
            }
            let priority = (td_error.abs() + self.config.eps).powf(self.config.alpha);
            if !priority.is_finite() {
                return Err(PerError::NonFinitePriority {
                    index,
                    td_error,
                    priority,
                });
            }
            updates.push((index, priority));
        }
        for (index, priority) in updates {
            self.tree.update(index, priority);
            self.max_priority = self.max_priority.max(priority);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;
    use std::collections::BTreeSet;
    use std::f64::consts::FRAC_1_SQRT_2;

    /// 99.9% quantile of χ² with 7 degrees of freedom.
    const CHI2_7_999: f64 = 24.32;

    fn chi_square(counts: &[u64], probs: &[f64]) -> f64 {
        let n: u64 = counts.iter().sum();
        counts
            .iter()
            .zip(probs)
            .map(|(&o, &p)| {
                let e = n as f64 * p;
                (o as f64 - e).powi(2) / e
            })
            .sum()
    }

    /// The 4-slot buffer of the hand-computed IS-weight cases: α = 0.5, ε = 0.5 and
    /// δ = [0.5, −3.5, 8.5, −15.5] give |δ| + ε = [1, 4, 9, 16], stored p^α = [1, 2, 3, 4].
    fn hand_buffer() -> PrioritizedReplay<u32> {
        let cfg = PerConfig {
            alpha: 0.5,
            eps: 0.5,
            ..PerConfig::default()
        };
        let mut buf = PrioritizedReplay::new(4, cfg);
        for x in 0..4 {
            buf.push(x);
        }
        buf.update_priorities(&[0, 1, 2, 3], &[0.5, -3.5, 8.5, -15.5])
            .unwrap();
        buf
    }

    /// Capacity 8, α = 0.6, distinct TD errors; returns the buffer and the exact P(i).
    fn eight_slot_buffer() -> (PrioritizedReplay<usize>, Vec<f64>) {
        let cfg = PerConfig::default();
        let mut buf = PrioritizedReplay::new(8, cfg);
        for x in 0..8 {
            buf.push(x);
        }
        let td = [0.1, -0.5, 1.0, 2.0, -3.0, 5.0, 8.0, -13.0];
        buf.update_priorities(&[0, 1, 2, 3, 4, 5, 6, 7], &td)
            .unwrap();
        let p: Vec<f64> = td
            .iter()
            .map(|d: &f64| (d.abs() + cfg.eps).powf(cfg.alpha))
            .collect();
        let total: f64 = p.iter().sum();
        (buf, p.iter().map(|x| x / total).collect())
    }

    #[test]
    fn sampling_frequencies_match_priorities_chi_square() {
        // Batch size 1: every draw is an independent draw from P, so the χ² test is exact.
        let (buf, probs) = eight_slot_buffer();
        let mut rng = ChaCha8Rng::seed_from_u64(2015);
        let mut counts = [0u64; 8];
        for _ in 0..200_000 {
            let b = buf.sample(1, 0.4, &mut rng);
            assert_eq!(b.items[0], b.indices[0]);
            assert!((b.probabilities[0] - probs[b.indices[0]]).abs() < 1e-12);
            assert_eq!(b.weights, vec![1.0]);
            counts[b.indices[0]] += 1;
        }
        let stat = chi_square(&counts, &probs);
        assert!(stat < CHI2_7_999, "χ² = {stat}, counts {counts:?}");
    }

    #[test]
    fn stratified_batches_match_priorities_chi_square() {
        // Batches of 32: stratification leaves each draw's marginal at P(i) (and only lowers
        // the variance), so the χ² bound still holds.
        let (buf, probs) = eight_slot_buffer();
        let mut rng = ChaCha8Rng::seed_from_u64(42);
        let mut counts = [0u64; 8];
        for _ in 0..200_000 / 32 {
            for i in buf.sample(32, 0.4, &mut rng).indices {
                counts[i] += 1;
            }
        }
        let stat = chi_square(&counts, &probs);
        assert!(stat < CHI2_7_999, "χ² = {stat}, counts {counts:?}");
    }

    #[test]
    fn stratified_sampling_draws_one_per_segment() {
        // 16 equal priorities and a batch of 16: segment j is exactly leaf j's interval.
        let mut buf = PrioritizedReplay::new(16, PerConfig::default());
        for x in 0..16u32 {
            buf.push(x);
        }
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        for _ in 0..50 {
            let b = buf.sample(16, 0.7, &mut rng);
            assert_eq!(b.indices, (0..16).collect::<Vec<_>>());
            assert_eq!(b.items, (0..16).collect::<Vec<u32>>());
            assert!(b.weights.iter().all(|&w| w == 1.0));
            assert!(b.probabilities.iter().all(|&p| p == 1.0 / 16.0));
        }
    }

    #[test]
    fn importance_weights_match_hand_computed_case() {
        // Stored p^α = [1, 2, 3, 4], total 10, P = [0.1, 0.2, 0.3, 0.4], N = 4, β = 0.5:
        // (N·P)^(−β) = [0.4^−½, 0.8^−½, 1.2^−½, 1.6^−½]
        //            = [1.5811388300841895, 1.118033988749895, 0.9128709291752769, 0.7905694150420948].
        // With 10 segments of width 1 the draws are fixed: [0,1,1,2,2,2,3,3,3,3]; slot 0 is in
        // the batch, so the max weight is 0.4^−½ and the normalised weights are
        // [1, √½, √⅓, ½] = [1, 0.7071067811865476 (FRAC_1_SQRT_2), 0.5773502691896257, 0.5].
        let buf = hand_buffer();
        for (i, p) in [1.0, 2.0, 3.0, 4.0].into_iter().enumerate() {
            assert!((buf.priority(i) - p).abs() < 1e-12);
        }
        assert!((buf.max_priority() - 4.0).abs() < 1e-12);
        let b = buf.sample(10, 0.5, &mut ChaCha8Rng::seed_from_u64(11));
        assert_eq!(b.indices, vec![0, 1, 1, 2, 2, 2, 3, 3, 3, 3]);
        let probs = [0.1, 0.2, 0.3, 0.4];
        let normalised = [1.0, FRAC_1_SQRT_2, 0.5773502691896257, 0.5];
        for (k, &i) in b.indices.iter().enumerate() {
            assert!((b.probabilities[k] - probs[i]).abs() < 1e-12);
            assert!((b.weights[k] - normalised[i]).abs() < 1e-12, "slot {i}");
        }
        // β = 1 (full correction): w ∝ 1/P, normalised [1, ½, ⅓, ¼].
        let b = buf.sample(10, 1.0, &mut ChaCha8Rng::seed_from_u64(11));
        let full = [1.0, 0.5, 1.0 / 3.0, 0.25];
        for (k, &i) in b.indices.iter().enumerate() {
            assert!((b.weights[k] - full[i]).abs() < 1e-12);
        }
        // β = 0: no correction.
        let b = buf.sample(10, 0.0, &mut ChaCha8Rng::seed_from_u64(11));
        assert!(b.weights.iter().all(|&w| w == 1.0));
    }

    #[test]
    fn importance_weights_are_normalised_by_the_batch_max() {
        // Same buffer, random batches of 2: the max is over the batch's own (N·P)^(−β).
        let buf = hand_buffer();
        let raw = [
            1.5811388300841895,
            1.118033988749895,
            0.9128709291752769,
            0.7905694150420948,
        ];
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let mut seen_without_slot_0 = false;
        for _ in 0..200 {
            let b = buf.sample(2, 0.5, &mut rng);
            let max = b.indices.iter().map(|&i| raw[i]).fold(0.0, f64::max);
            seen_without_slot_0 |= !b.indices.contains(&0);
            for (k, &i) in b.indices.iter().enumerate() {
                assert!((b.weights[k] - raw[i] / max).abs() < 1e-12);
            }
            assert!(b.weights.contains(&1.0));
        }
        assert!(seen_without_slot_0);
    }

    #[test]
    fn new_transitions_enter_at_max_priority() {
        let cfg = PerConfig {
            alpha: 0.5,
            eps: 0.5,
            ..PerConfig::default()
        };
        let mut buf = PrioritizedReplay::new(8, cfg);
        assert_eq!(buf.max_priority(), 1.0);
        for x in 0..3 {
            buf.push(x);
        }
        assert!((0..3).all(|i| buf.priority(i) == 1.0));
        // (8.5 + 0.5)^0.5 = 3 raises the max above the initial 1.
        buf.update_priorities(&[1], &[8.5]).unwrap();
        assert!((buf.max_priority() - 3.0).abs() < 1e-12);
        buf.push(3);
        assert_eq!(buf.priority(3), buf.max_priority());
        assert_eq!(buf.tree().max(), buf.max_priority());
        // Lowering that slot again does not lower the running max.
        buf.update_priorities(&[1, 3], &[0.5, 0.5]).unwrap();
        assert_eq!(buf.priority(1), 1.0);
        assert!((buf.max_priority() - 3.0).abs() < 1e-12);
        buf.push(4);
        assert!((buf.priority(4) - 3.0).abs() < 1e-12);
        // Smaller errors leave the max alone: (0 + 0.5)^0.5 < 1 < 3.
        buf.update_priorities(&[0], &[0.0]).unwrap();
        assert!((buf.priority(0) - 0.5f64.sqrt()).abs() < 1e-12);
        assert!((buf.max_priority() - 3.0).abs() < 1e-12);
    }

    #[test]
    fn fifo_overwrite_drops_the_oldest() {
        let (capacity, k) = (5, 3);
        let mut buf = PrioritizedReplay::new(capacity, PerConfig::default());
        for x in 0..(capacity + k) as u32 {
            buf.push(x);
            assert_eq!(buf.len(), (x as usize + 1).min(capacity));
        }
        assert_eq!(buf.capacity(), capacity);
        // Slots 0..k were overwritten by the newest items, in order.
        let slots: Vec<u32> = (0..capacity).map(|i| *buf.get(i).unwrap()).collect();
        assert_eq!(slots, vec![5, 6, 7, 3, 4]);
        assert!(buf.get(capacity).is_none());
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        let mut seen = BTreeSet::new();
        for _ in 0..200 {
            seen.extend(buf.sample(4, 0.4, &mut rng).items);
        }
        assert_eq!(seen, (k as u32..(capacity + k) as u32).collect());
        // An overwritten slot takes the current max priority, whatever the old one had.
        buf.update_priorities(&[0], &[100.0]).unwrap();
        let max = buf.max_priority();
        for x in 8..8 + capacity as u32 {
            buf.push(x);
        }
        assert!((0..capacity).all(|i| buf.priority(i) == max));
    }

    #[test]
    fn sample_only_returns_filled_slots() {
        let mut buf = PrioritizedReplay::new(100, PerConfig::default());
        for x in 0..3u8 {
            buf.push(x);
        }
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        for _ in 0..500 {
            let b = buf.sample(7, 1.0, &mut rng);
            assert!(b.indices.iter().all(|&i| i < 3));
            assert!(b
                .probabilities
                .iter()
                .all(|&p| (p - 1.0 / 3.0).abs() < 1e-15));
        }
    }

    #[test]
    fn beta_at_anneals_linearly_and_clamps() {
        let cfg = PerConfig::default();
        assert_eq!(cfg.beta_at(0.0), 0.4);
        assert_eq!(cfg.beta_at(1.0), 1.0);
        assert!((cfg.beta_at(0.5) - 0.7).abs() < 1e-12);
        assert!((cfg.beta_at(0.25) - 0.55).abs() < 1e-12);
        assert_eq!(cfg.beta_at(-3.0), 0.4);
        assert_eq!(cfg.beta_at(7.0), 1.0);
        assert_eq!(cfg.beta_at(f64::INFINITY), 1.0);
        assert_eq!(cfg.beta_at(f64::NAN), 0.4);
        // Linear: equal steps in progress give equal steps in β.
        let steps: Vec<f64> = (0..=10).map(|k| cfg.beta_at(k as f64 / 10.0)).collect();
        for w in steps.windows(2) {
            assert!((w[1] - w[0] - 0.06).abs() < 1e-12);
        }
    }

    /// The oldest transition is the first before the ring is full, then the one the next push
    /// overwrites.
    #[test]
    fn oldest_is_the_next_to_be_overwritten() {
        let cfg = PerConfig {
            alpha: 0.7,
            ..PerConfig::default()
        };
        let mut buf = PrioritizedReplay::new(3, cfg);
        assert_eq!(buf.config(), &cfg);
        assert_eq!(buf.oldest(), None);
        buf.push(1u32);
        buf.push(2);
        assert_eq!(buf.oldest(), Some(&1));
        buf.push(3);
        assert_eq!(buf.oldest(), Some(&1));
        buf.push(4); // overwrites 1
        assert_eq!(buf.oldest(), Some(&2));
    }

    #[test]
    fn per_config_default_is_the_papers() {
        assert_eq!(
            PerConfig::default(),
            PerConfig {
                alpha: 0.6,
                beta_start: 0.4,
                beta_end: 1.0,
                eps: 1e-6
            }
        );
    }

    #[test]
    fn alpha_zero_is_uniform() {
        let cfg = PerConfig {
            alpha: 0.0,
            ..PerConfig::default()
        };
        let mut buf = PrioritizedReplay::new(4, cfg);
        for x in 0..4 {
            buf.push(x);
        }
        buf.update_priorities(&[0, 1, 2, 3], &[0.0, 1.0, 10.0, 1e6])
            .unwrap();
        assert!((0..4).all(|i| buf.priority(i) == 1.0));
        let b = buf.sample(8, 1.0, &mut ChaCha8Rng::seed_from_u64(0));
        assert!(b.weights.iter().all(|&w| w == 1.0));
    }

    #[test]
    fn update_priorities_rejects_bad_input_and_changes_nothing() {
        let mut buf = hand_buffer();
        let before: Vec<f64> = (0..4).map(|i| buf.priority(i)).collect();
        let max_before = buf.max_priority();
        assert_eq!(
            buf.update_priorities(&[0, 1], &[1.0]),
            Err(PerError::LengthMismatch {
                indices: 2,
                td_errors: 1
            })
        );
        assert_eq!(
            buf.update_priorities(&[0, 4], &[100.0, 1.0]),
            Err(PerError::IndexOutOfRange { index: 4, len: 4 })
        );
        let err = buf
            .update_priorities(&[2, 1], &[100.0, f64::NAN])
            .unwrap_err();
        assert!(
            matches!(err, PerError::NonFiniteTdError { index: 1, td_error } if td_error.is_nan())
        );
        assert!(err.to_string().contains("non-finite TD error NaN"));
        assert!(matches!(
            buf.update_priorities(&[3], &[f64::NEG_INFINITY]),
            Err(PerError::NonFiniteTdError { index: 3, .. })
        ));
        let big = PerConfig {
            alpha: 2.0,
            ..PerConfig::default()
        };
        let mut overflow = PrioritizedReplay::new(2, big);
        overflow.push(0u8);
        assert!(matches!(
            overflow.update_priorities(&[0], &[1e200]),
            Err(PerError::NonFinitePriority { index: 0, .. })
        ));
        // Only filled slots can be updated.
        let mut partial = PrioritizedReplay::new(10, PerConfig::default());
        partial.push(1u8);
        assert_eq!(
            partial.update_priorities(&[1], &[0.0]),
            Err(PerError::IndexOutOfRange { index: 1, len: 1 })
        );
        let after: Vec<f64> = (0..4).map(|i| buf.priority(i)).collect();
        assert_eq!(before, after);
        assert_eq!(buf.max_priority(), max_before);
    }

    #[test]
    fn sampling_is_deterministic_given_the_rng_state() {
        let (buf, _) = eight_slot_buffer();
        let mut a = ChaCha8Rng::seed_from_u64(123);
        let mut b = ChaCha8Rng::seed_from_u64(123);
        for _ in 0..20 {
            assert_eq!(buf.sample(5, 0.6, &mut a), buf.sample(5, 0.6, &mut b));
        }
        let mut c = ChaCha8Rng::seed_from_u64(124);
        let draws_a: Vec<_> = (0..20)
            .map(|_| buf.sample(5, 0.6, &mut a).indices)
            .collect();
        let draws_c: Vec<_> = (0..20)
            .map(|_| buf.sample(5, 0.6, &mut c).indices)
            .collect();
        assert_ne!(draws_a, draws_c);
    }

    #[test]
    #[should_panic(expected = "empty prioritized replay")]
    fn sampling_an_empty_buffer_panics() {
        let buf: PrioritizedReplay<u8> = PrioritizedReplay::new(4, PerConfig::default());
        buf.sample(1, 0.4, &mut ChaCha8Rng::seed_from_u64(0));
    }

    #[test]
    #[should_panic(expected = "batch_size must be at least 1")]
    fn sampling_a_zero_batch_panics() {
        let mut buf = PrioritizedReplay::new(4, PerConfig::default());
        buf.push(0u8);
        buf.sample(0, 0.4, &mut ChaCha8Rng::seed_from_u64(0));
    }

    #[test]
    fn per_error_is_a_std_error() {
        fn takes(_: &dyn std::error::Error) {}
        takes(&PerError::IndexOutOfRange { index: 1, len: 0 });
    }
}
