//! Rainbow-component rows of `sweep bench`: one update of the C51, noisy and Rainbow networks
//! (MLP and MinAtar CNN, and Revisiting Rainbow's MinAtar network), beside the plain rows
//! they compare with (`updates`, `pixels`), so C51's cost over a plain update reads directly.

use super::*;
use crate::agent::networks::components::{
    DuelingMlpLayers, MinAtarDuelingLayers, MinAtarInput, MinAtarLayers, MinAtarSameInput,
    MlpLayers, Net, NoisyFc, PlainFc, RevisitingDuelingLayers, RevisitingLayers, VectorInput,
};
use crate::config::{MinAtarNet, WeightInit};

type C51Mlp = Net<MlpLayers<PlainFc, 4, 102>, VectorInput, 51>;
type NoisyMlp = Net<MlpLayers<NoisyFc, 4, 2>, VectorInput, 1>;
type RainbowMlp = Net<DuelingMlpLayers<NoisyFc, 4, 2, 51, 102>, VectorInput, 51>;
type C51MinAtar = Net<MinAtarLayers<PlainFc, 36, 2304, 306>, MinAtarInput<4>, 51>;
type NoisyMinAtar = Net<MinAtarLayers<NoisyFc, 36, 2304, 6>, MinAtarInput<4>, 1>;
type RainbowMinAtar = Net<MinAtarDuelingLayers<NoisyFc, 36, 2304, 6, 51, 306>, MinAtarInput<4>, 51>;
type RevisitingDqn = Net<RevisitingLayers<PlainFc, 36, 3600, 6>, MinAtarSameInput<4>, 1>;
type RevisitingC51 = Net<RevisitingLayers<PlainFc, 36, 3600, 306>, MinAtarSameInput<4>, 51>;
type RevisitingRainbow =
    Net<RevisitingDuelingLayers<NoisyFc, 36, 3600, 6, 51, 306>, MinAtarSameInput<4>, 51>;

/// `base` with the variant's components switched on (and `nstep` resolved to n = 3).
fn with_variant(base: AgentConfig, variant: &str) -> AgentConfig {
    let mut cfg = AgentConfig {
        variant: variant.parse().expect("valid variant"),
        ..base
    };
    cfg.resolve(false).expect("no contradiction");
    cfg
}

/// The component update rows: the chapter's MLP with Adam, the MinAtar CNN with the pixel
/// rows' RMSprop, and Revisiting Rainbow's network (Xavier init) likewise.
pub(super) fn component_updates(scale: f64) -> Vec<Measurement> {
    let n = |base: f64| ((base * scale).max(1.0)) as usize;
    let float = |rng: &mut ChaCha8Rng| rng.gen::<f32>();
    let bit = |rng: &mut ChaCha8Rng| u8::from(rng.gen::<f32>() < 0.1);
    let mlp = |v| with_variant(AgentConfig::default(), v);
    let pixel = |v| with_variant(pixel_agent("dqn"), v);
    let revisiting = |v| AgentConfig {
        minatar_net: MinAtarNet::RevisitingRainbow,
        init: WeightInit::Xavier,
        ..with_variant(pixel_agent("dqn"), v)
    };
    vec![
        updates::<C51Mlp, f32, 4, 102>("MLP", mlp("c51"), 4, float, n(5_000.0)),
        updates::<NoisyMlp, f32, 4, 2>("MLP", mlp("noisy"), 4, float, n(5_000.0)),
        updates::<RainbowMlp, f32, 4, 102>("MLP", mlp("rainbow"), 4, float, n(2_000.0)),
        updates::<C51MinAtar, u8, 2304, 306>(
            "MinAtar CNN, 4 channels",
            pixel("c51"),
            400,
            bit,
            n(1_000.0),
        ),
        updates::<NoisyMinAtar, u8, 2304, 6>(
            "MinAtar CNN, 4 channels",
            pixel("noisy"),
            400,
            bit,
            n(1_000.0),
        ),
        updates::<RainbowMinAtar, u8, 2304, 306>(
            "MinAtar CNN, 4 channels",
            pixel("rainbow"),
            400,
            bit,
            n(500.0),
        ),
        updates::<RevisitingDqn, u8, 3600, 6>(
            "Revisiting Rainbow's MinAtar CNN, 4 channels",
            revisiting("dqn"),
            400,
            bit,
            n(1_000.0),
        ),
        updates::<RevisitingC51, u8, 3600, 306>(
            "Revisiting Rainbow's MinAtar CNN, 4 channels",
            revisiting("c51"),
            400,
            bit,
            n(500.0),
        ),
        updates::<RevisitingRainbow, u8, 3600, 306>(
            "Revisiting Rainbow's MinAtar CNN, 4 channels",
            revisiting("rainbow"),
            400,
            bit,
            n(300.0),
        ),
    ]
}
