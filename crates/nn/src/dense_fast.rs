//! The dense layer's fast path: forward `zᵀ = W·xᵀ` (then the layer's epilogue
//! `y = act(z + b)`) and backward `∂L/∂W += Gᵀ·x`, `∂L/∂x += G·W` with our small-product
//! kernel ([`super::matmul`]) instead of dfdx's taped `matmul` (no tensors, tape entries or
//! gradient buffers for `zᵀ`). `W` is read from the layer's host copy
//! ([`HostWeights`](super::host_weights::HostWeights)), refreshed only after the optimizer has
//! written it.
//!
//! Taken only where each of the three products is one that `gemm` computes on its blocked
//! path ([`gemm_depth_block`], described as dfdx's `matmul` calls them in the layer's other
//! path), and run in gemm's depth blocks, so results are bit-identical to that path;
//! elsewhere (`f64`, no AVX2/FMA, depth ≤ 2, e.g. a 2-action output layer's input gradient)
//! the layer keeps it.

use super::layers::{dense_epilogue, DenseLayer};
use super::matmul::{self, gemm_depth_block, same_type, same_type_mut, Operand, Strides};
use super::tape::*;
use dfdx::shapes::{Const, Dtype, HasShape};
use dfdx::tensor::{Cpu, CpuError, PutTape, SplitTape, Tape, Tensor, TensorFromVec};
use std::any::TypeId;

type Rows<const N: usize, E, T> = Tensor<(usize, Const<N>), E, Cpu, T>;
/// The layer's output, or its input back where the fast path does not apply.
type Attempt<const I: usize, const O: usize, E, T> = Result<Rows<O, E, T>, Rows<I, E, T>>;

/// gemm's depth blocks for the layer's three products (forward, `∂W`, `∂x`; the backward's are
/// 0, unused, for a forward without a tape).
#[derive(Clone, Copy)]
pub(super) struct DepthBlocks {
    pub forward: usize,
    pub grad_w: usize,
    pub grad_x: usize,
}

/// gemm's depth blocks where the fast path reproduces the `matmul` path exactly for this layer
/// and batch (the backward's only when `backward`), or `None`.
pub(super) fn eligible<E: Dtype>(
    i: usize,
    o: usize,
    batch: usize,
    backward: bool,
) -> Option<DepthBlocks> {
    if TypeId::of::<E>() != TypeId::of::<f32>() || !matmul::available() {
        return None;
    }
    let row = |cols| Strides { rs: cols, cs: 1 };
    let col = |rows| Strides { rs: 1, cs: rows };
    // The `matmul` path: zᵀ = W·xᵀ; ∂W += ∂zᵀ·x; ∂xᵀ += Wᵀ·∂zᵀ (dfdx's operand strides).
    let forward = gemm_depth_block((o, batch, i), row(batch), row(i), col(i))?;
    if !backward {
        return Some(DepthBlocks {
            forward,
            grad_w: 0,
            grad_x: 0,
        });
    }
    Some(DepthBlocks {
        forward,
        grad_w: gemm_depth_block((o, i, batch), row(i), row(batch), row(i))?,
        grad_x: gemm_depth_block((i, batch, o), col(i), col(i), row(batch))?,
    })
}

/// `zᵀ = W·xᵀ` (`O × batch`) for the layer's weights `w` (`O × I`, row-major), in gemm's
/// depth blocks `kc`. This orientation reads `W` in place (only `x` is packed) and fills the
/// kernel's 16-column tiles from batch 16 up. At batch 1 (acting) `zᵀ` and `y = x·Wᵀ` are the
/// same array, and `x·Wᵀ` is computed instead: one row against `W` packed, 16 outputs per
/// tile, not 1 of 16 lanes used.
fn affine<const I: usize, const O: usize>(
    w: &[f32],
    xs: &[f32],
    batch: usize,
    kc: usize,
) -> Vec<f32> {
    let mut z_t = vec![0.0; O * batch];
    let (w_rows, x_rows) = (Operand::rows(w, I), Operand::rows(xs, I));
    if batch == 1 {
        matmul::product((1, I, O), x_rows, w_rows.t(), &mut z_t, (O, kc), false);
    } else {
        matmul::product(
            (O, I, batch),
            w_rows,
            x_rows.t(),
            &mut z_t,
            (batch, kc),
            false,
        );
    }
    z_t
}

/// The layer's forward on the fast path, or `Err(x)` (untouched) where it does not apply.
pub(super) fn try_forward<const I: usize, const O: usize, const RELU: bool, E, T>(
    layer: &DenseLayer<I, O, RELU, E, Cpu>,
    x: Rows<I, E, T>,
) -> Result<Attempt<I, O, E, T>, CpuError>
where
    E: Dtype,
    Cpu: dfdx::tensor_ops::Device<E>,
    T: Tape<E, Cpu>,
{
    let batch = x.shape().0;
    let Some(blocks) = eligible::<E>(I, O, batch, T::OWNS_TAPE) else {
        return Ok(Err(x));
    };
    let (x, tape) = x.split_tape();
    let xs = host(&x);
    let w = layer.host.values(&layer.weight);
    let z_t = affine::<I, O>(
        same_type(w.as_slice()),
        same_type(&xs),
        batch,
        blocks.forward,
    );
    let (y, mask) =
        dense_epilogue::<O, RELU, E>(same_type(z_t.as_slice()), &layer.bias, batch, T::OWNS_TAPE);
    let out = x.device().try_tensor_from_vec(y, (batch, Const::<O>))?;
    if !T::OWNS_TAPE {
        return Ok(Ok(out.put_tape(tape)));
    }
    let (weight, bias) = (layer.weight.clone(), layer.bias.clone());
    Ok(Ok(record(out, tape, move |grads, mut g| {
        let grad_b = if RELU {
            relu_backward_rows::<O, E>(&mut g, &mask)
        } else {
            column_sums::<O, E>(&g)
        };
        add_assign(grad_of(grads, &bias)?, &grad_b);
        let g = Operand::rows(same_type(&g), O);
        let (x_rows, w_rows) = (
            Operand::rows(same_type(&xs), I),
            Operand::rows(same_type(w.as_slice()), I),
        );
        let grad_w = same_type_mut(grad_of(grads, &weight)?);
        matmul::product(
            (O, batch, I),
            g.t(),
            x_rows,
            grad_w,
            (I, blocks.grad_w),
            true,
        );
        let grad_x = same_type_mut(grad_of(grads, &x)?);
        matmul::product((batch, O, I), g, w_rows, grad_x, (I, blocks.grad_x), true);
        Ok(())
    })))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::Dense;
    use dfdx::nn::Module;
    use dfdx::prelude::*;

    /// `(forward values, ∂W, ∂b, ∂x)` of `Σ r ⊙ forward(x)` for a fixed `r`, as bits.
    type Pass = [Vec<u32>; 4];

    fn bits(values: Vec<f32>) -> Vec<u32> {
        values.into_iter().map(f32::to_bits).collect()
    }

    /// One taped pass through `forward` on `x` (`batch × I`).
    fn pass<const I: usize, const O: usize, const RELU: bool>(
        layer: &DenseLayer<I, O, RELU, f32, Cpu>,
        x: &[f32],
        forward: impl Fn(
            &DenseLayer<I, O, RELU, f32, Cpu>,
            Tensor<(usize, Const<I>), f32, Cpu, OwnedTape<f32, Cpu>>,
        ) -> Tensor<(usize, Const<O>), f32, Cpu, OwnedTape<f32, Cpu>>,
    ) -> Pass {
        let dev = layer.weight.device().clone();
        let batch = x.len() / I;
        let x = dev.tensor_from_vec(x.to_vec(), (batch, Const::<I>));
        let r: Vec<f32> = (0..batch * O).map(|i| (i as f32 * 0.61).sin()).collect();
        let r = dev.tensor_from_vec(r, (batch, Const::<O>));
        let y = forward(layer, x.leaky_trace());
        let values = bits(y.retaped::<NoneTape>().as_vec());
        let grads = (y * r).sum().backward();
        let grad = |g: &[f32]| bits(g.to_vec());
        [
            values,
            grad(grads.get(&layer.weight).as_vec().as_slice()),
            grad(grads.get(&layer.bias).as_vec().as_slice()),
            grad(grads.get(&x).as_vec().as_slice()),
        ]
    }

    /// The fast path is taken for the layer and gives the same bits as the `matmul` path: at
    /// batch 32 (training) values and all three gradients, at batches 1 (acting) and 32
    /// (targets) the forward without a tape.
    fn fast_path_matches_matmul_path<const I: usize, const O: usize, const RELU: bool>(seed: u64) {
        let dev = Cpu::seed_from_u64(seed);
        let layer = dev.build_module::<Dense<I, O, RELU>, f32>();
        let x = |batch: usize| -> Vec<f32> {
            (0..batch * I).map(|i| (i as f32 * 0.37).cos()).collect()
        };
        assert!(eligible::<f32>(I, O, 32, true).is_some(), "{I}→{O}, taped");
        let fast = pass(&layer, &x(32), |l, x| l.forward(x));
        let reference = pass(&layer, &x(32), |l, x| l.matmul_forward(x).unwrap());
        let names = ["forward", "∂W", "∂b", "∂x"];
        for ((f, r), name) in fast.iter().zip(&reference).zip(names) {
            assert!(f == r, "{I}→{O}: {name} differs");
        }
        for batch in [1, 32] {
            assert!(
                eligible::<f32>(I, O, batch, false).is_some(),
                "{I}→{O}, batch {batch}"
            );
            let input = || dev.tensor_from_vec(x(batch), (batch, Const::<I>));
            let fast = bits(layer.forward(input()).as_vec());
            let reference = bits(layer.matmul_forward(input()).unwrap().as_vec());
            assert!(
                fast == reference,
                "{I}→{O}, batch {batch}: forward without tape"
            );
        }
    }

    /// The MinAtar network's dense layers: 1024 inputs (two depth blocks of gemm's on this
    /// machine's caches, wherever `kc` < 1024) and the 6-action output layer; the MLP's
    /// hidden layer.
    #[test]
    fn fast_path_is_bit_identical_to_the_matmul_path() {
        if !matmul::available() {
            eprintln!("no AVX2/FMA: fast path not used on this machine");
            return;
        }
        fast_path_matches_matmul_path::<1024, 128, true>(3);
        fast_path_matches_matmul_path::<128, 6, false>(4);
        fast_path_matches_matmul_path::<128, 128, true>(5);
    }
}
