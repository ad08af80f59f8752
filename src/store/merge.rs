//! `sweep merge`: gather results folders written on different machines (node-local disks of
//! cluster tasks) into one. Every finished run is copied unless the destination already holds
//! it; a run stored on both sides must agree in config and results (timings and build aside),
//! otherwise it is refused and reported. Copies are written like a sweep writes a run: under
//! the run's lock, `run.json` last.

use super::lock::{remove_stale_temp_files, DirLock};
use super::{write_atomic, RunStatus, StoreError};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// Files of a stored run, in the order they are written (`run.json` last marks it finished).
const RUN_FILES: [&str; 3] = ["config.json", "episodes.csv", "run.json"];
/// The run's own chart, drawn when it was stored; copied when present.
const RUN_CHARTS: [&str; 2] = ["reward.png", "reward.svg"];
/// Fields of `run.json` that differ between identical runs: when and with what they ran.
const NOT_CONTENT: [&str; 5] = ["wall_s", "version", "code", "lock", "kernel"];

/// What a merge did.
#[derive(Debug, Default)]
pub struct MergeSummary {
    /// Runs copied into the destination.
    pub copied: usize,
    /// Runs the destination already held with the same content.
    pub identical: usize,
    /// Runs not copied because they are unfinished or failed in their source.
    pub unfinished: usize,
    /// Runs refused: same run, different content.
    pub conflicts: Vec<Conflict>,
}

/// A run stored differently in a source and in the destination.
#[derive(Debug)]
pub struct Conflict {
    /// `<experiment>/runs/<grid point>/seed-<n>`.
    pub run: PathBuf,
    pub source: PathBuf,
    pub why: String,
}

/// Copy the finished runs of every results root in `sources` into the results root `dest`.
pub fn merge(sources: &[PathBuf], dest: &Path) -> Result<MergeSummary, StoreError> {
    let mut summary = MergeSummary::default();
    for source in sources {
        let same = |a: &Path, b: &Path| {
            a.canonicalize()
                .ok()
                .is_some_and(|a| Some(a) == b.canonicalize().ok())
        };
        if same(source, dest) {
            return Err(StoreError::format(source, "is the destination itself"));
        }
        for run in run_dirs(source)? {
            merge_run(source, &run, dest, &mut summary)?;
        }
    }
    Ok(summary)
}

/// Run folders under a results root, relative to it: `<exp>/runs/<point>/seed-<n>`, sorted.
fn run_dirs(root: &Path) -> Result<Vec<PathBuf>, StoreError> {
    let list = |dir: &Path| -> Result<Vec<PathBuf>, StoreError> {
        let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(|e| StoreError::io(dir, e))?
            .filter_map(|e| e.ok())
            .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
            .map(|e| e.path())
            .collect();
        v.sort();
        Ok(v)
    };
    let mut out = Vec::new();
    for exp in list(root)? {
        let runs = exp.join("runs");
        if !runs.is_dir() {
            continue;
        }
        for point in list(&runs)? {
            for seed in list(&point)? {
                let name = seed.file_name().map(|n| n.to_string_lossy().into_owned());
                if name.is_some_and(|n| n.starts_with("seed-")) {
                    let rel = seed.strip_prefix(root).expect("under root").to_owned();
                    out.push(rel);
                }
            }
        }
    }
    Ok(out)
}

fn merge_run(
    source: &Path,
    rel: &Path,
    dest: &Path,
    summary: &mut MergeSummary,
) -> Result<(), StoreError> {
    let from = source.join(rel);
    let Some(theirs) = RunContent::read(&from)? else {
        summary.unfinished += 1;
        return Ok(());
    };
    let to = dest.join(rel);
    let _lock = DirLock::claim(&to)?;
    remove_stale_temp_files(&to)?;
    match RunContent::read(&to)? {
        Some(ours) if ours == theirs => summary.identical += 1,
        Some(ours) => summary.conflicts.push(Conflict {
            run: rel.to_owned(),
            source: source.to_owned(),
            why: ours.difference(&theirs),
        }),
        None => {
            // Unmark first, as a sweep does: a crash mid-copy leaves an unfinished run.
            match std::fs::remove_file(to.join("run.json")) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(StoreError::io(&to.join("run.json"), e))
                }
                _ => {}
            }
            let charts = RUN_CHARTS.iter().filter(|f| from.join(f).is_file());
            for f in charts.chain(&RUN_FILES) {
                let bytes = std::fs::read(from.join(f)).map_err(|e| StoreError::io(&from, e))?;
                write_atomic(&to.join(f), &bytes)?;
            }
            summary.copied += 1;
        }
    }
    Ok(())
}

/// What two copies of a run must agree on.
#[derive(Debug, PartialEq)]
struct RunContent {
    config: Value,
    /// `run.json` without timing and build fields.
    info: Value,
    /// `episodes.csv` cells without the wall-clock column.
    episodes: Vec<Vec<String>>,
}

impl RunContent {
    /// The content of a finished, successful run in `dir`; `None` if it is not one.
    fn read(dir: &Path) -> Result<Option<RunContent>, StoreError> {
        let json = |name: &str| -> Option<Value> {
            serde_json::from_slice(&std::fs::read(dir.join(name)).ok()?).ok()
        };
        let (Some(mut info), Some(config)) = (json("run.json"), json("config.json")) else {
            return Ok(None);
        };
        let status: Option<RunStatus> = serde_json::from_value(info.clone()).ok();
        if status != Some(RunStatus::Ok) {
            return Ok(None);
        }
        if let Value::Object(map) = &mut info {
            for k in NOT_CONTENT {
                map.shift_remove(k);
            }
        }
        let path = dir.join("episodes.csv");
        let text = std::fs::read_to_string(&path).map_err(|e| StoreError::io(&path, e))?;
        let mut lines = text.lines();
        let header: Vec<&str> = lines.next().unwrap_or("").split(',').collect();
        let wall = header.iter().position(|h| *h == "wall_s");
        let row = |line: &str| -> Vec<String> {
            line.split(',')
                .enumerate()
                .filter(|(i, _)| Some(*i) != wall)
                .map(|(_, c)| c.to_owned())
                .collect()
        };
        let mut episodes = vec![row(&header.join(","))];
        episodes.extend(lines.map(row));
        Ok(Some(RunContent {
            config,
            info,
            episodes,
        }))
    }

    /// What differs, in words.
    fn difference(&self, other: &RunContent) -> String {
        if self.config != other.config {
            "the configs differ".into()
        } else if self.info.get("run_id") != other.info.get("run_id") {
            "the run ids differ".into()
        } else if self.info != other.info {
            "the results in run.json differ (evaluation, steps or status)".into()
        } else {
            let at = self
                .episodes
                .iter()
                .zip(&other.episodes)
                .position(|(a, b)| a != b)
                .unwrap_or(self.episodes.len().min(other.episodes.len()));
            format!("episodes.csv differs from line {}", at + 1)
        }
    }
}
