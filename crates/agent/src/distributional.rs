//! C51's host-side arithmetic (Bellemare et al. 2017): the support, softmax over atoms, the
//! mean Q-values, and the projection of the Bellman-updated distribution back onto the support.
//!
//! The projection is the clipped form Dopamine uses (`project_distribution` in its
//! `rainbow_agent.py`):
//!
//! ```text
//! T̂zⱼ = clip(r + γᵐ (1 − cut) zⱼ, v_min, v_max)
//! mᵢ  = Σⱼ clip(1 − |T̂zⱼ − zᵢ| / Δz, 0, 1) · pⱼ
//! ```
//!
//! It equals Algorithm 1 of the paper wherever that is well defined; Algorithm 1 as printed
//! loses the mass of an atom landing exactly on a support point (`b = l = u`), which happens
//! often (with v_max = 100 and 51 atoms, Δz = 4 and a zero return lands on an atom).

/// The fixed support `zᵢ = v_min + i·Δz`, `i = 0 … atoms − 1`.
#[derive(Debug, Clone, PartialEq)]
pub struct Support {
    pub v_min: f32,
    pub v_max: f32,
    pub atoms: Vec<f32>,
}

impl Support {
    /// `n` evenly spaced atoms from `v_min` to `v_max` (both included), as `linspace`.
    pub fn new(v_min: f64, v_max: f64, n: usize) -> Support {
        let dz = (v_max - v_min) / (n - 1) as f64;
        Support {
            v_min: v_min as f32,
            v_max: v_max as f32,
            atoms: (0..n).map(|i| (v_min + i as f64 * dz) as f32).collect(),
        }
    }

    /// The gap between neighbouring atoms.
    pub fn delta(&self) -> f32 {
        (self.v_max - self.v_min) / (self.atoms.len() - 1) as f32
    }

    /// The projection of `r + discount·z` under `probs` onto this support (see the module
    /// docs); `discount` is `γᵐ`, or 0 where bootstrapping is cut.
    pub fn project(&self, reward: f32, discount: f32, probs: &[f32]) -> Vec<f32> {
        let dz = self.delta();
        let mut m = vec![0.0f32; self.atoms.len()];
        for (&z, &p) in self.atoms.iter().zip(probs) {
            let tz = (reward + discount * z).clamp(self.v_min, self.v_max);
            for (mi, &zi) in m.iter_mut().zip(&self.atoms) {
                *mi += (1.0 - (tz - zi).abs() / dz).clamp(0.0, 1.0) * p;
            }
        }
        m
    }

    /// `Σᵢ pᵢ zᵢ` of each distribution in `probs` (rows of `atoms` probabilities).
    pub fn means(&self, probs: &[f32]) -> Vec<f32> {
        probs
            .chunks_exact(self.atoms.len())
            .map(|p| p.iter().zip(&self.atoms).map(|(p, z)| p * z).sum())
            .collect()
    }
}

/// Softmax of each row of `width` logits, in place (max-shifted, as `jax.nn.softmax`).
pub fn softmax_rows(logits: &mut [f32], width: usize) {
    for row in logits.chunks_exact_mut(width) {
        let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let mut sum = 0.0;
        for x in row.iter_mut() {
            *x = (*x - max).exp();
            sum += *x;
        }
        for x in row.iter_mut() {
            *x /= sum;
        }
    }
}

/// `−Σ mᵢ ln mᵢ` (0 ln 0 = 0): the target's entropy, which the cross-entropy loss exceeds the
/// KL divergence by.
pub fn entropy(m: &[f32]) -> f32 {
    -m.iter()
        .filter(|&&p| p > 0.0)
        .map(|&p| p * p.ln())
        .sum::<f32>()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: &[f32], b: &[f32]) {
        assert_eq!(a.len(), b.len());
        for (x, y) in a.iter().zip(b) {
            assert!((x - y).abs() < 1e-6, "{a:?} vs {b:?}");
        }
    }

    /// Five atoms on [−2, 2] (Δz = 1).
    fn five() -> Support {
        Support::new(-2.0, 2.0, 5)
    }

    #[test]
    fn the_support_is_a_linspace() {
        let s = Support::new(-10.0, 10.0, 51);
        assert_eq!(s.atoms.len(), 51);
        assert_eq!((s.atoms[0], s.atoms[25], s.atoms[50]), (-10.0, 0.0, 10.0));
        assert!((s.delta() - 0.4).abs() < 1e-7);
    }

    #[test]
    fn a_shift_between_two_atoms_splits_the_mass_by_distance() {
        // All mass on z = 0; r = 0.25, γ = 1: T̂z = 0.25 → 0.75 to atom 0, 0.25 to atom 1.
        let m = five().project(0.25, 1.0, &[0.0, 0.0, 1.0, 0.0, 0.0]);
        close(&m, &[0.0, 0.0, 0.75, 0.25, 0.0]);
        // Two atoms, each split: p(−1) = 0.5 → −0.5 (half to −1, half to 0), p(1) = 0.5 →
        // 0.5 with γ = 0.5 and r = 0 → half to 0, half to 1.
        let m = five().project(0.0, 0.5, &[0.0, 0.5, 0.0, 0.5, 0.0]);
        close(&m, &[0.0, 0.25, 0.5, 0.25, 0.0]);
    }

    #[test]
    fn a_shift_landing_on_an_atom_keeps_all_its_mass() {
        // r = 1, γ = 1: every atom moves one place up; the top one is clipped onto v_max.
        // (Algorithm 1 as printed, with l = u = b, would drop these masses.)
        let m = five().project(1.0, 1.0, &[0.1, 0.2, 0.3, 0.2, 0.2]);
        close(&m, &[0.0, 0.1, 0.2, 0.3, 0.4]);
    }

    #[test]
    fn targets_outside_the_support_are_clipped_to_its_ends() {
        let m = five().project(-7.0, 0.9, &[0.2, 0.2, 0.2, 0.2, 0.2]);
        close(&m, &[1.0, 0.0, 0.0, 0.0, 0.0]);
        let m = five().project(3.5, 1.0, &[0.5, 0.0, 0.0, 0.0, 0.5]);
        // z = −2 → 1.5 (half to 1, half to 2); z = 2 → 5.5 → clipped to 2.
        close(&m, &[0.0, 0.0, 0.0, 0.25, 0.75]);
    }

    #[test]
    fn a_terminal_puts_everything_at_the_reward() {
        // discount 0: T̂zⱼ = r for every j, whatever the next distribution.
        let m = five().project(-0.5, 0.0, &[0.1, 0.4, 0.1, 0.3, 0.1]);
        close(&m, &[0.0, 0.5, 0.5, 0.0, 0.0]);
    }

    #[test]
    fn projection_conserves_probability() {
        let s = Support::new(-10.0, 10.0, 51);
        let mut logits: Vec<f32> = (0..51).map(|i| ((i * 7) % 13) as f32 * 0.3).collect();
        softmax_rows(&mut logits, 51);
        for (r, g) in [(0.0, 0.99), (1.3, 0.97), (-20.0, 0.9), (0.37, 0.0)] {
            let m = s.project(r, g, &logits);
            assert!((m.iter().sum::<f32>() - 1.0).abs() < 1e-5);
            assert!(m.iter().all(|p| *p >= 0.0));
        }
    }

    #[test]
    fn softmax_means_and_entropy() {
        let mut l = vec![0.0, 0.0, 0.0, 0.0, 0.0, 1000.0, 0.0, 0.0, 0.0, 0.0];
        softmax_rows(&mut l, 5);
        close(&l[..5], &[0.2; 5]);
        close(&l[5..], &[1.0, 0.0, 0.0, 0.0, 0.0]);
        close(&five().means(&l), &[0.0, -2.0]);
        assert!((entropy(&l[..5]) - 5f32.ln()).abs() < 1e-6);
        assert_eq!(entropy(&l[5..]), 0.0);
    }
}
