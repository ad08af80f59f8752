//! Tests of the layers: encodings, forward against a direct convolution, gradients against
//! central finite differences (each layer, and a tiny network of all of them).

use super::encode::*;
use super::layers::*;
use crate::Batch;
use dfdx::nn::{BuildModule, DeviceBuildExt, ModuleMut, ZeroGrads};
use dfdx::nn::{BuildOnDevice, Module};
use dfdx::shapes::{Const, HasShape, Rank1, Rank2, Shape};
use dfdx::tensor::OwnedTape;
use dfdx::tensor::TensorFromVec;
use dfdx::tensor::Trace;
use dfdx::tensor::{Cpu, CpuError, Gradients, Tensor};
use dfdx::tensor_ops::{Backward, SumTo};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

type Rows<const N: usize, E = f64, T = dfdx::tensor::NoneTape> =
    Tensor<(usize, Const<N>), E, Cpu, T>;

/// Direct convolution of one channel-first image `x[c][y][x]` with `w[o][c][ky][kx]`,
/// stride `s`, no padding, then ReLU. Returns `out[o][oy][ox]`.
#[allow(clippy::too_many_arguments)]
fn naive_conv_relu(
    x: &[f64],
    c: usize,
    side: usize,
    w: &[f64],
    b: &[f64],
    k: usize,
    s: usize,
) -> Vec<f64> {
    let co = b.len();
    let out = (side - k) / s + 1;
    let mut y = vec![0.0; co * out * out];
    for o in 0..co {
        for oy in 0..out {
            for ox in 0..out {
                let mut acc = b[o];
                for ci in 0..c {
                    for ky in 0..k {
                        for kx in 0..k {
                            let xv = x[(ci * side + s * oy + ky) * side + s * ox + kx];
                            acc += w[((o * c + ci) * k + ky) * k + kx] * xv;
                        }
                    }
                }
                y[(o * out + oy) * out + ox] = acc.max(0.0);
            }
        }
    }
    y
}

/// Hand values: small integers and halves, so every product and sum is exact in f64.
fn hand_values(n: usize, modulus: usize, scale: f64) -> Vec<f64> {
    (0..n)
        .map(|i| ((i * 7 + 3) % modulus) as f64 * scale - scale * 2.0)
        .collect()
}

fn assert_close(got: &[f64], want: &[f64], tol: f64) {
    assert_eq!(got.len(), want.len());
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!((g - w).abs() <= tol * (1.0 + w.abs()), "at {i}: {g} vs {w}");
    }
}

/// The layer's patch matrix for one channel-first image: row `p`, order `(c, ky, kx)`.
fn patches_cyx(x: &[f64], c: usize, side: usize, k: usize, s: usize) -> Vec<f64> {
    let out = (side - k) / s + 1;
    let mut p = Vec::new();
    for oy in 0..out {
        for ox in 0..out {
            for ci in 0..c {
                for ky in 0..k {
                    for kx in 0..k {
                        p.push(x[(ci * side + s * oy + ky) * side + s * ox + kx]);
                    }
                }
            }
        }
    }
    p
}

#[test]
fn encoders_write_channel_first_patches() {
    let obs: Vec<u8> = (0..2 * 5 * 5).map(|i| (i * 37 % 256) as u8).collect();
    let mut out = vec![0.0f32; 9 * 18];
    im2col::<2, 5, 3, 1>(&obs, &mut out, f32::from);
    let x: Vec<f64> = obs.iter().map(|&v| f64::from(v)).collect();
    let want = patches_cyx(&x, 2, 5, 3, 1);
    let got: Vec<f64> = out.iter().map(|&v| f64::from(v)).collect();
    assert_close(&got, &want, 0.0);

    let obs: Vec<u8> = (0..4 * 84 * 84).map(|i| (i * 131 % 256) as u8).collect();
    let mut out = vec![0.0f32; 400 * 256];
    encode_nature::<4>(&obs, &mut out).expect("lengths match");
    // Position (oy, ox) = (3, 5), channel 2, (ky, kx) = (7, 1): pixel (2, 4·3 + 7, 4·5 + 1).
    let p = 3 * 20 + 5;
    let got = out[p * 256 + (2 * 8 + 7) * 8 + 1];
    assert_eq!(got, f32::from(obs[(2 * 84 + 19) * 84 + 21]) / 255.0);
    assert!(out.iter().all(|v| (0.0..=1.0).contains(v)));
}

#[test]
fn patch_conv_matches_direct_convolution() {
    // 2 channels, 5×5, 3×3 kernel, stride 2 → 2×2 positions; 3 filters. Batch of 2.
    let dev: Cpu = Default::default();
    let mut layer = PatchConvLayer::<72, 18, 3, f64, Cpu>::build(&dev);
    let w = hand_values(3 * 18, 5, 0.25);
    let b = vec![0.5, -1.0, 0.25];
    layer.weight.copy_from(&w);
    layer.bias.copy_from(&b);
    let images = [hand_values(50, 7, 0.5), hand_values(50, 11, 0.25)];
    let input: Vec<f64> = images
        .iter()
        .flat_map(|x| patches_cyx(x, 2, 5, 3, 2))
        .collect();
    let y = layer
        .forward(dev.tensor_from_vec(input, (2, Const::<72>)))
        .as_vec();
    for (n, x) in images.iter().enumerate() {
        let want = naive_conv_relu(x, 2, 5, &w, &b, 3, 2); // [o][p]
        for p in 0..4 {
            for o in 0..3 {
                assert_eq!(
                    y[(n * 4 + p) * 3 + o],
                    want[o * 4 + p],
                    "sample {n} p {p} o {o}"
                );
            }
        }
    }
}

type SmallGather = GatherConvLayer<5, 2, 3, 2, 3, 18, f64, Cpu>;

/// Channel-first images → the gather layer's input rows `(b·25 + y·5 + x, c)`.
fn rows_of(images: &[Vec<f64>], c: usize, side: usize) -> Vec<f64> {
    let mut rows = Vec::new();
    for x in images {
        for pix in 0..side * side {
            rows.extend((0..c).map(|ci| x[ci * side * side + pix]));
        }
    }
    rows
}

#[test]
fn gather_conv_matches_direct_convolution() {
    let dev: Cpu = Default::default();
    let mut layer = SmallGather::build(&dev);
    let w = hand_values(3 * 18, 5, 0.25); // [o][c][ky][kx]
    let b = vec![0.5, -1.0, 0.25];
    // The gathered layer's patch order is (ky, kx, c).
    let mut w_kkc = vec![0.0; w.len()];
    for o in 0..3 {
        for c in 0..2 {
            for k in 0..9 {
                w_kkc[o * 18 + k * 2 + c] = w[(o * 2 + c) * 9 + k];
            }
        }
    }
    layer.weight.copy_from(&w_kkc);
    layer.bias.copy_from(&b);
    let images = [hand_values(50, 7, 0.5), hand_values(50, 11, 0.25)];
    let x = dev.tensor_from_vec(rows_of(&images, 2, 5), (50, Const::<2>));
    let y = layer.forward(x).as_vec();
    assert_eq!(y.len(), 2 * 4 * 3);
    for (n, img) in images.iter().enumerate() {
        let want = naive_conv_relu(img, 2, 5, &w, &b, 3, 2);
        for p in 0..4 {
            for o in 0..3 {
                assert_eq!(
                    y[(n * 4 + p) * 3 + o],
                    want[o * 4 + p],
                    "sample {n} p {p} o {o}"
                );
            }
        }
    }
}

// ----- gradients -------------------------------------------------------------------------

/// Compares `analytic` with central differences of `loss` around `values`:
/// `|a − n| ≤ rel · max(|a|, |n|) + abs` for every element.
fn check_grad(
    values: &[f64],
    analytic: &[f64],
    mut loss: impl FnMut(&[f64]) -> f64,
    eps: f64,
    rel: f64,
    abs: f64,
) {
    assert_eq!(values.len(), analytic.len());
    let mut v = values.to_vec();
    for i in 0..v.len() {
        v[i] = values[i] + eps;
        let up = loss(&v);
        v[i] = values[i] - eps;
        let down = loss(&v);
        v[i] = values[i];
        let numeric = (up - down) / (2.0 * eps);
        let a = analytic[i];
        let bound = rel * a.abs().max(numeric.abs()) + abs;
        assert!(
            (a - numeric).abs() <= bound,
            "element {i}: analytic {a}, numeric {numeric}"
        );
    }
}

/// A fixed random linear read-out `L = Σ c·y`, as a tensor and as a host function.
fn readout<const N: usize>(dev: &Cpu, rows: usize, seed: u64) -> (Rows<N>, Vec<f64>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let c: Vec<f64> = (0..rows * N).map(|_| rng.gen_range(-1.0..1.0)).collect();
    (dev.tensor_from_vec(c.clone(), (rows, Const)), c)
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn random(n: usize, seed: u64) -> Vec<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..n).map(|_| rng.gen_range(-1.0..1.0)).collect()
}

/// Checks `∂L/∂W` and `∂L/∂b` of `layer` (input `x`, `IN` columns, `OUT` output columns).
fn check_layer_params<M, const IN: usize, const OUT: usize, const WN: usize>(
    layer: &M,
    x: &[f64],
    weight: fn(&mut M) -> &mut Tensor<Rank2<OUT, WN>, f64, Cpu>,
    bias: fn(&mut M) -> &mut Tensor<Rank1<OUT>, f64, Cpu>,
) where
    M: Clone
        + Module<Rows<IN>, Output = Rows<OUT>, Error = CpuError>
        + ModuleMut<
            Rows<IN, f64, OwnedTape<f64, Cpu>>,
            Output = Rows<OUT, f64, OwnedTape<f64, Cpu>>,
            Error = CpuError,
        >,
{
    let dev: Cpu = Default::default();
    let input: Rows<IN> = dev.tensor_from_vec(x.to_vec(), (x.len() / IN, Const));
    let mut traced = layer.clone();
    let y = traced.forward_mut(input.clone().leaky_trace());
    let (c_t, c) = readout::<OUT>(&dev, y.shape().0, 7);
    let grads = (y * c_t).sum().backward();
    let mut probe = layer.clone();
    let gw = grads.get(weight(&mut probe)).as_vec();
    let gb = grads.get(bias(&mut probe)).as_vec();
    let loss_with = |set: &dyn Fn(&mut M)| {
        let mut m = layer.clone();
        set(&mut m);
        dot(&m.forward(input.clone()).as_vec(), &c)
    };
    let w0 = weight(&mut probe).as_vec();
    check_grad(
        &w0,
        &gw,
        |v| loss_with(&|m| weight(m).copy_from(v)),
        1e-6,
        1e-6,
        1e-9,
    );
    let b0 = bias(&mut probe).as_vec();
    check_grad(
        &b0,
        &gb,
        |v| loss_with(&|m| bias(m).copy_from(v)),
        1e-6,
        1e-6,
        1e-9,
    );
}

/// Checks `∂L/∂x` of `layer` at input `x`.
fn check_layer_input<M, const IN: usize, const OUT: usize>(layer: &M, x: &[f64])
where
    M: Clone
        + Module<Rows<IN>, Output = Rows<OUT>, Error = CpuError>
        + Module<
            Rows<IN, f64, OwnedTape<f64, Cpu>>,
            Output = Rows<OUT, f64, OwnedTape<f64, Cpu>>,
            Error = CpuError,
        >,
{
    let dev: Cpu = Default::default();
    let rows = x.len() / IN;
    let input: Rows<IN> = dev.tensor_from_vec(x.to_vec(), (rows, Const));
    let y = layer.forward(input.clone().leaky_trace());
    let (c_t, c) = readout::<OUT>(&dev, y.shape().0, 9);
    let grads = (y * c_t).sum().backward();
    let gx = grads.get(&input).as_vec();
    let loss = |v: &[f64]| {
        dot(
            &layer
                .forward(dev.tensor_from_vec(v.to_vec(), (rows, Const::<IN>)))
                .as_vec(),
            &c,
        )
    };
    check_grad(x, &gx, loss, 1e-6, 1e-6, 1e-9);
}

#[test]
fn patch_conv_parameter_gradients_match_finite_differences() {
    let dev: Cpu = Cpu::seed_from_u64(1);
    let layer = PatchConvLayer::<72, 18, 3, f64, Cpu>::build(&dev);
    check_layer_params::<_, 72, 3, 18>(
        &layer,
        &random(3 * 72, 2),
        |m| &mut m.weight,
        |m| &mut m.bias,
    );
}

#[test]
fn gather_conv_gradients_match_finite_differences() {
    let dev: Cpu = Cpu::seed_from_u64(3);
    let layer = SmallGather::build(&dev);
    let x = random(3 * 25 * 2, 4);
    check_layer_params::<_, 2, 3, 18>(&layer, &x, |m| &mut m.weight, |m| &mut m.bias);
    check_layer_input::<_, 2, 3>(&layer, &x);
    // Stride 1 (overlapping patches accumulate several contributions per input row).
    let layer = GatherConvLayer::<4, 3, 2, 1, 2, 12, f64, Cpu>::build(&dev);
    let x = random(2 * 16 * 3, 5);
    check_layer_params::<_, 3, 2, 12>(&layer, &x, |m| &mut m.weight, |m| &mut m.bias);
    check_layer_input::<_, 3, 2>(&layer, &x);
}

#[test]
fn dense_gradients_match_finite_differences() {
    let dev: Cpu = Cpu::seed_from_u64(5);
    let x = random(3 * 8, 6);
    let relu = DenseLayer::<8, 5, true, f64, Cpu>::build(&dev);
    check_layer_params::<_, 8, 5, 8>(&relu, &x, |m| &mut m.weight, |m| &mut m.bias);
    check_layer_input::<_, 8, 5>(&relu, &x);
    let linear = DenseLayer::<8, 5, false, f64, Cpu>::build(&dev);
    check_layer_params::<_, 8, 5, 8>(&linear, &x, |m| &mut m.weight, |m| &mut m.bias);
    check_layer_input::<_, 8, 5>(&linear, &x);
}

// ----- whole networks (f32) --------------------------------------------------------------

/// Every layer type in miniature: 2×6×6 input, conv 3 × 2×2/1 (host patches) → 5×5×3,
/// conv 4 × 3×3/2 (gathered) → 2×2×4, flatten 16, dense 8 + ReLU, dense 2.
type Tiny = (
    PatchConvRelu<200, 8, 3>,
    GatherConvRelu<5, 3, 3, 2, 4, 27>,
    RowsToBatch<16>,
    DenseRelu<16, 8>,
    DenseLinear<8, 2>,
);
type TinyNet = <Tiny as BuildOnDevice<Cpu, f32>>::Built;

fn tiny_input(dev: &Cpu, batch: usize, seed: u64) -> Batch<200> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut x = vec![0.0f32; batch * 200];
    for row in x.chunks_exact_mut(200) {
        let obs: Vec<u8> = (0..72).map(|_| rng.gen()).collect();
        im2col::<2, 6, 2, 1>(&obs, row, |v| f32::from(v) / 255.0);
    }
    dev.tensor_from_vec(x, (batch, Const))
}

/// `∂(Σ c·Q)/∂θ` of every parameter of the tiny f32 net against central differences
/// (ε = 1e-3, relative tolerance 1e-2 + absolute 1e-3: f32 rounding, not the method,
/// limits the agreement).
#[test]
fn small_f32_network_gradients_match_finite_differences() {
    let dev: Cpu = Cpu::seed_from_u64(11);
    let net: TinyNet = dev.build_module::<Tiny, f32>();
    let x = tiny_input(&dev, 3, 12);
    let c: Vec<f32> = random(3 * 2, 13).iter().map(|&v| v as f32).collect();
    let c_t: Batch<2> = dev.tensor_from_vec(c.clone(), (3, Const));
    let mut traced = net.clone();
    let grads = (traced.forward_mut(x.clone().traced(net.alloc_grads())) * c_t)
        .sum()
        .backward();
    let loss = |m: &TinyNet| -> f64 {
        let q = m.forward(x.clone()).as_vec();
        q.iter().zip(&c).map(|(q, c)| f64::from(q * c)).sum()
    };
    check_tiny_param(&net, &grads, &loss, |n| &mut n.0.weight);
    check_tiny_param(&net, &grads, &loss, |n| &mut n.0.bias);
    check_tiny_param(&net, &grads, &loss, |n| &mut n.1.weight);
    check_tiny_param(&net, &grads, &loss, |n| &mut n.1.bias);
    check_tiny_param(&net, &grads, &loss, |n| &mut n.3.weight);
    check_tiny_param(&net, &grads, &loss, |n| &mut n.3.bias);
    check_tiny_param(&net, &grads, &loss, |n| &mut n.4.weight);
    check_tiny_param(&net, &grads, &loss, |n| &mut n.4.bias);
}

/// One parameter of the tiny net: `grads` against central differences of `loss`.
fn check_tiny_param<S: Shape>(
    net: &TinyNet,
    grads: &Gradients<f32, Cpu>,
    loss: &impl Fn(&TinyNet) -> f64,
    param: fn(&mut TinyNet) -> &mut Tensor<S, f32, Cpu>,
) {
    let mut probe = net.clone();
    let widen = |v: Vec<f32>| -> Vec<f64> { v.into_iter().map(f64::from).collect() };
    let analytic = widen(grads.get(param(&mut probe)).as_vec());
    let values = widen(param(&mut probe).as_vec());
    let at = |v: &[f64]| {
        let v32: Vec<f32> = v.iter().map(|&x| x as f32).collect();
        param(&mut probe).copy_from(&v32);
        loss(&probe)
    };
    check_grad(&values, &analytic, at, 1e-3, 1e-2, 1e-3);
}
