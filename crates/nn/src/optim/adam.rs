//! Adam as each source computes it: dfdx's (Kingma & Ba's Algorithm 1, the form of PyTorch
//! and optax), PyTorch's own arithmetic, and DeZero's (the chapter's, ε before the correction).

use super::{aten_lerp, flush};
use dfdx::prelude::AdamConfig;

/// Adam step `t` (from 1): `m ← β₁m + (1−β₁)g`, `v ← β₂v + (1−β₂)g²`,
/// `p ← p − lr · m̂ / (√v̂ + ε)` with `m̂ = m / (1−β₁ᵗ)`, `v̂ = v / (1−β₂ᵗ)`; then `g ← 0`.
#[inline(always)]
pub(super) fn adam(
    cfg: &AdamConfig,
    t: i32,
    p: &mut [f32],
    g: &mut [f32],
    m: &mut [f32],
    v: &mut [f32],
) {
    let [b1, b2] = cfg.betas.map(|b| b as f32);
    let (lr, eps) = (cfg.lr as f32, cfg.eps as f32);
    let (c1, c2) = ((1.0 - b1.powi(t)).recip(), (1.0 - b2.powi(t)).recip());
    let (g, m, v) = (&mut g[..p.len()], &mut m[..p.len()], &mut v[..p.len()]);
    for i in 0..p.len() {
        let g = std::mem::take(&mut g[i]);
        m[i] = flush(m[i] * b1 + g * (1.0 - b1));
        v[i] = flush(v[i] * b2 + g * g * (1.0 - b2));
        let (m_hat, v_hat) = (m[i] * c1, v[i] * c2);
        p[i] -= lr * m_hat / (v_hat.sqrt() + eps);
    }
}

/// Adam as PyTorch's `_single_tensor_adam` runs it on the CPU at step `t` (from 1): in f64,
/// `k = lr / (1 − β₁ᵗ)` and `c = √(1 − β₂ᵗ)`; then per element `m ← lerp(m, g, 1 − β₁)`,
/// `v ← vβ₂ + ((1 − β₂)·g)·g` (fused as ATen's vector kernel does),
/// `p ← p + (−k·m) / (√v / c + ε)`; then `g ← 0`.
#[inline(always)]
pub(super) fn adam_torch(
    cfg: &AdamConfig,
    t: i32,
    p: &mut [f32],
    g: &mut [f32],
    m: &mut [f32],
    v: &mut [f32],
) {
    let [b1, b2] = cfg.betas;
    let step = f64::from(t);
    let neg_step_size = (-(cfg.lr / (1.0 - b1.powf(step)))) as f32;
    let bc2_sqrt = (1.0 - b2.powf(step)).sqrt() as f32;
    let (w1, b2f, w2) = ((1.0 - b1) as f32, b2 as f32, (1.0 - b2) as f32);
    let eps = cfg.eps as f32;
    let (g, m, v) = (&mut g[..p.len()], &mut m[..p.len()], &mut v[..p.len()]);
    for i in 0..p.len() {
        let g = std::mem::take(&mut g[i]);
        m[i] = flush(aten_lerp(m[i], g, w1));
        v[i] = flush((w2 * g).mul_add(g, v[i] * b2f));
        p[i] += (neg_step_size * m[i]) / (v[i].sqrt() / bc2_sqrt + eps);
    }
}

/// Adam as DeZero's `optimizers.Adam` runs it in float32 NumPy at step `t` (from 1): in f64,
/// `lr_t = lr·√(1 − β₂ᵗ) / (1 − β₁ᵗ)`; then `m ← m + (1 − β₁)(g − m)`,
/// `v ← v + (1 − β₂)(g² − v)`, `p ← p − (lr_t·m) / (√v + ε)`; then `g ← 0`. ε here is ε̂:
/// added before the correction, so it weighs `1/√(1 − β₂ᵗ)` times more than in `"adam"`.
#[inline(always)]
pub(super) fn adam_dezero(
    cfg: &AdamConfig,
    t: i32,
    p: &mut [f32],
    g: &mut [f32],
    m: &mut [f32],
    v: &mut [f32],
) {
    let [b1, b2] = cfg.betas;
    let step = f64::from(t);
    let lr_t = (cfg.lr * (1.0 - b2.powf(step)).sqrt() / (1.0 - b1.powf(step))) as f32;
    let (w1, w2, eps) = ((1.0 - b1) as f32, (1.0 - b2) as f32, cfg.eps as f32);
    let (g, m, v) = (&mut g[..p.len()], &mut m[..p.len()], &mut v[..p.len()]);
    for i in 0..p.len() {
        let g = std::mem::take(&mut g[i]);
        m[i] = flush(m[i] + w1 * (g - m[i]));
        v[i] = flush(v[i] + w2 * (g * g - v[i]));
        p[i] -= (lr_t * m[i]) / (v[i].sqrt() + eps);
    }
}
