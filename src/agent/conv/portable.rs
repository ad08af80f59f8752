//! The layers of this module spelled with dfdx's stock tensor ops only (matmul, broadcast add,
//! ReLU, reshape, gather), so they run, with dfdx's own autograd, on any dfdx device. Devices
//! other than the CPU (`Cuda`, with the `cuda` feature) use these; the CPU keeps the fused
//! kernels of `layers.rs`. The tests check both spellings agree on the CPU: outputs and the
//! gradients of weights, biases and inputs.

use super::layers::{DenseLayer, GatherConvLayer, PatchConvLayer};
use dfdx::nn::modules::Linear;
use dfdx::nn::Module;
use dfdx::shapes::{Const, Dtype, HasShape};
use dfdx::tensor::{Tape, Tensor};
use dfdx::tensor_ops::{Device, GatherTo, ReshapeTo};

/// A batch of rows of `N` values on device `D`.
type Rows<const N: usize, E, D, T> = Tensor<(usize, Const<N>), E, D, T>;

/// `y = act(x·Wᵀ + b)` as dfdx's `Linear` (then `ReLU` when `RELU`), on the layer's own
/// parameter tensors (clones share their storage and gradient slots).
pub fn dense<const I: usize, const O: usize, const RELU: bool, E, D, T>(
    layer: &DenseLayer<I, O, RELU, E, D>,
    x: Rows<I, E, D, T>,
) -> Result<Rows<O, E, D, T>, D::Err>
where
    E: Dtype,
    D: Device<E>,
    T: Tape<E, D>,
{
    let linear = Linear {
        weight: layer.weight.clone(),
        bias: layer.bias.clone(),
    };
    let z = linear.try_forward(x)?;
    if RELU {
        z.try_relu()
    } else {
        Ok(z)
    }
}

/// The first convolution on host-cut patches: the `(B, IN)` input seen as `(B·P, PATCH)` patch
/// rows, then `ReLU(patches·Wᵀ + b)` → `(B·P, CO)`.
pub fn patch_conv<const IN: usize, const PATCH: usize, const CO: usize, E, D, T>(
    layer: &PatchConvLayer<IN, PATCH, CO, E, D>,
    x: Rows<IN, E, D, T>,
) -> Result<Rows<CO, E, D, T>, D::Err>
where
    E: Dtype,
    D: Device<E>,
    T: Tape<E, D>,
{
    let rows = x.shape().0 * PatchConvLayer::<IN, PATCH, CO, E, D>::POSITIONS;
    let patches = x.try_reshape_like(&(rows, Const::<PATCH>))?;
    conv_rows(&layer.weight, &layer.bias, patches)
}

/// A gathered convolution: im2col as dfdx's `gather` of input rows (its backward scatter-adds
/// the patch gradients into the input gradient), then `ReLU(patches·Wᵀ + b)`. Input
/// `(B·SIDE², CI)`, output `(B·OUT², CO)`, patch order `(ky, kx, c)`, as the CPU layer.
pub fn gather_conv<
    const SIDE: usize,
    const CI: usize,
    const K: usize,
    const S: usize,
    const CO: usize,
    const PATCH: usize,
    E,
    D,
    T,
>(
    layer: &GatherConvLayer<SIDE, CI, K, S, CO, PATCH, E, D>,
    x: Rows<CI, E, D, T>,
) -> Result<Rows<CO, E, D, T>, D::Err>
where
    E: Dtype,
    D: Device<E>,
    T: Tape<E, D>,
{
    assert!(
        x.shape().0.is_multiple_of(SIDE * SIDE),
        "gather_conv: {} input rows are not whole {SIDE}×{SIDE} images",
        x.shape().0
    );
    let images = x.shape().0 / (SIDE * SIDE);
    let out = GatherConvLayer::<SIDE, CI, K, S, CO, PATCH, E, D>::OUT;
    let sources = patch_sources(images, SIDE, K, S, out);
    let n = sources.len();
    let idx = x.device().try_tensor_from_vec(sources, (n,))?;
    let taken: Rows<CI, E, D, T> = x.try_gather(idx)?;
    let patches = taken.try_reshape_like(&(images * out * out, Const::<PATCH>))?;
    conv_rows(&layer.weight, &layer.bias, patches)
}

/// For each image, output position `(oy, ox)` and kernel offset `(ky, kx)`, in that order, the
/// input row it reads: `(b·SIDE + S·oy + ky)·SIDE + S·ox + kx`.
fn patch_sources(images: usize, side: usize, k: usize, s: usize, out: usize) -> Vec<usize> {
    let mut rows = Vec::with_capacity(images * out * out * k * k);
    for b in 0..images {
        for (oy, ox) in (0..out).flat_map(|oy| (0..out).map(move |ox| (oy, ox))) {
            for (ky, kx) in (0..k).flat_map(|ky| (0..k).map(move |kx| (ky, kx))) {
                rows.push((b * side + s * oy + ky) * side + s * ox + kx);
            }
        }
    }
    rows
}

/// `ReLU(patches·Wᵀ + b)` for patch rows, `W` `CO × PATCH`.
fn conv_rows<const PATCH: usize, const CO: usize, E, D, T>(
    weight: &Tensor<(Const<CO>, Const<PATCH>), E, D>,
    bias: &Tensor<(Const<CO>,), E, D>,
    patches: Rows<PATCH, E, D, T>,
) -> Result<Rows<CO, E, D, T>, D::Err>
where
    E: Dtype,
    D: Device<E>,
    T: Tape<E, D>,
{
    let linear = Linear {
        weight: weight.clone(),
        bias: bias.clone(),
    };
    linear.try_forward(patches)?.try_relu()
}

#[cfg(feature = "cuda")]
mod cuda {
    //! The layers' `Module` impls on dfdx's `Cuda` device: the stock-op spellings above.
    //! (`RowsToBatch`, a reshape, has one device-generic impl in `layers.rs`.)
    use super::*;
    use dfdx::tensor::{Cuda, CudaError};

    impl<const I: usize, const O: usize, const RELU: bool, T: Tape<f32, Cuda>>
        Module<Rows<I, f32, Cuda, T>> for DenseLayer<I, O, RELU, f32, Cuda>
    {
        type Output = Rows<O, f32, Cuda, T>;
        type Error = CudaError;

        fn try_forward(&self, x: Rows<I, f32, Cuda, T>) -> Result<Self::Output, CudaError> {
            dense(self, x)
        }
    }

    impl<const IN: usize, const PATCH: usize, const CO: usize, T: Tape<f32, Cuda>>
        Module<Rows<IN, f32, Cuda, T>> for PatchConvLayer<IN, PATCH, CO, f32, Cuda>
    {
        type Output = Rows<CO, f32, Cuda, T>;
        type Error = CudaError;

        fn try_forward(&self, x: Rows<IN, f32, Cuda, T>) -> Result<Self::Output, CudaError> {
            patch_conv(self, x)
        }
    }

    impl<
            const SIDE: usize,
            const CI: usize,
            const K: usize,
            const S: usize,
            const CO: usize,
            const PATCH: usize,
            T: Tape<f32, Cuda>,
        > Module<Rows<CI, f32, Cuda, T>> for GatherConvLayer<SIDE, CI, K, S, CO, PATCH, f32, Cuda>
    {
        type Output = Rows<CO, f32, Cuda, T>;
        type Error = CudaError;

        fn try_forward(&self, x: Rows<CI, f32, Cuda, T>) -> Result<Self::Output, CudaError> {
            gather_conv(self, x)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agent::conv::{DenseLinear, DenseRelu, GatherConvRelu, PatchConvRelu};
    use dfdx::nn::{BuildOnDevice, DeviceBuildExt};
    use dfdx::tensor::{Cpu, Gradients, OwnedTape, TensorFromVec, Trace};
    use dfdx::tensor_ops::{Backward, SumTo};

    type CpuRows<const N: usize, T = dfdx::tensor::NoneTape> = Rows<N, f64, Cpu, T>;
    type Traced = OwnedTape<f64, Cpu>;

    /// Deterministic values in [−1, 1).
    fn values(n: usize, seed: u64) -> Vec<f64> {
        (0..n)
            .map(|i| ((i as u64 * 2_654_435_761 + seed * 97) % 1000) as f64 / 500.0 - 1.0)
            .collect()
    }

    /// `Σ y ⊙ r` for a fixed readout `r`, so every output's gradient differs.
    fn readout<const N: usize>(y: CpuRows<N, Traced>) -> Gradients<f64, Cpu> {
        let r = y
            .device()
            .tensor_from_vec(values(y.shape().0 * N, 5), *y.shape());
        (y * r).sum().backward()
    }

    fn assert_close(what: &str, got: &[f64], want: &[f64]) {
        assert_eq!(got.len(), want.len(), "{what}: lengths");
        for (i, (g, w)) in got.iter().zip(want).enumerate() {
            assert!(
                (g - w).abs() <= 1e-12 * (1.0 + w.abs()),
                "{what}[{i}]: {g} vs {w}"
            );
        }
    }

    /// Runs the fused CPU layer and its portable spelling on the same traced input
    /// (`rows × IN`) and compares outputs and the gradients of weight and bias (`params`) and,
    /// when `input_grad`, of the input.
    fn same_as_fused<L, const IN: usize, const OUT: usize>(
        layer: &L,
        rows: usize,
        input_grad: bool,
        params: impl Fn(&L, &Gradients<f64, Cpu>) -> [Vec<f64>; 2],
        portable: impl Fn(&L, CpuRows<IN, Traced>) -> CpuRows<OUT, Traced>,
    ) where
        L: Module<CpuRows<IN, Traced>, Output = CpuRows<OUT, Traced>>,
    {
        let dev: Cpu = Default::default();
        let x: CpuRows<IN> = dev.tensor_from_vec(values(rows * IN, 1), (rows, Const));
        let run = |f: &dyn Fn(CpuRows<IN, Traced>) -> CpuRows<OUT, Traced>| {
            let y = f(x.clone().leaky_trace());
            let out = y.as_vec();
            let g = readout(y);
            let input = if input_grad {
                g.get(&x).as_vec()
            } else {
                Vec::new()
            };
            (out, params(layer, &g), input)
        };
        let fused = run(&|x| layer.forward(x));
        let ours = run(&|x| portable(layer, x));
        assert_close("output", &ours.0, &fused.0);
        assert_close("weight gradient", &ours.1[0], &fused.1[0]);
        assert_close("bias gradient", &ours.1[1], &fused.1[1]);
        assert_close("input gradient", &ours.2, &fused.2);
    }

    /// The weight and bias gradients of a layer with `weight` and `bias` fields.
    macro_rules! weight_bias {
        () => {
            |l: &_, g: &Gradients<f64, Cpu>| [g.get(&l.weight).as_vec(), g.get(&l.bias).as_vec()]
        };
    }

    fn built<B: BuildOnDevice<Cpu, f64>>(seed: u64) -> B::Built {
        Cpu::seed_from_u64(seed).build_module::<B, f64>()
    }

    #[test]
    fn dense_matches_the_fused_layer() {
        let relu = built::<DenseRelu<7, 5>>(1);
        same_as_fused(&relu, 4, true, weight_bias!(), |l, x| dense(l, x).unwrap());
        let linear = built::<DenseLinear<7, 3>>(2);
        same_as_fused(&linear, 1, true, weight_bias!(), |l, x| {
            dense(l, x).unwrap()
        });
    }

    #[test]
    fn patch_conv_matches_the_fused_layer() {
        // 3 positions of 4-value patches per sample, 5 filters, batch 2.
        let conv = built::<PatchConvRelu<12, 4, 5>>(3);
        same_as_fused(&conv, 2, false, weight_bias!(), |l, x| {
            patch_conv(l, x).unwrap()
        });
    }

    #[test]
    fn gather_conv_matches_the_fused_layer() {
        // MinAtar-like (stride 1) and Nature-like (stride 2) shapes, 2 images each.
        let one = built::<GatherConvRelu<5, 2, 3, 1, 4, 18>>(4);
        same_as_fused(&one, 2 * 25, true, weight_bias!(), |l, x| {
            gather_conv(l, x).unwrap()
        });
        let two = built::<GatherConvRelu<8, 3, 4, 2, 2, 48>>(5);
        same_as_fused(&two, 2 * 64, true, weight_bias!(), |l, x| {
            gather_conv(l, x).unwrap()
        });
    }

    #[test]
    fn patch_sources_read_each_kernel_window() {
        // 4×4 image, 2×2 kernel, stride 2: windows at (0,0), (0,2), (2,0), (2,2).
        let rows = patch_sources(2, 4, 2, 2, 2);
        assert_eq!(&rows[..8], &[0, 1, 4, 5, 2, 3, 6, 7]);
        assert_eq!(&rows[12..16], &[10, 11, 14, 15]);
        assert_eq!(
            &rows[16..20],
            &[16, 17, 20, 21],
            "second image starts at row 16"
        );
    }
}
