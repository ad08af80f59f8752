//! Convolutional Q-networks — the MinAtar network (Young & Tian 2019) and the Nature DQN
//! network (Mnih et al. 2015), plain and dueling — as dfdx 0.13 modules on stable Rust.
//!
//! # What this module owns
//! - [`EncodeObs`]: how one channel-first `u8` observation becomes the network input, namely the
//!   first convolution's im2col patches ([`encode_minatar`], [`encode_nature`]).
//! - The layers: [`PatchConvRelu`] (first conv, on host-cut patches), [`GatherConvRelu`] (later
//!   convs, im2col with gradients), [`DenseRelu`] / [`DenseLinear`] (fully connected) and
//!   [`RowsToBatch`] (flatten).
//! - The networks [`MinAtarQNet`], [`MinAtarDuelingQNet`], [`NatureQNet`], [`NatureDuelingQNet`]
//!   and one alias per observation channel count. Each builder maps `Batch<IN>` to `Batch<ACT>`
//!   (its built module is a `QFunction<IN, ACT>`, built with `network::build::<B, _>`) and is a
//!   `QNetKind<u8, IN, ACT>`.
//!
//! # Why convolutions are built this way
//! dfdx 0.13 compiles `Conv2D` only behind its `nightly` feature (it needs
//! `generic_const_exprs`, and the nightly `gemm` it enables no longer builds). So every
//! convolution here is im2col + one matrix product with dfdx's stable `matmul` (`gemm`):
//! - The first layer's input is the observation, which needs no gradient. Its patches are cut
//!   on the host ([`EncodeObs::try_encode`]), so the network input *is* the patch matrix; the
//!   layer is one matmul, and its backward computes only the weight and bias gradients.
//! - Later conv layers need the gradient w.r.t. their input: they gather each output position's
//!   patch from the previous activation (a fixed loop nest over static shapes, so there are no
//!   index tensors to build or cache), do one matmul, and scatter-add the patch gradients back
//!   (col2im) in backward.
//! - Const expressions such as `{9 * C}` are not allowed on stable, so the derived sizes are
//!   extra const parameters (`PATCH`, `IN`), checked at compile time where a type is used.
//!
//! Each layer is a custom tape operation (`Tape::add_backward_op`): dfdx's matmul does the
//! heavy lifting, and bias + ReLU (+ its gradient mask) run as one pass over the output. At
//! these sizes dfdx's generic elementwise kernels (strided bias broadcast, ReLU, and their
//! backward) would cost as much as the matrix products.
//!
//! # Layouts
//! - Conv activations are "rows", channels last: `(B·H·W, C)`, row `(b·H + y)·W + x`. The
//!   flatten before the dense layers is therefore in `(y, x, c)` order — PyTorch flattens
//!   `(c, y, x)`; the two differ by a fixed permutation of the first dense layer's inputs.
//! - Weights are `out × in` like dfdx's `Linear` (fan-in = second dimension, as the DeZero
//!   initialisation in `network::build` assumes). The first conv's patch order is
//!   `(c, ky, kx)` (PyTorch's `weight.reshape(out, -1)`), a gathered conv's is `(ky, kx, c)`.
//! - CPU only. The layers are generic over the float type (tests check gradients in `f64`).
//!   The module's own loops are sequential; same inputs give bit-identical outputs and
//!   gradients run to run (tested).

use crate::agent::network::{DuelingHead, QFunction, QNetKind};
use dfdx::nn::builders::SplitInto;
use dfdx::nn::{BuildOnDevice, Module, NonMutableModule, ZeroSizedModule};
use dfdx::nn::{ModuleVisitor, TensorCollection, TensorOptions};
use dfdx::shapes::{Const, Dtype, HasShape, Rank1, Rank2, Shape};
use dfdx::tensor::TensorFromVec;
use dfdx::tensor::{Cpu, CpuError, Gradients, PutTape, SplitTape, Storage, Tape, Tensor};
use dfdx::tensor_ops::{Device, PermuteTo, ReshapeTo, TryMatMul};
use rand_distr::uniform::SampleUniform;
use rand_distr::Uniform;
use std::fmt;

// ---------------------------------------------------------------------------------------------
// Observation encoding (host-side im2col of the first layer)
// ---------------------------------------------------------------------------------------------

/// Why an observation could not be encoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EncodeError {
    /// The observation slice does not hold `C × side × side` bytes.
    ObsLen { expected: usize, got: usize },
    /// The output slice does not hold the network's `IN` values.
    OutLen { expected: usize, got: usize },
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EncodeError::ObsLen { expected, got } => {
                write!(
                    f,
                    "observation has {got} bytes, the network expects {expected}"
                )
            }
            EncodeError::OutLen { expected, got } => {
                write!(
                    f,
                    "encoding buffer has {got} values, the network takes {expected}"
                )
            }
        }
    }
}

impl std::error::Error for EncodeError {}

/// How one observation (channel-first `u8`) becomes the network's `IN` input values.
pub trait EncodeObs {
    /// Bytes of one observation: `C × side × side`, channel-first `(c, y, x)`.
    const OBS_LEN: usize;
    /// Input values per observation (the `IN` of `Batch<IN>`).
    const IN: usize;

    /// Encode one observation into `out` (`IN` values).
    fn try_encode(obs: &[u8], out: &mut [f32]) -> Result<(), EncodeError>;

    /// Encode a batch of observations into `out`, row-major `observations.len() × IN`.
    fn try_encode_batch(observations: &[&[u8]], out: &mut [f32]) -> Result<(), EncodeError> {
        let expected = observations.len() * Self::IN;
        if out.len() != expected {
            return Err(EncodeError::OutLen {
                expected,
                got: out.len(),
            });
        }
        for (obs, row) in observations.iter().zip(out.chunks_exact_mut(Self::IN)) {
            Self::try_encode(obs, row)?;
        }
        Ok(())
    }
}

fn check_lengths(obs: &[u8], out: &[f32], obs_len: usize, inp: usize) -> Result<(), EncodeError> {
    if obs.len() != obs_len {
        return Err(EncodeError::ObsLen {
            expected: obs_len,
            got: obs.len(),
        });
    }
    if out.len() != inp {
        return Err(EncodeError::OutLen {
            expected: inp,
            got: out.len(),
        });
    }
    Ok(())
}

/// im2col of one channel-first `C × SIDE × SIDE` image for a `K × K`, stride-`S` convolution
/// without padding. Output row `p = oy·OUT + ox` (`OUT = (SIDE − K)/S + 1`) is the patch under
/// that position in `(c, ky, kx)` order, each byte mapped through `value`:
/// `out[p·C·K² + (c·K + ky)·K + kx] = value(obs[c, S·oy + ky, S·ox + kx])`.
/// Lengths must have been checked by the caller.
fn im2col<const C: usize, const SIDE: usize, const K: usize, const S: usize>(
    obs: &[u8],
    out: &mut [f32],
    value: impl Fn(u8) -> f32,
) {
    let image: Vec<f32> = obs.iter().map(|&v| value(v)).collect();
    let (side_out, patch) = ((SIDE - K) / S + 1, C * K * K);
    for c in 0..C {
        for ky in 0..K {
            for oy in 0..side_out {
                // Image line S·oy + ky of channel c feeds kernel row ky of every patch of
                // output row oy: patch ox takes its K values from column S·ox on.
                let line = &image[(c * SIDE + S * oy + ky) * SIDE..][..SIDE];
                let first = oy * side_out * patch + (c * K + ky) * K;
                let runs = out[first..].chunks_mut(patch);
                for (src, dst) in line.windows(K).step_by(S).zip(runs) {
                    dst[..K].copy_from_slice(src);
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Custom tape operations
// ---------------------------------------------------------------------------------------------

/// A CPU matrix with a dynamic number of rows of `N` values.
type RowMatrix<const N: usize, E> = Tensor<(usize, Const<N>), E, Cpu>;

/// The values of a contiguous CPU tensor, in memory order.
fn host<S: Shape, E: Dtype, T>(t: &Tensor<S, E, Cpu, T>) -> Vec<E> {
    let mut values = vec![E::default(); t.shape().num_elements()];
    t.copy_into(&mut values);
    values
}

/// The gradient buffer of `t` in `grads` (allocated as zeros if absent).
///
/// A separate function so that `Cpu`'s gradient storage type resolves to a slice: inside
/// functions bounded by `Cpu: Device<E>` rustc cannot normalise `<Cpu as Storage<E>>::Vec`.
fn grad_of<'a, S: Shape, E: Dtype>(
    grads: &'a mut Gradients<E, Cpu>,
    t: &Tensor<S, E, Cpu>,
) -> Result<&'a mut [E], CpuError> {
    Ok(grads.get_or_alloc_mut(t)?.as_mut_slice())
}

/// Takes the gradient buffer of `t` out of `grads` (allocated as zeros if absent), leaving it
/// empty. Used on a layer's own output, whose consumers have all run by then; the buffer
/// becomes the layer's scratch instead of being copied. (dfdx drops such non-parameter
/// gradients after `backward` anyway.)
fn take_grad<S: Shape, E: Dtype>(
    grads: &mut Gradients<E, Cpu>,
    t: &Tensor<S, E, Cpu>,
) -> Result<Vec<E>, CpuError> {
    Ok(std::mem::take(&mut **grads.get_or_alloc_mut(t)?))
}

/// Puts `out` on `tape` with `backward(grads, ∂L/∂out)` recorded as its backward operation.
fn record<S, E, T, F>(out: Tensor<S, E, Cpu>, mut tape: T, backward: F) -> Tensor<S, E, Cpu, T>
where
    S: Shape,
    E: Dtype,
    T: Tape<E, Cpu>,
    F: 'static + FnOnce(&mut Gradients<E, Cpu>, Vec<E>) -> Result<(), CpuError>,
{
    let kept = out.clone();
    tape.add_backward_op(move |grads| {
        let grad_out = take_grad(grads, &kept)?;
        backward(grads, grad_out)
    });
    out.put_tape(tape)
}

/// `max(v, 0)`.
#[inline]
fn relu<E: Dtype>(v: E) -> E {
    if v > E::default() {
        v
    } else {
        E::default()
    }
}

/// `y ← ReLU(y + b)` on each row of `N` values; returns the ReLU's gradient mask
/// `1[y > 0]` when `keep` (else an empty vector).
fn bias_relu_rows<const N: usize, E: Dtype>(y: &mut [E], bias: &[E; N], keep: bool) -> Vec<bool> {
    for row in y.chunks_exact_mut(N) {
        for (v, b) in row.iter_mut().zip(bias) {
            *v = relu(*v + *b);
        }
    }
    if keep {
        y.iter().map(|v| *v > E::default()).collect()
    } else {
        Vec::new()
    }
}

/// `g ← g · 1[active]` (the gradient through a ReLU) on rows of `N` values; returns the
/// column sums of the result (the bias gradient).
fn relu_backward_rows<const N: usize, E: Dtype>(g: &mut [E], active: &[bool]) -> [E; N] {
    let mut sums = [E::default(); N];
    for (row, on) in g.chunks_exact_mut(N).zip(active.chunks_exact(N)) {
        for ((v, on), s) in row.iter_mut().zip(on).zip(sums.iter_mut()) {
            *v = if *on { *v } else { E::default() };
            *s += *v;
        }
    }
    sums
}

/// Column sums of rows of `N` values (the bias gradient of a layer without activation).
fn column_sums<const N: usize, E: Dtype>(g: &[E]) -> [E; N] {
    let mut sums = [E::default(); N];
    for row in g.chunks_exact(N) {
        for (v, s) in row.iter().zip(sums.iter_mut()) {
            *s += *v;
        }
    }
    sums
}

/// The values of a parameter vector.
fn array_of<const N: usize, E: Dtype>(t: &Tensor<Rank1<N>, E, Cpu>) -> [E; N] {
    let mut values = [E::default(); N];
    t.copy_into(&mut values);
    values
}

/// `acc += values`, element-wise.
fn add_assign<E: Dtype>(acc: &mut [E], values: &[E]) {
    for (a, v) in acc.iter_mut().zip(values) {
        *a += *v;
    }
}

/// What a conv layer's backward needs from its forward.
struct ConvTape<const PATCH: usize, const CO: usize, E: Dtype> {
    /// The patch matrix `P` (rows × PATCH).
    patches: RowMatrix<PATCH, E>,
    /// `1[y > 0]` per output value.
    active: Vec<bool>,
    weight: Tensor<Rank2<CO, PATCH>, E, Cpu>,
    bias: Tensor<Rank1<CO>, E, Cpu>,
}

/// Forward of a conv layer's affine part and ReLU: `y = ReLU(P·Wᵀ + b)` for the patch matrix
/// `P` (rows × PATCH), `y` rows × CO. With `keep`, also what backward needs.
fn conv_relu_forward<const PATCH: usize, const CO: usize, E: Dtype>(
    patches: RowMatrix<PATCH, E>,
    weight: &Tensor<Rank2<CO, PATCH>, E, Cpu>,
    bias: &Tensor<Rank1<CO>, E, Cpu>,
    keep: bool,
) -> Result<(RowMatrix<CO, E>, Option<ConvTape<PATCH, CO, E>>), CpuError>
where
    Cpu: Device<E>,
{
    let rows = patches.shape().0;
    let z = patches.clone().try_matmul(weight.clone().try_permute()?)?;
    let mut y = host(&z);
    drop(z);
    let active = bias_relu_rows(&mut y, &array_of(bias), keep);
    let saved = keep.then(|| ConvTape {
        active,
        patches,
        weight: weight.clone(),
        bias: bias.clone(),
    });
    Ok((
        weight.device().try_tensor_from_vec(y, (rows, Const))?,
        saved,
    ))
}

impl<const PATCH: usize, const CO: usize, E: Dtype> ConvTape<PATCH, CO, E>
where
    Cpu: Device<E>,
{
    /// Backward for the parameters: with `G = ∂L/∂y · 1[y > 0]`, `∂L/∂W += Gᵀ·P` and
    /// `∂L/∂b += Σ_rows G`. Returns `G` (rows × CO), from which `∂L/∂P = G·W`.
    fn backward(
        self,
        grads: &mut Gradients<E, Cpu>,
        mut g: Vec<E>,
    ) -> Result<RowMatrix<CO, E>, CpuError> {
        let grad_b = relu_backward_rows::<CO, E>(&mut g, &self.active);
        add_assign(grad_of(grads, &self.bias)?, &grad_b);
        let rows = self.patches.shape().0;
        let g = self.bias.device().try_tensor_from_vec(g, (rows, Const))?;
        let grad_w = g.clone().try_permute()?.try_matmul(self.patches)?;
        add_assign(grad_of(grads, &self.weight)?, &host(&grad_w));
        Ok(g)
    }
}

// ---------------------------------------------------------------------------------------------
// Layers
// ---------------------------------------------------------------------------------------------

/// dfdx's (and PyTorch's) default initialisation of a layer with `FAN_IN` inputs:
/// `U(±1/√FAN_IN)`, for weights and biases alike.
fn uniform_fan_in<const FAN_IN: usize, S, E, D>(t: &mut Tensor<S, E, D>) -> Result<(), D::Err>
where
    S: Shape,
    E: Dtype + SampleUniform,
    D: Device<E>,
{
    let bound = 1.0 / (FAN_IN as f64).sqrt();
    match (E::from_f64(-bound), E::from_f64(bound)) {
        (Some(lo), Some(hi)) => t.try_fill_with_distr(Uniform::new(lo, hi)),
        _ => Ok(()),
    }
}

/// `TensorCollection::iter_tensors` of a layer with fields `weight` and `bias` and fan-in
/// `FAN_IN`, built by `make(weight, bias)`.
macro_rules! weight_bias_fields {
    ($visitor:expr, $fan_in:expr, $make:expr) => {
        $visitor.visit_fields(
            (
                Self::tensor(
                    "weight",
                    |s| &s.weight,
                    |s| &mut s.weight,
                    TensorOptions::reset_with(uniform_fan_in::<{ $fan_in }, _, _, _>),
                ),
                Self::tensor(
                    "bias",
                    |s| &s.bias,
                    |s| &mut s.bias,
                    TensorOptions::reset_with(uniform_fan_in::<{ $fan_in }, _, _, _>),
                ),
            ),
            $make,
        )
    };
}

/// Builder of [`DenseLayer`] with a ReLU: `y = ReLU(x·Wᵀ + b)`.
pub type DenseRelu<const I: usize, const O: usize> = Dense<I, O, true>;
/// Builder of [`DenseLayer`] without activation: `y = x·Wᵀ + b` (dfdx's `Linear`).
pub type DenseLinear<const I: usize, const O: usize> = Dense<I, O, false>;

/// Builder of [`DenseLayer`]: `I → O`, with a ReLU when `RELU`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Dense<const I: usize, const O: usize, const RELU: bool>;

/// A fully connected layer, `y = act(x·Wᵀ + b)`, `x: (B, I)`, `y: (B, O)`, `act` = ReLU or
/// identity. Same parameters and initialisation as dfdx's `Linear` (`W` is `O × I`).
///
/// It computes the product as `zᵀ = W·xᵀ` (dfdx's taped matmul, so dfdx accumulates `∂L/∂W`
/// and `∂L/∂x`), then one fused pass `y[b, o] = act(zᵀ[o, b] + b[o])`. On one core `gemm` runs
/// `W·xᵀ` about 1.5× faster than `Linear`'s `x·Wᵀ` with `W` stored `O × I` at the sizes used
/// here, and the fused pass replaces dfdx's strided bias-broadcast and ReLU kernels.
#[derive(Debug, Clone)]
pub struct DenseLayer<const I: usize, const O: usize, const RELU: bool, E: Dtype, D: Storage<E>> {
    /// `O × I`.
    pub weight: Tensor<Rank2<O, I>, E, D>,
    /// `O`.
    pub bias: Tensor<Rank1<O>, E, D>,
}

impl<const I: usize, const O: usize, const RELU: bool, E, D> BuildOnDevice<D, E>
    for Dense<I, O, RELU>
where
    E: Dtype + SampleUniform,
    D: Device<E>,
{
    type Built = DenseLayer<I, O, RELU, E, D>;
}

impl<const I: usize, const O: usize, const RELU: bool, E, D> TensorCollection<E, D>
    for DenseLayer<I, O, RELU, E, D>
where
    E: Dtype + SampleUniform,
    D: Device<E>,
{
    type To<E2: Dtype, D2: Device<E2>> = DenseLayer<I, O, RELU, E2, D2>;

    fn iter_tensors<V: ModuleVisitor<Self, E, D>>(
        visitor: &mut V,
    ) -> Result<Option<Self::To<V::E2, V::D2>>, V::Err> {
        weight_bias_fields!(visitor, I, |(weight, bias)| DenseLayer { weight, bias })
    }
}

impl<const I: usize, const O: usize, const RELU: bool, E: Dtype, D: Storage<E>> NonMutableModule
    for DenseLayer<I, O, RELU, E, D>
{
}

impl<const I: usize, const O: usize, const RELU: bool, E, T>
    Module<Tensor<(usize, Const<I>), E, Cpu, T>> for DenseLayer<I, O, RELU, E, Cpu>
where
    E: Dtype,
    Cpu: Device<E>,
    T: Tape<E, Cpu>,
{
    type Output = Tensor<(usize, Const<O>), E, Cpu, T>;
    type Error = CpuError;

    fn try_forward(
        &self,
        x: Tensor<(usize, Const<I>), E, Cpu, T>,
    ) -> Result<Self::Output, CpuError> {
        let batch = x.shape().0;
        let z_t = self.weight.retaped::<T>().try_matmul(x.try_permute()?)?;
        let (z_t, tape) = z_t.split_tape();
        let y = transpose_bias_act::<O, RELU, E>(&host(&z_t), &array_of(&self.bias), batch);
        let mask = if RELU && T::OWNS_TAPE {
            y.iter().map(|v| *v > E::default()).collect()
        } else {
            Vec::new()
        };
        let out = z_t.device().try_tensor_from_vec(y, (batch, Const::<O>))?;
        if !T::OWNS_TAPE {
            return Ok(out.put_tape(tape));
        }
        let bias = self.bias.clone();
        Ok(record(out, tape, move |grads, mut g| {
            let grad_b = if RELU {
                relu_backward_rows::<O, E>(&mut g, &mask)
            } else {
                column_sums::<O, E>(&g)
            };
            add_assign(grad_of(grads, &bias)?, &grad_b);
            add_transposed::<O, E>(grad_of(grads, &z_t)?, &g, batch);
            Ok(())
        }))
    }
}

/// The dense epilogue: `y[b, o] = act(zᵀ[o, b] + bias[o])` for `zᵀ` (`O × batch`), `act` = ReLU
/// when `RELU`, else identity. Returns `y` (`batch × O`).
fn transpose_bias_act<const O: usize, const RELU: bool, E: Dtype>(
    z_t: &[E],
    bias: &[E; O],
    batch: usize,
) -> Vec<E> {
    let mut y = vec![E::default(); batch * O];
    for (b, row) in y.chunks_exact_mut(O).enumerate() {
        for ((o, v), bias) in row.iter_mut().enumerate().zip(bias) {
            let pre = z_t[o * batch + b] + *bias;
            *v = if RELU { relu(pre) } else { pre };
        }
    }
    y
}

/// `acc[o, b] += g[b, o]` for `acc` `O × batch` and `g` `batch × O`.
fn add_transposed<const O: usize, E: Dtype>(acc: &mut [E], g: &[E], batch: usize) {
    for (b, row) in g.chunks_exact(O).enumerate() {
        for (o, v) in row.iter().enumerate() {
            acc[o * batch + b] += *v;
        }
    }
}

/// Builder of [`PatchConvLayer`].
#[derive(Debug, Clone, Copy, Default)]
pub struct PatchConvRelu<const IN: usize, const PATCH: usize, const CO: usize>;

/// A convolution with ReLU whose input arrives already cut into patches by the host (see
/// [`EncodeObs`]); the network's first layer.
///
/// Input `(B, IN)`: each row is `P = IN / PATCH` patches of `PATCH` values. Output `(B·P, CO)`,
/// one row per (sample, position):
/// `y[b·P + p, o] = ReLU(Σ_j W[o, j] · x[b, p·PATCH + j] + b[o])`.
/// `W` is `CO × PATCH` (fan-in `PATCH`). The input is an observation, so backward computes only
/// `∂L/∂W` and `∂L/∂b` — no gradient flows to `x`.
#[derive(Debug, Clone)]
pub struct PatchConvLayer<const IN: usize, const PATCH: usize, const CO: usize, E, D>
where
    E: Dtype,
    D: Storage<E>,
{
    /// `CO × PATCH`.
    pub weight: Tensor<Rank2<CO, PATCH>, E, D>,
    /// `CO`.
    pub bias: Tensor<Rank1<CO>, E, D>,
}

impl<const IN: usize, const PATCH: usize, const CO: usize, E, D> BuildOnDevice<D, E>
    for PatchConvRelu<IN, PATCH, CO>
where
    E: Dtype + SampleUniform,
    D: Device<E>,
{
    type Built = PatchConvLayer<IN, PATCH, CO, E, D>;
}

impl<const IN: usize, const PATCH: usize, const CO: usize, E: Dtype, D: Storage<E>>
    PatchConvLayer<IN, PATCH, CO, E, D>
{
    /// Compile-time check (evaluated where the layer is used) that `IN` is whole patches.
    const SHAPES_OK: () = assert!(
        PATCH > 0 && IN.is_multiple_of(PATCH),
        "IN must be a multiple of PATCH"
    );
    /// Patches (output positions) per sample.
    pub const POSITIONS: usize = IN / PATCH;
}

impl<const IN: usize, const PATCH: usize, const CO: usize, E, D> TensorCollection<E, D>
    for PatchConvLayer<IN, PATCH, CO, E, D>
where
    E: Dtype + SampleUniform,
    D: Device<E>,
{
    type To<E2: Dtype, D2: Device<E2>> = PatchConvLayer<IN, PATCH, CO, E2, D2>;

    fn iter_tensors<V: ModuleVisitor<Self, E, D>>(
        visitor: &mut V,
    ) -> Result<Option<Self::To<V::E2, V::D2>>, V::Err> {
        weight_bias_fields!(visitor, PATCH, |(weight, bias)| PatchConvLayer {
            weight,
            bias
        })
    }
}

impl<const IN: usize, const PATCH: usize, const CO: usize, E: Dtype, D: Storage<E>> NonMutableModule
    for PatchConvLayer<IN, PATCH, CO, E, D>
{
}

impl<const IN: usize, const PATCH: usize, const CO: usize, E, T>
    Module<Tensor<(usize, Const<IN>), E, Cpu, T>> for PatchConvLayer<IN, PATCH, CO, E, Cpu>
where
    E: Dtype,
    Cpu: Device<E>,
    T: Tape<E, Cpu>,
{
    type Output = Tensor<(usize, Const<CO>), E, Cpu, T>;
    type Error = CpuError;

    fn try_forward(
        &self,
        x: Tensor<(usize, Const<IN>), E, Cpu, T>,
    ) -> Result<Self::Output, CpuError> {
        let () = Self::SHAPES_OK;
        let (x, tape) = x.split_tape();
        let rows = x.shape().0 * Self::POSITIONS;
        let patches = x.try_reshape_like(&(rows, Const::<PATCH>))?;
        let (out, saved) = conv_relu_forward(patches, &self.weight, &self.bias, T::OWNS_TAPE)?;
        match saved {
            None => Ok(out.put_tape(tape)),
            Some(saved) => Ok(record(out, tape, move |grads, grad_out| {
                saved.backward(grads, grad_out).map(|_| ())
            })),
        }
    }
}

/// Builder of [`GatherConvLayer`].
#[derive(Debug, Clone, Copy, Default)]
pub struct GatherConvRelu<
    const SIDE: usize,
    const CI: usize,
    const K: usize,
    const S: usize,
    const CO: usize,
    const PATCH: usize,
>;

/// A `K × K`, stride-`S`, unpadded convolution with ReLU of a square `SIDE × SIDE × CI`
/// activation stored as rows: input `(B·SIDE², CI)`, row `(b·SIDE + y)·SIDE + x`; output
/// `(B·OUT², CO)` in the same layout, `OUT = (SIDE − K)/S + 1`:
///
/// `y[(b, oy, ox), o] = ReLU(Σ_{ky,kx,c} W[o, (ky·K + kx)·CI + c] · x[(b, S·oy+ky, S·ox+kx), c]
///                        + b[o])`
///
/// im2col with gradients: the patch of `(oy, ox)` is `K` contiguous runs of `K·CI` input values
/// (rows `S·ox .. S·ox + K` of input lines `S·oy + ky`), gathered into a `(B·OUT², PATCH)`
/// matrix, `PATCH = K²·CI`; then one matmul with `Wᵀ` and a fused bias + ReLU. Backward:
/// `∂L/∂W = Gᵀ·P`, and `G·W` is scatter-added back along the same runs (col2im) into `∂L/∂x`.
/// The gather pattern is a loop nest over static shapes, so no index tensors are built or cached.
#[derive(Debug, Clone)]
pub struct GatherConvLayer<
    const SIDE: usize,
    const CI: usize,
    const K: usize,
    const S: usize,
    const CO: usize,
    const PATCH: usize,
    E: Dtype,
    D: Storage<E>,
> {
    /// `CO × PATCH`, patch order `(ky, kx, c)`.
    pub weight: Tensor<Rank2<CO, PATCH>, E, D>,
    /// `CO`.
    pub bias: Tensor<Rank1<CO>, E, D>,
}

impl<
        const SIDE: usize,
        const CI: usize,
        const K: usize,
        const S: usize,
        const CO: usize,
        const PATCH: usize,
        E: Dtype + SampleUniform,
        D: Device<E>,
    > BuildOnDevice<D, E> for GatherConvRelu<SIDE, CI, K, S, CO, PATCH>
{
    type Built = GatherConvLayer<SIDE, CI, K, S, CO, PATCH, E, D>;
}

impl<
        const SIDE: usize,
        const CI: usize,
        const K: usize,
        const S: usize,
        const CO: usize,
        const PATCH: usize,
        E: Dtype,
        D: Storage<E>,
    > GatherConvLayer<SIDE, CI, K, S, CO, PATCH, E, D>
{
    const SHAPES_OK: () = assert!(
        K > 0 && S > 0 && CI > 0 && SIDE >= K && PATCH == K * K * CI,
        "GatherConv needs SIDE ≥ K and PATCH = K·K·CI"
    );
    /// Output side `(SIDE − K)/S + 1`.
    pub const OUT: usize = (SIDE - K) / S + 1;

    /// Calls `f(patch_run, input_run)` for every run of `K·CI` values: `patch_run` indexes
    /// the patch matrix of one sample, `input_run` that sample's input rows.
    fn for_each_run(mut f: impl FnMut(std::ops::Range<usize>, std::ops::Range<usize>)) {
        let run = K * CI;
        for oy in 0..Self::OUT {
            for ox in 0..Self::OUT {
                for ky in 0..K {
                    let dst = ((oy * Self::OUT + ox) * K + ky) * run;
                    let src = ((S * oy + ky) * SIDE + S * ox) * CI;
                    f(dst..dst + run, src..src + run);
                }
            }
        }
    }

    /// im2col: `input` `(B·SIDE², CI)` → patches `(B·OUT², PATCH)`. The runs come in output
    /// order, so the matrix is built by appending (no zero fill).
    fn gather(input: &[E]) -> Vec<E> {
        let per_in = SIDE * SIDE * CI;
        let per_out = Self::OUT * Self::OUT * PATCH;
        let mut patches = Vec::with_capacity(input.len() / per_in * per_out);
        for x in input.chunks_exact(per_in) {
            Self::for_each_run(|_, src| patches.extend_from_slice(&x[src]));
        }
        patches
    }

    /// col2im: `grad_input += scatter(grad_patches)`, the adjoint of [`Self::gather`].
    fn scatter_add(grad_patches: &[E], grad_input: &mut [E]) {
        let per_in = SIDE * SIDE * CI;
        let per_out = Self::OUT * Self::OUT * PATCH;
        let samples = grad_input.chunks_exact_mut(per_in);
        for (gx, gp) in samples.zip(grad_patches.chunks_exact(per_out)) {
            Self::for_each_run(|dst, src| add_assign(&mut gx[src], &gp[dst]));
        }
    }
}

impl<
        const SIDE: usize,
        const CI: usize,
        const K: usize,
        const S: usize,
        const CO: usize,
        const PATCH: usize,
        E: Dtype + SampleUniform,
        D: Device<E>,
    > TensorCollection<E, D> for GatherConvLayer<SIDE, CI, K, S, CO, PATCH, E, D>
{
    type To<E2: Dtype, D2: Device<E2>> = GatherConvLayer<SIDE, CI, K, S, CO, PATCH, E2, D2>;

    fn iter_tensors<V: ModuleVisitor<Self, E, D>>(
        visitor: &mut V,
    ) -> Result<Option<Self::To<V::E2, V::D2>>, V::Err> {
        weight_bias_fields!(visitor, PATCH, |(weight, bias)| GatherConvLayer {
            weight,
            bias
        })
    }
}

impl<
        const SIDE: usize,
        const CI: usize,
        const K: usize,
        const S: usize,
        const CO: usize,
        const PATCH: usize,
        E: Dtype,
        D: Storage<E>,
    > NonMutableModule for GatherConvLayer<SIDE, CI, K, S, CO, PATCH, E, D>
{
}

impl<
        const SIDE: usize,
        const CI: usize,
        const K: usize,
        const S: usize,
        const CO: usize,
        const PATCH: usize,
        E: Dtype,
        T: Tape<E, Cpu>,
    > Module<Tensor<(usize, Const<CI>), E, Cpu, T>>
    for GatherConvLayer<SIDE, CI, K, S, CO, PATCH, E, Cpu>
where
    Cpu: Device<E>,
{
    type Output = Tensor<(usize, Const<CO>), E, Cpu, T>;
    type Error = CpuError;

    /// Fails with `CpuError::WrongNumElements` if the input's row count is not a whole number
    /// of `SIDE × SIDE` images.
    fn try_forward(
        &self,
        x: Tensor<(usize, Const<CI>), E, Cpu, T>,
    ) -> Result<Self::Output, CpuError> {
        let () = Self::SHAPES_OK;
        let (x, tape) = x.split_tape();
        if !x.shape().0.is_multiple_of(SIDE * SIDE) {
            return Err(CpuError::WrongNumElements);
        }
        let batch = x.shape().0 / (SIDE * SIDE);
        let patches = Self::gather(&host(&x));
        let rows = batch * Self::OUT * Self::OUT;
        let patches = x
            .device()
            .try_tensor_from_vec(patches, (rows, Const::<PATCH>))?;
        let (out, saved) = conv_relu_forward(patches, &self.weight, &self.bias, T::OWNS_TAPE)?;
        match saved {
            None => Ok(out.put_tape(tape)),
            Some(saved) => Ok(record(out, tape, move |grads, grad_out| {
                let weight = saved.weight.clone();
                let g = saved.backward(grads, grad_out)?;
                let grad_patches = host(&g.try_matmul(weight)?);
                Self::scatter_add(&grad_patches, grad_of(grads, &x)?);
                Ok(())
            })),
        }
    }
}

/// Flattens per-position rows `(B·P, C)` into per-sample rows `(B, N)`, `N = P·C`, in
/// `(position, channel)` order. Free: a contiguous reshape keeps the data and the gradient.
#[derive(Debug, Clone, Copy, Default)]
pub struct RowsToBatch<const N: usize>;

impl<const N: usize> ZeroSizedModule for RowsToBatch<N> {}
impl<const N: usize> NonMutableModule for RowsToBatch<N> {}

impl<const C: usize, const N: usize, E: Dtype, T: Tape<E, Cpu>>
    Module<Tensor<(usize, Const<C>), E, Cpu, T>> for RowsToBatch<N>
where
    Cpu: Device<E>,
{
    type Output = Tensor<(usize, Const<N>), E, Cpu, T>;
    type Error = CpuError;

    /// Fails with `CpuError::WrongNumElements` if `rows · C` is not a multiple of `N`.
    fn try_forward(
        &self,
        x: Tensor<(usize, Const<C>), E, Cpu, T>,
    ) -> Result<Self::Output, CpuError> {
        let values = x.shape().0 * C;
        if N == 0 || !values.is_multiple_of(N) {
            return Err(CpuError::WrongNumElements);
        }
        x.try_reshape_like(&(values / N, Const::<N>))
    }
}

// ---------------------------------------------------------------------------------------------
// Networks
// ---------------------------------------------------------------------------------------------

/// MinAtar board side.
pub const MINATAR_SIDE: usize = 10;
/// MinAtar conv output positions (8 × 8).
pub const MINATAR_POSITIONS: usize = 64;
/// MinAtar conv filters.
pub const MINATAR_FILTERS: usize = 16;
/// MinAtar flattened conv features (8 · 8 · 16).
pub const MINATAR_FLAT: usize = MINATAR_POSITIONS * MINATAR_FILTERS;
/// MinAtar hidden width.
pub const MINATAR_HIDDEN: usize = 128;

/// Atari frame side after the DQN preprocessing.
pub const NATURE_SIDE: usize = 84;
/// Nature conv-1 output positions (20 × 20).
pub const NATURE_POSITIONS: usize = 400;
/// Nature flattened conv-3 features (7 · 7 · 64).
pub const NATURE_FLAT: usize = 3136;
/// Nature hidden width.
pub const NATURE_HIDDEN: usize = 512;

/// Encode a MinAtar observation (`C × 10 × 10`, channel-first, values 0/1) as the 64 im2col
/// patches of the 3×3 stride-1 conv: `out[p·9C + (c·3 + ky)·3 + kx] = obs[c, oy + ky, ox + kx]`,
/// `p = oy·8 + ox`. `out` holds `64 · 9 · C` values.
pub fn encode_minatar<const C: usize>(obs: &[u8], out: &mut [f32]) -> Result<(), EncodeError> {
    check_lengths(
        obs,
        out,
        C * MINATAR_SIDE * MINATAR_SIDE,
        MINATAR_POSITIONS * 9 * C,
    )?;
    im2col::<C, MINATAR_SIDE, 3, 1>(obs, out, f32::from);
    Ok(())
}

/// Encode a preprocessed Atari observation (`C × 84 × 84` frames, channel-first, 0..=255) as the
/// 400 im2col patches of the 8×8 stride-4 conv, scaled by 1/255 (Mnih et al. 2015):
/// `out[p·64C + (c·8 + ky)·8 + kx] = obs[c, 4·oy + ky, 4·ox + kx] / 255`, `p = oy·20 + ox`.
/// `out` holds `400 · 64 · C` values.
pub fn encode_nature<const C: usize>(obs: &[u8], out: &mut [f32]) -> Result<(), EncodeError> {
    check_lengths(
        obs,
        out,
        C * NATURE_SIDE * NATURE_SIDE,
        NATURE_POSITIONS * 64 * C,
    )?;
    im2col::<C, NATURE_SIDE, 8, 4>(obs, out, |v| f32::from(v) / 255.0);
    Ok(())
}

type MinAtarLayers<const PATCH: usize, const IN: usize, const ACT: usize> = (
    PatchConvRelu<IN, PATCH, MINATAR_FILTERS>,
    RowsToBatch<MINATAR_FLAT>,
    DenseRelu<MINATAR_FLAT, MINATAR_HIDDEN>,
    DenseLinear<MINATAR_HIDDEN, ACT>,
);

type MinAtarDuelingLayers<const PATCH: usize, const IN: usize, const ACT: usize> = (
    PatchConvRelu<IN, PATCH, MINATAR_FILTERS>,
    RowsToBatch<MINATAR_FLAT>,
    SplitInto<(
        (
            DenseRelu<MINATAR_FLAT, MINATAR_HIDDEN>,
            DenseLinear<MINATAR_HIDDEN, 1>,
        ),
        (
            DenseRelu<MINATAR_FLAT, MINATAR_HIDDEN>,
            DenseLinear<MINATAR_HIDDEN, ACT>,
        ),
    )>,
    DuelingHead<ACT>,
);

type NatureTrunk<const PATCH: usize, const IN: usize> = (
    PatchConvRelu<IN, PATCH, 32>,
    GatherConvRelu<20, 32, 4, 2, 64, 512>,
    GatherConvRelu<9, 64, 3, 1, 64, 576>,
    RowsToBatch<NATURE_FLAT>,
);

type NatureLayers<const PATCH: usize, const IN: usize, const ACT: usize> = (
    NatureTrunk<PATCH, IN>,
    DenseRelu<NATURE_FLAT, NATURE_HIDDEN>,
    DenseLinear<NATURE_HIDDEN, ACT>,
);

type NatureDuelingLayers<const PATCH: usize, const IN: usize, const ACT: usize> = (
    NatureTrunk<PATCH, IN>,
    SplitInto<(
        (
            DenseRelu<NATURE_FLAT, NATURE_HIDDEN>,
            DenseLinear<NATURE_HIDDEN, 1>,
        ),
        (
            DenseRelu<NATURE_FLAT, NATURE_HIDDEN>,
            DenseLinear<NATURE_HIDDEN, ACT>,
        ),
    )>,
    DuelingHead<ACT>,
);

/// Declares a network builder type: its `BuildOnDevice` (delegating to a tuple of layers, after
/// the compile-time shape check) and its `EncodeObs`.
macro_rules! conv_net {
    (
        $(#[$doc:meta])*
        $name:ident, $layers:ident, $encode:ident, $side:expr, $patch_per_c:expr, $positions:expr
    ) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, Default)]
        pub struct $name<const C: usize, const PATCH: usize, const IN: usize, const ACT: usize>;

        impl<const C: usize, const PATCH: usize, const IN: usize, const ACT: usize>
            $name<C, PATCH, IN, ACT>
        {
            const SHAPES_OK: () = assert!(
                C > 0 && PATCH == $patch_per_c * C && IN == $positions * PATCH,
                "shape parameters must satisfy PATCH = K·K·C and IN = positions · PATCH"
            );
        }

        impl<const C: usize, const PATCH: usize, const IN: usize, const ACT: usize, E, D>
            BuildOnDevice<D, E> for $name<C, PATCH, IN, ACT>
        where
            E: Dtype,
            D: Device<E>,
            $layers<PATCH, IN, ACT>: BuildOnDevice<D, E>,
        {
            type Built = <$layers<PATCH, IN, ACT> as BuildOnDevice<D, E>>::Built;

            fn try_build_on_device(device: &D) -> Result<Self::Built, D::Err> {
                let () = Self::SHAPES_OK;
                <$layers<PATCH, IN, ACT> as BuildOnDevice<D, E>>::try_build_on_device(device)
            }
        }

        impl<const C: usize, const PATCH: usize, const IN: usize, const ACT: usize> EncodeObs
            for $name<C, PATCH, IN, ACT>
        {
            const OBS_LEN: usize = C * $side * $side;
            const IN: usize = IN;

            fn try_encode(obs: &[u8], out: &mut [f32]) -> Result<(), EncodeError> {
                let () = Self::SHAPES_OK;
                $encode::<C>(obs, out)
            }
        }

        impl<const C: usize, const PATCH: usize, const IN: usize, const ACT: usize>
            QNetKind<u8, IN, ACT> for $name<C, PATCH, IN, ACT>
        where
            <$layers<PATCH, IN, ACT> as BuildOnDevice<Cpu, f32>>::Built: QFunction<IN, ACT>,
        {
            /// [`EncodeObs::try_encode`] for the agent.
            ///
            /// # Panics
            /// If `obs` is not one `C × side × side` observation or `out` not `IN` values. The
            /// agent sizes both from this type and the env it was chosen for, so a mismatch is a
            /// wiring bug; call [`EncodeObs::try_encode`] to get it as an error instead.
            fn encode(obs: &[u8], out: &mut [f32]) {
                if let Err(e) = Self::try_encode(obs, out) {
                    panic!("{}: {e}", stringify!($name));
                }
            }
        }
    };
}

conv_net!(
    /// The MinAtar network (Young & Tian 2019, `dqn.py`): conv 16 × 3×3 stride 1 (valid) on
    /// `10×10×C` → `8×8×16`, ReLU → flatten 1024 → Linear 128 → ReLU → Linear `ACT`.
    /// Input: [`encode_minatar`]'s patches, `PATCH = 9·C`, `IN = 64·PATCH`.
    MinAtarQNet, MinAtarLayers, encode_minatar, MINATAR_SIDE, 9, MINATAR_POSITIONS
);
conv_net!(
    /// The MinAtar trunk with a dueling head: value stream Linear(1024→128)+ReLU→Linear(1),
    /// advantage stream Linear(1024→128)+ReLU→Linear(`ACT`), joined by [`DuelingHead`].
    ///
    /// Revisiting Rainbow (Obando-Ceron & Castro 2021; its public `networks_new.py` and MinAtar
    /// gin files) differs: its conv uses flax's default SAME padding (10×10×16 = 1600 features),
    /// `hidden_layer = 0` so both heads are single Linear layers on the conv features, and
    /// weights start Xavier-uniform. This variant keeps the MinAtar paper's 128-unit hidden layer
    /// in each stream, as the Wang et al. dueling net does for Atari.
    MinAtarDuelingQNet, MinAtarDuelingLayers, encode_minatar, MINATAR_SIDE, 9, MINATAR_POSITIONS
);
conv_net!(
    /// The Nature DQN network (Mnih et al. 2015): on `84×84×C`, conv 32 × 8×8 stride 4 → ReLU →
    /// conv 64 × 4×4 stride 2 → ReLU → conv 64 × 3×3 stride 1 → ReLU → flatten 3136 →
    /// Linear 512 → ReLU → Linear `ACT`. Input: [`encode_nature`]'s patches, `PATCH = 64·C`,
    /// `IN = 400·PATCH`.
    NatureQNet, NatureLayers, encode_nature, NATURE_SIDE, 64, NATURE_POSITIONS
);
conv_net!(
    /// The Nature trunk with Wang et al. 2016's dueling head: value stream
    /// Linear(3136→512)+ReLU→Linear(1), advantage stream Linear(3136→512)+ReLU→Linear(`ACT`).
    NatureDuelingQNet, NatureDuelingLayers, encode_nature, NATURE_SIDE, 64, NATURE_POSITIONS
);

/// MinAtar net for 4-channel games (breakout, asterix).
pub type MinAtarQNetC4<const ACT: usize> = MinAtarQNet<4, 36, 2304, ACT>;
/// MinAtar net for 6-channel games (space_invaders).
pub type MinAtarQNetC6<const ACT: usize> = MinAtarQNet<6, 54, 3456, ACT>;
/// MinAtar net for 7-channel games (freeway).
pub type MinAtarQNetC7<const ACT: usize> = MinAtarQNet<7, 63, 4032, ACT>;
/// MinAtar net for 10-channel games (seaquest).
pub type MinAtarQNetC10<const ACT: usize> = MinAtarQNet<10, 90, 5760, ACT>;
/// Dueling MinAtar net, 4 channels.
pub type MinAtarDuelingQNetC4<const ACT: usize> = MinAtarDuelingQNet<4, 36, 2304, ACT>;
/// Dueling MinAtar net, 6 channels.
pub type MinAtarDuelingQNetC6<const ACT: usize> = MinAtarDuelingQNet<6, 54, 3456, ACT>;
/// Dueling MinAtar net, 7 channels.
pub type MinAtarDuelingQNetC7<const ACT: usize> = MinAtarDuelingQNet<7, 63, 4032, ACT>;
/// Dueling MinAtar net, 10 channels.
pub type MinAtarDuelingQNetC10<const ACT: usize> = MinAtarDuelingQNet<10, 90, 5760, ACT>;
/// Nature CNN on single frames.
pub type NatureQNetC1<const ACT: usize> = NatureQNet<1, 64, 25600, ACT>;
/// Nature CNN on 4 stacked frames.
pub type NatureQNetC4<const ACT: usize> = NatureQNet<4, 256, 102400, ACT>;
/// Dueling Nature CNN on single frames.
pub type NatureDuelingQNetC1<const ACT: usize> = NatureDuelingQNet<1, 64, 25600, ACT>;
/// Dueling Nature CNN on 4 stacked frames.
pub type NatureDuelingQNetC4<const ACT: usize> = NatureDuelingQNet<4, 256, 102400, ACT>;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agent::network::{build, Batch, QFunction};
    use crate::config::WeightInit;
    use dfdx::nn::{BuildModule, DeviceBuildExt, ModuleMut, ZeroGrads};
    use dfdx::optim::{Adam, AdamConfig, Optimizer};
    use dfdx::tensor::OwnedTape;
    use dfdx::tensor::{AsArray, Trace};
    use dfdx::tensor_ops::{Backward, MeanTo, SelectTo, SumTo};
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    type Rows<const N: usize, E = f64, T = dfdx::tensor::NoneTape> =
        Tensor<(usize, Const<N>), E, Cpu, T>;

    /// Direct convolution of one channel-first image `x[c][y][x]` with `w[o][c][ky][kx]`,
    /// stride `s`, no padding, then ReLU. Returns `out[o][oy][ox]`.
    #[allow(clippy::too_many_arguments)]
    fn naive_conv_relu(
        x: &[f64],
        c: usize,
        side: usize,
        w: &[f64],
        b: &[f64],
        k: usize,
        s: usize,
    ) -> Vec<f64> {
        let co = b.len();
        let out = (side - k) / s + 1;
        let mut y = vec![0.0; co * out * out];
        for o in 0..co {
            for oy in 0..out {
                for ox in 0..out {
                    let mut acc = b[o];
                    for ci in 0..c {
                        for ky in 0..k {
                            for kx in 0..k {
                                let xv = x[(ci * side + s * oy + ky) * side + s * ox + kx];
                                acc += w[((o * c + ci) * k + ky) * k + kx] * xv;
                            }
                        }
                    }
                    y[(o * out + oy) * out + ox] = acc.max(0.0);
                }
            }
        }
        y
    }

    /// Hand values: small integers and halves, so every product and sum is exact in f64.
    fn hand_values(n: usize, modulus: usize, scale: f64) -> Vec<f64> {
        (0..n)
            .map(|i| ((i * 7 + 3) % modulus) as f64 * scale - scale * 2.0)
            .collect()
    }

    fn assert_close(got: &[f64], want: &[f64], tol: f64) {
        assert_eq!(got.len(), want.len());
        for (i, (g, w)) in got.iter().zip(want).enumerate() {
            assert!((g - w).abs() <= tol * (1.0 + w.abs()), "at {i}: {g} vs {w}");
        }
    }

    /// The layer's patch matrix for one channel-first image: row `p`, order `(c, ky, kx)`.
    fn patches_cyx(x: &[f64], c: usize, side: usize, k: usize, s: usize) -> Vec<f64> {
        let out = (side - k) / s + 1;
        let mut p = Vec::new();
        for oy in 0..out {
            for ox in 0..out {
                for ci in 0..c {
                    for ky in 0..k {
                        for kx in 0..k {
                            p.push(x[(ci * side + s * oy + ky) * side + s * ox + kx]);
                        }
                    }
                }
            }
        }
        p
    }

    #[test]
    fn encoders_write_channel_first_patches() {
        let obs: Vec<u8> = (0..2 * 5 * 5).map(|i| (i * 37 % 256) as u8).collect();
        let mut out = vec![0.0f32; 9 * 18];
        im2col::<2, 5, 3, 1>(&obs, &mut out, f32::from);
        let x: Vec<f64> = obs.iter().map(|&v| f64::from(v)).collect();
        let want = patches_cyx(&x, 2, 5, 3, 1);
        let got: Vec<f64> = out.iter().map(|&v| f64::from(v)).collect();
        assert_close(&got, &want, 0.0);

        let obs: Vec<u8> = (0..4 * 84 * 84).map(|i| (i * 131 % 256) as u8).collect();
        let mut out = vec![0.0f32; 400 * 256];
        encode_nature::<4>(&obs, &mut out).expect("lengths match");
        // Position (oy, ox) = (3, 5), channel 2, (ky, kx) = (7, 1): pixel (2, 4·3 + 7, 4·5 + 1).
        let p = 3 * 20 + 5;
        let got = out[p * 256 + (2 * 8 + 7) * 8 + 1];
        assert_eq!(got, f32::from(obs[(2 * 84 + 19) * 84 + 21]) / 255.0);
        assert!(out.iter().all(|v| (0.0..=1.0).contains(v)));
    }

    #[test]
    fn encoders_reject_wrong_lengths() {
        let mut out = vec![0.0f32; MinAtarQNetC4::<3>::IN];
        assert_eq!(
            encode_minatar::<4>(&[0u8; 399], &mut out),
            Err(EncodeError::ObsLen {
                expected: 400,
                got: 399
            })
        );
        assert_eq!(
            MinAtarQNetC6::<3>::try_encode(&[0u8; 600], &mut out),
            Err(EncodeError::OutLen {
                expected: 3456,
                got: 2304
            })
        );
        let obs = vec![0u8; 400];
        let mut two = vec![0.0f32; 2 * 2304];
        let batch: [&[u8]; 2] = [&obs, &obs];
        assert!(MinAtarQNetC4::<3>::try_encode_batch(&batch, &mut two).is_ok());
        assert!(MinAtarQNetC4::<3>::try_encode_batch(&batch[..1], &mut two).is_err());
    }

    #[test]
    fn patch_conv_matches_direct_convolution() {
        // 2 channels, 5×5, 3×3 kernel, stride 2 → 2×2 positions; 3 filters. Batch of 2.
        let dev: Cpu = Default::default();
        let mut layer = PatchConvLayer::<72, 18, 3, f64, Cpu>::build(&dev);
        let w = hand_values(3 * 18, 5, 0.25);
        let b = vec![0.5, -1.0, 0.25];
        layer.weight.copy_from(&w);
        layer.bias.copy_from(&b);
        let images = [hand_values(50, 7, 0.5), hand_values(50, 11, 0.25)];
        let input: Vec<f64> = images
            .iter()
            .flat_map(|x| patches_cyx(x, 2, 5, 3, 2))
            .collect();
        let y = layer
            .forward(dev.tensor_from_vec(input, (2, Const::<72>)))
            .as_vec();
        for (n, x) in images.iter().enumerate() {
            let want = naive_conv_relu(x, 2, 5, &w, &b, 3, 2); // [o][p]
            for p in 0..4 {
                for o in 0..3 {
                    assert_eq!(
                        y[(n * 4 + p) * 3 + o],
                        want[o * 4 + p],
                        "sample {n} p {p} o {o}"
                    );
                }
            }
        }
    }

    type SmallGather = GatherConvLayer<5, 2, 3, 2, 3, 18, f64, Cpu>;

    /// Channel-first images → the gather layer's input rows `(b·25 + y·5 + x, c)`.
    fn rows_of(images: &[Vec<f64>], c: usize, side: usize) -> Vec<f64> {
        let mut rows = Vec::new();
        for x in images {
            for pix in 0..side * side {
                rows.extend((0..c).map(|ci| x[ci * side * side + pix]));
            }
        }
        rows
    }

    #[test]
    fn gather_conv_matches_direct_convolution() {
        let dev: Cpu = Default::default();
        let mut layer = SmallGather::build(&dev);
        let w = hand_values(3 * 18, 5, 0.25); // [o][c][ky][kx]
        let b = vec![0.5, -1.0, 0.25];
        // The gathered layer's patch order is (ky, kx, c).
        let mut w_kkc = vec![0.0; w.len()];
        for o in 0..3 {
            for c in 0..2 {
                for k in 0..9 {
                    w_kkc[o * 18 + k * 2 + c] = w[(o * 2 + c) * 9 + k];
                }
            }
        }
        layer.weight.copy_from(&w_kkc);
        layer.bias.copy_from(&b);
        let images = [hand_values(50, 7, 0.5), hand_values(50, 11, 0.25)];
        let x = dev.tensor_from_vec(rows_of(&images, 2, 5), (50, Const::<2>));
        let y = layer.forward(x).as_vec();
        assert_eq!(y.len(), 2 * 4 * 3);
        for (n, img) in images.iter().enumerate() {
            let want = naive_conv_relu(img, 2, 5, &w, &b, 3, 2);
            for p in 0..4 {
                for o in 0..3 {
                    assert_eq!(
                        y[(n * 4 + p) * 3 + o],
                        want[o * 4 + p],
                        "sample {n} p {p} o {o}"
                    );
                }
            }
        }
    }

    // ----- gradients -------------------------------------------------------------------------

    /// Compares `analytic` with central differences of `loss` around `values`:
    /// `|a − n| ≤ rel · max(|a|, |n|) + abs` for every element.
    fn check_grad(
        values: &[f64],
        analytic: &[f64],
        mut loss: impl FnMut(&[f64]) -> f64,
        eps: f64,
        rel: f64,
        abs: f64,
    ) {
        assert_eq!(values.len(), analytic.len());
        let mut v = values.to_vec();
        for i in 0..v.len() {
            v[i] = values[i] + eps;
            let up = loss(&v);
            v[i] = values[i] - eps;
            let down = loss(&v);
            v[i] = values[i];
            let numeric = (up - down) / (2.0 * eps);
            let a = analytic[i];
            let bound = rel * a.abs().max(numeric.abs()) + abs;
            assert!(
                (a - numeric).abs() <= bound,
                "element {i}: analytic {a}, numeric {numeric}"
            );
        }
    }

    /// A fixed random linear read-out `L = Σ c·y`, as a tensor and as a host function.
    fn readout<const N: usize>(dev: &Cpu, rows: usize, seed: u64) -> (Rows<N>, Vec<f64>) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let c: Vec<f64> = (0..rows * N).map(|_| rng.gen_range(-1.0..1.0)).collect();
        (dev.tensor_from_vec(c.clone(), (rows, Const)), c)
    }

    fn dot(a: &[f64], b: &[f64]) -> f64 {
        a.iter().zip(b).map(|(x, y)| x * y).sum()
    }

    fn random(n: usize, seed: u64) -> Vec<f64> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        (0..n).map(|_| rng.gen_range(-1.0..1.0)).collect()
    }

    /// Checks `∂L/∂W` and `∂L/∂b` of `layer` (input `x`, `IN` columns, `OUT` output columns).
    fn check_layer_params<M, const IN: usize, const OUT: usize, const WN: usize>(
        layer: &M,
        x: &[f64],
        weight: fn(&mut M) -> &mut Tensor<Rank2<OUT, WN>, f64, Cpu>,
        bias: fn(&mut M) -> &mut Tensor<Rank1<OUT>, f64, Cpu>,
    ) where
        M: Clone
            + Module<Rows<IN>, Output = Rows<OUT>, Error = CpuError>
            + ModuleMut<
                Rows<IN, f64, OwnedTape<f64, Cpu>>,
                Output = Rows<OUT, f64, OwnedTape<f64, Cpu>>,
                Error = CpuError,
            >,
    {
        let dev: Cpu = Default::default();
        let input: Rows<IN> = dev.tensor_from_vec(x.to_vec(), (x.len() / IN, Const));
        let mut traced = layer.clone();
        let y = traced.forward_mut(input.clone().leaky_trace());
        let (c_t, c) = readout::<OUT>(&dev, y.shape().0, 7);
        let grads = (y * c_t).sum().backward();
        let mut probe = layer.clone();
        let gw = grads.get(weight(&mut probe)).as_vec();
        let gb = grads.get(bias(&mut probe)).as_vec();
        let loss_with = |set: &dyn Fn(&mut M)| {
            let mut m = layer.clone();
            set(&mut m);
            dot(&m.forward(input.clone()).as_vec(), &c)
        };
        let w0 = weight(&mut probe).as_vec();
        check_grad(
            &w0,
            &gw,
            |v| loss_with(&|m| weight(m).copy_from(v)),
            1e-6,
            1e-6,
            1e-9,
        );
        let b0 = bias(&mut probe).as_vec();
        check_grad(
            &b0,
            &gb,
            |v| loss_with(&|m| bias(m).copy_from(v)),
            1e-6,
            1e-6,
            1e-9,
        );
    }

    /// Checks `∂L/∂x` of `layer` at input `x`.
    fn check_layer_input<M, const IN: usize, const OUT: usize>(layer: &M, x: &[f64])
    where
        M: Clone
            + Module<Rows<IN>, Output = Rows<OUT>, Error = CpuError>
            + Module<
                Rows<IN, f64, OwnedTape<f64, Cpu>>,
                Output = Rows<OUT, f64, OwnedTape<f64, Cpu>>,
                Error = CpuError,
            >,
    {
        let dev: Cpu = Default::default();
        let rows = x.len() / IN;
        let input: Rows<IN> = dev.tensor_from_vec(x.to_vec(), (rows, Const));
        let y = layer.forward(input.clone().leaky_trace());
        let (c_t, c) = readout::<OUT>(&dev, y.shape().0, 9);
        let grads = (y * c_t).sum().backward();
        let gx = grads.get(&input).as_vec();
        let loss = |v: &[f64]| {
            dot(
                &layer
                    .forward(dev.tensor_from_vec(v.to_vec(), (rows, Const::<IN>)))
                    .as_vec(),
                &c,
            )
        };
        check_grad(x, &gx, loss, 1e-6, 1e-6, 1e-9);
    }

    #[test]
    fn patch_conv_parameter_gradients_match_finite_differences() {
        let dev: Cpu = Cpu::seed_from_u64(1);
        let layer = PatchConvLayer::<72, 18, 3, f64, Cpu>::build(&dev);
        check_layer_params::<_, 72, 3, 18>(
            &layer,
            &random(3 * 72, 2),
            |m| &mut m.weight,
            |m| &mut m.bias,
        );
    }

    #[test]
    fn gather_conv_gradients_match_finite_differences() {
        let dev: Cpu = Cpu::seed_from_u64(3);
        let layer = SmallGather::build(&dev);
        let x = random(3 * 25 * 2, 4);
        check_layer_params::<_, 2, 3, 18>(&layer, &x, |m| &mut m.weight, |m| &mut m.bias);
        check_layer_input::<_, 2, 3>(&layer, &x);
        // Stride 1 (overlapping patches accumulate several contributions per input row).
        let layer = GatherConvLayer::<4, 3, 2, 1, 2, 12, f64, Cpu>::build(&dev);
        let x = random(2 * 16 * 3, 5);
        check_layer_params::<_, 3, 2, 12>(&layer, &x, |m| &mut m.weight, |m| &mut m.bias);
        check_layer_input::<_, 3, 2>(&layer, &x);
    }

    #[test]
    fn dense_gradients_match_finite_differences() {
        let dev: Cpu = Cpu::seed_from_u64(5);
        let x = random(3 * 8, 6);
        let relu = DenseLayer::<8, 5, true, f64, Cpu>::build(&dev);
        check_layer_params::<_, 8, 5, 8>(&relu, &x, |m| &mut m.weight, |m| &mut m.bias);
        check_layer_input::<_, 8, 5>(&relu, &x);
        let linear = DenseLayer::<8, 5, false, f64, Cpu>::build(&dev);
        check_layer_params::<_, 8, 5, 8>(&linear, &x, |m| &mut m.weight, |m| &mut m.bias);
        check_layer_input::<_, 8, 5>(&linear, &x);
    }

    // ----- whole networks (f32) --------------------------------------------------------------

    /// Every layer type in miniature: 2×6×6 input, conv 3 × 2×2/1 (host patches) → 5×5×3,
    /// conv 4 × 3×3/2 (gathered) → 2×2×4, flatten 16, dense 8 + ReLU, dense 2.
    type Tiny = (
        PatchConvRelu<200, 8, 3>,
        GatherConvRelu<5, 3, 3, 2, 4, 27>,
        RowsToBatch<16>,
        DenseRelu<16, 8>,
        DenseLinear<8, 2>,
    );
    type TinyNet = <Tiny as BuildOnDevice<Cpu, f32>>::Built;

    fn tiny_input(dev: &Cpu, batch: usize, seed: u64) -> Batch<200> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut x = vec![0.0f32; batch * 200];
        for row in x.chunks_exact_mut(200) {
            let obs: Vec<u8> = (0..72).map(|_| rng.gen()).collect();
            im2col::<2, 6, 2, 1>(&obs, row, |v| f32::from(v) / 255.0);
        }
        dev.tensor_from_vec(x, (batch, Const))
    }

    /// `∂(Σ c·Q)/∂θ` of every parameter of the tiny f32 net against central differences
    /// (ε = 1e-3, relative tolerance 1e-2 + absolute 1e-3: f32 rounding, not the method,
    /// limits the agreement).
    #[test]
    fn small_f32_network_gradients_match_finite_differences() {
        let dev: Cpu = Cpu::seed_from_u64(11);
        let net: TinyNet = dev.build_module::<Tiny, f32>();
        let x = tiny_input(&dev, 3, 12);
        let c: Vec<f32> = random(3 * 2, 13).iter().map(|&v| v as f32).collect();
        let c_t: Batch<2> = dev.tensor_from_vec(c.clone(), (3, Const));
        let mut traced = net.clone();
        let grads = (traced.forward_mut(x.clone().traced(net.alloc_grads())) * c_t)
            .sum()
            .backward();
        let loss = |m: &TinyNet| -> f64 {
            let q = m.forward(x.clone()).as_vec();
            q.iter().zip(&c).map(|(q, c)| f64::from(q * c)).sum()
        };
        check_tiny_param(&net, &grads, &loss, |n| &mut n.0.weight);
        check_tiny_param(&net, &grads, &loss, |n| &mut n.0.bias);
        check_tiny_param(&net, &grads, &loss, |n| &mut n.1.weight);
        check_tiny_param(&net, &grads, &loss, |n| &mut n.1.bias);
        check_tiny_param(&net, &grads, &loss, |n| &mut n.3.weight);
        check_tiny_param(&net, &grads, &loss, |n| &mut n.3.bias);
        check_tiny_param(&net, &grads, &loss, |n| &mut n.4.weight);
        check_tiny_param(&net, &grads, &loss, |n| &mut n.4.bias);
    }

    /// One parameter of the tiny net: `grads` against central differences of `loss`.
    fn check_tiny_param<S: Shape>(
        net: &TinyNet,
        grads: &Gradients<f32, Cpu>,
        loss: &impl Fn(&TinyNet) -> f64,
        param: fn(&mut TinyNet) -> &mut Tensor<S, f32, Cpu>,
    ) {
        let mut probe = net.clone();
        let widen = |v: Vec<f32>| -> Vec<f64> { v.into_iter().map(f64::from).collect() };
        let analytic = widen(grads.get(param(&mut probe)).as_vec());
        let values = widen(param(&mut probe).as_vec());
        let at = |v: &[f64]| {
            let v32: Vec<f32> = v.iter().map(|&x| x as f32).collect();
            param(&mut probe).copy_from(&v32);
            loss(&probe)
        };
        check_grad(&values, &analytic, at, 1e-3, 1e-2, 1e-3);
    }

    fn assert_qfunction<M: QFunction<IN, ACT>, const IN: usize, const ACT: usize>(_: &M) {}

    /// The agent's view: `QNetKind::encode` writes what `EncodeObs::try_encode` writes.
    fn encode_as_agent<N: QNetKind<u8, IN, ACT>, const IN: usize, const ACT: usize>(
        obs: &[u8],
    ) -> Vec<f32> {
        let mut out = vec![0.0; IN];
        N::encode(obs, &mut out);
        out
    }

    #[test]
    fn networks_are_qnet_kinds_for_u8_observations() {
        let obs: Vec<u8> = (0..700).map(|i| (i % 2) as u8).collect();
        let mut want = vec![0.0; 4032];
        encode_minatar::<7>(&obs, &mut want).expect("lengths match");
        assert_eq!(encode_as_agent::<MinAtarQNetC7<6>, 4032, 6>(&obs), want);
        assert_eq!(
            encode_as_agent::<MinAtarDuelingQNetC7<6>, 4032, 6>(&obs),
            want
        );
        let frame: Vec<u8> = (0..84 * 84).map(|i| (i % 251) as u8).collect();
        let mut want = vec![0.0; 25600];
        encode_nature::<1>(&frame, &mut want).expect("lengths match");
        assert_eq!(encode_as_agent::<NatureQNetC1<4>, 25600, 4>(&frame), want);
        assert_eq!(
            encode_as_agent::<NatureDuelingQNetC1<4>, 25600, 4>(&frame),
            want
        );
    }

    /// Encodes `batch` random observations for `B`.
    fn observations<B: EncodeObs, const IN: usize>(
        dev: &Cpu,
        batch: usize,
        max: u8,
        seed: u64,
    ) -> Batch<IN> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let obs: Vec<Vec<u8>> = (0..batch)
            .map(|_| (0..B::OBS_LEN).map(|_| rng.gen_range(0..=max)).collect())
            .collect();
        let refs: Vec<&[u8]> = obs.iter().map(Vec::as_slice).collect();
        let mut x = vec![0.0f32; batch * IN];
        B::try_encode_batch(&refs, &mut x).expect("lengths match");
        dev.tensor_from_vec(x, (batch, Const))
    }

    /// Shape of a batch-2 forward, then one Adam step on `mean((Q(s, a) − y)²)` lowers it.
    fn shape_and_one_training_step<B, M, const IN: usize, const ACT: usize>(max: u8)
    where
        B: BuildOnDevice<Cpu, f32, Built = M> + EncodeObs,
        M: QFunction<IN, ACT>,
    {
        let dev: Cpu = Cpu::seed_from_u64(21);
        let mut net = build::<B, _>(&dev, WeightInit::Uniform, &mut ChaCha8Rng::seed_from_u64(0));
        assert_qfunction::<M, IN, ACT>(&net);
        let x = observations::<B, IN>(&dev, 2, max, 22);
        assert_eq!(net.forward(x.clone()).shape(), &(2, Const::<ACT>));
        let mut opt = Adam::new(
            &net,
            AdamConfig {
                lr: 1e-3,
                ..Default::default()
            },
        );
        let actions = dev.tensor_from_vec(vec![1usize, ACT - 1], (2,));
        let y = dev.tensor_from_vec(vec![1.0f32, -1.0], (2,));
        let mut loss_of = |net: &mut M, step: bool| -> f32 {
            let grads = net.alloc_grads();
            let q = net
                .forward_mut(x.clone().traced(grads))
                .select(actions.clone());
            let loss = (q - y.clone()).square().mean();
            let value = loss.array();
            let grads = loss.backward();
            if step {
                opt.update(net, &grads)
                    .expect("all parameters have gradients");
            }
            value
        };
        let before = loss_of(&mut net, true);
        let after = loss_of(&mut net, false);
        assert!(after < before, "loss {before} → {after}");
    }

    #[test]
    fn minatar_nets_have_the_right_shapes_and_train() {
        shape_and_one_training_step::<MinAtarQNetC4<6>, _, 2304, 6>(1);
        shape_and_one_training_step::<MinAtarDuelingQNetC4<6>, _, 2304, 6>(1);
        shape_and_one_training_step::<MinAtarQNetC10<18>, _, 5760, 18>(1);
    }

    #[test]
    fn nature_nets_have_the_right_shapes_and_train() {
        shape_and_one_training_step::<NatureQNetC4<6>, _, 102400, 6>(255);
        shape_and_one_training_step::<NatureDuelingQNetC1<4>, _, 25600, 4>(255);
    }

    #[test]
    fn dueling_q_is_value_plus_centred_advantage() {
        let dev: Cpu = Cpu::seed_from_u64(31);
        let net = dev.build_module::<MinAtarDuelingQNetC4<5>, f32>();
        let x = observations::<MinAtarDuelingQNetC4<5>, 2304>(&dev, 3, 1, 32);
        let q = net.forward(x.clone()).as_vec();
        let features = net.1.forward(net.0.forward(x));
        let (value, advantage) = &net.2 .0;
        let v = value.forward(features.clone()).as_vec();
        let a = advantage.forward(features).as_vec();
        for n in 0..3 {
            let row = &a[n * 5..(n + 1) * 5];
            let mean = row.iter().sum::<f32>() / 5.0;
            for k in 0..5 {
                let want = v[n] + row[k] - mean;
                assert!(
                    (q[n * 5 + k] - want).abs() < 1e-5,
                    "{} vs {want}",
                    q[n * 5 + k]
                );
            }
        }
        // The Nature dueling net has the same head.
        let net = dev.build_module::<NatureDuelingQNetC1<3>, f32>();
        let x = observations::<NatureDuelingQNetC1<3>, 25600>(&dev, 2, 255, 33);
        let q = net.forward(x.clone()).as_vec();
        let features = net.0.forward(x);
        let (value, advantage) = &net.1 .0;
        let (v, a) = (
            value.forward(features.clone()).as_vec(),
            advantage.forward(features).as_vec(),
        );
        for n in 0..2 {
            let mean = a[n * 3..(n + 1) * 3].iter().sum::<f32>() / 3.0;
            for k in 0..3 {
                assert!((q[n * 3 + k] - (v[n] + a[n * 3 + k] - mean)).abs() < 1e-5);
            }
        }
    }

    #[test]
    fn forward_and_gradients_are_bit_identical_run_to_run() {
        let dev: Cpu = Cpu::seed_from_u64(41);
        let net = dev.build_module::<NatureQNetC1<4>, f32>();
        let x = observations::<NatureQNetC1<4>, 25600>(&dev, 2, 255, 42);
        let run = || {
            let mut m = net.clone();
            let q = m.forward_mut(x.clone().traced(m.alloc_grads()));
            let q_values = q.as_vec();
            let grads = q.sum().backward();
            (
                q_values,
                grads.get(&m.0 .0.weight).as_vec(),
                grads.get(&m.0 .1.weight).as_vec(),
            )
        };
        let (a, b) = (run(), run());
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&a.0), bits(&b.0));
        assert_eq!(bits(&a.1), bits(&b.1));
        assert_eq!(bits(&a.2), bits(&b.2));
        assert_eq!(
            bits(&a.0),
            bits(&net.forward(x).as_vec()),
            "tape does not change the forward"
        );
    }

    #[test]
    fn dezero_init_uses_each_layers_fan_in() {
        let dev: Cpu = Cpu::seed_from_u64(51);
        let net = build::<MinAtarQNetC4<6>, _>(
            &dev,
            WeightInit::Dezero,
            &mut ChaCha8Rng::seed_from_u64(52),
        );
        let var_times_fan_in = |w: Vec<f32>, fan_in: f64| {
            let n = w.len() as f64;
            w.iter().map(|&v| f64::from(v).powi(2)).sum::<f64>() / n * fan_in
        };
        // 576 conv weights with fan-in 36: the sample variance is within ~±12% (2σ).
        let conv = var_times_fan_in(net.0.weight.as_vec(), 36.0);
        assert!((conv - 1.0).abs() < 0.15, "{conv}");
        let dense = var_times_fan_in(net.2.weight.as_vec(), 1024.0);
        assert!((dense - 1.0).abs() < 0.03, "{dense}");
        assert!(net
            .0
            .bias
            .as_vec()
            .iter()
            .chain(&net.3.bias.as_vec())
            .all(|&b| b == 0.0));
    }
}
