//! Q-networks as dfdx modules whose layer shapes are fixed at compile time.
//!
//! - [`QNetMlp`]: the chapter's `QNet`, Linear(128) → ReLU → Linear(128) → ReLU → Linear(|A|).
//! - [`DuelingQNet`]: Wang et al. 2015's dueling architecture with the same depth: a shared
//!   Linear(128)+ReLU trunk, then a value stream and an advantage stream (each
//!   Linear(128)+ReLU → Linear), joined by [`DuelingHead`] as `Q = V + (A − mean_a A)`.
//!
//! The layers are the fused [`DenseRelu`] / [`DenseLinear`] of [`crate::agent::conv`]: the same
//! parameters, initialisation and arithmetic as dfdx's `(Linear, ReLU)` (a test compares
//! outputs and trained parameters bit for bit with [`LinearQNetMlp`] and [`LinearDuelingQNet`]),
//! with bias and ReLU done in one pass instead of dfdx's generic broadcast kernels.
//!
//! The batch dimension is dynamic (`usize`); observation and action counts are const generics.
//! Networks are generic over the dfdx device: a kind `N` trains on device `D` when it is a
//! [`QNetOn<D, …>`](QNetOn) (on the CPU the fused layers' own kernels; on other devices the
//! layers' stock-op spellings, `conv::portable`).

use crate::agent::conv::{DenseLinear, DenseRelu};
use crate::config::WeightInit;
use dfdx::nn::{Module, NonMutableModule, ZeroSizedModule};
use dfdx::nn::{RecursiveWalker, TensorOptions, TensorVisitor, ViewTensorMut};
use dfdx::prelude::*;
use rand::Rng;
use rand_distr::StandardNormal;

/// Width of the hidden layers (the chapter's 128).
pub const HIDDEN: usize = 128;

/// A batch of `N`-vectors on device `D` (the CPU unless named), optionally carrying a gradient
/// tape.
pub type Batch<const N: usize, T = NoneTape, D = Cpu> = Tensor<(usize, Const<N>), f32, D, T>;
/// The tape used when training.
pub type Traced<D = Cpu> = OwnedTape<f32, D>;

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

/// The parameter-free aggregation layer of the dueling network (Wang et al. 2015, eq. 9):
///
/// `Q(s, a) = V(s) + (A(s, a) − 1/|A| Σ_a' A(s, a'))`
///
/// written as two constant matrix products, `Q = V·1ᵀ + A·(I − 11ᵀ/|A|)`, so the gradient flows
/// through both streams with dfdx's ordinary ops.
#[derive(Debug, Default, Clone, Copy)]
pub struct DuelingHead<const ACT: usize>;

impl<const ACT: usize> ZeroSizedModule for DuelingHead<ACT> {}
impl<const ACT: usize> NonMutableModule for DuelingHead<ACT> {}

impl<const ACT: usize, T: Tape<f32, D>, D: Device<f32>> Module<(Batch<1, T, D>, Batch<ACT, T, D>)>
    for DuelingHead<ACT>
{
    type Output = Batch<ACT, T, D>;
    type Error = D::Err;

    fn try_forward(
        &self,
        (value, advantage): (Batch<1, T, D>, Batch<ACT, T, D>),
    ) -> Result<Self::Output, Self::Error> {
        let dev = value.device().clone();
        let ones: Tensor<Rank2<1, ACT>, f32, D> = dev.try_ones()?;
        let n = ACT as f32;
        let centering: Vec<f32> = (0..ACT * ACT)
            .map(|k| {
                if k / ACT == k % ACT {
                    1.0 - 1.0 / n
                } else {
                    -1.0 / n
                }
            })
            .collect();
        let centering: Tensor<Rank2<ACT, ACT>, f32, D> =
            dev.try_tensor_from_vec(centering, (Const, Const))?;
        value
            .try_matmul(ones)?
            .try_add(advantage.try_matmul(centering)?)
    }
}

/// What the agent needs of a built Q-network on device `D`: a plain forward for acting and
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

/// A kind of Q-network for observations of element type `E`, mapping `IN` network inputs to
/// `ACT` Q-values: the host-side encoding of one observation into the network's inputs (a copy
/// for the MLP; im2col patches for a CNN, whose first layer then needs no gradient with respect
/// to its input). Where it can be built, [`QNetOn`] says.
pub trait QNetKind<E, const IN: usize, const ACT: usize> {
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

/// Build a network on `dev` and initialise its weights as `init` says.
///
/// [`WeightInit::Uniform`] keeps dfdx's initialisation (seeded by `dev`); [`WeightInit::Dezero`]
/// re-draws every layer as DeZero's `Linear`: `W ~ N(0, 1/fan_in)`, `b = 0`, from `rng`.
pub fn build<B, D, R>(dev: &D, init: WeightInit, rng: &mut R) -> Result<B::Built, D::Err>
where
    B: BuildOnDevice<D, f32>,
    D: Device<f32>,
    R: Rng,
{
    let mut net = B::try_build_on_device(dev)?;
    if init == WeightInit::Dezero {
        B::Built::iter_tensors(&mut RecursiveWalker {
            m: &mut net,
            f: &mut DezeroInit { rng },
        })?;
    }
    Ok(net)
}

/// Visits every parameter tensor: matrices (dfdx stores `Linear` weights as `out × in`) get
/// `N(0, 1/in)`, vectors (biases) get zeros.
struct DezeroInit<'a, R> {
    rng: &'a mut R,
}

impl<R: Rng, D: Device<f32>> TensorVisitor<f32, D> for DezeroInit<'_, R> {
    type Viewer = ViewTensorMut;
    type Err = D::Err;
    type E2 = f32;
    type D2 = D;

    fn visit<S: Shape>(
        &mut self,
        _opts: TensorOptions<S, f32, D>,
        t: &mut Tensor<S, f32, D>,
    ) -> Result<Option<Tensor<S, f32, D>>, Self::Err> {
        let n = t.shape().num_elements();
        let values: Vec<f32> = if S::NUM_DIMS == 2 {
            let fan_in = t.shape().concrete()[1] as f64;
            let scale = (1.0 / fan_in).sqrt();
            (0..n)
                .map(|_| (self.rng.sample::<f64, _>(StandardNormal) * scale) as f32)
                .collect()
        } else {
            vec![0.0; n]
        };
        t.copy_from(&values);
        Ok(None)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::agent::optim::{Optimizer, Rule};
    use dfdx::nn::tensor_collection::ViewTensorRef;

    /// Every parameter's values, or (with gradients) its gradient's, in visiting order.
    struct Params<'a>(Option<&'a Gradients<f32, Cpu>>, Vec<Vec<f32>>);

    impl TensorVisitor<f32, Cpu> for Params<'_> {
        type Viewer = ViewTensorRef;
        type Err = <Cpu as HasErr>::Err;
        type E2 = f32;
        type D2 = Cpu;
        fn visit<S: Shape>(
            &mut self,
            _: TensorOptions<S, f32, Cpu>,
            p: &Tensor<S, f32, Cpu>,
        ) -> Result<Option<Tensor<S, f32, Cpu>>, Self::Err> {
            self.1.push(match self.0 {
                Some(grads) => grads.get(p).as_vec(),
                None => p.as_vec(),
            });
            Ok(None)
        }
    }

    fn visit_params<M: TensorCollection<f32, Cpu>>(
        net: &M,
        grads: Option<&Gradients<f32, Cpu>>,
    ) -> Vec<Vec<f32>> {
        let mut out = Params(grads, Vec::new());
        M::iter_tensors(&mut RecursiveWalker {
            m: net,
            f: &mut out,
        })
        .unwrap();
        out.1
    }

    /// Every parameter's values of `net`, in visiting order.
    pub(crate) fn params<M: TensorCollection<f32, Cpu>>(net: &M) -> Vec<Vec<f32>> {
        visit_params(net, None)
    }

    /// The gradient of every parameter of `net` in `grads`, in visiting order.
    pub(crate) fn grads_of<M: TensorCollection<f32, Cpu>>(
        net: &M,
        grads: &Gradients<f32, Cpu>,
    ) -> Vec<Vec<f32>> {
        visit_params(net, Some(grads))
    }

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
    fn dueling_head_is_value_plus_centred_advantage() {
        let dev: Cpu = Default::default();
        let v: Batch<1> = dev.tensor_from_vec(vec![10.0, -1.0], (2, Const));
        let a: Batch<3> = dev.tensor_from_vec(vec![1.0, 2.0, 6.0, 0.0, 0.0, 3.0], (2, Const));
        let q = DuelingHead::<3>.forward((v, a)).as_vec();
        // Row 0: mean(A) = 3 → Q = 10 + (−2, −1, 3); row 1: mean(A) = 1 → Q = −1 + (−1, −1, 2).
        let expected = [8.0, 9.0, 13.0, -2.0, -2.0, 1.0];
        for (q, e) in q.iter().zip(expected) {
            assert!((q - e).abs() < 1e-5, "{q} vs {e}");
        }
    }

    #[test]
    fn dezero_init_draws_normal_weights_scaled_by_fan_in_and_zero_biases() {
        use rand::SeedableRng;
        let dev: Cpu = Cpu::seed_from_u64(0);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
        let net = build::<QNetMlp<4, 2>, _, _>(&dev, WeightInit::Dezero, &mut rng).unwrap();
        let hidden = net.1.weight.as_vec(); // 128 × 128, fan_in 128
        let n = hidden.len() as f64;
        let mean = hidden.iter().map(|&w| f64::from(w)).sum::<f64>() / n;
        let var = hidden
            .iter()
            .map(|&w| (f64::from(w) - mean).powi(2))
            .sum::<f64>()
            / n;
        // 16384 draws: the sample variance of N(0, 1/128) is within a few percent.
        assert!(mean.abs() < 0.005, "{mean}");
        assert!(
            (var * 128.0 - 1.0).abs() < 0.05,
            "var·fan_in = {}",
            var * 128.0
        );
        assert!(net.0.bias.as_vec().iter().all(|&b| b == 0.0));
        assert!(net.2.bias.as_vec().iter().all(|&b| b == 0.0));
        // dfdx's own init is uniform in ±1/√fan_in and has non-zero biases.
        let uniform = build::<QNetMlp<4, 2>, _, _>(&dev, WeightInit::Uniform, &mut rng).unwrap();
        let bound = 1.0 / 128f32.sqrt();
        assert!(uniform.1.weight.as_vec().iter().all(|w| w.abs() <= bound));
        assert!(uniform.2.bias.as_vec().iter().any(|&b| b != 0.0));
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
