//! Custom tape operations: one matrix product by dfdx's `matmul`, with bias and ReLU (and
//! their gradients) fused into one pass, and the gather/scatter of patches for later convs.

use dfdx::shapes::{Const, Dtype, HasShape, Rank1, Rank2, Shape};
use dfdx::tensor::TensorFromVec;
use dfdx::tensor::{Cpu, CpuError, Gradients, PutTape, Tape, Tensor};
use dfdx::tensor_ops::{Device, PermuteTo, TryMatMul};

// ---------------------------------------------------------------------------------------------
// Custom tape operations
// ---------------------------------------------------------------------------------------------

/// A CPU matrix with a dynamic number of rows of `N` values.
pub(super) type RowMatrix<const N: usize, E> = Tensor<(usize, Const<N>), E, Cpu>;

/// The values of a contiguous CPU tensor, in memory order.
pub(super) fn host<S: Shape, E: Dtype, T>(t: &Tensor<S, E, Cpu, T>) -> Vec<E> {
    let mut values = vec![E::default(); t.shape().num_elements()];
    t.copy_into(&mut values);
    values
}

/// The gradient buffer of `t` in `grads` (allocated as zeros if absent).
///
/// A separate function so that `Cpu`'s gradient storage type resolves to a slice: inside
/// functions bounded by `Cpu: Device<E>` rustc cannot normalise `<Cpu as Storage<E>>::Vec`.
pub(super) fn grad_of<'a, S: Shape, E: Dtype>(
    grads: &'a mut Gradients<E, Cpu>,
    t: &Tensor<S, E, Cpu>,
) -> Result<&'a mut [E], CpuError> {
    Ok(grads.get_or_alloc_mut(t)?.as_mut_slice())
}

/// Takes the gradient buffer of `t` out of `grads` (allocated as zeros if absent), leaving it
/// empty. Used on a layer's own output, whose consumers have all run by then; the buffer
/// becomes the layer's scratch instead of being copied. (dfdx drops such non-parameter
/// gradients after `backward` anyway.)
pub(super) fn take_grad<S: Shape, E: Dtype>(
    grads: &mut Gradients<E, Cpu>,
    t: &Tensor<S, E, Cpu>,
) -> Result<Vec<E>, CpuError> {
    Ok(std::mem::take(&mut **grads.get_or_alloc_mut(t)?))
}

/// Puts `out` on `tape` with `backward(grads, ∂L/∂out)` recorded as its backward operation.
pub(super) fn record<S, E, T, F>(
    out: Tensor<S, E, Cpu>,
    mut tape: T,
    backward: F,
) -> Tensor<S, E, Cpu, T>
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
pub(super) fn relu<E: Dtype>(v: E) -> E {
    if v > E::default() {
        v
    } else {
        E::default()
    }
}

/// `y ← ReLU(y + b)` on each row of `N` values; returns the ReLU's gradient mask
/// `1[y > 0]` when `keep` (else an empty vector).
pub(super) fn bias_relu_rows<const N: usize, E: Dtype>(
    y: &mut [E],
    bias: &[E; N],
    keep: bool,
) -> Vec<bool> {
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

/// `y ← y + b` on each row of `N` values (a layer without activation).
pub(super) fn add_bias_rows<const N: usize, E: Dtype>(y: &mut [E], bias: &[E; N]) {
    for row in y.chunks_exact_mut(N) {
        for (v, b) in row.iter_mut().zip(bias) {
            *v += *b;
        }
    }
}

/// `g ← g · 1[active]` (the gradient through a ReLU) on rows of `N` values; returns the
/// column sums of the result (the bias gradient).
pub(super) fn relu_backward_rows<const N: usize, E: Dtype>(g: &mut [E], active: &[bool]) -> [E; N] {
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
pub(super) fn column_sums<const N: usize, E: Dtype>(g: &[E]) -> [E; N] {
    let mut sums = [E::default(); N];
    for row in g.chunks_exact(N) {
        for (v, s) in row.iter().zip(sums.iter_mut()) {
            *s += *v;
        }
    }
    sums
}

/// The values of a parameter vector.
pub(super) fn array_of<const N: usize, E: Dtype>(t: &Tensor<Rank1<N>, E, Cpu>) -> [E; N] {
    let mut values = [E::default(); N];
    t.copy_into(&mut values);
    values
}

/// `acc += values`, element-wise.
pub(super) fn add_assign<E: Dtype>(acc: &mut [E], values: &[E]) {
    for (a, v) in acc.iter_mut().zip(values) {
        *a += *v;
    }
}

/// What a conv layer's backward needs from its forward.
pub(super) struct ConvTape<const PATCH: usize, const CO: usize, E: Dtype> {
    /// The patch matrix `P` (rows × PATCH).
    patches: RowMatrix<PATCH, E>,
    /// `1[y > 0]` per output value.
    active: Vec<bool>,
    pub(super) weight: Tensor<Rank2<CO, PATCH>, E, Cpu>,
    bias: Tensor<Rank1<CO>, E, Cpu>,
}

/// Forward of a conv layer's affine part and ReLU: `y = ReLU(P·Wᵀ + b)` for the patch matrix
/// `P` (rows × PATCH), `y` rows × CO. With `keep`, also what backward needs.
pub(super) fn conv_relu_forward<const PATCH: usize, const CO: usize, E: Dtype>(
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
    pub(super) fn backward(
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
