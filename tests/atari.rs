//! The real Arcade Learning Environment against recordings from the Python originals
//! (`shared/data/atari/`, copied to `tests/data/`; generators `shared/data/generators/ale_raw.py`
//! and `atari_pre.py`): the emulator frame for frame, then Gymnasium's DQN preprocessing step
//! for step. Needs the `atari` feature: `cargo test --release --features atari --test atari`.
#![cfg(feature = "atari")]

use dqn_sweep::env::atari::ale::{rom_file, AleEnv, Emulator, SCREEN};
use dqn_sweep::env::atari::preprocess::{MaxAndSkip, Resize};
use dqn_sweep::env::atari::{AtariGame, AtariOptions};
use dqn_sweep::env::wrappers::FrameStack;
use dqn_sweep::env::Env;
use sha1::{Digest, Sha1};
use std::io::Read;

mod common;

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data");

fn sha16(bytes: &[u8]) -> String {
    Sha1::digest(bytes)[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn gunzip(path: &str) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(std::fs::File::open(path).unwrap())
        .read_to_end(&mut out)
        .unwrap();
    out
}

fn pong() -> AtariGame {
    AtariGame::from_name("Pong").unwrap()
}

/// `pong_raw_seed7.csv`: ale-py 0.12.1, random_seed 0, no sticky actions, one frame per row;
/// every grayscale and RGB screen hash, reward and game-over flag.
#[test]
fn the_emulator_reproduces_ale_py_pong_frame_for_frame() {
    let text = String::from_utf8(gunzip(&format!("{DATA}/pong_raw_seed7.csv.gz"))).unwrap();
    let (path, _dir) = rom_file(pong(), None).unwrap();
    let mut emu = Emulator::load(&path, 0, 0.0).unwrap();
    assert_eq!(emu.minimal_actions(), &[0, 1, 3, 4, 11, 12]);
    let mut gray = vec![0u8; SCREEN.0 * SCREEN.1];
    let mut rgb = vec![0u8; SCREEN.0 * SCREEN.1 * 3];
    let mut rows = 0;
    for line in text.lines().skip(1) {
        let c: Vec<&str> = line.split(',').collect();
        let (t, action, reward, over) = (
            c[0],
            c[1].parse().unwrap(),
            c[2].parse::<i32>().unwrap(),
            c[3] == "1",
        );
        assert_eq!(emu.act(action), reward, "frame {t}: reward");
        assert_eq!(emu.game_over(), over, "frame {t}: game over");
        emu.grayscale_into(&mut gray);
        emu.rgb_into(&mut rgb);
        assert_eq!(sha16(&gray), c[4], "frame {t}: grayscale screen");
        assert_eq!(sha16(&rgb), c[5], "frame {t}: RGB screen");
        rows += 1;
    }
    assert_eq!(rows, 3000);
}

/// `pong_pre_seed11`: Gymnasium's `AtariPreprocessing(noop_max=0, frame_skip=4,
/// screen_size=84)` and `FrameStackObservation(4)` over ALE/Pong-v5 without sticky actions:
/// every step's reward and flags, and every 4×84×84 stack bit for bit (the resize included)
/// up to the last step. The last step's screen is the one difference found: the game ends on
/// the same frame with the same reward, but ALE 0.6.0's final frames differ from ale-py
/// 0.12.1's (no pair of this emulator's last 8 frames max-pools to Gymnasium's terminal
/// observation; 40-70 pixels of the play field differ). A terminal observation is never
/// bootstrapped from, so learning is unaffected.
#[test]
fn the_preprocessing_reproduces_gymnasium_step_for_step() {
    let csv = std::fs::read_to_string(format!("{DATA}/pong_pre_seed11.csv")).unwrap();
    let frames = gunzip(&format!("{DATA}/pong_pre_seed11.frames.gz"));
    let opts = AtariOptions {
        repeat_action_probability: 0.0,
        noop_max: 0,
        ..AtariOptions::default()
    };
    let base = AleEnv::new(pong(), &opts, 0).unwrap();
    let mut env = FrameStack::new(Resize::new(MaxAndSkip::new(base, 4), 84, 84), 4);
    let mut obs = vec![0u8; 4 * 84 * 84];
    let mut rng = rand::rngs::mock::StepRng::new(0, 1);
    env.reset_into(&mut rng, &mut obs);
    let mut steps = 0;
    for line in csv.lines().skip(1) {
        let c: Vec<&str> = line.split(',').collect();
        let t: usize = c[0].parse().unwrap();
        if t > 0 {
            let step = env.step_into(c[1].parse().unwrap(), &mut obs);
            assert_eq!(
                step.reward,
                c[2].parse::<f64>().unwrap(),
                "step {t}: reward"
            );
            assert_eq!(step.terminated, c[3] == "1", "step {t}: terminated");
            assert_eq!(step.truncated, c[4] == "1", "step {t}: truncated");
        }
        steps += 1;
        if c[3] == "1" {
            break; // the terminal observation: see above
        }
        let newest = &obs[3 * 84 * 84..];
        let expected = &frames[t * 84 * 84..(t + 1) * 84 * 84];
        let worst = newest
            .iter()
            .zip(expected)
            .map(|(a, b)| a.abs_diff(*b))
            .max()
            .unwrap();
        assert_eq!(
            worst, 0,
            "step {t}: newest frame differs by up to {worst} grey levels"
        );
        assert_eq!(sha16(&obs), c[5], "step {t}: stack");
    }
    assert_eq!(
        steps, 793,
        "every step of the recorded game, the terminal one last"
    );
}

/// The exact gate over the Atari path: ALE Pong, the preprocessing stack, frame replay, the
/// Nature CNN, DQN and Double+PER+Dueling (~30 s; bit-identity required on the blessing
/// machine's kernels). Re-bless: `sweep bless experiments/regression-atari.toml` built with
/// `--features atari`.
#[test]
fn the_atari_path_is_bit_identical_to_the_committed_baseline() {
    common::committed_gate_passes("experiments/regression-atari.toml");
}

/// Emulators created, loaded and dropped on many threads at once, as a sweep's parallel runs
/// do. ALE 0.6.0 writes a static `std::string` on every ROM load (`Cartridge::myAboutString`,
/// `emucore/Cart.cxx`); unserialised, racing loads corrupt the heap and abort the process
/// (`malloc(): unaligned tcache chunk detected`, seen in CI's pong-smoke).
#[test]
fn emulators_load_on_many_threads_at_once() {
    let (path, _dir) = rom_file(pong(), None).unwrap();
    let threads = 8;
    let barrier = std::sync::Barrier::new(threads);
    std::thread::scope(|s| {
        for t in 0..threads {
            let (path, barrier) = (&path, &barrier);
            s.spawn(move || {
                barrier.wait();
                for i in 0..6 {
                    let mut emu = Emulator::load(path, (t * 100 + i) as i32, 0.0).unwrap();
                    assert_eq!(emu.minimal_actions().len(), 6);
                    emu.act(emu.minimal_actions()[1]);
                }
            });
        }
    });
}

/// The minimal action counts configs are validated with (known without the emulator) are
/// ALE's, for every bundled game but Defender, whose ROM ALE 0.6.0 never finishes loading.
#[test]
fn every_games_action_count_is_the_emulators() {
    for name in dqn_sweep::env::atari::GAMES {
        let game = AtariGame::from_name(name).unwrap();
        let Some(table) = game.minimal_actions() else {
            assert_eq!(*name, "Defender");
            continue;
        };
        let (path, _dir) = rom_file(game, None).unwrap();
        let emu = Emulator::load(&path, 0, 0.0).unwrap();
        assert_eq!(emu.minimal_actions().len(), table, "{name}");
    }
}

/// A game whose action count has no compiled network is rejected before anything runs, naming
/// the file, the key and what is compiled.
#[test]
fn a_game_without_a_compiled_network_is_rejected_by_validation() {
    use dqn_sweep::config::Experiment;
    let text = "name = \"x\"\n[env]\nid = \"ALE/Asteroids\"\n[train]\nsteps = 1000\n";
    let err = Experiment::parse(text, std::path::Path::new("asteroids.toml"))
        .unwrap_err()
        .to_string();
    for part in ["asteroids.toml", "env.id", "14 actions", "[3, 4, 6, 9, 18]"] {
        assert!(err.contains(part), "{part:?} not in {err:?}");
    }
    let text = text.replace("Asteroids", "Defender");
    let err = Experiment::parse(&text, std::path::Path::new("defender.toml"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("never finishes loading"), "{err}");
}

/// ALE runs resume bit for bit. ALE saves only at an episode boundary (`saves_mid_episode`),
/// so a run cut mid-game resumes from the checkpoint its last finished game allowed; with
/// `terminal_on_life_loss` a lost life is an episode end but not a place to save (the game goes
/// on and ALE's repeated sticky action is not in its state), so checkpoints wait for a game
/// over. Pong with 4 stacked frames (DQN) and Breakout with lives (Double+PER+Dueling).
#[test]
fn atari_runs_resume_bit_for_bit_from_episode_boundaries() {
    use common::{assert_same_runs, cut_every_run, stderr, sweep_with};
    let tmp = tempfile::tempdir().unwrap();
    let exp = tmp.path().join("resume-atari.toml");
    std::fs::write(
        &exp,
        r#"name = "resume-atari"
seeds = 1
[env]
id = ["ALE/Pong", "ALE/Breakout"]
frame_stack = 4
max_episode_frames = 3000
terminal_on_life_loss = true
[agent]
variant = ["dqn", "double+per+dueling"]
optimizer = "adam-torch"
lr = 0.0001
loss = "huber"
batch_size = 8
buffer_size = 600
learning_starts = 200
update_period = 4
sync_interval = 100
sync_unit = "steps"
epsilon_start = 1.0
epsilon = 0.1
epsilon_decay_steps = 500
clip_rewards = true
[train]
steps = 2000
eval_episodes = 1
eval_epsilon = 0.05
q_probe_interval = 0
probe_states = 8
checkpoint_interval = 100
[report]
resamples = 100
"#,
    )
    .unwrap();
    let reference = tmp.path().join("reference");
    let o = sweep_with(&exp, &reference, None, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let cut = tmp.path().join("cut");
    let cuts = cut_every_run(&exp, &cut, "step:1800", 4);
    assert_eq!(cuts.cut.len(), 4);
    assert_eq!(cuts.resumed, 4, "every run resumed from a game boundary");
    assert_same_runs(&reference, &cut);
}
