//! The kernel on 16-lane AVX-512 registers, where the CPU has them: tiles of 6 rows × 32
//! columns (two registers per row, 12 accumulators, as the AVX2 tiles), `B` read as two
//! 16-column halves (two packed panels, or one row of 32 in place). Each element of `C` is
//! still one FMA chain over its depth block, in order, from `+0`, then stored or added once:
//! a lane computes the same operations whatever the register width, so the bits are those of
//! the AVX2 kernel and of gemm (tests compare the two kernels).

use super::{Product, Rhs, PANEL};
use std::arch::x86_64::*;

/// Rows of `C` per tile.
const MR: usize = 6;
/// Columns of `C` per tile: two 16-lane registers, i.e. two panels.
const NR: usize = 2 * PANEL;

#[target_feature(enable = "avx512f")]
pub(super) unsafe fn product(p: &Product, c: &mut [f32]) {
    let ((m, k, n), a, ldc) = (p.dims, p.a, p.ldc);
    let (ap, cp) = (a.data.as_ptr(), c.as_mut_ptr());
    for j in (0..n).step_by(NR) {
        let width = (n - j).min(NR);
        // The two 16-column halves of B's column block (the second is only read when
        // `width` > 16): in place, or two consecutive packed panels.
        let (b, ldb) = match p.b {
            Rhs::Rows(b) => {
                let first = b.data.as_ptr().add(j);
                ([first, first.wrapping_add(PANEL)], b.rs)
            }
            Rhs::Panels(panels) => {
                let first = panels.as_ptr().add(j * k);
                ([first, first.wrapping_add(PANEL * k)], PANEL)
            }
        };
        let tile = Tile {
            k,
            a_rs: a.rs,
            a_cs: a.cs,
            b,
            ldb,
            ldc,
            masks: [lanes(width), lanes(width.saturating_sub(PANEL))],
            accumulate: p.accumulate,
        };
        if width > PANEL {
            tile.rows::<2>(m, ap, cp.add(j));
        } else {
            tile.rows::<1>(m, ap, cp.add(j));
        }
    }
}

/// The mask of the first `width` of 16 lanes.
fn lanes(width: usize) -> __mmask16 {
    if width >= PANEL {
        u16::MAX
    } else {
        (1u16 << width) - 1
    }
}

/// `12` independent chains of `iters` FMAs on 16 lanes each (the core's AVX-512 FMA peak).
#[target_feature(enable = "avx512f")]
pub(super) unsafe fn fma_chains(iters: usize) -> f32 {
    let mut acc: [__m512; 12] = std::array::from_fn(|i| _mm512_set1_ps(i as f32));
    let (a, b) = (_mm512_set1_ps(0.999_999), _mm512_set1_ps(1e-7));
    for _ in 0..iters {
        for v in acc.iter_mut() {
            *v = _mm512_fmadd_ps(a, *v, b);
        }
    }
    let sum = acc
        .iter()
        .fold(_mm512_setzero_ps(), |s, v| _mm512_add_ps(s, *v));
    _mm512_reduce_add_ps(sum)
}

/// One column block of up to `NR` columns of `C`, shared by its row tiles.
struct Tile {
    k: usize,
    a_rs: usize,
    a_cs: usize,
    /// The block's two 16-column halves of `B`, row stride `ldb`.
    b: [*const f32; 2],
    ldb: usize,
    ldc: usize,
    /// The valid lanes of each half.
    masks: [__mmask16; 2],
    accumulate: bool,
}

impl Tile {
    /// All `m` rows of the block, `MR` at a time, with `H` halves of 16 columns.
    #[inline(always)]
    unsafe fn rows<const H: usize>(&self, m: usize, a: *const f32, c: *mut f32) {
        let mut i = 0;
        while i + MR <= m {
            self.run::<MR, H>(a.add(i * self.a_rs), c.add(i * self.ldc));
            i += MR;
        }
        let (a, c) = (a.add(i * self.a_rs), c.add(i * self.ldc));
        match m - i {
            1 => self.run::<1, H>(a, c),
            2 => self.run::<2, H>(a, c),
            3 => self.run::<3, H>(a, c),
            4 => self.run::<4, H>(a, c),
            5 => self.run::<5, H>(a, c),
            _ => {}
        }
    }

    /// `R` rows of `C` starting at `c`, whose rows of `A` start at `a`.
    #[inline(always)]
    unsafe fn run<const R: usize, const H: usize>(&self, a: *const f32, c: *mut f32) {
        let acc = if self.masks[H - 1] == u16::MAX {
            self.chains::<R, H, false>(a)
        } else {
            self.chains::<R, H, true>(a)
        };
        self.store::<R, H>(&acc, c);
    }

    /// The FMA chains of an `R × 16H` tile: `acc[r] ← fma(a[r, p], b[p, ·], acc[r])`.
    #[inline(always)]
    unsafe fn chains<const R: usize, const H: usize, const MASKED: bool>(
        &self,
        a: *const f32,
    ) -> [[__m512; H]; R] {
        let mut acc = [[_mm512_setzero_ps(); H]; R];
        for p in 0..self.k {
            let b: [__m512; H] = std::array::from_fn(|h| {
                let row = self.b[h].wrapping_add(p * self.ldb);
                if MASKED {
                    _mm512_maskz_loadu_ps(self.masks[h], row)
                } else {
                    _mm512_loadu_ps(row)
                }
            });
            for (r, acc) in acc.iter_mut().enumerate() {
                let av = _mm512_set1_ps(*a.add(r * self.a_rs + p * self.a_cs));
                for (acc, b) in acc.iter_mut().zip(&b) {
                    *acc = _mm512_fmadd_ps(av, *b, *acc);
                }
            }
        }
        acc
    }

    /// `C = acc` or `C += acc` (one rounded addition), for the tile's valid columns.
    #[inline(always)]
    unsafe fn store<const R: usize, const H: usize>(&self, acc: &[[__m512; H]; R], c: *mut f32) {
        for (r, acc) in acc.iter().enumerate() {
            for (h, v) in acc.iter().enumerate() {
                let (dst, mask) = (c.add(r * self.ldc + h * PANEL), self.masks[h]);
                let v = if self.accumulate {
                    _mm512_add_ps(_mm512_maskz_loadu_ps(mask, dst), *v)
                } else {
                    *v
                };
                _mm512_mask_storeu_ps(dst, mask, v);
            }
        }
    }
}
