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
    /// Glorot & Bengio's uniform, flax's `xavier_uniform` (Revisiting Rainbow's networks):
    /// `W ~ U(±√(6 / (fan_in + fan_out)))`, `b = 0`; a convolution's fans count its receptive
    /// field (`K²·C_in` and `K²·C_out`).
    Xavier,
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
    build_cnn::<B, D, R>(dev, init, rng, 1)
}

/// [`build`] for a network whose first matrix is a convolution over `K × K` patches
/// (`receptive = K²`; 1: no convolution), which [`WeightInit::Xavier`] needs to count its
/// fan-out. (Xavier is for networks with at most that one convolution: the MLPs and the
/// MinAtar CNNs.)
pub fn build_cnn<B, D, R>(
    dev: &D,
    init: WeightInit,
    rng: &mut R,
    receptive: usize,
) -> Result<B::Built, D::Err>
where
    B: BuildOnDevice<D, f32>,
    D: Device<f32>,
    R: Rng,
{
    let mut net = B::try_build_on_device(dev)?;
    match init {
        WeightInit::Uniform => {}
        WeightInit::Dezero => {
            B::Built::iter_tensors(&mut RecursiveWalker {
                m: &mut net,
                f: &mut DezeroInit {
                    rng,
                    noisy: NoisyParams::default(),
                },
            })?;
        }
        WeightInit::Xavier => {
            B::Built::iter_tensors(&mut RecursiveWalker {
                m: &mut net,
                f: &mut XavierInit {
                    rng,
                    receptive: Some(receptive),
                    noisy: NoisyParams::default(),
                },
            })?;
        }
    }
    Ok(net)
}

/// Visits every parameter tensor: matrices (`out × in`) get Glorot's uniform, vectors zeros.
/// The first matrix, when `receptive` is still set, is a convolution's.
struct XavierInit<'a, R> {
    rng: &'a mut R,
    receptive: Option<usize>,
    noisy: NoisyParams,
}

impl<R: Rng, D: Device<f32>> TensorVisitor<f32, D> for XavierInit<'_, R> {
    type Viewer = ViewTensorMut;
    type Err = D::Err;
    type E2 = f32;
    type D2 = D;

    fn visit<S: Shape>(
        &mut self,
        opts: TensorOptions<S, f32, D>,
        t: &mut Tensor<S, f32, D>,
    ) -> Result<Option<Tensor<S, f32, D>>, Self::Err> {
        if self.noisy.skip(&opts) {
            return Ok(None);
        }
        let n = t.shape().num_elements();
        let values: Vec<f32> = if S::NUM_DIMS == 2 {
            let dims = t.shape().concrete();
            let k = self.receptive.take().unwrap_or(1);
            let (fan_in, fan_out) = (dims[1], dims[0] * k);
            let bound = (6.0 / (fan_in + fan_out) as f64).sqrt();
            (0..n)
                .map(|_| self.rng.gen_range(-bound..bound) as f32)
                .collect()
        } else {
            vec![0.0; n]
        };
        t.copy_from(&values);
        Ok(None)
    }
}

/// Visits every parameter tensor: matrices (dfdx stores `Linear` weights as `out × in`) get
/// `N(0, 1/in)`, vectors (biases) get zeros.
struct DezeroInit<'a, R> {
    rng: &'a mut R,
    noisy: NoisyParams,
}

/// Recognises a noisy layer's parameters in visiting order: its detached noise comes first
/// (`crate::noisy`), then its four parameters (μ and σ of weight and bias), which keep the
/// layer's own initialisation (Fortunato et al.) whatever `WeightInit` says.
#[derive(Default)]
struct NoisyParams {
    left: usize,
}

impl NoisyParams {
    /// Whether the init visitor should leave this tensor as it is.
    fn skip<S: Shape, D: Device<f32>>(&mut self, opts: &TensorOptions<S, f32, D>) -> bool {
        if !opts.do_gradient_update {
            self.left = 4;
            return true;
        }
        if self.left > 0 {
            self.left -= 1;
            return true;
        }
        false
    }
}

impl<R: Rng, D: Device<f32>> TensorVisitor<f32, D> for DezeroInit<'_, R> {
    type Viewer = ViewTensorMut;
    type Err = D::Err;
    type E2 = f32;
    type D2 = D;

    fn visit<S: Shape>(
        &mut self,
        opts: TensorOptions<S, f32, D>,
        t: &mut Tensor<S, f32, D>,
    ) -> Result<Option<Tensor<S, f32, D>>, Self::Err> {
        if self.noisy.skip(&opts) {
            return Ok(None);
        }
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
        // Xavier: U(±√(6/(fan_in + fan_out))), zero biases.
        let xavier = build::<Mlp, _, _>(&dev, WeightInit::Xavier, &mut rng).unwrap();
        let edge = (6.0f32 / 256.0).sqrt();
        let w = xavier.1.weight.as_vec();
        assert!(w.iter().all(|x| x.abs() <= edge) && w.iter().any(|x| x.abs() > 0.9 * edge));
        assert!(xavier.0.bias.as_vec().iter().all(|&b| b == 0.0));
        // Noisy layers keep their own initialisation under every `WeightInit`; the plain layers
        // around them take the one asked for.
        type Mixed = (
            DenseRelu<4, 16>,
            crate::NoisyLinear<16, 2>,
            DenseLinear<2, 2>,
        );
        for init in [WeightInit::Dezero, WeightInit::Xavier] {
            let net = build::<Mixed, _, _>(&dev, init, &mut rng).unwrap();
            assert!(
                net.1.weight_sigma.as_vec().iter().all(|&s| s == 0.125),
                "{init:?}"
            );
            assert!(net.1.bias_mu.as_vec().iter().any(|&b| b != 0.0), "{init:?}");
            assert!(net.0.bias.as_vec().iter().all(|&b| b == 0.0), "{init:?}");
            assert!(net.2.bias.as_vec().iter().all(|&b| b == 0.0), "{init:?}");
        }
        let bound = 1.0 / 128f32.sqrt();
        assert!(uniform.1.weight.as_vec().iter().all(|w| w.abs() <= bound));
        assert!(uniform.2.bias.as_vec().iter().any(|&b| b != 0.0));
    }
}
