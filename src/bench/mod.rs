//! `sweep bench`: throughput and memory of the pieces a sweep spends its time in, measured on this
//! machine — raw CartPole and MinAtar steps, replay sampling and memory, one agent update per
//! variant and network (MLP, MinAtar CNN, Nature CNN), and whole
//! training runs per variant; and the ceiling each update's arithmetic sets ([`ceiling`]).
//! Figures, not assertions: speed is never checked by unit tests.

mod ceiling;

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
pub fn run_repeated(scale: f64, repeat: usize) -> Vec<Repeated> {
    let mut rows: Vec<Repeated> = Vec::new();
    for _ in 0..repeat.max(1) {
        for (i, m) in run_benchmarks(scale).into_iter().enumerate() {
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
    #[cfg(feature = "atari")]
    out.extend(atari(scale));
    #[cfg(feature = "cuda")]
    out.extend(gpu(scale));
    out
}

/// The update rows of the CPU table on the first CUDA GPU (the same agents, configs and
/// random data); nothing, with a note on stderr, when no GPU can be opened.
#[cfg(feature = "cuda")]
fn gpu(scale: f64) -> Vec<Measurement> {
    use dfdx::tensor::Cuda;
    let n = |base: f64| ((base * scale).max(1.0)) as usize;
    let float = |rng: &mut ChaCha8Rng| rng.gen::<f32>();
    let bit = |rng: &mut ChaCha8Rng| u8::from(rng.gen::<f32>() < 0.1);
    let pixel = |rng: &mut ChaCha8Rng| rng.gen::<u8>();
    let rows = [
        updates_on::<QNetMlp<4, 2>, f32, 4, 2, Cuda>(
            "MLP",
            AgentConfig::default(),
            4,
            float,
            n(2_000.0),
        ),
        updates_on::<MinAtarQNet<4, 36, 2304, 6>, u8, 2304, 6, Cuda>(
            "MinAtar CNN, 4 channels",
            pixel_agent("dqn"),
            400,
            bit,
            n(1_000.0),
        ),
        updates_on::<NatureQNet<4, 256, 102400, 6>, u8, 102400, 6, Cuda>(
            "Nature CNN, 84×84×4",
            pixel_agent("dqn"),
            4 * 84 * 84,
            pixel,
            n(300.0),
        ),
    ];
    rows.into_iter()
        .filter_map(|row| {
            row.map_err(|e| eprintln!("sweep bench: no GPU rows: {e}"))
                .ok()
        })
        .collect()
}

/// ALE Pong: raw emulator frames, the preprocessed env (sticky actions, no-ops, skip 4 with
/// max, 84×84 resize, stack 4), and the frame replay's bytes per transition on real frames.
#[cfg(feature = "atari")]
fn atari(scale: f64) -> Vec<Measurement> {
    use crate::env::atari::{ale::AleEnv, AtariGame, AtariOptions};
    use crate::env::wrappers::FrameStack;
    use crate::env::Env;
    let n = |base: f64| ((base * scale).max(1.0)) as usize;
    let pong = AtariGame::from_name("Pong").expect("bundled");
    let opts = AtariOptions::default();
    let raw: Box<dyn Env<Elem = u8>> = Box::new(AleEnv::new(pong, &opts, 0).expect("Pong loads"));
    let stacked = Box::new(FrameStack::new(
        crate::env::atari::make(pong, &opts, 0).expect("Pong loads"),
        4,
    ));
    vec![
        pixel_steps(
            "ALE/Pong raw emulator frames (210×160 grayscale)".into(),
            raw,
            n(20_000.0),
        ),
        pixel_steps(
            "ALE/Pong preprocessed agent steps (4 frames each, max, 84×84, stack 4)".into(),
            stacked,
            n(5_000.0),
        ),
        atari_replay_bytes(pong, n(20_000.0)),
    ]
}

/// Bytes per transition of a replay holding `count` real preprocessed Pong transitions.
#[cfg(feature = "atari")]
fn atari_replay_bytes(pong: crate::env::atari::AtariGame, count: usize) -> Measurement {
    let opts = crate::env::atari::AtariOptions::default();
    let env = crate::env::atari::make(pong, &opts, 0).expect("Pong loads");
    let replay = replay_of_env(
        env,
        FrameReplay::<u8>::new(count, 84 * 84, 4, None),
        count + count / 5,
    );
    Measurement {
        what: format!(
            "replay memory, {count} ALE/Pong transitions (84×84 u8 frames, stack 4, measured)"
        ),
        value: replay.bytes_per_transition(),
        unit: "bytes/transition",
    }
}

/// MinAtar and the CNNs: env steps per game, network updates, replay memory, a training run.
fn pixels(scale: f64) -> Vec<Measurement> {
    let n = |base: f64| ((base * scale).max(1.0)) as usize;
    let mut out: Vec<Measurement> = EnvId::MINATAR
        .iter()
        .map(|id| minatar_steps(*id, n(300_000.0)))
        .collect();
    let cfg = pixel_agent;
    let bit = |rng: &mut ChaCha8Rng| u8::from(rng.gen::<f32>() < 0.1);
    out.push(updates::<MinAtarQNet<4, 36, 2304, 6>, u8, 2304, 6>(
        "MinAtar CNN, 4 channels",
        cfg("dqn"),
        400,
        bit,
        n(1_000.0),
    ));
    out.push(updates::<MinAtarDuelingQNet<4, 36, 2304, 6>, u8, 2304, 6>(
        "MinAtar CNN, 4 channels",
        cfg("dueling"),
        400,
        bit,
        n(1_000.0),
    ));
    let pixel = |rng: &mut ChaCha8Rng| rng.gen::<u8>();
    out.push(updates::<NatureQNet<4, 256, 102400, 6>, u8, 102400, 6>(
        "Nature CNN, 84×84×4",
        cfg("dqn"),
        4 * 84 * 84,
        pixel,
        n(30.0),
    ));
    out.push(minatar_replay_bytes());
    out.push(Measurement {
        what: "planned replay, 1M transitions of 84×84 u8 frames, stack 4 (Pong-length episodes)"
            .into(),
        value: planned_bytes::<u8>(1_000_000, 84 * 84, 4, 800.0) / 1e9,
        unit: "GB",
    });
    out.push(minatar_training(n(5_000.0) as u64));
    out
}

/// The agent of the pixel rows: MinAtar's RMSprop at lr 2.5e-4.
fn pixel_agent(variant: &str) -> AgentConfig {
    AgentConfig {
        variant: variant.parse().expect("valid variant"),
        optimizer: OptimizerKind::Rmsprop,
        lr: 0.00025,
        ..AgentConfig::default()
    }
}

/// Random-action steps of one MinAtar game through the `Env` trait (state written each step).
fn minatar_steps(id: EnvId, count: usize) -> Measurement {
    let spec = EnvConfig {
        id,
        ..EnvConfig::default()
    }
    .spec();
    let AnyEnv::Pixels(env) = crate::env::make(&spec, 0) else {
        unreachable!("MinAtar observations are u8");
    };
    pixel_steps(format!("{id} env.step (random actions)"), env, count)
}

/// Random-action steps of a pixel env, resetting at episode ends.
fn pixel_steps(
    what: String,
    mut env: Box<dyn crate::env::Env<Elem = u8>>,
    count: usize,
) -> Measurement {
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let mut obs = vec![0u8; env.obs_shape().len()];
    let actions = env.num_actions();
    timed(what, "steps/s", count, || {
        env.reset_into(&mut rng, &mut obs);
        for _ in 0..count {
            if env.step_into(rng.gen_range(0..actions), &mut obs).done() {
                env.reset_into(&mut rng, &mut obs);
            }
        }
        std::hint::black_box(&obs);
    })
}

/// Bytes per transition of a full 100k replay of real Seaquest frames (10 channels).
fn minatar_replay_bytes() -> Measurement {
    let spec = EnvConfig {
        id: EnvId::MinAtar(crate::env::minatar::Game::Seaquest),
        ..EnvConfig::default()
    }
    .spec();
    let AnyEnv::Pixels(env) = crate::env::make(&spec, 0) else {
        unreachable!("MinAtar observations are u8");
    };
    let replay = replay_of_env(env, FrameReplay::<u8>::new(100_000, 1000, 1, None), 120_000);
    Measurement {
        what: "replay memory, 100k MinAtar Seaquest transitions (10×10×10 u8 frames, measured)"
            .into(),
        value: replay.bytes_per_transition(),
        unit: "bytes/transition",
    }
}

/// `replay` after `steps` random-action transitions of `env` (one frame per step).
fn replay_of_env(
    mut env: Box<dyn crate::env::Env<Elem = u8>>,
    mut replay: FrameReplay<u8>,
    steps: usize,
) -> FrameReplay<u8> {
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let mut obs = vec![0u8; env.obs_shape().len()];
    env.reset_into(&mut rng, &mut obs);
    replay.begin_episode(&obs);
    for _ in 0..steps {
        let a = rng.gen_range(0..env.num_actions());
        let step = env.step_into(a, &mut obs);
        replay.push(a, step.reward as f32, &obs, step.terminated, step.truncated);
        if step.done() {
            env.reset_into(&mut rng, &mut obs);
            replay.begin_episode(&obs);
        }
    }
    replay
}

/// A short DQN run on MinAtar Breakout with the MinAtar paper's settings, but dfdx's RMSprop
/// with momentum 0.95 (this project's earlier reading of them; `experiments/minatar.toml` now
/// runs PyTorch's RMSprop without momentum, as examples/dqn.py does), kept so that the bench's
/// figures compare across commits.
fn minatar_training(steps: u64) -> Measurement {
    let cfg = RunConfig {
        env: EnvConfig {
            id: EnvId::MinAtar(crate::env::minatar::Game::Breakout),
            ..EnvConfig::default()
        },
        agent: AgentConfig {
            gamma: 0.99,
            optimizer: OptimizerKind::Rmsprop,
            lr: 0.00025,
            rms_momentum: Some(0.95),
            buffer_size: 100_000,
            learning_starts: 500,
            epsilon_start: Some(1.0),
            epsilon_decay_steps: 10_000,
            sync_unit: crate::config::SyncUnit::Steps,
            sync_interval: 1000,
            ..AgentConfig::default()
        },
        train: TrainConfig {
            steps: Some(steps),
            episodes: None,
            eval_episodes: 0,
            q_probe_interval: 0,
            probe_states: 32,
            ..TrainConfig::default()
        },
        seed: 0,
    };
    let outcome = crate::train::train(&cfg, &|_| {}).expect("benchmark run trains");
    Measurement {
        what: format!("training run, {steps} steps of MinAtar/Breakout (dqn, one update per step), one thread"),
        value: outcome.env_steps as f64 / outcome.wall_s,
        unit: "env steps/s",
    }
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

/// Gradient updates per second of network kind `N` on random observations of `frame` values,
/// on the CPU.
fn updates<N, E, const IN: usize, const ACT: usize>(
    what: &str,
    agent_cfg: AgentConfig,
    frame: usize,
    value: impl Fn(&mut ChaCha8Rng) -> E,
    count: usize,
) -> Measurement
where
    N: QNetOn<Cpu, E, IN, ACT>,
    E: ObsElem,
{
    updates_on::<N, E, IN, ACT, Cpu>(what, agent_cfg, frame, value, count)
        .expect("the CPU holds the networks")
}

/// [`updates`] on device `D`; fails if the device cannot be opened or hold the networks.
fn updates_on<N, E, const IN: usize, const ACT: usize, D>(
    what: &str,
    agent_cfg: AgentConfig,
    frame: usize,
    value: impl Fn(&mut ChaCha8Rng) -> E,
    count: usize,
) -> Result<Measurement, String>
where
    N: QNetOn<D, E, IN, ACT>,
    E: ObsElem,
    D: AgentDevice,
{
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let dev = D::seeded(3)?;
    let mut agent: DqnAgent<N, E, IN, ACT, D> =
        DqnAgent::new(dev, &agent_cfg, &mut rng, frame, 1).map_err(|e| e.to_string())?;
    let obs = |rng: &mut ChaCha8Rng| (0..frame).map(|_| value(rng)).collect::<Vec<E>>();
    agent.begin_episode(&obs(&mut rng));
    for _ in 0..1_000 {
        let next = obs(&mut rng);
        agent.remember(rng.gen_range(0..ACT), 1.0, &next, false, false);
    }
    let on = if D::NAME == "cpu" {
        String::new()
    } else {
        format!(", on {}", D::NAME)
    };
    Ok(timed(
        format!(
            "agent.update, batch {} ({what}, {}{on})",
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
    ))
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

/// Population mode's premise (issue 9): does one batched product over `S` stacked weight
/// matrices beat `S` separate products? `S = 8` hidden layers of the MLP (128×128 weights, a
/// batch of 32), as dfdx's batched `matmul` vs 8 calls; the figure is the time ratio
/// separate / stacked (above 1: stacking helps).
fn stacked_matmul(iters: usize) -> Measurement {
    use dfdx::prelude::*;
    const S: usize = 8;
    let dev: Cpu = Cpu::seed_from_u64(0);
    let w: Tensor<Rank3<S, 128, 128>, f32, Cpu> = dev.sample_normal();
    let x: Tensor<Rank3<S, 128, 32>, f32, Cpu> = dev.sample_normal();
    let ws: Vec<Tensor<Rank2<128, 128>, f32, Cpu>> = (0..S).map(|_| dev.sample_normal()).collect();
    let xs: Vec<Tensor<Rank2<128, 32>, f32, Cpu>> = (0..S).map(|_| dev.sample_normal()).collect();
    let time = |f: &dyn Fn()| {
        let start = Instant::now();
        for _ in 0..iters {
            f();
        }
        start.elapsed().as_secs_f64()
    };
    let separate = time(&|| {
        for (w, x) in ws.iter().zip(&xs) {
            std::hint::black_box(w.clone().matmul(x.clone()));
        }
    });
    let stacked = time(&|| {
        std::hint::black_box(w.clone().matmul(x.clone()));
    });
    Measurement {
        what: format!("{S} stacked 128×128 · 128×32 products (population mode) vs {S} separate"),
        value: separate / stacked,
        unit: "× faster",
    }
}

/// The MLP's hidden-layer product at batch 32, `y = x·Wᵀ` (32×128 by 128×128), by our kernel
/// and by dfdx's `matmul` (`gemm`, as `W·xᵀ` like the layers' fallback), against the core's FMA
/// peak; all in GFMA/s. The kernel rows are absent without AVX2/FMA.
fn products(iters: usize) -> Vec<Measurement> {
    use crate::nn::matmul::{fma_peak_avx512_gfma, fma_peak_gfma, kernel_gfma, kernel_registers};
    let gfma = |what: String, value| Measurement {
        what,
        value,
        unit: "GFMA/s",
    };
    let mut out = Vec::new();
    let layers = [
        (
            "CartPole hidden layer",
            (128, 128),
            dfdx_gfma::<128, 128> as fn(usize) -> f64,
        ),
        ("MinAtar dense layer", (128, 1024), dfdx_gfma::<128, 1024>),
    ];
    for (layer, (o, i), dfdx) in layers {
        // Fewer rounds of the 8× larger product.
        let iters = iters * 128 / i;
        let product = format!("W·xᵀ, {o}×{i} · ({i}×32)ᵀ ({layer}, batch 32)");
        out.push(gfma(
            format!("{product} by dfdx matmul (gemm), one core"),
            dfdx(iters),
        ));
        if let Some(v) = kernel_gfma((o, i, 32), iters) {
            out.push(gfma(
                format!(
                    "{product} by our kernel (src/agent/conv/matmul.rs, {})",
                    kernel_registers()
                ),
                v,
            ));
        }
    }
    if let Some(v) = fma_peak_gfma(iters * 4096) {
        out.push(gfma(
            "f32 FMA peak of one core (12 independent AVX2 chains)".into(),
            v,
        ));
    }
    if let Some(v) = fma_peak_avx512_gfma(iters * 4096) {
        out.push(gfma(
            "f32 FMA peak of one core (12 independent AVX-512 chains)".into(),
            v,
        ));
    }
    out
}

/// GFMA/s of dfdx's `matmul` on `W·xᵀ` for `W` `O × I` and a batch of 32, `iters` products.
fn dfdx_gfma<const O: usize, const I: usize>(iters: usize) -> f64 {
    use dfdx::prelude::*;
    let dev: Cpu = Cpu::seed_from_u64(0);
    let w: Tensor<Rank2<O, I>, f32, Cpu> = dev.sample_normal();
    let x: Tensor<Rank2<32, I>, f32, Cpu> = dev.sample_normal();
    let start = Instant::now();
    for _ in 0..iters {
        std::hint::black_box(w.clone().matmul(x.clone().permute()));
    }
    (32 * O * I * iters) as f64 / start.elapsed().as_secs_f64() / 1e9
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
