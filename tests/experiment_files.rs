//! The experiment-file reference is one text, generated from the key table
//! (`dqn_sweep::config::keys`): `sweep schema` prints it, `sweep --help` ends with it, and the
//! fenced ```toml block of `docs/guide/experiment-files.md` is it. When the block differs, the
//! test says so; `UPDATE_DOCS=1 cargo test --release --test experiment_files` rewrites it.

use dqn_sweep::config::keys::reference_toml;
use std::path::Path;

mod common;
use common::sweep;

const DOCS: &str = "docs/guide/experiment-files.md";

/// The file's text before its first ```toml block, the block, and the rest.
fn split_at_block(text: &str) -> (&str, &str, &str) {
    let open = text
        .find("```toml\n")
        .unwrap_or_else(|| panic!("{DOCS} has no ```toml block"))
        + "```toml\n".len();
    let close = open
        + text[open..]
            .find("```\n")
            .unwrap_or_else(|| panic!("{DOCS}: the ```toml block is not closed"));
    (&text[..open], &text[open..close], &text[close..])
}

#[test]
fn the_docs_reference_block_is_the_generated_reference() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(DOCS);
    let text = std::fs::read_to_string(&path).expect("the experiment-file guide exists");
    let (before, block, after) = split_at_block(&text);
    let reference = reference_toml();
    if block == reference {
        return;
    }
    if std::env::var_os("UPDATE_DOCS").is_some() {
        std::fs::write(&path, format!("{before}{reference}{after}")).expect("docs writable");
        return;
    }
    let first = block
        .lines()
        .zip(reference.lines())
        .position(|(a, b)| a != b)
        .unwrap_or(block.lines().count().min(reference.lines().count()));
    panic!(
        "{DOCS}: the ```toml block differs from the key reference (src/config/keys.rs) from its \
         line {}:\n  docs:      {:?}\n  generated: {:?}\n\
         Regenerate it: UPDATE_DOCS=1 cargo test --release --test experiment_files",
        first + 1,
        block.lines().nth(first).unwrap_or(""),
        reference.lines().nth(first).unwrap_or(""),
    );
}

#[test]
fn schema_prints_the_reference_and_help_ends_with_it() {
    let o = sweep(&["schema"]);
    assert!(o.status.success());
    assert_eq!(String::from_utf8_lossy(&o.stdout), reference_toml());

    let o = sweep(&["--help"]);
    assert!(o.status.success());
    let help = String::from_utf8_lossy(&o.stdout);
    let indented: String = reference_toml()
        .lines()
        .map(|l| format!("    {l}").trim_end().to_owned() + "\n")
        .collect();
    assert!(
        help.contains("EXPERIMENT FILES (TOML)") && help.contains(&indented),
        "--help lacks the reference, or clap re-wrapped it:\n{help}"
    );
    assert!(help.contains("--set"), "{help}");
}

#[test]
fn the_reference_as_a_file_runs_the_default_experiment() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("reference.toml");
    std::fs::write(&file, reference_toml()).unwrap();
    let empty = tmp.path().join("empty.toml");
    std::fs::write(&empty, "").unwrap();
    let ids = |f: &Path| {
        let o = sweep(&[
            "plan",
            f.to_str().unwrap(),
            "--json",
            "--out",
            tmp.path().to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let plan: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        plan["runs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["run_id"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(ids(&file), ids(&empty));
}
