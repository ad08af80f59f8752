//! `cargo bench -p dqn-nn`: this crate's kernels on their own, on one core — the FMA peak, our
//! small-product kernel at the sizes of the Q-networks' dense layers (batch 32), and one
//! optimizer step per form over the parameter counts of the chapter's MLP and the MinAtar
//! network. Figures, not assertions; `sweep bench` reports the same kernels among whole-update
//! and whole-run figures.

use dfdx::prelude::{AdamConfig, RMSpropConfig};
use dqn_nn::matmul;
use dqn_nn::optim::{step_floor_us, RmsForm, Rule};

/// Repeats of each measurement; the best is kept (the least disturbed by the machine).
const ROUNDS: usize = 5;

fn best(f: impl Fn() -> Option<f64>) -> Option<f64> {
    (0..ROUNDS).filter_map(|_| f()).reduce(f64::max)
}

fn kernels() {
    println!("kernel registers: {}", matmul::kernel_registers());
    let peak = |wide: bool| {
        best(|| match wide {
            false => matmul::fma_peak_gfma(20_000_000),
            true => matmul::fma_peak_avx512_gfma(20_000_000),
        })
    };
    for (name, gfma) in [
        ("FMA peak, 8 lanes", peak(false)),
        ("FMA peak, 16 lanes", peak(true)),
    ] {
        match gfma {
            Some(g) => println!("{name:<56} {g:8.2} GFMA/s"),
            None => println!("{name:<56}      n/a"),
        }
    }
    for (name, dims) in [
        ("W·xᵀ 128×128 · (128×32)ᵀ (MLP hidden)", (128, 128, 32)),
        (
            "W·xᵀ 128×1024 · (1024×32)ᵀ (MinAtar dense)",
            (128, 1024, 32),
        ),
        ("W·xᵀ 512×3136 · (3136×32)ᵀ (Nature dense)", (512, 3136, 32)),
    ] {
        let iters = (200_000_000 / (dims.0 * dims.1 * dims.2)).max(1);
        match best(|| matmul::kernel_gfma(dims, iters)) {
            Some(g) => println!("{name:<56} {g:8.2} GFMA/s"),
            None => println!("{name:<56}      n/a (no AVX2/FMA)"),
        }
    }
}

fn optimizers() {
    let rms = |form| {
        let cfg = RMSpropConfig {
            lr: 2.5e-4,
            alpha: 0.95,
            eps: 0.01,
            momentum: None,
            centered: true,
            weight_decay: None,
        };
        Rule::RmsProp(form, cfg)
    };
    let rules = [
        ("adam", Rule::Adam(AdamConfig::default())),
        ("adam-torch", Rule::AdamTorch(AdamConfig::default())),
        ("rmsprop (dfdx, centered)", rms(RmsForm::Dfdx)),
        ("rmsprop-torch (centered)", rms(RmsForm::Torch)),
    ];
    // The chapter's MLP on CartPole (4 → 128 → 128 → 2) and the MinAtar network on 4
    // channels with 6 actions (576 + 16, 131,072 + 128, 768 + 6 parameters).
    for (net, params) in [("MLP", 17_410), ("MinAtar CNN", 132_566)] {
        for (name, rule) in &rules {
            let us = step_floor_us(rule, params, 2_000, ROUNDS);
            println!(
                "{:<56} {us:8.2} µs/step",
                format!("{name}, {net} ({params} params)")
            );
        }
    }
}

fn main() {
    kernels();
    optimizers();
}
