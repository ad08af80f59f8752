//! Test data shared by the chart tests: temporary folders, file checks and sample charts.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use super::{Distribution, LineChart, Series};

const PNG_SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];

/// Fresh, unique temporary directory (removed by the test on success).
pub fn temp_dir(name: &str) -> PathBuf {
    static N: AtomicU64 = AtomicU64::new(0);
    let dir = std::env::temp_dir().join(format!(
        "dqn_sweep_plots_{name}_{}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create temp dir");
    dir
}

pub fn assert_no_tmp(dir: &Path) {
    for entry in std::fs::read_dir(dir).expect("read dir") {
        let name = entry.expect("entry").file_name();
        let name = name.to_string_lossy();
        assert!(!name.contains(".tmp"), "temporary file left: {name}");
    }
}

pub fn assert_png(path: &Path) {
    let bytes = std::fs::read(path).expect("read png");
    assert!(bytes.len() > 1000, "png too small");
    assert_eq!(bytes[..8], PNG_SIGNATURE);
}

/// Deterministic pseudo-noise in [-1, 1].
pub fn noise(k: usize) -> f64 {
    let mut h = (k as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    h ^= h >> 29;
    h = h.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    h ^= h >> 32;
    (h % 20001) as f64 / 10000.0 - 1.0
}

pub fn learning_curves() -> LineChart {
    let names = ["dqn", "double_dqn", "dueling_double_dqn"];
    let series = names
        .iter()
        .enumerate()
        .map(|(s, name)| {
            let x: Vec<f64> = (0..300).map(|e| e as f64).collect();
            let rate = 0.008 + 0.006 * s as f64;
            let y: Vec<f64> = x
                .iter()
                .enumerate()
                .map(|(k, &e)| {
                    let base = 20.0 + 180.0 * (1.0 - (-rate * e).exp());
                    (base + 25.0 * noise(k + 1000 * s)).clamp(8.0, 200.0)
                })
                .collect();
            let lo = y
                .iter()
                .enumerate()
                .map(|(k, v)| v - 20.0 - 10.0 * noise(k + 7777 * s).abs())
                .collect();
            let hi = y
                .iter()
                .enumerate()
                .map(|(k, v)| (v + 20.0 + 10.0 * noise(k + 5555 * s).abs()).min(200.0))
                .collect();
            Series {
                label: format!("{name} (mean ± min/max, 5 seeds)"),
                x,
                y,
                band: Some((lo, hi)),
            }
        })
        .collect();
    LineChart {
        title: "CartPole-v1 — episode return".into(),
        x_label: "Episode".into(),
        y_label: "Return".into(),
        series,
        hlines: vec![(195.0, "solved (195)".into())],
        y_range: None,
    }
}

pub fn groups() -> Vec<Distribution> {
    let names = ["dqn", "double_dqn", "dueling", "per", "rainbow_lite"];
    names
        .iter()
        .enumerate()
        .map(|(g, name)| {
            let values: Vec<f64> = (0..20)
                .map(|k| 120.0 + 15.0 * g as f64 + 50.0 * noise(k + 100 * g))
                .collect();
            let mut sorted = values.clone();
            sorted.sort_by(f64::total_cmp);
            let iqm = sorted[5..15].iter().sum::<f64>() / 10.0;
            Distribution {
                label: name.to_string(),
                values,
                interval: Some((iqm - 12.0, iqm, iqm + 10.0)),
            }
        })
        .collect()
}
