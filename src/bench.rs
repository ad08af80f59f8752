//! `sweep bench`: throughput of the pieces a sweep spends its time in, measured on this
//! machine — raw CartPole steps, replay sampling, one agent update per variant, and whole
//! training runs per variant. Figures, not assertions: speed is never checked by unit tests.

use crate::agent::network::{DuelingQNet, QFunction, QNetMlp};
use crate::agent::prioritized::{PerConfig, PrioritizedReplay};
use crate::agent::replay::{ReplayBuffer, Transition};
use crate::agent::DqnAgent;
use crate::config::{AgentConfig, EnvConfig, RunConfig, TrainConfig, Variant};
use crate::env::{CartPole, CartPoleVersion, Env};
use dfdx::prelude::{BuildOnDevice, Cpu};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::time::Instant;

/// One measured figure.
#[derive(Debug, Clone)]
pub struct Measurement {
    pub what: String,
    pub per_second: f64,
    pub unit: &'static str,
}

/// Run every benchmark; `scale` multiplies the work (1.0 ≈ 20 s on a 2-core machine).
pub fn run_benchmarks(scale: f64) -> Vec<Measurement> {
    let n = |base: f64| ((base * scale).max(1.0)) as usize;
    let mut out = vec![
        env_steps(n(2_000_000.0)),
        uniform_sampling(n(200_000.0)),
        per_sampling(n(100_000.0)),
    ];
    for variant in ["dqn", "double", "per", "dueling", "double+per+dueling"] {
        let v: Variant = variant.parse().expect("valid variant");
        out.push(if v.dueling {
            updates::<DuelingQNet<4, 2>>(v, n(5_000.0))
        } else {
            updates::<QNetMlp<4, 2>>(v, n(5_000.0))
        });
    }
    for variant in ["dqn", "double+per+dueling"] {
        out.push(training(
            variant.parse().expect("valid variant"),
            n(60.0) as u32,
        ));
    }
    out
}

fn timed(what: String, unit: &'static str, count: usize, f: impl FnOnce()) -> Measurement {
    let start = Instant::now();
    f();
    Measurement {
        what,
        per_second: count as f64 / start.elapsed().as_secs_f64(),
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

fn transition(rng: &mut ChaCha8Rng) -> Transition<4> {
    Transition {
        state: [(); 4].map(|_| rng.gen()),
        action: rng.gen_range(0..2),
        reward: 1.0,
        next_state: [(); 4].map(|_| rng.gen()),
        terminated: false,
        truncated: false,
    }
}

fn uniform_sampling(count: usize) -> Measurement {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let mut buffer = ReplayBuffer::new(10_000);
    for _ in 0..10_000 {
        buffer.push(transition(&mut rng));
    }
    timed(
        "uniform replay: sample 32 of 10000".into(),
        "batches/s",
        count,
        || {
            for _ in 0..count {
                std::hint::black_box(buffer.sample(32, &mut rng));
            }
        },
    )
}

fn per_sampling(count: usize) -> Measurement {
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    let mut buffer = PrioritizedReplay::new(10_000, PerConfig::default());
    for _ in 0..10_000 {
        buffer.push(transition(&mut rng));
    }
    timed(
        "prioritized replay: sample 32 + update 32 priorities".into(),
        "batches/s",
        count,
        || {
            for _ in 0..count {
                let b = buffer.sample(32, 0.4, &mut rng);
                let td: Vec<f64> = b
                    .indices
                    .iter()
                    .map(|_| rng.gen::<f64>() * 2.0 - 1.0)
                    .collect();
                buffer
                    .update_priorities(&b.indices, &td)
                    .expect("finite TD errors");
            }
        },
    )
}

fn updates<B>(variant: Variant, count: usize) -> Measurement
where
    B: BuildOnDevice<Cpu, f32>,
    B::Built: QFunction<4, 2>,
{
    let cfg = AgentConfig {
        variant,
        ..AgentConfig::default()
    };
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let mut agent: DqnAgent<B::Built, 4, 2> =
        DqnAgent::new::<B>(Cpu::seed_from_u64(3), &cfg, &mut rng);
    for _ in 0..1_000 {
        agent.remember(transition(&mut rng));
    }
    timed(
        format!("agent.update, batch 32 ({variant})"),
        "updates/s",
        count,
        || {
            for i in 0..count {
                agent
                    .update(i as f64 / count as f64, &mut rng)
                    .expect("finite loss on random data");
            }
        },
    )
}

fn training(variant: Variant, episodes: u32) -> Measurement {
    let cfg = RunConfig {
        env: EnvConfig::default(),
        agent: AgentConfig {
            variant,
            ..AgentConfig::default()
        },
        train: TrainConfig {
            episodes,
            eval_episodes: 0,
            ..TrainConfig::default()
        },
        seed: 0,
    };
    let outcome = crate::train::train(&cfg, &|| {}).expect("benchmark run trains");
    Measurement {
        what: format!("training run, {episodes} episodes of CartPole-v0 ({variant}), one thread"),
        per_second: outcome.env_steps as f64 / outcome.wall_s,
        unit: "env steps/s",
    }
}
