//! The networks: MinAtar and Nature CNNs, plain and dueling, and one alias per channel count.

use super::QNetKind;
use dfdx::nn::builders::SplitInto;
use dfdx::nn::BuildOnDevice;
use dfdx::shapes::Dtype;
use dfdx::tensor_ops::Device;
use dqn_nn::*;

/// MinAtar conv filters.
pub const MINATAR_FILTERS: usize = 16;
/// MinAtar flattened conv features (8 · 8 · 16).
pub const MINATAR_FLAT: usize = MINATAR_POSITIONS * MINATAR_FILTERS;
/// MinAtar hidden width.
pub const MINATAR_HIDDEN: usize = 128;

/// Nature flattened conv-3 features (7 · 7 · 64).
pub const NATURE_FLAT: usize = 3136;
/// Nature hidden width.
pub const NATURE_HIDDEN: usize = 512;

pub(crate) type MinAtarLayers<const PATCH: usize, const IN: usize, const ACT: usize> = (
    PatchConvRelu<IN, PATCH, MINATAR_FILTERS>,
    RowsToBatch<MINATAR_FLAT>,
    DenseRelu<MINATAR_FLAT, MINATAR_HIDDEN>,
    DenseLinear<MINATAR_HIDDEN, ACT>,
);

pub(crate) type MinAtarDuelingLayers<const PATCH: usize, const IN: usize, const ACT: usize> = (
    PatchConvRelu<IN, PATCH, MINATAR_FILTERS>,
    RowsToBatch<MINATAR_FLAT>,
    SplitInto<(
        (
            DenseRelu<MINATAR_FLAT, MINATAR_HIDDEN>,
            DenseLinear<MINATAR_HIDDEN, 1>,
        ),
        (
            DenseRelu<MINATAR_FLAT, MINATAR_HIDDEN>,
            DenseLinear<MINATAR_HIDDEN, ACT>,
        ),
    )>,
    DuelingHead<ACT>,
);

pub(crate) type NatureTrunk<const PATCH: usize, const IN: usize> = (
    PatchConvRelu<IN, PATCH, 32>,
    GatherConvRelu<20, 32, 4, 2, 64, 512>,
    GatherConvRelu<9, 64, 3, 1, 64, 576>,
    RowsToBatch<NATURE_FLAT>,
);

pub(crate) type NatureLayers<const PATCH: usize, const IN: usize, const ACT: usize> = (
    NatureTrunk<PATCH, IN>,
    DenseRelu<NATURE_FLAT, NATURE_HIDDEN>,
    DenseLinear<NATURE_HIDDEN, ACT>,
);

pub(crate) type NatureDuelingLayers<const PATCH: usize, const IN: usize, const ACT: usize> = (
    NatureTrunk<PATCH, IN>,
    SplitInto<(
        (
            DenseRelu<NATURE_FLAT, NATURE_HIDDEN>,
            DenseLinear<NATURE_HIDDEN, 1>,
        ),
        (
            DenseRelu<NATURE_FLAT, NATURE_HIDDEN>,
            DenseLinear<NATURE_HIDDEN, ACT>,
        ),
    )>,
    DuelingHead<ACT>,
);

/// Declares a network builder type: its `BuildOnDevice` (delegating to a tuple of layers, after
/// the compile-time shape check) and its `EncodeObs`.
macro_rules! conv_net {
    (
        $(#[$doc:meta])*
        $name:ident, $layers:ident, $encode:ident, $side:expr, $patch_per_c:expr, $positions:expr
    ) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, Default)]
        pub struct $name<const C: usize, const PATCH: usize, const IN: usize, const ACT: usize>;

        impl<const C: usize, const PATCH: usize, const IN: usize, const ACT: usize>
            $name<C, PATCH, IN, ACT>
        {
            const SHAPES_OK: () = assert!(
                C > 0 && PATCH == $patch_per_c * C && IN == $positions * PATCH,
                "shape parameters must satisfy PATCH = K·K·C and IN = positions · PATCH"
            );
        }

        impl<const C: usize, const PATCH: usize, const IN: usize, const ACT: usize, E, D>
            BuildOnDevice<D, E> for $name<C, PATCH, IN, ACT>
        where
            E: Dtype,
            D: Device<E>,
            $layers<PATCH, IN, ACT>: BuildOnDevice<D, E>,
        {
            type Built = <$layers<PATCH, IN, ACT> as BuildOnDevice<D, E>>::Built;

            fn try_build_on_device(device: &D) -> Result<Self::Built, D::Err> {
                let () = Self::SHAPES_OK;
                <$layers<PATCH, IN, ACT> as BuildOnDevice<D, E>>::try_build_on_device(device)
            }
        }

        impl<const C: usize, const PATCH: usize, const IN: usize, const ACT: usize> EncodeObs
            for $name<C, PATCH, IN, ACT>
        {
            const OBS_LEN: usize = C * $side * $side;
            const IN: usize = IN;

            fn try_encode(obs: &[u8], out: &mut [f32]) -> Result<(), EncodeError> {
                let () = Self::SHAPES_OK;
                $encode::<C>(obs, out)
            }
        }

        impl<const C: usize, const PATCH: usize, const IN: usize, const ACT: usize>
            QNetKind<u8, IN, ACT> for $name<C, PATCH, IN, ACT>
        {
            const RECEPTIVE_FIELD: usize = $patch_per_c;

            /// [`EncodeObs::try_encode`] for the agent.
            ///
            /// # Panics
            /// If `obs` is not one `C × side × side` observation or `out` not `IN` values. The
            /// agent sizes both from this type and the env it was chosen for, so a mismatch is a
            /// wiring bug; call [`EncodeObs::try_encode`] to get it as an error instead.
            fn encode(obs: &[u8], out: &mut [f32]) {
                if let Err(e) = Self::try_encode(obs, out) {
                    panic!("{}: {e}", stringify!($name));
                }
            }
        }
    };
}

conv_net!(
    /// The MinAtar network (Young & Tian 2019, `dqn.py`): conv 16 × 3×3 stride 1 (valid) on
    /// `10×10×C` → `8×8×16`, ReLU → flatten 1024 → Linear 128 → ReLU → Linear `ACT`.
    /// Input: [`encode_minatar`]'s patches, `PATCH = 9·C`, `IN = 64·PATCH`.
    MinAtarQNet, MinAtarLayers, encode_minatar, MINATAR_SIDE, 9, MINATAR_POSITIONS
);
conv_net!(
    /// The MinAtar trunk with a dueling head: value stream Linear(1024→128)+ReLU→Linear(1),
    /// advantage stream Linear(1024→128)+ReLU→Linear(`ACT`), joined by [`DuelingHead`].
    ///
    /// Revisiting Rainbow (Obando-Ceron & Castro 2021; its public `networks_new.py` and MinAtar
    /// gin files) differs: its conv uses flax's default SAME padding (10×10×16 = 1600 features),
    /// `hidden_layer = 0` so both heads are single Linear layers on the conv features, and
    /// weights start Xavier-uniform. This variant keeps the MinAtar paper's 128-unit hidden layer
    /// in each stream, as the Wang et al. dueling net does for Atari.
    MinAtarDuelingQNet, MinAtarDuelingLayers, encode_minatar, MINATAR_SIDE, 9, MINATAR_POSITIONS
);
conv_net!(
    /// The Nature DQN network (Mnih et al. 2015): on `84×84×C`, conv 32 × 8×8 stride 4 → ReLU →
    /// conv 64 × 4×4 stride 2 → ReLU → conv 64 × 3×3 stride 1 → ReLU → flatten 3136 →
    /// Linear 512 → ReLU → Linear `ACT`. Input: [`encode_nature`]'s patches, `PATCH = 64·C`,
    /// `IN = 400·PATCH`.
    NatureQNet, NatureLayers, encode_nature, NATURE_SIDE, 64, NATURE_POSITIONS
);
conv_net!(
    /// The Nature trunk with Wang et al. 2016's dueling head: value stream
    /// Linear(3136→512)+ReLU→Linear(1), advantage stream Linear(3136→512)+ReLU→Linear(`ACT`).
    NatureDuelingQNet, NatureDuelingLayers, encode_nature, NATURE_SIDE, 64, NATURE_POSITIONS
);

/// MinAtar net for 4-channel games (breakout, asterix).
pub type MinAtarQNetC4<const ACT: usize> = MinAtarQNet<4, 36, 2304, ACT>;
/// MinAtar net for 6-channel games (space_invaders).
pub type MinAtarQNetC6<const ACT: usize> = MinAtarQNet<6, 54, 3456, ACT>;
/// MinAtar net for 7-channel games (freeway).
pub type MinAtarQNetC7<const ACT: usize> = MinAtarQNet<7, 63, 4032, ACT>;
/// MinAtar net for 10-channel games (seaquest).
pub type MinAtarQNetC10<const ACT: usize> = MinAtarQNet<10, 90, 5760, ACT>;
/// Dueling MinAtar net, 4 channels.
pub type MinAtarDuelingQNetC4<const ACT: usize> = MinAtarDuelingQNet<4, 36, 2304, ACT>;
/// Dueling MinAtar net, 6 channels.
pub type MinAtarDuelingQNetC6<const ACT: usize> = MinAtarDuelingQNet<6, 54, 3456, ACT>;
/// Dueling MinAtar net, 7 channels.
pub type MinAtarDuelingQNetC7<const ACT: usize> = MinAtarDuelingQNet<7, 63, 4032, ACT>;
/// Dueling MinAtar net, 10 channels.
pub type MinAtarDuelingQNetC10<const ACT: usize> = MinAtarDuelingQNet<10, 90, 5760, ACT>;
/// Nature CNN on single frames.
pub type NatureQNetC1<const ACT: usize> = NatureQNet<1, 64, 25600, ACT>;
/// Nature CNN on 4 stacked frames.
pub type NatureQNetC4<const ACT: usize> = NatureQNet<4, 256, 102400, ACT>;
/// Dueling Nature CNN on single frames.
pub type NatureDuelingQNetC1<const ACT: usize> = NatureDuelingQNet<1, 64, 25600, ACT>;
/// Dueling Nature CNN on 4 stacked frames.
pub type NatureDuelingQNetC4<const ACT: usize> = NatureDuelingQNet<4, 256, 102400, ACT>;
