//! For `sweep bench`: the least time one update's matrix products take on our kernel. Each
//! layer's forward `W·xᵀ`, `∂W += Gᵀ·x` and `∂x += G·W` run exactly as the dense layers' fast
//! path runs them ([`super::dense_fast`]: same orientation, packing and depth blocks), but on
//! buffers allocated once, with no tape, tensors, bias, activation, loss or copies. Whatever
//! else an update does can only add to this time, so it bounds updates per second from above
//! for this arithmetic on this core.

use super::dense_fast::eligible;
use super::matmul::{self, Operand};
use std::time::Instant;

/// A layer's shape as the products see it: `inputs → outputs` per row, and how many rows one
/// sample contributes (1 for a dense layer; a conv layer on host-cut patches is a dense layer
/// over `positions` rows per sample, `inputs` = its patch length).
#[derive(Debug, Clone, Copy)]
pub struct LayerShape {
    pub inputs: usize,
    pub outputs: usize,
    pub rows_per_sample: usize,
}

impl LayerShape {
    pub const fn dense(inputs: usize, outputs: usize) -> Self {
        LayerShape {
            inputs,
            outputs,
            rows_per_sample: 1,
        }
    }

    /// Weights and biases.
    pub fn parameters(&self) -> usize {
        self.outputs * (self.inputs + 1)
    }
}

/// The products of one update: `forwards` forwards without a tape at `batch` (the target
/// network's, and the online network's on the next states for Double DQN), one taped forward
/// at `batch` and its backward (`∂W` for every layer, `∂x` for all but the first, whose input
/// is the observation), and one acting forward at batch 1.
#[derive(Debug, Clone, Copy)]
pub struct UpdateProducts<'a> {
    pub layers: &'a [LayerShape],
    pub batch: usize,
    pub forwards: usize,
}

impl UpdateProducts<'_> {
    /// Fused multiply-adds per update.
    pub fn fmas(&self) -> usize {
        let per_row: usize = self
            .layers
            .iter()
            .map(|l| l.inputs * l.outputs * l.rows_per_sample)
            .sum();
        let first = self
            .layers
            .first()
            .map_or(0, |l| l.inputs * l.outputs * l.rows_per_sample * self.batch);
        // Forwards at `batch` (untaped and taped), ∂W, ∂x but the first layer's, acting.
        per_row * self.batch * (self.forwards + 2) + per_row * self.batch - first + per_row
    }

    /// Microseconds per update, the least over `rounds` rounds of `iters` updates each;
    /// `None` without AVX2/FMA.
    pub fn floor_us(&self, iters: usize, rounds: usize) -> Option<f64> {
        if !matmul::available() {
            return None;
        }
        let mut buffers: Vec<Buffers> = self
            .layers
            .iter()
            .map(|l| Buffers::new(*l, self.batch))
            .collect();
        let best = (0..rounds.max(1))
            .map(|_| {
                let start = Instant::now();
                for _ in 0..iters {
                    std::hint::black_box(self.one_update(&mut buffers));
                }
                start.elapsed().as_secs_f64()
            })
            .fold(f64::INFINITY, f64::min);
        Some(best / iters.max(1) as f64 * 1e6)
    }

    /// One update's products; returns the FMAs done.
    fn one_update(&self, buffers: &mut [Buffers]) -> usize {
        let mut fmas = 0;
        for b in buffers.iter_mut() {
            for _ in 0..self.forwards + 1 {
                fmas += b.forward(self.batch);
            }
            fmas += b.forward(1);
        }
        for (i, b) in buffers.iter_mut().enumerate().rev() {
            fmas += b.backward(self.batch, i > 0);
        }
        fmas
    }
}

/// One layer's weights, input, output, output gradient and the two parameter/input gradients,
/// and the depth blocks of its products (found once: arithmetic only is timed).
struct Buffers {
    shape: LayerShape,
    /// Forward at one row, and forward, `∂W`, `∂x` at `batch`.
    acting: usize,
    blocks: [usize; 3],
    w: Vec<f32>,
    x: Vec<f32>,
    z: Vec<f32>,
    g: Vec<f32>,
    grad_w: Vec<f32>,
    grad_x: Vec<f32>,
}

impl Buffers {
    fn new(shape: LayerShape, batch: usize) -> Self {
        let rows = batch * shape.rows_per_sample;
        let filled = |n: usize, scale: f32| -> Vec<f32> {
            (0..n).map(|i| ((i % 17) as f32 - 8.0) * scale).collect()
        };
        let blocks = |rows: usize, backward: bool| {
            let (i, o) = (shape.inputs, shape.outputs);
            match eligible::<f32>(i, o, rows, backward) {
                Some(b) => [b.forward, b.grad_w, b.grad_x],
                None => [i, rows, o],
            }
        };
        Buffers {
            shape,
            acting: blocks(shape.rows_per_sample, false)[0],
            blocks: {
                let [_, grad_w, grad_x] = blocks(rows, true);
                [blocks(rows, false)[0], grad_w, grad_x]
            },
            w: filled(shape.outputs * shape.inputs, 0.01),
            x: filled(rows * shape.inputs, 0.1),
            z: vec![0.0; rows * shape.outputs],
            g: filled(rows * shape.outputs, 0.001),
            grad_w: vec![0.0; shape.outputs * shape.inputs],
            grad_x: vec![0.0; rows * shape.inputs],
        }
    }

    /// `zᵀ = W·xᵀ` at `batch` samples (`x·Wᵀ` at one row), as `dense_fast::affine` does;
    /// returns the FMAs done.
    fn forward(&mut self, batch: usize) -> usize {
        let (i, o) = (self.shape.inputs, self.shape.outputs);
        let rows = batch * self.shape.rows_per_sample;
        // The depth blocks the fast path uses (the whole depths where it would keep gemm).
        let kc = if batch == 1 {
            self.acting
        } else {
            self.blocks[0]
        };
        let (w, x) = (
            Operand::rows(&self.w, i),
            Operand::rows(&self.x[..rows * i], i),
        );
        let z = std::hint::black_box(&mut self.z[..rows * o]);
        if rows == 1 {
            matmul::product((1, i, o), x, w.t(), z, (o, kc), false);
        } else {
            matmul::product((o, i, rows), w, x.t(), z, (rows, kc), false);
        }
        o * i * rows
    }

    /// `∂W += Gᵀ·x` and, with `input_grad`, `∂x += G·W`, as the fast path's backward does;
    /// returns the FMAs done.
    fn backward(&mut self, batch: usize, input_grad: bool) -> usize {
        let (i, o) = (self.shape.inputs, self.shape.outputs);
        let rows = batch * self.shape.rows_per_sample;
        let [_, kc_w, kc_x] = self.blocks;
        let g = Operand::rows(&self.g, o);
        let (x, w) = (Operand::rows(&self.x, i), Operand::rows(&self.w, i));
        matmul::product((o, rows, i), g.t(), x, &mut self.grad_w, (i, kc_w), true);
        if input_grad {
            matmul::product((rows, o, i), g, w, &mut self.grad_x, (i, kc_x), true);
        }
        std::hint::black_box((&self.grad_w, &self.grad_x));
        o * i * rows * (1 + usize::from(input_grad))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fma_count_of_the_chapter_update() {
        let layers = [
            LayerShape::dense(4, 128),
            LayerShape::dense(128, 128),
            LayerShape::dense(128, 2),
        ];
        let update = UpdateProducts {
            layers: &layers,
            batch: 32,
            forwards: 1,
        };
        // Per sample 512 + 16384 + 256 = 17152 FMAs: forwards ×2 at 32, ∂W at 32, ∂x at 32
        // without the first layer's 512, acting at 1.
        assert_eq!(update.fmas(), 17152 * 32 * 3 + (17152 - 512) * 32 + 17152);
        assert_eq!(
            layers.iter().map(LayerShape::parameters).sum::<usize>(),
            17410
        );
    }

    /// The products timed are the ones counted (the bench rows print the count).
    #[test]
    fn an_update_runs_the_products_it_counts() {
        if !matmul::available() {
            return;
        }
        let conv = LayerShape {
            inputs: 36,
            outputs: 16,
            rows_per_sample: 64,
        };
        let layers = [
            conv,
            LayerShape::dense(1024, 128),
            LayerShape::dense(128, 1),
        ];
        for forwards in [1, 2] {
            let update = UpdateProducts {
                layers: &layers,
                batch: 8,
                forwards,
            };
            let mut buffers: Vec<Buffers> = layers.iter().map(|l| Buffers::new(*l, 8)).collect();
            assert_eq!(update.one_update(&mut buffers), update.fmas());
            assert!(update.floor_us(2, 1).is_some_and(|us| us > 0.0));
        }
    }
}
