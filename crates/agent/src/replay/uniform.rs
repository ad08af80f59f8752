//! Uniform experience replay: the chapter's `ReplayBuffer` (a `deque(maxlen=buffer_size)`
//! sampled with `random.sample`, i.e. uniformly *without* replacement).

use rand::Rng;

/// One environment transition `(s, a, r, s', terminated, truncated)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Transition<const OBS: usize> {
    pub state: [f32; OBS],
    pub action: usize,
    pub reward: f32,
    pub next_state: [f32; OBS],
    pub terminated: bool,
    pub truncated: bool,
}

/// A FIFO ring buffer of fixed capacity: once full, each push overwrites the oldest entry.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct ReplayBuffer<T> {
    items: Vec<T>,
    capacity: usize,
    /// Where the next push goes once the buffer is full.
    next: usize,
}

impl<T: Clone> ReplayBuffer<T> {
    pub fn new(capacity: usize) -> Self {
        assert!(capacity > 0, "replay capacity must be at least 1");
        ReplayBuffer {
            items: Vec::with_capacity(capacity.min(1 << 20)),
            capacity,
            next: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    pub fn push(&mut self, item: T) {
        if self.items.len() < self.capacity {
            self.items.push(item);
        } else {
            self.items[self.next] = item;
            self.next = (self.next + 1) % self.capacity;
        }
    }

    /// `batch_size` distinct entries drawn uniformly (Python's `random.sample`).
    ///
    /// Panics if the buffer holds fewer than `batch_size` entries.
    pub fn sample<R: Rng + ?Sized>(&self, batch_size: usize, rng: &mut R) -> Vec<T> {
        assert!(
            batch_size <= self.items.len(),
            "cannot sample {batch_size} from {} transitions",
            self.items.len()
        );
        rand::seq::index::sample(rng, self.items.len(), batch_size)
            .into_iter()
            .map(|i| self.items[i].clone())
            .collect()
    }

    /// The oldest stored entry (the next to be overwritten once full).
    pub fn oldest(&self) -> Option<&T> {
        self.items.get(if self.items.len() < self.capacity {
            0
        } else {
            self.next
        })
    }

    /// The stored entries, oldest first.
    pub fn iter_oldest_first(&self) -> impl Iterator<Item = &T> {
        let (newer, older) = self.items.split_at(self.next.min(self.items.len()));
        older.iter().chain(newer.iter())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn fifo_overwrites_the_oldest() {
        let mut b = ReplayBuffer::new(3);
        for i in 0..5 {
            b.push(i);
        }
        assert_eq!((b.len(), b.capacity()), (3, 3));
        assert_eq!(
            b.iter_oldest_first().copied().collect::<Vec<_>>(),
            vec![2, 3, 4]
        );
    }

    #[test]
    fn samples_are_distinct_and_uniform() {
        let mut b = ReplayBuffer::new(10);
        for i in 0..10 {
            b.push(i);
        }
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let mut counts = [0usize; 10];
        let draws = 20_000;
        for _ in 0..draws {
            let mut s = b.sample(4, &mut rng);
            s.sort_unstable();
            s.dedup();
            assert_eq!(s.len(), 4, "sampling must be without replacement");
            for i in s {
                counts[i] += 1;
            }
        }
        // Each item is in a batch with probability 4/10: expected 8000, sd ≈ 69.
        for c in counts {
            assert!((c as f64 - 8000.0).abs() < 400.0, "{counts:?}");
        }
    }
}
