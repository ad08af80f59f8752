//! The `sweep` commands. Each module owns its commands' arguments (clap) and bodies; the
//! binary (`src/main.rs`) parses and dispatches. A body answers with a [`Status`] (exit 0 or 1)
//! or an error (exit 2: bad input or I/O), as the README documents.
//!
//! - [`run`]: train an experiment (the default command), whole or one shard;
//! - [`results`]: what finished runs say: `report`, `power`, `parity`;
//! - [`gate`]: the regression gate, `bless` and `check`;
//! - [`cluster`]: `plan`, `merge`, and the `slurm` / `k8s` launch files;
//! - [`bench`]: throughput figures, `bench`.

pub mod bench;
pub mod cluster;
pub mod gate;
pub mod results;
pub mod run;

use crate::config::{Experiment, Override};
use crate::sweep::{Progress, SweepOptions};
use anyhow::Result;
use clap::Args;
use std::path::PathBuf;

/// How a command ended, when it ran to the end (errors exit 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Exit 0.
    Success,
    /// Exit 1: some runs failed, a regression, runs missing, no parity, merges refused.
    Failed,
}

impl Status {
    /// `Failed` when `failed` is true.
    pub fn failed_if(failed: bool) -> Status {
        if failed {
            Status::Failed
        } else {
            Status::Success
        }
    }

    pub fn exit_code(self) -> u8 {
        match self {
            Status::Success => 0,
            Status::Failed => 1,
        }
    }
}

/// `--set KEY=VALUE`, for every command that reads an experiment file.
#[derive(Args, Clone, Debug, Default)]
pub struct SetArgs {
    /// Override a key of the experiment file, as if the file said KEY = VALUE (repeatable;
    /// VALUE is TOML, a bare word a string, a list sweeps): --set agent.lr=1e-3 --set seeds=3.
    /// The experiment is then named <name>+<overrides> unless --set name=NAME.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<Override>,
}

/// The experiment file and its overrides.
#[derive(Args, Clone, Debug)]
pub struct ExperimentArgs {
    /// The experiment file (TOML).
    pub experiment: PathBuf,
    #[command(flatten)]
    pub overrides: SetArgs,
}

impl ExperimentArgs {
    pub fn load(&self) -> Result<Experiment> {
        load(&self.experiment, &self.overrides)
    }
}

/// Read and validate `path` with its overrides; say which name the overrides gave it.
pub fn load(path: &std::path::Path, overrides: &SetArgs) -> Result<Experiment> {
    let exp = Experiment::load_with(path, &overrides.set)?;
    if !exp.overrides.is_empty() && !exp.overrides.iter().any(Override::sets_name) {
        eprintln!(
            "note: overridden, the experiment is `{}` (its results folder); --set name=NAME \
             names it otherwise",
            exp.name
        );
    }
    Ok(exp)
}

/// Where results go and how the sweep runs (shared by every command that trains).
#[derive(Args, Clone, Debug)]
pub struct SweepArgs {
    /// Results root: runs go to <out>/<name>/, baselines to <out>/baselines/<name>/.
    #[arg(short, long, default_value = "results")]
    pub out: PathBuf,
    /// Worker threads (default: one per core). Results do not depend on it.
    #[arg(short = 'j', long)]
    pub threads: Option<usize>,
    /// No progress output.
    #[arg(short, long)]
    pub quiet: bool,
}

impl SweepArgs {
    pub fn options(&self, reuse: bool) -> SweepOptions {
        SweepOptions {
            results: self.out.clone(),
            threads: self.threads,
            progress: if self.quiet {
                Progress::Quiet
            } else {
                Progress::Auto
            },
            reuse,
            shard: None,
            // Every command that trains draws each run's own chart as soon as it is stored.
            after_run: Some(crate::report::run_chart_hook),
            // …and stops gracefully on SIGTERM, SIGINT or SIGUSR1.
            stop: Some(crate::interrupt::install()),
        }
    }
}
