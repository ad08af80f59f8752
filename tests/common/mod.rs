//! Helpers shared by the integration tests: the real binary, comparing result trees across
//! sweeps.
#![allow(dead_code)]

use dqn_sweep::check::{baseline_dir, check, CheckOptions, ExactLevel};
use dqn_sweep::config::Experiment;
use dqn_sweep::store::{csv_bytes, read_csv};
use dqn_sweep::sweep::{run_sweep, Progress, SweepOptions};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The real `sweep` binary with `args`, run from the repository root.
pub fn sweep(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_sweep"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("the sweep binary runs")
}

/// Every file under `dir` (recursively), sorted.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("readable dir") {
            let p = e.expect("entry").path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// Timing columns and fields: the only outputs that may differ between two runs.
const TIMING: [&str; 4] = ["wall_s", "steps_per_s", "wall_s_mean", "steps_per_s_mean"];

/// Every output file under `dir`, keyed by relative path, with timing data removed.
pub fn deterministic_contents(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    for p in files_under(dir) {
        let name = p.file_name().unwrap().to_str().unwrap().to_owned();
        if name.starts_with('.') {
            // Lock files: who held them, not results.
            continue;
        }
        let bytes = if name.ends_with(".csv") {
            let mut df = read_csv(&p).unwrap();
            for c in TIMING {
                if df.column(c).is_ok() {
                    df = df.drop(c).unwrap();
                }
            }
            csv_bytes(&mut df).unwrap()
        } else if name.ends_with(".json") {
            let mut v: serde_json::Value =
                serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap();
            if let Some(o) = v.as_object_mut() {
                for c in TIMING {
                    o.remove(c);
                }
            }
            serde_json::to_vec(&v).unwrap()
        } else if name == "summary.md" {
            // Holds the timing columns too; summary.csv covers its numbers.
            continue;
        } else if name.ends_with(".html") {
            // The pages keep what changes from run to run (build, command, wall time, speed)
            // in one marked block.
            without_volatile_block(&std::fs::read_to_string(&p).unwrap()).into_bytes()
        } else if name.ends_with(".md") {
            let text = std::fs::read_to_string(&p).unwrap();
            let kept: Vec<&str> = text.lines().filter(|l| !l.contains("per second")).collect();
            kept.join("\n").into_bytes()
        } else {
            std::fs::read(&p).unwrap()
        };
        out.insert(p.strip_prefix(dir).unwrap().to_owned(), bytes);
    }
    out
}

/// An HTML page without its `<!-- volatile:begin … -->` … `<!-- volatile:end -->` block
/// (asserting it has exactly one).
pub fn without_volatile_block(html: &str) -> String {
    let begin = html.find("<!-- volatile:begin").expect("a volatile block");
    let end = html.find("<!-- volatile:end -->").expect("its end") + "<!-- volatile:end -->".len();
    assert_eq!(
        html.matches("<!-- volatile:begin").count(),
        1,
        "one volatile block"
    );
    format!("{}{}", &html[..begin], &html[end..])
}

/// The two result trees hold the same files with the same deterministic contents.
pub fn assert_same_outputs(a: &Path, b: &Path) {
    let (ca, cb) = (deterministic_contents(a), deterministic_contents(b));
    assert_eq!(ca.keys().collect::<Vec<_>>(), cb.keys().collect::<Vec<_>>());
    assert!(ca.len() > 40, "compared {} files", ca.len());
    for (k, v) in &ca {
        assert!(v == &cb[k], "{} differs", k.display());
    }
}

/// Train every run of `exp` into `results` afresh (never reuse: the point is to test the
/// current code).
pub fn train_afresh(exp: &Experiment, results: &Path) -> Vec<dqn_sweep::sweep::RunResult> {
    let opts = SweepOptions {
        results: results.to_owned(),
        progress: Progress::Quiet,
        reuse: false,
        ..Default::default()
    };
    run_sweep(exp, &opts).expect("the sweep runs")
}

/// Check a committed gate experiment against its committed baseline as `sweep check` does,
/// training afresh: every point bit-identical where `[check] exact` applies on this machine,
/// else passing the statistical level.
pub fn committed_gate_passes(file: &str) {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let exp = Experiment::load(&repo.join(file)).expect("the gate experiment parses");
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("gate-{}", exp.name));
    let results = train_afresh(&exp, &out);
    let dir = baseline_dir(&repo.join("results"), &exp);
    let report = check(&exp, &results, &dir, &CheckOptions::for_experiment(&exp))
        .unwrap_or_else(|e| panic!("{e}"));
    eprintln!("{}", report.terminal);
    assert!(report.dropped_points.is_empty(), "{}", report.terminal);
    assert_ne!(report.exact, ExactLevel::Off, "{file} is an exact gate");
    assert!(report.passed(), "{}", report.terminal);
}

// Resuming runs (tests/resume.rs, tests/atari.rs).

/// The binary on `exp` into `out` with one thread (so a fault cuts the first unfinished run),
/// the fault `fault` armed, and `extra` arguments.
pub fn sweep_with(exp: &Path, out: &Path, fault: Option<&str>, extra: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sweep"));
    cmd.args(["run", exp.to_str().unwrap(), "--out", out.to_str().unwrap()])
        .args(["--threads", "1", "--quiet"])
        .args(extra)
        .env_remove("DQN_SWEEP_FAULT");
    if let Some(f) = fault {
        cmd.env("DQN_SWEEP_FAULT", f);
    }
    cmd.output().expect("the sweep binary runs")
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// What must not change when a run is cut and resumed: every run's `episodes.csv`,
/// `run.json` and `config.json`, timing removed.
pub fn run_files(out: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let runs = files_under(out)
        .into_iter()
        .find_map(|p| {
            p.ancestors()
                .find(|a| a.file_name().is_some_and(|n| n == "runs"))
                .map(Path::to_owned)
        })
        .expect("a runs folder");
    let kept: BTreeMap<_, _> = deterministic_contents(&runs)
        .into_iter()
        .filter(|(p, _)| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            ["episodes.csv", "run.json", "config.json"].contains(&name.as_str())
        })
        .collect();
    assert!(!kept.is_empty());
    kept
}

pub fn assert_same_runs(reference: &Path, resumed: &Path) {
    let (a, b) = (run_files(reference), run_files(resumed));
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
    for (k, v) in &a {
        assert!(v == &b[k], "{} differs after resuming", k.display());
    }
    let left: Vec<_> = files_under(resumed)
        .into_iter()
        .filter(|p| p.components().any(|c| c.as_os_str() == "checkpoint"))
        .collect();
    assert!(
        left.is_empty(),
        "finished runs keep no checkpoint: {left:?}"
    );
}

/// What [`cut_every_run`] saw.
pub struct Cuts {
    /// The stderr of every process a fault cut.
    pub cut: Vec<String>,
    /// Runs that resumed from a checkpoint (rather than starting again).
    pub resumed: usize,
}

/// Run the sweep with `fault` again and again until it finishes: every run that starts with
/// no checkpoint folder is cut once (a resumed one is not), so `runs` runs take `runs` cuts.
pub fn cut_every_run(exp: &Path, out: &Path, fault: &str, runs: usize) -> Cuts {
    let mut cuts = Vec::new();
    let mut resumed = 0;
    loop {
        let o = sweep_with(exp, out, Some(fault), &[]);
        resumed += stderr(&o).matches("from its checkpoint at step").count();
        if o.status.success() {
            break;
        }
        let err = stderr(&o);
        assert!(
            err.contains("DQN_SWEEP_FAULT: aborting"),
            "{fault}: the process died otherwise: {:?}\n{err}",
            o.status
        );
        cuts.push(err);
        assert!(cuts.len() <= runs, "{fault}: more cuts than runs");
    }
    Cuts { cut: cuts, resumed }
}
