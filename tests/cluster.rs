//! Sweeps spread over processes and machines, driven through the `sweep` binary as a cluster
//! job would: shards (explicit, SLURM array, Kubernetes index), concurrent sweeps on one
//! results folder, a sweep killed with SIGKILL, reuse refused across builds, merging results
//! folders, and the launch files.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

mod common;
use common::assert_same_outputs;

const SMOKE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/experiments/smoke.toml");

fn sweep() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_sweep"));
    for v in [
        "SLURM_ARRAY_TASK_ID",
        "SLURM_ARRAY_TASK_COUNT",
        "SLURM_ARRAY_TASK_MIN",
        "SLURM_ARRAY_TASK_MAX",
        "SLURM_ARRAY_TASK_STEP",
        "JOB_COMPLETION_INDEX",
    ] {
        c.env_remove(v);
    }
    c
}

fn ok(out: Output) -> Output {
    assert!(
        out.status.success(),
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn out_arg(dir: &Path) -> [String; 2] {
    ["--out".into(), dir.display().to_string()]
}

/// The reference: the whole sweep in one process.
fn single_sweep(file: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    ok(sweep()
        .arg(file)
        .args(out_arg(dir.path()))
        .arg("-q")
        .output()
        .unwrap());
    dir
}

fn spawn(cmd: &mut Command) -> Child {
    cmd.stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// `(grid point, seed)` of every "done" line (a run trained) in a sweep's stderr.
fn trained(stderr: &[u8]) -> Vec<(String, u64)> {
    String::from_utf8_lossy(stderr)
        .lines()
        .filter_map(|l| l.strip_prefix("done   "))
        .map(|l| {
            let (label, rest) = l.split_once(" seed ").unwrap();
            let seed = rest.split(':').next().unwrap().parse().unwrap();
            (label.to_owned(), seed)
        })
        .collect()
}

#[test]
fn shards_in_separate_processes_then_report_match_one_sweep() {
    let reference = single_sweep(SMOKE);
    // Three shards at once, by --shard; then the same as a SLURM array (ids 1..=3) and as a
    // Kubernetes Indexed Job, each into its own results folder.
    let explicit = tempfile::tempdir().unwrap();
    let slurm = tempfile::tempdir().unwrap();
    let k8s = tempfile::tempdir().unwrap();
    let mut children = Vec::new();
    for k in 0..3 {
        let mut c = sweep();
        c.arg(SMOKE)
            .args(out_arg(explicit.path()))
            .args(["--shard", &format!("{k}/3"), "-j", "1"]);
        children.push(spawn(&mut c));
        let mut c = sweep();
        c.arg(SMOKE).args(out_arg(slurm.path())).args(["-j", "1"]);
        c.env("SLURM_ARRAY_TASK_ID", (k + 1).to_string())
            .env("SLURM_ARRAY_TASK_MIN", "1")
            .env("SLURM_ARRAY_TASK_MAX", "3");
        children.push(spawn(&mut c));
        let mut c = sweep();
        c.arg(SMOKE)
            .args(out_arg(k8s.path()))
            .args(["--shards", "3", "-j", "1"]);
        c.env("JOB_COMPLETION_INDEX", k.to_string());
        children.push(spawn(&mut c));
    }
    let mut per_folder: BTreeMap<usize, Vec<(String, u64)>> = BTreeMap::new();
    for (i, child) in children.into_iter().enumerate() {
        let out = ok(child.wait_with_output().unwrap());
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(stdout.contains(&format!("shard {}/3", i / 3)), "{stdout}");
        per_folder
            .entry(i % 3)
            .or_default()
            .extend(trained(&out.stderr));
    }
    for (folder, runs) in &per_folder {
        let mut sorted = runs.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(
            sorted.len(),
            10,
            "folder {folder}: every run once: {runs:?}"
        );
        assert_eq!(runs.len(), 10, "folder {folder}: no run twice");
    }
    for dir in [&explicit, &slurm, &k8s] {
        // A shard trains only: no tables until the report.
        assert!(!dir.path().join("smoke/summary.csv").exists());
        ok(sweep()
            .args(["report", SMOKE])
            .args(out_arg(dir.path()))
            .output()
            .unwrap());
        assert_same_outputs(reference.path(), dir.path());
    }
}

#[test]
fn two_sweeps_on_one_folder_train_every_run_once() {
    let reference = single_sweep(SMOKE);
    let shared = tempfile::tempdir().unwrap();
    let start = || {
        let mut c = sweep();
        c.arg(SMOKE).args(out_arg(shared.path())).args(["-j", "1"]);
        spawn(&mut c)
    };
    let (a, b) = (start(), start());
    let (a, b) = (
        ok(a.wait_with_output().unwrap()),
        ok(b.wait_with_output().unwrap()),
    );
    let mut all = trained(&a.stderr);
    all.extend(trained(&b.stderr));
    let mut unique = all.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 10, "every run trained: {all:?}");
    assert_eq!(all.len(), 10, "no run trained twice: {all:?}");
    assert_same_outputs(reference.path(), shared.path());
}

/// A bigger smoke sweep (30 runs) so that a kill lands while runs are being trained.
fn long_smoke(dir: &Path) -> PathBuf {
    let text = std::fs::read_to_string(SMOKE)
        .unwrap()
        .replace("seeds = 2", "seeds = 6")
        .replace("episodes = 30", "episodes = 60");
    let path = dir.join("smoke-long.toml");
    std::fs::write(&path, text).unwrap();
    path
}

fn temp_files(dir: &Path) -> Vec<PathBuf> {
    common::files_under(dir)
        .into_iter()
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with(".tmp-")
        })
        .collect()
}

#[test]
fn a_sweep_killed_mid_write_resumes_cleanly() {
    let files = tempfile::tempdir().unwrap();
    let file = long_smoke(files.path());
    let file = file.to_str().unwrap();
    let reference = single_sweep(file);
    let killed = tempfile::tempdir().unwrap();
    let mut child = spawn(sweep().arg(file).args(out_arg(killed.path())).arg("-q"));
    let runs = killed.path().join("smoke/runs");
    let finished = || {
        std::fs::read_dir(&runs).map_or(0, |points| {
            points
                .filter_map(|p| std::fs::read_dir(p.unwrap().path()).ok())
                .flatten()
                .filter(|s| s.as_ref().unwrap().path().join("run.json").exists())
                .count()
        })
    };
    let t0 = std::time::Instant::now();
    while finished() < 3 {
        // Generous: CI machines are slow and run other tests beside this one.
        assert!(
            t0.elapsed().as_secs() < 600,
            "the sweep never finished 3 runs"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let done = finished();
    assert!(done < 30, "killed before the end ({done} runs finished)");
    // What a writer killed inside `write_atomic` leaves behind, in a run and in the report.
    let stale_run = runs.join("variant-dqn/seed-5/.tmp-killed");
    std::fs::create_dir_all(stale_run.parent().unwrap()).unwrap();
    std::fs::write(&stale_run, b"half a file").unwrap();
    std::fs::write(killed.path().join("smoke/.tmp-summary"), b"half").unwrap();

    let out = ok(sweep()
        .arg(file)
        .args(out_arg(killed.path()))
        .output()
        .unwrap());
    let retrained = trained(&out.stderr).len();
    assert_eq!(retrained, 30 - done, "only the unfinished runs are trained");
    assert_eq!(temp_files(killed.path()), Vec::<PathBuf>::new());
    assert_same_outputs(reference.path(), killed.path());
}

#[test]
fn a_run_from_another_build_is_reported_and_trained_again() {
    let dir = single_sweep(SMOKE);
    let run_json = dir.path().join("smoke/runs/variant-per/seed-1/run.json");
    let mut info: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&run_json).unwrap()).unwrap();
    for key in ["run_id", "code", "lock", "kernel"] {
        assert!(
            info[key].as_str().is_some_and(|s| !s.is_empty()),
            "{key} recorded"
        );
    }
    // As if trained with other dependency versions (another Cargo.lock).
    info["lock"] = serde_json::json!("0000000000000000");
    std::fs::write(&run_json, serde_json::to_vec_pretty(&info).unwrap()).unwrap();

    let plan = ok(sweep()
        .args(["plan", SMOKE])
        .args(out_arg(dir.path()))
        .arg("--json")
        .output()
        .unwrap());
    let plan: serde_json::Value = serde_json::from_slice(&plan.stdout).unwrap();
    let states: Vec<&str> = plan["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["state"].as_str().unwrap())
        .collect();
    assert_eq!(states.iter().filter(|s| **s == "other-build").count(), 1);
    assert_eq!(states.iter().filter(|s| **s == "finished").count(), 9);

    let report = ok(sweep()
        .args(["report", SMOKE])
        .args(out_arg(dir.path()))
        .output()
        .unwrap());
    assert!(String::from_utf8_lossy(&report.stderr).contains("another build"));

    let out = ok(sweep()
        .arg(SMOKE)
        .args(out_arg(dir.path()))
        .output()
        .unwrap());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("dependency versions (Cargo.lock)"),
        "{stderr}"
    );
    assert_eq!(trained(&out.stderr), vec![("variant=per".to_owned(), 1)]);
}

#[test]
fn merge_gathers_shards_and_refuses_a_run_that_differs() {
    let reference = single_sweep(SMOKE);
    let (a, b, merged) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    for (k, dir) in [(0, &a), (1, &b)] {
        ok(sweep()
            .arg(SMOKE)
            .args(out_arg(dir.path()))
            .args(["--shard", &format!("{k}/2"), "-q"])
            .output()
            .unwrap());
    }
    let m = ok(sweep()
        .arg("merge")
        .arg(a.path())
        .arg(b.path())
        .args(out_arg(merged.path()))
        .output()
        .unwrap());
    assert!(String::from_utf8_lossy(&m.stdout).contains("10 runs copied"));
    ok(sweep()
        .args(["report", SMOKE])
        .args(out_arg(merged.path()))
        .output()
        .unwrap());
    assert_same_outputs(reference.path(), merged.path());

    // Merging again is a no-op; a run whose results differ is refused and left alone.
    let again = ok(sweep()
        .arg("merge")
        .arg(a.path())
        .args(out_arg(merged.path()))
        .output()
        .unwrap());
    assert!(String::from_utf8_lossy(&again.stdout).contains("0 runs copied"));
    let point = std::fs::read_dir(a.path().join("smoke/runs"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let seed = std::fs::read_dir(&point)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let episodes = seed.join("episodes.csv");
    let text = std::fs::read_to_string(&episodes).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let mut cells: Vec<String> = lines[1].split(',').map(str::to_owned).collect();
    cells[1] = "999.0".into(); // the first episode's return
    lines[1] = cells.join(",");
    std::fs::write(&episodes, lines.join("\n") + "\n").unwrap();
    let rel = seed.strip_prefix(a.path()).unwrap();
    let before = std::fs::read(merged.path().join(rel).join("episodes.csv")).unwrap();
    let refused = sweep()
        .arg("merge")
        .arg(a.path())
        .args(out_arg(merged.path()))
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("refused") && stderr.contains("episodes.csv differs"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read(merged.path().join(rel).join("episodes.csv")).unwrap(),
        before
    );
}

#[test]
fn launch_files_for_slurm_and_kubernetes() {
    let dir = tempfile::tempdir().unwrap();
    let launch = dir.path().join("launch");
    let out = ok(sweep()
        .args([
            "slurm",
            SMOKE,
            "--shards",
            "3",
            "--cpus",
            "2",
            "--partition",
            "cpu",
            "--time",
            "0-02:00:00",
        ])
        .args(out_arg(&dir.path().join("results")))
        .arg("--dir")
        .arg(&launch)
        .output()
        .unwrap());
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("submit.sh"));
    assert!(said.contains("job lengths per task: 1, 1, 1"), "{said}");
    let read = |f: &str| std::fs::read_to_string(launch.join("smoke").join(f)).unwrap();
    let train = read("train.sbatch");
    for needle in [
        "#SBATCH --array=0-2",
        "#SBATCH --cpus-per-task=2",
        "#SBATCH --partition=cpu",
        "#SBATCH --time=0-02:00:00",
        "#SBATCH --signal=B:USR1@300",
        "#SBATCH --requeue",
        "#SBATCH --open-mode=append",
        " run ",
        "--threads",
        "--slurm-requeue",
    ] {
        assert!(
            train.contains(needle),
            "train.sbatch lacks {needle}:\n{train}"
        );
    }
    assert!(read("report.sbatch").contains(" report "));
    assert!(read("submit.sh").contains("--dependency=afterany:"));
    for f in ["train.sbatch", "report.sbatch", "submit.sh"] {
        let syntax = Command::new("bash")
            .arg("-n")
            .arg(launch.join("smoke").join(f))
            .output()
            .unwrap();
        assert!(
            syntax.status.success(),
            "{f}: {}",
            String::from_utf8_lossy(&syntax.stderr)
        );
    }

    ok(sweep()
        .args([
            "k8s",
            SMOKE,
            "--shards",
            "3",
            "--image",
            "registry.example/dqn-sweep:1",
        ])
        .arg("--dir")
        .arg(&launch)
        .output()
        .unwrap());
    let job = read("train-job.yaml");
    for needle in [
        "completionMode: Indexed",
        "completions: 3",
        "kind: ConfigMap",
        "\"--shards\", \"3\"",
        "image: \"registry.example/dqn-sweep:1\"",
        "    name = \"smoke\"",
        "podReplacementPolicy: Failed",
        "- type: DisruptionTarget",
        "values: [75]",
        "terminationGracePeriodSeconds: 300",
    ] {
        assert!(
            job.contains(needle),
            "train-job.yaml lacks {needle}:\n{job}"
        );
    }
    assert!(read("report-job.yaml").contains("\"report\", \"/experiment/smoke.toml\""));

    // A limit that leaves no time to train past the checkpoint margin is refused.
    let short = sweep()
        .args(["slurm", SMOKE, "--shards", "3", "--time", "5"])
        .arg("--dir")
        .arg(&launch)
        .output()
        .unwrap();
    assert!(!short.status.success());
    assert!(String::from_utf8_lossy(&short.stderr).contains("leaves no time to train"));
}
