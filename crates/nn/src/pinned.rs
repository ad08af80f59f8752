//! Knowing, without reading it, that a CPU tensor still holds values we copied out of (or
//! into) it. dfdx lends no view of a CPU tensor's values, so code that needs them as a slice
//! keeps its own copy; [`StoragePin`] says when that copy is still good.
//!
//! A pin is a clone of the tensor: one more reference-counted handle on the same storage. It
//! keeps the storage alive, so its address cannot be reused, and shared storage cannot change in
//! place (dfdx copies shared storage before any write: `Arc::make_mut`). So a tensor whose first
//! element is at the pinned address shares the pinned storage and holds the pinned values.
//! Drop a pin before writing the tensor yourself, or the write first copies the storage.

use dfdx::shapes::{Shape, Unit};
use dfdx::tensor::{Cpu, Tensor};
use std::any::Any;
use std::sync::Arc;

/// A handle on a CPU tensor's storage, as it was when pinned. Clones pin the same storage.
#[derive(Clone)]
pub struct StoragePin {
    /// A clone of the pinned tensor (type-erased: only its lifetime matters).
    _handle: Arc<dyn Any + Send + Sync>,
    /// Where the pinned storage's first element lives.
    address: usize,
}

impl StoragePin {
    /// Pins `tensor`'s storage (which must not be empty).
    pub fn new<S: Shape, E: Unit>(tensor: &Tensor<S, E, Cpu>) -> Self {
        StoragePin {
            _handle: Arc::new(tensor.clone()),
            address: first_element(tensor),
        }
    }

    /// Whether `tensor` still shares the pinned storage (so holds the same values).
    pub fn holds<S: Shape, E: Unit, T>(&self, tensor: &Tensor<S, E, Cpu, T>) -> bool {
        first_element(tensor) == self.address
    }
}

impl std::fmt::Debug for StoragePin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "StoragePin({:#x})", self.address)
    }
}

/// The address of a non-empty CPU tensor's first element.
fn first_element<S: Shape, E: Unit, T>(tensor: &Tensor<S, E, Cpu, T>) -> usize {
    std::ptr::from_ref(&tensor[S::Concrete::default()]) as usize
}

#[cfg(test)]
mod tests {
    use super::*;
    use dfdx::prelude::*;

    #[test]
    fn a_pin_holds_until_the_tensor_is_written() {
        let dev: Cpu = Cpu::seed_from_u64(1);
        let mut w: Tensor<Rank2<3, 4>, f32, Cpu> = dev.sample_normal();
        let pin = StoragePin::new(&w);
        assert!(pin.holds(&w));
        let copy = w.clone();
        assert!(pin.holds(&copy), "a clone shares the storage");
        // A write while pinned copies the storage first: the pin no longer holds.
        w.copy_from(&[2.0; 12]);
        assert!(!pin.holds(&w));
        assert!(pin.holds(&copy), "the clone kept the pinned values");
        let other: Tensor<Rank2<3, 4>, f32, Cpu> = dev.sample_normal();
        assert!(!pin.holds(&other));
    }
}
