//! `sweep FILE` / `sweep run FILE`: train every run of the grid (reusing finished ones) and
//! write the report; with a shard, train that share only.

use super::{load, SetArgs, Status, SweepArgs};
use crate::config::Experiment;
use crate::sweep::run_sweep;
use crate::sweep::shard::{self, Shard};
use crate::sweep::SweepOptions;
use anyhow::{Context, Result};
use clap::Args;
use std::path::{Path, PathBuf};

#[derive(Args, Clone, Debug)]
pub struct RunArgs {
    /// The experiment file (TOML).
    pub experiment: Option<PathBuf>,
    #[command(flatten)]
    pub overrides: SetArgs,
    #[command(flatten)]
    pub sweep: SweepArgs,
    /// Train every run again instead of reusing finished runs with identical configs.
    #[arg(long)]
    pub fresh: bool,
    /// Run only shard K of N (0-based), a fixed cost-balanced share of the grid, and train
    /// only: report with `sweep report` once every shard is done. Without it, a SLURM job
    /// array task or a Kubernetes Indexed Job pod (with --shards) finds its shard itself.
    #[arg(long, value_name = "K/N")]
    pub shard: Option<Shard>,
    /// The number of shards of a Kubernetes Indexed Job (its completions); the index comes
    /// from JOB_COMPLETION_INDEX.
    #[arg(long, value_name = "N")]
    pub shards: Option<usize>,
    /// Inside a SLURM job: when SIGUSR1 (the time-limit warning of `--signal`) stops the
    /// sweep, requeue this job or array task with `scontrol requeue` once every run has
    /// checkpointed (`sweep slurm` scripts pass it).
    #[arg(long)]
    pub slurm_requeue: bool,
}

/// Train the experiment and write its report; exit 1 when a run failed.
pub fn run(args: &RunArgs) -> Result<Status> {
    let path = args
        .experiment
        .clone()
        .context("no experiment file given (try `sweep experiments/chapter8.toml`, or --help)")?;
    let exp = load(&path, &args.overrides)?;
    let found = shard::resolve(args.shard, args.shards, |v| std::env::var(v).ok())?;
    if let Some((shard, source)) = found {
        return run_shard(&exp, &path, args, shard, source);
    }
    let report = crate::run_experiment(&exp, &args.sweep.options(!args.fresh))
        .with_context(|| format!("experiment {}", path.display()))?;
    if !args.sweep.quiet {
        println!("{}", report.summary_markdown);
        println!("results written to {}", report.dir.display());
    }
    if report.failed_runs > 0 {
        eprintln!(
            "{} run(s) failed; see summary.md and the runs' run.json",
            report.failed_runs
        );
    }
    Ok(Status::failed_if(report.failed_runs > 0))
}

/// Train one shard's share of the sweep; no tables or charts (`sweep report` makes them).
fn run_shard(
    exp: &Experiment,
    path: &Path,
    args: &RunArgs,
    shard: Shard,
    source: &str,
) -> Result<Status> {
    let opts = SweepOptions {
        shard: Some(shard),
        ..args.sweep.options(!args.fresh)
    };
    let results = match run_sweep(exp, &opts) {
        Err(e @ crate::sweep::SweepError::Interrupted { .. }) => {
            if args.slurm_requeue && crate::interrupt::usr1_received() {
                crate::interrupt::slurm_requeue();
            }
            return Err(e).with_context(|| format!("experiment {}", path.display()));
        }
        r => r.with_context(|| format!("experiment {}", path.display()))?,
    };
    let reused = results.iter().filter(|r| r.reused).count();
    let failed = results.iter().filter(|r| !r.ok()).count();
    println!(
        "{shard} of {} (from {source}): {} runs, {} trained, {reused} reused, {failed} failed; \
         when every shard is done: sweep report {}{}",
        exp.name,
        results.len(),
        results.len() - reused,
        path.display(),
        exp.overrides
            .iter()
            .map(|o| format!(" {o}"))
            .collect::<String>()
    );
    Ok(Status::failed_if(failed > 0))
}
