//! The conv module's layers spelled with dfdx's stock tensor ops only (matmul, broadcast add,
//! ReLU, reshape, gather), so they run on any dfdx device with dfdx's own autograd. Devices
//! other than the CPU (`Cuda`, with the `cuda` feature) get their `Module` impls from here; the
//! CPU keeps the fused kernels of `layers.rs`. Same parameter structs, builders and layouts; the
//! tests check on the CPU that both spellings agree in outputs and in the gradients of weights,
//! biases and inputs.

use super::layers::{DenseLayer, GatherConvLayer, PatchConvLayer};
use dfdx::nn::modules::Linear;
use dfdx::nn::Module;
use dfdx::shapes::{Const, Dtype, HasShape, Rank1, Rank2};
use dfdx::tensor::{CpuError, Tape, Tensor};
use dfdx::tensor_ops::{Device, GatherTo, ReshapeTo};

/// A batch of rows of `N` values on device `D`.
type Rows<const N: usize, E, D, T> = Tensor<(usize, Const<N>), E, D, T>;

/// `y = act(x·Wᵀ + b)`, `W` `O × I`, `act` = ReLU when `RELU` else identity: dfdx's `Linear`
/// on the layer's own parameters (clones share storage and gradient slots with the layer).
pub(crate) fn dense<const I: usize, const O: usize, const RELU: bool, E, D, T>(
    layer: &DenseLayer<I, O, RELU, E, D>,
    x: Rows<I, E, D, T>,
) -> Result<Rows<O, E, D, T>, D::Err>
where
    E: Dtype,
    D: Device<E>,
    T: Tape<E, D>,
{
    let z = affine(&layer.weight, &layer.bias, x)?;
    if RELU {
        z.try_relu()
    } else {
        Ok(z)
    }
}

/// The first convolution, on host-cut patches: input `(B, IN)` is `P = IN / PATCH` patches per
/// row, seen as `(B·P, PATCH)` patch rows; output `ReLU(patches·Wᵀ + b)`, `(B·P, CO)`.
pub(crate) fn patch_conv<const IN: usize, const PATCH: usize, const CO: usize, E, D, T>(
    layer: &PatchConvLayer<IN, PATCH, CO, E, D>,
    x: Rows<IN, E, D, T>,
) -> Result<Rows<CO, E, D, T>, D::Err>
where
    E: Dtype,
    D: Device<E>,
    T: Tape<E, D>,
{
    // Checked where the function is instantiated: a row is whole patches.
    const { assert!(PATCH > 0 && IN.is_multiple_of(PATCH)) };
    let rows = x.shape().0 * (IN / PATCH);
    let patches = x.try_reshape_like(&(rows, Const::<PATCH>))?;
    affine(&layer.weight, &layer.bias, patches)?.try_relu()
}

/// A `K × K`, stride-`S` convolution with ReLU of rows `(B·SIDE², CI)` into rows
/// `(B·OUT², CO)`, `OUT = (SIDE − K)/S + 1`: im2col as dfdx's `gather` of input rows (patch
/// order `(ky, kx, c)`; the gather's backward scatter-adds into `∂L/∂x`), reshaped to
/// `(B·OUT², PATCH)`, then `ReLU(patches·Wᵀ + b)`. Fails with `WrongNumElements`, as the CPU
/// layer, when the rows are not whole images.
pub(crate) fn gather_conv<
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
    D::Err: From<CpuError>,
    T: Tape<E, D>,
{
    // Checked where the function is instantiated: the kernel fits and a patch is K·K·CI.
    const { assert!(K > 0 && S > 0 && SIDE >= K && PATCH == K * K * CI) };
    if !x.shape().0.is_multiple_of(SIDE * SIDE) {
        return Err(CpuError::WrongNumElements.into());
    }
    let images = x.shape().0 / (SIDE * SIDE);
    let out = GatherConvLayer::<SIDE, CI, K, S, CO, PATCH, E, D>::OUT;
    let sources = patch_sources(images, SIDE, K, S, out);
    let n = sources.len();
    let idx = x.device().try_tensor_from_vec(sources, (n,))?;
    let taken: Rows<CI, E, D, T> = x.try_gather(idx)?;
    let patches = taken.try_reshape_like(&(images * out * out, Const::<PATCH>))?;
    affine(&layer.weight, &layer.bias, patches)?.try_relu()
}

/// The input row of every patch entry, in patch-matrix order: for each image `b`, output
/// position `(oy, ox)` and kernel offset `(ky, kx)`, row `(b·SIDE + S·oy + ky)·SIDE + S·ox + kx`.
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

/// `x·Wᵀ + b` for rows `x` `(n, IN)`, `W` `OUT × IN`: dfdx's `Linear` over the given
/// parameters, so their gradients land in the layer's slots.
fn affine<const IN: usize, const OUT: usize, E, D, T>(
    weight: &Tensor<Rank2<OUT, IN>, E, D>,
    bias: &Tensor<Rank1<OUT>, E, D>,
    x: Rows<IN, E, D, T>,
) -> Result<Rows<OUT, E, D, T>, D::Err>
where
    E: Dtype,
    D: Device<E>,
    T: Tape<E, D>,
{
    let linear = Linear {
        weight: weight.clone(),
        bias: bias.clone(),
    };
    linear.try_forward(x)
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

        /// Fails with `CudaError::Cpu(WrongNumElements)` on rows that are not whole images.
        fn try_forward(&self, x: Rows<CI, f32, Cuda, T>) -> Result<Self::Output, CudaError> {
            gather_conv(self, x)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{DenseLinear, DenseRelu, GatherConvRelu, PatchConvRelu};
    use dfdx::nn::{BuildOnDevice, DeviceBuildExt};
    use dfdx::tensor::{Cpu, Gradients, NoneTape, OwnedTape, TensorFromVec, Trace};
    use dfdx::tensor_ops::{Backward, SumTo};

    type Traced = OwnedTape<f64, Cpu>;
    type CpuRows<const N: usize, T = NoneTape> = Rows<N, f64, Cpu, T>;

    /// A forward and backward pass: output, then the gradients of weight, bias and input
    /// (the last empty when the input gradient is not compared).
    type Pass = [Vec<f64>; 4];

    /// `Cpu::seed_from_u64(seed)`'s build of `B` in `f64`: equal seeds, equal parameters.
    fn built<B: BuildOnDevice<Cpu, f64>>(seed: u64) -> B::Built {
        Cpu::seed_from_u64(seed).build_module::<B, f64>()
    }

    /// `rows × N` values in [−1, 1), a different pattern per `seed`.
    fn random_rows<const N: usize>(rows: usize, seed: u64) -> CpuRows<N> {
        let values = (0..rows * N)
            .map(|i| ((i as u64 * 2_654_435_761 + seed * 7919) % 1000) as f64 / 500.0 - 1.0)
            .collect();
        Cpu::default().tensor_from_vec(values, (rows, Const))
    }

    /// Runs `f` on a traced copy of `x` and back-propagates `L = Σ y ⊙ r` for a fixed `r`
    /// (so every output has its own gradient); `params` reads the weight and bias gradients.
    fn pass<const IN: usize, const OUT: usize>(
        x: &CpuRows<IN>,
        input_grad: bool,
        f: impl FnOnce(CpuRows<IN, Traced>) -> CpuRows<OUT, Traced>,
        params: impl FnOnce(&Gradients<f64, Cpu>) -> [Vec<f64>; 2],
    ) -> Pass {
        let y = f(x.leaky_trace());
        let out = y.as_vec();
        let r = random_rows::<OUT>(y.shape().0, 99);
        let grads = (y * r).sum().backward();
        let [weight, bias] = params(&grads);
        let input = if input_grad {
            grads.get(x).as_vec()
        } else {
            Vec::new()
        };
        [out, weight, bias, input]
    }

    /// The weight and bias gradients of `layer` (any layer with `weight` and `bias` fields).
    macro_rules! weight_bias {
        ($layer:expr) => {
            |g: &Gradients<f64, Cpu>| [g.get(&$layer.weight).as_vec(), g.get(&$layer.bias).as_vec()]
        };
    }

    /// `ours` equals `fused` to 1e-12 relative, and the comparison is not vacuous: each
    /// compared gradient of `fused` has a non-zero entry.
    fn assert_same(ours: &Pass, fused: &Pass) {
        const NAMES: [&str; 4] = ["output", "weight grad", "bias grad", "input grad"];
        for (k, (got, want)) in ours.iter().zip(fused).enumerate() {
            let name = NAMES[k];
            assert_eq!(got.len(), want.len(), "{name}: lengths");
            for (i, (g, w)) in got.iter().zip(want).enumerate() {
                let tol = 1e-12 * w.abs().max(1.0);
                assert!((g - w).abs() <= tol, "{name}[{i}]: portable {g}, fused {w}");
            }
            if k > 0 && !want.is_empty() {
                assert!(want.iter().any(|v| *v != 0.0), "{name}: all zero");
            }
        }
    }

    /// Runs the fused layer and its portable spelling on `x`, asserts they agree
    /// ([`assert_same`]) and returns the fused pass.
    fn fused_and_portable_agree<const IN: usize, const OUT: usize>(
        x: &CpuRows<IN>,
        input_grad: bool,
        fused: impl FnOnce(CpuRows<IN, Traced>) -> CpuRows<OUT, Traced>,
        portable: impl FnOnce(CpuRows<IN, Traced>) -> CpuRows<OUT, Traced>,
        params: impl Fn(&Gradients<f64, Cpu>) -> [Vec<f64>; 2] + Copy,
    ) -> Pass {
        let want = pass(x, input_grad, fused, params);
        let got = pass(x, input_grad, portable, params);
        assert_same(&got, &want);
        want
    }

    /// Some outputs are cut by the ReLU and some pass, so its gradient mask is exercised.
    fn assert_relu_bites(out: &[f64]) {
        assert!(out.contains(&0.0), "no output cut by the ReLU");
        assert!(out.iter().any(|v| *v > 0.0), "no output passed by the ReLU");
    }

    #[test]
    fn dense_matches_the_fused_layer_with_and_without_relu() {
        let relu = built::<DenseRelu<7, 5>>(1);
        let x = random_rows::<7>(6, 1);
        let fused = fused_and_portable_agree(
            &x,
            true,
            |x| relu.forward(x),
            |x| dense(&relu, x).unwrap(),
            weight_bias!(relu),
        );
        assert_relu_bites(&fused[0]);

        let linear = built::<DenseLinear<16, 3>>(2);
        let x = random_rows::<16>(1, 2);
        let fused = fused_and_portable_agree(
            &x,
            true,
            |x| linear.forward(x),
            |x| dense(&linear, x).unwrap(),
            weight_bias!(linear),
        );
        assert!(
            fused[0].iter().any(|v| *v < 0.0),
            "linear: no negative output"
        );
    }

    #[test]
    fn patch_conv_matches_the_fused_layer() {
        // A 5×5, 2-channel image's 3×3 patches (9 positions of 18 values), 4 filters, batch 3.
        let conv = built::<PatchConvRelu<162, 18, 4>>(3);
        let x = random_rows::<162>(3, 3);
        let fused = fused_and_portable_agree(
            &x,
            false,
            |x| conv.forward(x),
            |x| patch_conv(&conv, x).unwrap(),
            weight_bias!(conv),
        );
        assert_relu_bites(&fused[0]);
    }

    /// Compares `gather_conv` with the fused layer on `images` random images.
    fn check_gather_conv<
        const SIDE: usize,
        const CI: usize,
        const K: usize,
        const S: usize,
        const CO: usize,
        const PATCH: usize,
    >(
        images: usize,
        seed: u64,
    ) {
        let conv = built::<GatherConvRelu<SIDE, CI, K, S, CO, PATCH>>(seed);
        let x = random_rows::<CI>(images * SIDE * SIDE, seed);
        let fused = fused_and_portable_agree(
            &x,
            true,
            |x| conv.forward(x),
            |x| gather_conv(&conv, x).unwrap(),
            weight_bias!(conv),
        );
        assert_relu_bites(&fused[0]);
    }

    #[test]
    fn gather_conv_matches_the_fused_layer_at_stride_1_and_2() {
        // MinAtar-like: 10×10, 3×3, stride 1 (8×8 out).
        check_gather_conv::<10, 2, 3, 1, 4, 18>(2, 4);
        // Nature-like: 9×9, 4×4, stride 2 (3×3 out, the last row and column unread).
        check_gather_conv::<9, 3, 4, 2, 3, 48>(2, 5);
    }

    #[test]
    fn gather_conv_rejects_partial_images_like_the_fused_layer() {
        let conv = built::<GatherConvRelu<4, 2, 3, 1, 2, 18>>(6);
        let x = random_rows::<2>(2 * 16 - 1, 6);
        let fused = conv.try_forward(x.clone());
        let ours = gather_conv(&conv, x);
        assert!(matches!(fused, Err(CpuError::WrongNumElements)));
        assert!(matches!(ours, Err(CpuError::WrongNumElements)));
    }

    #[test]
    fn patch_sources_read_each_kernel_window_in_ky_kx_order() {
        // 4×4 images, 2×2 kernel, stride 2: windows at (0,0), (0,2), (2,0), (2,2).
        let rows = patch_sources(2, 4, 2, 2, 2);
        assert_eq!(rows.len(), 2 * 4 * 4);
        assert_eq!(&rows[..8], &[0, 1, 4, 5, 2, 3, 6, 7]);
        assert_eq!(&rows[12..16], &[10, 11, 14, 15]);
        assert_eq!(
            &rows[16..20],
            &[16, 17, 20, 21],
            "the second image starts at row 16"
        );
    }
}
