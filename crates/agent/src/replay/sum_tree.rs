//! The sum tree under prioritized replay: O(log N) priority updates and O(log N) draws of a
//! leaf with probability proportional to its priority.

/// A binary sum tree over `capacity` non-negative leaf priorities.
///
/// Array layout, 1-based heap: node `k` has children `2k` and `2k + 1`, the root is node 1, and
/// leaf `i` is node `base + i` where `base = capacity.next_power_of_two()` (the padding leaves
/// stay at 0). Every internal node holds `sum(children)`, recomputed from the children on each
/// update (never by adding deltas), so [`SumTree::total`] equals `Σ_i p_i` up to the rounding of
/// one balanced summation, however many updates came before. A parallel max tree gives
/// [`SumTree::max`].
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SumTree {
    capacity: usize,
    base: usize,
    sums: Vec<f64>,
    maxes: Vec<f64>,
}

impl SumTree {
    /// A tree of `capacity` leaves, all at priority 0. Panics if `capacity == 0`.
    pub fn new(capacity: usize) -> Self {
        assert!(capacity >= 1, "SumTree capacity must be at least 1");
        let base = capacity.next_power_of_two();
        SumTree {
            capacity,
            base,
            sums: vec![0.0; 2 * base],
            maxes: vec![0.0; 2 * base],
        }
    }

    /// Number of leaves.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Set leaf `leaf` to `priority` and recompute its ancestors, O(log n).
    ///
    /// Panics if `leaf >= capacity` or `priority` is negative or not finite.
    pub fn update(&mut self, leaf: usize, priority: f64) {
        assert!(
            leaf < self.capacity,
            "SumTree leaf {leaf} out of range (capacity {})",
            self.capacity
        );
        assert!(
            priority.is_finite() && priority >= 0.0,
            "SumTree priority must be finite and >= 0, got {priority}"
        );
        // `+ 0.0` turns a -0.0 into +0.0.
        let priority = priority + 0.0;
        let mut node = self.base + leaf;
        self.sums[node] = priority;
        self.maxes[node] = priority;
        while node > 1 {
            node /= 2;
            let (l, r) = (2 * node, 2 * node + 1);
            self.sums[node] = self.sums[l] + self.sums[r];
            self.maxes[node] = self.maxes[l].max(self.maxes[r]);
        }
    }

    /// The priority of leaf `leaf`. Panics if `leaf >= capacity`.
    pub fn get(&self, leaf: usize) -> f64 {
        assert!(
            leaf < self.capacity,
            "SumTree leaf {leaf} out of range (capacity {})",
            self.capacity
        );
        self.sums[self.base + leaf]
    }

    /// `Σ_i p_i`, the root.
    pub fn total(&self) -> f64 {
        self.sums[1]
    }

    /// `max_i p_i` over the current leaves (0 for an all-zero tree).
    pub fn max(&self) -> f64 {
        self.maxes[1]
    }

    /// The leaf `i` with `Σ_{k<i} p_k ≤ mass < Σ_{k≤i} p_k`, O(log n).
    ///
    /// Descends from the root: go left if `mass < sum(left)`, else subtract `sum(left)` and go
    /// right. A zero-priority leaf is never returned while `total() > 0`: a subtree with sum 0
    /// is never entered, so when `mass ≥ total()` (a caller drawing up to the total, or rounding
    /// in the subtractions) the result is clamped to the last leaf with non-zero priority, and a
    /// negative `mass` is treated as 0 (the first non-zero leaf). Returns 0 when `total() == 0`.
    /// Panics if `mass` is NaN.
    pub fn find_prefix_sum(&self, mass: f64) -> usize {
        assert!(!mass.is_nan(), "SumTree::find_prefix_sum: mass is NaN");
        if self.total() <= 0.0 {
            return 0;
        }
        let mut mass = mass.max(0.0);
        let mut node = 1;
        // Invariant: sums[node] > 0 (true at the root; each branch below keeps it).
        while node < self.base {
            let (l, r) = (2 * node, 2 * node + 1);
            if mass < self.sums[l] {
                node = l;
            } else if self.sums[r] > 0.0 {
                mass -= self.sums[l];
                node = r;
            } else {
                // The right subtree is empty, so sums[node] == sums[l] > 0: clamp to the left.
                node = l;
            }
        }
        node - self.base
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn tree_from(priorities: &[f64]) -> SumTree {
        let mut t = SumTree::new(priorities.len());
        for (i, &p) in priorities.iter().enumerate() {
            t.update(i, p);
        }
        t
    }

    #[test]
    fn sum_tree_total_matches_leaf_sum_after_random_updates() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        for capacity in [1usize, 3, 7, 1000] {
            let mut tree = SumTree::new(capacity);
            let mut leaves = vec![0.0f64; capacity];
            for step in 0..20_000 {
                let leaf = rng.gen_range(0..capacity);
                // Zeros, tiny and large priorities, repeated overwrites of the same leaves.
                let p = match rng.gen_range(0..4) {
                    0 => 0.0,
                    1 => rng.gen::<f64>(),
                    _ => rng.gen_range(-12.0f64..12.0).exp(),
                };
                tree.update(leaf, p);
                leaves[leaf] = p;
                if step % 997 == 0 || step == 19_999 {
                    let sum: f64 = leaves.iter().sum();
                    let max = leaves.iter().copied().fold(0.0, f64::max);
                    assert!(
                        (tree.total() - sum).abs() <= 1e-9 * sum.max(f64::MIN_POSITIVE),
                        "capacity {capacity}: total {} vs leaf sum {sum}",
                        tree.total()
                    );
                    assert_eq!(tree.max(), max, "capacity {capacity}");
                    for (i, &p) in leaves.iter().enumerate() {
                        assert_eq!(tree.get(i), p);
                    }
                }
            }
            // Every internal node is exactly the sum of its children (no accumulated deltas).
            for node in 1..tree.base {
                assert_eq!(
                    tree.sums[node],
                    tree.sums[2 * node] + tree.sums[2 * node + 1]
                );
            }
            // Random masses land on non-zero leaves whose prefix interval contains them.
            if tree.total() > 0.0 {
                for _ in 0..2_000 {
                    let mass = rng.gen::<f64>() * tree.total();
                    let i = tree.find_prefix_sum(mass);
                    assert!(i < capacity && leaves[i] > 0.0);
                    let before: f64 = leaves[..i].iter().sum();
                    let tol = 1e-9 * tree.total();
                    assert!(before <= mass + tol && mass < before + leaves[i] + tol);
                }
            }
        }
    }

    #[test]
    fn find_prefix_sum_boundaries_on_hand_built_tree() {
        // Cumulative sums: [0, 1) → 0, [1, 3) → 1, [3, 6) → 2, [6, 10) → 3.
        let tree = tree_from(&[1.0, 2.0, 3.0, 4.0]);
        assert_eq!(tree.total(), 10.0);
        assert_eq!(tree.max(), 4.0);
        for (mass, leaf) in [
            (0.0, 0),
            (0.999, 0),
            (1.0, 1),
            (2.999, 1),
            (3.0, 2),
            (5.9, 2),
            (6.0, 3),
            (9.99, 3),
            // At or beyond the total (drift): clamped to the last leaf; negative → first.
            (10.0, 3),
            (1e9, 3),
            (-1.0, 0),
        ] {
            assert_eq!(tree.find_prefix_sum(mass), leaf, "mass {mass}");
        }
    }

    #[test]
    fn find_prefix_sum_never_returns_a_zero_priority_leaf() {
        // Zeros in the middle, at both ends, and padding (capacity 7 → 8 leaves).
        let p = [0.0, 1.0, 0.0, 3.0, 0.0, 2.0, 0.0];
        let tree = tree_from(&p);
        for (mass, leaf) in [
            (0.0, 1),
            (-5.0, 1),
            (0.999, 1),
            (1.0, 3),
            (3.999, 3),
            (4.0, 5),
            (5.999, 5),
            (6.0, 5),
            (6.0 + 1e-12, 5),
            (f64::INFINITY, 5),
        ] {
            assert_eq!(tree.find_prefix_sum(mass), leaf, "mass {mass}");
        }
        // Sweep the whole range, including just past the total.
        let mut mass = 0.0;
        while mass <= 6.5 {
            assert!(p[tree.find_prefix_sum(mass)] > 0.0, "mass {mass}");
            mass += 0.001;
        }
        // A single non-zero leaf takes every mass.
        let tree = tree_from(&[0.0, 0.0, 0.5, 0.0, 0.0]);
        for mass in [0.0, 0.25, 0.5, 3.0] {
            assert_eq!(tree.find_prefix_sum(mass), 2);
        }
        // Total drifted below a caller's mass: three leaves 0.1 sum to 0.30000000000000004.
        let tree = tree_from(&[0.1, 0.1, 0.1]);
        assert_eq!(tree.find_prefix_sum(0.3 + 1e-15), 2);
    }

    /// A `-0.0` priority is stored as `+0.0` (so sums and maxima never carry a negative zero).
    #[test]
    fn capacity_and_signed_zero() {
        let mut tree = tree_from(&[1.0, 2.0, 3.0, 4.0, 5.0]);
        assert_eq!(tree.capacity(), 5);
        tree.update(4, -0.0);
        assert!(tree.get(4).is_sign_positive());
        assert_eq!(tree.total(), 10.0);
    }

    #[test]
    fn sum_tree_of_capacity_one() {
        let mut tree = SumTree::new(1);
        assert_eq!(tree.capacity(), 1);
        assert_eq!(tree.total(), 0.0);
        tree.update(0, 2.5);
        assert_eq!((tree.total(), tree.max(), tree.get(0)), (2.5, 2.5, 2.5));
        assert_eq!(tree.find_prefix_sum(0.0), 0);
        assert_eq!(tree.find_prefix_sum(100.0), 0);
    }

    #[test]
    #[should_panic(expected = "finite and >= 0")]
    fn sum_tree_rejects_negative_priority() {
        SumTree::new(3).update(1, -1.0);
    }

    #[test]
    #[should_panic(expected = "finite and >= 0")]
    fn sum_tree_rejects_nan_priority() {
        SumTree::new(3).update(1, f64::NAN);
    }
}
