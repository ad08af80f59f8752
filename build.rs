//! Fingerprints the code that determines a run's results (training, agents, environments,
//! configs, the per-episode record), so that finished runs are reused only by the same code.

use std::path::{Path, PathBuf};

const TRAINING_CODE: [&str; 5] = [
    "src/train.rs",
    "src/config.rs",
    "src/store.rs",
    "src/agent",
    "src/env",
];

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
    } else {
        out.push(path.to_owned());
    }
}

fn main() {
    let mut all = Vec::new();
    for p in TRAINING_CODE {
        println!("cargo:rerun-if-changed={p}");
        files(Path::new(p), &mut all);
    }
    // FNV-1a over the file names and contents, in a fixed order.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for f in &all {
        let name = f.to_string_lossy().replace('\\', "/");
        let bytes = std::fs::read(f).expect("readable source file");
        for b in name.bytes().chain(bytes) {
            hash = (hash ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
        }
    }
    println!("cargo:rustc-env=DQN_SWEEP_TRAINING_CODE={hash:016x}");
}
