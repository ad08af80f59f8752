//! The HTML report as files: every sweep writes a self-contained `index.html` and a page per
//! grid point; failed and unfinished runs are shown with their status; `sweep check` puts its
//! verdict on the page; the pages are the same from run to run outside their volatile block.
//! (`tests/browser.rs` opens them in a real browser.)

use std::path::Path;

mod common;
use common::{sweep, without_volatile_block};

fn run(args: &[&str]) -> std::process::Output {
    let o = sweep(args);
    assert!(
        o.status.code().is_some_and(|c| c <= 1),
        "stderr: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The `href`s of `<a>` elements in `html`.
fn links(html: &str) -> Vec<String> {
    html.split("<a href=\"")
        .skip(1)
        .map(|s| s.split('"').next().unwrap().to_owned())
        .collect()
}

#[test]
fn a_sweep_writes_a_self_contained_index_and_a_page_per_grid_point() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().to_str().unwrap();
    run(&["experiments/smoke.toml", "--out", out, "--quiet"]);
    let dir = tmp.path().join("smoke");
    let index = read(&dir.join("index.html"));
    // Self-contained: no script, stylesheet, image or font fetched from anywhere.
    for external in [
        "<script src",
        "<link",
        "<img",
        "@import",
        "url(",
        "@font-face",
    ] {
        assert!(!index.contains(external), "index.html has {external}");
    }
    // In the order the issue asks: description and grid, summary, comparison, charts.
    let at = |s: &str| index.find(s).unwrap_or_else(|| panic!("no {s}"));
    assert!(at("Smoke test: every variant") < at("id=\"grid\""));
    assert!(at("id=\"grid\"") < at("id=\"summary-table\""));
    assert!(at("id=\"summary-table\"") < at("id=\"comparison-table\""));
    assert!(at("id=\"comparison-table\"") < at("id=\"charts\""));
    assert!(at("id=\"charts\"") < at("id=\"provenance\""));
    assert_eq!(
        index.matches("<svg").count(),
        4,
        "the four comparison charts inline"
    );
    assert!(
        index.contains("class=\"verdict v-inc\""),
        "2 seeds: inconclusive, coloured"
    );
    assert!(index.contains("<code>sweep experiments/smoke.toml --out"));
    // Timing only in the volatile block.
    let stable = without_volatile_block(&index);
    assert!(!stable.contains("wall_s_mean") && !stable.contains("steps per second"));
    // A page per grid point, each linked from the summary, each linking back.
    let mut pages: Vec<String> = Vec::new();
    for l in links(&index) {
        if l.starts_with("points/") && !pages.contains(&l) {
            pages.push(l);
        }
    }
    assert_eq!(pages.len(), 5, "{pages:?}");
    for page in &pages {
        let html = read(&dir.join(page));
        assert!(
            html.contains("<a href=\"../index.html\">"),
            "{page} links back"
        );
        assert_eq!(
            html.matches("<tr><td>").count(),
            2 + 2,
            "{page}: 2 runs, 2 timings"
        );
        assert!(
            html.matches("<svg").count() >= 3,
            "{page}: returns, by steps, Q"
        );
        assert!(
            html.contains("[agent]") && html.contains("[train]"),
            "{page}: its config"
        );
    }
}

#[test]
fn failed_and_unfinished_runs_are_shown_with_their_status() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("diverge.toml");
    // An absurd learning rate makes the loss non-finite within a few updates.
    std::fs::write(
        &file,
        "seeds = 2\n[agent]\nlr = [0.0005, 1e30]\n[train]\nepisodes = 20\neval_episodes = 1\n",
    )
    .unwrap();
    let out = tmp.path().join("results");
    let (f, o) = (file.to_str().unwrap(), out.to_str().unwrap());
    run(&[f, "--out", o, "--quiet"]);
    let dir = out.join("diverge");
    let failed = read(&dir.join("points/lr-1e30.html"));
    assert!(failed.contains("failed: "), "the reason is on the page");
    // An interrupted sweep: one run has no result.
    std::fs::remove_file(dir.join("runs/lr-0.0005/seed-1/run.json")).unwrap();
    run(&["report", f, "--out", o, "--partial"]);
    let index = read(&dir.join("index.html"));
    assert!(index.contains("id=\"problems\""), "a section lists them");
    assert!(
        index.contains("seed 1: not finished: interrupted (no run.json)"),
        "the interrupted run is named"
    );
    // `sweep report` loads finished runs only; the page still says why the others are not.
    assert!(index.contains("seed 0: failed: "), "so is the failed one");
    let page = read(&dir.join("points/lr-0.0005.html"));
    assert!(
        page.contains("2 run(s): 1 ok, 0 failed, 1 not finished"),
        "{page}"
    );
    let page = read(&dir.join("points/lr-1e30.html"));
    assert!(
        page.contains("2 run(s): 0 ok, 2 failed, 0 not finished"),
        "{page}"
    );
}

#[test]
fn the_pages_are_the_same_from_run_to_run_outside_their_volatile_block() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    for t in [&a, &b] {
        let out = t.path().to_str().unwrap();
        run(&["experiments/smoke.toml", "--out", out, "--quiet", "-j", "2"]);
    }
    for page in ["index.html", "points/variant-per.html"] {
        let (x, y) = (
            read(&a.path().join("smoke").join(page)),
            read(&b.path().join("smoke").join(page)),
        );
        assert_ne!(x, y, "{page}: the volatile block differs (wall times)");
        assert_eq!(
            without_volatile_block(&x),
            without_volatile_block(&y),
            "{page}"
        );
    }
}
