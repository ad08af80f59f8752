//! Adam and RMSprop in branch-free loops over slices that the compiler vectorises (dfdx's CPU
//! RMSprop is a scalar loop that branches on its config for every element: 36% of a MinAtar run,
//! `bench/profile/`). RMSprop comes in the forms its sources define ([`RmsForm`]): dfdx 0.13's
//! (the default, bit-identical to `dfdx::optim::RMSprop`, as is Adam to `dfdx::optim::Adam`:
//! same operations in the same order, SIMD `sqrt`/`div` round correctly and Rust never fuses a
//! multiply-add), TF1's `RMSPropOptimizer`, PyTorch's `torch.optim.RMSprop` and DeepMind's
//! Nature-DQN code, each in its source's order of operations (checked against recordings of
//! PyTorch and float32 transcriptions of the others, `tests/data/optim/`).
//!
//! One deliberate difference from every source: a moment estimate that falls below the
//! smallest normal `f32` is stored as 0 ([`flush`]). A parameter whose gradient stays 0 (a dead
//! ReLU unit's weights) otherwise has its moments decay into the subnormal range and stick there
//! (round-to-nearest keeps `0.9 × 2⁻¹⁴⁹` at `2⁻¹⁴⁹`), and on Intel cores every operation on a
//! subnormal takes a microcode assist: Adam was 52% of a CartPole run on this project's Xeon
//! machines. The flushed values only ever fed steps far below the parameters' last bit, so the
//! parameters come out the same (tested below, and the runs' `episodes.csv` are bit-identical).
//! Each parameter's values stay on the host between steps (read back from the tensor only when
//! it no longer holds them, [`StoragePin`]), and each gradient is zeroed as it is read, so a step
//! makes one pass over the gradients and one write per parameter tensor.
//!
//! [`StepOptimizer`] is what the agent calls: [`Optimizer`] implements it on the CPU, and
//! [`DfdxOptimizer`] (dfdx's own Adam / RMSprop, with kernels on every dfdx device) elsewhere.

use dfdx::nn::tensor_collection::{
    RecursiveWalker, TensorCollection, TensorOptions, TensorVisitor, ViewTensorMut,
};
use dfdx::prelude::*;

use crate::pinned::StoragePin;

/// One optimizer step over the parameters of a module `M` on device `D`.
pub trait StepOptimizer<M, D: Storage<f32>> {
    /// Update every parameter of `net` from `grads` (all parameters must have one), and leave
    /// those gradients zeroed for the next backward pass.
    fn step(&mut self, net: &mut M, grads: &mut Gradients<f32, D>) -> Result<(), StepError>;
}

/// An optimizer step failed on the device.
#[derive(Debug, thiserror::Error)]
#[error("optimizer step: {0}")]
pub struct StepError(String);

impl<M: TensorCollection<f32, Cpu>> StepOptimizer<M, Cpu> for Optimizer {
    fn step(&mut self, net: &mut M, grads: &mut Gradients<f32, Cpu>) -> Result<(), StepError> {
        Optimizer::step(self, net, grads).map_err(|e| StepError(format!("{e:?}")))
    }
}

/// dfdx's own optimizers for a module `M` on device `D` (the same arithmetic as [`Optimizer`]:
/// the tests below check it bit for bit on the CPU).
pub enum DfdxOptimizer<M, D: Device<f32>> {
    Adam(dfdx::optim::Adam<M, f32, D>),
    RmsProp(dfdx::optim::RMSprop<M, f32, D>),
}

impl<M: TensorCollection<f32, D>, D: Device<f32>> DfdxOptimizer<M, D> {
    /// The optimizer of `rule` for the parameters of `net`; dfdx has its own Adam and RMSprop
    /// only (config validation keeps the other forms off these devices).
    pub fn new(net: &M, rule: Rule) -> Result<Self, StepError> {
        match rule {
            Rule::Adam(cfg) => Ok(DfdxOptimizer::Adam(dfdx::optim::Adam::new(net, cfg))),
            Rule::RmsProp(RmsForm::Dfdx, cfg) => {
                Ok(DfdxOptimizer::RmsProp(dfdx::optim::RMSprop::new(net, cfg)))
            }
            Rule::RmsProp(form, _) => Err(StepError(format!(
                "RMSprop as {} runs it has no dfdx kernel (only \"rmsprop\", dfdx's own)",
                form.source()
            ))),
            Rule::AdamTorch(_) | Rule::AdamDezero(_) => Err(StepError(
                "this Adam has no dfdx kernel (only \"adam\", dfdx's own)".into(),
            )),
        }
    }
}

impl<M: TensorCollection<f32, D>, D: Device<f32>> StepOptimizer<M, D> for DfdxOptimizer<M, D> {
    fn step(&mut self, net: &mut M, grads: &mut Gradients<f32, D>) -> Result<(), StepError> {
        use dfdx::optim::Optimizer as _;
        match self {
            DfdxOptimizer::Adam(o) => o.update(net, grads),
            DfdxOptimizer::RmsProp(o) => o.update(net, grads),
        }
        .map_err(|e| StepError(format!("{e:?}")))?;
        net.try_zero_grads(grads)
            .map_err(|e| StepError(format!("{e:?}")))
    }
}

/// The update rule and its hyperparameters (dfdx's configs; weight decay is not supported).
#[derive(Debug, Clone)]
pub enum Rule {
    /// Adam (Kingma & Ba 2015) in dfdx's arithmetic: ε added to `√v̂` after the bias
    /// corrections (the form of PyTorch and optax; TF1's ε̂ form adds it before), the
    /// corrections computed in f32.
    Adam(AdamConfig),
    /// Adam as PyTorch's `_single_tensor_adam` computes it (the same form; the corrections
    /// in f64 and folded into the step size, `m` updated by ATen's fused `lerp`).
    AdamTorch(AdamConfig),
    /// Adam as DeZero (the chapter's framework) computes it: ε added before the bias
    /// correction (Kingma & Ba's "efficient" ordering, TF1's ε̂ form).
    AdamDezero(AdamConfig),
    /// RMSprop in the form of one source (`lr`, `alpha`, `eps`, `centered`, `momentum`).
    RmsProp(RmsForm, RMSpropConfig),
}

/// RMSprop as each source defines it. They differ in where ε goes, where the averages start,
/// how the momentum buffer is scaled, and their order of operations (so their rounding):
///
/// | form | ε | `s`, `a` start | step (`d` the denominator) |
/// |---|---|---|---|
/// | `Dfdx` | `√(s + ε)` | 1, 0 | `p −= lr·b`, `b ← μb + g/d` |
/// | `Tf1` | `√(s + ε)` | 1, 0 | `p −= b`, `b ← μb + lr·g/d` |
/// | `Torch` | `√s + ε` | 0, 0 | `p −= lr·b`, `b ← μb + g/d` |
/// | `Nature` | `√(s + ε)` | 0, 0 | `p −= lr·g/d` (centered, no momentum) |
///
/// With ε = 0.01 (the DQN papers') the first two steps are up to 10× apart:
/// `√(v + 0.01) ≥ 0.1` against `√v + 0.01 ≥ 0.01`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RmsForm {
    /// dfdx 0.13's `RMSprop` (`tensor_ops/rmsprop/cpu_kernel.rs`).
    Dfdx,
    /// TensorFlow 1's `RMSPropOptimizer` (`training_ops.cc`: `ApplyRMSProp`,
    /// `ApplyCenteredRMSProp`; `rmsprop.py`: the `rms` slot starts at ones).
    Tf1,
    /// PyTorch's `torch.optim.RMSprop` (`_single_tensor_rmsprop`, the CPU path).
    Torch,
    /// DeepMind's Nature-DQN code (`dqn/NeuralQLearner.lua`, `qLearnMinibatch`).
    Nature,
}

impl RmsForm {
    /// The source, for messages.
    pub fn source(self) -> &'static str {
        match self {
            RmsForm::Dfdx => "dfdx",
            RmsForm::Tf1 => "TF1's RMSPropOptimizer",
            RmsForm::Torch => "PyTorch's torch.optim.RMSprop",
            RmsForm::Nature => "DeepMind's NeuralQLearner.lua",
        }
    }

    /// The square average's starting value.
    fn square_avg_start(self) -> f32 {
        match self {
            RmsForm::Dfdx | RmsForm::Tf1 => 1.0,
            RmsForm::Torch | RmsForm::Nature => 0.0,
        }
    }
}

/// An optimizer over every parameter tensor of a module, in the module's visiting order.
pub struct Optimizer {
    rule: Rule,
    /// Updates done so far (Adam's `t` after the next one is `steps + 1`).
    steps: i32,
    /// Per parameter tensor, in visiting order.
    params: Vec<Param>,
}

/// One parameter tensor's optimizer state and its values on the host.
struct Param {
    /// Adam `[m, v]`, RMSprop `[square_avg, grad_avg, momentum]`.
    state: [Vec<f32>; 3],
    /// The values last written to the tensor (read back only when it no longer holds them).
    values: Vec<f32>,
    /// Whether the tensor still holds `values`.
    pin: Option<StoragePin>,
}

impl Optimizer {
    pub fn new(rule: Rule) -> Self {
        Optimizer {
            rule,
            steps: 0,
            params: Vec::new(),
        }
    }

    /// One update of every parameter of `net` from `grads` (all parameters must have one),
    /// zeroing each gradient as it is used (it is read once, while in cache; a separate pass
    /// such as dfdx's `zero_grads` would read the whole gradient again).
    pub fn step<M: TensorCollection<f32, Cpu>>(
        &mut self,
        net: &mut M,
        grads: &mut Gradients<f32, Cpu>,
    ) -> Result<(), CpuError> {
        let mut visitor = Visit {
            opt: self,
            grads,
            index: 0,
        };
        M::iter_tensors(&mut RecursiveWalker {
            m: net,
            f: &mut visitor,
        })?;
        self.steps += 1;
        Ok(())
    }

    /// Parameter `index` (in visiting order) of `n` values, created on first use.
    fn param(&mut self, index: usize, n: usize) -> &mut Param {
        if self.params.len() <= index {
            let (first, rms) = match self.rule {
                Rule::Adam(_) | Rule::AdamTorch(_) | Rule::AdamDezero(_) => (0.0, false),
                Rule::RmsProp(form, _) => (form.square_avg_start(), true),
            };
            let state = [
                vec![first; n],
                vec![0.0; n],
                vec![0.0; if rms { n } else { 0 }],
            ];
            self.params.push(Param {
                state,
                values: vec![0.0; n],
                pin: None,
            });
        }
        &mut self.params[index]
    }

    /// Update parameter `index`'s host values in place; zeroes `grad`.
    fn update(&mut self, index: usize, grad: &mut [f32]) {
        let step = Step {
            rule: &self.rule,
            t: self.steps + 1,
        };
        let Param { state, values, .. } = &mut self.params[index];
        let [a, b, c] = state;
        #[cfg(target_arch = "x86_64")]
        if std::is_x86_feature_detected!("avx") && std::is_x86_feature_detected!("fma") {
            // SAFETY: AVX and FMA are available.
            unsafe { step.apply_avx_fma(values, grad, [a, b, c]) };
            return;
        }
        #[cfg(target_arch = "x86_64")]
        if std::is_x86_feature_detected!("avx") {
            // SAFETY: AVX is available.
            unsafe { step.apply_avx(values, grad, [a, b, c]) };
            return;
        }
        step.apply(values, grad, [a, b, c]);
    }
}

/// For `sweep bench`: microseconds one step of `rule` takes over `n` parameters held in one
/// host vector (the update loop alone: no tensors, visitors or copies), the least over
/// `rounds` rounds of `iters` steps. Each step is fed a fresh gradient; the time to refill it
/// is measured alone and subtracted.
pub fn step_floor_us(rule: &Rule, n: usize, iters: usize, rounds: usize) -> f64 {
    let mut opt = Optimizer::new(rule.clone());
    opt.param(0, n);
    let fresh: Vec<f32> = (0..n).map(|i| ((i % 13) as f32 - 6.0) * 1e-3).collect();
    let mut grad = fresh.clone();
    let mut least = |with_step: bool| {
        (0..rounds.max(1))
            .map(|_| {
                let start = std::time::Instant::now();
                for _ in 0..iters {
                    grad.copy_from_slice(std::hint::black_box(&fresh));
                    if with_step {
                        opt.update(0, &mut grad);
                        opt.steps += 1;
                    }
                    std::hint::black_box(&mut grad);
                }
                start.elapsed().as_secs_f64()
            })
            .fold(f64::INFINITY, f64::min)
    };
    let refill = least(false);
    let both = least(true);
    (both - refill).max(0.0) / iters.max(1) as f64 * 1e6
}

/// One parameter tensor's update under `rule` at step `t` (from 1).
struct Step<'a> {
    rule: &'a Rule,
    t: i32,
}

impl Step<'_> {
    /// The loops of [`adam`] and [`rmsprop`] compiled for 8-lane AVX registers: the same
    /// IEEE operations (no contraction into FMA), so the same bits as the baseline build.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx")]
    unsafe fn apply_avx(&self, p: &mut [f32], g: &mut [f32], state: [&mut Vec<f32>; 3]) {
        self.apply(p, g, state)
    }

    /// The same with FMA instructions for the explicit `mul_add`s of [`rmsprop_torch`] (Rust
    /// never contracts a plain `a * b + c`, so the other loops keep their bits).
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx,fma")]
    unsafe fn apply_avx_fma(&self, p: &mut [f32], g: &mut [f32], state: [&mut Vec<f32>; 3]) {
        self.apply(p, g, state)
    }

    #[inline(always)]
    fn apply(&self, p: &mut [f32], g: &mut [f32], [a, b, c]: [&mut Vec<f32>; 3]) {
        // One loop per form and mode, each compiled without branches on the config.
        macro_rules! modes {
            ($f:ident, $cfg:expr) => {
                match ($cfg.centered, $cfg.momentum) {
                    (false, None) => $f::<false, false>($cfg, p, g, a, b, c),
                    (false, Some(_)) => $f::<false, true>($cfg, p, g, a, b, c),
                    (true, None) => $f::<true, false>($cfg, p, g, a, b, c),
                    (true, Some(_)) => $f::<true, true>($cfg, p, g, a, b, c),
                }
            };
        }
        match self.rule {
            Rule::Adam(cfg) => adam(cfg, self.t, p, g, a, b),
            Rule::AdamTorch(cfg) => adam_torch(cfg, self.t, p, g, a, b),
            Rule::AdamDezero(cfg) => adam_dezero(cfg, self.t, p, g, a, b),
            Rule::RmsProp(RmsForm::Dfdx, cfg) => modes!(rmsprop, cfg),
            Rule::RmsProp(RmsForm::Tf1, cfg) => modes!(rmsprop_tf1, cfg),
            Rule::RmsProp(RmsForm::Torch, cfg) => modes!(rmsprop_torch, cfg),
            Rule::RmsProp(RmsForm::Nature, cfg) => rmsprop_nature(cfg, p, g, a, b),
        }
    }
}

/// Adam step `t` (from 1): `m ← β₁m + (1−β₁)g`, `v ← β₂v + (1−β₂)g²`,
/// `p ← p − lr · m̂ / (√v̂ + ε)` with `m̂ = m / (1−β₁ᵗ)`, `v̂ = v / (1−β₂ᵗ)`; then `g ← 0`.
#[inline(always)]
fn adam(cfg: &AdamConfig, t: i32, p: &mut [f32], g: &mut [f32], m: &mut [f32], v: &mut [f32]) {
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
fn adam_torch(
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
fn adam_dezero(
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

/// ATen's `lerp(start, end, w)` as its vector kernel computes it: one fused multiply-add from
/// the nearer end (`start + w(end − start)` for |w| < ½, else `end − (1 − w)(end − start)`).
#[inline(always)]
fn aten_lerp(start: f32, end: f32, w: f32) -> f32 {
    if w.abs() < 0.5 {
        w.mul_add(end - start, start)
    } else {
        (w - 1.0).mul_add(end - start, end)
    }
}

/// `x`, or 0 when it is subnormal: an optimizer state at its mathematical limit instead of stuck
/// in the subnormal range (see the module docs).
#[inline(always)]
fn flush(x: f32) -> f32 {
    if x.abs() < f32::MIN_POSITIVE {
        0.0
    } else {
        x
    }
}

/// RMSprop: `s ← s + (1−α)(g² − s)`; centered: `a ← a + (1−α)(g − a)`, `d = √(s − a² + ε)`,
/// else `d = √(s + ε)`; with momentum μ: `b ← μb + g/d`, `p ← p − lr·b`, else `p ← p − lr·g/d`;
/// then `g ← 0`.
#[inline(always)]
fn rmsprop<const CENTERED: bool, const MOMENTUM: bool>(
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
fn rmsprop_tf1<const CENTERED: bool, const MOMENTUM: bool>(
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
fn rmsprop_torch<const CENTERED: bool, const MOMENTUM: bool>(
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
fn rmsprop_nature(
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

/// Visits the parameter tensors in order and updates each.
struct Visit<'a> {
    opt: &'a mut Optimizer,
    grads: &'a mut Gradients<f32, Cpu>,
    index: usize,
}

impl TensorVisitor<f32, Cpu> for Visit<'_> {
    type Viewer = ViewTensorMut;
    type Err = CpuError;
    type E2 = f32;
    type D2 = Cpu;

    fn visit<S: Shape>(
        &mut self,
        opts: TensorOptions<S, f32, Cpu>,
        p: &mut Tensor<S, f32, Cpu>,
    ) -> Result<Option<Tensor<S, f32, Cpu>>, CpuError> {
        if !opts.do_gradient_update {
            return Ok(None);
        }
        let n = p.shape().num_elements();
        if n > 0 {
            let param = self.opt.param(self.index, n);
            // Taking the pin also drops it, so the write below finds the storage unshared.
            if !param.pin.take().is_some_and(|pin| pin.holds(p)) {
                p.copy_into(&mut param.values);
            }
            let grad = self.grads.get_or_alloc_mut(p)?;
            self.opt.update(self.index, grad);
            let param = &mut self.opt.params[self.index];
            p.copy_from(&param.values);
            param.pin = Some(StoragePin::new(p));
        }
        self.index += 1;
        Ok(None)
    }
}

#[cfg(test)]
mod sources;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::{gradients as grads_of, values as params};
    use crate::{Batch, DenseLinear, DenseRelu, DuelingHead, QFunction, Traced};
    use dfdx::nn::builders::SplitInto;

    /// The chapter's MLP and the dueling network on CartPole's 4 inputs, as `dqn-agent` builds them.
    type QNetMlp = (DenseRelu<4, 128>, DenseRelu<128, 128>, DenseLinear<128, 2>);
    type DuelingQNet = (
        DenseRelu<4, 128>,
        SplitInto<(
            (DenseRelu<128, 128>, DenseLinear<128, 1>),
            (DenseRelu<128, 128>, DenseLinear<128, 2>),
        )>,
        DuelingHead<2>,
    );

    fn loss<M: QFunction<4, 2>>(net: &mut M, x: &[f32]) -> Gradients<f32, Cpu> {
        let dev: Cpu = Default::default();
        let x: Batch<4, Traced> = dev
            .tensor_from_vec(x.to_vec(), (x.len() / 4, Const::<4>))
            .traced(net.alloc_grads());
        net.forward_mut(x).square().mean().backward()
    }

    /// 200 steps of ours and of dfdx's optimizer on copies of one net, fed the same inputs,
    /// leave bit-identical parameters, and both leave the gradients zeroed.
    fn same_bits_as_dfdx<M: QFunction<4, 2>>(net: M, rule: Rule) {
        let (mut ours, mut theirs) = (net.clone(), net);
        let mut opt = Optimizer::new(rule.clone());
        let mut reference = DfdxOptimizer::new(&theirs, rule).unwrap();
        let mut x: Vec<f32> = (0..32).map(|i| (i as f32 * 0.37).sin()).collect();
        for step in 0..200 {
            x.rotate_left(3);
            let mut g = loss(&mut ours, &x);
            assert!(grads_of(&ours, &g).concat().iter().any(|v| *v != 0.0));
            opt.step(&mut ours, &mut g).unwrap();
            let zeroed = |net: &M, g| grads_of(net, g).concat().iter().all(|v| *v == 0.0);
            assert!(zeroed(&ours, &g), "ours, step {step}");
            let mut g = loss(&mut theirs, &x);
            StepOptimizer::step(&mut reference, &mut theirs, &mut g).unwrap();
            assert!(zeroed(&theirs, &g), "dfdx's, step {step}");
            assert_eq!(params(&ours), params(&theirs), "step {step}");
        }
    }

    #[test]
    fn adam_matches_dfdx_bit_for_bit() {
        let dev: Cpu = Cpu::seed_from_u64(7);
        let adam = |lr| {
            Rule::Adam(AdamConfig {
                lr,
                ..Default::default()
            })
        };
        same_bits_as_dfdx(dev.build_module::<QNetMlp, f32>(), adam(1e-3));
        same_bits_as_dfdx(dev.build_module::<DuelingQNet, f32>(), adam(5e-4));
    }

    /// Gradients that stop for long enough drive the moments into the subnormal range (shown by
    /// replaying Adam's first moment and RMSprop's square average without the flush), where we
    /// store 0 and dfdx keeps them; the parameters stay bit-identical to dfdx's, during the
    /// pause and after the gradients return.
    #[test]
    fn flushed_moments_leave_the_parameters_as_dfdx_would() {
        const N: usize = 64;
        let (pause, rms_alpha) = (80_000, 0.95f32);
        let grad = |step: usize, i: usize| -> f32 {
            if (20..20 + pause).contains(&step) {
                0.0
            } else {
                ((step * 7 + i * 13) as f32 * 0.1).sin() * 1e-2
            }
        };
        let rms = RMSpropConfig {
            lr: 2.5e-4,
            alpha: rms_alpha.into(),
            eps: 0.01,
            momentum: Some(0.9),
            centered: true,
            weight_decay: None,
        };
        for rule in [
            Rule::Adam(AdamConfig::default()),
            Rule::RmsProp(RmsForm::Dfdx, rms),
        ] {
            let dev: Cpu = Cpu::seed_from_u64(1);
            let start: Tensor<Rank1<N>, f32, Cpu> = dev.sample_normal();
            let (mut ours, mut theirs) = (start.clone(), start.clone());
            let mut opt = Optimizer::new(rule.clone());
            let mut reference = DfdxOptimizer::new(&theirs, rule.clone()).unwrap();
            // Adam's m (β₁ = 0.9) or RMSprop's square average, without the flush.
            let mut unflushed = [if matches!(rule, Rule::Adam(_)) {
                0.0f32
            } else {
                1.0
            }; N];
            let mut went_subnormal = false;
            for step in 0..40 + pause {
                for (net, step_with) in [(&mut ours, 0), (&mut theirs, 1)] {
                    let mut g = net.alloc_grads();
                    for (i, v) in g.get_or_alloc_mut(net).unwrap().iter_mut().enumerate() {
                        *v = grad(step, i);
                    }
                    if step_with == 0 {
                        opt.step(net, &mut g).unwrap();
                    } else {
                        StepOptimizer::step(&mut reference, net, &mut g).unwrap();
                    }
                }
                for (i, u) in unflushed.iter_mut().enumerate() {
                    let g = grad(step, i);
                    *u = match rule {
                        Rule::Adam(_) => *u * 0.9 + g * (1.0 - 0.9),
                        Rule::RmsProp(..) => *u + (1.0 - rms_alpha) * (g * g - *u),
                        Rule::AdamTorch(_) | Rule::AdamDezero(_) => unreachable!("not here"),
                    };
                    went_subnormal |= u.is_subnormal();
                }
                if step == 19 + pause {
                    let first = &opt.params[0].state[0];
                    assert!(first.iter().all(|m| *m == 0.0), "{rule:?}: flushed to 0");
                }
                if step % 1000 == 0 || step >= 20 + pause {
                    assert_eq!(ours.as_vec(), theirs.as_vec(), "{rule:?}, step {step}");
                }
            }
            assert!(
                went_subnormal,
                "{rule:?}: the moments never left the normal range"
            );
            assert!(
                opt.params[0].state[0].iter().all(|m| *m != 0.0),
                "gradients returned"
            );
        }
    }

    #[test]
    fn rmsprop_matches_dfdx_bit_for_bit_in_every_mode() {
        let dev: Cpu = Cpu::seed_from_u64(9);
        for (centered, momentum) in [
            (false, None),
            (true, None),
            (false, Some(0.9)),
            (true, Some(0.95)),
        ] {
            let rule = Rule::RmsProp(
                RmsForm::Dfdx,
                RMSpropConfig {
                    lr: 2.5e-4,
                    alpha: 0.95,
                    eps: 0.01,
                    momentum,
                    centered,
                    weight_decay: None,
                },
            );
            same_bits_as_dfdx(dev.build_module::<QNetMlp, f32>(), rule);
        }
    }
}
