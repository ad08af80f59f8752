//! Q-networks as dfdx modules whose layer shapes are fixed at compile time.
//!
//! - [`QNetMlp`]: the chapter's `QNet`, Linear(128) → ReLU → Linear(128) → ReLU → Linear(|A|).
//! - [`DuelingQNet`]: Wang et al. 2015's dueling architecture with the same depth: a shared
//!   Linear(128)+ReLU trunk, then a value stream and an advantage stream (each
//!   Linear(128)+ReLU → Linear), joined by [`DuelingHead`] as `Q = V + (A − mean_a A)`.
//!
//! The batch dimension is dynamic (`usize`); observation and action counts are const generics.

use dfdx::nn::{Module, NonMutableModule, ZeroSizedModule};
use dfdx::prelude::*;

/// Width of the hidden layers (the chapter's 128).
pub const HIDDEN: usize = 128;

/// A batch of `N`-vectors on the CPU, optionally carrying a gradient tape.
pub type Batch<const N: usize, T = NoneTape> = Tensor<(usize, Const<N>), f32, Cpu, T>;
/// The tape used when training.
pub type Traced = OwnedTape<f32, Cpu>;

/// The chapter's `QNet` (builder type; `Cpu::build_module` turns it into parameters).
pub type QNetMlp<const OBS: usize, const ACT: usize> = (
    (Linear<OBS, HIDDEN>, ReLU),
    (Linear<HIDDEN, HIDDEN>, ReLU),
    Linear<HIDDEN, ACT>,
);

/// The dueling network (builder type).
pub type DuelingQNet<const OBS: usize, const ACT: usize> = (
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

impl<const ACT: usize, T: Tape<f32, Cpu>> Module<(Batch<1, T>, Batch<ACT, T>)>
    for DuelingHead<ACT>
{
    type Output = Batch<ACT, T>;
    type Error = <Cpu as HasErr>::Err;

    fn try_forward(
        &self,
        (value, advantage): (Batch<1, T>, Batch<ACT, T>),
    ) -> Result<Self::Output, Self::Error> {
        let dev = value.device().clone();
        let ones: Tensor<Rank2<1, ACT>, f32, Cpu> = dev.try_ones()?;
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
        let centering: Tensor<Rank2<ACT, ACT>, f32, Cpu> =
            dev.try_tensor_from_vec(centering, (Const, Const))?;
        value
            .try_matmul(ones)?
            .try_add(advantage.try_matmul(centering)?)
    }
}

/// What the agent needs of a built Q-network: a plain forward for acting and targets, a traced
/// forward for training, parameters the optimizer can visit, and a deep copy for the target net.
pub trait QFunction<const OBS: usize, const ACT: usize>:
    Module<Batch<OBS>, Output = Batch<ACT>, Error = <Cpu as HasErr>::Err>
    + ModuleMut<Batch<OBS, Traced>, Output = Batch<ACT, Traced>, Error = <Cpu as HasErr>::Err>
    + TensorCollection<f32, Cpu>
    + Clone
{
}

impl<M, const OBS: usize, const ACT: usize> QFunction<OBS, ACT> for M where
    M: Module<Batch<OBS>, Output = Batch<ACT>, Error = <Cpu as HasErr>::Err>
        + ModuleMut<Batch<OBS, Traced>, Output = Batch<ACT, Traced>, Error = <Cpu as HasErr>::Err>
        + TensorCollection<f32, Cpu>
        + Clone
{
}

#[cfg(test)]
mod tests {
    use super::*;

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
