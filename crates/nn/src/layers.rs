//! The layers: first conv on host-cut patches, gathered convs with input gradients, dense
//! layers and the flatten, as dfdx modules with compile-time shapes.

use super::host_weights::HostWeights;
use super::tape::*;
use dfdx::nn::{BuildOnDevice, Module, NonMutableModule, ZeroSizedModule};
use dfdx::nn::{ModuleVisitor, TensorCollection, TensorOptions};
use dfdx::shapes::{Const, Dtype, HasShape, Rank1, Rank2, Shape};
use dfdx::tensor::TensorFromVec;
use dfdx::tensor::{Cpu, CpuError, PutTape, SplitTape, Storage, Tape, Tensor};
use dfdx::tensor_ops::{Device, PermuteTo, ReshapeTo, TryMatMul};
use rand_distr::uniform::SampleUniform;
use rand_distr::Uniform;

// ---------------------------------------------------------------------------------------------
// Layers
// ---------------------------------------------------------------------------------------------

/// dfdx's (and PyTorch's) default initialisation of a layer with `FAN_IN` inputs:
/// `U(±1/√FAN_IN)`, for weights and biases alike.
pub(super) fn uniform_fan_in<const FAN_IN: usize, S, E, D>(
    t: &mut Tensor<S, E, D>,
) -> Result<(), D::Err>
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
        weight_bias_fields!($visitor, $fan_in, $make, |_| ())
    };
    // `before_write(layer)` runs whenever the weight is lent out mutably.
    ($visitor:expr, $fan_in:expr, $make:expr, $before_write:expr) => {
        $visitor.visit_fields(
            (
                Self::tensor(
                    "weight",
                    |s| &s.weight,
                    |s| {
                        $before_write(&*s);
                        &mut s.weight
                    },
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
    /// `weight`'s values on the host (CPU only), for the fast path's products.
    pub(super) host: HostWeights<O, I, E>,
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
        let make = |(weight, bias)| DenseLayer {
            weight,
            bias,
            host: HostWeights::default(),
        };
        weight_bias_fields!(visitor, I, make, |s: &Self| s.host.clear())
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
        match super::dense_fast::try_forward(self, x)? {
            Ok(out) => Ok(out),
            Err(x) => self.matmul_forward(x),
        }
    }
}

impl<const I: usize, const O: usize, const RELU: bool, E> DenseLayer<I, O, RELU, E, Cpu>
where
    E: Dtype,
    Cpu: Device<E>,
{
    /// The forward through dfdx's taped `matmul` (`zᵀ = W·xᵀ`) and the fused epilogue: the path
    /// everywhere the fast path does not apply, and its bit-for-bit reference.
    pub(super) fn matmul_forward<T: Tape<E, Cpu>>(
        &self,
        x: Tensor<(usize, Const<I>), E, Cpu, T>,
    ) -> Result<Tensor<(usize, Const<O>), E, Cpu, T>, CpuError> {
        let batch = x.shape().0;
        let z_t = self.weight.retaped::<T>().try_matmul(x.try_permute()?)?;
        let (z_t, tape) = z_t.split_tape();
        let (y, mask) = dense_epilogue::<O, RELU, E>(&host(&z_t), &self.bias, batch, T::OWNS_TAPE);
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
/// when `RELU`, else identity. Returns `y` (`batch × O`) and, for a ReLU layer on a tape, the
/// ReLU's gradient mask `1[y > 0]` (else an empty vector). The transpose is a copy, then bias
/// and activation run in place along rows.
pub(super) fn dense_epilogue<const O: usize, const RELU: bool, E: Dtype>(
    z_t: &[E],
    bias: &Tensor<Rank1<O>, E, Cpu>,
    batch: usize,
    taped: bool,
) -> (Vec<E>, Vec<bool>) {
    let bias = array_of(bias);
    let mut y = super::matmul::transposed(z_t, O, batch);
    let mask = if RELU {
        bias_relu_rows(&mut y, &bias, taped)
    } else {
        add_bias_rows(&mut y, &bias);
        Vec::new()
    };
    (y, mask)
}

/// `acc[o, b] += g[b, o]` for `acc` `O × batch` and `g` `batch × O`.
pub(super) fn add_transposed<const O: usize, E: Dtype>(acc: &mut [E], g: &[E], batch: usize) {
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

/// On every device (a reshape is a stock op).
impl<const C: usize, const N: usize, E: Dtype, D: Device<E>, T: Tape<E, D>>
    Module<Tensor<(usize, Const<C>), E, D, T>> for RowsToBatch<N>
where
    D::Err: From<CpuError>,
{
    type Output = Tensor<(usize, Const<N>), E, D, T>;
    type Error = D::Err;

    /// Fails with `CpuError::WrongNumElements` (on `Cuda` wrapped in `CudaError::Cpu`) if
    /// `rows · C` is not a multiple of `N`.
    fn try_forward(&self, x: Tensor<(usize, Const<C>), E, D, T>) -> Result<Self::Output, D::Err> {
        let values = x.shape().0 * C;
        if N == 0 || !values.is_multiple_of(N) {
            return Err(CpuError::WrongNumElements.into());
        }
        x.try_reshape_like(&(values / N, Const::<N>))
    }
}
