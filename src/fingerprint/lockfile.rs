// The part of `Cargo.lock` a run's numbers can depend on: the packages reachable from the
// training path's roots (the dqn crates and the root package's training dependencies), each
// as `name version checksum`, sorted, hashed with FNV-1a. A dependency only the report, the
// CLI or a test uses (plotters, askama, a browser driver) is left out, so adding or updating
// one keeps every stored run's fingerprint. Included by `build.rs` and by the library's test.

/// What the training code (`src/train`, `src/config`, the store, `crates/{agent,envs,nn}`)
/// uses directly: the closure of these in `Cargo.lock` is fingerprinted.
pub const TRAINING_ROOTS: [&str; 13] = [
    "dqn-agent",
    "dqn-envs",
    "dqn-nn",
    "dfdx",
    "gemm-common",
    "rand",
    "rand_chacha",
    "rand_distr",
    "sha2",
    "serde",
    "serde_json",
    "toml",
    "polars",
];

/// One `[[package]]` entry.
struct Package {
    name: String,
    version: String,
    checksum: String,
    dependencies: Vec<String>,
}

fn packages(lock: &str) -> Vec<Package> {
    let mut out: Vec<Package> = Vec::new();
    let mut in_deps = false;
    for line in lock.lines() {
        let line = line.trim();
        if line == "[[package]]" {
            out.push(Package {
                name: String::new(),
                version: String::new(),
                checksum: String::new(),
                dependencies: Vec::new(),
            });
            in_deps = false;
            continue;
        }
        let Some(p) = out.last_mut() else { continue };
        let value = |l: &str| l.split('"').nth(1).unwrap_or("").to_owned();
        if in_deps {
            if line == "]" {
                in_deps = false;
            } else {
                p.dependencies.push(value(line));
            }
        } else if line.starts_with("name = ") {
            p.name = value(line);
        } else if line.starts_with("version = ") {
            p.version = value(line);
        } else if line.starts_with("checksum = ") {
            p.checksum = value(line);
        } else if line == "dependencies = [" {
            in_deps = true;
        }
    }
    out
}

/// The index of the package a dependency entry names: `name`, or `name version` when the lock
/// holds several versions of it.
fn find(all: &[Package], entry: &str) -> Option<usize> {
    let mut parts = entry.split(' ');
    let name = parts.next()?;
    let version = parts.next();
    all.iter()
        .position(|p| p.name == name && version.is_none_or(|v| p.version == v))
}

/// FNV-1a of the training closure's `name version checksum` lines, sorted.
pub fn training_lock_hash(lock: &str) -> u64 {
    let all = packages(lock);
    let mut seen = vec![false; all.len()];
    let mut stack: Vec<usize> = all
        .iter()
        .enumerate()
        .filter(|(_, p)| TRAINING_ROOTS.contains(&p.name.as_str()))
        .map(|(i, _)| i)
        .collect();
    while let Some(i) = stack.pop() {
        if std::mem::replace(&mut seen[i], true) {
            continue;
        }
        stack.extend(all[i].dependencies.iter().filter_map(|d| find(&all, d)));
    }
    let mut lines: Vec<String> = all
        .iter()
        .zip(&seen)
        .filter(|(_, &s)| s)
        .map(|(p, _)| format!("{} {} {}\n", p.name, p.version, p.checksum))
        .collect();
    lines.sort();
    lines.iter().fold(super::fnv::FNV_START, |h, l| {
        super::fnv::fnv1a(h, l.as_bytes())
    })
}
