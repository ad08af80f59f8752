//! Pixel rows of `sweep bench`: MinAtar and ALE env steps, frame replay memory, the MinAtar
//! and Nature CNN updates, and a short MinAtar training run.

use super::*;

/// ALE Pong: raw emulator frames, the preprocessed env (sticky actions, no-ops, skip 4 with
/// max, 84×84 resize, stack 4), and the frame replay's bytes per transition on real frames.
#[cfg(feature = "atari")]
pub(super) fn atari(scale: f64) -> Vec<Measurement> {
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
pub(super) fn atari_replay_bytes(pong: crate::env::atari::AtariGame, count: usize) -> Measurement {
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
pub(super) fn pixels(scale: f64) -> Vec<Measurement> {
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
pub(super) fn pixel_agent(variant: &str) -> AgentConfig {
    AgentConfig {
        variant: variant.parse().expect("valid variant"),
        optimizer: OptimizerKind::Rmsprop,
        lr: 0.00025,
        ..AgentConfig::default()
    }
}

/// Random-action steps of one MinAtar game through the `Env` trait (state written each step).
pub(super) fn minatar_steps(id: EnvId, count: usize) -> Measurement {
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
pub(super) fn pixel_steps(
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
pub(super) fn minatar_replay_bytes() -> Measurement {
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
pub(super) fn replay_of_env(
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
pub(super) fn minatar_training(steps: u64) -> Measurement {
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
