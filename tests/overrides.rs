//! `--set KEY=VALUE` through the real binary, as a user types it: an override is the file
//! edited (same run ids), a list sweeps, a bad override exits 2 naming it and writes nothing,
//! the overridden experiment has its own results folder unless `--set name=…`.

use std::path::Path;

mod common;
use common::sweep;

/// `sweep plan ARGS --json`: the experiment's name and every run's (grid point, seed, run id).
fn plan(args: &[&str]) -> (String, Vec<(String, u64, String)>) {
    let tmp = tempfile::tempdir().unwrap();
    let mut all = vec!["plan", "--json", "--out", tmp.path().to_str().unwrap()];
    all.extend_from_slice(args);
    let o = sweep(&all);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let plan: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let runs = plan["runs"].as_array().unwrap().iter().map(|r| {
        (
            r["grid_point"].as_str().unwrap().to_owned(),
            r["seed"].as_u64().unwrap(),
            r["run_id"].as_str().unwrap().to_owned(),
        )
    });
    (
        plan["experiment"].as_str().unwrap().to_owned(),
        runs.collect(),
    )
}

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn an_override_changes_run_ids_exactly_as_editing_the_file_would() {
    let smoke = "experiments/smoke.toml";
    let (name, overridden) = plan(&[smoke, "--set", "agent.lr=1e-3", "--set", "seeds=3"]);
    assert_eq!(name, "smoke+agent.lr=0.001,seeds=3");
    // The same edit, made in a copy of the file.
    let text = std::fs::read_to_string(smoke).unwrap();
    let edited = text
        .replace("seeds = 2\n", "seeds = 3\n")
        .replace("[agent]\n", "[agent]\nlr = 1e-3\n");
    assert_ne!(edited, text);
    let tmp = tempfile::tempdir().unwrap();
    let copy = tmp.path().join("smoke.toml");
    std::fs::write(&copy, edited).unwrap();
    let (name, from_file) = plan(&[copy.to_str().unwrap()]);
    assert_eq!(name, "smoke");
    assert_eq!(overridden, from_file);
    assert_eq!(overridden.len(), 5 * 3);
    let (_, original) = plan(&[smoke]);
    assert!(original.iter().all(|r| !overridden.contains(r)));
}

#[test]
fn a_list_value_sweeps_and_a_bare_word_is_a_string() {
    let (_, chapter) = plan(&["experiments/chapter8.toml"]);
    let (_, swept) = plan(&[
        "experiments/chapter8.toml",
        "--set",
        "agent.variant=[\"dqn\", \"double\"]",
    ]);
    let points: Vec<&str> = swept.iter().map(|r| r.0.as_str()).collect();
    assert_eq!(points.len(), 2 * chapter.len());
    assert!(points[..chapter.len()].iter().all(|p| *p == "variant=dqn"));
    assert!(points[chapter.len()..]
        .iter()
        .all(|p| *p == "variant=double"));
    // The `dqn` point is the file's own runs.
    let ids = |runs: &[(String, u64, String)]| runs.iter().map(|r| r.2.clone()).collect::<Vec<_>>();
    assert_eq!(ids(&swept[..chapter.len()]), ids(&chapter));
    let (_, bare) = plan(&[
        "experiments/chapter8.toml",
        "--set",
        "agent.optimizer=adam-torch",
    ]);
    let (_, quoted) = plan(&[
        "experiments/chapter8.toml",
        "--set",
        "agent.optimizer=\"adam-torch\"",
    ]);
    assert_eq!(bare, quoted);
    assert_ne!(ids(&bare), ids(&chapter));
}

#[test]
fn bad_overrides_exit_2_naming_the_override_and_write_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("results");
    let out = out.to_str().unwrap();
    for (set, says) in [
        (
            "agent.lr=-1",
            &[
                "--set agent.lr=-1",
                "key `agent.lr`",
                "positive learning rate",
            ][..],
        ),
        (
            "agent.lr=fast",
            &["--set agent.lr=fast", "key `agent.lr`", "expected f64"],
        ),
        (
            "agent.gama=0.9",
            &["--set agent.gama=0.9", "unknown key `agent.gama`", "gamma"],
        ),
        ("seeds=0", &["--set seeds=0", "key `seeds`"]),
        (
            "name=../elsewhere",
            &["--set name=../elsewhere", "key `name`"],
        ),
        ("agent.lr", &["KEY=VALUE"]),
        (
            "agent.variant=[dqn,double]",
            &["not a TOML value", "quotes"],
        ),
    ] {
        for command in [&["run"][..], &["plan"], &["report"], &[]] {
            let mut args = command.to_vec();
            args.extend(["experiments/smoke.toml", "--set", set, "--out", out]);
            let o = sweep(&args);
            let err = stderr(&o);
            assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
            for s in says {
                assert!(err.contains(s), "{args:?}: lacks `{s}`: {err}");
            }
            if !says[0].contains("KEY=VALUE") && !says[0].contains("TOML value") {
                assert!(err.contains("experiments/smoke.toml"), "{err}");
            }
            assert!(!Path::new(out).exists(), "{args:?} wrote into {out}");
        }
    }
    // A value wrong with the file's other keys: the key's own source is blamed, the overrides
    // named.
    let file = tmp.path().join("small.toml");
    std::fs::write(&file, "[agent]\nbuffer_size = 32\n").unwrap();
    let o = sweep(&[
        "plan",
        file.to_str().unwrap(),
        "--set",
        "agent.batch_size=64",
    ]);
    let want = format!(
        "{} (with --set agent.batch_size=64): key `agent.buffer_size`",
        file.display()
    );
    assert!(stderr(&o).contains(&want), "{}", stderr(&o));
}

#[test]
fn name_is_the_results_folder_and_can_be_overridden() {
    let (name, runs) = plan(&["experiments/smoke.toml", "--set", "name=my-smoke"]);
    assert_eq!(name, "my-smoke");
    assert_eq!(
        runs,
        plan(&["experiments/smoke.toml"]).1,
        "a name changes no run"
    );
    let (name, _) = plan(&[
        "experiments/smoke.toml",
        "--set",
        "seeds=1",
        "--set",
        "name=x",
    ]);
    assert_eq!(name, "x");
}

#[test]
fn run_and_report_find_the_overridden_experiment_and_record_its_config() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().to_str().unwrap();
    let sets = [
        "--set",
        "agent.variant=dqn",
        "--set",
        "seeds=1",
        "--set",
        "train.episodes=3",
        "--set",
        "train.eval_episodes=1",
    ];
    let with = |command: &str| {
        let mut args = vec![command, "experiments/smoke.toml", "--out", out];
        args.extend(sets);
        sweep(&args)
    };
    let o = with("run");
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("note: overridden, the experiment is `smoke+agent.variant=dqn,seeds=1,train.episodes=3,train.eval_episodes=1`"), "{}", stderr(&o));
    let dir = tmp
        .path()
        .join("smoke+agent.variant=dqn,seeds=1,train.episodes=3,train.eval_episodes=1");
    let config: dqn_sweep::config::RunConfig = serde_json::from_slice(
        &std::fs::read(dir.join("runs/default/seed-0/config.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        (config.train.episodes, config.train.eval_episodes),
        (Some(3), 1)
    );
    assert!(
        !tmp.path().join("smoke").exists(),
        "the file's own folder is left alone"
    );
    let o = with("report");
    assert!(o.status.success(), "{}", stderr(&o));
    // Without the overrides the file's own runs are missing: exit 1.
    let o = sweep(&["report", "experiments/smoke.toml", "--out", out]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
}

#[test]
fn launch_files_run_the_overridden_experiment() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("launch");
    let sets = ["--set", "agent.lr=1e-3", "--set", "seeds=3"];
    let mut args = vec![
        "slurm",
        "experiments/smoke.toml",
        "--shards",
        "2",
        "--dir",
        dir.to_str().unwrap(),
    ];
    args.extend(sets);
    let o = sweep(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    let name = "smoke+agent.lr=0.001,seeds=3";
    let resolved = dir.join(name).join("experiment.toml");
    let sbatch = std::fs::read_to_string(dir.join(name).join("train.sbatch")).unwrap();
    assert!(sbatch.contains("experiment.toml"), "{sbatch}");
    let mut overridden = vec!["experiments/smoke.toml"];
    overridden.extend(sets);
    assert_eq!(plan(&[resolved.to_str().unwrap()]), plan(&overridden));
}
