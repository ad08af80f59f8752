//! Sweeps split over machines: `sweep plan` (every run, its status and cost, its shard),
//! `sweep merge` (results folders into one), `sweep slurm` and `sweep k8s` (launch files).
//! Launch files of an overridden experiment run a copy of it with the overrides written in.

use super::{ExperimentArgs, Status};
use crate::config::Experiment;
use crate::launch::{LaunchFile, LaunchSpec};
use anyhow::{Context, Result};
use clap::Args;
use std::path::{Path, PathBuf};

#[derive(Args, Clone, Debug)]
pub struct PlanArgs {
    #[command(flatten)]
    pub file: ExperimentArgs,
    /// Results root (the experiment's runs are under <out>/<name>/runs/).
    #[arg(short, long, default_value = "results")]
    pub out: PathBuf,
    /// Show the split over this many shards (as `--shard K/N` would run it).
    #[arg(long)]
    pub shards: Option<usize>,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// `sweep plan`: print every run and the cost of the rest.
pub fn plan(args: &PlanArgs) -> Result<Status> {
    anyhow::ensure!(args.shards != Some(0), "--shards must be at least 1");
    let exp = args.file.load()?;
    let plan = crate::sweep::plan::plan(&exp, &args.out, args.shards);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&plan)?);
    } else {
        print!("{}", crate::sweep::plan::markdown(&plan));
    }
    Ok(Status::Success)
}

#[derive(Args, Clone, Debug)]
pub struct MergeArgs {
    /// Results roots to copy from (each holds <name>/runs/...).
    #[arg(required = true)]
    pub sources: Vec<PathBuf>,
    /// The results root to merge into.
    #[arg(short, long, default_value = "results")]
    pub out: PathBuf,
}

/// `sweep merge`: exit 1 when a run was refused.
pub fn merge(args: &MergeArgs) -> Result<Status> {
    let s = crate::store::merge::merge(&args.sources, &args.out)?;
    for c in &s.conflicts {
        eprintln!(
            "refused {} from {}: {}",
            c.run.display(),
            c.source.display(),
            c.why
        );
    }
    println!(
        "merged into {}: {} runs copied, {} already there, {} unfinished or failed skipped, {} refused",
        args.out.display(),
        s.copied,
        s.identical,
        s.unfinished,
        s.conflicts.len()
    );
    Ok(Status::failed_if(!s.conflicts.is_empty()))
}

#[derive(Args, Clone, Debug)]
pub struct LaunchArgs {
    #[command(flatten)]
    pub file: ExperimentArgs,
    /// Tasks to split the sweep into.
    #[arg(long)]
    pub shards: usize,
    /// Cores per task.
    #[arg(long, default_value_t = 4)]
    pub cpus: usize,
    /// Results root the tasks write to.
    #[arg(short, long, default_value = "results")]
    pub out: PathBuf,
    /// Folder for the launch files (they go to <dir>/<name>/).
    #[arg(long, default_value = "launch")]
    pub dir: PathBuf,
}

#[derive(Args, Clone, Debug)]
pub struct SlurmArgs {
    #[command(flatten)]
    pub launch: LaunchArgs,
    /// The `sweep` binary the nodes run (default: this one).
    #[arg(long)]
    pub bin: Option<PathBuf>,
    #[arg(long)]
    pub partition: Option<String>,
    #[arg(long)]
    pub account: Option<String>,
    /// The partition's time limit (D-HH:MM:SS, HH:MM:SS, MM…): each array task runs this long
    /// at a time, checkpoints when SLURM warns it (USR1) and requeues itself until its runs
    /// are done. Default: the slowest task's estimate × 2 + 10 minutes, in one job.
    #[arg(long, value_name = "TIME")]
    pub time: Option<String>,
}

#[derive(Args, Clone, Debug)]
pub struct K8sArgs {
    #[command(flatten)]
    pub launch: LaunchArgs,
    /// Container image with `sweep` on its PATH.
    #[arg(long)]
    pub image: String,
    /// ReadWriteMany PersistentVolumeClaim that holds the results.
    #[arg(long, default_value = "dqn-sweep-results")]
    pub pvc: String,
    /// Pods at once (default: all shards).
    #[arg(long)]
    pub parallelism: Option<usize>,
}

/// `sweep slurm`: a job array and its report job.
pub fn slurm(args: &SlurmArgs) -> Result<Status> {
    use crate::launch::slurm::{files, SlurmOptions};
    let (exp, mut spec) = launch_spec(&args.launch)?;
    if let Some(t) = &args.time {
        let limit = crate::launch::parse_slurm_time(t).map_err(anyhow::Error::msg)?;
        spec = spec
            .with_time_limit(limit)
            .map_err(anyhow::Error::msg)
            .context("--time")?;
    }
    let per_shard: Vec<String> = spec
        .shard_job_lengths()
        .iter()
        .map(u64::to_string)
        .collect();
    println!(
        "{}: the slowest task needs about {} in all: {} job length(s) of {} (each checkpoints \
         {} s before its end and requeues itself); job lengths per task: {}",
        exp.name,
        crate::launch::slurm_time(spec.needed_s),
        spec.job_lengths(),
        crate::launch::slurm_time(spec.time_limit_s),
        spec.stop_margin_s,
        per_shard.join(", ")
    );
    let absolute = |p: &Path| std::path::absolute(p).unwrap_or_else(|_| p.to_owned());
    let opts = SlurmOptions {
        bin: match &args.bin {
            Some(b) => b.clone(),
            None => std::env::current_exe().context("locating this sweep binary")?,
        },
        workdir: absolute(Path::new(".")),
        results: args.launch.out.clone(),
        partition: args.partition.clone(),
        account: args.account.clone(),
    };
    write_launch(&args.launch.dir, &exp.name, &files(&spec, &opts))
}

/// `sweep k8s`: an Indexed Job and its report Job.
pub fn k8s(args: &K8sArgs) -> Result<Status> {
    use crate::launch::k8s::{files, K8sOptions};
    let (exp, spec) = launch_spec(&args.launch)?;
    let opts = K8sOptions {
        image: args.image.clone(),
        pvc: args.pvc.clone(),
        parallelism: args.parallelism.unwrap_or(args.launch.shards),
    };
    write_launch(&args.launch.dir, &exp.name, &files(&spec, &opts))
}

/// The launch spec of `args`, sized from a plan of the same split. With overrides, the tasks
/// read `<dir>/<name>/experiment.toml`: the file with the overrides and the name written in.
fn launch_spec(args: &LaunchArgs) -> Result<(Experiment, LaunchSpec)> {
    anyhow::ensure!(args.shards >= 1, "--shards must be at least 1");
    let file = &args.file.experiment;
    let exp = args.file.load()?;
    let plan = crate::sweep::plan::plan(&exp, &args.out, Some(args.shards));
    let mut spec = LaunchSpec::sized(&exp, file, args.shards, args.cpus, &plan)
        .with_context(|| format!("reading {}", file.display()))?;
    if !exp.overrides.is_empty() {
        let resolved = args.dir.join(&exp.name).join("experiment.toml");
        let text = exp.resolved_toml()?;
        crate::store::write_atomic(&resolved, text.as_bytes())?;
        println!(
            "wrote {} ({} as overridden)",
            resolved.display(),
            file.display()
        );
        spec.experiment = resolved;
        spec.experiment_text = text;
    }
    Ok((exp, spec))
}

/// Write launch files under <dir>/<name>/ and list them.
fn write_launch(dir: &Path, name: &str, files: &[LaunchFile]) -> Result<Status> {
    let dir = dir.join(name);
    for f in files {
        let path = dir.join(f.name);
        crate::store::write_atomic(&path, f.text.as_bytes())?;
        #[cfg(unix)]
        if f.executable {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
                .with_context(|| format!("making {} executable", path.display()))?;
        }
        println!("wrote {}", path.display());
    }
    Ok(Status::Success)
}
