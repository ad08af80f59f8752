//! `sweep slurm`: a SLURM job array with one task per shard, and the report as a job that
//! starts when every task has ended (`afterany`: a report with runs missing says which, and
//! fails). Assumes the results folder is on a file system every node sees; with node-local
//! disks, point `--out` at them and gather the folders with `sweep merge` before reporting.

use super::{job_name, slurm_time, LaunchFile, LaunchSpec};
use std::path::{Path, PathBuf};

/// Where and how the SLURM jobs run.
#[derive(Debug, Clone)]
pub struct SlurmOptions {
    /// The `sweep` binary the nodes run (a path they can all reach).
    pub bin: PathBuf,
    /// The folder the jobs start in (experiment and results paths are relative to it).
    pub workdir: PathBuf,
    /// The results root (`--out`).
    pub results: PathBuf,
    pub partition: Option<String>,
    pub account: Option<String>,
}

/// Quote `s` for a POSIX shell.
fn sh(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+=:,@%".contains(c))
    {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

fn path(p: &Path) -> String {
    sh(&p.to_string_lossy())
}

/// `#SBATCH` lines shared by both jobs; `log` names the output file (`%A_%a` for array tasks).
fn header(job: &str, log: &str, opts: &SlurmOptions) -> String {
    let mut h = format!("#!/bin/bash\n#SBATCH --job-name={job}\n");
    if let Some(p) = &opts.partition {
        h.push_str(&format!("#SBATCH --partition={}\n", sh(p)));
    }
    if let Some(a) = &opts.account {
        h.push_str(&format!("#SBATCH --account={}\n", sh(a)));
    }
    h.push_str(&format!(
        "#SBATCH --chdir={}\n#SBATCH --output=slurm-logs/%x-{log}.out\n",
        path(&opts.workdir)
    ));
    h
}

/// `train.sbatch`, `report.sbatch` and `submit.sh` for `spec`.
pub fn files(spec: &LaunchSpec, opts: &SlurmOptions) -> Vec<LaunchFile> {
    let job = job_name(&spec.name);
    let (bin, exp, out) = (path(&opts.bin), path(&spec.experiment), path(&opts.results));
    let train = format!(
        "{}#SBATCH --array=0-{last}\n#SBATCH --cpus-per-task={cpus}\n#SBATCH --mem={mem}M\n\
         #SBATCH --time={time}\n#SBATCH --signal=B:USR1@{margin}\n#SBATCH --requeue\n\
         #SBATCH --open-mode=append\n\
         # {name}: {shards} shards of the sweep, one per array task (written by `sweep slurm`).\n\
         # Each task trains shard SLURM_ARRAY_TASK_ID of {shards} (0-based), a fixed share of the\n\
         # grid; finished runs are reused, so submitting again after a failure (all of the\n\
         # array, or only some tasks, e.g. sbatch --array=1 train.sbatch) trains what is missing.\n\
         # Runs longer than one job: {margin} s before the time limit SLURM sends USR1; the sweep\n\
         # checkpoints every run, requeues this task (scontrol requeue) and exits 75, and the\n\
         # requeued task resumes from the checkpoints. A preempted task (SIGTERM) checkpoints too\n\
         # and SLURM requeues it (--requeue). Estimated: {lengths} job length(s) of {time} for the\n\
         # slowest task ({needed} in all).\n\
         set -euo pipefail\n\
         echo \"$(date -Is) task ${{SLURM_ARRAY_JOB_ID}}_${{SLURM_ARRAY_TASK_ID}} starts (restart ${{SLURM_RESTART_COUNT:-0}})\"\n\
         exec {bin} run {exp} --out {out} --threads \"${{SLURM_CPUS_PER_TASK:-{cpus}}}\" \\\n\
         \x20   --shard \"$SLURM_ARRAY_TASK_ID/{shards}\" --slurm-requeue\n",
        header(&job, "%A_%a", opts),
        last = spec.shards - 1,
        cpus = spec.cpus,
        mem = spec.memory_mib,
        time = slurm_time(spec.time_limit_s),
        margin = spec.stop_margin_s,
        lengths = spec.job_lengths(),
        needed = slurm_time(spec.needed_s),
        name = spec.name,
        shards = spec.shards,
    );
    let report = format!(
        "{}#SBATCH --cpus-per-task={cpus}\n#SBATCH --mem={mem}M\n#SBATCH --time=0-02:00:00\n\
         # {name}: tables and charts from every shard's runs (written by `sweep slurm`).\n\
         # Fails, naming them, if some runs are missing.\n\
         set -euo pipefail\n\
         exec {bin} report {exp} --out {out}\n",
        header(&format!("{job}-report"), "%j", opts),
        cpus = spec.cpus.min(4),
        mem = spec.memory_mib.max(2048),
        name = spec.name,
    );
    let submit = format!(
        "#!/bin/bash\n\
         # Submit the {name} sweep: the array of {shards} shards, then the report once they end.\n\
         set -euo pipefail\n\
         cd \"$(dirname \"$0\")\"\n\
         mkdir -p {logs}\n\
         train=$(sbatch --parsable train.sbatch)\n\
         train=${{train%%;*}}\n\
         report=$(sbatch --parsable --dependency=afterany:\"$train\" report.sbatch)\n\
         echo \"submitted {job}: array job $train ({shards} tasks), report job ${{report%%;*}}\"\n",
        name = spec.name,
        shards = spec.shards,
        logs = path(&opts.workdir.join("slurm-logs")),
    );
    vec![
        LaunchFile {
            name: "train.sbatch",
            text: train,
            executable: false,
        },
        LaunchFile {
            name: "report.sbatch",
            text: report,
            executable: false,
        },
        LaunchFile {
            name: "submit.sh",
            text: submit,
            executable: true,
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_quoting_keeps_plain_paths_and_escapes_the_rest() {
        assert_eq!(sh("/a/b-c_1.toml"), "/a/b-c_1.toml");
        assert_eq!(sh("my runs"), "'my runs'");
        assert_eq!(sh("it's"), r"'it'\''s'");
    }
}
