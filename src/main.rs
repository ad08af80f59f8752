//! `sweep`: the command line. Parses arguments and hands over to the library.

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};
use dqn_sweep::config::Experiment;
use dqn_sweep::sweep::{Progress, SweepOptions};
use std::path::PathBuf;
use std::process::ExitCode;

const TOML_HELP: &str = r#"EXPERIMENT FILES (TOML)
  A file declares a grid of runs. Top-level keys:
    name = "chapter8"        results go to <out>/<name>/ (default: the file's stem)
    description = "..."
    seeds = 10               seeds 0..10, or an explicit list: seeds = [0, 7, 42]
  Tables [env], [agent], [train] hold the run's settings; every key is optional and
  defaults to the chapter's value. A LIST value is swept: the grid is the cartesian
  product of all lists, in file order; scalars are fixed.
    [env]    id = "CartPole-v0" | "CartPole-v1"
    [agent]  variant = "dqn" | "double" | "per" | "dueling" | "double+per+dueling" (any '+' set)
             gamma = 0.98   lr = 0.0005   epsilon = 0.1   buffer_size = 10000   batch_size = 32
             sync_interval = 20   sync_unit = "episodes" | "steps"
             loss = "mse" | "huber"   huber_delta = 1.0
             bootstrap_mask = "done" (chapter: terminated|truncated) | "terminated" (time-limit aware)
             per_alpha = 0.6   per_beta_start = 0.4   per_beta_end = 1.0   per_eps = 1e-6
    [train]  episodes = 300   eval_episodes = 10   q_probe_interval = 10   probe_states = 256
    [report] resamples = 2000   confidence = 0.95   solved_threshold = 195.0
             final_window = 100   baseline_variant = "dqn"
  Example:
    seeds = 20
    [agent]
    variant = ["dqn", "double", "per", "dueling", "double+per+dueling"]
"#;

#[derive(Parser)]
#[command(
    name = "sweep",
    version,
    about = "Run, aggregate and regression-check DQN-family experiment sweeps",
    long_about = "Run, aggregate and regression-check DQN-family experiment sweeps.\n\n\
                  `sweep experiments/chapter8.toml` trains every run of the grid in parallel, \
                  stores each run under results/<name>/runs/, and writes runs.csv, summary.csv, \
                  summary.md and charts.",
    after_long_help = TOML_HELP,
    args_conflicts_with_subcommands = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Subcommand)]
enum Command {
    /// Run an experiment (the default when a file is given).
    Run(RunArgs),
    /// Measure throughput on this machine (env steps, replay, updates, training runs).
    Bench {
        /// Multiply the amount of work (1.0 takes about 20 s on 2 cores).
        #[arg(long, default_value_t = 1.0)]
        scale: f64,
    },
}

#[derive(Args, Clone)]
struct RunArgs {
    /// The experiment file (TOML).
    experiment: Option<PathBuf>,
    /// Results root; the experiment is written to <out>/<name>/.
    #[arg(short, long, default_value = "results")]
    out: PathBuf,
    /// Worker threads (default: one per core). Results do not depend on it.
    #[arg(short = 'j', long)]
    threads: Option<usize>,
    /// No progress output.
    #[arg(short, long)]
    quiet: bool,
    /// Train every run again instead of reusing finished runs with identical configs.
    #[arg(long)]
    fresh: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Some(Command::Run(args)) => run(args),
        Some(Command::Bench { scale }) => bench(scale),
        None => run(cli.run),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run(args: RunArgs) -> Result<ExitCode> {
    let path = args
        .experiment
        .context("no experiment file given (try `sweep experiments/chapter8.toml`, or --help)")?;
    let exp = Experiment::load(&path)?;
    let opts = SweepOptions {
        results: args.out.clone(),
        threads: args.threads,
        progress: if args.quiet {
            Progress::Quiet
        } else {
            Progress::Auto
        },
        reuse: !args.fresh,
    };
    let report = dqn_sweep::run_experiment(&exp, &opts)
        .with_context(|| format!("experiment {}", path.display()))?;
    if !args.quiet {
        println!("{}", report.summary_markdown);
        println!("results written to {}", report.dir.display());
    }
    if report.failed_runs > 0 {
        eprintln!(
            "{} run(s) failed; see summary.md and the runs' run.json",
            report.failed_runs
        );
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}

fn bench(scale: f64) -> Result<ExitCode> {
    anyhow::ensure!(
        scale > 0.0 && scale.is_finite(),
        "--scale must be a positive number"
    );
    println!("| benchmark | throughput |\n|---|---|");
    for m in dqn_sweep::bench::run_benchmarks(scale) {
        println!("| {} | {:.0} {} |", m.what, m.per_second, m.unit);
    }
    Ok(ExitCode::SUCCESS)
}
