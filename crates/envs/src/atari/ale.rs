//! The Arcade Learning Environment (ALE 0.6.0, built by `ale-sys`) behind a safe handle, and
//! [`AleEnv`]: one emulator frame per step, the 210×160 grayscale screen as the observation,
//! the game's minimal action set, sticky actions inside the emulator, and the episode frame
//! cap as truncation. Preprocessing lives in [`super::preprocess`].

use super::{AtariGame, AtariOptions};
use crate::{Env, ObsShape, Step};
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
    max_frames: u64,
}

impl AleEnv {
    /// `game` as configured (ROM, sticky actions, frame cap), ALE seeded with `seed`.
    pub fn new(game: AtariGame, opts: &AtariOptions, seed: u32) -> Result<AleEnv, AleError> {
        let (path, _dir) = rom_file(game, opts.rom_path.as_deref())?;
        // ALE takes a signed seed; keep it non-negative as ale-py does.
        let seed = (seed & 0x7fff_ffff) as i32;
        let emu = Emulator::load(&path, seed, opts.repeat_action_probability as f32)?;
        Ok(AleEnv {
            emu,
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
}
