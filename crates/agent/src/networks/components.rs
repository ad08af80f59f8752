//! The networks of Rainbow's other components: a distributional C51 head (Bellemare et al.
//! 2017), noisy fully connected layers (Fortunato et al. 2018), or both, on the MLP and the
//! MinAtar CNN, plain or dueling.
//!
//! A network is [`Net<L, In, ATOMS>`]: its layers `L`, how an observation becomes its input
//! (`In`: [`VectorInput`] or [`MinAtarInput`]) and its atoms per action (1: Q-values; 51:
//! C51 logits, `OUT = ACT · ATOMS`, action-major). The layers are written once over [`Fc`],
//! which says whether the fully connected layers are plain ([`PlainFc`], the fused
//! `DenseRelu` / `DenseLinear`) or noisy ([`NoisyFc`]); convolutions are never noisy. The dueling
//! forms split after the trunk into a value stream of `ATOMS` outputs and an advantage stream
//! of `OUT`, joined per atom by [`DuelingAtomsHead`]. Revisiting Rainbow's MinAtar network
//! ([`RevisitingLayers`]: SAME-padded conv, no hidden layer) is here too, in all eight forms.

use super::cnn::{MINATAR_FILTERS, MINATAR_FLAT, MINATAR_HIDDEN};
use super::{QNetKind, HIDDEN};
use dfdx::nn::builders::SplitInto;
use dfdx::nn::BuildOnDevice;
use dfdx::shapes::Dtype;
use dfdx::tensor_ops::Device;
use dqn_nn::*;
use std::marker::PhantomData;

/// Whether a network's fully connected layers are plain or noisy.
pub trait Fc {
    type Relu<const I: usize, const O: usize>;
    type Linear<const I: usize, const O: usize>;
}

/// Plain fully connected layers (the fused dense layers).
pub struct PlainFc;
/// Noisy fully connected layers, factorised Gaussian.
pub struct NoisyFc;

impl Fc for PlainFc {
    type Relu<const I: usize, const O: usize> = DenseRelu<I, O>;
    type Linear<const I: usize, const O: usize> = DenseLinear<I, O>;
}

impl Fc for NoisyFc {
    type Relu<const I: usize, const O: usize> = NoisyRelu<I, O>;
    type Linear<const I: usize, const O: usize> = NoisyLinear<I, O>;
}

/// The chapter's MLP (128, 128) with `OUT` outputs.
pub type MlpLayers<F, const OBS: usize, const OUT: usize> = (
    <F as Fc>::Relu<OBS, HIDDEN>,
    <F as Fc>::Relu<HIDDEN, HIDDEN>,
    <F as Fc>::Linear<HIDDEN, OUT>,
);

/// The dueling MLP: a 128 trunk, then value (`ATOMS`) and advantage (`OUT`) streams of 128.
pub type DuelingMlpLayers<
    F,
    const OBS: usize,
    const ACT: usize,
    const ATOMS: usize,
    const OUT: usize,
> = (
    <F as Fc>::Relu<OBS, HIDDEN>,
    SplitInto<(
        (
            <F as Fc>::Relu<HIDDEN, HIDDEN>,
            <F as Fc>::Linear<HIDDEN, ATOMS>,
        ),
        (
            <F as Fc>::Relu<HIDDEN, HIDDEN>,
            <F as Fc>::Linear<HIDDEN, OUT>,
        ),
    )>,
    DuelingAtomsHead<ACT, ATOMS, OUT>,
);

/// The MinAtar network (conv 16 3×3 valid → 1024 → 128 → `OUT`).
pub type MinAtarLayers<F, const PATCH: usize, const IN: usize, const OUT: usize> = (
    PatchConvRelu<IN, PATCH, MINATAR_FILTERS>,
    RowsToBatch<MINATAR_FLAT>,
    <F as Fc>::Relu<MINATAR_FLAT, MINATAR_HIDDEN>,
    <F as Fc>::Linear<MINATAR_HIDDEN, OUT>,
);

/// The MinAtar trunk with value (`ATOMS`) and advantage (`OUT`) streams of 128 each.
pub type MinAtarDuelingLayers<
    F,
    const PATCH: usize,
    const IN: usize,
    const ACT: usize,
    const ATOMS: usize,
    const OUT: usize,
> = (
    PatchConvRelu<IN, PATCH, MINATAR_FILTERS>,
    RowsToBatch<MINATAR_FLAT>,
    SplitInto<(
        (
            <F as Fc>::Relu<MINATAR_FLAT, MINATAR_HIDDEN>,
            <F as Fc>::Linear<MINATAR_HIDDEN, ATOMS>,
        ),
        (
            <F as Fc>::Relu<MINATAR_FLAT, MINATAR_HIDDEN>,
            <F as Fc>::Linear<MINATAR_HIDDEN, OUT>,
        ),
    )>,
    DuelingAtomsHead<ACT, ATOMS, OUT>,
);

/// Revisiting Rainbow's MinAtar network (Obando-Ceron & Castro 2021, `networks_new.py` with
/// `hidden_layer = 0`): conv 16 × 3×3 stride 1 with SAME padding → 10·10·16 = 1600 features →
/// straight to the head, `OUT` outputs.
pub type RevisitingLayers<F, const PATCH: usize, const IN: usize, const OUT: usize> = (
    PatchConvRelu<IN, PATCH, MINATAR_FILTERS>,
    RowsToBatch<REVISITING_FLAT>,
    <F as Fc>::Linear<REVISITING_FLAT, OUT>,
);

/// [`RevisitingLayers`] with their dueling head: value (`ATOMS`) and advantage (`OUT`) are each
/// one layer on the 1600 features.
pub type RevisitingDuelingLayers<
    F,
    const PATCH: usize,
    const IN: usize,
    const ACT: usize,
    const ATOMS: usize,
    const OUT: usize,
> = (
    PatchConvRelu<IN, PATCH, MINATAR_FILTERS>,
    RowsToBatch<REVISITING_FLAT>,
    SplitInto<(
        <F as Fc>::Linear<REVISITING_FLAT, ATOMS>,
        <F as Fc>::Linear<REVISITING_FLAT, OUT>,
    )>,
    DuelingAtomsHead<ACT, ATOMS, OUT>,
);

/// Revisiting Rainbow's conv features: 10 · 10 · 16.
pub const REVISITING_FLAT: usize = MINATAR_SAME_POSITIONS * MINATAR_FILTERS;

/// How an observation becomes a network's input.
pub trait InputEncoding<E> {
    /// `K²` of the first convolution's patches; 1 for a state vector.
    const RECEPTIVE_FIELD: usize = 1;

    fn encode(obs: &[E], out: &mut [f32]);
}

/// A state vector, as it is.
pub struct VectorInput;
/// A MinAtar `C × 10 × 10` state, as the first convolution's patches.
pub struct MinAtarInput<const C: usize>;
/// A MinAtar state as the patches of a SAME-padded convolution (Revisiting Rainbow's).
pub struct MinAtarSameInput<const C: usize>;

impl InputEncoding<f32> for VectorInput {
    fn encode(obs: &[f32], out: &mut [f32]) {
        out.copy_from_slice(obs);
    }
}

impl<const C: usize> InputEncoding<u8> for MinAtarSameInput<C> {
    const RECEPTIVE_FIELD: usize = 9;

    /// # Panics
    /// If `obs` is not one `C × 10 × 10` state or `out` not its patches: a wiring bug.
    fn encode(obs: &[u8], out: &mut [f32]) {
        if let Err(e) = encode_minatar_same::<C>(obs, out) {
            panic!("MinAtarSameInput<{C}>: {e}");
        }
    }
}

impl<const C: usize> InputEncoding<u8> for MinAtarInput<C> {
    const RECEPTIVE_FIELD: usize = 9;

    /// # Panics
    /// If `obs` is not one `C × 10 × 10` state or `out` not its patches: a wiring bug.
    fn encode(obs: &[u8], out: &mut [f32]) {
        if let Err(e) = encode_minatar::<C>(obs, out) {
            panic!("MinAtarInput<{C}>: {e}");
        }
    }
}

/// A network kind: layers `L`, input encoding `In`, `ATOMS` outputs per action.
pub struct Net<L, In, const ATOMS: usize>(PhantomData<(L, In)>);

impl<L, In, const ATOMS: usize, D, E> BuildOnDevice<D, E> for Net<L, In, ATOMS>
where
    E: Dtype,
    D: Device<E>,
    L: BuildOnDevice<D, E>,
{
    type Built = L::Built;

    fn try_build_on_device(device: &D) -> Result<Self::Built, D::Err> {
        L::try_build_on_device(device)
    }
}

impl<L, In, E, const ATOMS: usize, const IN: usize, const OUT: usize> QNetKind<E, IN, OUT>
    for Net<L, In, ATOMS>
where
    In: InputEncoding<E>,
{
    const ATOMS: usize = ATOMS;
    const RECEPTIVE_FIELD: usize = In::RECEPTIVE_FIELD;

    fn encode(obs: &[E], out: &mut [f32]) {
        In::encode(obs, out);
    }
}

/// C51's atoms, as compiled (`agent.atoms`).
pub const ATOMS: usize = 51;

#[cfg(test)]
mod tests {
    use super::*;
    use dfdx::prelude::*;
    use dqn_nn::QFunction;

    type C51Dueling = DuelingMlpLayers<NoisyFc, 4, 2, ATOMS, 102>;

    fn is_q_function<M: QFunction<4, 102>>(_: &M) {}

    #[test]
    fn noisy_dueling_c51_mlp_builds_and_answers_logits_per_action_and_atom() {
        let dev: Cpu = Cpu::seed_from_u64(0);
        let mut net = dev.build_module::<C51Dueling, f32>();
        is_q_function(&net);
        let x: Batch<4> =
            dev.tensor_from_vec(vec![0.1, -0.2, 0.3, 0.05, 1.0, 0.0, -1.0, 0.5], (2, Const));
        let mean = net.forward(x.clone()).as_vec();
        assert_eq!(mean.len(), 2 * 102);
        let mut rng = rand::rngs::mock::StepRng::new(1 << 60, 1 << 58);
        resample_noise(&mut net, &mut rng).unwrap();
        let noisy = net.forward(x.clone()).as_vec();
        assert_ne!(mean, noisy, "the noise changes the output");
        clear_noise(&mut net).unwrap();
        assert_eq!(
            mean,
            net.forward(x).as_vec(),
            "cleared noise: the mean weights again"
        );
    }
}
