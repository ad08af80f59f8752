//! Tests of the convolutional networks as the agent builds them: encodings as `QNetKind`s,
//! shapes and one training step, dueling heads, determinism, DeZero initialisation.

use super::cnn::*;
use super::QNetKind;
use dfdx::nn::{BuildOnDevice, DeviceBuildExt, Module, ModuleMut, ZeroGrads};
use dfdx::optim::{Adam, AdamConfig, Optimizer};
use dfdx::shapes::{Const, HasShape};
use dfdx::tensor::{AsArray, Cpu, TensorFromVec, Trace};
use dfdx::tensor_ops::{Backward, MeanTo, SelectTo, SumTo};
use dqn_nn::{
    build, encode_minatar, encode_nature, Batch, EncodeError, EncodeObs, QFunction, WeightInit,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn assert_qfunction<M: QFunction<IN, ACT>, const IN: usize, const ACT: usize>(_: &M) {}

/// The agent's view: `QNetKind::encode` writes what `EncodeObs::try_encode` writes.
fn encode_as_agent<N: QNetKind<u8, IN, ACT>, const IN: usize, const ACT: usize>(
    obs: &[u8],
) -> Vec<f32> {
    let mut out = vec![0.0; IN];
    N::encode(obs, &mut out);
    out
}

#[test]
fn networks_are_qnet_kinds_for_u8_observations() {
    let obs: Vec<u8> = (0..700).map(|i| (i % 2) as u8).collect();
    let mut want = vec![0.0; 4032];
    encode_minatar::<7>(&obs, &mut want).expect("lengths match");
    assert_eq!(encode_as_agent::<MinAtarQNetC7<6>, 4032, 6>(&obs), want);
    assert_eq!(
        encode_as_agent::<MinAtarDuelingQNetC7<6>, 4032, 6>(&obs),
        want
    );
    let frame: Vec<u8> = (0..84 * 84).map(|i| (i % 251) as u8).collect();
    let mut want = vec![0.0; 25600];
    encode_nature::<1>(&frame, &mut want).expect("lengths match");
    assert_eq!(encode_as_agent::<NatureQNetC1<4>, 25600, 4>(&frame), want);
    assert_eq!(
        encode_as_agent::<NatureDuelingQNetC1<4>, 25600, 4>(&frame),
        want
    );
}

/// Encodes `batch` random observations for `B`.
fn observations<B: EncodeObs, const IN: usize>(
    dev: &Cpu,
    batch: usize,
    max: u8,
    seed: u64,
) -> Batch<IN> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let obs: Vec<Vec<u8>> = (0..batch)
        .map(|_| (0..B::OBS_LEN).map(|_| rng.gen_range(0..=max)).collect())
        .collect();
    let refs: Vec<&[u8]> = obs.iter().map(Vec::as_slice).collect();
    let mut x = vec![0.0f32; batch * IN];
    B::try_encode_batch(&refs, &mut x).expect("lengths match");
    dev.tensor_from_vec(x, (batch, Const))
}

/// Shape of a batch-2 forward, then one Adam step on `mean((Q(s, a) − y)²)` lowers it.
fn shape_and_one_training_step<B, M, const IN: usize, const ACT: usize>(max: u8)
where
    B: BuildOnDevice<Cpu, f32, Built = M> + EncodeObs,
    M: QFunction<IN, ACT>,
{
    let dev: Cpu = Cpu::seed_from_u64(21);
    let mut net =
        build::<B, _, _>(&dev, WeightInit::Uniform, &mut ChaCha8Rng::seed_from_u64(0)).unwrap();
    assert_qfunction::<M, IN, ACT>(&net);
    let x = observations::<B, IN>(&dev, 2, max, 22);
    assert_eq!(net.forward(x.clone()).shape(), &(2, Const::<ACT>));
    let mut opt = Adam::new(
        &net,
        AdamConfig {
            lr: 1e-3,
            ..Default::default()
        },
    );
    let actions = dev.tensor_from_vec(vec![1usize, ACT - 1], (2,));
    let y = dev.tensor_from_vec(vec![1.0f32, -1.0], (2,));
    let mut loss_of = |net: &mut M, step: bool| -> f32 {
        let grads = net.alloc_grads();
        let q = net
            .forward_mut(x.clone().traced(grads))
            .select(actions.clone());
        let loss = (q - y.clone()).square().mean();
        let value = loss.array();
        let grads = loss.backward();
        if step {
            opt.update(net, &grads)
                .expect("all parameters have gradients");
        }
        value
    };
    let before = loss_of(&mut net, true);
    let after = loss_of(&mut net, false);
    assert!(after < before, "loss {before} → {after}");
}

#[test]
fn minatar_nets_have_the_right_shapes_and_train() {
    shape_and_one_training_step::<MinAtarQNetC4<6>, _, 2304, 6>(1);
    shape_and_one_training_step::<MinAtarDuelingQNetC4<6>, _, 2304, 6>(1);
    shape_and_one_training_step::<MinAtarQNetC10<18>, _, 5760, 18>(1);
}

#[test]
fn nature_nets_have_the_right_shapes_and_train() {
    shape_and_one_training_step::<NatureQNetC4<6>, _, 102400, 6>(255);
    shape_and_one_training_step::<NatureDuelingQNetC1<4>, _, 25600, 4>(255);
}

#[test]
fn dueling_q_is_value_plus_centred_advantage() {
    let dev: Cpu = Cpu::seed_from_u64(31);
    let net = dev.build_module::<MinAtarDuelingQNetC4<5>, f32>();
    let x = observations::<MinAtarDuelingQNetC4<5>, 2304>(&dev, 3, 1, 32);
    let q = net.forward(x.clone()).as_vec();
    let features = net.1.forward(net.0.forward(x));
    let (value, advantage) = &net.2 .0;
    let v = value.forward(features.clone()).as_vec();
    let a = advantage.forward(features).as_vec();
    for n in 0..3 {
        let row = &a[n * 5..(n + 1) * 5];
        let mean = row.iter().sum::<f32>() / 5.0;
        for k in 0..5 {
            let want = v[n] + row[k] - mean;
            assert!(
                (q[n * 5 + k] - want).abs() < 1e-5,
                "{} vs {want}",
                q[n * 5 + k]
            );
        }
    }
    // The Nature dueling net has the same head.
    let net = dev.build_module::<NatureDuelingQNetC1<3>, f32>();
    let x = observations::<NatureDuelingQNetC1<3>, 25600>(&dev, 2, 255, 33);
    let q = net.forward(x.clone()).as_vec();
    let features = net.0.forward(x);
    let (value, advantage) = &net.1 .0;
    let (v, a) = (
        value.forward(features.clone()).as_vec(),
        advantage.forward(features).as_vec(),
    );
    for n in 0..2 {
        let mean = a[n * 3..(n + 1) * 3].iter().sum::<f32>() / 3.0;
        for k in 0..3 {
            assert!((q[n * 3 + k] - (v[n] + a[n * 3 + k] - mean)).abs() < 1e-5);
        }
    }
}

#[test]
fn forward_and_gradients_are_bit_identical_run_to_run() {
    let dev: Cpu = Cpu::seed_from_u64(41);
    let net = dev.build_module::<NatureQNetC1<4>, f32>();
    let x = observations::<NatureQNetC1<4>, 25600>(&dev, 2, 255, 42);
    let run = || {
        let mut m = net.clone();
        let q = m.forward_mut(x.clone().traced(m.alloc_grads()));
        let q_values = q.as_vec();
        let grads = q.sum().backward();
        (
            q_values,
            grads.get(&m.0 .0.weight).as_vec(),
            grads.get(&m.0 .1.weight).as_vec(),
        )
    };
    let (a, b) = (run(), run());
    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&a.0), bits(&b.0));
    assert_eq!(bits(&a.1), bits(&b.1));
    assert_eq!(bits(&a.2), bits(&b.2));
    assert_eq!(
        bits(&a.0),
        bits(&net.forward(x).as_vec()),
        "tape does not change the forward"
    );
}

#[test]
fn dezero_init_uses_each_layers_fan_in() {
    let dev: Cpu = Cpu::seed_from_u64(51);
    let mut rng = ChaCha8Rng::seed_from_u64(52);
    let net = build::<MinAtarQNetC4<6>, _, _>(&dev, WeightInit::Dezero, &mut rng).unwrap();
    let var_times_fan_in = |w: Vec<f32>, fan_in: f64| {
        let n = w.len() as f64;
        w.iter().map(|&v| f64::from(v).powi(2)).sum::<f64>() / n * fan_in
    };
    // 576 conv weights with fan-in 36: the sample variance is within ~±12% (2σ).
    let conv = var_times_fan_in(net.0.weight.as_vec(), 36.0);
    assert!((conv - 1.0).abs() < 0.15, "{conv}");
    let dense = var_times_fan_in(net.2.weight.as_vec(), 1024.0);
    assert!((dense - 1.0).abs() < 0.03, "{dense}");
    assert!(net
        .0
        .bias
        .as_vec()
        .iter()
        .chain(&net.3.bias.as_vec())
        .all(|&b| b == 0.0));
}

#[test]
fn encoders_reject_wrong_lengths() {
    let mut out = vec![0.0f32; MinAtarQNetC4::<3>::IN];
    assert_eq!(
        encode_minatar::<4>(&[0u8; 399], &mut out),
        Err(EncodeError::ObsLen {
            expected: 400,
            got: 399
        })
    );
    assert_eq!(
        MinAtarQNetC6::<3>::try_encode(&[0u8; 600], &mut out),
        Err(EncodeError::OutLen {
            expected: 3456,
            got: 2304
        })
    );
    let obs = vec![0u8; 400];
    let mut two = vec![0.0f32; 2 * 2304];
    let batch: [&[u8]; 2] = [&obs, &obs];
    assert!(MinAtarQNetC4::<3>::try_encode_batch(&batch, &mut two).is_ok());
    assert!(MinAtarQNetC4::<3>::try_encode_batch(&batch[..1], &mut two).is_err());
}
