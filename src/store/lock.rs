//! One writer per run: an advisory lock on `<run>/.lock` (`flock`), held while a sweep checks,
//! trains and stores the run. The kernel drops it when its process ends, however it ends, so a
//! killed sweep never blocks the next one. Lock files stay behind, empty of meaning: only a
//! held lock counts. On network file systems this relies on their lock support (NFSv4 locks,
//! Lustre mounted with `flock`).

use super::StoreError;
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

/// The lock file of a run folder.
pub const LOCK_FILE: &str = ".lock";

/// A held folder lock (a run's, or an experiment's report); released on drop.
#[derive(Debug)]
pub struct DirLock {
    file: File,
    path: PathBuf,
}

/// The outcome of trying to take a lock without waiting.
#[derive(Debug)]
pub enum Claim {
    Held(DirLock),
    /// Another live process holds it; it said who (`pid … on host …`), if it could.
    Busy {
        holder: String,
    },
}

fn open(dir: &Path) -> Result<(File, PathBuf), StoreError> {
    std::fs::create_dir_all(dir).map_err(|e| StoreError::io(dir, e))?;
    let path = dir.join(LOCK_FILE);
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(|e| StoreError::io(&path, e))?;
    Ok((file, path))
}

impl DirLock {
    /// Take the lock of `dir` if no other process holds it.
    pub fn try_claim(dir: &Path) -> Result<Claim, StoreError> {
        let (mut file, path) = open(dir)?;
        match file.try_lock() {
            Ok(()) => Ok(Claim::Held(DirLock::signed(file, path)?)),
            Err(TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                Ok(Claim::Busy {
                    holder: holder.trim().to_owned(),
                })
            }
            Err(TryLockError::Error(e)) => Err(StoreError::io(&path, e)),
        }
    }

    /// Take the lock of `dir`, waiting for its holder to finish.
    pub fn claim(dir: &Path) -> Result<DirLock, StoreError> {
        let (file, path) = open(dir)?;
        file.lock().map_err(|e| StoreError::io(&path, e))?;
        DirLock::signed(file, path)
    }

    /// Whether some live process holds the lock of `dir` now (no lock file: no).
    pub fn is_held(dir: &Path) -> bool {
        let Ok(file) = File::open(dir.join(LOCK_FILE)) else {
            return false;
        };
        match file.try_lock_shared() {
            Ok(()) => {
                let _ = file.unlock();
                false
            }
            Err(_) => true,
        }
    }

    /// Write who holds the lock into the file, for the messages of those who wait.
    fn signed(mut file: File, path: PathBuf) -> Result<DirLock, StoreError> {
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_owned())
            .unwrap_or_else(|_| "this host".into());
        let who = format!("pid {} on {host}\n", std::process::id());
        let io = |e| StoreError::io(&path, e);
        file.set_len(0).map_err(io)?;
        file.rewind().map_err(io)?;
        file.write_all(who.as_bytes()).map_err(io)?;
        Ok(DirLock { file, path })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for DirLock {
    fn drop(&mut self) {
        let _ = self.file.unlock();
    }
}

/// Remove the temporary files a killed writer left in `dir` (`write_atomic`'s `.tmp-*`).
/// Call only while holding the lock that covers `dir`'s writers. Returns how many it removed.
pub fn remove_stale_temp_files(dir: &Path) -> Result<usize, StoreError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(StoreError::io(dir, e)),
    };
    let mut removed = 0;
    for entry in entries {
        let entry = entry.map_err(|e| StoreError::io(dir, e))?;
        let name = entry.file_name();
        let stale = name.to_string_lossy().starts_with(super::TEMP_PREFIX);
        if stale && entry.file_type().is_ok_and(|t| t.is_file()) {
            std::fs::remove_file(entry.path()).map_err(|e| StoreError::io(&entry.path(), e))?;
            removed += 1;
        }
    }
    Ok(removed)
}

/// [`remove_stale_temp_files`] in `dir` and every folder below it except those named `skip`
/// (e.g. `runs`, whose folders have locks of their own).
pub fn remove_stale_temp_files_below(dir: &Path, skip: &str) -> Result<usize, StoreError> {
    let mut removed = remove_stale_temp_files(dir)?;
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(removed);
    };
    for entry in entries.filter_map(|e| e.ok()) {
        if entry.file_type().is_ok_and(|t| t.is_dir()) && entry.file_name() != skip {
            removed += remove_stale_temp_files_below(&entry.path(), skip)?;
        }
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_held_lock_is_busy_for_others_and_free_once_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let held = match DirLock::try_claim(dir.path()).unwrap() {
            Claim::Held(l) => l,
            Claim::Busy { .. } => panic!("nobody holds it yet"),
        };
        assert!(DirLock::is_held(dir.path()));
        match DirLock::try_claim(dir.path()).unwrap() {
            Claim::Busy { holder } => assert!(holder.contains(&std::process::id().to_string())),
            Claim::Held(_) => panic!("a second claim must not succeed"),
        }
        drop(held);
        assert!(!DirLock::is_held(dir.path()));
        assert!(matches!(
            DirLock::try_claim(dir.path()).unwrap(),
            Claim::Held(_)
        ));
    }

    #[test]
    fn stale_temp_files_are_removed_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(".tmp-abc123"), b"half").unwrap();
        std::fs::write(dir.path().join("run.json"), b"{}").unwrap();
        assert_eq!(remove_stale_temp_files(dir.path()).unwrap(), 1);
        assert!(dir.path().join("run.json").exists());
        assert!(!dir.path().join(".tmp-abc123").exists());
        assert_eq!(
            remove_stale_temp_files(&dir.path().join("absent")).unwrap(),
            0
        );
        let nested = dir.path().join("by-env/breakout");
        std::fs::create_dir_all(&nested).unwrap();
        std::fs::create_dir_all(dir.path().join("runs/p/seed-0")).unwrap();
        std::fs::write(nested.join(".tmp-chart.png"), b"").unwrap();
        std::fs::write(dir.path().join("runs/p/seed-0/.tmp-x"), b"").unwrap();
        assert_eq!(
            remove_stale_temp_files_below(dir.path(), "runs").unwrap(),
            1
        );
        assert!(dir.path().join("runs/p/seed-0/.tmp-x").exists());
    }
}
