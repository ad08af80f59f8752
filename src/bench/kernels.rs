//! Kernel rows of `sweep bench`: our small-product kernel and dfdx's `matmul` at the sizes
//! of the networks' layers, and the batched product population mode would need.

use super::*;

/// Population mode's premise (issue 9): does one batched product over `S` stacked weight
/// matrices beat `S` separate products? `S = 8` hidden layers of the MLP (128×128 weights, a
/// batch of 32), as dfdx's batched `matmul` vs 8 calls; the figure is the time ratio
/// separate / stacked (above 1: stacking helps).
pub(super) fn stacked_matmul(iters: usize) -> Measurement {
    use dfdx::prelude::*;
    const S: usize = 8;
    let dev: Cpu = Cpu::seed_from_u64(0);
    let w: Tensor<Rank3<S, 128, 128>, f32, Cpu> = dev.sample_normal();
    let x: Tensor<Rank3<S, 128, 32>, f32, Cpu> = dev.sample_normal();
    let ws: Vec<Tensor<Rank2<128, 128>, f32, Cpu>> = (0..S).map(|_| dev.sample_normal()).collect();
    let xs: Vec<Tensor<Rank2<128, 32>, f32, Cpu>> = (0..S).map(|_| dev.sample_normal()).collect();
    let time = |f: &dyn Fn()| {
        let start = Instant::now();
        for _ in 0..iters {
            f();
        }
        start.elapsed().as_secs_f64()
    };
    let separate = time(&|| {
        for (w, x) in ws.iter().zip(&xs) {
            std::hint::black_box(w.clone().matmul(x.clone()));
        }
    });
    let stacked = time(&|| {
        std::hint::black_box(w.clone().matmul(x.clone()));
    });
    Measurement {
        what: format!("{S} stacked 128×128 · 128×32 products (population mode) vs {S} separate"),
        value: separate / stacked,
        unit: "× faster",
    }
}

/// The MLP's hidden-layer product at batch 32, `y = x·Wᵀ` (32×128 by 128×128), by our kernel
/// and by dfdx's `matmul` (`gemm`, as `W·xᵀ` like the layers' fallback), against the core's FMA
/// peak; all in GFMA/s. The kernel rows are absent without AVX2/FMA.
pub(super) fn products(iters: usize) -> Vec<Measurement> {
    use crate::nn::matmul::{fma_peak_avx512_gfma, fma_peak_gfma, kernel_gfma, kernel_registers};
    let gfma = |what: String, value| Measurement {
        what,
        value,
        unit: "GFMA/s",
    };
    let mut out = Vec::new();
    let layers = [
        (
            "CartPole hidden layer",
            (128, 128),
            dfdx_gfma::<128, 128> as fn(usize) -> f64,
        ),
        ("MinAtar dense layer", (128, 1024), dfdx_gfma::<128, 1024>),
    ];
    for (layer, (o, i), dfdx) in layers {
        // Fewer rounds of the 8× larger product.
        let iters = iters * 128 / i;
        let product = format!("W·xᵀ, {o}×{i} · ({i}×32)ᵀ ({layer}, batch 32)");
        out.push(gfma(
            format!("{product} by dfdx matmul (gemm), one core"),
            dfdx(iters),
        ));
        if let Some(v) = kernel_gfma((o, i, 32), iters) {
            out.push(gfma(
                format!(
                    "{product} by our kernel (src/agent/conv/matmul.rs, {})",
                    kernel_registers()
                ),
                v,
            ));
        }
    }
    if let Some(v) = fma_peak_gfma(iters * 4096) {
        out.push(gfma(
            "f32 FMA peak of one core (12 independent AVX2 chains)".into(),
            v,
        ));
    }
    if let Some(v) = fma_peak_avx512_gfma(iters * 4096) {
        out.push(gfma(
            "f32 FMA peak of one core (12 independent AVX-512 chains)".into(),
            v,
        ));
    }
    out
}

/// GFMA/s of dfdx's `matmul` on `W·xᵀ` for `W` `O × I` and a batch of 32, `iters` products.
pub(super) fn dfdx_gfma<const O: usize, const I: usize>(iters: usize) -> f64 {
    use dfdx::prelude::*;
    let dev: Cpu = Cpu::seed_from_u64(0);
    let w: Tensor<Rank2<O, I>, f32, Cpu> = dev.sample_normal();
    let x: Tensor<Rank2<32, I>, f32, Cpu> = dev.sample_normal();
    let start = Instant::now();
    for _ in 0..iters {
        std::hint::black_box(w.clone().matmul(x.clone().permute()));
    }
    (32 * O * I * iters) as f64 / start.elapsed().as_secs_f64() / 1e9
}
