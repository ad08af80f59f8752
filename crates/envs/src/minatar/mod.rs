//! MinAtar (Young & Tian 2019), ported exactly from the Python package `minatar==1.0.15`.
//!
//! [`MinAtar`] is `minatar.Environment`: sticky actions on top of one of five 10×10 games, all
//! randomness drawn from one numpy-compatible `RandomState` ([`NumpyRandomState`]) shared, as
//! after `env.seed(seed)`, by the sticky-action draw and the game. From the same seed and actions
//! it reproduces the Python states, rewards and terminal flags bit for bit
//! (this crate's `tests/minatar_replay.rs`). Each game lives in its own file, a line-by-line port.

mod asterix;
mod breakout;
mod env;
mod freeway;
mod rng;
mod seaquest;
mod space_invaders;

pub use env::MinAtarEnv;
pub use rng::NumpyRandomState;

use crate::state::{decode, encode, same};
use crate::EnvStateError;
use asterix::Asterix;
use breakout::Breakout;
use freeway::Freeway;
use seaquest::Seaquest;
use serde::{Deserialize, Serialize};
use space_invaders::SpaceInvaders;

/// Side of the square playing field.
const SIZE: usize = 10;

/// The five MinAtar games.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Game {
    Breakout,
    SpaceInvaders,
    Freeway,
    Asterix,
    Seaquest,
}

impl Game {
    pub const ALL: [Game; 5] = [
        Game::Breakout,
        Game::SpaceInvaders,
        Game::Freeway,
        Game::Asterix,
        Game::Seaquest,
    ];

    /// The Python module name (`minatar.environments.<name>`).
    pub fn name(self) -> &'static str {
        match self {
            Game::Breakout => "breakout",
            Game::SpaceInvaders => "space_invaders",
            Game::Freeway => "freeway",
            Game::Asterix => "asterix",
            Game::Seaquest => "seaquest",
        }
    }

    /// The game with this Python name, if any.
    pub fn from_name(s: &str) -> Option<Game> {
        Game::ALL.into_iter().find(|g| g.name() == s)
    }

    /// Number of state channels (`len(env.channels)`).
    pub fn channels(self) -> usize {
        match self {
            Game::Breakout => 4,
            Game::SpaceInvaders => 6,
            Game::Freeway => 7,
            Game::Asterix => 4,
            Game::Seaquest => 10,
        }
    }
}

/// MinAtar's full action set, `action_map = ['n','l','u','r','d','f']`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Noop,
    Left,
    Up,
    Right,
    Down,
    Fire,
}

impl Action {
    const ALL: [Action; 6] = [
        Action::Noop,
        Action::Left,
        Action::Up,
        Action::Right,
        Action::Down,
        Action::Fire,
    ];
}

/// One rendered state: for each cell `[y][x]`, bit `c` is set when channel `c` is on.
#[derive(Debug, Clone, Copy, Default)]
struct Frame {
    cells: [[u16; SIZE]; SIZE],
}

impl Frame {
    /// `state[y, x, channel] = 1`, with numpy's indexing: a negative index counts from the end.
    ///
    /// # Panics
    /// On an index numpy would reject with `IndexError` (the Python game would crash too).
    fn set(&mut self, y: i32, x: i32, channel: usize) {
        self.cells[py_index(y)][py_index(x)] |= 1 << channel;
    }

    fn get(&self, y: usize, x: usize, channel: usize) -> bool {
        self.cells[y][x] & (1 << channel) != 0
    }
}

/// A numpy index into an axis of length 10 as a `usize` (negative indices count from the end).
fn py_index(i: i32) -> usize {
    let wrapped = if i < 0 { i + SIZE as i32 } else { i };
    assert!(
        (0..SIZE as i32).contains(&wrapped),
        "index {i} is out of bounds for axis 0 with size {SIZE}"
    );
    wrapped as usize
}

/// What every game provides (the Python `Env` class of each game module).
trait GameLogic {
    /// `Env.reset()`: the start state of a new episode.
    fn reset(&mut self, rng: &mut NumpyRandomState);
    /// `Env.act(a)`: one frame; returns (reward, terminal).
    fn act(&mut self, action: Action, rng: &mut NumpyRandomState) -> (i32, bool);
    /// `Env.state()`: switch on the active cells of `frame` (which starts empty).
    fn render(&self, frame: &mut Frame);
    /// `Env.difficulty_ramp()`: the ramp level, `None` for games that do not ramp.
    fn difficulty_ramp(&self) -> Option<i32> {
        None
    }
}

/// The running game.
#[derive(Debug, Clone, Serialize, Deserialize)]
enum Engine {
    Breakout(Breakout),
    SpaceInvaders(SpaceInvaders),
    Freeway(Freeway),
    Asterix(Asterix),
    Seaquest(Seaquest),
}

impl Engine {
    /// Python's `Env(ramping=...)`, whose constructor already calls `reset()`.
    fn new(game: Game, ramping: bool, rng: &mut NumpyRandomState) -> Self {
        match game {
            Game::Breakout => Engine::Breakout(Breakout::new(rng)),
            Game::SpaceInvaders => Engine::SpaceInvaders(SpaceInvaders::new(ramping, rng)),
            Game::Freeway => Engine::Freeway(Freeway::new(rng)),
            Game::Asterix => Engine::Asterix(Asterix::new(ramping, rng)),
            Game::Seaquest => Engine::Seaquest(Seaquest::new(ramping, rng)),
        }
    }

    /// Which game this is.
    fn game(&self) -> Game {
        match self {
            Engine::Breakout(_) => Game::Breakout,
            Engine::SpaceInvaders(_) => Game::SpaceInvaders,
            Engine::Freeway(_) => Game::Freeway,
            Engine::Asterix(_) => Game::Asterix,
            Engine::Seaquest(_) => Game::Seaquest,
        }
    }

    fn logic(&self) -> &dyn GameLogic {
        match self {
            Engine::Breakout(g) => g,
            Engine::SpaceInvaders(g) => g,
            Engine::Freeway(g) => g,
            Engine::Asterix(g) => g,
            Engine::Seaquest(g) => g,
        }
    }

    fn logic_mut(&mut self) -> &mut dyn GameLogic {
        match self {
            Engine::Breakout(g) => g,
            Engine::SpaceInvaders(g) => g,
            Engine::Freeway(g) => g,
            Engine::Asterix(g) => g,
            Engine::Seaquest(g) => g,
        }
    }
}

/// `minatar.Environment(game, sticky_action_prob, difficulty_ramping)` after `env.seed(seed)`.
///
/// Its saved state ([`MinAtar::save_state`]) is the whole struct: the game's every field and
/// the generator's position in its stream; the settings are checked on load.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MinAtar {
    game: Game,
    engine: Engine,
    rng: NumpyRandomState,
    sticky_action_prob: f64,
    /// The game ramps (Space Invaders, Asterix, Seaquest; kept for the check on load).
    difficulty_ramping: bool,
    last_action: usize,
}

impl MinAtar {
    /// Number of actions of every MinAtar game.
    pub const NUM_ACTIONS: usize = 6;

    /// `Environment(game, sticky_action_prob, difficulty_ramping)` then `env.seed(seed)`.
    ///
    /// Python's constructor already runs the game's `reset()`, but with a separate, unseeded
    /// generator (`env.seed` replaces it afterwards), so the seeded stream is untouched until
    /// the caller's `reset()`. Here that first reset draws from a copy of the seeded generator:
    /// the stream is equally untouched, and the state before `reset()` is deterministic (the
    /// same as after it). Call [`MinAtar::reset`] before acting, as in Python.
    pub fn new(game: Game, sticky_action_prob: f64, difficulty_ramping: bool, seed: u32) -> Self {
        let rng = NumpyRandomState::new(seed);
        let engine = Engine::new(game, difficulty_ramping, &mut rng.clone());
        MinAtar {
            game,
            engine,
            rng,
            sticky_action_prob,
            difficulty_ramping,
            last_action: 0,
        }
    }

    /// Everything later resets and steps depend on (see [`crate::Env::save_state`]).
    pub fn save_state(&self) -> Result<Vec<u8>, EnvStateError> {
        encode("MinAtar", self)
    }

    /// Put back a state from [`MinAtar::save_state`] of the same game and settings.
    pub fn load_state(&mut self, state: &[u8]) -> Result<(), EnvStateError> {
        let saved: MinAtar = decode("MinAtar", state)?;
        same("MinAtar", "game", saved.game, self.game)?;
        same("MinAtar", "game", saved.engine.game(), self.game)?;
        let prob = |p: f64| p.to_bits();
        same(
            "MinAtar",
            "sticky action probability (bits)",
            prob(saved.sticky_action_prob),
            prob(self.sticky_action_prob),
        )?;
        same(
            "MinAtar",
            "difficulty ramping",
            saved.difficulty_ramping,
            self.difficulty_ramping,
        )?;
        if saved.last_action >= Self::NUM_ACTIONS {
            return Err(EnvStateError::Corrupt(format!(
                "MinAtar: last action {} out of range",
                saved.last_action
            )));
        }
        *self = saved;
        Ok(())
    }

    /// `env.reset()`: a new episode, drawing from the shared generator. The sticky action
    /// (`last_action`) carries over, as in Python.
    pub fn reset(&mut self) {
        self.engine.logic_mut().reset(&mut self.rng);
    }

    /// One step with action index 0..6 (MinAtar's full action set); returns (reward, terminal).
    ///
    /// With probability `sticky_action_prob` the previous action is repeated instead (the draw
    /// is made on every call). After a terminal step the game stands still and returns
    /// `(0.0, true)` until [`MinAtar::reset`].
    ///
    /// # Panics
    /// If `action >= 6`.
    pub fn act(&mut self, action: usize) -> (f32, bool) {
        assert!(
            action < Self::NUM_ACTIONS,
            "MinAtar action {action} out of range (0..{})",
            Self::NUM_ACTIONS
        );
        let mut action = action;
        if self.rng.rand() < self.sticky_action_prob {
            action = self.last_action;
        }
        self.last_action = action;
        let (reward, terminal) = self
            .engine
            .logic_mut()
            .act(Action::ALL[action], &mut self.rng);
        (reward as f32, terminal)
    }

    /// Always 6.
    pub fn num_actions(&self) -> usize {
        Self::NUM_ACTIONS
    }

    pub fn channels(&self) -> usize {
        self.game.channels()
    }

    pub fn game(&self) -> Game {
        self.game
    }

    /// The game's difficulty level (`env.env.difficulty_ramp()` in Python): how often it has
    /// sped up; `None` for Breakout and Freeway, which do not ramp.
    pub fn difficulty_ramp(&self) -> Option<i32> {
        self.engine.logic().difficulty_ramp()
    }

    fn frame(&self) -> Frame {
        let mut frame = Frame::default();
        self.engine.logic().render(&mut frame);
        frame
    }

    /// Write the state as 0/1 bytes in CHANNEL-FIRST layout (channel, y, x).
    ///
    /// # Panics
    /// If `out.len() != channels() * 100`.
    pub fn state_chw(&self, out: &mut [u8]) {
        let channels = self.channels();
        assert_eq!(
            out.len(),
            channels * SIZE * SIZE,
            "state_chw buffer must hold channels * 10 * 10 bytes"
        );
        let frame = self.frame();
        for (c, plane) in out.chunks_exact_mut(SIZE * SIZE).enumerate() {
            for (i, v) in plane.iter_mut().enumerate() {
                *v = u8::from(frame.get(i / SIZE, i % SIZE, c));
            }
        }
    }

    /// The state in the Python layout (y, x, channel) as bools, C order (`env.state()`).
    pub fn state_hwc(&self) -> Vec<bool> {
        let channels = self.channels();
        let frame = self.frame();
        let mut out = Vec::with_capacity(SIZE * SIZE * channels);
        for y in 0..SIZE {
            for x in 0..SIZE {
                out.extend((0..channels).map(|c| frame.get(y, x, c)));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negative_indices_count_from_the_end_as_numpys() {
        assert_eq!(
            [py_index(-1), py_index(-10), py_index(0), py_index(9)],
            [9, 0, 0, 9]
        );
        assert!(std::panic::catch_unwind(|| py_index(10)).is_err());
        assert!(std::panic::catch_unwind(|| py_index(-11)).is_err());
    }

    #[test]
    fn names_round_trip() {
        for g in Game::ALL {
            assert_eq!(Game::from_name(g.name()), Some(g));
        }
        assert_eq!(Game::from_name("pong"), None);
    }

    #[test]
    fn layouts_agree() {
        let mut env = MinAtar::new(Game::Seaquest, 0.1, true, 5);
        env.reset();
        for t in 0..300 {
            env.act(t % 6);
            let hwc = env.state_hwc();
            let c = env.channels();
            let mut chw = vec![0u8; c * 100];
            env.state_chw(&mut chw);
            for (i, &v) in chw.iter().enumerate() {
                let (ch, cell) = (i / 100, i % 100);
                assert_eq!(v == 1, hwc[cell * c + ch]);
            }
        }
    }

    /// Python's `Environment.act`: `if self.random.rand() < self.sticky_action_prob`, a strict
    /// comparison: a draw equal to the probability does not repeat the last action, one just
    /// below it does.
    #[test]
    fn the_sticky_action_draw_is_strict() {
        let mut env = MinAtar::new(Game::Breakout, 0.0, true, 0);
        env.reset();
        let draw = env.rng.clone().rand();
        // The paddle (column 4) after one step to the left, and after standing still.
        let after = |prob: f64, action: usize| {
            let mut e = env.clone();
            e.sticky_action_prob = prob;
            e.act(action);
            e.state_hwc()
        };
        let (left, stay) = (after(0.0, 1), after(0.0, 0));
        assert_ne!(left, stay);
        assert_eq!(after(draw, 1), left, "draw == p: the new action");
        let above = f64::from_bits(draw.to_bits() + 1);
        assert_eq!(after(above, 1), stay, "draw < p: the last action (0) again");
    }

    /// `Environment.num_actions()` returns 6 for every game.
    #[test]
    fn every_game_has_six_actions() {
        for game in Game::ALL {
            assert_eq!(MinAtar::new(game, 0.1, true, 0).num_actions(), 6);
        }
    }

    #[test]
    fn terminal_game_stands_still() {
        let mut env = MinAtar::new(Game::Breakout, 0.0, true, 0);
        env.reset();
        let mut terminal = false;
        for _ in 0..1000 {
            terminal = env.act(0).1;
            if terminal {
                break;
            }
        }
        assert!(terminal, "a paddle that never moves loses the ball");
        let before = env.state_hwc();
        assert_eq!(env.act(3), (0.0, true));
        assert_eq!(env.state_hwc(), before);
    }
}
