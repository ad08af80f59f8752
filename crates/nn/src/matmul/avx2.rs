//! The kernel on 8-lane AVX2 registers with FMA: tiles of 6 rows × 16 columns (12
//! accumulators), each element of `C` one FMA chain over its depth block, in order, from `+0`,
//! then stored or added once — gemm's arithmetic, so gemm's bits.

use super::{Product, Rhs, PANEL};
use std::arch::x86_64::*;

/// Rows of `C` per tile: 6 rows × 2 vectors = 12 independent accumulators.
const MR: usize = 6;
/// Columns of `C` per tile: two 8-lane vectors.
const NR: usize = PANEL;

#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn product(p: &Product, c: &mut [f32]) {
    let ((m, k, n), a, ldc) = (p.dims, p.a, p.ldc);
    let accumulate = p.accumulate;
    let (ap, cp) = (a.data.as_ptr(), c.as_mut_ptr());
    for j in (0..n).step_by(NR) {
        let width = (n - j).min(NR);
        // Column block j/NR of B: in place, or its zero-padded panel (full loads).
        let (b, ldb, padded) = match p.b {
            Rhs::Rows(b) => (b.data.as_ptr().add(j), b.rs, false),
            Rhs::Panels(panels) => (panels.as_ptr().add(j * k), NR, true),
        };
        let tile = Tile {
            k,
            a_rs: a.rs,
            a_cs: a.cs,
            b,
            ldb,
            ldc,
            width,
            padded,
            accumulate,
        };
        let mut i = 0;
        while i + MR <= m {
            tile.run::<MR>(ap.add(i * a.rs), cp.add(i * ldc + j));
            i += MR;
        }
        let (a_rest, c_rest) = (ap.add(i * a.rs), cp.add(i * ldc + j));
        match m - i {
            1 => tile.run::<1>(a_rest, c_rest),
            2 => tile.run::<2>(a_rest, c_rest),
            3 => tile.run::<3>(a_rest, c_rest),
            4 => tile.run::<4>(a_rest, c_rest),
            5 => tile.run::<5>(a_rest, c_rest),
            _ => {}
        }
    }
}

/// `12` independent chains of `iters` FMAs on 8 lanes each (the core's FMA peak).
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn fma_chains(iters: usize) -> f32 {
    // Distinct starting values, and every chain feeds the result: nothing to merge or drop.
    let mut acc: [__m256; 12] = std::array::from_fn(|i| _mm256_set1_ps(i as f32));
    let (a, b) = (_mm256_set1_ps(0.999_999), _mm256_set1_ps(1e-7));
    for _ in 0..iters {
        for v in acc.iter_mut() {
            *v = _mm256_fmadd_ps(a, *v, b);
        }
    }
    let mut lanes = [0.0f32; 8];
    let sum = acc
        .iter()
        .fold(_mm256_setzero_ps(), |s, v| _mm256_add_ps(s, *v));
    _mm256_storeu_ps(lanes.as_mut_ptr(), sum);
    lanes.iter().sum()
}

/// `out (cols × rows, row stride ldo) = srcᵀ` for `src` `rows × cols` with row stride `ld`.
#[target_feature(enable = "avx2")]
pub(super) unsafe fn transpose(
    src: &[f32],
    ld: usize,
    (rows, cols): (usize, usize),
    (out, ldo): (&mut [f32], usize),
) {
    let (sp, op) = (src.as_ptr(), out.as_mut_ptr());
    let (full_rows, full_cols) = (rows / 8 * 8, cols / 8 * 8);
    // Column blocks outside: each output row is written front to back.
    for c0 in (0..full_cols).step_by(8) {
        for r0 in (0..full_rows).step_by(8) {
            let row = |i: usize| _mm256_loadu_ps(sp.add((r0 + i) * ld + c0));
            let v = [
                row(0),
                row(1),
                row(2),
                row(3),
                row(4),
                row(5),
                row(6),
                row(7),
            ];
            let t = transpose8(v);
            for (i, t) in t.iter().enumerate() {
                _mm256_storeu_ps(op.add((c0 + i) * ldo + r0), *t);
            }
        }
    }
    for r in 0..rows {
        let start = if r < full_rows { full_cols } else { 0 };
        for c in start..cols {
            *op.add(c * ldo + r) = *sp.add(r * ld + c);
        }
    }
}

/// The transpose of an 8 × 8 block held as 8 row vectors.
#[inline(always)]
unsafe fn transpose8(v: [__m256; 8]) -> [__m256; 8] {
    let t0 = _mm256_unpacklo_ps(v[0], v[1]);
    let t1 = _mm256_unpackhi_ps(v[0], v[1]);
    let t2 = _mm256_unpacklo_ps(v[2], v[3]);
    let t3 = _mm256_unpackhi_ps(v[2], v[3]);
    let t4 = _mm256_unpacklo_ps(v[4], v[5]);
    let t5 = _mm256_unpackhi_ps(v[4], v[5]);
    let t6 = _mm256_unpacklo_ps(v[6], v[7]);
    let t7 = _mm256_unpackhi_ps(v[6], v[7]);
    let s0 = _mm256_shuffle_ps::<0x44>(t0, t2);
    let s1 = _mm256_shuffle_ps::<0xEE>(t0, t2);
    let s2 = _mm256_shuffle_ps::<0x44>(t1, t3);
    let s3 = _mm256_shuffle_ps::<0xEE>(t1, t3);
    let s4 = _mm256_shuffle_ps::<0x44>(t4, t6);
    let s5 = _mm256_shuffle_ps::<0xEE>(t4, t6);
    let s6 = _mm256_shuffle_ps::<0x44>(t5, t7);
    let s7 = _mm256_shuffle_ps::<0xEE>(t5, t7);
    [
        _mm256_permute2f128_ps::<0x20>(s0, s4),
        _mm256_permute2f128_ps::<0x20>(s1, s5),
        _mm256_permute2f128_ps::<0x20>(s2, s6),
        _mm256_permute2f128_ps::<0x20>(s3, s7),
        _mm256_permute2f128_ps::<0x31>(s0, s4),
        _mm256_permute2f128_ps::<0x31>(s1, s5),
        _mm256_permute2f128_ps::<0x31>(s2, s6),
        _mm256_permute2f128_ps::<0x31>(s3, s7),
    ]
}

/// One column block of `NR` (or fewer, `width`) columns of `C`, shared by its row tiles.
struct Tile {
    k: usize,
    a_rs: usize,
    a_cs: usize,
    b: *const f32,
    ldb: usize,
    ldc: usize,
    width: usize,
    /// `B`'s rows hold `NR` readable values even past `width` (a packed panel).
    padded: bool,
    accumulate: bool,
}

impl Tile {
    /// `R` rows of `C` starting at `c`, whose rows of `A` start at `a`.
    #[inline(always)]
    unsafe fn run<const R: usize>(&self, a: *const f32, c: *mut f32) {
        let acc = if self.width == NR || self.padded {
            self.chains::<R, false>(a)
        } else {
            self.chains::<R, true>(a)
        };
        self.store::<R>(&acc, c);
    }

    /// The FMA chains of an `R × NR` tile: `acc[r] ← fma(a[r, p], b[p, ·], acc[r])`.
    #[inline(always)]
    unsafe fn chains<const R: usize, const MASKED: bool>(&self, a: *const f32) -> [[__m256; 2]; R] {
        let lanes: [i32; NR] = std::array::from_fn(|l| if l < self.width { -1 } else { 0 });
        let lo = _mm256_loadu_si256(lanes.as_ptr().cast());
        let hi = _mm256_loadu_si256(lanes.as_ptr().add(8).cast());
        let mut acc = [[_mm256_setzero_ps(); 2]; R];
        for p in 0..self.k {
            let row = self.b.add(p * self.ldb);
            let (b0, b1) = if MASKED {
                (
                    _mm256_maskload_ps(row, lo),
                    _mm256_maskload_ps(row.add(8), hi),
                )
            } else {
                (_mm256_loadu_ps(row), _mm256_loadu_ps(row.add(8)))
            };
            for (r, acc) in acc.iter_mut().enumerate() {
                let av = _mm256_broadcast_ss(&*a.add(r * self.a_rs + p * self.a_cs));
                acc[0] = _mm256_fmadd_ps(av, b0, acc[0]);
                acc[1] = _mm256_fmadd_ps(av, b1, acc[1]);
            }
        }
        acc
    }

    /// `C = acc` or `C += acc` (one rounded addition), for the tile's valid columns.
    #[inline(always)]
    unsafe fn store<const R: usize>(&self, acc: &[[__m256; 2]; R], c: *mut f32) {
        for (r, acc) in acc.iter().enumerate() {
            let row = c.add(r * self.ldc);
            if self.width == NR {
                for (h, v) in acc.iter().enumerate() {
                    let dst = row.add(8 * h);
                    let v = if self.accumulate {
                        _mm256_add_ps(_mm256_loadu_ps(dst), *v)
                    } else {
                        *v
                    };
                    _mm256_storeu_ps(dst, v);
                }
            } else {
                let mut lanes = [0.0f32; NR];
                _mm256_storeu_ps(lanes.as_mut_ptr(), acc[0]);
                _mm256_storeu_ps(lanes.as_mut_ptr().add(8), acc[1]);
                for (l, v) in lanes.iter().take(self.width).enumerate() {
                    let dst = row.add(l);
                    *dst = if self.accumulate { *dst + *v } else { *v };
                }
            }
        }
    }
}
