//! The crate graph is the architecture: each library crate under `crates/` may depend only on
//! what its crate doc allows. Read from `cargo metadata` (the resolved graph with default
//! features, normal dependencies only), so a forbidden dependency arriving through another
//! crate fails here too. Inside the harness, the sweep, the store and the config sit below the
//! report: a source scan checks they never name it.

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Crate → packages that must not be in its normal dependency tree, and why.
const RULES: &[(&str, &[&str], &str)] = &[
    (
        "dqn-envs",
        &[
            "dfdx",
            "polars",
            "plotters",
            "dqn-nn",
            "dqn-agent",
            "dqn-stats",
        ],
        "environments are usable by any Rust RL code: no tensors, tables or agents",
    ),
    (
        "dqn-stats",
        &[
            "dfdx",
            "polars",
            "plotters",
            "dqn-envs",
            "dqn-nn",
            "dqn-agent",
        ],
        "statistics take numbers and return numbers: no I/O, tensors or environments",
    ),
    (
        "dqn-nn",
        &["polars", "plotters", "dqn-envs", "dqn-agent", "dqn-stats"],
        "the dfdx substrate knows layers and optimizers, not environments or agents",
    ),
    (
        "dqn-agent",
        &["polars", "plotters", "indicatif", "dqn-stats"],
        "the agent trains one network: no tables, charts, progress bars or statistics",
    ),
];

/// Normal (non-dev, non-build) dependency edges of the resolved graph, by package name.
fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--offline"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo metadata runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: Value = serde_json::from_slice(&out.stdout).expect("cargo metadata is JSON");
    let name = |id: &str| {
        meta["packages"]
            .as_array()
            .and_then(|ps| ps.iter().find(|p| p["id"] == id))
            .and_then(|p| p["name"].as_str())
            .expect("every resolved id is a package")
            .to_owned()
    };
    let mut edges = BTreeMap::new();
    for node in meta["resolve"]["nodes"]
        .as_array()
        .expect("a resolved graph")
    {
        let normal = node["deps"].as_array().into_iter().flatten().filter(|d| {
            d["dep_kinds"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|k| k["kind"].is_null())
        });
        let deps = normal.map(|d| name(d["pkg"].as_str().unwrap())).collect();
        edges.insert(name(node["id"].as_str().unwrap()), deps);
    }
    edges
}

fn tree(edges: &BTreeMap<String, BTreeSet<String>>, root: &str) -> BTreeSet<String> {
    let (mut seen, mut todo) = (BTreeSet::new(), vec![root.to_owned()]);
    while let Some(p) = todo.pop() {
        for d in edges.get(&p).into_iter().flatten() {
            if seen.insert(d.clone()) {
                todo.push(d.clone());
            }
        }
    }
    seen
}

#[test]
fn each_crate_depends_only_on_what_its_layer_allows() {
    let edges = graph();
    let mut broken = Vec::new();
    for (krate, forbidden, why) in RULES {
        assert!(edges.contains_key(*krate), "{krate} is a workspace crate");
        let deps = tree(&edges, krate);
        for f in forbidden.iter().filter(|f| deps.contains(**f)) {
            broken.push(format!("{krate} depends on {f} ({why})"));
        }
    }
    assert!(broken.is_empty(), "{}", broken.join("\n"));
}

#[test]
fn the_harness_sits_on_top_of_every_library_crate() {
    let deps = tree(&graph(), "dqn-sweep");
    for krate in ["dqn-agent", "dqn-envs", "dqn-nn", "dqn-stats"] {
        assert!(deps.contains(krate), "dqn-sweep uses {krate}");
    }
}

/// Modules of the harness (under `src/`) below the report: what they need from it is passed in
/// (the sweep's `SweepOptions::after_run` hook draws each run's chart).
const BELOW_THE_REPORT: &[&str] = &["sweep", "store", "config"];

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).expect("a source folder") {
        let path = entry.expect("a folder entry").path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files
}

#[test]
fn the_sweep_store_and_config_do_not_use_the_report() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut uses = Vec::new();
    for module in BELOW_THE_REPORT {
        let files = rust_files(&src.join(module));
        assert!(
            !files.is_empty(),
            "src/{module}/ holds the module's sources"
        );
        for file in files {
            let text = std::fs::read_to_string(&file).expect("a source file");
            for (i, line) in text.lines().enumerate() {
                if ["crate::report", "super::report", "dqn_sweep::report"]
                    .iter()
                    .any(|p| line.contains(p))
                {
                    uses.push(format!("{}:{}: {}", file.display(), i + 1, line.trim()));
                }
            }
        }
    }
    assert!(
        uses.is_empty(),
        "src/{{{}}} must not use the report (pass what they need in, as \
         SweepOptions::after_run does for the run charts):\n{}",
        BELOW_THE_REPORT.join(","),
        uses.join("\n")
    );
}
