// FNV-1a, 64 bits: the one hash of build-time fingerprints. Included by `build.rs` (which
// fingerprints the training code and `Cargo.lock`) and by the library (which checks them), so
// both sides hash the same way.

/// FNV-1a offset basis: the hash of nothing.
pub const FNV_START: u64 = 0xcbf2_9ce4_8422_2325;

/// Fold `bytes` into the running FNV-1a `hash`.
pub fn fnv1a(mut hash: u64, bytes: &[u8]) -> u64 {
    for &b in bytes {
        hash = (hash ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
    }
    hash
}
