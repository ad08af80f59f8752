//! RMSprop in the form of each source ([`super::RmsForm`]): dfdx's, TF1's, PyTorch's and
//! DeepMind's Nature-DQN code, each in its source's order of operations.

use super::{aten_lerp, flush};
use dfdx::prelude::RMSpropConfig;

/// RMSprop: `s ← s + (1−α)(g² − s)`; centered: `a ← a + (1−α)(g − a)`, `d = √(s − a² + ε)`,
/// else `d = √(s + ε)`; with momentum μ: `b ← μb + g/d`, `p ← p − lr·b`, else `p ← p − lr·g/d`;
/// then `g ← 0`.
#[inline(always)]
pub(super) fn rmsprop<const CENTERED: bool, const MOMENTUM: bool>(
    cfg: &RMSpropConfig,
    p: &mut [f32],
    g: &mut [f32],
    square_avg: &mut [f32],
    grad_avg: &mut [f32],
    momentum: &mut [f32],
) {
    let n = p.len();
    let (lr, eps, decay) = (cfg.lr as f32, cfg.eps as f32, 1.0 - cfg.alpha as f32);
    let mu = cfg.momentum.unwrap_or(0.0) as f32;
    let (g, s, a, b) = (
        &mut g[..n],
        &mut square_avg[..n],
        &mut grad_avg[..n],
        &mut momentum[..n],
    );
    for i in 0..n {
        let g = std::mem::take(&mut g[i]);
        s[i] = flush(s[i] + decay * (g * g - s[i]));
        let avg = if CENTERED {
            a[i] = flush(a[i] + decay * (g - a[i]));
            (s[i] - a[i] * a[i] + eps).sqrt()
        } else {
            (s[i] + eps).sqrt()
        };
        let step = g / avg;
        p[i] -= if MOMENTUM {
            b[i] = flush(b[i] * mu + step);
            b[i] * lr
        } else {
            step * lr
        };
    }
}

/// RMSprop as TF1's `ApplyRMSProp` / `ApplyCenteredRMSProp` kernels write it, with `ρ` =
/// `alpha`: `s ← s + (g² − s)(1−ρ)`; centered: `a ← a + (g − a)(1−ρ)`, `d = √((s − a²) + ε)`,
/// else `d = √(s + ε)`; `b ← μb + (g·lr)/d`; `p ← p − b` (`b = (g·lr)/d` without momentum);
/// then `g ← 0`. The `rms` slot starts at 1, `mg` and `momentum` at 0.
#[inline(always)]
pub(super) fn rmsprop_tf1<const CENTERED: bool, const MOMENTUM: bool>(
    cfg: &RMSpropConfig,
    p: &mut [f32],
    g: &mut [f32],
    square_avg: &mut [f32],
    grad_avg: &mut [f32],
    momentum: &mut [f32],
) {
    let n = p.len();
    let (lr, eps, one_minus_rho) = (cfg.lr as f32, cfg.eps as f32, 1.0 - cfg.alpha as f32);
    let mu = cfg.momentum.unwrap_or(0.0) as f32;
    let (g, s, a, b) = (
        &mut g[..n],
        &mut square_avg[..n],
        &mut grad_avg[..n],
        &mut momentum[..n],
    );
    for i in 0..n {
        let g = std::mem::take(&mut g[i]);
        s[i] = flush(s[i] + (g * g - s[i]) * one_minus_rho);
        let denom = if CENTERED {
            a[i] = flush(a[i] + (g - a[i]) * one_minus_rho);
            (s[i] - a[i] * a[i]) + eps
        } else {
            s[i] + eps
        };
        let step = (g * lr) / denom.sqrt();
        p[i] -= if MOMENTUM {
            b[i] = flush(b[i] * mu + step);
            b[i]
        } else {
            step
        };
    }
}

/// RMSprop as PyTorch's `_single_tensor_rmsprop` runs it on the CPU (`c = 1 − α` rounded once
/// from double, as Python passes it): `s ← sα + (c·g)·g`; centered: `a ← lerp(a, g, c)`,
/// `d = √(s − a²) + ε`, else `d = √s + ε`; with momentum `b ← bμ + g/d`, `p ← p − lr·b`, else
/// `p ← p + (−lr·g)/d`; then `g ← 0`. Every average starts at 0. The multiply-adds ATen's
/// compiled vector kernels fuse are fused here too (`mul_add`); PyTorch's float32 `sqrt` is
/// not correctly rounded (one ULP off for about 18% of inputs in torch 2.15.0), ours is.
#[inline(always)]
pub(super) fn rmsprop_torch<const CENTERED: bool, const MOMENTUM: bool>(
    cfg: &RMSpropConfig,
    p: &mut [f32],
    g: &mut [f32],
    square_avg: &mut [f32],
    grad_avg: &mut [f32],
    momentum: &mut [f32],
) {
    let n = p.len();
    let (lr, eps, alpha) = (cfg.lr as f32, cfg.eps as f32, cfg.alpha as f32);
    let c = (1.0 - cfg.alpha) as f32;
    let mu = cfg.momentum.unwrap_or(0.0) as f32;
    let (g, s, a, b) = (
        &mut g[..n],
        &mut square_avg[..n],
        &mut grad_avg[..n],
        &mut momentum[..n],
    );
    for i in 0..n {
        let g = std::mem::take(&mut g[i]);
        s[i] = flush((c * g).mul_add(g, s[i] * alpha));
        let avg = if CENTERED {
            a[i] = flush(aten_lerp(a[i], g, c));
            (-a[i]).mul_add(a[i], s[i]).sqrt() + eps
        } else {
            s[i].sqrt() + eps
        };
        p[i] = if MOMENTUM {
            b[i] = flush(b[i] * mu + g / avg);
            (-lr).mul_add(b[i], p[i])
        } else {
            p[i] + (-lr * g) / avg
        };
    }
}

/// RMSprop as DeepMind's Nature-DQN code (`NeuralQLearner.lua`) writes it, in float32, for the
/// loss gradient `g` (the Lua code holds `dw = −g` and adds the step): `a ← aα + c·g`,
/// `s ← sα + c·g²` with `c = 1 − α` (the code's literals 0.95 and 0.05), `d = √((s − a²) + ε)`,
/// `p ← p − (lr·g)/d`; then `g ← 0`. Always centered, no momentum; both averages start at 0.
#[inline(always)]
pub(super) fn rmsprop_nature(
    cfg: &RMSpropConfig,
    p: &mut [f32],
    g: &mut [f32],
    square_avg: &mut [f32],
    grad_avg: &mut [f32],
) {
    let n = p.len();
    let (lr, eps, alpha) = (cfg.lr as f32, cfg.eps as f32, cfg.alpha as f32);
    let c = (1.0 - cfg.alpha) as f32;
    let (g, s, a) = (&mut g[..n], &mut square_avg[..n], &mut grad_avg[..n]);
    for i in 0..n {
        let g = std::mem::take(&mut g[i]);
        a[i] = flush(a[i] * alpha + c * g);
        s[i] = flush(s[i] * alpha + c * (g * g));
        p[i] -= (lr * g) / ((s[i] - a[i] * a[i]) + eps).sqrt();
    }
}
