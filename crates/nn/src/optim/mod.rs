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
use adam::{adam, adam_dezero, adam_torch};
pub use dfdx_optimizer::DfdxOptimizer;
use rmsprop::{rmsprop, rmsprop_nature, rmsprop_tf1, rmsprop_torch};

mod adam;
mod dfdx_optimizer;
mod rmsprop;

/// One optimizer step over the parameters of a module `M` on device `D`.
pub trait StepOptimizer<M, D: Storage<f32>> {
    /// Update every parameter of `net` from `grads` (all parameters must have one), and leave
    /// those gradients zeroed for the next backward pass.
    fn step(&mut self, net: &mut M, grads: &mut Gradients<f32, D>) -> Result<(), StepError>;

    /// The optimizer's state, for a checkpoint (devices whose optimizer keeps it out of reach
    /// cannot be checkpointed).
    fn save(&self) -> Result<OptimizerState, StepError> {
        Err(StepError(
            "this device's optimizer cannot be checkpointed (only the CPU's)".into(),
        ))
    }

    /// Put back a state from [`StepOptimizer::save`] of the same rule and network.
    fn load(&mut self, _state: OptimizerState) -> Result<(), StepError> {
        Err(StepError(
            "this device's optimizer cannot be checkpointed (only the CPU's)".into(),
        ))
    }
}

/// An [`Optimizer`]'s state: its step count and each parameter tensor's moments.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct OptimizerState {
    pub steps: i32,
    /// Per parameter tensor: Adam `[m, v, []]`, RMSprop `[square_avg, grad_avg, momentum]`.
    pub moments: Vec<[Vec<f32>; 3]>,
}

/// An optimizer step failed on the device.
#[derive(Debug, thiserror::Error)]
#[error("optimizer step: {0}")]
pub struct StepError(pub(crate) String);

impl<M: TensorCollection<f32, Cpu>> StepOptimizer<M, Cpu> for Optimizer {
    fn step(&mut self, net: &mut M, grads: &mut Gradients<f32, Cpu>) -> Result<(), StepError> {
        Optimizer::step(self, net, grads).map_err(|e| StepError(format!("{e:?}")))
    }

    fn save(&self) -> Result<OptimizerState, StepError> {
        Ok(OptimizerState {
            steps: self.steps,
            moments: self.params.iter().map(|p| p.state.clone()).collect(),
        })
    }

    /// The parameters' host copies are not saved: with no pin, the next step reads them from
    /// the (restored) tensors.
    fn load(&mut self, state: OptimizerState) -> Result<(), StepError> {
        self.steps = state.steps;
        self.params = state
            .moments
            .into_iter()
            .map(|state| Param {
                values: vec![0.0; state[0].len()],
                state,
                pin: None,
            })
            .collect();
        Ok(())
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
