//! The parameter-free aggregation layer of the dueling network (Wang et al. 2015, eq. 9).

use crate::Batch;
use dfdx::nn::{Module, NonMutableModule, ZeroSizedModule};
use dfdx::prelude::*;

/// Joins a value stream `V (B × 1)` and an advantage stream `A (B × |A|)`:
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

/// The dueling join for a distributional head (Rainbow: per-atom value and advantage
/// streams): a value stream `V (B × ATOMS)` and an advantage stream `A (B × ACT·ATOMS)`, laid
/// out action-major, give the logits
///
/// `l(s, a, z) = V(s, z) + (A(s, a, z) − 1/|A| Σ_a' A(s, a', z))`
///
/// (`OUT = ACT · ATOMS`, checked when the network is built). The softmax over `z` comes after.
#[derive(Debug, Default, Clone, Copy)]
pub struct DuelingAtomsHead<const ACT: usize, const ATOMS: usize, const OUT: usize>;

impl<const ACT: usize, const ATOMS: usize, const OUT: usize> DuelingAtomsHead<ACT, ATOMS, OUT> {
    const SHAPES_OK: () = assert!(OUT == ACT * ATOMS, "OUT must be ACT · ATOMS");
}

impl<const ACT: usize, const ATOMS: usize, const OUT: usize> ZeroSizedModule
    for DuelingAtomsHead<ACT, ATOMS, OUT>
{
}
impl<const ACT: usize, const ATOMS: usize, const OUT: usize> NonMutableModule
    for DuelingAtomsHead<ACT, ATOMS, OUT>
{
}

impl<const ACT: usize, const ATOMS: usize, const OUT: usize, T, D>
    Module<(Batch<ATOMS, T, D>, Batch<OUT, T, D>)> for DuelingAtomsHead<ACT, ATOMS, OUT>
where
    T: Tape<f32, D> + Merge<T>,
    D: Device<f32>,
{
    type Output = Batch<OUT, T, D>;
    type Error = D::Err;

    fn try_forward(
        &self,
        (value, advantage): (Batch<ATOMS, T, D>, Batch<OUT, T, D>),
    ) -> Result<Self::Output, Self::Error> {
        let () = Self::SHAPES_OK;
        let b = value.shape().0;
        let per_action = (b, Const::<ACT>, Const::<ATOMS>);
        let advantage = advantage.try_reshape_like(&per_action)?;
        let mean = advantage
            .retaped::<T>()
            .try_mean::<(usize, Const<ATOMS>), Axis<1>>()?
            .try_broadcast_like(&per_action)?;
        let centred = advantage.try_sub(mean)?;
        value
            .try_broadcast_like::<_, Axis<1>>(&per_action)?
            .try_add(centred)?
            .try_reshape_like(&(b, Const::<OUT>))
    }
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
    fn atoms_head_centres_the_advantage_per_atom() {
        let dev: Cpu = Default::default();
        // One state, 2 actions × 3 atoms. V = (1, 2, 3); A(a0) = (1, 0, 4), A(a1) = (3, 2, 0):
        // per-atom means (2, 1, 2) → logits a0: (0, 1, 5), a1: (2, 3, 1).
        let v: Batch<3> = dev.tensor_from_vec(vec![1.0, 2.0, 3.0], (1, Const));
        let a: Batch<6> = dev.tensor_from_vec(vec![1.0, 0.0, 4.0, 3.0, 2.0, 0.0], (1, Const));
        let l = DuelingAtomsHead::<2, 3, 6>
            .forward((v.clone(), a.clone()))
            .as_vec();
        assert_eq!(l, vec![0.0, 1.0, 5.0, 2.0, 3.0, 1.0]);
        // The gradient reaches both streams; the summed centred advantages are constant.
        let g = DuelingAtomsHead::<2, 3, 6>
            .forward((
                v.clone().traced(Gradients::leaky()),
                a.clone().traced(Gradients::leaky()),
            ))
            .sum::<Rank0, _>()
            .backward();
        assert_eq!(g.get(&v).as_vec(), vec![2.0, 2.0, 2.0]);
        assert!(g.get(&a).as_vec().iter().all(|x| x.abs() < 1e-6));
    }
}
