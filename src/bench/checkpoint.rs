//! Checkpoint rows of `sweep bench`: size and write time of a checkpoint for the chapter's
//! CartPole run, a MinAtar run with a full 100k replay and an Atari run with a 1M-frame replay
//! (`--scale 10`; 100k frames at `--scale 1`), each with its replay full of synthetic frames
//! and its optimizer state built by one update. A checkpoint writes the agent's state
//! (`state.bin`) and the frames pushed since the last one (the frame log); the first writes the
//! whole replay, as does the log's occasional rewrite. The cost row is what one checkpoint
//! every `checkpoint_minutes` (10, the default) takes of the run's time.

use super::*;
use crate::agent::networks::cnn::NatureQNet;
use crate::checkpoint::{write_state, FramesLog, Saved};
use crate::config::DEFAULT_CHECKPOINT_MINUTES;

pub(super) fn checkpoint_rows(scale: f64) -> Vec<Measurement> {
    let n = |base: f64| ((base * scale).max(100.0)) as usize;
    let chapter = AgentConfig::default();
    let minatar = AgentConfig {
        buffer_size: 100_000,
        ..pixel_agent("dqn")
    };
    let atari_frames = n(100_000.0);
    let atari = AgentConfig {
        buffer_size: atari_frames,
        ..pixel_agent("dqn")
    };
    let mut out = cost::<QNetMlp<4, 2>, f32, 4, 2>(
        "chapter run (CartPole, 10k replay)",
        &chapter,
        (4, 1),
        chapter.buffer_size,
        // The chapter's run takes about 10 s here: one checkpoint at its end, none on the way.
        chapter.buffer_size,
    );
    out.extend(cost::<MinAtarQNet<4, 36, 2304, 6>, u8, 2304, 6>(
        "MinAtar Breakout, 100k replay",
        &minatar,
        (400, 1),
        100_000,
        // About 10 minutes of MinAtar training at ~1,300 steps/s.
        780_000.min(n(780_000.0)),
    ));
    out.extend(cost::<NatureQNet<4, 256, 102400, 6>, u8, 102400, 6>(
        &format!("Atari, {atari_frames}-frame replay (84×84, stack 4)"),
        &atari,
        (84 * 84, 4),
        atari_frames,
        // About 10 minutes of Atari training at ~60 agent steps/s.
        36_000,
    ));
    out
}

/// Fill an agent's replay with `fill` synthetic transitions, write its first checkpoint (the
/// whole log), push `delta` more and write the next one (only those frames); sizes and times.
fn cost<N, E, const IN: usize, const OUT: usize>(
    name: &str,
    cfg: &AgentConfig,
    (frame_len, stack): (usize, usize),
    fill: usize,
    delta: usize,
) -> Vec<Measurement>
where
    N: QNetOn<Cpu, E, IN, OUT>,
    E: ObsElem + From<u8>,
{
    let mut agent = DqnAgent::<N, E, IN, OUT, Cpu>::new(
        Cpu::default(),
        cfg,
        &mut ChaCha8Rng::seed_from_u64(0),
        frame_len,
        stack,
    )
    .expect("the agent builds");
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let mut obs: Vec<E> = (0..frame_len * stack)
        .map(|i| E::from((i % 251) as u8))
        .collect();
    let mut push = |agent: &mut DqnAgent<N, E, IN, OUT, Cpu>, steps: usize| {
        for t in 0..steps {
            if t % 1000 == 0 {
                agent.begin_episode(&obs);
            }
            let k = rng.gen_range(0..obs.len());
            obs[k] = E::from(rng.gen::<u8>());
            agent.remember(rng.gen_range(0..OUT), 0.0, &obs, false, t % 1000 == 999);
        }
    };
    push(&mut agent, fill);
    agent
        .update(0.5, &mut ChaCha8Rng::seed_from_u64(2))
        .expect("an update builds the optimizer state");
    let dir = tempfile::tempdir().expect("a temporary folder");
    let mut log = FramesLog::new(dir.path());
    let mut write = |agent: &DqnAgent<N, E, IN, OUT, Cpu>| {
        let start = Instant::now();
        let before = log_bytes(dir.path());
        let frames = log.append(agent.frames()).expect("the frame log writes");
        let state = Saved {
            build: String::new(),
            run_id: String::new(),
            steps: 0,
            frames,
            run: Vec::new(),
            agent: agent.save_state().expect("the agent saves"),
        };
        let state_bytes = write_state(dir.path(), &state).expect("state.bin writes");
        log.remove_others().expect("old logs go");
        let s = start.elapsed().as_secs_f64();
        (s, state_bytes, log_bytes(dir.path()) - before)
    };
    let (first_s, state_bytes, first_log) = write(&agent);
    push(&mut agent, delta);
    let (delta_s, _, delta_log) = write(&agent);
    let mb = |b: u64| b as f64 / 1e6;
    let row = |what: String, value: f64, unit| Measurement { what, value, unit };
    vec![
        row(format!("checkpoint, {name}: state.bin (networks, optimizer, replay ring and tree)"), mb(state_bytes), "MB"),
        row(format!("checkpoint, {name}: first write (whole frame log {:.1} MB, state.bin)", mb(first_log)), first_s, "s"),
        row(format!("checkpoint, {name}: next write after {delta} steps (frame log +{:.1} MB)", mb(delta_log)), delta_s, "s"),
        row(
            format!("checkpoint, {name}: share of run time at one checkpoint every {DEFAULT_CHECKPOINT_MINUTES} min"),
            100.0 * delta_s / (DEFAULT_CHECKPOINT_MINUTES * 60.0),
            "%",
        ),
    ]
}

/// Bytes of every frame log in `dir`.
fn log_bytes(dir: &std::path::Path) -> u64 {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with("frames-"))
        .filter_map(|e| e.metadata().ok())
        .map(|m| m.len())
        .sum()
}
