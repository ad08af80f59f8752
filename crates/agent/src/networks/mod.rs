//! Q-networks as dfdx modules whose layer shapes are fixed at compile time, composed from the
//! layers of `dqn-nn`.
//!
//! - [`QNetMlp`]: the chapter's `QNet`, Linear(128) → ReLU → Linear(128) → ReLU → Linear(|A|);
//!   [`QNetMlpOf`] with other widths (CleanRL's 120 and 84).
//! - [`DuelingQNet`]: Wang et al. 2015's dueling architecture with the same depth: a shared
//!   Linear(128)+ReLU trunk, then a value stream and an advantage stream (each
//!   Linear(128)+ReLU → Linear), joined by [`DuelingHead`] as `Q = V + (A − mean_a A)`.
//! - [`components`]: Rainbow's C51 heads and noisy layers on these trunks.
//! - [`cnn`]: the MinAtar network (Young & Tian 2019) and the Nature DQN network (Mnih et al.
//!   2015), plain and dueling, one alias per observation channel count.
//!
//! The dense layers are the fused [`DenseRelu`] / [`DenseLinear`]: the same parameters,
//! initialisation and arithmetic as dfdx's `(Linear, ReLU)` (a test compares outputs and
//! trained parameters bit for bit with [`LinearQNetMlp`] and [`LinearDuelingQNet`]), with bias
//! and ReLU done in one pass instead of dfdx's generic broadcast kernels.
//!
//! The batch dimension is dynamic (`usize`); observation and action counts are const generics.
//! A network kind `N` says how an observation becomes its input ([`QNetKind`]) and trains on
//! device `D` when it is a [`QNetOn<D, …>`](QNetOn) (on the CPU the fused layers' own kernels;
//! on other devices their stock-op spellings).

pub mod cnn;
#[cfg(test)]
mod cnn_tests;
pub mod components;

use dfdx::nn::builders::SplitInto;
use dfdx::prelude::*;
pub use dqn_nn::{Batch, DuelingHead, QFunction, Traced};
use dqn_nn::{DenseLinear, DenseRelu};

/// Width of the hidden layers (the chapter's 128).
pub const HIDDEN: usize = 128;

/// The chapter's `QNet` (builder type; `Cpu::build_module` turns it into parameters).
pub type QNetMlp<const OBS: usize, const ACT: usize> = QNetMlpOf<OBS, ACT, HIDDEN, HIDDEN>;

/// An MLP Q-network with hidden widths `H1` and `H2` (CleanRL's `QNetwork`: 120 and 84).
pub type QNetMlpOf<const OBS: usize, const ACT: usize, const H1: usize, const H2: usize> =
    (DenseRelu<OBS, H1>, DenseRelu<H1, H2>, DenseLinear<H2, ACT>);

/// The dueling network (builder type).
pub type DuelingQNet<const OBS: usize, const ACT: usize> = (
    DenseRelu<OBS, HIDDEN>,
    SplitInto<(
        (DenseRelu<HIDDEN, HIDDEN>, DenseLinear<HIDDEN, 1>),
        (DenseRelu<HIDDEN, HIDDEN>, DenseLinear<HIDDEN, ACT>),
    )>,
    DuelingHead<ACT>,
);

/// [`QNetMlp`] spelled with dfdx's own `Linear` and `ReLU` (the reference it must match).
pub type LinearQNetMlp<const OBS: usize, const ACT: usize> = (
    (Linear<OBS, HIDDEN>, ReLU),
    (Linear<HIDDEN, HIDDEN>, ReLU),
    Linear<HIDDEN, ACT>,
);

/// [`DuelingQNet`] spelled with dfdx's own `Linear` and `ReLU`.
pub type LinearDuelingQNet<const OBS: usize, const ACT: usize> = (
    (Linear<OBS, HIDDEN>, ReLU),
    SplitInto<(
        ((Linear<HIDDEN, HIDDEN>, ReLU), Linear<HIDDEN, 1>),
        ((Linear<HIDDEN, HIDDEN>, ReLU), Linear<HIDDEN, ACT>),
    )>,
    DuelingHead<ACT>,
);

/// A kind of Q-network for observations of element type `E`, mapping `IN` network inputs to
/// `ACT` Q-values: the host-side encoding of one observation into the network's inputs (a copy
/// for the MLP; im2col patches for a CNN, whose first layer then needs no gradient with respect
/// to its input). Where it can be built, [`QNetOn`] says.
pub trait QNetKind<E, const IN: usize, const ACT: usize> {
    /// Outputs per action: 1 (Q-values), or a distributional head's atoms (then the network's
    /// `ACT` outputs are `actions × ATOMS` logits, action-major).
    const ATOMS: usize = 1;

    /// `K²` of the first convolution's patches (1: the network has none), for Xavier's fan-out.
    const RECEPTIVE_FIELD: usize = 1;

    /// Write the `IN` network inputs of one observation (`obs` as the env writes it).
    fn encode(obs: &[E], out: &mut [f32]);
}

/// A [`QNetKind`] that builds on device `D` into a [`QFunction`] there.
pub trait QNetOn<D: Device<f32>, E, const IN: usize, const ACT: usize>:
    QNetKind<E, IN, ACT> + BuildOnDevice<D, f32, Built: QFunction<IN, ACT, D>>
{
}

impl<N, D, E, const IN: usize, const ACT: usize> QNetOn<D, E, IN, ACT> for N
where
    D: Device<f32>,
    N: QNetKind<E, IN, ACT> + BuildOnDevice<D, f32, Built: QFunction<IN, ACT, D>>,
{
}

impl<const OBS: usize, const ACT: usize, const H1: usize, const H2: usize> QNetKind<f32, OBS, ACT>
    for QNetMlpOf<OBS, ACT, H1, H2>
{
    fn encode(obs: &[f32], out: &mut [f32]) {
        out.copy_from_slice(obs);
    }
}

impl<const OBS: usize, const ACT: usize> QNetKind<f32, OBS, ACT> for DuelingQNet<OBS, ACT> {
    fn encode(obs: &[f32], out: &mut [f32]) {
        out.copy_from_slice(obs);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dqn_nn::optim::{Optimizer, Rule};
    use dqn_nn::params::values as params;

    /// Gradients of the mean squared error between `net(x)` and `y`.
    fn mse_grads<M: QFunction<4, 2>>(
        net: &mut M,
        x: Batch<4>,
        y: &Batch<2>,
    ) -> Gradients<f32, Cpu> {
        (net.forward_mut(x.traced(net.alloc_grads())) - y.clone())
            .square()
            .mean()
            .backward()
    }

    /// Two networks built from equally seeded devices start equal and stay bit-identical
    /// through 100 Adam steps on an MSE-to-targets loss over a batch of 32, and answer
    /// batches of 1 (acting) and 32 identically after every step.
    fn same_bits<A: QFunction<4, 2>, B: QFunction<4, 2>>(mut a: A, mut b: B) {
        let dev: Cpu = Default::default();
        let rule = Rule::Adam(AdamConfig {
            lr: 1e-3,
            ..Default::default()
        });
        let (mut opt_a, mut opt_b) = (Optimizer::new(rule.clone()), Optimizer::new(rule));
        assert_eq!(params(&a), params(&b), "initial weights");
        let mut x: Vec<f32> = (0..128).map(|i| (i as f32 * 0.37).sin()).collect();
        let y: Batch<2> =
            dev.tensor_from_vec((0..64).map(|i| (i % 5) as f32).collect(), (32, Const));
        for step in 0..100 {
            x.rotate_left(3);
            let input = |n: usize| dev.tensor_from_vec(x[..4 * n].to_vec(), (n, Const::<4>));
            for n in [1, 32] {
                let (qa, qb) = (a.forward(input(n)).as_vec(), b.forward(input(n)).as_vec());
                assert_eq!(qa, qb, "forward, batch {n}, step {step}");
            }
            let (mut ga, mut gb) = (
                mse_grads(&mut a, input(32), &y),
                mse_grads(&mut b, input(32), &y),
            );
            opt_a.step(&mut a, &mut ga).unwrap();
            opt_b.step(&mut b, &mut gb).unwrap();
            assert_eq!(params(&a), params(&b), "step {step}");
        }
    }

    #[test]
    fn fused_layers_match_dfdx_linear_and_relu_bit_for_bit() {
        for seed in [0, 11] {
            let built = |seed| Cpu::seed_from_u64(seed);
            same_bits(
                built(seed).build_module::<QNetMlp<4, 2>, f32>(),
                built(seed).build_module::<LinearQNetMlp<4, 2>, f32>(),
            );
            same_bits(
                built(seed).build_module::<DuelingQNet<4, 2>, f32>(),
                built(seed).build_module::<LinearDuelingQNet<4, 2>, f32>(),
            );
        }
    }

    #[test]
    fn dueling_gradient_reaches_both_streams() {
        let dev: Cpu = Cpu::seed_from_u64(0);
        let mut net = dev.build_module::<DuelingQNet<4, 2>, f32>();
        let grads = net.alloc_grads();
        let x: Batch<4> = dev.tensor_from_vec(vec![0.1, -0.2, 0.3, 0.05], (1, Const));
        let q = net.forward_mut(x.traced(grads));
        let g = q.sum().backward();
        let (value, advantage) = &net.1 .0;
        let gv = g.get(&value.1.weight).as_vec();
        let ga = g.get(&advantage.1.weight).as_vec();
        assert!(gv.iter().any(|x| *x != 0.0), "value stream gets gradient");
        // The summed centred advantages are constant, so their gradient is exactly zero —
        // the identifiability constraint at work.
        assert!(ga.iter().all(|x| x.abs() < 1e-6), "{ga:?}");
    }
}
