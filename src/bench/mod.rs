//! `sweep bench`: throughput and memory of the pieces a sweep spends its time in, measured on this
//! machine — raw CartPole and MinAtar steps, replay sampling and memory, one agent update per
//! variant and network (MLP, MinAtar CNN, Nature CNN; the Rainbow components' networks in
//! [`components`]), and whole
//! training runs per variant; and the ceiling each update's arithmetic sets ([`ceiling`]).
//! Figures, not assertions: speed is never checked by unit tests.

mod ceiling;
mod checkpoint;
mod components;
mod kernels;
mod pixels;
mod replay;
mod updates;

use kernels::{products, stacked_matmul};
#[cfg(feature = "atari")]
use pixels::atari;
use pixels::{pixel_agent, pixels};
use replay::{per_sampling, uniform_sampling};
#[cfg(feature = "cuda")]
use updates::gpu;
use updates::updates;

use crate::agent::networks::cnn::{MinAtarDuelingQNet, MinAtarQNet, NatureQNet};
use crate::agent::networks::{DuelingQNet, QNetMlp, QNetOn};
use crate::agent::replay::frames::{planned_bytes, FrameReplay};
use crate::agent::replay::PerConfig;
use crate::agent::DqnAgent;
use crate::config::{AgentConfig, EnvConfig, OptimizerKind, RunConfig, TrainConfig, Variant};
use crate::env::{AnyEnv, CartPole, CartPoleVersion, EnvId, ObsElem};
use crate::nn::device::AgentDevice;
use dfdx::prelude::Cpu;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::time::Instant;

/// One measured figure.
#[derive(Debug, Clone)]
pub struct Measurement {
    pub what: String,
    /// Per second for throughputs; bytes or GB for memory figures.
    pub value: f64,
    pub unit: &'static str,
}

/// One benchmark's figures over repeated runs of the whole set.
#[derive(Debug, Clone)]
pub struct Repeated {
    pub what: String,
    pub unit: &'static str,
    /// One figure per run, in run order.
    pub values: Vec<f64>,
}

impl Repeated {
    pub fn median(&self) -> f64 {
        crate::stats::median(&self.values)
    }

    /// `(min, max)` of the figures.
    pub fn range(&self) -> (f64, f64) {
        let lo = self.values.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = self
            .values
            .iter()
            .copied()
            .fold(f64::NEG_INFINITY, f64::max);
        (lo, hi)
    }
}

/// [`run_benchmarks`] `repeat` times (at least once), figures gathered per benchmark: on a
/// shared or noisy machine one run's figure can be off by a quarter.
pub fn run_repeated(scale: f64, repeat: usize, checkpoints_only: bool) -> Vec<Repeated> {
    let mut rows: Vec<Repeated> = Vec::new();
    for _ in 0..repeat.max(1) {
        let figures = if checkpoints_only {
            checkpoint::checkpoint_rows(scale)
        } else {
            run_benchmarks(scale)
        };
        for (i, m) in figures.into_iter().enumerate() {
            match rows.get_mut(i) {
                Some(row) if row.what == m.what => row.values.push(m.value),
                _ => rows.insert(
                    i,
                    Repeated {
                        what: m.what,
                        unit: m.unit,
                        values: vec![m.value],
                    },
                ),
            }
        }
    }
    rows
}

/// Run every benchmark; `scale` multiplies the work (1.0 ≈ 20 s on a 2-core machine). Every
/// row measures one core ([`crate::train::one_core_per_run`]) except the thread-scaling row.
pub fn run_benchmarks(scale: f64) -> Vec<Measurement> {
    crate::train::one_core_per_run();
    let n = |base: f64| ((base * scale).max(1.0)) as usize;
    let mut out = vec![
        env_steps(n(2_000_000.0)),
        uniform_sampling(n(200_000.0)),
        per_sampling(n(100_000.0)),
    ];
    for variant in ["dqn", "double", "per", "dueling", "double+per+dueling"] {
        let v: Variant = variant.parse().expect("valid variant");
        let cfg = AgentConfig {
            variant: v,
            ..AgentConfig::default()
        };
        let value = |rng: &mut ChaCha8Rng| rng.gen::<f32>();
        out.push(if v.dueling {
            updates::<DuelingQNet<4, 2>, f32, 4, 2>("MLP", cfg, 4, value, n(5_000.0))
        } else {
            updates::<QNetMlp<4, 2>, f32, 4, 2>("MLP", cfg, 4, value, n(5_000.0))
        });
    }
    for variant in ["dqn", "double+per+dueling"] {
        out.push(training(
            variant.parse().expect("valid variant"),
            n(60.0) as u32,
        ));
    }
    out.extend(scaling(n(60.0) as u32, 8));
    out.push(stacked_matmul(n(2_000.0)));
    out.extend(products(n(20_000.0)));
    out.extend(ceiling::ceilings(scale, pixel_agent("dqn")));
    out.extend(pixels(scale));
    out.extend(components::component_updates(scale));
    out.extend(checkpoint::checkpoint_rows(scale));
    #[cfg(feature = "atari")]
    out.extend(atari(scale));
    #[cfg(feature = "cuda")]
    out.extend(gpu(scale));
    out
}

fn timed(what: String, unit: &'static str, count: usize, f: impl FnOnce()) -> Measurement {
    let start = Instant::now();
    f();
    Measurement {
        what,
        value: count as f64 / start.elapsed().as_secs_f64(),
        unit,
    }
}

fn env_steps(count: usize) -> Measurement {
    let mut env = CartPole::new(CartPoleVersion::V1);
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    timed(
        "CartPole-v1 env.step (random actions)".into(),
        "steps/s",
        count,
        || {
            env.reset(&mut rng);
            let mut checksum = 0.0f32;
            for _ in 0..count {
                let s = env.step(rng.gen_range(0..2));
                checksum += s.observation[0];
                if s.done() {
                    env.reset(&mut rng);
                }
            }
            std::hint::black_box(checksum);
        },
    )
}

/// How a sweep scales with threads: `runs` CartPole DQN runs (seeds 0..runs) trained on a
/// rayon pool of one thread, then on one thread per core, as `sweep -j` does; the figure is
/// the wall-time ratio. `None` on a one-core machine.
fn scaling(episodes: u32, runs: u64) -> Option<Measurement> {
    use rayon::prelude::*;
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    if threads < 2 {
        return None;
    }
    let configs: Vec<RunConfig> = (0..runs)
        .map(|seed| RunConfig {
            seed,
            ..training_config("dqn".parse().expect("valid variant"), episodes)
        })
        .collect();
    let wall = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("a thread pool");
        let start = Instant::now();
        pool.install(|| {
            configs.par_iter().for_each(|cfg| {
                crate::train::train(cfg, &|_| {}).expect("benchmark run trains");
            })
        });
        start.elapsed().as_secs_f64()
    };
    let one = wall(1);
    Some(Measurement {
        what: format!(
            "sweep of {runs} CartPole runs ({episodes} episodes, dqn): {threads} threads vs 1"
        ),
        value: one / wall(threads),
        unit: "× faster",
    })
}

/// A CartPole-v0 run with the chapter's settings, `episodes` long, seed 0, no evaluation.
fn training_config(variant: Variant, episodes: u32) -> RunConfig {
    RunConfig {
        env: EnvConfig::default(),
        agent: AgentConfig {
            variant,
            ..AgentConfig::default()
        },
        train: TrainConfig {
            episodes: Some(episodes),
            eval_episodes: 0,
            ..TrainConfig::default()
        },
        seed: 0,
    }
}

fn training(variant: Variant, episodes: u32) -> Measurement {
    let cfg = training_config(variant, episodes);
    let outcome = crate::train::train(&cfg, &|_| {}).expect("benchmark run trains");
    Measurement {
        what: format!("training run, {episodes} episodes of CartPole-v0 ({variant}), one thread"),
        value: outcome.env_steps as f64 / outcome.wall_s,
        unit: "env steps/s",
    }
}
