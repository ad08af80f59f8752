//! The dense layer's fast path: forward `y = act(x·Wᵀ + b)` and backward `∂L/∂W += Gᵀ·x`,
//! `∂L/∂x += G·W` with our small-product kernel ([`super::matmul`]) instead of dfdx's taped
//! `matmul`, writing `y` in its final layout (no transposed intermediate, no separate
//! epilogue pass over a copy).
//!
//! Taken only where each of the three products is one that `gemm` would compute in one
//! blocked pass ([`gemm_blocked_one_pass`], described as dfdx's `matmul` calls them in the
//! layer's other path), so results are bit-identical to that path; elsewhere (`f64`, no
//! AVX2/FMA, depth ≤ 2 or > 512, e.g. a 2-action output layer's input gradient) the layer
//! keeps it.

use super::layers::DenseLayer;
use super::matmul::{self, gemm_blocked_one_pass, Operand, Strides};
use super::tape::*;
use dfdx::shapes::{Const, Dtype, HasShape, Rank2};
use dfdx::tensor::{Cpu, CpuError, PutTape, SplitTape, Tape, Tensor, TensorFromVec};
use std::any::TypeId;
use std::cell::RefCell;

type Rows<const N: usize, E, T> = Tensor<(usize, Const<N>), E, Cpu, T>;
/// The layer's output, or its input back where the fast path does not apply.
type Attempt<const I: usize, const O: usize, E, T> = Result<Rows<O, E, T>, Rows<I, E, T>>;

/// Whether the fast path reproduces the `matmul` path exactly for this layer and batch.
fn eligible<E: Dtype>(i: usize, o: usize, batch: usize, backward: bool) -> bool {
    let row = |cols| Strides { rs: cols, cs: 1 };
    let col = |rows| Strides { rs: 1, cs: rows };
    // The `matmul` path: zᵀ = W·xᵀ; ∂W += ∂zᵀ·x; ∂xᵀ += Wᵀ·∂zᵀ (dfdx's operand strides).
    let forward = gemm_blocked_one_pass((o, batch, i), row(batch), row(i), col(i));
    let grad_w = gemm_blocked_one_pass((o, i, batch), row(i), row(batch), row(i));
    let grad_x = gemm_blocked_one_pass((i, batch, o), col(i), col(i), row(batch));
    TypeId::of::<E>() == TypeId::of::<f32>()
        && matmul::available()
        && forward
        && (!backward || (grad_w && grad_x))
}

/// `values` re-typed from `A` to `B`, which must be the same type (checked).
fn same_type<A: 'static, B: 'static>(values: &[A]) -> &[B] {
    assert_eq!(TypeId::of::<A>(), TypeId::of::<B>());
    // SAFETY: `A` and `B` are the same type (asserted).
    unsafe { std::slice::from_raw_parts(values.as_ptr().cast(), values.len()) }
}

/// `values` re-typed from `A` to `B` mutably, which must be the same type (checked).
fn same_type_mut<A: 'static, B: 'static>(values: &mut [A]) -> &mut [B] {
    assert_eq!(TypeId::of::<A>(), TypeId::of::<B>());
    // SAFETY: as in `same_type`.
    unsafe { std::slice::from_raw_parts_mut(values.as_mut_ptr().cast(), values.len()) }
}

thread_local! {
    /// The weights of the layer being run forward, reused across calls on this thread.
    static WEIGHTS: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

/// `y = x·Wᵀ` (`batch × O`) for the layer's weights `W` (`O × I`).
fn affine<const I: usize, const O: usize, E: Dtype>(
    weight: &Tensor<Rank2<O, I>, E, Cpu>,
    xs: &[E],
    batch: usize,
) -> Vec<E> {
    let mut y = vec![E::default(); batch * O];
    WEIGHTS.with(|w| {
        let mut w = w.borrow_mut();
        if w.len() < O * I {
            w.resize(O * I, 0.0);
        }
        let w = &mut w[..O * I];
        weight.copy_into(same_type_mut(w));
        matmul::product(
            (batch, I, O),
            Operand {
                data: same_type(xs),
                rs: I,
                cs: 1,
            },
            Operand {
                data: w,
                rs: 1,
                cs: I,
            },
            same_type_mut(&mut y),
            O,
            false,
        );
    });
    y
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
    if !eligible::<E>(I, O, batch, T::OWNS_TAPE) {
        return Ok(Err(x));
    }
    let (x, tape) = x.split_tape();
    let xs = host(&x);
    let mut y = affine(&layer.weight, &xs, batch);
    let bias = array_of(&layer.bias);
    let mask = if RELU {
        bias_relu_rows(&mut y, &bias, T::OWNS_TAPE)
    } else {
        add_bias_rows(&mut y, &bias);
        Vec::new()
    };
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
        let (g, w) = (same_type(&g), host(&weight));
        matmul::product(
            (O, batch, I),
            Operand {
                data: g,
                rs: 1,
                cs: O,
            },
            Operand {
                data: same_type(&xs),
                rs: I,
                cs: 1,
            },
            same_type_mut(grad_of(grads, &weight)?),
            I,
            true,
        );
        matmul::product(
            (batch, O, I),
            Operand {
                data: g,
                rs: O,
                cs: 1,
            },
            Operand {
                data: same_type(&w),
                rs: I,
                cs: 1,
            },
            same_type_mut(grad_of(grads, &x)?),
            I,
            true,
        );
        Ok(())
    })))
}
