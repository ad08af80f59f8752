//! `sweep`: the command line. Parses arguments (each command's own arguments are defined with
//! its body in `dqn_sweep::cli`) and hands over to the library. Exit status: 0 ok, 1 some runs
//! failed (or a regression, missing runs, no parity, refused merges), 2 bad input or I/O.

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use dqn_sweep::cli::{bench, cluster, gate, results, run, Status};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "sweep",
    version,
    about = "Run, aggregate and regression-check DQN-family experiment sweeps",
    long_about = "Run, aggregate and regression-check DQN-family experiment sweeps.\n\n\
                  `sweep experiments/chapter8.toml` trains every run of the grid in parallel, \
                  stores each run under <out>/<name>/runs/ (default out: results), and writes \
                  runs.csv, summary.csv, summary.md, comparison.md and charts. Exit status: 0 \
                  ok, 1 some runs failed, 2 error (bad input, I/O).",
    args_conflicts_with_subcommands = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    run: run::RunArgs,
}

#[derive(Subcommand)]
enum Command {
    /// Run an experiment (the default when a file is given).
    Run(run::RunArgs),
    /// Train the experiment at `[check] baseline_seeds` and store its learning curves as the
    /// baseline (<out>/baselines/<name>/).
    Bless(gate::GateArgs),
    /// Train the experiment and compare it with its baseline: exit 1 on a regression.
    ///
    /// Exact level: curves bit-identical to the baseline's at the same seeds. Otherwise
    /// statistical: a grid point regresses when the bootstrap interval (level: `[report]
    /// confidence`, 0.95 = one-sided 2.5%) of IQM(current) − IQM(baseline) of the final return
    /// lies wholly below −tolerance, the baseline being its runs at the seeds not checked.
    /// Exit status: 0 pass, 1 regression (or a missing grid point), 2 error.
    Check(gate::CheckArgs),
    /// Build every table and chart from the finished runs on disk; train nothing.
    ///
    /// Runs are taken whatever training code trained them; the command says how many came from
    /// other code than this build's. Exit status: 0 ok, 1 runs missing (nothing written unless
    /// --partial), 2 error.
    Report(results::ReportArgs),
    /// Compare the experiment's finished runs with a reference implementation's (e.g. a
    /// PyTorch script run by bench/peers/): mean return over the final quarter of training
    /// per run, the bootstrap interval of (ours − reference), a verdict against a ±margin
    /// band, both learning curves on one chart, frames per second of both.
    ///
    /// Reads <out>/<name>/runs.csv (written by `sweep` / `sweep report`) and the reference's
    /// CSV (`seed,episode,frames,return,cut`, with `reference.json` beside it for frames per
    /// second); writes parity.md, parity.json and parity.svg/png into <out>/<name>/. Exit
    /// status: 0 parity, 1 differs or inconclusive, 2 error.
    Parity(results::ParityArgs),
    /// Plan seeds: from finished runs (a pilot), how many seeds per variant the comparison
    /// table's test needs to detect a difference in final return, printed as a table.
    ///
    /// Each grid point's runs give the spread; the variant is that spread shifted by --delta.
    /// Exit status: 0 ok, 1 no finished runs, 2 error.
    Power(results::PowerArgs),
    /// List every run (grid point, seed, run id, status on disk, shard) and the estimated cost
    /// of the rest on this machine, in core-hours; trains nothing but short calibrations.
    Plan(cluster::PlanArgs),
    /// Copy the finished runs of results folders written elsewhere (e.g. cluster nodes' local
    /// disks) into one; a run stored differently on both sides is refused.
    ///
    /// Exit status: 0 ok, 1 some runs refused, 2 error.
    Merge(cluster::MergeArgs),
    /// Write a SLURM job array (one task per shard) and its report job: train.sbatch,
    /// report.sbatch and submit.sh under <dir>/<name>/.
    Slurm(cluster::SlurmArgs),
    /// Write a Kubernetes Indexed Job (one completion per shard) and its report Job:
    /// train-job.yaml and report-job.yaml under <dir>/<name>/.
    K8s(cluster::K8sArgs),
    /// Measure throughput and memory on this machine (env steps, replay, updates, runs).
    Bench(bench::BenchArgs),
    /// Print every key of an experiment file with its default and meaning, as a TOML file to
    /// start from (the reference at the end of `sweep --help`).
    Schema,
}

fn main() -> ExitCode {
    keep_freed_buffers();
    let help = Cli::command().after_long_help(dqn_sweep::config::keys::help_text());
    let cli = match Cli::from_arg_matches(&help.get_matches()) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    let result = match &cli.command {
        None => run::run(&cli.run),
        Some(Command::Run(args)) => run::run(args),
        Some(Command::Bless(args)) => gate::bless(args),
        Some(Command::Check(args)) => gate::check(args),
        Some(Command::Report(args)) => results::report(args),
        Some(Command::Parity(args)) => results::parity(args),
        Some(Command::Power(args)) => results::power(args),
        Some(Command::Plan(args)) => cluster::plan(args),
        Some(Command::Merge(args)) => cluster::merge(args),
        Some(Command::Slurm(args)) => cluster::slurm(args),
        Some(Command::K8s(args)) => cluster::k8s(args),
        Some(Command::Bench(args)) => bench::bench(args),
        Some(Command::Schema) => {
            print!("{}", dqn_sweep::config::keys::reference_toml());
            Ok(Status::Success)
        }
    };
    match result {
        Ok(status) => ExitCode::from(status.exit_code()),
        Err(e) => {
            if dqn_sweep::interrupt::is_interrupted(&e) {
                // Not a failure: the same command resumes (see `interrupt`).
                eprintln!("{e:#}");
                return ExitCode::from(dqn_sweep::interrupt::RESUMABLE);
            }
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// glibc returns freed blocks of 128 KiB or more to the OS and page-faults them back in on the
/// next network update; raising its trim and mmap thresholds keeps them in the process
/// (measured: MinAtar CNN updates 572–600/s → 600–743/s on this machine). Results are
/// unaffected: only where memory comes from changes.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn keep_freed_buffers() {
    extern "C" {
        fn mallopt(param: i32, value: i32) -> i32;
    }
    const M_TRIM_THRESHOLD: i32 = -1;
    const M_MMAP_THRESHOLD: i32 = -3;
    // SAFETY: mallopt only sets allocator tunables; called before any other thread exists.
    unsafe {
        mallopt(M_TRIM_THRESHOLD, 1 << 30);
        mallopt(M_MMAP_THRESHOLD, 32 << 20);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn keep_freed_buffers() {}

#[cfg(test)]
mod tests {
    #[test]
    fn the_command_line_is_well_formed() {
        use clap::CommandFactory;
        super::Cli::command().debug_assert();
    }
}
