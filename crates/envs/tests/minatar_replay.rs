//! Replays every MinAtar reference trajectory through the public API and checks, step by step,
//! the state, reward and terminal flag bit for bit.
//!
//! Data: `tests/data/minatar_trajectories.csv.gz` is the gzip of the shared data set's
//! `minatar/minatar_trajectories.csv`, recorded from the Python package `minatar==1.0.15` by
//! `generators/minatar_rec.py` (its README's "minatar" section): for each of the five games and
//! seeds 0, 1, 2, `Environment(game, sticky_action_prob=0.1, difficulty_ramping=True)`,
//! `env.seed(seed)`, `env.reset()`, then 1500 steps (Freeway 3000) of recorded actions, with a
//! plain `env.reset()` after each terminal step (its own row, empty action). `state_hex` is
//! `np.packbits(env.state().reshape(-1))` (C order y, x, channel) as hex.

use dqn_envs::minatar::{Game, MinAtar};
use flate2::read::GzDecoder;
use std::fmt::Write as _;
use std::io::Read;

const DATA: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/data/minatar_trajectories.csv.gz"
);

/// One CSV row: `game,seed,t,episode,action,reward,terminal,state_hex`.
struct Row<'a> {
    game: Game,
    seed: u32,
    t: u32,
    episode: u32,
    /// `None` on the rows of a reset (the first row of a trajectory, and after a terminal).
    action: Option<usize>,
    reward: Option<f32>,
    terminal: Option<bool>,
    state_hex: &'a str,
}

fn parse_row<'a>(line: &'a str) -> Row<'a> {
    let f: Vec<&str> = line.split(',').collect();
    assert_eq!(f.len(), 8, "bad row: {line}");
    let opt = |s: &'a str| (!s.is_empty()).then_some(s);
    Row {
        game: Game::from_name(f[0]).unwrap_or_else(|| panic!("unknown game in row: {line}")),
        seed: f[1].parse().expect("seed"),
        t: f[2].parse().expect("t"),
        episode: f[3].parse().expect("episode"),
        action: opt(f[4]).map(|s| s.parse().expect("action")),
        reward: opt(f[5]).map(|s| s.parse().expect("reward")),
        terminal: opt(f[6]).map(|s| s == "1"),
        state_hex: f[7],
    }
}

/// `np.packbits(state).tobytes().hex()`: most significant bit first, last byte zero-padded.
fn packbits_hex(bits: &[bool]) -> String {
    let mut hex = String::with_capacity(bits.len() / 4 + 2);
    for chunk in bits.chunks(8) {
        let byte = chunk
            .iter()
            .enumerate()
            .fold(0u8, |acc, (i, &b)| acc | (u8::from(b) << (7 - i)));
        write!(hex, "{byte:02x}").expect("writing to a String");
    }
    hex
}

/// The channel-first buffer must hold the same state as the (y, x, channel) one.
fn chw_matches_hwc(env: &MinAtar, hwc: &[bool]) -> bool {
    let c = env.channels();
    let mut chw = vec![0u8; c * 100];
    env.state_chw(&mut chw);
    chw.iter()
        .enumerate()
        .all(|(i, &v)| (v == 1) == hwc[(i % 100) * c + i / 100])
}

/// A running trajectory of the file.
struct Replay {
    game: Game,
    seed: u32,
    env: MinAtar,
    last_terminal: bool,
    steps: usize,
    /// First mismatch, if any (later rows of this trajectory are not checked).
    failure: Option<String>,
}

impl Replay {
    fn start(row: &Row) -> Replay {
        assert!(
            row.t == 0 && row.action.is_none(),
            "a trajectory starts with its reset row"
        );
        let mut env = MinAtar::new(row.game, 0.1, true, row.seed);
        env.reset();
        let mut replay = Replay {
            game: row.game,
            seed: row.seed,
            env,
            last_terminal: false,
            steps: 0,
            failure: None,
        };
        replay.check_state(row, "reset");
        replay
    }

    fn apply(&mut self, row: &Row) {
        if self.failure.is_some() {
            return;
        }
        match row.action {
            None => {
                if !self.last_terminal {
                    self.fail(row, "reset row without a terminal step before it".into());
                    return;
                }
                self.env.reset();
                self.last_terminal = false;
                self.check_state(row, "reset");
            }
            Some(action) => {
                let (reward, terminal) = self.env.act(action);
                self.steps += 1;
                self.last_terminal = terminal;
                let expected = (row.reward.expect("reward"), row.terminal.expect("terminal"));
                if (reward, terminal) != expected {
                    let msg = format!(
                        "action {action}: (reward, terminal) expected {expected:?}, actual {:?}",
                        (reward, terminal)
                    );
                    self.fail(row, msg);
                    return;
                }
                self.check_state(row, &format!("action {action}"));
            }
        }
    }

    fn check_state(&mut self, row: &Row, what: &str) {
        let hwc = self.env.state_hwc();
        let actual = packbits_hex(&hwc);
        if actual != row.state_hex {
            let msg = format!("{what}: state expected {}, actual {actual}", row.state_hex);
            self.fail(row, msg);
        } else if !chw_matches_hwc(&self.env, &hwc) {
            self.fail(row, format!("{what}: state_chw disagrees with state_hwc"));
        }
    }

    fn fail(&mut self, row: &Row, msg: String) {
        self.failure = Some(format!(
            "{} seed {} t {} (episode {}): {msg}",
            self.game.name(),
            self.seed,
            row.t,
            row.episode
        ));
    }
}

#[test]
fn replays_every_reference_trajectory_bit_exactly() {
    let file = std::fs::File::open(DATA).unwrap_or_else(|e| panic!("{DATA}: {e}"));
    let mut csv = String::new();
    GzDecoder::new(file)
        .read_to_string(&mut csv)
        .expect("gunzip the trajectories");
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some("game,seed,t,episode,action,reward,terminal,state_hex")
    );

    let mut done: Vec<Replay> = Vec::new();
    let mut current: Option<Replay> = None;
    let mut episodes = 0;
    for line in lines.filter(|l| !l.is_empty()) {
        let row = parse_row(line);
        let same = current
            .as_ref()
            .is_some_and(|r| (r.game, r.seed) == (row.game, row.seed));
        if same {
            if row.action.is_none() {
                episodes += 1;
            }
            if let Some(replay) = current.as_mut() {
                replay.apply(&row);
            }
        } else {
            done.extend(current.take());
            episodes += 1;
            current = Some(Replay::start(&row));
        }
    }
    done.extend(current);

    let steps: usize = done.iter().map(|r| r.steps).sum();
    println!(
        "replayed {} trajectories, {episodes} episodes, {steps} steps",
        done.len()
    );
    let failures: Vec<&String> = done.iter().filter_map(|r| r.failure.as_ref()).collect();
    assert!(
        failures.is_empty(),
        "{} of {} trajectories diverge; first mismatch of each:\n{}",
        failures.len(),
        done.len(),
        failures
            .iter()
            .map(|f| f.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    );
    let games: std::collections::HashSet<Game> = done.iter().map(|r| r.game).collect();
    assert_eq!(games.len(), Game::ALL.len(), "every game is covered");
    assert_eq!(done.len(), 15, "five games x seeds 0, 1, 2");
    assert_eq!(
        steps,
        4 * 3 * 1500 + 3 * 3000,
        "every step of every trajectory"
    );
}
