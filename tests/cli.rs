//! Drives the real `sweep` binary the way a user does.

use dqn_sweep::config::RunConfig;
use dqn_sweep::store::read_csv;
use std::path::{Path, PathBuf};

mod common;
use common::{files_under, sweep};

#[test]
fn smoke_sweep_writes_every_output_and_each_parses() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().to_str().unwrap();
    let o = sweep(&[
        "experiments/smoke.toml",
        "--out",
        out,
        "--threads",
        "2",
        "--quiet",
    ]);
    assert!(
        o.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let dir = tmp.path().join("smoke");

    // Experiment-level tables.
    let runs = read_csv(&dir.join("runs.csv")).unwrap();
    assert_eq!(
        runs.height(),
        5 * 2 * 30,
        "5 variants x 2 seeds x 30 episodes"
    );
    let episode_columns = dqn_sweep::store::EPISODE_COLUMNS;
    for col in ["grid_point", "seed", "variant"]
        .iter()
        .chain(episode_columns.iter())
    {
        assert!(runs.column(col).is_ok(), "runs.csv lacks {col}");
    }
    let summary = read_csv(&dir.join("summary.csv")).unwrap();
    assert_eq!(summary.height(), 5);
    for col in [
        "runs",
        "final_mean",
        "final_median",
        "final_iqm",
        "eval_mean",
        "episodes_to_solve_median",
        "env_steps_mean",
        "wall_s_mean",
        "steps_per_s_mean",
    ] {
        assert!(summary.column(col).is_ok(), "summary.csv lacks {col}");
    }
    let scores = read_csv(&dir.join("run_scores.csv")).unwrap();
    assert_eq!(scores.height(), 10);
    let md = std::fs::read_to_string(dir.join("summary.md")).unwrap();
    for v in [
        "variant=dqn",
        "variant=double",
        "variant=per",
        "variant=dueling",
        "variant=double+per+dueling",
    ] {
        assert!(
            md.contains(&format!("| {v} |")),
            "summary.md lacks a row for {v}:\n{md}"
        );
    }
    assert!(dir.join("comparison.md").is_file());

    // Charts: PNG and SVG each.
    for stem in [
        "learning_curves",
        "q_overestimation",
        "final_return_distribution",
        "performance_profile",
    ] {
        let png = std::fs::read(dir.join(format!("{stem}.png"))).unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "{stem}.png is a PNG");
        let svg = std::fs::read_to_string(dir.join(format!("{stem}.svg"))).unwrap();
        assert!(svg.contains("<svg"), "{stem}.svg is an SVG");
    }

    // Per run: resolved config, per-episode table, status, Figure 8-8.
    let run_dirs: Vec<PathBuf> = files_under(&dir.join("runs"))
        .into_iter()
        .filter(|p| p.ends_with("run.json"))
        .map(|p| p.parent().unwrap().to_owned())
        .collect();
    assert_eq!(run_dirs.len(), 10);
    for d in run_dirs {
        let cfg: RunConfig =
            serde_json::from_slice(&std::fs::read(d.join("config.json")).unwrap()).unwrap();
        assert_eq!(cfg.train.episodes, Some(30));
        let info: serde_json::Value =
            serde_json::from_slice(&std::fs::read(d.join("run.json")).unwrap()).unwrap();
        assert_eq!(info["status"], "ok", "{}", d.display());
        assert_eq!(info["eval_returns"].as_array().unwrap().len(), 2);
        let eps = read_csv(&d.join("episodes.csv")).unwrap();
        assert_eq!(eps.height(), 30);
        assert!(d.join("reward.png").is_file() && d.join("reward.svg").is_file());
    }
    // Nothing half-written is left behind.
    assert!(files_under(&dir).iter().all(|p| !p
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
        .starts_with(".tmp")));
}

fn assert_rejected(toml: &str, needles: &[&str]) {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("bad.toml");
    std::fs::write(&file, toml).unwrap();
    let out = tmp.path().join("results");
    let o = sweep(&[
        file.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success(), "accepted:\n{toml}");
    assert!(
        err.contains("bad.toml"),
        "error does not name the file: {err}"
    );
    for n in needles {
        assert!(err.contains(n), "error lacks `{n}`: {err}");
    }
    assert!(!out.exists(), "nothing may be written for a rejected file");
}

#[test]
fn bad_input_is_rejected_with_file_key_and_expectation() {
    assert_rejected(
        "[agent]\nvariant = \"tripple\"\n",
        &["agent.variant", "double", "dueling"],
    );
    assert_rejected(
        "[agent]\nlearning_rate = 0.1\n",
        &["agent.learning_rate", "lr"],
    );
    assert_rejected("[agent]\ngamma = \"high\"\n", &["agent.gamma"]);
    assert_rejected("[train]\nepisodes = 0\n", &["train.episodes", "at least 1"]);
    assert_rejected("seeds = -3\n", &["seeds"]);
    assert_rejected("[agent\n", &["not valid TOML"]);
    assert_rejected(
        "[agent]\nlr = 0.1\nlr = 0.2\n",
        &["not valid TOML", "duplicate key `lr`", "line 3"],
    );
    assert_rejected(
        "[train]\nrandom_streams = \"shared\"\n",
        &["train.random_streams", "paired", "independent"],
    );
    // A reference score for an environment the grid does not have, or without its source.
    assert_rejected(
        "[report.normalize.\"MinAtar/Breakout\"]\nreference = 3.0\nsource = \"x\"\n",
        &["report.normalize.\"MinAtar/Breakout\"", "CartPole-v0"],
    );
    assert_rejected(
        "[report.normalize.\"CartPole-v0\"]\nreference = 200.0\n",
        &["report", "source"],
    );
}

#[test]
fn missing_file_and_help() {
    let o = sweep(&["experiments/does-not-exist.toml"]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("does-not-exist.toml"));
    let o = sweep(&["--help"]);
    let help = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success());
    assert!(
        help.contains("EXPERIMENT FILES (TOML)") && help.contains("variant"),
        "{help}"
    );
}

#[test]
fn a_failing_run_is_recorded_and_the_others_finish() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("diverge.toml");
    // An absurd learning rate makes the loss non-finite within a few updates.
    std::fs::write(
        &file,
        "seeds = 1\n[agent]\nlr = [0.0005, 1e30]\n[train]\nepisodes = 20\neval_episodes = 1\n",
    )
    .unwrap();
    let out = tmp.path().join("results");
    let o = sweep(&[
        file.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "stderr: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let dir = out.join("diverge");
    let bad: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("runs/lr-1e30/seed-0/run.json")).unwrap())
            .unwrap();
    assert_eq!(bad["status"], "failed");
    assert!(
        bad["reason"].as_str().unwrap().contains("non-finite"),
        "{bad}"
    );
    let good: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("runs/lr-0.0005/seed-0/run.json")).unwrap())
            .unwrap();
    assert_eq!(good["status"], "ok");
    let md = std::fs::read_to_string(dir.join("summary.md")).unwrap();
    assert!(md.contains("Failed runs") && md.contains("lr=1e30"), "{md}");
}

/// `sweep check` exits 1 and says "REGRESSED" when training is broken on purpose (learning
/// rate 100× smaller) against the committed regression baseline.
#[test]
fn check_command_fails_on_a_deliberately_broken_agent() {
    let tmp = tempfile::tempdir().unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(root.join("experiments/regression.toml")).unwrap();
    assert!(
        text.contains("lr = 0.001"),
        "the regression experiment sets lr"
    );
    let file = tmp.path().join("regression.toml");
    std::fs::write(&file, text.replace("lr = 0.001", "lr = 0.00001")).unwrap();
    let out = tmp.path().join("results");
    let baselines = out.join("baselines/regression");
    std::fs::create_dir_all(&baselines).unwrap();
    for f in ["baseline.json", "curves.csv"] {
        std::fs::copy(
            root.join("results/baselines/regression").join(f),
            baselines.join(f),
        )
        .unwrap();
    }
    let o = sweep(&[
        "check",
        file.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ]);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert_eq!(
        o.status.code(),
        Some(1),
        "stdout: {stdout}\nstderr: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(stdout.contains("REGRESSED"), "{stdout}");
    assert!(
        stdout.contains("agent.lr"),
        "the report names the changed key: {stdout}"
    );
    let md = std::fs::read_to_string(out.join("regression/check.md")).unwrap();
    assert!(md.contains("regressed"), "{md}");
    assert!(out.join("regression/check_curves.png").is_file());
    // The experiment's page shows the check's verdict.
    let page = std::fs::read_to_string(out.join("regression/index.html")).unwrap();
    assert!(
        page.contains("id=\"check\"") && page.contains("regressed"),
        "the page shows the check"
    );
}

#[test]
fn bless_then_check_round_trip_through_the_binary() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().to_str().unwrap();
    let o = sweep(&["bless", "experiments/smoke.toml", "--out", out, "--quiet"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(tmp.path().join("baselines/smoke/baseline.json").is_file());
    let o = sweep(&["check", "experiments/smoke.toml", "--out", out, "--quiet"]);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{stdout}");
    assert_eq!(stdout.matches("IDENTICAL").count(), 5, "{stdout}");
    let o = sweep(&[
        "check",
        "experiments/smoke.toml",
        "--out",
        out,
        "--quiet",
        "--require-identical",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stdout));

    // Other seeds stand in for another machine: 2 runs a side are too few for the statistical
    // level ("untested", exit 0), and `--require-identical` refuses them.
    let text = std::fs::read_to_string("experiments/smoke.toml").unwrap();
    let other = tmp.path().join("smoke.toml");
    std::fs::write(&other, text.replace("seeds = 2", "seeds = [5, 6]")).unwrap();
    let other = other.to_str().unwrap();
    let o = sweep(&["check", other, "--out", out, "--quiet"]);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success() && !stdout.contains("IDENTICAL") && stdout.contains("UNTESTED"),
        "{stdout}"
    );
    let o = sweep(&[
        "check",
        other,
        "--out",
        out,
        "--quiet",
        "--require-identical",
    ]);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains(
            "--require-identical: not bit-identical to the baseline: variant=dqn (untested)"
        ),
        "{stdout}"
    );
}

/// `sweep report` rebuilds the tables from the runs on disk without training, and refuses (exit
/// 1, nothing written) while a run is missing unless `--partial`.
#[test]
fn report_rebuilds_tables_from_finished_runs_and_refuses_missing_ones() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().to_str().unwrap();
    let o = sweep(&["experiments/smoke.toml", "--out", out, "--quiet"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let dir = tmp.path().join("smoke");
    let summary = std::fs::read(dir.join("summary.csv")).unwrap();
    let episodes = dir.join("runs/variant-dqn/seed-0/episodes.csv");
    let trained_at = std::fs::metadata(&episodes).unwrap().modified().unwrap();

    std::fs::remove_file(dir.join("summary.csv")).unwrap();
    let o = sweep(&["report", "experiments/smoke.toml", "--out", out]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(std::fs::read(dir.join("summary.csv")).unwrap(), summary);
    let unchanged = std::fs::metadata(&episodes).unwrap().modified().unwrap();
    assert_eq!(unchanged, trained_at, "nothing was trained again");

    std::fs::remove_file(dir.join("runs/variant-per/seed-1/run.json")).unwrap();
    std::fs::remove_file(dir.join("summary.csv")).unwrap();
    let o = sweep(&["report", "experiments/smoke.toml", "--out", out]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("1 of 10 runs") && err.contains("variant=per seed 1"),
        "{err}"
    );
    assert!(!dir.join("summary.csv").exists(), "nothing written");
    let o = sweep(&[
        "report",
        "experiments/smoke.toml",
        "--out",
        out,
        "--partial",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(dir.join("summary.csv").exists());
}

#[test]
fn power_plans_seeds_from_finished_runs_and_needs_some() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().to_str().unwrap();
    let power = |delta: &str| {
        sweep(&[
            "power",
            "experiments/smoke.toml",
            "--out",
            out,
            "--delta",
            delta,
            "--sims",
            "50",
        ])
    };
    let o = power("10");
    assert_eq!(o.status.code(), Some(1), "no pilot runs yet");
    assert!(String::from_utf8_lossy(&o.stderr).contains("0 of 10 runs"));

    let o = sweep(&["experiments/smoke.toml", "--out", out, "--quiet"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = power("10");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let table = String::from_utf8_lossy(&o.stdout);
    assert!(table.contains("difference of +10"), "{table}");
    let rows: Vec<&str> = table
        .lines()
        .filter(|l| l.starts_with("| variant="))
        .collect();
    assert_eq!(rows.len(), 5, "one row per grid point:\n{table}");
    for row in rows {
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        assert_eq!(cells[2], "2", "two pilot runs: {row}");
        // 10 powers then the plan: every power is a percentage.
        assert!(cells[4..14].iter().all(|c| c.ends_with('%')), "{row}");
    }
    let o = power("0.5");
    assert!(o.status.success());
    let o = sweep(&[
        "power",
        "experiments/smoke.toml",
        "--out",
        out,
        "--delta",
        "1",
        "--power",
        "2",
    ]);
    assert_eq!(
        o.status.code(),
        Some(2),
        "a power outside (0, 1) is bad input"
    );
}

/// `sweep bench --repeat 2` at the smallest scale: every row gets a median inside its
/// min – max range; `--repeat 0` is refused.
#[test]
fn bench_repeats_report_a_median_and_range_per_row() {
    let o = sweep(&["bench", "--scale", "0.01", "--repeat", "2"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out = String::from_utf8_lossy(&o.stdout);
    let mut lines = out.lines();
    assert_eq!(
        lines.next(),
        Some("| benchmark | median of 2 runs | min – max |")
    );
    let number = |s: &str| -> f64 { s.trim().parse().unwrap_or_else(|_| panic!("{s:?}")) };
    let rows: Vec<&str> = lines.skip(1).collect();
    assert!(rows.len() > 15, "{out}");
    for row in rows {
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        // ["", what, "median unit", "min – max", ""]
        let median = number(cells[2].split(' ').next().unwrap());
        let (lo, hi) = cells[3].split_once('–').expect("a range");
        let (lo, hi) = (number(lo), number(hi));
        assert!(lo <= median && median <= hi, "{row}");
    }
    let o = sweep(&["bench", "--repeat", "0"]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("--repeat"));
}

/// With the `parquet` feature, each table has a Parquet copy with the CSV's rows and typed
/// columns.
#[cfg(feature = "parquet")]
#[test]
fn parquet_copies_hold_the_tables_with_typed_columns() {
    use polars::prelude::*;
    let tmp = tempfile::tempdir().unwrap();
    let o = sweep(&[
        "experiments/smoke.toml",
        "--out",
        tmp.path().to_str().unwrap(),
        "--quiet",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let dir = tmp.path().join("smoke");
    for table in ["runs", "run_scores", "summary"] {
        let file = std::fs::File::open(dir.join(format!("{table}.parquet"))).unwrap();
        let parquet = ParquetReader::new(file).finish().unwrap();
        let csv = dqn_sweep::store::read_csv(&dir.join(format!("{table}.csv"))).unwrap();
        assert_eq!(parquet.shape(), csv.shape(), "{table}");
        assert_eq!(
            parquet.get_column_names(),
            csv.get_column_names(),
            "{table}"
        );
    }
    let file = std::fs::File::open(dir.join("run_scores.parquet")).unwrap();
    let scores = ParquetReader::new(file).finish().unwrap();
    assert_eq!(scores.column("seed").unwrap().dtype(), &DataType::UInt64);
    assert_eq!(scores.column("ok").unwrap().dtype(), &DataType::Boolean);
    assert_eq!(
        scores.column("grid_point").unwrap().dtype(),
        &DataType::String
    );
    let csv = dqn_sweep::store::read_csv(&dir.join("run_scores.csv")).unwrap();
    let (a, b) = (
        scores.column("final_return").unwrap(),
        csv.column("final_return").unwrap(),
    );
    assert!(a.equals_missing(b), "the same numbers, bit for bit");
}
