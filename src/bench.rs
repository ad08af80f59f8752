//! `sweep bench`: throughput of the pieces a sweep spends its time in, measured on this
//! machine — raw CartPole steps, replay sampling, one agent update per variant, and whole
//! training runs per variant. Figures, not assertions: speed is never checked by unit tests.

use crate::agent::frames::FrameReplay;
use crate::agent::network::{DuelingQNet, QNetKind, QNetMlp};
use crate::agent::prioritized::PerConfig;
use crate::agent::DqnAgent;
use crate::config::{AgentConfig, EnvConfig, RunConfig, TrainConfig, Variant};
use crate::env::{CartPole, CartPoleVersion, ObsElem};
use dfdx::prelude::Cpu;
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

/// A replay buffer of 10,000 random CartPole-sized transitions in episodes of 100 steps.
fn filled_replay(per: Option<PerConfig>, rng: &mut ChaCha8Rng) -> FrameReplay<f32> {
    let mut buffer = FrameReplay::new(10_000, 4, 1, per);
    fill(&mut buffer, 10_000, 4, |rng| rng.gen(), rng);
    buffer
}

/// Push `n` transitions of random observations (`frame` values each, stack of one frame).
fn fill<E: ObsElem>(
    buffer: &mut FrameReplay<E>,
    n: usize,
    frame: usize,
    value: impl Fn(&mut ChaCha8Rng) -> E,
    rng: &mut ChaCha8Rng,
) {
    let obs = |rng: &mut ChaCha8Rng| (0..frame).map(|_| value(rng)).collect::<Vec<E>>();
    for i in 0..n {
        if i % 100 == 0 {
            buffer.begin_episode(&obs(rng));
        }
        let next = obs(rng);
        buffer.push(rng.gen_range(0..2), 1.0, &next, i % 100 == 99, false);
    }
}

fn uniform_sampling(count: usize) -> Measurement {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let buffer = filled_replay(None, &mut rng);
    timed(
        "uniform replay: sample 32 of 10000".into(),
        "batches/s",
        count,
        || {
            for _ in 0..count {
                std::hint::black_box(buffer.sample(32, 0.0, &mut rng));
            }
        },
    )
}

fn per_sampling(count: usize) -> Measurement {
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    let mut buffer = filled_replay(Some(PerConfig::default()), &mut rng);
    timed(
        "prioritized replay: sample 32 + update 32 priorities".into(),
        "batches/s",
        count,
        || {
            for _ in 0..count {
                let b = buffer.sample(32, 0.4, &mut rng);
                let slots = b.slots.expect("prioritized replay returns slots");
                let td: Vec<f64> = slots.iter().map(|_| rng.gen::<f64>() * 2.0 - 1.0).collect();
                buffer
                    .update_priorities(&slots, &td)
                    .expect("finite TD errors");
            }
        },
    )
}

/// Gradient updates per second of network kind `N` on random observations of `frame` values.
fn updates<N, E, const IN: usize, const ACT: usize>(
    what: &str,
    agent_cfg: AgentConfig,
    frame: usize,
    value: impl Fn(&mut ChaCha8Rng) -> E,
    count: usize,
) -> Measurement
where
    N: QNetKind<E, IN, ACT>,
    E: ObsElem,
{
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let mut agent: DqnAgent<N, E, IN, ACT> =
        DqnAgent::new(Cpu::seed_from_u64(3), &agent_cfg, &mut rng, frame, 1);
    let obs = |rng: &mut ChaCha8Rng| (0..frame).map(|_| value(rng)).collect::<Vec<E>>();
    agent.begin_episode(&obs(&mut rng));
    for _ in 0..1_000 {
        let next = obs(&mut rng);
        agent.remember(rng.gen_range(0..ACT), 1.0, &next, false, false);
    }
    timed(
        format!(
            "agent.update, batch {} ({what}, {})",
            agent_cfg.batch_size, agent_cfg.variant
        ),
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
            episodes: Some(episodes),
            eval_episodes: 0,
            ..TrainConfig::default()
        },
        seed: 0,
    };
    let outcome = crate::train::train(&cfg, &|_| {}).expect("benchmark run trains");
    Measurement {
        what: format!("training run, {episodes} episodes of CartPole-v0 ({variant}), one thread"),
        per_second: outcome.env_steps as f64 / outcome.wall_s,
        unit: "env steps/s",
    }
}
