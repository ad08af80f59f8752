//! The ceiling rows of `sweep bench`: for each network the issue sets a speed target on, the
//! least time one update's matrix products take on our kernel ([`UpdateProducts::floor_us`])
//! plus the optimizer step alone ([`step_floor_us`]), and the updates per second that leaves
//! before anything else an update does (replay, encoding, bias, activations, loss, tape,
//! copies, acting's environment step).

use super::Measurement;
use crate::agent::optimizer_rule;
use crate::config::{AgentConfig, OptimizerKind};
use crate::nn::floor::{LayerShape, UpdateProducts};
use crate::nn::optim::step_floor_us;

/// One network's update as the ceiling rows see it.
struct Case {
    name: &'static str,
    layers: &'static [LayerShape],
    /// Forwards without a tape per update (target; and online on the next states for Double).
    forwards: usize,
    optimizer: AgentConfig,
    /// Relative work, to scale the rounds (the MinAtar update is ~10× the MLP's).
    weight: f64,
}

const MLP: &[LayerShape] = &[
    LayerShape::dense(4, 128),
    LayerShape::dense(128, 128),
    LayerShape::dense(128, 2),
];
const DUELING_MLP: &[LayerShape] = &[
    LayerShape::dense(4, 128),
    LayerShape::dense(128, 128),
    LayerShape::dense(128, 1),
    LayerShape::dense(128, 128),
    LayerShape::dense(128, 2),
];
/// The first conv on host-cut patches is a 36 → 16 product over 64 positions per sample.
const MINATAR: &[LayerShape] = &[
    LayerShape {
        inputs: 36,
        outputs: 16,
        rows_per_sample: 64,
    },
    LayerShape::dense(1024, 128),
    LayerShape::dense(128, 6),
];

/// The MinAtar CNN with a C51 head: 51 logits per action.
const MINATAR_C51: &[LayerShape] = &[
    MINATAR[0],
    LayerShape::dense(1024, 128),
    LayerShape::dense(128, 6 * 51),
];
/// Revisiting Rainbow's MinAtar network: SAME conv (100 positions), 1600 features to the head.
const REVISITING: &[LayerShape] = &[
    LayerShape {
        inputs: 36,
        outputs: 16,
        rows_per_sample: 100,
    },
    LayerShape::dense(1600, 6),
];
/// [`REVISITING`] with a C51 head.
const REVISITING_C51: &[LayerShape] = &[REVISITING[0], LayerShape::dense(1600, 6 * 51)];

fn cases(minatar_optimizer: AgentConfig) -> [Case; 6] {
    [
        Case {
            name: "chapter DQN, MLP 4-128-128-2, Adam",
            layers: MLP,
            forwards: 1,
            optimizer: AgentConfig::default(),
            weight: 1.0,
        },
        Case {
            name: "Double+PER+Dueling, dueling MLP, Adam",
            layers: DUELING_MLP,
            forwards: 2,
            optimizer: AgentConfig::default(),
            weight: 2.0,
        },
        Case {
            name: "MinAtar CNN, 4 channels, 6 actions, RMSprop as in its update row",
            layers: MINATAR,
            forwards: 1,
            optimizer: minatar_optimizer.clone(),
            weight: 10.0,
        },
        Case {
            name: "C51 on the MinAtar CNN, 6 × 51 logits, RMSprop",
            layers: MINATAR_C51,
            forwards: 1,
            optimizer: minatar_optimizer.clone(),
            weight: 12.0,
        },
        Case {
            name: "Revisiting Rainbow's MinAtar CNN (SAME conv, 1600 → 6), RMSprop",
            layers: REVISITING,
            forwards: 1,
            optimizer: minatar_optimizer.clone(),
            weight: 10.0,
        },
        Case {
            name: "C51 on Revisiting Rainbow's MinAtar CNN (1600 → 6 × 51), RMSprop",
            layers: REVISITING_C51,
            forwards: 1,
            optimizer: minatar_optimizer,
            weight: 40.0,
        },
    ]
}

/// Three rows per case: the products' floor, the optimizer step's floor (µs per update), and
/// the ceiling they leave (updates/s). Nothing without AVX2/FMA.
pub(super) fn ceilings(scale: f64, minatar_optimizer: AgentConfig) -> Vec<Measurement> {
    assert!(matches!(
        minatar_optimizer.optimizer,
        OptimizerKind::Rmsprop
    ));
    let mut out = Vec::new();
    for case in cases(minatar_optimizer) {
        let iters = ((2_000.0 * scale / case.weight).max(1.0)) as usize;
        let update = UpdateProducts {
            layers: case.layers,
            batch: case.optimizer.batch_size,
            forwards: case.forwards,
        };
        let Some(products) = update.floor_us(iters, 3) else {
            return Vec::new();
        };
        let params: usize = case.layers.iter().map(LayerShape::parameters).sum();
        let rule = optimizer_rule(&case.optimizer);
        let step = step_floor_us(&rule, params, iters, 3);
        let row = |what: String, value, unit| Measurement { what, value, unit };
        out.push(row(
            format!(
                "update floor ({}): its {:.2} M FMAs by our kernel alone, no tape",
                case.name,
                update.fmas() as f64 / 1e6
            ),
            products,
            "µs",
        ));
        out.push(row(
            format!(
                "update floor ({}): the optimizer step over {params} parameters alone",
                case.name
            ),
            step,
            "µs",
        ));
        out.push(row(
            format!(
                "ceiling ({}): 1 / (products + optimizer step), before all else",
                case.name
            ),
            1e6 / (products + step),
            "updates/s",
        ));
    }
    out
}
