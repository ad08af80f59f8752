//! The regression gate from the command line: `sweep bless` trains the baseline, `sweep
//! check` trains the experiment again and compares (exit 1 on a regression).

use super::{ExperimentArgs, Status, SweepArgs};
use crate::check::{self, CheckOptions};
use crate::config::{Exact, Experiment};
use crate::store::ExperimentDir;
use crate::sweep::{run_sweep, RunResult};
use anyhow::{Context, Result};
use clap::Args;
use std::path::PathBuf;

#[derive(Args, Clone, Debug)]
pub struct GateArgs {
    #[command(flatten)]
    pub file: ExperimentArgs,
    #[command(flatten)]
    pub sweep: SweepArgs,
    /// Reuse finished runs with identical configs and training code (default: train afresh).
    #[arg(long)]
    pub reuse: bool,
}

#[derive(Args, Clone, Debug)]
pub struct CheckArgs {
    #[command(flatten)]
    pub gate: GateArgs,
    /// Allowed loss in return units before the statistical level calls a regression
    /// (default: `[check] tolerance`, else 0).
    #[arg(long)]
    pub tolerance: Option<f64>,
    /// Fail unless every grid point is bit-identical to the baseline (for CI machines of
    /// the CPU family and build that blessed it, where any difference is a change).
    #[arg(long)]
    pub require_identical: bool,
}

/// Train `exp` (or reuse its runs) for check, or for bless (then at `[check] baseline_seeds`).
fn sweep_for_gate(
    exp: Experiment,
    args: &GateArgs,
    bless: bool,
) -> Result<(Experiment, Vec<RunResult>)> {
    let exp = if bless { exp.for_bless() } else { exp };
    let results = run_sweep(&exp, &args.sweep.options(args.reuse))
        .with_context(|| format!("experiment {}", args.file.experiment.display()))?;
    Ok((exp, results))
}

/// `sweep bless`: store the baseline's learning curves.
pub fn bless(args: &GateArgs) -> Result<Status> {
    let (exp, results) = sweep_for_gate(args.file.load()?, args, true)?;
    let dir = check::baseline_dir(&args.sweep.out, &exp);
    let files = check::bless(&exp, &results, &dir, &CheckOptions::for_experiment(&exp))?;
    for f in files {
        println!("wrote {}", f.display());
    }
    Ok(Status::Success)
}

/// `sweep check`: exit 1 on a regression (or a missing grid point).
pub fn check(args: &CheckArgs) -> Result<Status> {
    anyhow::ensure!(
        args.tolerance.is_none_or(|t| t >= 0.0 && t.is_finite()),
        "--tolerance must be a non-negative number"
    );
    // Fail before training when there is nothing to compare with.
    let gate = &args.gate;
    let exp = gate.file.load()?;
    let baseline_dir = check::baseline_dir(&gate.sweep.out, &exp);
    let baseline = baseline_dir.join(check::BASELINE_FILE);
    anyhow::ensure!(
        baseline.is_file(),
        "no baseline at {} (run `sweep bless {}` first)",
        baseline.display(),
        gate.file.experiment.display()
    );
    let started = std::time::Instant::now();
    let (exp, results) = sweep_for_gate(exp, gate, false)?;
    let defaults = CheckOptions::for_experiment(&exp);
    let opts = CheckOptions {
        tolerance: args.tolerance.unwrap_or(defaults.tolerance),
        exact: match args.require_identical {
            true => Exact::Always,
            false => defaults.exact,
        },
        ..defaults
    };
    let mut report = check::check(&exp, &results, &baseline_dir, &opts)?;
    let dir = ExperimentDir::new(&gate.sweep.out, &exp.name);
    report.write(&dir)?;
    crate::report::write_pages(&exp, &results, &dir, started)?;
    println!("{}", report.terminal);
    // In CI, the Markdown report becomes the job summary.
    if let Some(summary) = std::env::var_os("GITHUB_STEP_SUMMARY") {
        append_summary(&PathBuf::from(summary), &report.markdown)?;
    }
    if report.exact_failed() {
        let what = match args.require_identical {
            true => "--require-identical",
            false => "[check] exact",
        };
        println!(
            "{what}: not bit-identical to the baseline: {}",
            report.not_identical().join(", ")
        );
    }
    Ok(Status::failed_if(!report.passed()))
}

fn append_summary(path: &std::path::Path, markdown: &str) -> Result<()> {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("appending to {}", path.display()))?;
    writeln!(f, "{markdown}")?;
    Ok(())
}
