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
//!
//! `tests/data/minatar_policy_trajectories.csv.gz` is the same recording from the same package
//! under scripted policies instead of random actions (`tests/data/minatar_rec_policy.py`, run as
//! `minatar_rec_policy.py OUT breakout:0:2000:1:0.02 space_invaders:0:3000:1:0.02
//! space_invaders:1:1500:0:0.02 seaquest:0:3000:1:0.1 asterix:0:2000:1:0.1 freeway:0:300:1:0`,
//! then `gzip -9 -n`), so that play reaches what random actions do not: Breakout walls cleared
//! and rebuilt, Space Invaders waves cleared (with and without difficulty ramping), Seaquest
//! enemies running into shots and divers swimming into the sub, the ramp rising in Asterix,
//! Seaquest and Space Invaders. It has two more columns: `ramping` (the `difficulty_ramping`
//! flag) and `ramp`, `env.env.difficulty_ramp()` after the step (empty for `None`), checked
//! against [`MinAtar::difficulty_ramp`].

use dqn_envs::minatar::{Game, MinAtar};
use flate2::read::GzDecoder;
use std::fmt::Write as _;
use std::io::Read;

const DATA: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/data/minatar_trajectories.csv.gz"
);
const POLICY_DATA: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/data/minatar_policy_trajectories.csv.gz"
);
const HEADER: &str = "game,seed,t,episode,action,reward,terminal,state_hex";
const POLICY_HEADER: &str = "game,seed,ramping,t,episode,action,reward,terminal,ramp,state_hex";

/// One CSV row: `game,seed,t,episode,action,reward,terminal,state_hex`, or with the columns
/// `ramping` (after `seed`) and `ramp` (before `state_hex`).
struct Row<'a> {
    game: Game,
    seed: u32,
    /// `difficulty_ramping` (true where the file has no `ramping` column).
    ramping: bool,
    t: u32,
    episode: u32,
    /// `None` on the rows of a reset (the first row of a trajectory, and after a terminal).
    action: Option<usize>,
    reward: Option<f32>,
    terminal: Option<bool>,
    /// `difficulty_ramp()` after the row, where the file records it (`Some(None)`: Python's
    /// `None`).
    ramp: Option<Option<i32>>,
    state_hex: &'a str,
}

/// `with_ramp`: the row has the `ramping` and `ramp` columns ([`POLICY_HEADER`]).
fn parse_row<'a>(line: &'a str, with_ramp: bool) -> Row<'a> {
    let f: Vec<&str> = line.split(',').collect();
    assert_eq!(f.len(), if with_ramp { 10 } else { 8 }, "bad row: {line}");
    let opt = |s: &'a str| (!s.is_empty()).then_some(s);
    // Without the extra columns, `g` skips nothing; with them, `ramping` is f[2] and `ramp` f[8].
    let g = |i: usize| if with_ramp && i >= 2 { f[i + 1] } else { f[i] };
    Row {
        game: Game::from_name(f[0]).unwrap_or_else(|| panic!("unknown game in row: {line}")),
        seed: f[1].parse().expect("seed"),
        ramping: !with_ramp || f[2] == "1",
        t: g(2).parse().expect("t"),
        episode: g(3).parse().expect("episode"),
        action: opt(g(4)).map(|s| s.parse().expect("action")),
        reward: opt(g(5)).map(|s| s.parse().expect("reward")),
        terminal: opt(g(6)).map(|s| s == "1"),
        ramp: with_ramp.then(|| opt(f[8]).map(|s| s.parse().expect("ramp"))),
        state_hex: f[f.len() - 1],
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
    ramping: bool,
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
        let mut env = MinAtar::new(row.game, 0.1, row.ramping, row.seed);
        env.reset();
        let mut replay = Replay {
            game: row.game,
            seed: row.seed,
            ramping: row.ramping,
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
        } else if let Some(ramp) = row.ramp {
            let actual = self.env.difficulty_ramp();
            if actual != ramp {
                let msg = format!("{what}: difficulty ramp expected {ramp:?}, actual {actual:?}");
                self.fail(row, msg);
            }
        }
    }

    fn fail(&mut self, row: &Row, msg: String) {
        self.failure = Some(format!(
            "{} seed {}{} t {} (episode {}): {msg}",
            self.game.name(),
            self.seed,
            if self.ramping { "" } else { " (no ramping)" },
            row.t,
            row.episode
        ));
    }
}

/// Every trajectory of a file, replayed; also the number of episodes.
fn replay_file(path: &str) -> (Vec<Replay>, usize) {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut csv = String::new();
    GzDecoder::new(file)
        .read_to_string(&mut csv)
        .expect("gunzip the trajectories");
    let mut lines = csv.lines();
    let with_ramp = match lines.next() {
        Some(HEADER) => false,
        Some(POLICY_HEADER) => true,
        other => panic!("{path}: unexpected header {other:?}"),
    };

    let mut done: Vec<Replay> = Vec::new();
    let mut current: Option<Replay> = None;
    let mut episodes = 0;
    for line in lines.filter(|l| !l.is_empty()) {
        let row = parse_row(line, with_ramp);
        let same = current
            .as_ref()
            .is_some_and(|r| (r.game, r.seed, r.ramping) == (row.game, row.seed, row.ramping));
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
        "{path}: replayed {} trajectories, {episodes} episodes, {steps} steps",
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
    (done, episodes)
}

#[test]
fn replays_every_reference_trajectory_bit_exactly() {
    let (done, _) = replay_file(DATA);
    assert_eq!(done.len(), 15, "five games x seeds 0, 1, 2");
    let steps: usize = done.iter().map(|r| r.steps).sum();
    assert_eq!(
        steps,
        4 * 3 * 1500 + 3 * 3000,
        "every step of every trajectory"
    );
}

#[test]
fn replays_the_scripted_policy_trajectories_and_their_difficulty_ramps() {
    let (done, episodes) = replay_file(POLICY_DATA);
    assert_eq!(
        done.len(),
        6,
        "five games, Space Invaders with and without ramping"
    );
    assert!(
        done.iter().any(|r| !r.ramping),
        "one trajectory without ramping"
    );
    let steps: usize = done.iter().map(|r| r.steps).sum();
    assert_eq!(steps, 2000 + 3000 + 1500 + 3000 + 2000 + 300, "every step");
    assert_eq!(episodes, 1 + 4 + 1 + 46 + 17 + 1, "every episode");
}
