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
}
