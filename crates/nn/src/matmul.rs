//! One small matrix product, `C (+)= A·B` in `f32`, bit-identical to what `gemm` (under dfdx's
//! `matmul`) returns for the same product, and faster at the sizes of these networks.
//!
//! # Why it gives the same bits
//! On its blocked microkernel path, `gemm` 0.15 splits the depth into blocks of `kc` and
//! computes every output element of a block as one fused-multiply-add chain over that block,
//! in ascending order and starting from `+0` — `acc ← fma(a[i,p], b[p,j], acc)` — then stores
//! `acc`, or `dst + acc` (one rounded addition) when it accumulates or for every later block.
//! This kernel does exactly that, vectorised across output columns instead of gemm's packed
//! panels, with no packing of `A`, no threading and no dispatch at these sizes.
//! [`gemm_depth_block`] mirrors when gemm takes that path and its `kc` (`gemm-common` 0.15.5,
//! `gemm.rs`: `gemm_basic_generic`, and `gemm`'s transpose of column-major destinations);
//! callers use this kernel only there, with that `kc`, and keep dfdx's `matmul` otherwise, so
//! results never change. Tests compare both bit for bit.
//!
//! The kernel needs AVX2 and FMA (checked at run time); elsewhere callers keep `gemm`.
//! Where the CPU also has AVX-512 it runs on 16-lane registers ([`avx512`]): a lane does the
//! same operations at any width, so the bits are the same.

use std::any::TypeId;
use std::cell::RefCell;

/// A read-only matrix operand: element `(i, j)` at `data[i·rs + j·cs]`.
#[derive(Debug, Clone, Copy)]
pub(super) struct Operand<'a> {
    pub data: &'a [f32],
    pub rs: usize,
    pub cs: usize,
}

impl<'a> Operand<'a> {
    /// A row-major matrix with rows of `len` values.
    pub fn rows(data: &'a [f32], len: usize) -> Self {
        Operand {
            data,
            rs: len,
            cs: 1,
        }
    }

    /// The transpose: element `(i, j)` is this operand's `(j, i)`.
    pub fn t(self) -> Self {
        Operand {
            rs: self.cs,
            cs: self.rs,
            ..self
        }
    }
}

/// Row and column strides of one of gemm's operands, as dfdx passes them.
#[derive(Debug, Clone, Copy)]
pub(super) struct Strides {
    pub rs: usize,
    pub cs: usize,
}

impl Strides {
    fn transposed(self) -> Self {
        Strides {
            rs: self.cs,
            cs: self.rs,
        }
    }
}

/// gemm-f32's microkernel on x86-64 with FMA (its `fma` dispatch; the AVX-512 one needs gemm's
/// `nightly` feature, which nothing here enables): 3 vectors of 8 rows × 4 columns.
const GEMM_MR: usize = 24;
const GEMM_NR: usize = 4;

/// The depth block in which `gemm::gemm(m, n, k, dst, …, lhs, …, rhs, …)` (no conjugation)
/// chains each element, or `None` where it does not take its blocked microkernel path (its
/// `k ≤ 2` `gevv` and matrix–vector `gemv` shortcuts).
///
/// Blocked, gemm computes every element of a depth block `kc` as one FMA chain from `+0`,
/// stores the first block's chain (or adds it when it accumulates) and adds each later one.
/// `kc` is gemm-common 0.15.5's: `min(k, 512)` when both sides are at most 64, otherwise
/// `cache::kernel_params` for gemm's microkernel (the same function, on this machine's
/// caches), after gemm has transposed a column-major destination.
pub(super) fn gemm_depth_block(
    (m, n, k): (usize, usize, usize),
    dst: Strides,
    lhs: Strides,
    rhs: Strides,
) -> Option<usize> {
    // gemm works on column-major destinations: it transposes the product when dst_cs < dst_rs.
    let (m, n, lhs, rhs) = if dst.cs < dst.rs {
        (n, m, rhs.transposed(), lhs.transposed())
    } else {
        (m, n, lhs, rhs)
    };
    let gemv = (m <= 1 && rhs.cs <= rhs.rs) || (n <= 1 && lhs.rs <= lhs.cs);
    if m == 0 || n == 0 || k <= 2 || gemv {
        return None;
    }
    Some(if m <= 64 && n <= 64 {
        k.min(512)
    } else {
        let f32_bytes = std::mem::size_of::<f32>();
        gemm_common::cache::kernel_params(m, n, k, GEMM_MR, GEMM_NR, f32_bytes).kc
    })
}

/// Whether this machine can run the kernel (AVX2 and FMA).
pub(super) fn available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

thread_local! {
    /// Scratch for a packed `B`, reused across calls on this thread.
    static PACKED: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

/// Which registers the kernel runs on; the bits are the same either way (tested).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kernel {
    Avx2,
    Avx512,
}

impl Kernel {
    /// AVX-512 where the CPU has it (and AVX2 and FMA, [`available`]), else AVX2.
    pub(super) fn best() -> Kernel {
        #[cfg(target_arch = "x86_64")]
        if std::is_x86_feature_detected!("avx512f") {
            return Kernel::Avx512;
        }
        Kernel::Avx2
    }
}

/// `C (m × n, row-major, row stride ldc) = A·B`, or `C += A·B` when `accumulate`, with `A`
/// `m × k` and `B` `k × n`, in depth blocks of `kc` (gemm's, from [`gemm_depth_block`]): each
/// element is an `fma` chain over each block's `p` from `+0`, stored (first block, unless
/// `accumulate`) or added to `C` — see the module docs.
///
/// # Panics
/// If the kernel is not [`available`], `kc` is 0, or an operand is too short for its shape.
pub(super) fn product(
    dims: (usize, usize, usize),
    a: Operand,
    b: Operand,
    c: &mut [f32],
    blocks: (usize, usize),
    accumulate: bool,
) {
    product_on(Kernel::best(), dims, a, b, c, blocks, accumulate);
}

/// [`product`] on the registers of `kernel`.
///
/// # Panics
/// As [`product`], and if `kernel` is AVX-512 on a CPU without it.
fn product_on(
    kernel: Kernel,
    (m, k, n): (usize, usize, usize),
    a: Operand,
    b: Operand,
    c: &mut [f32],
    (ldc, kc): (usize, usize),
    accumulate: bool,
) {
    assert!(available(), "matmul kernel needs AVX2 and FMA");
    assert!(
        kernel == Kernel::Avx2 || Kernel::best() == Kernel::Avx512,
        "matmul kernel: no AVX-512 on this CPU"
    );
    assert!(kc > 0, "matmul depth block is empty");
    let last = |o: Operand, rows: usize, cols: usize| {
        (rows > 0 && cols > 0).then(|| (rows - 1) * o.rs + (cols - 1) * o.cs)
    };
    for (o, rows, cols) in [(a, m, k), (b, k, n)] {
        if let Some(last) = last(o, rows, cols) {
            assert!(last < o.data.len(), "matmul operand too short");
        }
    }
    if m == 0 || n == 0 {
        return;
    }
    assert!(
        (m - 1) * ldc + n <= c.len() && ldc >= n,
        "matmul output too short"
    );
    let pack = b.cs != 1 || aliases_in_cache(b.rs);
    // At `k = 0`, one empty block still stores zeros (or leaves `C`) as gemm does.
    for p0 in (0..k.max(1)).step_by(kc) {
        // Block `p0..p0 + depth`: A's columns and B's rows from `p0` (in bounds: checked).
        let depth = kc.min(k - p0);
        let a = Operand {
            data: &a.data[p0 * a.cs..],
            ..a
        };
        let b = Operand {
            data: &b.data[p0 * b.rs..],
            ..b
        };
        let in_place = Product {
            kernel,
            dims: (m, depth, n),
            a,
            b: Rhs::Rows(b),
            ldc,
            accumulate: accumulate || p0 > 0,
        };
        if !pack {
            in_place.run(c);
            continue;
        }
        PACKED.with(|packed| {
            let mut packed = packed.borrow_mut();
            let b = Rhs::Panels(pack_panels(b, depth, n, &mut packed));
            Product { b, ..in_place }.run(c);
        });
    }
}

/// Whether rows of `B` `rs` floats apart fall into few L1 sets (a stride of a multiple of
/// 1 KiB: 64 sets × 64 bytes per way means every 4th such row shares a set), so that a tile's
/// `k` rows of `B` evict each other: such a `B` is packed into panels first.
fn aliases_in_cache(rs: usize) -> bool {
    rs >= 256 && rs.is_multiple_of(256)
}

/// Columns of `C` per kernel tile (two 8-lane vectors), and of `B` per packed panel.
const PANEL: usize = 16;

/// `B` as the kernel reads it.
#[derive(Clone, Copy)]
enum Rhs<'a> {
    /// Unit column stride, row stride `rs`: read in place.
    Rows(Operand<'a>),
    /// Packed by [`pack_panels`]: column block `t` (columns `16t..16t + 16`) is `k` rows of
    /// 16 values (zero past `n`) at `16·t·k`.
    Panels(&'a [f32]),
}

/// A checked product for the kernel: `B` read in place or packed, `C` row stride `ldc`.
#[derive(Clone, Copy)]
struct Product<'a> {
    kernel: Kernel,
    dims: (usize, usize, usize),
    a: Operand<'a>,
    b: Rhs<'a>,
    ldc: usize,
    accumulate: bool,
}

impl Product<'_> {
    fn run(&self, c: &mut [f32]) {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `available()` (and AVX-512 for that kernel) was checked by `product_on`,
        // which also checked every index the
        // kernel touches: A up to (m−1, k−1), B up to (k−1, n−1) (masked loads past n are
        // not performed), C up to (m−1, n−1).
        unsafe {
            match self.kernel {
                Kernel::Avx2 => avx2::product(self, c),
                Kernel::Avx512 => avx512::product(self, c),
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            let _ = c;
            unreachable!("matmul kernel called without AVX2/FMA")
        }
    }
}

/// Copies `B` (`k × n`, any strides) into `out` as [`Rhs::Panels`]: column blocks of 16,
/// each `k` rows of 16 values, zero past `n`. A transposed operand (`rs = 1`, i.e. a row-major
/// `n × k` matrix read by columns) goes through 8 × 8 register transposes.
fn pack_panels<'o>(b: Operand, k: usize, n: usize, out: &'o mut Vec<f32>) -> &'o [f32] {
    const W: usize = PANEL;
    let len = n.div_ceil(W) * W * k;
    // Every value is overwritten below: only grow (a smaller product between two larger ones
    // must not refill the scratch), without clearing.
    if out.len() < len {
        out.resize(len, 0.0);
    }
    let out = &mut out[..len];
    // (At k = 0 there is nothing to copy; the chunk size only has to be non-zero.)
    for (t, panel) in out.chunks_exact_mut((W * k).max(1)).enumerate() {
        let (j0, width) = (t * W, (n - t * W).min(W));
        #[cfg(target_arch = "x86_64")]
        if b.rs == 1 && width == W && available() {
            // SAFETY: AVX2 is available; `product` checked that `b` holds (k−1, n−1), so rows
            // j0..j0+16 of the n × k matrix exist; the panel holds k rows of 16.
            unsafe { avx2::transpose(&b.data[j0 * b.cs..], b.cs, (W, k), (panel, W)) };
            continue;
        }
        for (p, row) in panel.chunks_exact_mut(W).enumerate() {
            let (values, pad) = row.split_at_mut(width);
            if b.cs == 1 {
                values.copy_from_slice(&b.data[p * b.rs + j0..][..width]);
            } else {
                for (jj, v) in values.iter_mut().enumerate() {
                    *v = b.data[p * b.rs + (j0 + jj) * b.cs];
                }
            }
            pad.fill(0.0);
        }
    }
    out
}

/// `values` re-typed from `A` to `B`, which must be the same type (checked).
pub(super) fn same_type<A: 'static, B: 'static>(values: &[A]) -> &[B] {
    assert_eq!(TypeId::of::<A>(), TypeId::of::<B>());
    // SAFETY: `A` and `B` are the same type (asserted).
    unsafe { std::slice::from_raw_parts(values.as_ptr().cast(), values.len()) }
}

/// `values` re-typed from `A` to `B` mutably, which must be the same type (checked).
pub(super) fn same_type_mut<A: 'static, B: 'static>(values: &mut [A]) -> &mut [B] {
    assert_eq!(TypeId::of::<A>(), TypeId::of::<B>());
    // SAFETY: as in `same_type`.
    unsafe { std::slice::from_raw_parts_mut(values.as_mut_ptr().cast(), values.len()) }
}

/// The transpose (`cols × rows`, row-major) of `src` (`rows × cols`, row-major); `f32` through
/// 8 × 8 register transposes where AVX2 is available. A copy: the same values, bit for bit.
pub(super) fn transposed<E: Copy + Default + 'static>(
    src: &[E],
    rows: usize,
    cols: usize,
) -> Vec<E> {
    assert_eq!(
        src.len(),
        rows * cols,
        "transpose of a {rows} × {cols} matrix"
    );
    let mut out = vec![E::default(); rows * cols];
    #[cfg(target_arch = "x86_64")]
    if TypeId::of::<E>() == TypeId::of::<f32>() && available() {
        // SAFETY: AVX2 is available; `src` is rows × cols and `out` cols × rows.
        unsafe {
            avx2::transpose(
                same_type(src),
                cols,
                (rows, cols),
                (same_type_mut(&mut out), rows),
            )
        };
        return out;
    }
    for (r, row) in src.chunks_exact(cols.max(1)).enumerate() {
        for (c, v) in row.iter().enumerate() {
            out[c * rows + r] = *v;
        }
    }
    out
}

/// For `sweep bench`: this core's `f32` FMA rate in GFMA/s (12 independent 8-lane chains,
/// nothing but FMAs), `iters` rounds; `None` without AVX2/FMA.
pub fn fma_peak_gfma(iters: usize) -> Option<f64> {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: run only where AVX2 and FMA are available.
    return available().then(|| chains_gfma(iters, 8, || unsafe { avx2::fma_chains(iters) }));
    #[allow(unreachable_code)]
    None
}

/// For `sweep bench`: [`fma_peak_gfma`] on 16-lane AVX-512 registers; `None` without AVX-512.
pub fn fma_peak_avx512_gfma(iters: usize) -> Option<f64> {
    let wide = available() && Kernel::best() == Kernel::Avx512;
    #[cfg(target_arch = "x86_64")]
    // SAFETY: run only where AVX-512 is available.
    return wide.then(|| chains_gfma(iters, 16, || unsafe { avx512::fma_chains(iters) }));
    #[allow(unreachable_code)]
    None
}

/// GFMA/s of `chains`, which runs 12 chains of `iters` FMAs on `lanes` lanes.
fn chains_gfma(iters: usize, lanes: usize, chains: impl FnOnce() -> f32) -> f64 {
    let start = std::time::Instant::now();
    std::hint::black_box(chains());
    (iters * 12 * lanes) as f64 / start.elapsed().as_secs_f64() / 1e9
}

/// For `sweep bench`: the registers the kernel runs on here.
pub fn kernel_registers() -> &'static str {
    match Kernel::best() {
        Kernel::Avx2 => "AVX2",
        Kernel::Avx512 => "AVX-512",
    }
}

/// For `sweep bench`: GFMA/s of this kernel on `C = A·Bᵀ` (`m × k` times `n × k` transposed,
/// the dense forward's `W·xᵀ`, packing `B` included, in gemm's depth blocks for the product),
/// `iters` products; `None` without AVX2/FMA.
pub fn kernel_gfma((m, k, n): (usize, usize, usize), iters: usize) -> Option<f64> {
    if !available() {
        return None;
    }
    let a: Vec<f32> = (0..m * k).map(|i| (i % 7) as f32 * 0.25).collect();
    let b: Vec<f32> = (0..n * k).map(|i| (i % 5) as f32 * 0.5).collect();
    let mut c = vec![0.0; m * n];
    let (row, col) = (Strides { rs: k, cs: 1 }, Strides { rs: 1, cs: k });
    let kc = gemm_depth_block((m, n, k), Strides { rs: n, cs: 1 }, row, col).unwrap_or(k);
    let start = std::time::Instant::now();
    for _ in 0..iters {
        let (a, b) = (Operand::rows(&a, k), Operand::rows(&b, k));
        product(
            (m, k, n),
            a,
            b.t(),
            std::hint::black_box(&mut c),
            (n, kc),
            false,
        );
    }
    Some((m * k * n * iters) as f64 / start.elapsed().as_secs_f64() / 1e9)
}

#[cfg(target_arch = "x86_64")]
mod avx512;

#[cfg(target_arch = "x86_64")]
mod avx2;

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn random(n: usize, rng: &mut ChaCha8Rng) -> Vec<f32> {
        (0..n).map(|_| rng.gen_range(-1.0f32..1.0)).collect()
    }

    /// `gemm::gemm` as dfdx's CPU `matmul` calls it: `dst (m × n) (+)= lhs · rhs`.
    #[allow(clippy::too_many_arguments)]
    fn gemm_reference(
        (m, k, n): (usize, usize, usize),
        lhs: (&[f32], Strides),
        rhs: (&[f32], Strides),
        dst: (&mut [f32], Strides),
        accumulate: bool,
    ) {
        // SAFETY: every operand is allocated for its shape and strides by the caller.
        unsafe {
            gemm::gemm(
                m,
                n,
                k,
                dst.0.as_mut_ptr(),
                dst.1.cs as isize,
                dst.1.rs as isize,
                accumulate,
                lhs.0.as_ptr(),
                lhs.1.cs as isize,
                lhs.1.rs as isize,
                rhs.0.as_ptr(),
                rhs.1.cs as isize,
                rhs.1.rs as isize,
                if accumulate { 1.0 } else { 0.0 },
                1.0,
                false,
                false,
                false,
                gemm::Parallelism::None,
            )
        }
    }

    /// One product both ways on random data: `A` row-major or transposed, `B` row-major or
    /// transposed (packed), into zeros, into non-zero values (accumulate) and overwriting, with
    /// gemm's destination row-major or column-major (which gemm transposes, and which can change
    /// its depth blocks); the kernel always writes row-major.
    fn same_bits_as_gemm(kernel: Kernel, (m, k, n): (usize, usize, usize), rng: &mut ChaCha8Rng) {
        for (a_t, b_t, accumulate, c_t) in [
            (false, false, false, false),
            (true, false, true, true),
            (false, true, true, false),
            (true, true, false, true),
        ] {
            let a = random(m * k, rng);
            let b = random(k * n, rng);
            let strides = |transposed, rows, cols| {
                if transposed {
                    Strides { rs: 1, cs: rows }
                } else {
                    Strides { rs: cols, cs: 1 }
                }
            };
            let (a_s, b_s, c_s) = (strides(a_t, m, k), strides(b_t, k, n), strides(c_t, m, n));
            let Some(kc) = gemm_depth_block((m, n, k), c_s, a_s, b_s) else {
                continue;
            };
            let start = random(m * n, rng);
            let mut want = start.clone();
            gemm_reference(
                (m, k, n),
                (&a, a_s),
                (&b, b_s),
                (&mut want, c_s),
                accumulate,
            );
            // The kernel's row-major C, starting from the same values as gemm's.
            let at = |c: &[f32], i: usize, j: usize| c[i * c_s.rs + j * c_s.cs];
            let mut got: Vec<f32> = (0..m * n).map(|e| at(&start, e / n, e % n)).collect();
            let op = |data, s: Strides| Operand {
                data,
                rs: s.rs,
                cs: s.cs,
            };
            let (a, b) = (op(&a, a_s), op(&b, b_s));
            product_on(kernel, (m, k, n), a, b, &mut got, (n, kc), accumulate);
            let same = (0..m * n).all(|e| at(&want, e / n, e % n).to_bits() == got[e].to_bits());
            assert!(
                same,
                "{kernel:?} {m}×{k}×{n}, A^T {a_t}, B^T {b_t}, C^T {c_t}, accumulate {accumulate}, \
                 kc {kc}"
            );
        }
    }

    #[test]
    fn products_are_bit_identical_to_gemm_on_its_blocked_path() {
        if !available() {
            eprintln!("no AVX2/FMA: kernel not used on this machine");
            return;
        }
        // Both kernels where the CPU has AVX-512 (each lane the same operations at any width).
        let mut kernels = vec![Kernel::Avx2];
        if Kernel::best() == Kernel::Avx512 {
            kernels.push(Kernel::Avx512);
        } else {
            eprintln!("no AVX-512: its kernel not tested on this machine");
        }
        // The networks' shapes (batch 1 and 32; MLP, dueling, MinAtar and Nature layers) and
        // edges: single rows and columns, widths around the 8- and 16-lane blocks, depth 3 and
        // 512, tails of the 6-row tiles; deeper than one block: the MinAtar dense layer's
        // forward (1024) at batch 32 and 1, the conv weight gradient (2048), a depth that
        // splits unevenly where both sides are ≤ 64 (512 + 488) and evenly elsewhere; the
        // dense backward's 1024-wide products, whose `B` rows alias in cache (packed); widths
        // around AVX-512's 32-column tiles.
        let shapes = [
            (32, 128, 128),
            (1, 128, 128),
            (128, 32, 128),
            (32, 4, 128),
            (128, 32, 4),
            (32, 128, 2),
            (3200, 36, 16),
            (32, 512, 128),
            (2, 3, 2),
            (7, 5, 9),
            (13, 17, 15),
            (6, 33, 16),
            (5, 9, 17),
            (1, 300, 1),
            (40, 3, 31),
            (32, 1024, 128),
            (1, 1024, 128),
            (16, 2048, 36),
            (40, 1000, 30),
            (70, 1000, 10),
            (32, 128, 1024),
            (128, 32, 1024),
            (7, 9, 768),
            (9, 20, 33),
            (5, 7, 47),
            (11, 40, 64),
        ];
        for kernel in kernels {
            let mut rng = ChaCha8Rng::seed_from_u64(7);
            for dims in shapes {
                same_bits_as_gemm(kernel, dims, &mut rng);
            }
            // Random shapes: small, and deep enough for several depth blocks.
            for (count, sides, depths) in [(40, 1..50, 3..200), (10, 1..150, 400..1600)] {
                for _ in 0..count {
                    let m = rng.gen_range(sides.clone());
                    let k = rng.gen_range(depths.clone());
                    let n = rng.gen_range(sides.clone());
                    same_bits_as_gemm(kernel, (m, k, n), &mut rng);
                }
            }
        }
    }

    #[test]
    fn an_empty_depth_stores_zeros_or_keeps_c_as_gemm_does() {
        if !available() {
            return;
        }
        let (a, b) = (
            Operand {
                data: &[],
                rs: 0,
                cs: 1,
            },
            Operand {
                data: &[],
                rs: 1,
                cs: 0,
            },
        );
        for (b, accumulate) in [(b, false), (b.t(), false), (b, true)] {
            let mut c = vec![1.5f32; 6];
            product((2, 0, 3), a, b, &mut c, (3, 1), accumulate);
            let want = if accumulate { 1.5 } else { 0.0 };
            assert!(
                c.iter().all(|v| *v == want),
                "accumulate {accumulate}: {c:?}"
            );
        }
    }

    #[test]
    fn transposed_moves_every_element_to_its_mirror() {
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        for (rows, cols) in [
            (1, 1),
            (128, 1),
            (1, 128),
            (7, 9),
            (8, 8),
            (128, 32),
            (33, 17),
        ] {
            let src = random(rows * cols, &mut rng);
            let wide: Vec<f64> = src.iter().map(|v| f64::from(*v)).collect();
            let (out, out_f64) = (transposed(&src, rows, cols), transposed(&wide, rows, cols));
            for (r, c) in (0..rows).flat_map(|r| (0..cols).map(move |c| (r, c))) {
                assert_eq!(out[c * rows + r].to_bits(), src[r * cols + c].to_bits());
                assert_eq!(out_f64[c * rows + r], wide[r * cols + c]);
            }
        }
    }

    #[test]
    fn gemm_takes_the_blocked_path_in_the_depth_blocks_the_conditions_say() {
        let row = |cols| Strides { rs: cols, cs: 1 };
        let col = |rows| Strides { rs: 1, cs: rows };
        let one = Strides { rs: 1, cs: 1 };
        let cases = [
            // dfdx's dense forward zᵀ = W·xᵀ: O × B, depth I; at batch 32 and batch 1.
            ((128, 32, 128), row(32), row(128), col(128), Some(128)),
            ((128, 1, 128), one, row(128), col(128), Some(128)),
            // depth ≤ 2 → gevv; a single output row with a row-major rhs → gemv.
            ((128, 32, 2), row(32), row(2), col(2), None),
            ((1, 128, 32), row(128), row(32), row(128), None),
            // The same single row with a column-major rhs stays blocked.
            ((1, 128, 32), row(128), row(32), col(32), Some(32)),
            // Both sides ≤ 64: blocks of 512 and a shorter last one (the conv weight gradient,
            // 16 × 36 over 2048 patches; 40 × 30 over 1000).
            ((16, 36, 2048), row(36), row(2048), row(36), Some(512)),
            ((40, 30, 1000), row(30), row(1000), row(30), Some(512)),
        ];
        for (dims, dst, lhs, rhs, blocked) in cases {
            assert_eq!(
                gemm_depth_block(dims, dst, lhs, rhs),
                blocked,
                "{dims:?}, dst {dst:?}, lhs {lhs:?}, rhs {rhs:?}"
            );
        }
        // Larger products take gemm's cache-derived block: at least 512 deep, equal blocks.
        let (k, kc) = (
            1024,
            gemm_depth_block((128, 32, 1024), row(32), row(1024), col(1024)),
        );
        let kc = kc.expect("blocked");
        assert!(kc >= 512 && k % kc == 0, "kc {kc}");
    }
}
