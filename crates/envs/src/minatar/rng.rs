//! numpy's legacy `np.random.RandomState` (MT19937), as far as MinAtar uses it.
//!
//! `RandomState(seed)` seeds MT19937 with the reference `init_genrand(seed)`, which is what
//! `rand_mt::Mt::new` does. On top of the raw 32-bit stream this reproduces numpy's legacy
//! transformations draw for draw: `rand()` (53-bit doubles from two words) and `randint`
//! (masked rejection sampling on the inclusive range, with a 32-bit word per try when the range
//! fits in 32 bits and a 64-bit one otherwise; a range of one value draws nothing).
//!
//! `rand_mt::Mt` does not expose its state, so the generator counts the words it has drawn:
//! its saved state is `(seed, draws)`, and loading it seeds afresh and draws that many words.

use rand_mt::Mt;
use serde::{Deserialize, Serialize};

/// A numpy `RandomState(seed)`: the same stream of `rand()` and `randint(...)` values.
/// Serializes as its seed and the number of 32-bit words drawn so far.
#[derive(Clone, Serialize, Deserialize)]
#[serde(into = "StreamPosition", from = "StreamPosition")]
pub struct NumpyRandomState {
    mt: Mt,
    seed: u32,
    /// 32-bit words drawn since seeding (all draws go through [`NumpyRandomState::next_u32`]).
    draws: u64,
}

/// Where a [`NumpyRandomState`] stands in its stream: what its saved state holds.
#[derive(Serialize, Deserialize)]
struct StreamPosition {
    seed: u32,
    draws: u64,
}

impl From<NumpyRandomState> for StreamPosition {
    fn from(rs: NumpyRandomState) -> Self {
        StreamPosition {
            seed: rs.seed,
            draws: rs.draws,
        }
    }
}

impl From<StreamPosition> for NumpyRandomState {
    /// Seed, then draw the words drawn before (a few ns each).
    fn from(at: StreamPosition) -> Self {
        let mut rs = NumpyRandomState::new(at.seed);
        for _ in 0..at.draws {
            rs.next_u32();
        }
        rs
    }
}

impl std::fmt::Debug for NumpyRandomState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NumpyRandomState").finish_non_exhaustive()
    }
}

impl NumpyRandomState {
    /// `np.random.RandomState(seed)`.
    pub fn new(seed: u32) -> Self {
        NumpyRandomState {
            mt: Mt::new(seed),
            seed,
            draws: 0,
        }
    }

    /// One raw 32-bit MT19937 output (`mt19937_next32`); the only place words are drawn.
    pub fn next_u32(&mut self) -> u32 {
        self.draws += 1;
        self.mt.next_u32()
    }

    /// The seed and the number of 32-bit words drawn since.
    pub fn position(&self) -> (u32, u64) {
        (self.seed, self.draws)
    }

    /// One raw 64-bit output (`mt19937_next64`): the first word is the high half.
    pub fn next_u64(&mut self) -> u64 {
        let high = u64::from(self.next_u32());
        let low = u64::from(self.next_u32());
        (high << 32) | low
    }

    /// `rand()`: uniform on [0, 1) with 53 random bits (`mt19937_next_double`).
    pub fn rand(&mut self) -> f64 {
        let a = self.next_u32() >> 5;
        let b = self.next_u32() >> 6;
        (f64::from(a) * 67_108_864.0 + f64::from(b)) / 9_007_199_254_740_992.0
    }

    /// `rand(n)` with `n = out.len()`: the doubles in order.
    pub fn rand_fill(&mut self, out: &mut [f64]) {
        for v in out {
            *v = self.rand();
        }
    }

    /// `randint(high)`: an integer in `[0, high)`.
    pub fn randint(&mut self, high: i64) -> i64 {
        self.randint_range(0, high)
    }

    /// `randint(low, high)`: an integer in `[low, high)` (numpy's default `int64` dtype).
    ///
    /// # Panics
    /// If `low >= high` (numpy raises `ValueError`).
    pub fn randint_range(&mut self, low: i64, high: i64) -> i64 {
        let span = Self::inclusive_span(low, high);
        self.bounded(low, span)
    }

    /// `randint(low, high, size)` with `size = out.len()`: the draws in order.
    ///
    /// # Panics
    /// If `low >= high` (numpy raises `ValueError`).
    pub fn randint_fill(&mut self, low: i64, high: i64, out: &mut [i64]) {
        let span = Self::inclusive_span(low, high);
        for v in out {
            *v = self.bounded(low, span);
        }
    }

    /// `high - 1 - low` as numpy's unsigned `rng` (the generator works on `[low, high - 1]`).
    fn inclusive_span(low: i64, high: i64) -> u64 {
        assert!(
            low < high,
            "randint: low ({low}) must be below high ({high})"
        );
        (high as u64).wrapping_sub(low as u64).wrapping_sub(1)
    }

    /// `random_bounded_uint64_fill` for one value with `use_masked = true`.
    fn bounded(&mut self, low: i64, span: u64) -> i64 {
        let offset = low as u64;
        let value = if span == 0 {
            0
        } else if span <= u64::from(u32::MAX) {
            // The 32-bit path (`buffered_bounded_masked_uint32`).
            let span32 = span as u32;
            if span32 == u32::MAX {
                u64::from(self.next_u32())
            } else {
                let mask = mask_for(span) as u32;
                loop {
                    let v = self.next_u32() & mask;
                    if v <= span32 {
                        break u64::from(v);
                    }
                }
            }
        } else if span == u64::MAX {
            self.next_u64()
        } else {
            let mask = mask_for(span);
            loop {
                let v = self.next_u64() & mask;
                if v <= span {
                    break v;
                }
            }
        };
        offset.wrapping_add(value) as i64
    }
}

/// The smallest `2^k - 1` that is `>= max` (numpy's `gen_mask`).
fn mask_for(max: u64) -> u64 {
    let mut mask = max;
    for shift in [1, 2, 4, 8, 16, 32] {
        mask |= mask >> shift;
    }
    mask
}

#[cfg(test)]
mod tests {
    //! Reference values printed by numpy 2.4.6 (the venv that ran MinAtar 1.0.15), e.g.
    //! `rs = np.random.RandomState(0); list(rs._bit_generator.random_raw(5))`,
    //! `rs = np.random.RandomState(3); [int(rs.randint(6)) for _ in range(20)]`.
    use super::*;

    /// Debug output names the type and leaves out the 624-word generator state.
    #[test]
    fn debug_is_short() {
        assert_eq!(
            format!("{:?}", NumpyRandomState::new(0)),
            "NumpyRandomState { .. }"
        );
    }

    /// A generator rebuilt from its saved `(seed, draws)` continues the same stream, after
    /// raw words, `rand()` (two words), `randint` (rejection sampling: a varying number of
    /// words), the 64-bit path and a single-value range (no word).
    #[test]
    fn a_restored_generator_continues_the_same_stream() {
        let mut rs = NumpyRandomState::new(11);
        for round in 0..50 {
            rs.next_u32();
            rs.rand();
            rs.randint(6);
            rs.randint_range(1, 9);
            rs.randint(1);
            if round % 7 == 0 {
                rs.randint_range(0, 1 << 40);
            }
            let bytes = postcard::to_allocvec(&rs).unwrap();
            let mut restored: NumpyRandomState = postcard::from_bytes(&bytes).unwrap();
            assert_eq!(restored.position(), rs.position());
            let mut original = rs.clone();
            for _ in 0..30 {
                assert_eq!(restored.rand().to_bits(), original.rand().to_bits());
                assert_eq!(restored.randint(6), original.randint(6));
                assert_eq!(restored.next_u32(), original.next_u32());
            }
        }
        let (seed, draws) = rs.position();
        assert_eq!(seed, 11);
        assert!(draws >= 50 * 5, "{draws}");
    }

    #[test]
    fn raw_stream_matches_legacy_seeding() {
        let mut rs = NumpyRandomState::new(0);
        let raw: Vec<u32> = (0..5).map(|_| rs.next_u32()).collect();
        assert_eq!(
            raw,
            [2357136044, 2546248239, 3071714933, 3626093760, 2588848963]
        );
        let mut rs = NumpyRandomState::new(12345);
        let raw: Vec<u32> = (0..3).map(|_| rs.next_u32()).collect();
        assert_eq!(raw, [3992670690, 3823185381, 1358822685]);
        let mut rs = NumpyRandomState::new(u32::MAX);
        let raw: Vec<u32> = (0..2).map(|_| rs.next_u32()).collect();
        assert_eq!(raw, [419326371, 479346978]);
    }

    #[test]
    fn rand_matches_numpy() {
        // `rs = np.random.RandomState(7); [repr(rs.rand()) for _ in range(4)]`
        let mut rs = NumpyRandomState::new(7);
        let expected = [
            0.07630828937395717,
            0.7799187922401146,
            0.4384092314408935,
            0.7234651778309412,
        ];
        for e in expected {
            assert_eq!(rs.rand().to_bits(), f64::to_bits(e));
        }
        let mut rs = NumpyRandomState::new(7);
        let mut three = [0.0; 3];
        rs.rand_fill(&mut three);
        assert_eq!(three, expected[..3]);
    }

    #[test]
    fn randint_matches_numpy() {
        let mut rs = NumpyRandomState::new(3);
        let got: Vec<i64> = (0..20).map(|_| rs.randint(6)).collect();
        assert_eq!(
            got,
            [2, 0, 1, 3, 0, 0, 0, 5, 5, 3, 2, 3, 1, 1, 2, 5, 0, 4, 4, 5]
        );
        // `[int(rs.randint(low=1, high=9)) for _ in range(20)]`
        let mut rs = NumpyRandomState::new(3);
        let got: Vec<i64> = (0..20).map(|_| rs.randint_range(1, 9)).collect();
        assert_eq!(
            got,
            [3, 1, 2, 4, 1, 1, 1, 6, 6, 4, 3, 4, 2, 2, 3, 6, 8, 7, 1, 5]
        );
        // `rs.randint(1, 6, 8)` twice
        let mut rs = NumpyRandomState::new(3);
        let mut speeds = [0i64; 8];
        rs.randint_fill(1, 6, &mut speeds);
        assert_eq!(speeds, [3, 1, 2, 4, 1, 1, 1, 4]);
        rs.randint_fill(1, 6, &mut speeds);
        assert_eq!(speeds, [3, 4, 2, 2, 3, 1, 5, 5]);
    }

    #[test]
    fn single_value_range_draws_nothing() {
        // `rs.randint(1); rs.randint(1, 2, 8)` leave the stream untouched: the next raw word
        // is still the first one, 2365658986.
        let mut rs = NumpyRandomState::new(3);
        assert_eq!(rs.randint(1), 0);
        let mut ones = [0i64; 8];
        rs.randint_fill(1, 2, &mut ones);
        assert_eq!(ones, [1; 8]);
        assert_eq!(rs.next_u32(), 2365658986);
    }

    #[test]
    fn wide_ranges_match_numpy() {
        // `rs = np.random.RandomState(4)`: 4 x `randint(0, 2**40)` (64-bit masked path), then
        // 3 x `randint(-5, 2**32 - 5)` (a full 32-bit range: one unmasked word).
        let mut rs = NumpyRandomState::new(4);
        let got: Vec<i64> = (0..4).map(|_| rs.randint_range(0, 1 << 40)).collect();
        assert_eq!(
            got,
            [527854149806, 786720735941, 557725645160, 376277942728]
        );
        let got: Vec<i64> = (0..3)
            .map(|_| rs.randint_range(-5, (1 << 32) - 5))
            .collect();
        assert_eq!(got, [2996722477, 2566484356, 928097333]);
    }
}
