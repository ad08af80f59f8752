//! Experiment files end to end: parsing, the grid, defaults, validation and its errors.

use super::*;
use crate::env::{CartPoleVersion, EnvId};

fn parse(text: &str) -> Result<Experiment, ConfigError> {
    Experiment::parse(text, Path::new("experiments/test.toml"))
}

#[test]
fn defaults_are_the_chapter_agent() {
    let e = parse("").unwrap();
    assert_eq!(e.name, "test");
    assert_eq!(e.points.len(), 1);
    let a = &e.points[0].agent;
    assert_eq!((a.gamma, a.lr, a.epsilon), (0.98, 0.0005, 0.1));
    assert_eq!(
        (a.buffer_size, a.batch_size, a.sync_interval),
        (10_000, 32, 20)
    );
    assert_eq!(e.points[0].train.episodes, Some(300));
    assert_eq!(e.points[0].env.id, EnvId::CartPole(CartPoleVersion::V0));
    assert_eq!(e.seeds, vec![0]);
}

#[test]
fn atari_ids_need_the_feature_and_atari_keys_need_an_atari_id() {
    let pong = parse("[env]\nid = \"ALE/Pong\"\nframe_stack = 4\n");
    if cfg!(feature = "atari") {
        let e = pong.unwrap();
        assert_eq!(e.points[0].env.id.to_string(), "ALE/Pong");
        let a = e.points[0].env.atari();
        assert_eq!(
            (a.repeat_action_probability, a.frame_skip, a.noop_max),
            (0.25, 4, 30)
        );
    } else {
        let msg = pong.unwrap_err().to_string();
        assert!(
            msg.contains("env.id") && msg.contains("--features atari"),
            "{msg}"
        );
    }
    let msg = parse("[env]\nnoop_max = 0\n").unwrap_err().to_string();
    assert!(
        msg.contains("Atari settings") && msg.contains("CartPole-v0"),
        "{msg}"
    );
    let msg = parse("[env]\nid = \"ALE/Pongg\"\n")
        .unwrap_err()
        .to_string();
    assert!(msg.contains("ALE/<Game>"), "{msg}");
}

#[test]
fn lists_are_swept_as_a_cartesian_product_in_file_order() {
    let e = parse(
        "seeds = 3\n[agent]\nvariant = [\"dqn\", \"double+dueling\"]\nlr = [0.001, 0.0005, 0.0001]\n",
    )
    .unwrap();
    assert_eq!(e.points.len(), 6);
    assert_eq!(e.runs().len(), 18);
    assert_eq!(e.swept, vec!["agent.variant", "agent.lr"]);
    assert_eq!(e.points[0].label, "variant=dqn, lr=0.001");
    assert_eq!(e.points[4].agent.variant.to_string(), "double+dueling");
    assert_eq!(e.points[4].agent.lr, 0.0005);
    assert_eq!(e.points[4].slug, "variant-double+dueling_lr-0.0005");
}

#[test]
fn variant_names_parse_in_any_order_and_reject_unknowns() {
    let v: Variant = "dueling+double".parse().unwrap();
    assert_eq!(v.to_string(), "double+dueling");
    let err = "double+turbo".parse::<Variant>().unwrap_err();
    assert!(err.contains("turbo") && err.contains("dueling"), "{err}");
    let e = parse("[agent]\nvariant = [\"dqn\", \"tripple\"]\n")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("agent.variant") && e.contains("list element 1"),
        "{e}"
    );
    assert!(e.contains("experiments/test.toml"), "{e}");
}

#[test]
fn errors_name_file_key_and_expectation() {
    let e = parse("[agent]\ngama = 0.9\n").unwrap_err().to_string();
    assert!(e.contains("agent.gama") && e.contains("gamma"), "{e}");
    let e = parse("[agent]\nlr = \"fast\"\n").unwrap_err().to_string();
    assert!(e.contains("agent.lr") && e.contains("f64"), "{e}");
    let e = parse("[agent]\ngamma = 1.5\n").unwrap_err().to_string();
    assert!(e.contains("agent.gamma") && e.contains("[0, 1]"), "{e}");
    let e = parse("[env]\nid = \"CartPole-v9\"\n")
        .unwrap_err()
        .to_string();
    assert!(e.contains("env.id") && e.contains("CartPole-v1"), "{e}");
    let e = parse("seeds = 0\n").unwrap_err().to_string();
    assert!(e.contains("seeds"), "{e}");
    let e = parse("[agent\n").unwrap_err().to_string();
    assert!(e.contains("not valid TOML"), "{e}");
    let e = parse("[agent]\nbatch_size = 64\nbuffer_size = 32\n")
        .unwrap_err()
        .to_string();
    assert!(e.contains("agent.buffer_size"), "{e}");
}

#[test]
fn duplicate_grid_points_are_rejected_however_spelled() {
    let e = parse("[agent]\nvariant = [\"double+dueling\", \"dueling+double\"]\n")
        .unwrap_err()
        .to_string();
    assert!(e.contains("same configuration"), "{e}");
    assert!(parse("[agent]\nlr = [0.001, 0.001]\n").is_err());
}

#[test]
fn every_report_key_is_accepted_including_optional_ones() {
    let e = parse("[report]\nsolved_threshold = 190.0\ncollapse_floor = 50.0\n").unwrap();
    assert_eq!(e.report.solved_threshold, Some(190.0));
    assert_eq!(e.report.collapse_floor, 50.0);
}

#[test]
fn huge_grids_are_rejected_before_allocating() {
    let e = parse("seeds = 100000000000\n").unwrap_err().to_string();
    assert!(e.contains("seeds") && e.contains("10000"), "{e}");
    let e = parse("seeds = 1000\n[agent]\nlr = [1e-3, 2e-3, 3e-3, 4e-3, 5e-3, 6e-3, 7e-3, 8e-3, 9e-3, 1e-2, 2e-2, 3e-2, 4e-2, 5e-2, 6e-2, 7e-2, 8e-2, 9e-2, 1e-1, 2e-1, 3e-1, 4e-1, 5e-1, 6e-1, 7e-1, 8e-1, 9e-1, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0, 13.0, 14.0, 15.0, 16.0, 17.0, 18.0, 19.0, 20.0, 21.0, 22.0, 23.0, 24.0, 25.0, 26.0, 27.0, 28.0, 29.0, 30.0, 31.0, 32.0, 33.0, 34.0, 35.0, 36.0, 37.0, 38.0, 39.0, 40.0, 41.0, 42.0, 43.0, 44.0, 45.0, 46.0, 47.0, 48.0, 49.0, 50.0, 51.0, 52.0, 53.0, 54.0, 55.0, 56.0, 57.0, 58.0, 59.0, 60.0, 61.0, 62.0, 63.0, 64.0, 65.0, 66.0, 67.0, 68.0, 69.0, 70.0, 71.0, 72.0, 73.0, 74.0, 75.0, 76.0, 77.0, 78.0, 79.0, 80.0, 81.0, 82.0, 83.0, 84.0, 85.0, 86.0, 87.0, 88.0, 89.0, 90.0, 91.0, 92.0, 93.0, 94.0, 95.0, 96.0, 97.0, 98.0, 99.0, 100.0, 101.0]\n")
        .unwrap_err()
        .to_string();
    assert!(e.contains("at most 100000"), "{e}");
}

#[test]
fn seeds_as_list_or_count() {
    assert_eq!(parse("seeds = [7, 3]").unwrap().seeds, vec![7, 3]);
    assert_eq!(parse("seeds = 4").unwrap().seeds, vec![0, 1, 2, 3]);
    assert!(parse("seeds = [1, 1]").is_err());
}

#[test]
fn check_table_sets_the_baseline_seeds_and_tolerance() {
    let e = parse("seeds = 4\n").unwrap();
    assert_eq!(e.check.baseline_seeds, vec![0, 1, 2, 3], "default: `seeds`");
    assert_eq!(e.check.tolerance, 0.0);
    let e = parse("seeds = 4\n[check]\nbaseline_seeds = 10\ntolerance = 2.5\n").unwrap();
    assert_eq!(e.check.baseline_seeds, (0..10).collect::<Vec<u64>>());
    assert_eq!(e.check.tolerance, 2.5);
    let bless = e.for_bless();
    assert_eq!(bless.seeds.len(), 10);
    assert_eq!(bless.runs().len(), 10);
    assert_eq!(e.runs().len(), 4, "checks still train `seeds`");
    for (text, key) in [
        ("[check]\nbaseline_seeds = [1, 1]\n", "check.baseline_seeds"),
        ("[check]\ntolerance = -1\n", "check.tolerance"),
        ("[check]\ntolerance = \"10\"\n", "check.tolerance"),
        ("[check]\nseeds = 3\n", "check.seeds"),
        ("check = 3\n", "check"),
    ] {
        let msg = parse(text).unwrap_err().to_string();
        assert!(
            msg.contains("experiments/test.toml") && msg.contains(&format!("`{key}`")),
            "{msg}"
        );
    }
}

#[test]
fn linear_epsilon_schedule_starts_after_learning_starts() {
    let a = AgentConfig {
        epsilon: 0.1,
        epsilon_start: Some(1.0),
        epsilon_decay_steps: 100,
        learning_starts: 50,
        ..AgentConfig::default()
    };
    assert_eq!(a.epsilon_at(0), 1.0);
    assert_eq!(a.epsilon_at(50), 1.0);
    assert!((a.epsilon_at(100) - 0.55).abs() < 1e-12);
    assert_eq!(a.epsilon_at(150), 0.1);
    assert_eq!(a.epsilon_at(10_000), 0.1);
    // Without a start the chapter's constant ε.
    assert_eq!(AgentConfig::default().epsilon_at(7), 0.1);
}

#[test]
fn new_keys_are_validated_with_file_and_key() {
    for (text, key, says) in [
        (
            "[env]\nid = \"MinAtar/Pong\"\n",
            "env.id",
            "MinAtar/Breakout",
        ),
        ("[env]\nobserve = \"pixels\"\n", "env.observe", "positions"),
        (
            "[env]\nid = \"MinAtar/Breakout\"\nobserve = \"positions\"\n",
            "env.observe",
            "CartPole only",
        ),
        ("[env]\nframe_stack = 0\n", "env.frame_stack", "1 to 16"),
        ("[env]\nframe_stack = 5\n", "env.id", "supported sizes"),
        (
            "[env]\nsticky_action_prob = 0.25\n",
            "env.sticky_action_prob",
            "MinAtar settings",
        ),
        (
            "[agent]\nupdate_period = 0\n",
            "agent.update_period",
            "at least 1",
        ),
        (
            "[agent]\nepsilon_decay_steps = 10\n",
            "agent.epsilon_decay_steps",
            "epsilon_start",
        ),
        (
            "[agent]\noptimizer = \"sgd\"\n",
            "agent.optimizer",
            "rmsprop",
        ),
        (
            "[agent]\nrms_momentum = 1.5\n",
            "agent.rms_momentum",
            "[0, 1)",
        ),
        (
            "[agent]\noptimizer = \"rmsprop-nature\"\nrms_momentum = 0.9\n",
            "agent.rms_momentum",
            "NeuralQLearner.lua",
        ),
        (
            "[agent]\noptimizer = \"rmsprop-nature\"\nrms_centered = false\n",
            "agent.rms_centered",
            "always centered",
        ),
        ("[agent]\nadam_beta2 = 1.0\n", "agent.adam_beta2", "[0, 1)"),
        ("[agent]\nadam_eps = 0\n", "agent.adam_eps", "positive"),
        ("[agent]\nn_step = 0\n", "agent.n_step", "1 to 100"),
        ("[agent]\nn_step = 101\n", "agent.n_step", "1 to 100"),
        ("[train]\nsteps = 0\n", "train.steps", "at least 1"),
        (
            "[train]\neval_epsilon = 2.0\n",
            "train.eval_epsilon",
            "[0, 1]",
        ),
    ] {
        let e = parse(text).unwrap_err().to_string();
        assert!(e.contains(key) && e.contains(says), "{text}: {e}");
        assert!(e.contains("experiments/test.toml"), "{e}");
    }
}

#[test]
fn optimizer_spellings_name_their_frameworks_and_keep_old_ids() {
    let kind = |text: &str| parse(text).unwrap().points[0].agent.optimizer;
    for (name, want) in [
        ("adam", OptimizerKind::Adam),
        ("adam-torch", OptimizerKind::AdamTorch),
        ("adam-dezero", OptimizerKind::AdamDezero),
        ("rmsprop", OptimizerKind::Rmsprop),
        ("rmsprop-dfdx", OptimizerKind::Rmsprop),
        ("rmsprop-tf1", OptimizerKind::RmspropTf1),
        ("rmsprop-torch", OptimizerKind::RmspropTorch),
        ("rmsprop-nature", OptimizerKind::RmspropNature),
    ] {
        assert_eq!(
            kind(&format!("[agent]\noptimizer = \"{name}\"\n")),
            want,
            "{name}"
        );
    }
    // The alias is dfdx's RMSprop itself: same JSON, same run id.
    let alias = parse("[agent]\noptimizer = \"rmsprop-dfdx\"\n").unwrap();
    let plain = parse("[agent]\noptimizer = \"rmsprop\"\n").unwrap();
    assert_eq!(
        crate::fingerprint::run_id(&alias.points[0].run(0)),
        crate::fingerprint::run_id(&plain.points[0].run(0))
    );
    // Adam's β and ε at their defaults stay out of a run's JSON (ids as before they
    // existed); set, they are part of it.
    let default = serde_json::to_string(&parse("").unwrap().points[0].run(0)).unwrap();
    assert!(!default.contains("adam_"), "{default}");
    let eps = parse("[agent]\nadam_eps = 3.125e-4\n").unwrap().points[0].run(0);
    assert_eq!(eps.agent.adam_eps, 3.125e-4);
    assert!(serde_json::to_string(&eps)
        .unwrap()
        .contains("\"adam_eps\":0.0003125"));
    let back: RunConfig = serde_json::from_str(&default).unwrap();
    assert_eq!(back.agent.adam_beta2, 0.999);
    // So is n_step: 1 (the default) keeps every existing run's id.
    assert!(!default.contains("n_step"), "{default}");
    let one = parse("[agent]\nn_step = 1\n").unwrap().points[0].run(0);
    assert_eq!(serde_json::to_string(&one).unwrap(), default);
    let three = parse("[agent]\nn_step = 3\n").unwrap().points[0].run(0);
    assert!(serde_json::to_string(&three)
        .unwrap()
        .contains("\"n_step\":3"));
}

#[test]
fn check_exact_is_a_switch() {
    let exact = |t: &str| parse(t).unwrap().check.exact;
    assert_eq!(exact(""), Exact::Off);
    assert_eq!(exact("[check]\nexact = true\n"), Exact::Always);
    assert_eq!(
        exact("[check]\nexact = \"same-kernels\"\n"),
        Exact::SameKernels
    );
    let e = parse("[check]\nexact = 1\n").unwrap_err().to_string();
    assert!(
        e.contains("check.exact") && e.contains("same-kernels"),
        "{e}"
    );
}

#[test]
fn the_epsilon_schedule_starts_where_epsilon_from_says() {
    let a = AgentConfig {
        epsilon_start: Some(1.0),
        epsilon: 0.05,
        epsilon_decay_steps: 1000,
        learning_starts: 500,
        ..AgentConfig::default()
    };
    assert_eq!(a.epsilon_at(500), 1.0);
    assert!((a.epsilon_at(1000) - 0.525).abs() < 1e-12);
    let cleanrl = AgentConfig {
        epsilon_from: EpsilonFrom::FirstStep,
        ..a
    };
    assert!((cleanrl.epsilon_at(500) - 0.525).abs() < 1e-12);
    assert_eq!(cleanrl.epsilon_at(1000), 0.05);
    let e = parse("[agent]\nepsilon_from = \"warmup\"\n")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("agent.epsilon_from") && e.contains("first_step"),
        "{e}"
    );
}

#[test]
fn a_step_budget_lifts_the_default_episode_count() {
    let e = parse("[env]\nid = \"MinAtar/Breakout\"\n[train]\nsteps = 1000\n").unwrap();
    assert_eq!(e.points[0].train.episodes, None);
    assert_eq!(e.points[0].train.steps, Some(1000));
    let e = parse("[train]\nsteps = 1000\nepisodes = 5\n").unwrap();
    assert_eq!(e.points[0].train.episodes, Some(5));
}

#[test]
fn the_device_names_a_run_but_not_its_seeds() {
    let cpu = parse("[train]\ndevice = \"cpu\"\n").unwrap().points[0].run(3);
    let unset = parse("").unwrap().points[0].run(3);
    // At its default the key is absent: CPU runs keep the ids they had before it existed.
    assert_eq!(
        crate::fingerprint::run_id(&cpu),
        crate::fingerprint::run_id(&unset)
    );
    assert!(!serde_json::to_string(&cpu).unwrap().contains("device"));
    let mut gpu = cpu.clone();
    gpu.train.device = DeviceKind::Cuda;
    assert_ne!(
        crate::fingerprint::run_id(&gpu),
        crate::fingerprint::run_id(&cpu)
    );
    assert_eq!(
        gpu.seed_key(),
        cpu.seed_key(),
        "same weights and streams on both"
    );
    let cuda = parse("[train]\ndevice = \"cuda\"\n");
    if cfg!(feature = "cuda") {
        assert_eq!(cuda.unwrap().points[0].train.device, DeviceKind::Cuda);
    } else {
        let msg = cuda.unwrap_err().to_string();
        assert!(
            msg.contains("train.device") && msg.contains("--features cuda"),
            "{msg}"
        );
    }
    let msg = parse("[train]\ndevice = \"tpu\"\n")
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("train.device") && msg.contains("cuda"),
        "{msg}"
    );
}

#[test]
fn overrides_apply_before_the_grid_and_are_blamed_for_their_keys() {
    let sets: Vec<Override> = ["agent.lr=[0.001, 0.01]", "seeds=2"]
        .iter()
        .map(|s| s.parse().unwrap())
        .collect();
    let path = Path::new("experiments/test.toml");
    let e =
        Experiment::parse_with("seeds = 5\n[agent]\nlr = 0.1\ngamma = 0.9\n", path, &sets).unwrap();
    assert_eq!(e.swept, ["agent.lr"]);
    assert_eq!((e.points.len(), e.seeds.len()), (2, 2));
    assert_eq!(e.points[1].agent.lr, 0.01);
    assert_eq!(e.points[1].agent.gamma, 0.9, "the file's other keys stay");
    assert_eq!(e.name, "test+agent.lr=0.001,0.01,seeds=2");
    let bad: Override = "agent.gamma=2".parse().unwrap();
    let msg = Experiment::parse_with("", path, &[bad])
        .unwrap_err()
        .to_string();
    assert!(
        msg.starts_with("--set agent.gamma=2 (over experiments/test.toml): key `agent.gamma`"),
        "{msg}"
    );
}

#[test]
fn the_resolved_file_is_the_overridden_experiment() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.toml");
    std::fs::write(
        &path,
        "# a comment\nseeds = 2\n[agent]\nvariant = [\"dqn\", \"per\"]\n",
    )
    .unwrap();
    let sets: Vec<Override> = ["agent.lr=1e-3", "report.resamples=500"]
        .iter()
        .map(|s| s.parse().unwrap())
        .collect();
    let e = Experiment::load_with(&path, &sets).unwrap();
    let text = e.resolved_toml().unwrap();
    let back = Experiment::parse(&text, Path::new("elsewhere.toml")).unwrap();
    assert_eq!(
        (back.name.as_str(), back.runs()),
        (e.name.as_str(), e.runs())
    );
    assert_eq!((back.swept, back.report), (e.swept, e.report));
}

#[test]
fn every_parse_error_names_the_file() {
    for text in [
        "[agent]\nlr = 0.1\nlr = 0.2\n",
        "[agent]\n[agent]\n",
        "seeds = 1\nseeds = 2\n",
        "[report.normalize.\"CartPole-v0\"]\nreference = 1\nreference = 2\n",
    ] {
        let msg = parse(text).unwrap_err().to_string();
        assert!(
            msg.starts_with("experiments/test.toml: not valid TOML") && msg.contains("duplicate"),
            "{msg}"
        );
    }
}

#[test]
fn rainbow_components_are_keys_and_variant_is_their_shorthand() {
    let agent = |text: &str| parse(text).unwrap().points[0].agent.clone();
    // "rainbow" turns on all six: five switches and Rainbow's n = 3.
    let rainbow = agent(
        "[env]\nid = \"MinAtar/Breakout\"\n[agent]\nvariant = \"rainbow\"\ninit = \"uniform\"\n",
    );
    let v = rainbow.variant;
    assert!(v.double && v.per && v.dueling && v.distributional && v.noisy && !v.multi_step);
    assert_eq!(rainbow.n_step, 3);
    assert_eq!(v.to_string(), "double+per+dueling+c51+noisy");
    // The same agent spelled with keys is the same configuration (one run id).
    let keys = agent("[env]\nid = \"MinAtar/Breakout\"\n[agent]\ndouble = true\nper = true\ndueling = true\ndistributional = true\nnoisy = true\nn_step = 3\ninit = \"uniform\"\n");
    assert_eq!(keys, rainbow);
    // Rainbow less one component; an n other than 3 is Rainbow's own choice to make.
    let less =
        agent("[env]\nid = \"MinAtar/Breakout\"\n[agent]\nvariant = \"rainbow-nstep-noisy\"\n");
    assert_eq!(
        (less.variant.to_string(), less.n_step),
        ("double+per+dueling+c51".into(), 1)
    );
    assert_eq!(
        agent("[agent]\nvariant = \"dqn+nstep\"\nn_step = 5\n").n_step,
        5
    );
    assert_eq!(
        agent("[agent]\nvariant = \"c51\"\n").variant.to_string(),
        "c51"
    );
    // A key adds to the variant; the old spellings keep their meaning and their ids.
    assert_eq!(
        agent("[agent]\nvariant = \"double\"\nper = true\n")
            .variant
            .to_string(),
        "double+per"
    );
    let old = parse("[agent]\nvariant = \"double+per+dueling\"\n")
        .unwrap()
        .points[0]
        .run(0);
    let json = serde_json::to_string(&old).unwrap();
    assert!(
        json.contains("\"variant\":\"double+per+dueling\""),
        "{json}"
    );
    for key in ["\"double\"", "\"noisy\"", "atoms", "v_min", "c51_priority"] {
        assert!(!json.contains(key), "{key} in {json}");
    }
}

#[test]
fn contradictions_between_variant_and_keys_name_both() {
    for (text, key, says) in [
        (
            "[agent]\nvariant = \"rainbow\"\nnoisy = false\ninit = \"uniform\"\n",
            "agent.noisy",
            "variant = \"rainbow\"",
        ),
        (
            "[agent]\nvariant = \"double+per\"\nper = false\n",
            "agent.per",
            "turns `per` on",
        ),
        (
            "[agent]\nvariant = \"rainbow\"\nn_step = 1\ninit = \"uniform\"\n",
            "agent.n_step",
            "multi-step",
        ),
        (
            "[agent]\nvariant = \"rainbow-per-per\"\n",
            "agent.variant",
            "removes `per` twice",
        ),
        (
            "[agent]\nvariant = \"c51+distributional\"\n",
            "agent.variant",
            "names `c51` twice",
        ),
        (
            "[agent]\nvariant = \"rainbow-bogus\"\n",
            "agent.variant",
            "unknown component",
        ),
        (
            "[agent]\nvariant = \"c51\"\natoms = 21\n",
            "agent.atoms",
            "compiled for 51",
        ),
        (
            "[agent]\nvariant = \"c51\"\nv_min = 5.0\nv_max = 5.0\n",
            "agent.v_max",
            "v_min < v_max",
        ),
        (
            "[agent]\nvariant = \"c51\"\n[env]\nid = \"CartPole-v1\"\nframe_stack = 2\n",
            "env.id",
            "unstacked full state",
        ),
    ] {
        let e = parse(text).unwrap_err().to_string();
        assert!(e.contains(key) && e.contains(says), "{text}: {e}");
    }
}
