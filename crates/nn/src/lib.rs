//! dqn-nn: the dfdx 0.13 substrate the Q-networks are built from, on stable Rust.
//!
//! # What this crate owns
//! - Layers with compile-time shapes, as dfdx modules: [`PatchConvRelu`] (a first convolution
//!   on host-cut patches), [`GatherConvRelu`] (later convolutions, im2col with gradients),
//!   [`DenseRelu`] / [`DenseLinear`] (fully connected, bias and ReLU fused), [`RowsToBatch`]
//!   (flatten) and [`DuelingHead`] (`Q = V + A − mean A`); [`EncodeObs`]: how one channel-first
//!   `u8` observation becomes a first convolution's patches ([`encode_minatar`],
//!   [`encode_nature`]).
//! - [`matmul`]: one small `f32` product bit-identical to `gemm`'s (AVX2/AVX-512), used by the
//!   dense layers' fast path; [`floor`]: the least time one update's products take (benches).
//! - [`optim`]: Adam and RMSprop in the arithmetic of each source framework (dfdx, PyTorch,
//!   DeZero, TF1, DeepMind's Lua), checked against recordings; [`device`]: what training needs
//!   of a dfdx device (seeding, its optimizer); [`build`] with [`WeightInit`]; [`params`].
//!
//! It must not depend on environments, configs, replay or the harness: networks are composed
//! from these layers by the `dqn-agent` crate.
//!
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
//!   initialisation in [`build`] assumes). The first conv's patch order is
//!   `(c, ky, kx)` (PyTorch's `weight.reshape(out, -1)`), a gathered conv's is `(ky, kx, c)`.
//! - The fused kernels are CPU only; other devices run the same layers spelled with dfdx's
//!   stock ops (`portable.rs`). The layers are generic over the float type (tests check
//!   gradients in `f64`).
//!   The module's own loops are sequential; same inputs give bit-identical outputs and
//!   gradients run to run (tested).

mod dense_fast;
pub mod device;
mod dueling;
mod encode;
pub mod floor;
mod host_weights;
mod init;
mod layers;
pub mod matmul;
mod noisy;
pub mod optim;
pub mod params;
mod pinned;
pub mod snapshot;
// The layers spelled with dfdx's stock ops, for devices other than the CPU (`Cuda`); the tests
// check them against the fused kernels on the CPU.
#[cfg(any(feature = "cuda", test))]
mod portable;
mod tape;
#[cfg(test)]
mod tests;

pub use dueling::{DuelingAtomsHead, DuelingHead};
pub use encode::*;
pub use init::{build, build_cnn, WeightInit};
pub use layers::*;
pub use noisy::{
    clear_noise, resample_noise, scale_noise, Noisy, NoisyLayer, NoisyLinear, NoisyRelu,
    NOISY_SIGMA0,
};

use dfdx::nn::{Module, ModuleMut, TensorCollection};
use dfdx::shapes::Const;
use dfdx::tensor::{Cpu, NoneTape, OwnedTape, Tensor};
use dfdx::tensor_ops::Device;

/// A batch of `N`-vectors on device `D` (the CPU unless named), optionally carrying a gradient
/// tape.
pub type Batch<const N: usize, T = NoneTape, D = Cpu> = Tensor<(usize, Const<N>), f32, D, T>;
/// The tape used when training.
pub type Traced<D = Cpu> = OwnedTape<f32, D>;

/// What training needs of a built Q-network on device `D`: a plain forward for acting and
/// targets, a traced forward for training, parameters the optimizer can visit, and a deep copy
/// for the target net.
pub trait QFunction<const OBS: usize, const ACT: usize, D: Device<f32> = Cpu>:
    Module<Batch<OBS, NoneTape, D>, Output = Batch<ACT, NoneTape, D>, Error = D::Err>
    + ModuleMut<Batch<OBS, Traced<D>, D>, Output = Batch<ACT, Traced<D>, D>, Error = D::Err>
    + TensorCollection<f32, D>
    + Clone
{
}

impl<M, const OBS: usize, const ACT: usize, D: Device<f32>> QFunction<OBS, ACT, D> for M where
    M: Module<Batch<OBS, NoneTape, D>, Output = Batch<ACT, NoneTape, D>, Error = D::Err>
        + ModuleMut<Batch<OBS, Traced<D>, D>, Output = Batch<ACT, Traced<D>, D>, Error = D::Err>
        + TensorCollection<f32, D>
        + Clone
{
}
