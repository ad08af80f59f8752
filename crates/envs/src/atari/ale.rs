//! The Arcade Learning Environment (ALE 0.6.0, built by `ale-sys`) behind a safe handle, and
//! [`AleEnv`]: one emulator frame per step, the 210×160 grayscale screen as the observation,
//! the game's minimal action set, sticky actions inside the emulator, and the episode frame
//! cap as truncation. Preprocessing lives in [`super::preprocess`].

use super::{AtariGame, AtariOptions};
use crate::state::{decode, encode, same};
use crate::{Env, EnvStateError, ObsShape, Step};
use serde::{Deserialize, Serialize};
use std::ffi::CString;
use std::ptr::NonNull;
use std::sync::Mutex;

// ALE is C++: the static library needs the C++ runtime.
#[link(name = "stdc++")]
extern "C" {}

/// Screen height and width of every ALE game.
pub const SCREEN: (usize, usize) = (210, 160);

#[derive(Debug, thiserror::Error)]
pub enum AleError {
    #[error("{0}: no ROM bundled under this name")]
    NoRom(String),
    #[error("{path}: {message}")]
    Rom { path: String, message: String },
}

/// ALE 0.6.0 loads a ROM through process-wide state without a lock: `Cartridge::create` assigns
/// the static `std::string Cartridge::myAboutString` (`emucore/Cart.cxx`) and
/// `Settings::getString` hands out a function-local static string. Two threads loading at once
/// race on those strings' heap buffers, which corrupts the heap (CI's `pong-smoke` aborted with
/// `malloc(): unaligned tcache chunk detected`; `valgrind --tool=helgrind` on
/// `tests/atari.rs::emulators_load_on_many_threads_at_once` shows the races). Creating,
/// loading and deleting an emulator therefore hold this lock; stepping one does not (helgrind
/// finds no race there), so parallel runs still emulate in parallel.
static ALE_LIFECYCLE: Mutex<()> = Mutex::new(());

/// One emulator instance.
pub struct Emulator {
    ptr: NonNull<ale_sys::ALEInterface>,
    minimal: Vec<i32>,
}

// SAFETY: an ALEInterface owns all its state; it is used by one thread at a time (`&mut self`
// for everything that touches it) and never shared.
unsafe impl Send for Emulator {}

impl Emulator {
    /// An emulator running `rom` (a file ALE can recognise by name, e.g. `pong.bin`), with ALE's
    /// `random_seed` and `repeat_action_probability` set before the ROM loads (they take effect
    /// only then; ALE's own default stickiness is 0.25).
    pub fn load(
        rom: &std::path::Path,
        seed: i32,
        repeat_action_probability: f32,
    ) -> Result<Self, AleError> {
        let rom_err = |message: &str| AleError::Rom {
            path: rom.display().to_string(),
            message: message.to_owned(),
        };
        if !rom.is_file() {
            return Err(rom_err("no such ROM file"));
        }
        let path = CString::new(rom.to_string_lossy().as_bytes())
            .map_err(|_| rom_err("path holds a NUL byte"))?;
        // A poisoned lock only means another load panicked; ALE's statics are still whole.
        let _lifecycle = ALE_LIFECYCLE.lock().unwrap_or_else(|e| e.into_inner());
        // SAFETY: plain C calls on a fresh instance, one load at a time (`ALE_LIFECYCLE`); keys
        // and paths are NUL-terminated strings that outlive the calls.
        unsafe {
            ale_sys::setLoggerMode(2); // errors only
            let ptr = NonNull::new(ale_sys::ALE_new()).ok_or_else(|| rom_err("ALE_new failed"))?;
            let key = |k: &str| CString::new(k).expect("static key");
            ale_sys::setInt(ptr.as_ptr(), key("random_seed").as_ptr(), seed);
            ale_sys::setFloat(
                ptr.as_ptr(),
                key("repeat_action_probability").as_ptr(),
                repeat_action_probability,
            );
            ale_sys::setInt(ptr.as_ptr(), key("frame_skip").as_ptr(), 1);
            ale_sys::loadROM(ptr.as_ptr(), path.as_ptr());
            let n = ale_sys::getMinimalActionSize(ptr.as_ptr());
            let mut minimal = vec![0i32; n.max(0) as usize];
            ale_sys::getMinimalActionSet(ptr.as_ptr(), minimal.as_mut_ptr());
            let emu = Emulator { ptr, minimal };
            if emu.minimal.is_empty() {
                return Err(rom_err("ALE did not recognise the ROM (it identifies games by file name, e.g. pong.bin)"));
            }
            Ok(emu)
        }
    }

    /// The game's minimal action set (ALE action codes).
    pub fn minimal_actions(&self) -> &[i32] {
        &self.minimal
    }

    /// Apply ALE action code `action` for one frame; the reward it earned.
    pub fn act(&mut self, action: i32) -> i32 {
        // SAFETY: a live instance, used through &mut self.
        unsafe { ale_sys::act(self.ptr.as_ptr(), action) }
    }

    pub fn game_over(&self) -> bool {
        unsafe { ale_sys::game_over(self.ptr.as_ptr()) }
    }

    pub fn reset(&mut self) {
        unsafe { ale_sys::reset_game(self.ptr.as_ptr()) }
    }

    pub fn lives(&self) -> u32 {
        unsafe { ale_sys::lives(self.ptr.as_ptr()) }.max(0) as u32
    }

    /// Frames since the episode began.
    pub fn episode_frame(&self) -> u64 {
        unsafe { ale_sys::getEpisodeFrameNumber(self.ptr.as_ptr()) }.max(0) as u64
    }

    /// The 210×160 grayscale screen (ALE's palette luminance).
    pub fn grayscale_into(&self, out: &mut [u8]) {
        assert_eq!(out.len(), SCREEN.0 * SCREEN.1);
        unsafe { ale_sys::getScreenGrayscale(self.ptr.as_ptr(), out.as_mut_ptr()) }
    }

    /// ALE's serialized system state (`cloneSystemState` then `encodeState`): CPU, RAM, TIA and
    /// cartridge, the generator behind sticky actions and start-up randomness, the frame
    /// counters and the game's score, lives and terminal flag. Not in it: the action sticky
    /// actions repeat (`m_player_a_action`), which `reset` sets to NOOP.
    pub fn system_state(&self) -> Vec<u8> {
        // SAFETY: a live instance; the state is read, encoded into a buffer of exactly its
        // length, and deleted once.
        unsafe {
            let state = ale_sys::cloneSystemState(self.ptr.as_ptr());
            let len = ale_sys::encodeStateLen(state);
            let mut buf = vec![0u8; len.max(0) as usize];
            ale_sys::encodeState(state, buf.as_mut_ptr().cast(), len);
            ale_sys::deleteState(state);
            buf
        }
    }

    /// Put back a state from [`Emulator::system_state`] of the same cartridge. ALE aborts the
    /// process on a malformed state and silently misreads one of another cartridge, so the
    /// layout and the cartridge's md5 are checked first.
    pub fn restore_system_state(&mut self, state: &[u8]) -> Result<(), String> {
        let current = self.system_state();
        let (saved_md5, md5) = (cartridge_md5(state)?, cartridge_md5(&current)?);
        if saved_md5 != md5 {
            return Err(format!(
                "saved for the cartridge with md5 {}, this one is {}",
                String::from_utf8_lossy(saved_md5),
                String::from_utf8_lossy(md5)
            ));
        }
        let len = i32::try_from(state.len()).map_err(|_| "too long".to_owned())?;
        // SAFETY: a live instance used through &mut self; `state` has the layout ALE wrote
        // (checked above); the decoded state is deleted once.
        unsafe {
            let decoded = ale_sys::decodeState(state.as_ptr().cast(), len);
            ale_sys::restoreSystemState(self.ptr.as_ptr(), decoded);
            ale_sys::deleteState(decoded);
        }
        Ok(())
    }

    /// The 210×160×3 RGB screen.
    pub fn rgb_into(&self, out: &mut [u8]) {
        assert_eq!(out.len(), SCREEN.0 * SCREEN.1 * 3);
        unsafe { ale_sys::getScreenRGB(self.ptr.as_ptr(), out.as_mut_ptr()) }
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _lifecycle = ALE_LIFECYCLE.lock().unwrap_or_else(|e| e.into_inner());
        // SAFETY: created by ALE_new, deleted once, outside any load (`ALE_LIFECYCLE`).
        unsafe { ale_sys::ALE_del(self.ptr.as_ptr()) }
    }
}

/// The md5 of the cartridge an encoded ALE 0.6 system state belongs to, once its layout is
/// checked: six 4-byte ints, the system part as a string (its 4-byte length, then
/// `putBool(true)` and the md5 as a string, then the devices), two more ints.
fn cartridge_md5(state: &[u8]) -> Result<&[u8], String> {
    let int = |at: usize| -> Option<u32> {
        let b = state.get(at..at + 4)?;
        Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    };
    let malformed = || format!("not an ALE system state ({} bytes)", state.len());
    let system_len = int(24).ok_or_else(malformed)? as usize;
    if state.len() != 24 + 4 + system_len + 8 || int(28) != Some(0xfab1_fab2) {
        return Err(malformed());
    }
    let md5_len = int(32).ok_or_else(malformed)? as usize;
    match state.get(36..36 + md5_len) {
        Some(md5) if 36 + md5_len <= 28 + system_len => Ok(md5),
        _ => Err(malformed()),
    }
}

/// The ROM file of `game`: `rom_path` when given, else the bundled ROM written to a temporary
/// folder under the file name ALE recognises. The folder lives as long as the returned guard.
pub fn rom_file(
    game: AtariGame,
    rom_path: Option<&std::path::Path>,
) -> Result<(std::path::PathBuf, Option<tempfile::TempDir>), AleError> {
    if let Some(p) = rom_path {
        return Ok((p.to_owned(), None));
    }
    let rom = super::bundled(game.name()).ok_or_else(|| AleError::NoRom(game.to_string()))?;
    let io = |e: std::io::Error| AleError::Rom {
        path: rom.filename().to_owned(),
        message: e.to_string(),
    };
    let dir = tempfile::tempdir().map_err(io)?;
    let path = dir.path().join(rom.filename());
    std::fs::write(&path, rom.data()).map_err(io)?;
    Ok((path, Some(dir)))
}

/// One emulator frame per step; observation = the grayscale screen.
pub struct AleEnv {
    emu: Emulator,
    game: AtariGame,
    repeat_action_probability: f32,
    max_frames: u64,
}

/// What an [`AleEnv`] saves: its settings (checked on load) and the emulator's system state.
#[derive(Serialize, Deserialize)]
struct AleSaved {
    game: String,
    repeat_action_probability: u32,
    max_frames: u64,
    system: Vec<u8>,
}

impl AleEnv {
    /// `game` as configured (ROM, sticky actions, frame cap), ALE seeded with `seed`.
    pub fn new(game: AtariGame, opts: &AtariOptions, seed: u32) -> Result<AleEnv, AleError> {
        let (path, _dir) = rom_file(game, opts.rom_path.as_deref())?;
        // ALE takes a signed seed; keep it non-negative as ale-py does.
        let seed = (seed & 0x7fff_ffff) as i32;
        let repeat_action_probability = opts.repeat_action_probability as f32;
        let emu = Emulator::load(&path, seed, repeat_action_probability)?;
        Ok(AleEnv {
            emu,
            game,
            repeat_action_probability,
            max_frames: opts.max_episode_frames,
        })
    }

    pub fn emulator(&mut self) -> &mut Emulator {
        &mut self.emu
    }
}

impl Env for AleEnv {
    type Elem = u8;

    fn obs_shape(&self) -> ObsShape {
        ObsShape {
            channels: 1,
            height: SCREEN.0,
            width: SCREEN.1,
        }
    }

    fn num_actions(&self) -> usize {
        self.emu.minimal.len()
    }

    fn reset_into(&mut self, _rng: &mut dyn rand::RngCore, obs: &mut [u8]) {
        self.emu.reset();
        self.emu.grayscale_into(obs);
    }

    fn step_into(&mut self, action: usize, obs: &mut [u8]) -> Step<()> {
        let code = self.emu.minimal[action];
        let reward = f64::from(self.emu.act(code));
        self.emu.grayscale_into(obs);
        let terminated = self.emu.game_over();
        let truncated =
            !terminated && self.max_frames > 0 && self.emu.episode_frame() >= self.max_frames;
        Step {
            observation: (),
            reward,
            terminated,
            truncated,
        }
    }

    fn time_limit(&self) -> Option<u32> {
        None
    }

    fn lives(&self) -> Option<u32> {
        Some(self.emu.lives())
    }

    /// `false`: ALE 0.6's state leaves out the action sticky actions repeat
    /// (`m_player_a_action`) and the last screen, so a mid-episode state loaded into another
    /// emulator may repeat another action on its first frame. The reset after an episode sets
    /// that action to NOOP and redraws the screen, so a state saved once an episode has ended
    /// (before the reset) is exact.
    fn saves_mid_episode(&self) -> bool {
        false
    }

    /// The emulator's system state ([`Emulator::system_state`]); exact at episode boundaries
    /// only (see [`AleEnv::saves_mid_episode`]).
    fn save_state(&self) -> Result<Vec<u8>, EnvStateError> {
        let saved = AleSaved {
            game: self.game.name().to_owned(),
            repeat_action_probability: self.repeat_action_probability.to_bits(),
            max_frames: self.max_frames,
            system: self.emu.system_state(),
        };
        encode("AleEnv", &saved)
    }

    fn load_state(&mut self, state: &[u8]) -> Result<(), EnvStateError> {
        let saved: AleSaved = decode("AleEnv", state)?;
        same("AleEnv", "game", saved.game.as_str(), self.game.name())?;
        let sticky = self.repeat_action_probability.to_bits();
        let what = "repeat_action_probability (bits)";
        same("AleEnv", what, saved.repeat_action_probability, sticky)?;
        same("AleEnv", "frame cap", saved.max_frames, self.max_frames)?;
        self.emu
            .restore_system_state(&saved.system)
            .map_err(|e| EnvStateError::Corrupt(format!("AleEnv: {e}")))
    }
}
