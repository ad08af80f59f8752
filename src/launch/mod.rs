//! Launch files for a sweep on a cluster: a SLURM job array ([`slurm`]) or a Kubernetes
//! Indexed Job ([`k8s`]), one task per shard, plus the report step that runs when they are
//! done. The files only call `sweep`: each task finds its shard in the scheduler's variables.

pub mod k8s;
pub mod slurm;

use crate::config::Experiment;
use crate::sweep::plan::Plan;
use std::path::{Path, PathBuf};

/// What every launch file needs to know about the sweep.
#[derive(Debug, Clone)]
pub struct LaunchSpec {
    /// The experiment's name (job names are derived from it).
    pub name: String,
    /// The experiment file as the tasks will read it.
    pub experiment: PathBuf,
    /// Its contents (Kubernetes ships them in a ConfigMap).
    pub experiment_text: String,
    /// Array tasks / completions.
    pub shards: usize,
    /// Cores per task (the sweep's worker threads).
    pub cpus: usize,
    /// Wall-clock limit per task (per job length), in seconds.
    pub time_limit_s: u64,
    /// What the slowest task needs in all, in seconds (its estimate × 2 + 10 minutes): more
    /// than `time_limit_s` when a limit was imposed (`--time`).
    pub needed_s: u64,
    /// The same for each task (shard), in shard order.
    pub shard_needed_s: Vec<u64>,
    /// Seconds a task is warned before its limit (or given after SIGTERM) to checkpoint: the
    /// time to write every run's whole replay at 100 MB/s plus 2 minutes, at least 5 minutes,
    /// and for Atari the longest game at the run's estimated speed (it checkpoints between
    /// games).
    pub stop_margin_s: u64,
    /// Memory per task, in MiB.
    pub memory_mib: u64,
}

impl LaunchSpec {
    /// Impose the partition's time limit: tasks run `limit_s` at a time, checkpoint
    /// `stop_margin_s` before it and are requeued until done.
    pub fn with_time_limit(mut self, limit_s: u64) -> Result<Self, String> {
        if limit_s <= self.stop_margin_s + 60 {
            return Err(format!(
                "--time {} leaves no time to train: each job length keeps {} for checkpointing",
                slurm_time(limit_s),
                slurm_time(self.stop_margin_s)
            ));
        }
        self.time_limit_s = limit_s;
        Ok(self)
    }

    /// Job lengths (`time_limit_s` each, less the stop margin) the slowest task needs.
    pub fn job_lengths(&self) -> u64 {
        self.lengths_for(self.needed_s)
    }

    /// Job lengths each task needs, in shard order.
    pub fn shard_job_lengths(&self) -> Vec<u64> {
        self.shard_needed_s
            .iter()
            .map(|s| self.lengths_for(*s))
            .collect()
    }

    fn lengths_for(&self, needed_s: u64) -> u64 {
        let usable = self.time_limit_s.saturating_sub(self.stop_margin_s).max(1);
        needed_s.div_ceil(usable).max(1)
    }
}

impl LaunchSpec {
    /// The spec of `exp` (read from `file`) split into `shards` tasks of `cpus` cores each,
    /// with the time limit and memory sized from `plan` (split the same way): the slowest
    /// shard's estimated wall time × 2 + 10 minutes (runs sharing a machine's cores and memory
    /// ran up to ~2× slower than alone here), and `cpus` of the hungriest runs.
    pub fn sized(
        exp: &Experiment,
        file: &Path,
        shards: usize,
        cpus: usize,
        plan: &Plan,
    ) -> std::io::Result<LaunchSpec> {
        let cpus = cpus.max(1);
        let mut wall = vec![0.0f64; shards];
        let mut longest = vec![0.0f64; shards];
        for r in &plan.runs {
            let k = r.shard.unwrap_or(0).min(shards - 1);
            wall[k] += r.core_seconds / cpus as f64;
            longest[k] = longest[k].max(r.core_seconds);
        }
        let slowest = wall
            .iter()
            .zip(&longest)
            .map(|(w, l)| w.max(*l))
            .fold(0.0, f64::max);
        let limit = |s: f64| ((s * 2.0 + 600.0) / 300.0).ceil() as u64 * 300;
        let time_limit_s = limit(slowest);
        let shard_needed_s = wall
            .iter()
            .zip(&longest)
            .map(|(w, l)| limit(w.max(*l)))
            .collect();
        let per_run = exp
            .runs()
            .iter()
            .map(|(_, cfg)| crate::sweep::cost::memory_bytes(cfg))
            .max()
            .unwrap_or(0);
        let memory_mib = ((per_run * cpus as u64) >> 20) + 512;
        let stop_margin_s = (per_run * cpus as u64 / 100_000_000 + 120)
            .max(300)
            .max(longest_atari_game_s(exp, plan));
        Ok(LaunchSpec {
            needed_s: time_limit_s,
            shard_needed_s,
            stop_margin_s,
            name: exp.name.clone(),
            experiment: file.to_owned(),
            experiment_text: std::fs::read_to_string(file)?,
            shards,
            cpus,
            time_limit_s,
            memory_mib,
        })
    }
}

/// A file to write: its name within the launch folder and its text.
#[derive(Debug, Clone, PartialEq)]
pub struct LaunchFile {
    pub name: &'static str,
    pub text: String,
    /// Whether it is a script to run directly.
    pub executable: bool,
}

/// A name schedulers accept: lowercase letters, digits and '-', starting with a letter,
/// at most 40 characters (room for suffixes within Kubernetes' 63).
pub fn job_name(experiment: &str) -> String {
    let mut s: String = experiment
        .to_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    while s.contains("--") {
        s = s.replace("--", "-");
    }
    let s = s.trim_matches('-');
    let s = if s.starts_with(|c: char| c.is_ascii_lowercase()) {
        s.to_owned()
    } else {
        format!("sweep-{s}")
    };
    s.chars()
        .take(40)
        .collect::<String>()
        .trim_end_matches('-')
        .to_owned()
}

/// `D-HH:MM:SS`, SLURM's time format.
/// Seconds the slowest Atari run may need to reach a game over at its estimated speed (its
/// episode cap, 1.5× for margin, plus 2 minutes): Atari runs checkpoint only between games, so
/// a stop warning must leave that long. 0 without Atari runs.
fn longest_atari_game_s(exp: &Experiment, plan: &Plan) -> u64 {
    exp.runs()
        .iter()
        .zip(&plan.runs)
        .filter(|((_, cfg), _)| matches!(cfg.env.id, crate::env::EnvId::Atari(_)))
        .map(|((_, cfg), r)| {
            let cap = cfg.env.max_episode_frames.max(1) / u64::from(cfg.env.frame_skip.max(1));
            let steps_per_s = r.env_steps as f64 / r.core_seconds.max(1e-9);
            (1.5 * cap as f64 / steps_per_s.max(1e-9)) as u64 + 120
        })
        .max()
        .unwrap_or(0)
}

/// A SLURM time (`MM`, `MM:SS`, `HH:MM:SS`, `D-HH`, `D-HH:MM`, `D-HH:MM:SS`) in seconds.
pub fn parse_slurm_time(text: &str) -> Result<u64, String> {
    let bad = || format!("{text:?} is not a SLURM time (D-HH:MM:SS, HH:MM:SS, MM:SS or MM)");
    let num = |s: &str| s.parse::<u64>().map_err(|_| bad());
    let (days, rest) = match text.split_once('-') {
        Some((d, r)) => (Some(num(d)?), r),
        None => (None, text),
    };
    let parts = rest
        .split(':')
        .map(num)
        .collect::<Result<Vec<u64>, String>>()?;
    let seconds = match (days, parts.as_slice()) {
        (None, [m]) => m * 60,
        (None, [m, s]) => m * 60 + s,
        (None, [h, m, s]) => h * 3600 + m * 60 + s,
        (Some(d), [h]) => d * 86_400 + h * 3600,
        (Some(d), [h, m]) => d * 86_400 + h * 3600 + m * 60,
        (Some(d), [h, m, s]) => d * 86_400 + h * 3600 + m * 60 + s,
        _ => return Err(bad()),
    };
    if seconds == 0 {
        return Err(bad());
    }
    Ok(seconds)
}

pub fn slurm_time(seconds: u64) -> String {
    let (d, rest) = (seconds / 86_400, seconds % 86_400);
    format!(
        "{d}-{:02}:{:02}:{:02}",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_names_are_what_schedulers_accept() {
        assert_eq!(job_name("minatar-ablation"), "minatar-ablation");
        assert_eq!(job_name("Chapter8_v2"), "chapter8-v2");
        assert_eq!(job_name("8 seeds"), "sweep-8-seeds");
        assert!(job_name(&"x".repeat(100)).len() <= 40);
    }

    #[test]
    fn a_time_limit_splits_the_work_into_job_lengths() {
        let spec = LaunchSpec {
            name: "x".into(),
            experiment: PathBuf::from("x.toml"),
            experiment_text: String::new(),
            shards: 2,
            cpus: 1,
            time_limit_s: 90_000,
            needed_s: 313_500,
            shard_needed_s: vec![313_500, 80_000],
            stop_margin_s: 753,
            memory_mib: 1,
        };
        let day = spec.with_time_limit(86_400).unwrap();
        // 86,400 − 753 usable seconds per job.
        assert_eq!(day.job_lengths(), 4);
        assert_eq!(day.shard_job_lengths(), [4, 1]);
        assert!(day.clone().with_time_limit(800).is_err());
    }

    #[test]
    fn slurm_times_parse_in_every_form_sbatch_takes() {
        for (text, s) in [
            ("90", 5400),
            ("10:30", 630),
            ("2:00:00", 7200),
            ("1-12", 129_600),
            ("1-00:30", 88_200),
            ("1-00:00:00", 86_400),
        ] {
            assert_eq!(parse_slurm_time(text), Ok(s), "{text}");
        }
        for bad in ["", "0", "1-", "a:b", "1:2:3:4", "-5"] {
            assert!(parse_slurm_time(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn slurm_times_carry_days() {
        assert_eq!(slurm_time(59), "0-00:00:59");
        assert_eq!(slurm_time(90_061), "1-01:01:01");
    }
}
