//! Atari 2600 games through the Arcade Learning Environment, with the DQN preprocessing.
//!
//! The game names and options are always compiled (configs parse and validate without ALE);
//! the emulator ([`ale`]) and the environments need the `atari` cargo feature, which builds
//! ALE 0.6.0 (GPL-2.0) with CMake. [`make`] builds the configured stack:
//! ALE (sticky actions, frame cap) → no-op starts → frame skip with max-pooling → life loss →
//! FIRE on reset → 84×84 INTER_AREA resize (→ frame stack, added by [`crate::make`]).

#[cfg(feature = "atari")]
pub mod ale;
#[cfg(feature = "atari")]
pub mod preprocess;
pub mod resize;

use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::PathBuf;

macro_rules! atari_games {
    ($($name:ident $(= $rom:ident)?),* $(,)?) => {
        /// The games bundled with the `ale` crate, by their Gymnasium names (`ALE/<name>`).
        pub const GAMES: &[&str] = &[$(stringify!($name)),*];

        /// The bundled ROM of a game in [`GAMES`].
        #[cfg(feature = "atari")]
        fn bundled(name: &str) -> Option<::ale::BundledRom> {
            match name {
                $(stringify!($name) => Some(atari_games!(@rom $name $($rom)?)),)*
                _ => None,
            }
        }
    };
    (@rom $name:ident) => { ::ale::BundledRom::$name };
    (@rom $name:ident $rom:ident) => { ::ale::BundledRom::$rom };
}

atari_games! {
    Adventure, AirRaid, Alien, Amidar, Assault, Asterix, Asteroids, Atlantis, BankHeist,
    BattleZone, BeamRider, Berzerk, Bowling, Boxing, Breakout, Carnival, Centipede,
    ChopperCommand, CrazyClimber, Defender, DemonAttack, DoubleDunk, ElevatorAction, Enduro,
    FishingDerby, Freeway, Frostbite, Gopher, Gravitar, Hero, IceHockey, Jamesbond = JamesBond,
    JourneyEscape, Kaboom, Kangaroo, Krull, KungFuMaster, MontezumaRevenge, MsPacman,
    NameThisGame, Phoenix, Pitfall, Pong, Pooyan, PrivateEye, Qbert = QBert, Riverraid = RiverRaid,
    RoadRunner, Robotank = RoboTank, Seaquest, Skiing, SpaceInvaders, StarGunner, Tennis,
    TimePilot, Tutankham, UpNDown, Venture, VideoPinball, WizardOfWor, YarsRevenge, Zaxxon,
}

/// An Atari game: an index into [`GAMES`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AtariGame(u16);

impl AtariGame {
    /// The game called `name` (Gymnasium's spelling, e.g. `Pong`, `SpaceInvaders`).
    pub fn from_name(name: &str) -> Option<AtariGame> {
        GAMES
            .iter()
            .position(|g| *g == name)
            .map(|i| AtariGame(i as u16))
    }

    pub fn name(self) -> &'static str {
        GAMES[self.0 as usize]
    }

    /// The size of the game's minimal action set in ALE 0.6.0 (what the `atari` feature
    /// builds), known without the emulator so that configs validate without it; `None` for
    /// Defender, whose ROM ALE 0.6.0 never finishes loading. Measured with ALE and checked
    /// against it for every other game (`tests/atari.rs`).
    pub fn minimal_actions(self) -> Option<usize> {
        Some(match self.name() {
            "Defender" => return None,
            "Freeway" | "Skiing" => 3,
            "Atlantis" | "Breakout" | "Kaboom" => 4,
            "Assault" => 7,
            "Gopher" | "Phoenix" | "Tutankham" => 8,
            "Amidar" | "TimePilot" | "WizardOfWor" => 10,
            "Asteroids" | "KungFuMaster" => 14,
            "JourneyEscape" => 16,
            "AirRaid" | "Bowling" | "Carnival" | "DemonAttack" | "NameThisGame" | "Pong"
            | "Pooyan" | "Qbert" | "SpaceInvaders" | "UpNDown" => 6,
            "Asterix" | "BeamRider" | "CrazyClimber" | "Enduro" | "MsPacman" | "VideoPinball" => 9,
            _ => 18,
        })
    }
}

impl fmt::Display for AtariGame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ALE/{}", self.name())
    }
}

/// The `[env]` settings of an Atari run. Defaults are Gymnasium's `ALE/<Game>-v5` with
/// `AtariPreprocessing` (sticky actions 0.25 as Machado et al. 2018 recommend, 108,000-frame
/// episodes, 30 no-ops, frame skip 4, 84×84, no life-loss terminal, no FIRE reset).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AtariOptions {
    /// A ROM file to load instead of the bundled one (named as ALE expects, e.g. `pong.bin`).
    pub rom_path: Option<PathBuf>,
    /// ALE's `repeat_action_probability` (sticky actions).
    pub repeat_action_probability: f64,
    /// Emulator frames per episode before truncation (0: none).
    pub max_episode_frames: u64,
    /// Up to this many no-op actions after each reset (0: none).
    pub noop_max: u32,
    /// Emulator frames per agent step (max over the last two).
    pub frame_skip: u32,
    /// Side of the square observation after resizing.
    pub screen_size: usize,
    /// A lost life ends the episode for learning (the game goes on).
    pub terminal_on_life_loss: bool,
    /// Press FIRE after each reset (games that wait for it, e.g. Breakout).
    pub fire_reset: bool,
}

impl Default for AtariOptions {
    fn default() -> Self {
        AtariOptions {
            rom_path: None,
            repeat_action_probability: 0.25,
            max_episode_frames: 108_000,
            noop_max: 30,
            frame_skip: 4,
            screen_size: 84,
            terminal_on_life_loss: false,
            fire_reset: false,
        }
    }
}

/// The preprocessed Atari env of `game`: one `screen_size`² grayscale frame per step.
#[cfg(feature = "atari")]
pub fn make(
    game: AtariGame,
    opts: &AtariOptions,
    seed: u32,
) -> Result<Box<dyn crate::Env<Elem = u8>>, ale::AleError> {
    use crate::Env;
    use preprocess::*;
    let mut base = ale::AleEnv::new(game, opts, seed)?;
    // FIRE is ALE action 1; only games whose minimal set has it there wait for it.
    let has_fire = base.emulator().minimal_actions().get(1) == Some(&1);
    let mut env: Box<dyn Env<Elem = u8>> = Box::new(base);
    // Stable-Baselines3's order: no-ops and skipping on emulator frames, then life loss on
    // agent steps, then FIRE (held for a whole agent step) after every reset, lives included.
    if opts.noop_max > 0 {
        env = Box::new(NoopReset::new(env, opts.noop_max));
    }
    if opts.frame_skip > 1 {
        env = Box::new(MaxAndSkip::new(env, opts.frame_skip));
    }
    if opts.terminal_on_life_loss {
        env = Box::new(EpisodicLife::new(env));
    }
    if opts.fire_reset && has_fire && env.num_actions() >= 3 {
        env = Box::new(FireReset::new(env));
    }
    Ok(Box::new(Resize::new(
        env,
        opts.screen_size,
        opts.screen_size,
    )))
}
