//! What decides whether two runs of one config give the same numbers: the run's identity (its
//! resolved config) and the build's fingerprint (training code, dependency versions, and the
//! matrix kernels this CPU gets). A stored run is reused only when both match.

mod fnv;
#[cfg(test)]
mod lockfile;

use crate::config::RunConfig;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::sync::OnceLock;

/// Hash of the training code that produced a run (computed by `build.rs`).
pub const TRAINING_CODE: &str = env!("DQN_SWEEP_TRAINING_CODE");
/// Hash of the training path's part of the `Cargo.lock` the binary was built with (computed
/// by `build.rs` with [`lockfile::training_lock_hash`]).
pub const CARGO_LOCK: &str = env!("DQN_SWEEP_CARGO_LOCK");

/// The identity of a run: the first 8 bytes of SHA-256 of its resolved config (seed included),
/// in hex. The same config gives the same id on every machine.
pub fn run_id(cfg: &RunConfig) -> String {
    let json = serde_json::to_vec(cfg).expect("configs serialise");
    hex(&Sha256::digest(json)[..8])
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The build and machine facts a run's numbers depend on, recorded in each `run.json`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
pub struct Build {
    /// The training code ([`TRAINING_CODE`]).
    pub code: String,
    /// The dependency versions ([`CARGO_LOCK`]); empty in runs stored before it was recorded.
    #[serde(default)]
    pub lock: String,
    /// The matrix kernels ([`kernel_family`]); empty in runs stored before it was recorded.
    #[serde(default)]
    pub kernel: String,
}

impl Build {
    /// This binary on this machine.
    pub fn current() -> Build {
        Build {
            code: TRAINING_CODE.to_owned(),
            lock: CARGO_LOCK.to_owned(),
            kernel: kernel_family().to_owned(),
        }
    }

    /// One short id for the three parts (for messages and tables).
    pub fn id(&self) -> String {
        let mut h = fnv::FNV_START;
        for part in [&self.code, &self.lock, &self.kernel] {
            h = fnv::fnv1a(h, part.as_bytes());
            h = fnv::fnv1a(h, &[0]);
        }
        format!("{h:016x}")
    }

    /// What differs from `other`, in words (empty when equal).
    pub fn differences(&self, other: &Build) -> Vec<&'static str> {
        let mut d = Vec::new();
        if self.code != other.code {
            d.push("training code");
        }
        if self.lock != other.lock {
            d.push("dependency versions (Cargo.lock)");
        }
        if self.kernel != other.kernel {
            d.push("matrix kernels (CPU)");
        }
        d
    }
}

/// The matrix kernel family the `gemm` crate under dfdx picks on this CPU, and the cache sizes
/// its blocking is derived from: both change the order of floating-point sums, so results are
/// bit-identical only between machines that agree here. E.g. `x86_64 fma L1d 32K/8 L2 512K/8
/// L3 32768K/16`.
pub fn kernel_family() -> &'static str {
    static FAMILY: OnceLock<String> = OnceLock::new();
    FAMILY.get_or_init(|| {
        let caches = gemm_common::cache::CACHE_INFO
            .iter()
            .zip(["L1d", "L2", "L3"])
            .map(|(c, name)| format!("{name} {}K/{}", c.cache_bytes / 1024, c.associativity))
            .collect::<Vec<_>>()
            .join(" ");
        format!("{} {} {caches}", std::env::consts::ARCH, simd_kernel())
    })
}

/// gemm's own dispatch order (without its `nightly` feature, AVX-512 is never picked).
fn simd_kernel() -> &'static str {
    #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
    {
        if std::arch::is_x86_feature_detected!("fma") {
            "fma"
        } else if std::arch::is_x86_feature_detected!("avx") {
            "avx"
        } else if std::arch::is_x86_feature_detected!("sse2") {
            "sse"
        } else {
            "scalar"
        }
    }
    #[cfg(target_arch = "aarch64")]
    {
        if std::arch::is_aarch64_feature_detected!("neon") {
            "neon"
        } else {
            "scalar"
        }
    }
    #[cfg(not(any(target_arch = "x86", target_arch = "x86_64", target_arch = "aarch64")))]
    {
        "scalar"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The compiled-in lock fingerprint is the hash of this checkout's `Cargo.lock`'s training
    /// closure: a new version of a training dependency (dfdx's gemm, reached through dfdx)
    /// changes it, a dependency of the report alone (plotters) does not.
    #[test]
    fn the_lock_fingerprint_covers_the_training_dependencies() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.lock");
        let text = std::fs::read_to_string(path).expect("Cargo.lock beside Cargo.toml");
        let hash = lockfile::training_lock_hash(&text);
        assert_eq!(CARGO_LOCK, format!("{hash:016x}"));
        let bump = |name: &str| {
            let at = text
                .find(&format!("name = \"{name}\"\nversion = \""))
                .unwrap_or_else(|| panic!("{name} in Cargo.lock"));
            let mut changed = text.clone();
            let v = at + format!("name = \"{name}\"\nversion = \"").len();
            changed.insert(v, '9');
            lockfile::training_lock_hash(&changed)
        };
        assert_ne!(bump("gemm"), hash, "gemm is reached through dfdx");
        assert_ne!(bump("rand_core"), hash);
        assert_eq!(bump("plotters"), hash, "plotters only draws charts");
        assert_eq!(bump("askama"), hash, "askama only renders pages");
    }

    #[test]
    fn build_ids_differ_when_any_part_differs() {
        let a = Build::current();
        assert!(a.differences(&a).is_empty());
        for change in 0..3 {
            let mut b = a.clone();
            match change {
                0 => b.code.push('x'),
                1 => b.lock.push('x'),
                _ => b.kernel.push('x'),
            }
            assert_ne!(a.id(), b.id());
            assert_eq!(a.differences(&b).len(), 1);
        }
        assert!(!a.kernel.is_empty() && a.kernel.contains(std::env::consts::ARCH));
    }

    #[test]
    fn run_ids_follow_the_config_and_seed() {
        let cfg = RunConfig::default();
        let mut other = cfg.clone();
        other.seed += 1;
        assert_eq!(run_id(&cfg), run_id(&cfg.clone()));
        assert_ne!(run_id(&cfg), run_id(&other));
        assert_eq!(run_id(&cfg).len(), 16);
    }
}
