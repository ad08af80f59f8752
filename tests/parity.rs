//! The options that let an experiment be written down as a reference implementation runs it
//! (optimizer forms, CleanRL's network and schedules), driven through the real `sweep` binary,
//! and `sweep parity` comparing an experiment with a reference's per-episode CSV.

use dqn_sweep::store::read_csv;
use polars::prelude::{DataFrame, DataType};
use std::path::Path;
use std::process::Output;

mod common;
use common::sweep;

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// CleanRL's CartPole settings (experiments/parity-cartpole-cleanrl.toml) at a tiny budget,
/// with `optimizer` swept.
fn cleanrl_like(name: &str, optimizers: &str) -> String {
    format!(
        r#"name = "{name}"
seeds = 2
[env]
id = "CartPole-v1"
[agent]
gamma = 0.99
optimizer = [{optimizers}]
lr = 0.00025
loss = "mse"
batch_size = 32
buffer_size = 2000
learning_starts = 500
warmup_actions = "epsilon_greedy"
epsilon_start = 1.0
epsilon = 0.05
epsilon_decay_steps = 2000
epsilon_from = "first_step"
update_period = 2
sync_interval = 100
sync_unit = "steps"
bootstrap_mask = "terminated"
init = "uniform"
mlp_hidden = "120x84"
[train]
steps = 3000
eval_episodes = 0
q_probe_interval = 0
probe_states = 0
"#
    )
}

/// A column of `df` as text.
fn text_column(df: &DataFrame, c: &str) -> Vec<String> {
    let col = df.column(c).unwrap().cast(&DataType::String).unwrap();
    col.str()
        .unwrap()
        .iter()
        .map(|v| v.unwrap_or_default().to_owned())
        .collect()
}

/// A numeric column of `df`.
fn num_column(df: &DataFrame, c: &str) -> Vec<f64> {
    let col = df.column(c).unwrap().cast(&DataType::Float64).unwrap();
    col.f64().unwrap().iter().map(|v| v.unwrap()).collect()
}

/// Per grid point and seed, the (episode, return, loss) rows of runs.csv.
fn curves(dir: &Path) -> Vec<(String, Vec<(f64, f64)>)> {
    let runs = read_csv(&dir.join("runs.csv")).unwrap();
    let (text, num) = (|c| text_column(&runs, c), |c| num_column(&runs, c));
    let (points, seeds, ret, loss) = (text("grid_point"), num("seed"), num("return"), num("loss"));
    let mut out: Vec<(String, Vec<(f64, f64)>)> = Vec::new();
    for i in 0..points.len() {
        let key = format!("{}/{}", points[i], seeds[i]);
        match out.iter_mut().find(|(k, _)| *k == key) {
            Some((_, v)) => v.push((ret[i], loss[i])),
            None => out.push((key, vec![(ret[i], loss[i])])),
        }
    }
    out
}

#[test]
fn every_optimizer_form_trains_cleanrls_network_and_each_learns_its_own_way() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("forms.toml");
    let forms = r#""adam", "adam-torch", "adam-dezero", "rmsprop", "rmsprop-tf1", "rmsprop-torch", "rmsprop-nature""#;
    std::fs::write(&file, cleanrl_like("forms", forms)).unwrap();
    let out = tmp.path().join("out");
    let o = sweep(&[file.to_str().unwrap(), "--out", out.to_str().unwrap(), "-q"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let curves = curves(&out.join("forms"));
    assert_eq!(curves.len(), 14, "7 forms x 2 seeds");
    for (key, rows) in &curves {
        let losses: Vec<f64> = rows.iter().map(|r| r.1).filter(|l| !l.is_nan()).collect();
        assert!(
            !losses.is_empty() && losses.iter().all(|l| l.is_finite()),
            "{key}: {losses:?}"
        );
    }
    // Same seed, same streams: the warm-up's episodes agree across forms until the first update
    // (the network differs only once an optimizer has stepped), and every form's trajectory then
    // differs from every other's (the forms are different arithmetic, so different runs).
    for seed in ["0", "1"] {
        let of_seed: Vec<&Vec<(f64, f64)>> = curves
            .iter()
            .filter(|(k, _)| k.ends_with(&format!("/{seed}")))
            .map(|(_, v)| v)
            .collect();
        assert_eq!(of_seed.len(), 7);
        assert!(
            of_seed.iter().all(|c| c[0].0 == of_seed[0][0].0),
            "first episode"
        );
        for (i, a) in of_seed.iter().enumerate() {
            for b in &of_seed[i + 1..] {
                assert_ne!(a, b, "seed {seed}: two forms gave the same run");
            }
        }
    }
}

#[test]
fn reference_options_are_checked_where_they_are_compiled() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("bad.toml");
    let text =
        cleanrl_like("bad", r#""adam""#).replace("[agent]\n", "[agent]\nvariant = \"dueling\"\n");
    std::fs::write(&file, text).unwrap();
    let o = sweep(&["plan", file.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(
        e.contains("bad.toml") && e.contains("120x84") && e.contains("dueling"),
        "{e}"
    );
}

/// `seed,episode,frames,return,cut` rows of `runs.csv`'s first grid point, returns scaled.
fn as_reference(runs_csv: &Path, scale: f64, to: &Path) {
    let runs = read_csv(runs_csv).unwrap();
    let num = |c| num_column(&runs, c);
    let (seed, ep, steps, ret) = (num("seed"), num("episode"), num("steps"), num("return"));
    let mut csv = String::from("seed,episode,frames,return,cut\n");
    for i in 0..seed.len() {
        let line = format!(
            "{},{},{},{},0\n",
            seed[i] + 100.0,
            ep[i],
            steps[i],
            ret[i] * scale
        );
        csv.push_str(&line);
    }
    csv.push_str("100,9999,3000,-1000000,1\n"); // cut by the budget: left out
    std::fs::write(to, csv).unwrap();
}

#[test]
fn parity_against_a_reference_tells_the_same_from_the_different() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("p.toml");
    std::fs::write(&file, cleanrl_like("p", r#""adam-torch""#)).unwrap();
    let out = tmp.path().join("out");
    let out_s = out.to_str().unwrap();
    let o = sweep(&[file.to_str().unwrap(), "--out", out_s, "-q"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let dir = out.join("p");

    // The same runs under other seeds' labels: the difference is 0, but two seeds a side
    // cannot show it lies within ±20% (inconclusive, exit 1); within ±100% they can (parity,
    // exit 0, every file written).
    let same = tmp.path().join("same.csv");
    as_reference(&dir.join("runs.csv"), 1.0, &same);
    let run = |r: &Path, margin: &str| {
        sweep(&[
            "parity",
            file.to_str().unwrap(),
            "--reference",
            r.to_str().unwrap(),
            "--name",
            "ref",
            "--margin",
            margin,
            "--out",
            out_s,
        ])
    };
    let o = run(&same, "0.2");
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("verdict: **inconclusive**"));
    let o = run(&same, "1.0");
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let md = std::fs::read_to_string(dir.join("parity.md")).unwrap();
    assert!(
        md.contains("verdict: **parity**") && md.contains("**+0.00**"),
        "{md}"
    );
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("parity.json")).unwrap()).unwrap();
    assert_eq!(json["verdict"], "parity");
    assert_eq!(json["reference"]["seeds"], serde_json::json!([100, 101]));
    for chart in ["parity.svg", "parity.png"] {
        assert!(
            std::fs::metadata(dir.join(chart)).unwrap().len() > 1000,
            "{chart}"
        );
    }

    // Returns cut to a tenth: every resample's difference is beyond the band, differs, exit 1.
    let tenth = tmp.path().join("tenth.csv");
    as_reference(&dir.join("runs.csv"), 0.1, &tenth);
    let o = run(&tenth, "1.0");
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("verdict: **differs**"));

    // A reference without the columns: a clear error naming the file and the column.
    let bad = tmp.path().join("bad.csv");
    std::fs::write(&bad, "seed,episode,return\n0,0,1\n").unwrap();
    let o = run(&bad, "0.2");
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("bad.csv") && stderr(&o).contains("frames"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn warmup_actions_follow_the_policy_when_asked() {
    // ε = 0 and no update before the budget ends: "epsilon_greedy" warm-up acts greedily with
    // the untrained network (CartPole falls within ~10 steps pushing one way), "uniform" acts at
    // random (~22 steps on average).
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("w.toml");
    let text = r#"name = "w"
seeds = 2
[env]
id = "CartPole-v1"
[agent]
epsilon = 0.0
learning_starts = 100000
warmup_actions = ["uniform", "epsilon_greedy"]
init = "uniform"
[train]
steps = 3000
eval_episodes = 0
q_probe_interval = 0
probe_states = 0
"#;
    std::fs::write(&file, text).unwrap();
    let out = tmp.path().join("out");
    let o = sweep(&[file.to_str().unwrap(), "--out", out.to_str().unwrap(), "-q"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let runs = read_csv(&out.join("w").join("runs.csv")).unwrap();
    let col = |c| text_column(&runs, c);
    let (points, lengths) = (col("grid_point"), col("length"));
    let mean_length = |point: &str| {
        let l: Vec<f64> = (0..points.len())
            .filter(|&i| points[i].contains(point))
            .map(|i| lengths[i].parse::<f64>().unwrap())
            .collect();
        l.iter().sum::<f64>() / l.len() as f64
    };
    let (uniform, greedy) = (mean_length("uniform"), mean_length("epsilon_greedy"));
    assert!(
        uniform > 15.0 && greedy < 12.0,
        "uniform {uniform}, greedy {greedy}"
    );
}
