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
//! - The fused kernels are CPU only; other devices run the same layers spelled with dfdx's
//!   stock ops (`portable.rs`). The layers are generic over the float type (tests check
//!   gradients in `f64`).
//!   The module's own loops are sequential; same inputs give bit-identical outputs and
//!   gradients run to run (tested).

mod dense_fast;
mod encode;
pub mod floor;
mod host_weights;
mod layers;
pub mod matmul;
mod nets;
// Used by the `Cuda` impls (and the tests); a CPU build has no caller.
#[cfg_attr(not(feature = "cuda"), allow(dead_code))]
mod portable;
mod tape;
#[cfg(test)]
mod tests;

pub use encode::*;
pub use layers::*;
pub use nets::*;
