//! Where a run's randomness comes from: the run seed (SHA-256 of its config's seed key), the
//! paired or independent seeds of its streams and weights, and one ChaCha8 stream per use.

use crate::config::{RandomStreams, RunConfig};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use sha2::{Digest, Sha256};

/// The 32-byte seed of a run: SHA-256 of [`RunConfig::seed_key`].
pub fn run_seed(cfg: &RunConfig) -> [u8; 32] {
    Sha256::digest(cfg.seed_key().as_bytes()).into()
}

/// The seeds a run's streams come from. With [`RandomStreams::Paired`] (common random
/// numbers) the environment, exploration and replay streams depend on the environment and
/// seed only, and the initial weights on those plus what fixes the network (its shape: dueling
/// or not; its init scheme), so at one seed every variant meets the same episodes' starts and
/// the same random choices, and variants of one network shape start from the same weights.
/// With [`RandomStreams::Independent`] both are [`run_seed`].
#[derive(Clone, Copy)]
pub(super) struct RunSeeds {
    /// Env seeds, resets, ε-greedy, replay sampling, evaluation, Q rollouts.
    pub(super) streams: [u8; 32],
    /// Initial weights (both dfdx's device RNG and the DeZero init stream).
    pub(super) weights: [u8; 32],
}

impl RunSeeds {
    pub(super) fn of(cfg: &RunConfig) -> RunSeeds {
        match cfg.train.random_streams {
            RandomStreams::Independent => RunSeeds {
                streams: run_seed(cfg),
                weights: run_seed(cfg),
            },
            RandomStreams::Paired => {
                let env = cfg.seed_key_env();
                let a = &cfg.agent;
                let streams = (&env, cfg.seed, "paired-streams");
                let weights = (&env, cfg.seed, a.variant.dueling, a.init, "paired-weights");
                RunSeeds {
                    streams: sha256_json(&streams),
                    weights: sha256_json(&weights),
                }
            }
        }
    }
}

fn sha256_json(value: &impl serde::Serialize) -> [u8; 32] {
    Sha256::digest(serde_json::to_vec(value).expect("serialises")).into()
}

/// The seed of the held-out probe states: from the environment and seed only, so every
/// variant at the same seed tracks its max-Q on the same states.
pub(super) fn probe_seed(cfg: &RunConfig) -> [u8; 32] {
    sha256_json(&(&cfg.env, cfg.seed, "probe-states"))
}

/// Independent random streams of one run.
#[derive(Clone, Copy)]
pub(super) enum Stream {
    EnvReset = 1,
    Policy = 2,
    Replay = 3,
    EvalReset = 4,
    Probe = 5,
    QRollout = 6,
    WeightInit = 7,
    /// Seeds of environments that own their RNG (MinAtar), one stream per env instance.
    TrainEnvSeed = 8,
    EvalEnvSeed = 9,
    ProbeEnvSeed = 10,
    QRolloutEnvSeed = 11,
    PeriodicEval = 12,
    PeriodicEvalEnvSeed = 13,
}

pub(super) fn stream(seed: [u8; 32], s: Stream) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::from_seed(seed);
    rng.set_stream(s as u64);
    rng
}
