//! A layer's weights on the host, kept between calls: dfdx lends no view of a CPU tensor's
//! values, so each product would otherwise copy `W` out of its tensor first (512 KB per call
//! for the MinAtar network's dense layer, several calls per update). The copy is refreshed when
//! the tensor no longer holds it ([`StoragePin`]); layers drop it when their parameters are
//! visited mutably (optimizer steps, resets), so that the write then needs no copy.

use crate::pinned::StoragePin;
use dfdx::shapes::{Dtype, Rank2};
use dfdx::tensor::{Cpu, Tensor};
use std::sync::{Arc, Mutex, PoisonError};

/// A copy of a tensor's values and the pin that says whether the tensor still holds them.
#[derive(Clone)]
struct Snapshot<E> {
    pin: Option<StoragePin>,
    values: Arc<Vec<E>>,
}

/// A host copy of a layer's `R × C` weight tensor, refreshed when the tensor changes.
/// Cloning a layer clones the copy (the clone's tensor shares the same storage).
pub(super) struct HostWeights<const R: usize, const C: usize, E: Dtype> {
    snapshot: Mutex<Snapshot<E>>,
}

impl<const R: usize, const C: usize, E: Dtype> HostWeights<R, C, E> {
    fn lock(&self) -> std::sync::MutexGuard<'_, Snapshot<E>> {
        self.snapshot.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The values of `weight` (`R × C`, row-major), copied only when `weight` no longer holds
    /// the last copy (into the last copy's buffer when nothing else holds it).
    pub fn values(&self, weight: &Tensor<Rank2<R, C>, E, Cpu>) -> Arc<Vec<E>> {
        let mut s = self.lock();
        if s.pin.as_ref().is_some_and(|pin| pin.holds(weight)) {
            return s.values.clone();
        }
        // The last copy's buffer, unless a clone of the layer still shares it.
        let mut values = Arc::try_unwrap(std::mem::take(&mut s.values)).unwrap_or_default();
        values.resize(R * C, E::default());
        weight.copy_into(&mut values);
        s.values = Arc::new(values);
        s.pin = Some(StoragePin::new(weight));
        s.values.clone()
    }

    /// A cache that already holds `values`, the contents of `weight` (a layer built around a
    /// tensor whose values the caller has on the host, so its first product copies nothing).
    pub fn holding(weight: &Tensor<Rank2<R, C>, E, Cpu>, values: Arc<Vec<E>>) -> Self {
        HostWeights {
            snapshot: Mutex::new(Snapshot {
                pin: Some(StoragePin::new(weight)),
                values,
            }),
        }
    }

    /// Drops the pin (the copy's buffer is kept for the next one): called before the tensor is
    /// written, so that the write finds the storage unshared and needs no copy.
    pub fn clear(&self) {
        self.lock().pin = None;
    }
}

impl<const R: usize, const C: usize, E: Dtype> Default for HostWeights<R, C, E> {
    fn default() -> Self {
        HostWeights {
            snapshot: Mutex::new(Snapshot {
                pin: None,
                values: Arc::default(),
            }),
        }
    }
}

impl<const R: usize, const C: usize, E: Dtype> Clone for HostWeights<R, C, E> {
    fn clone(&self) -> Self {
        HostWeights {
            snapshot: Mutex::new(self.lock().clone()),
        }
    }
}

impl<const R: usize, const C: usize, E: Dtype> std::fmt::Debug for HostWeights<R, C, E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let cached = self.lock().pin.is_some();
        f.debug_struct("HostWeights")
            .field("cached", &cached)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dfdx::prelude::*;

    #[test]
    fn a_copy_is_reused_until_the_tensor_changes() {
        let dev: Cpu = Cpu::seed_from_u64(1);
        let mut w: Tensor<Rank2<3, 4>, f32, Cpu> = dev.sample_normal();
        let cache = HostWeights::default();
        let first = cache.values(&w);
        assert_eq!(*first, w.as_vec());
        assert!(Arc::ptr_eq(&first, &cache.values(&w)), "reused");
        // A clone of the layer (e.g. a target network) keeps a valid copy of its own.
        let (target, target_cache) = (w.clone(), cache.clone());
        // A write without clearing: dfdx copies the shared storage first, so the cache sees a
        // different tensor and copies again.
        w.copy_from(&[2.0; 12]);
        let second = cache.values(&w);
        assert_eq!(*second, vec![2.0; 12]);
        assert!(!Arc::ptr_eq(&first, &second));
        assert!(Arc::ptr_eq(&first, &target_cache.values(&target)));
        // Cleared before a write: the write is in place and the next call copies again.
        cache.clear();
        w.copy_from(&[3.0; 12]);
        assert_eq!(*cache.values(&w), vec![3.0; 12]);
        assert_eq!(*target_cache.values(&target), *first);
    }
}
