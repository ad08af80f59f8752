//! The sweep as a library user drives it: determinism across thread counts, resuming an
//! interrupted sweep, and learning with the chapter's settings.

use dqn_sweep::config::Experiment;
use dqn_sweep::run_experiment;
use dqn_sweep::store::ExperimentDir;
use dqn_sweep::sweep::{run_sweep, Progress, RunResult, SweepOptions};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

mod common;
use common::assert_same_outputs;

fn load(path: &str) -> Experiment {
    Experiment::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join(path)).expect("experiment parses")
}

fn opts(results: &Path, threads: usize) -> SweepOptions {
    SweepOptions {
        results: results.to_owned(),
        threads: Some(threads),
        progress: Progress::Quiet,
        reuse: true,
        // As the command line does: each run's own chart drawn as soon as it is stored.
        after_run: Some(dqn_sweep::report::run_chart_hook),
        ..Default::default()
    }
}

#[test]
fn one_and_two_threads_give_identical_results() {
    // CartPole (state vectors, MLP) and MinAtar (pixels, CNN, ε schedule, periodic evaluation).
    for file in ["experiments/smoke.toml", "experiments/minatar-smoke.toml"] {
        let exp = load(file);
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        run_experiment(&exp, &opts(a.path(), 1)).unwrap();
        run_experiment(&exp, &opts(b.path(), 2)).unwrap();
        assert_same_outputs(a.path(), b.path());
    }
}

#[test]
fn a_resumed_sweep_reuses_finished_runs_and_matches_a_fresh_one() {
    let exp = load("experiments/smoke.toml");
    let fresh = tempfile::tempdir().unwrap();
    run_experiment(&exp, &opts(fresh.path(), 2)).unwrap();

    // Simulate an interrupted sweep: one run never finished (no run.json), another was
    // half-written (a stray temp file), the experiment tables were never written.
    let resumed = tempfile::tempdir().unwrap();
    run_experiment(&exp, &opts(resumed.path(), 2)).unwrap();
    let root = resumed.path().join("smoke");
    let unfinished = root.join("runs/variant-per/seed-1");
    std::fs::remove_file(unfinished.join("run.json")).unwrap();
    std::fs::write(unfinished.join(".tmp-partial"), b"garbage").unwrap();
    std::fs::remove_file(root.join("summary.csv")).unwrap();
    let kept = root.join("runs/variant-dqn/seed-0/episodes.csv");
    let kept_mtime = std::fs::metadata(&kept).unwrap().modified().unwrap();

    let results = dqn_sweep::sweep::run_sweep(&exp, &opts(resumed.path(), 2)).unwrap();
    let retrained: Vec<_> = results.iter().filter(|r| !r.reused).collect();
    assert_eq!(
        retrained.len(),
        1,
        "only the unfinished run is trained again"
    );
    assert_eq!(retrained[0].run.config.seed, 1);
    assert_eq!(
        std::fs::metadata(&kept).unwrap().modified().unwrap(),
        kept_mtime
    );
    assert!(
        !unfinished.join(".tmp-partial").exists(),
        "the killed writer's temp file is cleaned up"
    );
    run_experiment(&exp, &opts(resumed.path(), 2)).unwrap();
    assert_same_outputs(fresh.path(), resumed.path());
}

/// The hook after each run sees every run the sweep trains and none it reuses, and a hook
/// that fails leaves the run finished (the command line's chart writer is such a hook).
#[test]
fn the_after_run_hook_sees_each_trained_run_and_cannot_fail_it() {
    static CALLS: AtomicUsize = AtomicUsize::new(0);
    fn failing(_: &Experiment, _: &ExperimentDir, r: &RunResult) -> anyhow::Result<()> {
        assert!(r.ok() && !r.reused);
        CALLS.fetch_add(1, Ordering::Relaxed);
        anyhow::bail!("no chart: the disk is full")
    }
    let exp = load("experiments/smoke.toml");
    let tmp = tempfile::tempdir().unwrap();
    let opts = SweepOptions {
        after_run: Some(failing),
        ..opts(tmp.path(), 2)
    };
    let results = run_sweep(&exp, &opts).unwrap();
    assert!(results.iter().all(|r| r.ok() && !r.reused));
    assert_eq!(CALLS.load(Ordering::Relaxed), results.len());
    let run = tmp.path().join("smoke/runs/variant-dqn/seed-0");
    assert!(run.join("run.json").is_file() && !run.join("reward.png").exists());

    let again = run_sweep(&exp, &opts).unwrap();
    assert!(again.iter().all(|r| r.reused));
    assert_eq!(CALLS.load(Ordering::Relaxed), results.len());
}

#[test]
fn smoke_ablation_writes_the_comparison_table_for_every_variant() {
    let exp = load("experiments/smoke.toml");
    let tmp = tempfile::tempdir().unwrap();
    run_experiment(&exp, &opts(tmp.path(), 2)).unwrap();
    let md = std::fs::read_to_string(tmp.path().join("smoke/comparison.md")).unwrap();
    let header = md
        .lines()
        .find(|l| l.starts_with("| |"))
        .expect("table header");
    for v in [
        "variant=double",
        "variant=per",
        "variant=dueling",
        "variant=double+per+dueling",
    ] {
        assert!(header.contains(v), "comparison lacks {v}: {header}");
    }
    for row in [
        "| purpose |",
        "| what changes |",
        "| math point |",
        "| claimed effect |",
        "Q overestimation",
        "collapse rate",
        "area under the learning curve",
        "**verdict on the claims**",
    ] {
        assert!(md.contains(row), "comparison lacks row {row}:\n{md}");
    }
    // Every measured cell carries a verdict.
    let delta_rows: Vec<&str> = md.lines().filter(|l| l.starts_with("| Δ")).collect();
    assert!(!delta_rows.is_empty());
    for l in delta_rows {
        let verdicts = ["supported", "not supported", "inconclusive", "untestable"];
        let cells: Vec<&str> = l
            .split('|')
            .skip(2)
            .filter(|c| !c.trim().is_empty())
            .collect();
        assert_eq!(cells.len(), 4, "{l}");
        assert!(
            cells.iter().all(|c| verdicts.iter().any(|v| c.contains(v))),
            "{l}"
        );
    }
}

/// The chapter's agent must learn CartPole-v0. Five fixed seeds with the chapter's exact
/// settings (300 episodes); the chapter's own DeZero code reaches a last-100 mean of about
/// 130–190, and this implementation measured 127–200 per seed (median ≈ 160) on seeds 0–9.
/// The threshold 120 leaves a wide margin below the measured median.
#[test]
fn the_chapter_dqn_learns_cartpole() {
    let mut exp = load("experiments/chapter8.toml");
    exp.seeds = (0..5).collect();
    let tmp = tempfile::tempdir().unwrap();
    let results = dqn_sweep::sweep::run_sweep(&exp, &opts(tmp.path(), 2)).unwrap();
    let mut last100: Vec<f64> = results
        .iter()
        .map(|r| {
            assert!(r.ok(), "run failed: {:?}", r.run.info.status);
            let rets: Vec<f64> = r.run.episodes.iter().map(|e| e.ret).collect();
            rets[rets.len() - 100..].iter().sum::<f64>() / 100.0
        })
        .collect();
    last100.sort_by(f64::total_cmp);
    let median = last100[2];
    eprintln!("last-100 mean returns: {last100:?}");
    assert!(
        median >= 120.0,
        "median last-100 return {median} < 120: {last100:?}"
    );
}

/// Common random numbers: at one seed every variant meets the same env resets and
/// exploration draws, and variants of one network shape start from the same weights; with
/// `random_streams = "independent"` they share nothing.
#[test]
fn variants_at_one_seed_share_their_random_numbers() {
    let text = |streams: &str| {
        format!(
            "seeds = 2\n[env]\nid = \"CartPole-v0\"\n[agent]\n\
             variant = [\"dqn\", \"double\", \"per\", \"dueling\", \"double+per+dueling\"]\n\
             learning_starts = 200\n[train]\nepisodes = 15\neval_episodes = 1\n\
             q_probe_interval = 0\nprobe_states = 16\nrandom_streams = \"{streams}\"\n"
        )
    };
    let sweep = |streams: &str| {
        let exp = Experiment::parse(&text(streams), Path::new("crn.toml")).expect("parses");
        let tmp = tempfile::tempdir().unwrap();
        let results = dqn_sweep::sweep::run_sweep(&exp, &opts(tmp.path(), 2)).unwrap();
        // episodes[seed][variant]: the variants in grid order.
        (0..2u64)
            .map(|seed| {
                (0..5)
                    .map(|p| {
                        let r = results
                            .iter()
                            .find(|r| r.point == p && r.run.config.seed == seed)
                            .unwrap();
                        r.run.episodes.clone()
                    })
                    .collect::<Vec<_>>()
            })
            .collect::<Vec<_>>()
    };
    for runs in sweep("paired") {
        // Before step 200 every action is a uniform random draw from the policy stream and
        // nothing learns: the same episodes, whatever the variant.
        let warmup = runs[0].iter().take_while(|e| e.steps <= 200).count();
        assert!(warmup >= 3, "CartPole's random episodes are short");
        for other in &runs[1..] {
            for (a, b) in runs[0].iter().zip(other).take(warmup) {
                assert_eq!((a.ret, a.length, a.steps), (b.ret, b.length, b.steps));
            }
        }
        // Max-Q on the probe states before any update reads the initial weights: shared by
        // dqn, double and per (one shape), and by dueling and all three (another).
        let q0: Vec<f64> = runs.iter().map(|r| r[0].mean_max_q).collect();
        assert!(q0[0] == q0[1] && q0[0] == q0[2], "{q0:?}");
        assert_eq!(q0[3], q0[4], "{q0:?}");
        assert_ne!(q0[0], q0[3], "{q0:?}");
    }
    for runs in sweep("independent") {
        let q0: Vec<f64> = runs.iter().map(|r| r[0].mean_max_q).collect();
        assert!(q0[0] != q0[1] && q0[3] != q0[4], "{q0:?}");
        let first: Vec<u32> = runs.iter().map(|r| r[0].length).collect();
        let steps: Vec<u64> = runs.iter().map(|r| r[2].steps).collect();
        assert!(steps.iter().any(|s| *s != steps[0]), "{first:?} {steps:?}");
    }
}

/// Multi-step returns through the whole training loop, on state vectors and on stacked pixels
/// with prioritized replay: `agent.n_step = 1` trains exactly as the default does (the same
/// config, ids and curves), `n_step = 3` trains to other curves.
#[test]
fn n_step_returns_train_and_one_step_is_the_default() {
    use dqn_sweep::config::Override;
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    for file in ["experiments/smoke.toml", "experiments/minatar-smoke.toml"] {
        let set = |extra: &[&str]| -> Experiment {
            let mut sets = vec!["seeds=1", "agent.variant=\"per\""];
            sets.extend_from_slice(extra);
            let overrides: Vec<Override> = sets.iter().map(|s| s.parse().unwrap()).collect();
            Experiment::load_with(&repo.join(file), &overrides).expect("the overrides apply")
        };
        let returns = |exp: &Experiment| -> Vec<Vec<f64>> {
            let tmp = tempfile::tempdir().unwrap();
            run_sweep(exp, &opts(tmp.path(), 1))
                .unwrap()
                .iter()
                .map(|r| {
                    assert!(r.ok(), "{file}: {:?}", r.run.info.status);
                    r.run.episodes.iter().map(|e| e.ret).collect()
                })
                .collect()
        };
        let default = set(&[]);
        let windows = set(&["agent.n_step=[1, 3]"]);
        assert_eq!(windows.points[0].run(0), default.points[0].run(0), "{file}");
        let (plain, both) = (returns(&default), returns(&windows));
        assert_eq!(
            both[0], plain[0],
            "{file}: n_step = 1 is the default, bit for bit"
        );
        assert_ne!(
            both[1], plain[0],
            "{file}: n_step = 3 learns from other targets"
        );
    }
}

/// Rainbow's components through the whole loop and the report, on state vectors and on MinAtar
/// pixels (both MinAtar networks): every component's variant trains, is deterministic on one
/// and two threads, and gets its own comparison column with its papers' claim ("dqn+nstep" is
/// not mistaken for the baseline "dqn", although both resolve to the same switches).
#[test]
fn rainbow_components_train_and_each_gets_its_comparison_column() {
    use dqn_sweep::config::Override;
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let variants = "agent.variant=[\"dqn\", \"dqn+nstep\", \"c51\", \"noisy\", \"rainbow\"]";
    for (file, extra) in [
        (
            "experiments/smoke.toml",
            vec!["env.id=\"CartPole-v1\"", "train.episodes=15"],
        ),
        ("experiments/minatar-smoke.toml", vec!["train.steps=600"]),
        (
            "experiments/minatar-smoke.toml",
            vec![
                "train.steps=600",
                "agent.minatar_net=\"revisiting-rainbow\"",
                "agent.init=\"xavier\"",
            ],
        ),
    ] {
        let mut sets = vec!["seeds=2", variants];
        sets.extend(extra);
        let overrides: Vec<Override> = sets.iter().map(|s| s.parse().unwrap()).collect();
        let exp = Experiment::load_with(&repo.join(file), &overrides).expect("the overrides apply");
        let curves = |threads| -> Vec<Vec<f64>> {
            let tmp = tempfile::tempdir().unwrap();
            run_sweep(&exp, &opts(tmp.path(), threads))
                .unwrap()
                .iter()
                .map(|r| {
                    assert!(r.ok(), "{file}: {:?}", r.run.info.status);
                    r.run.episodes.iter().map(|e| e.ret).collect()
                })
                .collect()
        };
        assert_eq!(curves(1), curves(2), "{file}: one and two threads");
        let tmp = tempfile::tempdir().unwrap();
        dqn_sweep::run_experiment(&exp, &opts(tmp.path(), 2)).unwrap();
        let comparison =
            std::fs::read_to_string(tmp.path().join(&exp.name).join("comparison.md")).unwrap();
        for column in [
            "variant=dqn+nstep |",
            "variant=c51 |",
            "variant=noisy |",
            "variant=rainbow |",
        ] {
            assert!(
                comparison.contains(column),
                "{file}: no column {column}\n{comparison}"
            );
        }
        for claim in [
            "propagate rewards faster",
            "distribution of returns",
            "state-dependent noise",
        ] {
            assert!(comparison.contains(claim), "{file}: {claim}");
        }
    }
}
