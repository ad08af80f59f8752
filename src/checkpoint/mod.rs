//! In-run checkpoints: what a run needs to go on bit for bit after its process is killed, in
//! the run's folder.
//!
//! ```text
//! runs/<point>/seed-<n>/checkpoint/
//!   state.bin        header (magic, format, length, SHA-256) + the run's state (postcard):
//!                    build and run id, the loop's and the agent's state, and how much of the
//!                    frame log counts; written atomically (temp file + rename)
//!   frames-<g>.log   the replay's frames, appended at each checkpoint (only those pushed since
//!                    the last one) in checksummed records; rewritten with only the live frames
//!                    (generation g + 1) once it holds twice as many
//!   progress.json    steps done, budget, episodes and wall time (`sweep plan`)
//!   episodes.csv     the episodes so far (`sweep report --partial`)
//! ```
//! A checkpoint of another build or run, or one that fails its checks, is refused: the run
//! starts again from step 0.

pub mod frames_log;

use crate::fault::Faulty;
use crate::store::{write_atomic_with, StoreError};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::{Path, PathBuf};

pub use frames_log::{FramesLog, LogRef};

/// The folder of a run's checkpoint, inside the run's folder.
pub const DIR: &str = "checkpoint";
const STATE: &str = "state.bin";
const PROGRESS: &str = "progress.json";
pub const EPISODES: &str = "episodes.csv";
const MAGIC: &[u8; 8] = b"DQNCKPT\0";
/// Bumped whenever what a checkpoint holds changes shape.
const FORMAT: u32 = 1;
const HEADER: usize = 8 + 4 + 8 + 32;

/// The checkpoint folder of the run folder `run_dir`.
pub fn dir_of(run_dir: &Path) -> PathBuf {
    run_dir.join(DIR)
}

/// A run's saved state (`state.bin`'s payload).
#[derive(Debug, Serialize, Deserialize)]
pub struct Saved {
    /// [`crate::fingerprint::Build::id`] of the build that wrote it.
    pub build: String,
    /// [`crate::fingerprint::run_id`] of the run.
    pub run_id: String,
    /// Env steps done.
    pub steps: u64,
    /// The part of the frame log this state goes with.
    pub frames: LogRef,
    /// The training loop's state (postcard).
    pub run: Vec<u8>,
    /// The agent's state without its frames (postcard).
    pub agent: Vec<u8>,
}

/// Why a checkpoint was not used.
#[derive(Debug, thiserror::Error)]
pub enum Refused {
    #[error("{0} is not a checkpoint of this format: {1}")]
    Corrupt(PathBuf, String),
    #[error("it was written by another build ({0})")]
    OtherBuild(String),
    #[error("it belongs to another config (run id {0})")]
    OtherRun(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Write `state.bin` atomically; returns its size in bytes.
pub fn write_state(dir: &Path, saved: &Saved) -> Result<u64, StoreError> {
    let path = dir.join(STATE);
    let payload = postcard::to_allocvec(saved).map_err(|e| StoreError::format(&path, e))?;
    let digest = Sha256::digest(&payload);
    write_atomic_with(&path, |w| {
        let mut w = Faulty(w, &path);
        w.write_all(MAGIC)?;
        w.write_all(&FORMAT.to_le_bytes())?;
        w.write_all(&(payload.len() as u64).to_le_bytes())?;
        w.write_all(&digest)?;
        w.write_all(&payload)
    })?;
    Ok((HEADER + payload.len()) as u64)
}

/// The checkpoint in `dir`, if there is one, checked against this build and run.
pub fn read_state(dir: &Path, build: &str, run_id: &str) -> Result<Option<Saved>, Refused> {
    let path = dir.join(STATE);
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(StoreError::io(&path, e).into()),
    };
    let corrupt = |why: &str| Refused::Corrupt(path.clone(), why.to_owned());
    if bytes.len() < HEADER || &bytes[..8] != MAGIC {
        return Err(corrupt("no checkpoint header"));
    }
    let format = u32::from_le_bytes(bytes[8..12].try_into().expect("4 bytes"));
    if format != FORMAT {
        return Err(corrupt(&format!(
            "format {format}, this build reads {FORMAT}"
        )));
    }
    let len = u64::from_le_bytes(bytes[12..20].try_into().expect("8 bytes"));
    let payload = &bytes[HEADER..];
    if payload.len() as u64 != len {
        return Err(corrupt(&format!(
            "truncated: {} bytes of {len}",
            payload.len()
        )));
    }
    if Sha256::digest(payload).as_slice() != &bytes[20..52] {
        return Err(corrupt("checksum mismatch"));
    }
    let saved: Saved = postcard::from_bytes(payload).map_err(|e| corrupt(&e.to_string()))?;
    if saved.build != build {
        return Err(Refused::OtherBuild(saved.build));
    }
    if saved.run_id != run_id {
        return Err(Refused::OtherRun(saved.run_id));
    }
    Ok(Some(saved))
}

/// How far a checkpointed run got (`progress.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    pub steps: u64,
    /// The step budget, if the run has one.
    pub budget: Option<u64>,
    pub episodes: u32,
    /// The episode budget, if the run has one.
    pub max_episodes: Option<u32>,
    /// Training seconds so far, over every process that worked on the run.
    pub wall_s: f64,
}

impl Progress {
    /// The fraction of the run done (0–1).
    pub fn fraction(&self) -> f64 {
        match (self.budget, self.max_episodes) {
            (Some(b), _) => self.steps as f64 / b.max(1) as f64,
            (None, Some(e)) => f64::from(self.episodes) / f64::from(e.max(1)),
            (None, None) => 0.0,
        }
    }

    /// Seconds left at the pace so far, once there is a pace.
    pub fn eta_s(&self) -> Option<f64> {
        let f = self.fraction();
        (f > 0.0 && self.wall_s > 0.0).then(|| self.wall_s * (1.0 - f) / f)
    }
}

pub fn write_progress(dir: &Path, p: &Progress) -> Result<(), StoreError> {
    let json = serde_json::to_vec_pretty(p).expect("progress serialises");
    crate::store::write_atomic(&dir.join(PROGRESS), &json)
}

/// The progress of the checkpoint in the run folder `run_dir`, if it has one.
pub fn read_progress(run_dir: &Path) -> Option<Progress> {
    let bytes = std::fs::read(dir_of(run_dir).join(PROGRESS)).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Remove a run's checkpoint (finished, failed, or refused).
pub fn remove(run_dir: &Path) -> Result<(), StoreError> {
    let dir = dir_of(run_dir);
    match std::fs::remove_dir_all(&dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(StoreError::io(&dir, e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn saved(build: &str, run_id: &str) -> Saved {
        Saved {
            build: build.into(),
            run_id: run_id.into(),
            steps: 7,
            frames: LogRef::default(),
            run: vec![1, 2, 3],
            agent: vec![4; 1000],
        }
    }

    #[test]
    fn a_checkpoint_is_read_back_only_by_its_build_and_run() {
        let dir = tempfile::tempdir().unwrap();
        assert!(read_state(dir.path(), "b", "r").unwrap().is_none());
        let bytes = write_state(dir.path(), &saved("b", "r")).unwrap();
        assert_eq!(
            bytes,
            std::fs::metadata(dir.path().join(STATE)).unwrap().len()
        );
        let back = read_state(dir.path(), "b", "r").unwrap().expect("there");
        assert_eq!(
            (back.steps, back.run, back.agent),
            (7, vec![1, 2, 3], vec![4; 1000])
        );
        let other_build = read_state(dir.path(), "other", "r").unwrap_err();
        assert!(
            other_build.to_string().contains("another build (b)"),
            "{other_build}"
        );
        let other_run = read_state(dir.path(), "b", "x").unwrap_err();
        assert!(
            other_run.to_string().contains("another config"),
            "{other_run}"
        );
    }

    #[test]
    fn every_truncation_and_every_flipped_byte_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        write_state(dir.path(), &saved("b", "r")).unwrap();
        let path = dir.path().join(STATE);
        let good = std::fs::read(&path).unwrap();
        for cut in 0..good.len() {
            std::fs::write(&path, &good[..cut]).unwrap();
            assert!(read_state(dir.path(), "b", "r").is_err(), "cut at {cut}");
        }
        for at in 0..good.len() {
            let mut bad = good.clone();
            bad[at] ^= 1;
            std::fs::write(&path, &bad).unwrap();
            assert!(
                read_state(dir.path(), "b", "r").is_err(),
                "byte {at} flipped"
            );
        }
    }
}
