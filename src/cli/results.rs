//! Commands that read finished runs and train nothing: `sweep report` (tables and charts
//! again), `sweep power` (seeds needed, from a pilot) and `sweep parity` (against a reference
//! implementation's runs).

use super::{ExperimentArgs, Status};
use crate::store::ExperimentDir;
use crate::ReportOnlyError;
use anyhow::{Context, Result};
use clap::Args;
use std::path::PathBuf;

#[derive(Args, Clone, Debug)]
pub struct ReportArgs {
    #[command(flatten)]
    pub file: ExperimentArgs,
    /// Results root (the experiment's runs are under <out>/<name>/runs/).
    #[arg(short, long, default_value = "results")]
    pub out: PathBuf,
    /// Report the finished runs even when some are missing, and draw runs in progress from
    /// their checkpoints (episodes so far; marked in index.html).
    #[arg(long)]
    pub partial: bool,
}

/// `sweep report`: exit 1 when runs are missing (nothing written unless --partial).
pub fn report(args: &ReportArgs) -> Result<Status> {
    let exp = args.file.load()?;
    let r = match crate::report_experiment(&exp, &args.out, args.partial) {
        Ok(r) => r,
        Err(e) => return missing_or_error(&args.file, e),
    };
    for (id, what, n) in &r.other_builds {
        eprintln!(
            "note: {n} runs were trained by another build ({id}: differs in {what}); \
             their numbers may not match this build's bit for bit"
        );
    }
    if !r.missing.is_empty() {
        eprintln!(
            "note: {} runs missing; reported the others",
            r.missing.len()
        );
    }
    if r.in_progress > 0 {
        eprintln!(
            "note: {} runs in progress are drawn from their checkpoints (episodes so far, no \
             final evaluation), marked \"in progress\" in index.html",
            r.in_progress
        );
    }
    println!("results written to {}", r.report.dir.display());
    Ok(Status::Success)
}

/// Missing runs end the command with exit 1; anything else is an error.
fn missing_or_error(file: &ExperimentArgs, e: ReportOnlyError) -> Result<Status> {
    let path = file.experiment.display();
    match e {
        e @ ReportOnlyError::Missing { .. } => {
            eprintln!("error: {path}: {e}");
            Ok(Status::Failed)
        }
        e => Err(e).with_context(|| format!("experiment {path}")),
    }
}

#[derive(Args, Clone, Debug)]
pub struct PowerArgs {
    #[command(flatten)]
    pub args: ReportArgs,
    /// The difference to detect (variant − baseline), in return units.
    #[arg(long, allow_hyphen_values = true)]
    pub delta: f64,
    /// Target power.
    #[arg(long, default_value_t = 0.8)]
    pub power: f64,
    /// Tests corrected together (e.g. the comparison table's family): plan at level α/m.
    #[arg(long, default_value_t = 1)]
    pub tests: usize,
    /// Simulated comparisons per seed count.
    #[arg(long, default_value_t = 200)]
    pub sims: usize,
}

/// `sweep power`: exit 1 when no run has finished.
pub fn power(args: &PowerArgs) -> Result<Status> {
    use crate::power::PowerPlan;
    let PowerArgs {
        delta,
        power,
        tests,
        sims,
        ..
    } = *args;
    if !(0.0 < power && power < 1.0) || sims == 0 || tests == 0 || !delta.is_finite() {
        anyhow::bail!(
            "sweep power: --power must lie in (0, 1), --sims and --tests be at least 1, --delta finite"
        );
    }
    let exp = args.args.file.load()?;
    let plan = PowerPlan {
        delta,
        target: power,
        confidence: exp.report.confidence,
        resamples: exp.report.resamples.min(1000),
        sims,
    };
    match crate::power_report(&exp, &args.args.out, plan, tests) {
        Ok(table) => {
            println!("{table}");
            Ok(Status::Success)
        }
        Err(e) => missing_or_error(&args.args.file, e),
    }
}

#[derive(Args, Clone, Debug)]
pub struct ParityArgs {
    #[command(flatten)]
    pub file: ExperimentArgs,
    /// The reference's per-episode CSV.
    #[arg(long)]
    pub reference: PathBuf,
    /// The reference's name in tables and charts.
    #[arg(long, default_value = "reference")]
    pub name: String,
    /// Half-width of the parity band, as a fraction of the reference's mean.
    #[arg(long, default_value_t = 0.2)]
    pub margin: f64,
    /// The grid point compared, by its label as in summary.md (default: the first); with
    /// several grid points the files are named parity-<grid point>.*.
    #[arg(long)]
    pub grid_point: Option<String>,
    #[arg(short, long, default_value = "results")]
    pub out: PathBuf,
}

/// `sweep parity`: exit 1 unless the verdict is parity.
pub fn parity(args: &ParityArgs) -> Result<Status> {
    use crate::report::parity::{self, Settings, Verdict};
    let file = args.file.experiment.display();
    let exp = args.file.load()?;
    let budget = exp.points.first().and_then(|p| p.train.steps);
    let budget = budget.with_context(|| {
        format!("{file}: parity compares step-budget runs; set `[train] steps`")
    })?;
    if !(args.margin > 0.0 && args.margin.is_finite()) {
        anyhow::bail!("sweep parity: --margin must be a positive fraction, e.g. 0.2");
    }
    let point = match &args.grid_point {
        None => &exp.points[0],
        Some(label) => exp
            .points
            .iter()
            .find(|p| p.label == *label)
            .with_context(|| {
                let labels: Vec<&str> = exp.points.iter().map(|p| p.label.as_str()).collect();
                format!(
                    "{file}: --grid-point `{label}`: no such grid point; expected one of: {}",
                    labels.join(", ")
                )
            })?,
    };
    // One grid point: parity.*; several: parity-<grid point>.* each.
    let (stem, name) = match exp.points.len() {
        1 => ("parity".to_owned(), exp.name.clone()),
        _ => (
            format!("parity-{}", point.slug),
            format!("{} [{}]", exp.name, point.label),
        ),
    };
    let dir = ExperimentDir::new(&args.out, &exp.name);
    let ours = parity::read_ours(&dir.root.join("runs.csv"), &point.label)
        .with_context(|| format!("our runs (train them with `sweep {file}`)"))?;
    let reference = parity::read_reference(&args.reference).context("the reference's runs")?;
    let settings = Settings {
        margin: args.margin,
        resamples: exp.report.resamples,
        confidence: exp.report.confidence,
        seed: 0,
    };
    let sides = (ours.as_slice(), reference.as_slice());
    let ours_named = (sides.0, "dqn-sweep");
    let p = parity::compare(&name, ours_named, (sides.1, &args.name), budget, settings);
    parity::write(&p, sides, &dir.root, &stem)?;
    print!("{}", parity::markdown(&p));
    println!("results written to {}", dir.root.display());
    Ok(Status::failed_if(p.verdict != Verdict::Parity))
}
