//! Noisy fully connected layers (Fortunato et al. 2018, "Noisy Networks for Exploration"), with
//! factorised Gaussian noise as Rainbow uses them:
//!
//! ```text
//! y = act((μʷ + σʷ ⊙ εʷ)·x + μᵇ + σᵇ ⊙ εᵇ),   εʷ[o, i] = f(εₒ) f(εᵢ),  εᵇ[o] = f(εₒ),
//! f(x) = sgn(x) √|x|,  εᵢ, εₒ ~ N(0, 1)
//! μ ~ U(±1/√p),  σ = σ₀/√p  (p = inputs, σ₀ = 0.5)
//! ```
//!
//! The noise lives in the layer as two detached vectors (`noise_in`, `noise_out`, already
//! passed through `f`): the optimizer skips them, [`resample_noise`] draws them for a whole
//! network from a caller's generator (one factorised sample, shared by a minibatch), and
//! [`clear_noise`] zeroes them, so that the layer computes with its mean weights `μ`.
//! On the CPU the noisy weights are formed on the host and run through the dense layer's
//! kernels; other devices use dfdx's stock ops ([`stock_forward`]). Both run in `f64` too (the
//! gradient tests).

use super::host_weights::HostWeights;
use super::layers::DenseLayer;
use super::tape::{add_assign, grad_of, host, take_grad};
use dfdx::nn::{BuildOnDevice, Module, NonMutableModule};
use dfdx::nn::{ModuleVisitor, RecursiveWalker, TensorCollection, TensorOptions};
use dfdx::nn::{TensorVisitor, ViewTensorMut};
use dfdx::prelude::*;
use rand::Rng;
use rand_distr::uniform::SampleUniform;
use rand_distr::{StandardNormal, Uniform};
use std::sync::Arc;

/// A batch of rows of `N` values.
type Rows<const N: usize, E, D, T> = Tensor<(usize, Const<N>), E, D, T>;

/// σ₀ of factorised noisy layers (Fortunato et al. 2018, §3.2): σ starts at σ₀/√p.
pub const NOISY_SIGMA0: f64 = 0.5;

/// Builder of a noisy layer with a ReLU.
pub type NoisyRelu<const I: usize, const O: usize> = Noisy<I, O, true>;
/// Builder of a noisy layer without activation.
pub type NoisyLinear<const I: usize, const O: usize> = Noisy<I, O, false>;

/// Builder of [`NoisyLayer`]: `I → O`, with a ReLU when `RELU`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Noisy<const I: usize, const O: usize, const RELU: bool>;

/// A factorised-Gaussian noisy fully connected layer (see the module docs). Weights are `O × I`.
#[derive(Debug, Clone)]
pub struct NoisyLayer<const I: usize, const O: usize, const RELU: bool, E: Dtype, D: Storage<E>> {
    pub weight_mu: Tensor<Rank2<O, I>, E, D>,
    pub weight_sigma: Tensor<Rank2<O, I>, E, D>,
    pub bias_mu: Tensor<Rank1<O>, E, D>,
    pub bias_sigma: Tensor<Rank1<O>, E, D>,
    /// `f(εᵢ)`, one per input (detached: no gradient, not a parameter).
    pub noise_in: Tensor<Rank1<I>, E, D>,
    /// `f(εₒ)`, one per output (detached).
    pub noise_out: Tensor<Rank1<O>, E, D>,
    /// `μʷ` and `σʷ` on the host (CPU only), refreshed only after the optimizer writes them.
    pub(super) host_mu: HostWeights<O, I, E>,
    pub(super) host_sigma: HostWeights<O, I, E>,
}

impl<const I: usize, const O: usize, const RELU: bool, E, D> BuildOnDevice<D, E>
    for Noisy<I, O, RELU>
where
    E: Dtype + SampleUniform,
    D: Device<E>,
{
    type Built = NoisyLayer<I, O, RELU, E, D>;
}

/// `U(±1/√I)`: μ's initialisation.
fn mu_init<const I: usize, S: Shape, E: Dtype + SampleUniform, D: Device<E>>(
    t: &mut Tensor<S, E, D>,
) -> Result<(), D::Err> {
    let bound = 1.0 / (I as f64).sqrt();
    match (E::from_f64(-bound), E::from_f64(bound)) {
        (Some(lo), Some(hi)) => t.try_fill_with_distr(Uniform::new(lo, hi)),
        _ => Ok(()),
    }
}

/// `σ₀/√I`: σ's initialisation.
fn sigma_init<const I: usize, S: Shape, E: Dtype + SampleUniform, D: Device<E>>(
    t: &mut Tensor<S, E, D>,
) -> Result<(), D::Err> {
    let value = E::from_f64(NOISY_SIGMA0 / (I as f64).sqrt()).unwrap_or_default();
    t.try_fill_with_distr(Uniform::new_inclusive(value, value))
}

fn zeros<S: Shape, E: Dtype, D: Device<E>>(t: &mut Tensor<S, E, D>) -> Result<(), D::Err> {
    t.try_fill_with_zeros()
}

impl<const I: usize, const O: usize, const RELU: bool, E, D> TensorCollection<E, D>
    for NoisyLayer<I, O, RELU, E, D>
where
    E: Dtype + SampleUniform,
    D: Device<E>,
{
    type To<E2: Dtype, D2: Device<E2>> = NoisyLayer<I, O, RELU, E2, D2>;

    fn iter_tensors<V: ModuleVisitor<Self, E, D>>(
        visitor: &mut V,
    ) -> Result<Option<Self::To<V::E2, V::D2>>, V::Err> {
        // The noise comes first: the init visitors (`crate::init`) read a detached tensor as
        // "a noisy layer's μ and σ follow" and leave those four to the layer's own init.
        visitor.visit_fields(
            (
                Self::tensor(
                    "noise_in",
                    |s| &s.noise_in,
                    |s| &mut s.noise_in,
                    TensorOptions::detached(zeros),
                ),
                Self::tensor(
                    "noise_out",
                    |s| &s.noise_out,
                    |s| &mut s.noise_out,
                    TensorOptions::detached(zeros),
                ),
                Self::tensor(
                    "weight_mu",
                    |s| &s.weight_mu,
                    |s| {
                        s.host_mu.clear();
                        &mut s.weight_mu
                    },
                    TensorOptions::reset_with(mu_init::<I, _, _, _>),
                ),
                Self::tensor(
                    "weight_sigma",
                    |s| &s.weight_sigma,
                    |s| {
                        s.host_sigma.clear();
                        &mut s.weight_sigma
                    },
                    TensorOptions::reset_with(sigma_init::<I, _, _, _>),
                ),
                Self::tensor(
                    "bias_mu",
                    |s| &s.bias_mu,
                    |s| &mut s.bias_mu,
                    TensorOptions::reset_with(mu_init::<I, _, _, _>),
                ),
                Self::tensor(
                    "bias_sigma",
                    |s| &s.bias_sigma,
                    |s| &mut s.bias_sigma,
                    TensorOptions::reset_with(sigma_init::<I, _, _, _>),
                ),
            ),
            |(noise_in, noise_out, weight_mu, weight_sigma, bias_mu, bias_sigma)| NoisyLayer {
                weight_mu,
                weight_sigma,
                bias_mu,
                bias_sigma,
                noise_in,
                noise_out,
                host_mu: HostWeights::default(),
                host_sigma: HostWeights::default(),
            },
        )
    }
}

impl<const I: usize, const O: usize, const RELU: bool, E: Dtype, D: Storage<E>> NonMutableModule
    for NoisyLayer<I, O, RELU, E, D>
{
}

/// The forward with dfdx's stock ops: `W = μʷ + σʷ ⊙ (εₒ ⊗ εᵢ)`, `b = μᵇ + σᵇ ⊙ εₒ`, then
/// `act(x·Wᵀ + b)`, gradients by dfdx's autograd. Other devices' forward, and the CPU's
/// reference in the tests.
#[cfg(any(feature = "cuda", test))]
pub(crate) fn stock_forward<const I: usize, const O: usize, const RELU: bool, E, D, T>(
    layer: &NoisyLayer<I, O, RELU, E, D>,
    x: Rows<I, E, D, T>,
) -> Result<Rows<O, E, D, T>, D::Err>
where
    E: Dtype,
    D: Device<E>,
    T: Tape<E, D> + Merge<T>,
{
    let batch = x.shape().0;
    let eps_w = layer
        .noise_out
        .clone()
        .try_broadcast::<Rank2<O, I>, _>()?
        .try_mul(layer.noise_in.clone().try_broadcast::<Rank2<O, I>, _>()?)?;
    let w = layer
        .weight_mu
        .retaped::<T>()
        .try_add(layer.weight_sigma.retaped::<T>().try_mul(eps_w)?)?;
    let b = layer.bias_mu.retaped::<T>().try_add(
        layer
            .bias_sigma
            .retaped::<T>()
            .try_mul(layer.noise_out.clone())?,
    )?;
    let y = x
        .try_matmul(w.try_permute()?)?
        .try_add(b.try_broadcast_like(&(batch, Const::<O>))?)?;
    if RELU {
        y.try_relu()
    } else {
        Ok(y)
    }
}

/// On the CPU: the noisy weights are formed on the host in one pass and handed, as a
/// temporary [`DenseLayer`], to the dense layer's kernels (its fast path where it applies);
/// one backward operation, recorded before the dense layer's, maps `∂L/∂W` and `∂L/∂b` onto
/// `μ` and `σ` (`∂L/∂μ = ∂L/∂W`, `∂L/∂σ = ∂L/∂W ⊙ ε`). Same arithmetic as [`stock_forward`]
/// (`ε = εₒεᵢ` first, then `μ + σε`), checked by the tests.
impl<const I: usize, const O: usize, const RELU: bool, E, T> Module<Rows<I, E, Cpu, T>>
    for NoisyLayer<I, O, RELU, E, Cpu>
where
    E: Dtype,
    Cpu: Device<E>,
    T: Tape<E, Cpu>,
{
    type Output = Rows<O, E, Cpu, T>;
    type Error = CpuError;

    fn try_forward(&self, x: Rows<I, E, Cpu, T>) -> Result<Self::Output, CpuError> {
        let (eps_in, eps_out) = (host(&self.noise_in), host(&self.noise_out));
        let (mu, sigma) = (
            self.host_mu.values(&self.weight_mu),
            self.host_sigma.values(&self.weight_sigma),
        );
        let mut w = Vec::with_capacity(O * I);
        for ((mu, sigma), eo) in mu.chunks_exact(I).zip(sigma.chunks_exact(I)).zip(&eps_out) {
            w.extend(
                mu.iter()
                    .zip(sigma)
                    .zip(&eps_in)
                    .map(|((m, s), ei)| *m + *s * (*eo * *ei)),
            );
        }
        let mut b = host(&self.bias_mu);
        for ((b, s), e) in b.iter_mut().zip(host(&self.bias_sigma)).zip(&eps_out) {
            *b += s * *e;
        }
        let dev = x.device().clone();
        let w = Arc::new(w);
        let weight = dev.try_tensor_from_vec(w.to_vec(), (Const, Const))?;
        let dense = DenseLayer::<I, O, RELU, E, Cpu> {
            host: HostWeights::holding(&weight, w),
            weight,
            bias: dev.try_tensor_from_vec(b, (Const,))?,
        };
        if !T::OWNS_TAPE {
            return dense.try_forward(x);
        }
        let (x, mut tape) = x.split_tape();
        let (w, b) = (dense.weight.clone(), dense.bias.clone());
        let params = (
            self.weight_mu.clone(),
            self.weight_sigma.clone(),
            self.bias_mu.clone(),
            self.bias_sigma.clone(),
        );
        tape.add_backward_op(move |grads| {
            let (weight_mu, weight_sigma, bias_mu, bias_sigma) = &params;
            let (gw, gb) = (take_grad(grads, &w)?, take_grad(grads, &b)?);
            add_assign(grad_of(grads, weight_mu)?, &gw);
            add_assign(grad_of(grads, bias_mu)?, &gb);
            let gs = grad_of(grads, weight_sigma)?;
            for ((acc, g), eo) in gs.chunks_exact_mut(I).zip(gw.chunks_exact(I)).zip(&eps_out) {
                for ((acc, g), ei) in acc.iter_mut().zip(g).zip(&eps_in) {
                    *acc += *g * (*eo * *ei);
                }
            }
            let gs = grad_of(grads, bias_sigma)?;
            for ((acc, g), e) in gs.iter_mut().zip(&gb).zip(&eps_out) {
                *acc += *g * *e;
            }
            Ok(())
        });
        dense.try_forward(x.put_tape(tape))
    }
}

#[cfg(feature = "cuda")]
impl<const I: usize, const O: usize, const RELU: bool, T>
    Module<Tensor<(usize, Const<I>), f32, dfdx::tensor::Cuda, T>>
    for NoisyLayer<I, O, RELU, f32, dfdx::tensor::Cuda>
where
    T: Tape<f32, dfdx::tensor::Cuda> + Merge<T>,
{
    type Output = Tensor<(usize, Const<O>), f32, dfdx::tensor::Cuda, T>;
    type Error = <dfdx::tensor::Cuda as HasErr>::Err;

    fn try_forward(
        &self,
        x: Tensor<(usize, Const<I>), f32, dfdx::tensor::Cuda, T>,
    ) -> Result<Self::Output, Self::Error> {
        stock_forward(self, x)
    }
}

/// Draws fresh factorised noise into every noisy layer of `net`, from `rng`: each detached
/// vector gets `f(ε) = sgn(ε)√|ε|` with `ε ~ N(0, 1)`, in the network's visiting order. A
/// network without noisy layers draws nothing.
pub fn resample_noise<M, D, R>(net: &mut M, rng: &mut R) -> Result<(), D::Err>
where
    M: TensorCollection<f32, D>,
    D: Device<f32>,
    R: Rng,
{
    M::iter_tensors(&mut RecursiveWalker {
        m: net,
        f: &mut FillNoise { rng: Some(rng) },
    })
    .map(|_| ())
}

/// Zeroes the noise of every noisy layer of `net`: it then computes with its mean weights.
pub fn clear_noise<M, D>(net: &mut M) -> Result<(), D::Err>
where
    M: TensorCollection<f32, D>,
    D: Device<f32>,
{
    M::iter_tensors(&mut RecursiveWalker {
        m: net,
        f: &mut FillNoise::<rand::rngs::mock::StepRng> { rng: None },
    })
    .map(|_| ())
}

/// `f(ε) = sgn(ε)√|ε|`, the factorised noise's transform.
pub fn scale_noise(eps: f64) -> f64 {
    eps.signum() * eps.abs().sqrt()
}

/// Fills detached tensors with `f(ε)` draws (or zeros without a generator).
struct FillNoise<'a, R> {
    rng: Option<&'a mut R>,
}

impl<R: Rng, D: Device<f32>> TensorVisitor<f32, D> for FillNoise<'_, R> {
    type Viewer = ViewTensorMut;
    type Err = D::Err;
    type E2 = f32;
    type D2 = D;

    fn visit<S: Shape>(
        &mut self,
        opts: TensorOptions<S, f32, D>,
        t: &mut Tensor<S, f32, D>,
    ) -> Result<Option<Tensor<S, f32, D>>, Self::Err> {
        if opts.do_gradient_update {
            return Ok(None);
        }
        let n = t.shape().num_elements();
        let values: Vec<f32> = match self.rng.as_mut() {
            Some(rng) => (0..n)
                .map(|_| scale_noise(rng.sample::<f64, _>(StandardNormal)) as f32)
                .collect(),
            None => vec![0.0; n],
        };
        t.copy_from(&values);
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    type Layer = NoisyLayer<3, 2, false, f64, Cpu>;

    fn layer(seed: u64) -> Layer {
        Cpu::seed_from_u64(seed).build_module::<NoisyLinear<3, 2>, f64>()
    }

    #[test]
    fn starts_with_mu_uniform_sigma_constant_and_no_noise() {
        let dev: Cpu = Cpu::seed_from_u64(1);
        let l = dev.build_module::<NoisyRelu<64, 32>, f32>();
        let bound = 1.0 / 8.0;
        let mu = l.weight_mu.as_vec();
        assert!(mu.iter().all(|w| w.abs() <= bound));
        assert!(
            mu.iter().any(|w| w.abs() > 0.9 * bound),
            "spread over the range"
        );
        let sigma = 0.5 / 8.0;
        assert!(l.weight_sigma.as_vec().iter().all(|s| *s == sigma));
        assert!(l.bias_sigma.as_vec().iter().all(|s| *s == sigma));
        assert!(l.noise_in.as_vec().iter().all(|e| *e == 0.0));
    }

    #[test]
    fn noise_has_the_factorised_statistics() {
        // f(ε) with ε ~ N(0,1): mean 0, E[f(ε)²] = E|ε| = √(2/π); the weight noise
        // f(εₒ)f(εᵢ) then has mean 0 and variance (2/π).
        let dev: Cpu = Cpu::seed_from_u64(2);
        let mut l = dev.build_module::<NoisyLinear<256, 256>, f32>();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let (mut sum, mut sq, mut wsq, mut n, mut nw) = (0.0, 0.0, 0.0, 0.0, 0.0);
        for _ in 0..40 {
            resample_noise(&mut l, &mut rng).unwrap();
            let (a, b) = (l.noise_in.as_vec(), l.noise_out.as_vec());
            for x in a.iter().chain(&b) {
                sum += f64::from(*x);
                sq += f64::from(*x).powi(2);
                n += 1.0;
            }
            for x in &b {
                for y in &a {
                    wsq += f64::from(x * y).powi(2);
                    nw += 1.0;
                }
            }
        }
        let e_abs = (2.0 / std::f64::consts::PI).sqrt();
        // 20,480 draws: the standard error of the mean is about 0.007, of E[f²] about 0.004.
        assert!((sum / n).abs() < 0.03, "mean {}", sum / n);
        assert!((sq / n - e_abs).abs() < 0.02, "E f² {}", sq / n);
        assert!(
            (wsq / nw - e_abs * e_abs).abs() < 0.03,
            "E (fₒfᵢ)² {}",
            wsq / nw
        );
        clear_noise(&mut l).unwrap();
        assert!(l
            .noise_in
            .as_vec()
            .iter()
            .chain(&l.noise_out.as_vec())
            .all(|e| *e == 0.0));
    }

    #[test]
    fn forward_is_the_noisy_affine_map_and_mean_weights_without_noise() {
        let dev: Cpu = Default::default();
        let mut l = layer(4);
        let x: Tensor<(usize, Const<3>), f64, Cpu> =
            dev.tensor_from_vec(vec![0.5, -1.0, 2.0], (1, Const));
        let plain = l.forward(x.clone()).as_vec();
        let (wm, bm) = (l.weight_mu.as_vec(), l.bias_mu.as_vec());
        for o in 0..2 {
            let want = bm[o] + (0..3).map(|i| wm[o * 3 + i] * x.as_vec()[i]).sum::<f64>();
            assert!((plain[o] - want).abs() < 1e-12);
        }
        l.noise_in.copy_from(&[1.0, -0.5, 0.25]);
        l.noise_out.copy_from(&[2.0, -1.0]);
        let noisy = l.forward(x.clone()).as_vec();
        let (ws, bs) = (l.weight_sigma.as_vec(), l.bias_sigma.as_vec());
        let (ei, eo) = ([1.0, -0.5, 0.25], [2.0, -1.0]);
        for o in 0..2 {
            let w = |i: usize| wm[o * 3 + i] + ws[o * 3 + i] * eo[o] * ei[i];
            let want = bm[o] + bs[o] * eo[o] + (0..3).map(|i| w(i) * x.as_vec()[i]).sum::<f64>();
            assert!((noisy[o] - want).abs() < 1e-12, "{} vs {want}", noisy[o]);
        }
    }

    /// The CPU forward (host-formed weights, the dense kernels) against the stock-op forward,
    /// in outputs and in the gradients of every parameter and of the input, at a batch the
    /// dense fast path takes.
    #[test]
    fn the_cpu_forward_matches_the_stock_ops() {
        let dev: Cpu = Cpu::seed_from_u64(6);
        let mut l = dev.build_module::<NoisyRelu<24, 16>, f32>();
        resample_noise(&mut l, &mut rand_chacha::ChaCha8Rng::seed_from_u64(7)).unwrap();
        let xs: Vec<f32> = (0..32 * 24)
            .map(|k| ((k * 37) % 19) as f32 / 9.0 - 1.0)
            .collect();
        let x: Tensor<(usize, Const<24>), f32, Cpu> = dev.tensor_from_vec(xs, (32, Const));
        let run = |stock: bool| {
            let traced = x.clone().traced(l.alloc_grads());
            let y = if stock {
                stock_forward(&l, traced).unwrap()
            } else {
                l.forward(traced)
            };
            let out = y.as_vec();
            let g = y.square().sum::<Rank0, _>().backward();
            let grads: Vec<Vec<f32>> = vec![
                g.get(&l.weight_mu).as_vec(),
                g.get(&l.weight_sigma).as_vec(),
                g.get(&l.bias_mu).as_vec(),
                g.get(&l.bias_sigma).as_vec(),
            ];
            (out, grads)
        };
        let ((y_fast, g_fast), (y_stock, g_stock)) = (run(false), run(true));
        let close = |a: &[f32], b: &[f32], what: &str| {
            for (x, y) in a.iter().zip(b) {
                assert!(
                    (x - y).abs() <= 1e-4 * (1.0 + y.abs()),
                    "{what}: {x} vs {y}"
                );
            }
        };
        close(&y_fast, &y_stock, "output");
        assert!(g_fast.iter().all(|g| g.iter().any(|v| *v != 0.0)));
        for (k, (a, b)) in g_fast.iter().zip(&g_stock).enumerate() {
            close(a, b, &format!("gradient {k}"));
        }
    }

    /// ∂L/∂μ and ∂L/∂σ from the tape against central finite differences of
    /// `L = Σ (y ⊙ c)` in `f64`, with noise drawn.
    #[test]
    fn gradients_to_mu_and_sigma_match_finite_differences() {
        let dev: Cpu = Default::default();
        let mut l = layer(5);
        l.noise_in.copy_from(&[0.7, -1.2, 0.3]);
        l.noise_out.copy_from(&[-0.4, 1.1]);
        let x: Tensor<(usize, Const<3>), f64, Cpu> =
            dev.tensor_from_vec(vec![0.5, -1.0, 2.0, 1.5, 0.25, -0.75], (2, Const));
        let c: Tensor<(usize, Const<2>), f64, Cpu> =
            dev.tensor_from_vec(vec![1.0, -2.0, 0.5, 3.0], (2, Const));
        let loss = |l: &Layer| (l.forward(x.clone()) * c.clone()).sum::<Rank0, _>().array();
        let grads = (l.forward(x.clone().traced(l.alloc_grads())) * c.clone())
            .sum::<Rank0, _>()
            .backward();
        let h = 1e-6;
        let check = |name: &str,
                     get: &dyn Fn(&Layer) -> Vec<f64>,
                     set: &dyn Fn(&mut Layer, Vec<f64>),
                     tape: Vec<f64>| {
            let base = get(&l);
            for k in 0..base.len() {
                let mut up = l.clone();
                let mut v = base.clone();
                v[k] += h;
                set(&mut up, v);
                let mut down = l.clone();
                let mut v = base.clone();
                v[k] -= h;
                set(&mut down, v);
                let fd: f64 = (loss(&up) - loss(&down)) / (2.0 * h);
                assert!(
                    (fd - tape[k]).abs() < 1e-6,
                    "{name}[{k}]: tape {} vs fd {fd}",
                    tape[k]
                );
            }
        };
        check(
            "weight_mu",
            &|l| l.weight_mu.as_vec(),
            &|l, v| l.weight_mu.copy_from(&v),
            grads.get(&l.weight_mu).as_vec(),
        );
        check(
            "weight_sigma",
            &|l| l.weight_sigma.as_vec(),
            &|l, v| l.weight_sigma.copy_from(&v),
            grads.get(&l.weight_sigma).as_vec(),
        );
        check(
            "bias_mu",
            &|l| l.bias_mu.as_vec(),
            &|l, v| l.bias_mu.copy_from(&v),
            grads.get(&l.bias_mu).as_vec(),
        );
        check(
            "bias_sigma",
            &|l| l.bias_sigma.as_vec(),
            &|l, v| l.bias_sigma.copy_from(&v),
            grads.get(&l.bias_sigma).as_vec(),
        );
        // σ's gradient is μ's scaled by the noise: ∂L/∂σʷ[o,i] = ∂L/∂μʷ[o,i] · f(εₒ) f(εᵢ).
        let (gm, gs) = (
            grads.get(&l.weight_mu).as_vec(),
            grads.get(&l.weight_sigma).as_vec(),
        );
        let eps = [
            [-0.4 * 0.7, -0.4 * -1.2, -0.4 * 0.3],
            [1.1 * 0.7, 1.1 * -1.2, 1.1 * 0.3],
        ];
        for o in 0..2 {
            for i in 0..3 {
                assert!((gs[o * 3 + i] - gm[o * 3 + i] * eps[o][i]).abs() < 1e-12);
            }
        }
    }
}
