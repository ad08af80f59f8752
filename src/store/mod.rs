//! The results layout on disk, written atomically (temp file + rename in the same folder).
//!
//! ```text
//! results/<experiment>/
//!   runs/<grid-point>/seed-<n>/config.json    resolved RunConfig
//!                              episodes.csv   per-episode table
//!                              run.json       status, evaluation, cost (written last)
//!                              .lock          held while a sweep works on the run
//!   runs.csv  summary.csv  summary.md  charts …
//! ```
//! A run whose `run.json` says `ok` and whose `config.json` equals the requested config is
//! finished: a re-started sweep reuses it instead of training again, if this build's
//! fingerprint ([`crate::fingerprint::Build`]) matches the one it records.

pub mod lock;
pub mod merge;
mod records;

pub use records::{EpisodeRecord, EvalPoint};

use crate::config::RunConfig;
use crate::fingerprint::Build;
use polars::prelude::*;
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Format { path: PathBuf, message: String },
}

impl StoreError {
    pub fn io(path: &Path, source: std::io::Error) -> Self {
        StoreError::Io {
            path: path.to_owned(),
            source,
        }
    }
    pub fn format(path: &Path, message: impl ToString) -> Self {
        StoreError::Format {
            path: path.to_owned(),
            message: message.to_string(),
        }
    }
}

/// How `write_atomic`'s temporary files start; any left behind are a killed writer's.
pub const TEMP_PREFIX: &str = ".tmp-";

/// Write `bytes` to `path` so that readers see the old file or the whole new one, never a part.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    write_atomic_with(path, |w| w.write_all(bytes))
}

/// [`write_atomic`] of what `write` writes (through a buffer) to the writer it is given.
pub fn write_atomic_with(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<(), StoreError> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| StoreError::io(dir, e))?;
    let mut tmp = tempfile::Builder::new()
        .prefix(TEMP_PREFIX)
        .tempfile_in(dir)
        .map_err(|e| StoreError::io(dir, e))?;
    {
        let mut buf = std::io::BufWriter::with_capacity(1 << 20, tmp.as_file_mut());
        write(&mut buf)
            .and_then(|()| buf.flush())
            .map_err(|e| StoreError::io(path, e))?;
    }
    tmp.as_file()
        .sync_all()
        .map_err(|e| StoreError::io(path, e))?;
    // Results are ordinary shared files, not tempfile's private 0600 ones.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let perms = std::fs::Permissions::from_mode(0o644);
        tmp.as_file()
            .set_permissions(perms)
            .map_err(|e| StoreError::io(path, e))?;
    }
    tmp.persist(path)
        .map_err(|e| StoreError::io(path, e.error))?;
    Ok(())
}

/// A DataFrame as CSV text (header included).
pub fn csv_bytes(df: &mut DataFrame) -> Result<Vec<u8>, PolarsError> {
    let mut buf = Vec::new();
    // One thread: with more, polars waits on its own rayon pool, and a sweep worker waiting
    // there steals and runs another whole training run before this one's files are written.
    CsvWriter::new(&mut buf)
        .include_header(true)
        .n_threads(1)
        .finish(df)?;
    Ok(buf)
}

pub fn write_csv(path: &Path, df: &mut DataFrame) -> Result<(), StoreError> {
    let bytes = csv_bytes(df).map_err(|e| StoreError::format(path, e))?;
    write_atomic(path, &bytes)
}

pub fn read_csv(path: &Path) -> Result<DataFrame, StoreError> {
    let read = || {
        CsvReadOptions::default()
            .with_has_header(true)
            .with_n_threads(Some(1))
            .with_infer_schema_length(None)
            .try_into_reader_with_file_path(Some(path.to_owned()))
            .and_then(|r| r.finish())
            .map_err(|e| StoreError::format(path, e))
    };
    // polars runs its reader on its own rayon pool; a rayon worker that waits there steals
    // other jobs of its pool meanwhile, and with thousands of runs to read those are more
    // reads, nested until the stack overflows (seen with 10,000 runs). A plain thread waits
    // without stealing.
    if rayon::current_thread_index().is_some() {
        std::thread::scope(|s| s.spawn(read).join().expect("the CSV reader does not panic"))
    } else {
        read()
    }
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "lowercase")]
pub enum RunStatus {
    Ok,
    Failed { reason: String },
}

/// `run.json`: everything about a run except its per-episode table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunInfo {
    /// The `dqn-sweep` version that trained the run.
    pub version: String,
    /// The run's identity: a hash of its resolved config (`config.json`), seed included.
    #[serde(default)]
    pub run_id: String,
    /// The build that trained it (training code, `Cargo.lock`, matrix kernels); runs from
    /// another build are not reused.
    #[serde(flatten)]
    pub build: Build,
    pub grid_point: String,
    pub seed: u64,
    #[serde(flatten)]
    pub status: RunStatus,
    pub eval_returns: Vec<f64>,
    /// Periodic evaluations during training (`train.eval_interval`; empty when off).
    #[serde(default)]
    pub evaluations: Vec<EvalPoint>,
    pub env_steps: u64,
    /// Replay memory per stored transition at the end of training, in bytes.
    #[serde(default)]
    pub replay_bytes_per_transition: f64,
    pub wall_s: f64,
}

/// A run as stored (or about to be).
#[derive(Debug, Clone, PartialEq)]
pub struct StoredRun {
    pub config: RunConfig,
    pub info: RunInfo,
    pub episodes: Vec<EpisodeRecord>,
}

/// `results/<experiment>/`.
#[derive(Debug, Clone)]
pub struct ExperimentDir {
    pub root: PathBuf,
}

impl ExperimentDir {
    pub fn new(results: &Path, experiment: &str) -> Self {
        ExperimentDir {
            root: results.join(experiment),
        }
    }

    pub fn run_dir(&self, slug: &str, seed: u64) -> PathBuf {
        self.root
            .join("runs")
            .join(slug)
            .join(format!("seed-{seed}"))
    }

    pub fn file(&self, name: &str) -> PathBuf {
        self.root.join(name)
    }

    /// Store a run: config and episodes first, `run.json` last (it marks the run finished).
    pub fn save_run(&self, slug: &str, run: &StoredRun) -> Result<(), StoreError> {
        let dir = self.run_dir(slug, run.config.seed);
        // Unmark first: a crash mid-way must not leave an old "finished" marker beside new files.
        match std::fs::remove_file(dir.join("run.json")) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(StoreError::io(&dir.join("run.json"), e)),
        }
        let config = serde_json::to_vec_pretty(&run.config).expect("config serialises");
        write_atomic(&dir.join("config.json"), &config)?;
        let mut df = episodes_frame(&run.episodes).map_err(|e| StoreError::format(&dir, e))?;
        write_csv(&dir.join("episodes.csv"), &mut df)?;
        let info = serde_json::to_vec_pretty(&run.info).expect("run info serialises");
        write_atomic(&dir.join("run.json"), &info)
    }

    /// A finished run of `config` trained by this build, if stored.
    pub fn load_finished(&self, slug: &str, config: &RunConfig) -> Option<StoredRun> {
        match self.lookup(slug, config) {
            Lookup::Finished(run) => Some(run),
            _ => None,
        }
    }

    /// What is stored for `config`: a finished run of this build, one of another build, or
    /// nothing usable (absent, failed, incomplete or another config).
    pub fn lookup(&self, slug: &str, config: &RunConfig) -> Lookup {
        match self.load_stored(slug, config) {
            Some(run) if run.info.build == Build::current() => Lookup::Finished(run),
            Some(run) => Lookup::OtherBuild(run),
            None => Lookup::Missing,
        }
    }

    /// A finished, complete run of exactly `config`, whatever build trained it
    /// (`info.build` says which).
    pub fn load_stored(&self, slug: &str, config: &RunConfig) -> Option<StoredRun> {
        let dir = self.run_dir(slug, config.seed);
        let info: RunInfo =
            serde_json::from_slice(&std::fs::read(dir.join("run.json")).ok()?).ok()?;
        let stored: RunConfig =
            serde_json::from_slice(&std::fs::read(dir.join("config.json")).ok()?).ok()?;
        let complete = info.status == RunStatus::Ok
            && info.eval_returns.len() == config.train.eval_episodes as usize;
        if !complete || &stored != config {
            return None;
        }
        let df = read_csv(&dir.join("episodes.csv")).ok()?;
        let episodes = episodes_from_frame(&df).ok()?;
        // With a step budget the episode count is whatever the budget allowed.
        let all_episodes =
            config.train.steps.is_some() || config.train.episodes == Some(episodes.len() as u32);
        all_episodes.then_some(StoredRun {
            config: stored,
            info,
            episodes,
        })
    }
}

/// What a results folder holds for one requested run.
#[derive(Debug)]
pub enum Lookup {
    /// Finished by this build: reusable.
    Finished(StoredRun),
    /// Finished, same config, but by another build: not reused.
    OtherBuild(StoredRun),
    Missing,
}

pub const EPISODE_COLUMNS: [&str; 10] = [
    "episode",
    "return",
    "length",
    "steps",
    "loss",
    "epsilon",
    "mean_max_q",
    "q_pred",
    "q_mc",
    "wall_s",
];

/// The per-episode table of one run.
pub fn episodes_frame(eps: &[EpisodeRecord]) -> PolarsResult<DataFrame> {
    let col = |f: fn(&EpisodeRecord) -> f64| eps.iter().map(f).collect::<Vec<f64>>();
    df!(
        "episode" => eps.iter().map(|e| e.episode).collect::<Vec<u32>>(),
        "return" => col(|e| e.ret),
        "length" => eps.iter().map(|e| e.length).collect::<Vec<u32>>(),
        "steps" => eps.iter().map(|e| e.steps).collect::<Vec<u64>>(),
        "loss" => col(|e| e.loss),
        "epsilon" => col(|e| e.epsilon),
        "mean_max_q" => col(|e| e.mean_max_q),
        "q_pred" => col(|e| e.q_pred),
        "q_mc" => col(|e| e.q_mc),
        "q_abs_err" => col(|e| e.q_abs_err),
        "wall_s" => col(|e| e.wall_s),
    )
}

/// Read back a per-episode table (as written by [`episodes_frame`]).
pub fn episodes_from_frame(df: &DataFrame) -> PolarsResult<Vec<EpisodeRecord>> {
    let f = |name: &str| -> PolarsResult<Vec<f64>> {
        let c = df.column(name)?.cast(&DataType::Float64)?;
        Ok(c.f64()?.iter().map(|v| v.unwrap_or(f64::NAN)).collect())
    };
    let u = |name: &str| -> PolarsResult<Vec<u64>> {
        let c = df.column(name)?.cast(&DataType::UInt64)?;
        Ok(c.u64()?.iter().map(|v| v.unwrap_or(0)).collect())
    };
    let (episode, ret, length, steps) = (u("episode")?, f("return")?, u("length")?, u("steps")?);
    let (loss, epsilon, mmq) = (f("loss")?, f("epsilon")?, f("mean_max_q")?);
    let (q_pred, q_mc, q_abs_err, wall) = (f("q_pred")?, f("q_mc")?, f("q_abs_err")?, f("wall_s")?);
    Ok((0..df.height())
        .map(|i| EpisodeRecord {
            episode: episode[i] as u32,
            ret: ret[i],
            length: length[i] as u32,
            steps: steps[i],
            loss: loss[i],
            epsilon: epsilon[i],
            mean_max_q: mmq[i],
            q_pred: q_pred[i],
            q_mc: q_mc[i],
            q_abs_err: q_abs_err[i],
            wall_s: wall[i],
        })
        .collect())
}
