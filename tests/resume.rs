//! Checkpoints and resume, driven through the real binary: a run cut anywhere — after a step,
//! inside an evaluation, inside a checkpoint write (`DQN_SWEEP_FAULT`, see `src/fault.rs`),
//! by `kill -9`, or stopped by a signal — and trained again gives the same `episodes.csv` and
//! `run.json` (timing aside) as the run never cut. Checkpoints of another config or damaged
//! ones are refused and the run starts again.

mod common;

use common::{assert_same_runs, cut_every_run, files_under, stderr, sweep_with};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn write_experiment(dir: &Path, name: &str, body: &str) -> PathBuf {
    let p = dir.join(format!("{name}.toml"));
    std::fs::write(&p, format!("name = \"{name}\"\n{body}")).unwrap();
    p
}

/// MinAtar Breakout, every component: DQN, Double, PER, Dueling and Rainbow (C51, noisy,
/// 3-step, PER, Dueling, Double); a small ring so frames are released and the frame log is
/// rewritten; evaluations every 400 steps. (MinAtar takes no frame stacking; the CartPole and
/// Atari tests stack frames.)
const MINATAR: &str = r#"
seeds = 1
[env]
id = "MinAtar/Breakout"
[agent]
variant = ["dqn", "double", "per", "dueling", "rainbow"]
buffer_size = 300
learning_starts = 100
batch_size = 8
[train]
steps = 1200
eval_interval = 400
eval_episodes = 2
q_probe_interval = 4
probe_states = 16
checkpoint_interval = 150
[report]
resamples = 100
"#;

fn minatar_experiment(dir: &Path) -> (PathBuf, usize) {
    (write_experiment(dir, "resume-minatar", MINATAR), 5)
}

#[test]
fn minatar_runs_cut_after_a_step_or_inside_an_evaluation_resume_bit_for_bit() {
    let tmp = tempfile::tempdir().unwrap();
    let (exp, runs) = minatar_experiment(tmp.path());
    let reference = tmp.path().join("reference");
    let o = sweep_with(&exp, &reference, None, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    // Mid-episode, between checkpoints (step 1000: the last checkpoint was at 900).
    let cut = tmp.path().join("cut-step");
    let cuts = cut_every_run(&exp, &cut, "step:1000", runs);
    assert_eq!(cuts.cut.len(), runs, "every run cut once");
    assert_eq!(cuts.resumed, runs, "every run resumed from its checkpoint");
    assert_same_runs(&reference, &cut);
    // Inside the second periodic evaluation (at step 800).
    let cut = tmp.path().join("cut-eval");
    let cuts = cut_every_run(&exp, &cut, "eval:2", runs);
    assert_eq!((cuts.cut.len(), cuts.resumed), (runs, runs));
    let inside = |e: &String| e.contains("inside periodic evaluation 2");
    assert!(cuts.cut.iter().all(inside));
    assert_same_runs(&reference, &cut);
}

#[test]
fn runs_cut_inside_a_checkpoint_write_resume_from_the_last_whole_one() {
    let tmp = tempfile::tempdir().unwrap();
    let body = MINATAR.replace(
        "variant = [\"dqn\", \"double\", \"per\", \"dueling\", \"rainbow\"]",
        "variant = [\"per\", \"rainbow\"]",
    );
    let exp = write_experiment(tmp.path(), "resume-write", &body);
    let reference = tmp.path().join("reference");
    assert!(sweep_with(&exp, &reference, None, &[]).status.success());
    // From the first record's header to four checkpoints in: cuts inside the frame log and
    // inside state.bin, in the first checkpoint and in later ones.
    let (mut files, mut resumed) = (Vec::new(), 0);
    for bytes in [10, 30_000, 1_000_000, 3_000_000, 4_560_000, 15_000_000] {
        let cut = tmp.path().join(format!("cut-{bytes}"));
        let cuts = cut_every_run(&exp, &cut, &format!("checkpoint-bytes:{bytes}"), 2);
        resumed += cuts.resumed;
        for c in &cuts.cut {
            let at = c
                .split(", in ")
                .nth(1)
                .unwrap_or("")
                .lines()
                .next()
                .unwrap_or("");
            files.push(at.to_owned());
        }
        assert_same_runs(&reference, &cut);
    }
    assert!(
        files.iter().any(|f| f.starts_with("frames-")) && files.iter().any(|f| f == "state.bin"),
        "cuts in the frame log and in state.bin: {files:?}"
    );
    // A cut in a run's first checkpoint (about 2.2 MB for PER here, more for Rainbow) leaves
    // nothing to resume from; the later cuts do.
    assert!(resumed >= 4, "{resumed} resumes");
}

#[test]
fn cartpole_runs_resume_bit_for_bit_and_after_kill_9() {
    let tmp = tempfile::tempdir().unwrap();
    let exp = write_experiment(
        tmp.path(),
        "resume-cartpole",
        r#"
seeds = 2
[env]
id = "CartPole-v0"
frame_stack = [1, 2]
[agent]
variant = ["dqn", "double+per+dueling"]
[train]
episodes = 40
eval_episodes = 2
q_probe_interval = 5
probe_states = 32
checkpoint_interval = 100
[report]
resamples = 100
"#,
    );
    let reference = tmp.path().join("reference");
    assert!(sweep_with(&exp, &reference, None, &[]).status.success());
    let cut = tmp.path().join("cut");
    let cuts = cut_every_run(&exp, &cut, "step:250", 8);
    assert_eq!((cuts.cut.len(), cuts.resumed), (8, 8));
    assert_same_runs(&reference, &cut);

    // A real SIGKILL once the first checkpoint is on disk, wherever the run is then.
    let killed = tmp.path().join("killed");
    let mut child = Command::new(env!("CARGO_BIN_EXE_sweep"))
        .args([
            "run",
            exp.to_str().unwrap(),
            "--out",
            killed.to_str().unwrap(),
        ])
        .args(["--threads", "1", "--quiet"])
        .env_remove("DQN_SWEEP_FAULT")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for_checkpoint(&killed, &mut child);
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let o = sweep_with(&exp, &killed, None, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_same_runs(&reference, &killed);
}

/// Wait (at most a minute) until some run under `out` has a checkpoint.
fn wait_for_checkpoint(out: &Path, child: &mut std::process::Child) {
    let start = Instant::now();
    loop {
        let found = out.exists()
            && files_under(out)
                .iter()
                .any(|p| p.ends_with("checkpoint/progress.json"));
        if found {
            return;
        }
        assert!(child.try_wait().unwrap().is_none(), "the sweep ended first");
        assert!(start.elapsed() < Duration::from_secs(60), "no checkpoint");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `sweep plan`'s table for `exp` under `out`.
fn plan(exp: &Path, out: &Path) -> String {
    let (e, o) = (exp.to_str().unwrap(), out.to_str().unwrap());
    let plan = common::sweep(&["plan", e, "--out", o]);
    assert!(plan.status.success(), "{}", stderr(&plan));
    String::from_utf8_lossy(&plan.stdout).into_owned()
}

fn signal(child: &std::process::Child, sig: &str) {
    let ok = Command::new("kill")
        .args([sig, &child.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill {sig}");
}

#[test]
fn a_signal_checkpoints_and_exits_resumable_and_plan_shows_the_run_interrupted() {
    let tmp = tempfile::tempdir().unwrap();
    let body = MINATAR
        .replace(
            "variant = [\"dqn\", \"double\", \"per\", \"dueling\", \"rainbow\"]",
            "variant = [\"per\", \"dueling\"]",
        )
        .replace("steps = 1200", "steps = 6000");
    let exp = write_experiment(tmp.path(), "resume-signal", &body);
    let reference = tmp.path().join("reference");
    assert!(sweep_with(&exp, &reference, None, &[]).status.success());
    for (sig, twice) in [
        ("-TERM", false),
        ("-INT", false),
        ("-USR1", false),
        ("-TERM", true),
    ] {
        let out = tmp.path().join(format!("stopped{sig}{twice}"));
        let mut child = Command::new(env!("CARGO_BIN_EXE_sweep"))
            .args(["run", exp.to_str().unwrap(), "--out", out.to_str().unwrap()])
            .args(["--threads", "1", "--quiet"])
            .env_remove("DQN_SWEEP_FAULT")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        wait_for_checkpoint(&out, &mut child);
        if sig == "-TERM" && !twice {
            // While it trains: its steps so far and the time left.
            let text = plan(&exp, &out);
            assert!(
                text.contains("running at ") && text.contains(" left)"),
                "{text}"
            );
        }
        signal(&child, sig);
        if twice {
            signal(&child, sig); // stops at once: the last checkpoint stands
        }
        let o = child.wait_with_output().unwrap();
        assert_eq!(o.status.code(), Some(75), "{sig}: {}", stderr(&o));
        if !twice {
            let err = stderr(&o);
            assert!(err.contains("(checkpointed)"), "{sig}: {err}");
            assert!(err.contains("run the same command again"), "{err}");
            let text = plan(&exp, &out);
            assert!(text.contains("| interrupted at "), "{text}");
            assert!(!text.contains("| failed"), "{text}");
            // The interrupted run is drawn from its checkpoint, marked as such.
            let (e, o) = (exp.to_str().unwrap(), out.to_str().unwrap());
            let report = common::sweep(&["report", e, "--out", o, "--partial"]);
            assert!(report.status.success(), "{}", stderr(&report));
            let page = std::fs::read_to_string(out.join("resume-signal/index.html")).unwrap();
            assert!(
                page.contains("in progress: "),
                "index.html marks the run in progress"
            );
        }
        let o = sweep_with(&exp, &out, None, &[]);
        assert!(o.status.success(), "{}", stderr(&o));
        assert!(stderr(&o).contains("resumed"), "{}", stderr(&o));
        assert_same_runs(&reference, &out);
    }
}

#[test]
fn damaged_or_foreign_checkpoints_are_refused_and_the_run_starts_again() {
    let tmp = tempfile::tempdir().unwrap();
    let body = MINATAR.replace(
        "variant = [\"dqn\", \"double\", \"per\", \"dueling\", \"rainbow\"]",
        "variant = \"per\"",
    );
    let exp = write_experiment(tmp.path(), "resume-refused", &body);
    let reference = tmp.path().join("reference");
    assert!(sweep_with(&exp, &reference, None, &[]).status.success());
    let cut_at = |out: &Path| {
        let o = sweep_with(&exp, out, Some("step:1000"), &[]);
        assert!(!o.status.success());
        files_under(out)
            .into_iter()
            .find(|p| p.ends_with("checkpoint/state.bin"))
            .expect("a checkpoint")
    };
    type Damage = fn(&Path);
    let damages: [(&str, Damage, &str); 4] = [
        ("flipped byte", |p| flip(p, 200), "checksum mismatch"),
        ("truncated", |p| truncate(p, 100), "truncated"),
        (
            "not a checkpoint",
            |p| std::fs::write(p, b"hello").unwrap(),
            "no checkpoint header",
        ),
        (
            "damaged frame log",
            |p| flip(&p.with_file_name("frames-0.log"), 80),
            "checksum mismatch in the record",
        ),
    ];
    for (what, damage, why) in damages {
        let out = tmp.path().join(what.replace(' ', "-"));
        damage(&cut_at(&out));
        let o = sweep_with(&exp, &out, None, &[]);
        let err = stderr(&o);
        assert!(o.status.success(), "{what}: {err}");
        assert!(
            err.contains("refused") && err.contains(why),
            "{what}: {err}"
        );
        assert!(!err.contains("resumed"), "{what}: {err}");
        assert_same_runs(&reference, &out);
    }
    // Another config in the same run folder (lr is not in the folder's name).
    let out = tmp.path().join("other-config");
    cut_at(&out);
    let lr = ["--set", "agent.lr=0.001", "--set", "name=resume-refused"];
    let o = sweep_with(&exp, &out, None, &lr);
    let err = stderr(&o);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("another config"), "{err}");
}

fn flip(p: &Path, at: usize) {
    let mut b = std::fs::read(p).unwrap();
    b[at] ^= 0x40;
    std::fs::write(p, b).unwrap();
}

fn truncate(p: &Path, by: usize) {
    let b = std::fs::read(p).unwrap();
    std::fs::write(p, &b[..b.len() - by]).unwrap();
}
