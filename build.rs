//! Fingerprints what determines a run's results at build time: the training code (training,
//! agents, environments, configs, the per-episode record) and the dependency versions
//! of the training path (its part of `Cargo.lock`), so that finished runs are reused only by the same code and dependencies.

use std::path::{Path, PathBuf};

#[path = "src/fingerprint/fnv.rs"]
mod fnv;
#[path = "src/fingerprint/lockfile.rs"]
mod lockfile;

const TRAINING_CODE: [&str; 9] = [
    "src/train",
    // What a resumed run reads back: a checkpoint is trusted only by the build that wrote it.
    "src/checkpoint",
    "src/compiled.rs",
    "src/config",
    "src/store/mod.rs",
    "src/store/records.rs",
    "crates/agent/src",
    "crates/envs/src",
    "crates/nn/src",
];

/// Files under those folders that cannot change a run: the experiment-file key reference
/// (documentation rendered by `sweep --help`) and the config tests.
const NOT_TRAINING_CODE: [&str; 2] = ["src/config/keys.rs", "src/config/tests.rs"];

fn files(path: &Path, out: &mut Vec<PathBuf>) {
    if path.is_dir() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
            .expect("readable source folder")
            .map(|e| e.expect("readable entry").path())
            .collect();
        entries.sort();
        for e in entries {
            files(&e, out);
        }
    } else if !NOT_TRAINING_CODE.iter().any(|n| path == Path::new(n)) {
        out.push(path.to_owned());
    }
}

fn main() {
    let mut all = Vec::new();
    for p in TRAINING_CODE {
        println!("cargo:rerun-if-changed={p}");
        files(Path::new(p), &mut all);
    }
    // File names and contents, in a fixed order.
    let mut code = fnv::FNV_START;
    for f in &all {
        let name = f.to_string_lossy().replace('\\', "/");
        code = fnv::fnv1a(code, name.as_bytes());
        code = fnv::fnv1a(code, &std::fs::read(f).expect("readable source file"));
    }
    println!("cargo:rustc-env=DQN_SWEEP_TRAINING_CODE={code:016x}");
    // The resolved versions of the training path's dependencies (`lockfile.rs`); a build
    // without a lock file (as a dependency) says so.
    println!("cargo:rerun-if-changed=Cargo.lock");
    let lock = match std::fs::read_to_string("Cargo.lock") {
        Ok(text) => format!("{:016x}", lockfile::training_lock_hash(&text)),
        Err(_) => "no-lock-file".to_owned(),
    };
    println!("cargo:rustc-env=DQN_SWEEP_CARGO_LOCK={lock}");
}
