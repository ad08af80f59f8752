//! How a network's weights start: dfdx's own initialisation, or DeZero's (the chapter's).

use dfdx::nn::{BuildOnDevice, RecursiveWalker, TensorOptions, TensorVisitor, ViewTensorMut};
use dfdx::prelude::*;
use rand::Rng;
use rand_distr::StandardNormal;
use serde::{Deserialize, Serialize};

/// How network weights start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WeightInit {
    /// DeZero's `Linear` (the chapter's code): `W ~ N(0, 1/fan_in)`, `b = 0`.
    Dezero,
    /// dfdx's (and PyTorch's) `Linear`: `W, b ~ U(±1/√fan_in)`.
    Uniform,
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
mod tests {
    use super::*;
    use crate::{DenseLinear, DenseRelu};

    #[test]
    fn dezero_init_draws_normal_weights_scaled_by_fan_in_and_zero_biases() {
        use rand::SeedableRng;
        type Mlp = (DenseRelu<4, 128>, DenseRelu<128, 128>, DenseLinear<128, 2>);
        let dev: Cpu = Cpu::seed_from_u64(0);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
        let net = build::<Mlp, _, _>(&dev, WeightInit::Dezero, &mut rng).unwrap();
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
        let uniform = build::<Mlp, _, _>(&dev, WeightInit::Uniform, &mut rng).unwrap();
        let bound = 1.0 / 128f32.sqrt();
        assert!(uniform.1.weight.as_vec().iter().all(|w| w.abs() <= bound));
        assert!(uniform.2.bias.as_vec().iter().any(|&b| b != 0.0));
    }
}
