//! `sweep`: the command line. Parses arguments and hands over to the library.

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};
use dqn_sweep::check::{self, CheckOptions};
use dqn_sweep::config::Experiment;
use dqn_sweep::store::ExperimentDir;
use dqn_sweep::sweep::shard::{self, Shard};
use dqn_sweep::sweep::{run_sweep, Progress, RunResult, SweepOptions};
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
    [env]    id = "CartPole-v0" | "CartPole-v1" | "MinAtar/Breakout" | "MinAtar/SpaceInvaders"
                  | "MinAtar/Freeway" | "MinAtar/Asterix" | "MinAtar/Seaquest" | "ALE/<Game>"
             observe = "full" | "positions" (CartPole: x and θ only)   frame_stack = 1
             max_episode_steps = 1000 (default: none beyond the registered limit)
             sticky_action_prob = 0.1   difficulty_ramping = true (MinAtar, as the package)
             Atari ("ALE/Pong", …; build with --features atari): repeat_action_probability = 0.25
             max_episode_frames = 108000   noop_max = 30   frame_skip = 4   screen_size = 84
             terminal_on_life_loss = false   fire_reset = false   rom_path = "pong.bin"
    [agent]  variant = "dqn" | "double" | "per" | "dueling" | "double+per+dueling" (any '+' set)
             gamma = 0.98   lr = 0.0005   epsilon = 0.1   buffer_size = 10000   batch_size = 32
             sync_interval = 20   sync_unit = "episodes" | "steps"
             loss = "mse" | "huber"   huber_delta = 1.0
             bootstrap_mask = "done" (chapter: terminated|truncated) | "terminated" (time-limit aware)
             init = "dezero" (chapter: W ~ N(0, 1/fan_in), b = 0) | "uniform" (dfdx / PyTorch)
             per_alpha = 0.6   per_beta_start = 0.4   per_beta_end = 1.0   per_eps = 1e-6
             epsilon_start = 1.0 + epsilon_decay_steps = 100000: linear ε schedule to `epsilon`,
             counted from epsilon_from = "learning_starts" (MinAtar) | "first_step" (CleanRL)
             learning_starts = 0 (no updates before)   update_period = 1
             warmup_actions = "uniform" | "epsilon_greedy" (CleanRL): actions before then
             mlp_hidden = "128x128" (chapter) | "120x84" (CleanRL; CartPole, not dueling)
             clip_rewards = false (learn from the reward's sign; returns stay game scores)
             optimizer, each spelling as one framework runs it (src/agent/optim.rs):
               "adam"           dfdx's Adam: the form of torch.optim.Adam and optax.adam
                                (ε added after the bias correction), dfdx's rounding
               "adam-torch"     PyTorch torch.optim.Adam in PyTorch's arithmetic (CleanRL)
               "adam-dezero"    DeZero's optimizers.Adam, the chapter's (ε before the bias
                                correction)
               Adam: adam_beta1 = 0.9   adam_beta2 = 0.999   adam_eps = 1e-8
                     (Revisiting Rainbow / Dopamine's MinAtar configs: adam_eps = 3.125e-4)
               "rmsprop"        dfdx's RMSprop (alias "rmsprop-dfdx"): √(s + ε), s from 1
               "rmsprop-tf1"    TF1 tf.compat.v1.train.RMSPropOptimizer: √(s + ε), s from 1
               "rmsprop-torch"  PyTorch torch.optim.RMSprop: √s + ε, averages from 0
                                (MinAtar's examples/dqn.py)
               "rmsprop-nature" DeepMind's NeuralQLearner.lua (Nature DQN): centered,
                                √(s − a² + ε), averages from 0, no momentum
             RMSprop: rms_alpha = 0.95   rms_eps = 0.01   rms_centered = true
             rms_momentum = 0.95 (default: none)
    [train]  episodes = 300 (default without `steps`)   steps = 500000 (env-step budget)
             eval_episodes = 10   eval_interval = 0 (every N env steps)   eval_epsilon = 0.0
             q_probe_interval = 10   probe_states = 256
    [report] resamples = 2000   confidence = 0.95   final_window = 100   collapse_floor = 100
             solved_threshold = 195 (default: Gym's reward_threshold, 195 for v0 / 475 for v1)
             baseline_variant = "dqn"
    [check]  baseline_seeds = 200 (seeds `sweep bless` trains; default: `seeds`)
             tolerance = 0 (return units a check may lose before the test applies)
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
                  stores each run under <out>/<name>/runs/ (default out: results), and writes \
                  runs.csv, summary.csv, summary.md, comparison.md and charts. Exit status: 0 \
                  ok, 1 some runs failed, 2 error (bad input, I/O).",
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
    /// Train the experiment at `[check] baseline_seeds` and store its learning curves as the
    /// baseline (<out>/baselines/<name>/).
    Bless(CheckArgs),
    /// Train the experiment and compare it with its baseline: exit 1 on a regression.
    ///
    /// Exact level: curves bit-identical to the baseline's at the same seeds. Otherwise
    /// statistical: a grid point regresses when the bootstrap interval (level: `[report]
    /// confidence`, 0.95 = one-sided 2.5%) of IQM(current) − IQM(baseline) of the final return
    /// lies wholly below −tolerance, the baseline being its runs at the seeds not checked.
    /// Exit status: 0 pass, 1 regression (or a missing grid point), 2 error.
    Check {
        #[command(flatten)]
        args: CheckArgs,
        /// Allowed loss in return units before the statistical level calls a regression
        /// (default: `[check] tolerance`, else 0).
        #[arg(long)]
        tolerance: Option<f64>,
        /// Fail unless every grid point is bit-identical to the baseline (for CI machines of
        /// the CPU family and build that blessed it, where any difference is a change).
        #[arg(long)]
        require_identical: bool,
    },
    /// Build every table and chart from the finished runs on disk; train nothing.
    ///
    /// Runs are taken whatever training code trained them; the command says how many came from
    /// other code than this build's. Exit status: 0 ok, 1 runs missing (nothing written unless
    /// --partial), 2 error.
    Report(ReportArgs),
    /// Compare the experiment's finished runs with a reference implementation's (e.g. a
    /// PyTorch script run by bench/peers/): mean return over the final quarter of training
    /// per run, the bootstrap interval of (ours − reference), a verdict against a ±margin
    /// band, both learning curves on one chart, frames per second of both.
    ///
    /// Reads <out>/<name>/runs.csv (written by `sweep` / `sweep report`) and the reference's
    /// CSV (`seed,episode,frames,return,cut`, with `reference.json` beside it for frames per
    /// second); writes parity.md, parity.json and parity.svg/png into <out>/<name>/. Exit
    /// status: 0 parity, 1 differs or inconclusive, 2 error.
    Parity(ParityArgs),
    /// Plan seeds: from finished runs (a pilot), how many seeds per variant the comparison
    /// table's test needs to detect a difference in final return, printed as a table.
    ///
    /// Each grid point's runs give the spread; the variant is that spread shifted by --delta.
    /// Exit status: 0 ok, 1 no finished runs, 2 error.
    Power {
        #[command(flatten)]
        args: ReportArgs,
        /// The difference to detect (variant − baseline), in return units.
        #[arg(long, allow_hyphen_values = true)]
        delta: f64,
        /// Target power.
        #[arg(long, default_value_t = 0.8)]
        power: f64,
        /// Tests corrected together (e.g. the comparison table's family): plan at level α/m.
        #[arg(long, default_value_t = 1)]
        tests: usize,
        /// Simulated comparisons per seed count.
        #[arg(long, default_value_t = 200)]
        sims: usize,
    },
    /// List every run (grid point, seed, run id, status on disk, shard) and the estimated cost
    /// of the rest on this machine, in core-hours; trains nothing but short calibrations.
    Plan {
        /// The experiment file (TOML).
        experiment: PathBuf,
        /// Results root (the experiment's runs are under <out>/<name>/runs/).
        #[arg(short, long, default_value = "results")]
        out: PathBuf,
        /// Show the split over this many shards (as `--shard K/N` would run it).
        #[arg(long)]
        shards: Option<usize>,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Copy the finished runs of results folders written elsewhere (e.g. cluster nodes' local
    /// disks) into one; a run stored differently on both sides is refused.
    ///
    /// Exit status: 0 ok, 1 some runs refused, 2 error.
    Merge {
        /// Results roots to copy from (each holds <name>/runs/...).
        #[arg(required = true)]
        sources: Vec<PathBuf>,
        /// The results root to merge into.
        #[arg(short, long, default_value = "results")]
        out: PathBuf,
    },
    /// Write a SLURM job array (one task per shard) and its report job: train.sbatch,
    /// report.sbatch and submit.sh under <dir>/<name>/.
    Slurm {
        #[command(flatten)]
        launch: LaunchArgs,
        /// The `sweep` binary the nodes run (default: this one).
        #[arg(long)]
        bin: Option<PathBuf>,
        #[arg(long)]
        partition: Option<String>,
        #[arg(long)]
        account: Option<String>,
    },
    /// Write a Kubernetes Indexed Job (one completion per shard) and its report Job:
    /// train-job.yaml and report-job.yaml under <dir>/<name>/.
    K8s {
        #[command(flatten)]
        launch: LaunchArgs,
        /// Container image with `sweep` on its PATH.
        #[arg(long)]
        image: String,
        /// ReadWriteMany PersistentVolumeClaim that holds the results.
        #[arg(long, default_value = "dqn-sweep-results")]
        pvc: String,
        /// Pods at once (default: all shards).
        #[arg(long)]
        parallelism: Option<usize>,
    },
    /// Measure throughput and memory on this machine (env steps, replay, updates, runs).
    Bench {
        /// Multiply the amount of work (1.0 takes about 10 s on 2 cores).
        #[arg(long, default_value_t = 1.0)]
        scale: f64,
        /// Run the whole set this many times and print each figure's median and range.
        #[arg(long, default_value_t = 1)]
        repeat: usize,
    },
}

#[derive(Args)]
struct LaunchArgs {
    /// The experiment file (TOML).
    experiment: PathBuf,
    /// Tasks to split the sweep into.
    #[arg(long)]
    shards: usize,
    /// Cores per task.
    #[arg(long, default_value_t = 4)]
    cpus: usize,
    /// Results root the tasks write to.
    #[arg(short, long, default_value = "results")]
    out: PathBuf,
    /// Folder for the launch files (they go to <dir>/<name>/).
    #[arg(long, default_value = "launch")]
    dir: PathBuf,
}

#[derive(Args)]
struct ParityArgs {
    experiment: PathBuf,
    /// The reference's per-episode CSV.
    #[arg(long)]
    reference: PathBuf,
    /// The reference's name in tables and charts.
    #[arg(long, default_value = "reference")]
    name: String,
    /// Half-width of the parity band, as a fraction of the reference's mean.
    #[arg(long, default_value_t = 0.2)]
    margin: f64,
    /// The grid point compared, by its label as in summary.md (default: the first); with
    /// several grid points the files are named parity-<grid point>.*.
    #[arg(long)]
    grid_point: Option<String>,
    #[arg(short, long, default_value = "results")]
    out: PathBuf,
}

#[derive(Args)]
struct ReportArgs {
    /// The experiment file (TOML).
    experiment: PathBuf,
    /// Results root (the experiment's runs are under <out>/<name>/runs/).
    #[arg(short, long, default_value = "results")]
    out: PathBuf,
    /// Report the finished runs even when some are missing.
    #[arg(long)]
    partial: bool,
}

/// Where results go and how the sweep runs (shared by every command that trains).
#[derive(Args, Clone)]
struct SweepArgs {
    /// Results root: runs go to <out>/<name>/, baselines to <out>/baselines/<name>/.
    #[arg(short, long, default_value = "results")]
    out: PathBuf,
    /// Worker threads (default: one per core). Results do not depend on it.
    #[arg(short = 'j', long)]
    threads: Option<usize>,
    /// No progress output.
    #[arg(short, long)]
    quiet: bool,
}

impl SweepArgs {
    fn options(&self, reuse: bool) -> SweepOptions {
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
        }
    }
}

#[derive(Args, Clone)]
struct CheckArgs {
    /// The experiment file (TOML).
    experiment: PathBuf,
    #[command(flatten)]
    sweep: SweepArgs,
    /// Reuse finished runs with identical configs and training code (default: train afresh).
    #[arg(long)]
    reuse: bool,
}

#[derive(Args, Clone)]
struct RunArgs {
    /// The experiment file (TOML).
    experiment: Option<PathBuf>,
    #[command(flatten)]
    sweep: SweepArgs,
    /// Train every run again instead of reusing finished runs with identical configs.
    #[arg(long)]
    fresh: bool,
    /// Run only shard K of N (0-based), a fixed cost-balanced share of the grid, and train
    /// only: report with `sweep report` once every shard is done. Without it, a SLURM job
    /// array task or a Kubernetes Indexed Job pod (with --shards) finds its shard itself.
    #[arg(long, value_name = "K/N")]
    shard: Option<Shard>,
    /// The number of shards of a Kubernetes Indexed Job (its completions); the index comes
    /// from JOB_COMPLETION_INDEX.
    #[arg(long, value_name = "N")]
    shards: Option<usize>,
}

fn main() -> ExitCode {
    keep_freed_buffers();
    let cli = Cli::parse();
    let result = match cli.command {
        Some(Command::Run(args)) => run(args),
        Some(Command::Bench { scale, repeat }) => bench(scale, repeat),
        Some(Command::Plan {
            experiment,
            out,
            shards,
            json,
        }) => plan(&experiment, &out, shards, json),
        Some(Command::Merge { sources, out }) => merge(&sources, &out),
        Some(Command::Slurm {
            launch,
            bin,
            partition,
            account,
        }) => slurm(launch, bin, partition, account),
        Some(Command::K8s {
            launch,
            image,
            pvc,
            parallelism,
        }) => k8s(launch, image, pvc, parallelism),
        Some(Command::Bless(args)) => bless(args),
        Some(Command::Check {
            args,
            tolerance,
            require_identical,
        }) => check(args, tolerance, require_identical),
        Some(Command::Report(args)) => report(args),
        Some(Command::Parity(args)) => parity(args),
        Some(Command::Power {
            args,
            delta,
            power,
            tests,
            sims,
        }) => plan_seeds(args, delta, power, tests, sims),
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

fn report(args: ReportArgs) -> Result<ExitCode> {
    use dqn_sweep::ReportOnlyError;
    let exp = Experiment::load(&args.experiment)?;
    match dqn_sweep::report_experiment(&exp, &args.out, args.partial) {
        Ok(r) => {
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
            println!("results written to {}", r.report.dir.display());
            Ok(ExitCode::SUCCESS)
        }
        Err(e @ ReportOnlyError::Missing { .. }) => {
            eprintln!("error: {}: {e}", args.experiment.display());
            Ok(ExitCode::from(1))
        }
        Err(e) => Err(e).with_context(|| format!("experiment {}", args.experiment.display())),
    }
}

fn parity(args: ParityArgs) -> Result<ExitCode> {
    use dqn_sweep::report::parity::{self, Settings, Verdict};
    let exp = Experiment::load(&args.experiment)?;
    let budget = exp
        .points
        .first()
        .and_then(|p| p.train.steps)
        .with_context(|| {
            format!(
                "{}: parity compares step-budget runs; set `[train] steps`",
                args.experiment.display()
            )
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
                    "{}: --grid-point `{label}`: no such grid point; expected one of: {}",
                    args.experiment.display(),
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
    let runs_csv = dir.root.join("runs.csv");
    let ours = parity::read_ours(&runs_csv, &point.label).with_context(|| {
        format!(
            "our runs (train them with `sweep {}`)",
            args.experiment.display()
        )
    })?;
    let reference = parity::read_reference(&args.reference).context("the reference's runs")?;
    let settings = Settings {
        margin: args.margin,
        resamples: exp.report.resamples,
        confidence: exp.report.confidence,
        seed: 0,
    };
    let sides = (ours.as_slice(), reference.as_slice());
    let p = parity::compare(
        &name,
        (sides.0, "dqn-sweep"),
        (sides.1, &args.name),
        budget,
        settings,
    );
    parity::write(&p, sides, &dir.root, &stem)?;
    print!("{}", parity::markdown(&p));
    println!("results written to {}", dir.root.display());
    Ok(if p.verdict == Verdict::Parity {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn plan_seeds(
    args: ReportArgs,
    delta: f64,
    power: f64,
    tests: usize,
    sims: usize,
) -> Result<ExitCode> {
    use dqn_sweep::power::PowerPlan;
    if !(0.0 < power && power < 1.0) || sims == 0 || tests == 0 || !delta.is_finite() {
        anyhow::bail!(
            "sweep power: --power must lie in (0, 1), --sims and --tests be at least 1, --delta finite"
        );
    }
    let exp = Experiment::load(&args.experiment)?;
    let plan = PowerPlan {
        delta,
        target: power,
        confidence: exp.report.confidence,
        resamples: exp.report.resamples.min(1000),
        sims,
    };
    match dqn_sweep::power_report(&exp, &args.out, plan, tests) {
        Ok(table) => {
            println!("{table}");
            Ok(ExitCode::SUCCESS)
        }
        Err(e @ dqn_sweep::ReportOnlyError::Missing { .. }) => {
            eprintln!("error: {}: {e}", args.experiment.display());
            Ok(ExitCode::from(1))
        }
        Err(e) => Err(e).with_context(|| format!("experiment {}", args.experiment.display())),
    }
}

fn run(args: RunArgs) -> Result<ExitCode> {
    let path = args
        .experiment
        .clone()
        .context("no experiment file given (try `sweep experiments/chapter8.toml`, or --help)")?;
    let exp = Experiment::load(&path)?;
    let found = shard::resolve(args.shard, args.shards, |v| std::env::var(v).ok())?;
    if let Some((shard, source)) = found {
        return run_shard(&exp, &path, &args, shard, source);
    }
    let report = dqn_sweep::run_experiment(&exp, &args.sweep.options(!args.fresh))
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
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}

/// Train one shard's share of the sweep; no tables or charts (`sweep report` makes them).
fn run_shard(
    exp: &Experiment,
    path: &std::path::Path,
    args: &RunArgs,
    shard: Shard,
    source: &str,
) -> Result<ExitCode> {
    let opts = SweepOptions {
        shard: Some(shard),
        ..args.sweep.options(!args.fresh)
    };
    let results =
        run_sweep(exp, &opts).with_context(|| format!("experiment {}", path.display()))?;
    let reused = results.iter().filter(|r| r.reused).count();
    let failed = results.iter().filter(|r| !r.ok()).count();
    println!(
        "{shard} of {} (from {source}): {} runs, {} trained, {reused} reused, {failed} failed; \
         when every shard is done: sweep report {}",
        exp.name,
        results.len(),
        results.len() - reused,
        path.display()
    );
    Ok(if failed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn plan(
    experiment: &std::path::Path,
    out: &std::path::Path,
    shards: Option<usize>,
    json: bool,
) -> Result<ExitCode> {
    anyhow::ensure!(shards != Some(0), "--shards must be at least 1");
    let exp = Experiment::load(experiment)?;
    let plan = dqn_sweep::sweep::plan::plan(&exp, out, shards);
    if json {
        println!("{}", serde_json::to_string_pretty(&plan)?);
    } else {
        print!("{}", dqn_sweep::sweep::plan::markdown(&plan));
    }
    Ok(ExitCode::SUCCESS)
}

fn merge(sources: &[PathBuf], out: &std::path::Path) -> Result<ExitCode> {
    let s = dqn_sweep::store::merge::merge(sources, out)?;
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
        out.display(),
        s.copied,
        s.identical,
        s.unfinished,
        s.conflicts.len()
    );
    Ok(if s.conflicts.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// The launch spec of `args`, sized from a plan of the same split.
fn launch_spec(args: &LaunchArgs) -> Result<(Experiment, dqn_sweep::launch::LaunchSpec)> {
    anyhow::ensure!(args.shards >= 1, "--shards must be at least 1");
    let exp = Experiment::load(&args.experiment)?;
    let plan = dqn_sweep::sweep::plan::plan(&exp, &args.out, Some(args.shards));
    let spec =
        dqn_sweep::launch::LaunchSpec::sized(&exp, &args.experiment, args.shards, args.cpus, &plan)
            .with_context(|| format!("reading {}", args.experiment.display()))?;
    Ok((exp, spec))
}

/// Write launch files under <dir>/<name>/ and list them.
fn write_launch(
    dir: &std::path::Path,
    name: &str,
    files: &[dqn_sweep::launch::LaunchFile],
) -> Result<ExitCode> {
    let dir = dir.join(name);
    for f in files {
        let path = dir.join(f.name);
        dqn_sweep::store::write_atomic(&path, f.text.as_bytes())?;
        #[cfg(unix)]
        if f.executable {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
                .with_context(|| format!("making {} executable", path.display()))?;
        }
        println!("wrote {}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}

fn slurm(
    args: LaunchArgs,
    bin: Option<PathBuf>,
    partition: Option<String>,
    account: Option<String>,
) -> Result<ExitCode> {
    use dqn_sweep::launch::slurm::{files, SlurmOptions};
    let (exp, spec) = launch_spec(&args)?;
    let absolute = |p: &std::path::Path| std::path::absolute(p).unwrap_or_else(|_| p.to_owned());
    let opts = SlurmOptions {
        bin: match bin {
            Some(b) => b,
            None => std::env::current_exe().context("locating this sweep binary")?,
        },
        workdir: absolute(std::path::Path::new(".")),
        results: args.out.clone(),
        partition,
        account,
    };
    write_launch(&args.dir, &exp.name, &files(&spec, &opts))
}

fn k8s(
    args: LaunchArgs,
    image: String,
    pvc: String,
    parallelism: Option<usize>,
) -> Result<ExitCode> {
    use dqn_sweep::launch::k8s::{files, K8sOptions};
    let (exp, spec) = launch_spec(&args)?;
    let opts = K8sOptions {
        image,
        pvc,
        parallelism: parallelism.unwrap_or(args.shards),
    };
    write_launch(&args.dir, &exp.name, &files(&spec, &opts))
}

/// Load the experiment and train (or reuse) its runs for check, or for bless (then at
/// `[check] baseline_seeds`).
fn sweep_for_check(args: &CheckArgs, bless: bool) -> Result<(Experiment, Vec<RunResult>)> {
    let exp = Experiment::load(&args.experiment)?;
    let exp = if bless { exp.for_bless() } else { exp };
    let results = run_sweep(&exp, &args.sweep.options(args.reuse))
        .with_context(|| format!("experiment {}", args.experiment.display()))?;
    Ok((exp, results))
}

fn bless(args: CheckArgs) -> Result<ExitCode> {
    let (exp, results) = sweep_for_check(&args, true)?;
    let dir = check::baseline_dir(&args.sweep.out, &exp);
    let files = check::bless(&exp, &results, &dir, &CheckOptions::for_experiment(&exp))?;
    for f in files {
        println!("wrote {}", f.display());
    }
    Ok(ExitCode::SUCCESS)
}

fn check(args: CheckArgs, tolerance: Option<f64>, require_identical: bool) -> Result<ExitCode> {
    anyhow::ensure!(
        tolerance.map_or(true, |t| t >= 0.0 && t.is_finite()),
        "--tolerance must be a non-negative number"
    );
    // Fail before training when there is nothing to compare with.
    let exp = Experiment::load(&args.experiment)?;
    let baseline = check::baseline_dir(&args.sweep.out, &exp).join(check::BASELINE_FILE);
    anyhow::ensure!(
        baseline.is_file(),
        "no baseline at {} (run `sweep bless {}` first)",
        baseline.display(),
        args.experiment.display()
    );
    let (exp, results) = sweep_for_check(&args, false)?;
    let defaults = CheckOptions::for_experiment(&exp);
    let opts = CheckOptions {
        tolerance: tolerance.unwrap_or(defaults.tolerance),
        exact: if require_identical {
            dqn_sweep::config::Exact::Always
        } else {
            defaults.exact
        },
        ..defaults
    };
    let mut report = check::check(
        &exp,
        &results,
        &check::baseline_dir(&args.sweep.out, &exp),
        &opts,
    )?;
    report.write(&ExperimentDir::new(&args.sweep.out, &exp.name))?;
    println!("{}", report.terminal);
    // In CI, the Markdown report becomes the job summary.
    if let Some(summary) = std::env::var_os("GITHUB_STEP_SUMMARY") {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&summary)
            .with_context(|| format!("appending to {}", PathBuf::from(&summary).display()))?;
        writeln!(f, "{}", report.markdown)?;
    }
    if report.exact_failed() {
        let what = if require_identical {
            "--require-identical"
        } else {
            "[check] exact"
        };
        println!(
            "{what}: not bit-identical to the baseline: {}",
            report.not_identical().join(", ")
        );
    }
    Ok(if report.passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
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

fn bench(scale: f64, repeat: usize) -> Result<ExitCode> {
    anyhow::ensure!(
        scale > 0.0 && scale.is_finite(),
        "--scale must be a positive number"
    );
    anyhow::ensure!(repeat >= 1, "--repeat must be at least 1");
    let figure = |v: f64| {
        let digits = if v.abs() >= 100.0 { 0 } else { 2 };
        format!("{v:.digits$}")
    };
    if repeat == 1 {
        println!("| benchmark | figure |\n|---|---|");
    } else {
        println!("| benchmark | median of {repeat} runs | min – max |\n|---|---|---|");
    }
    for row in dqn_sweep::bench::run_repeated(scale, repeat) {
        let (lo, hi) = row.range();
        let spread = format!(" {} – {} |", figure(lo), figure(hi));
        let spread = if repeat == 1 { "" } else { &spread };
        println!(
            "| {} | {} {} |{spread}",
            row.what,
            figure(row.median()),
            row.unit
        );
    }
    Ok(ExitCode::SUCCESS)
}
