//! Robust statistics for comparing deep-RL runs, following Agarwal et al. 2021,
//! "Deep Reinforcement Learning at the Edge of the Statistical Precipice" (the
//! `rliable` library): point aggregates (mean, median, IQM, optimality gap),
//! stratified percentile-bootstrap confidence intervals, probability of
//! improvement and performance profiles — plus per-run learning-curve metrics
//! (moving average, first episode reaching a threshold, collapse detection, AUC).
//!
//! Conventions: all functions are pure and deterministic (bootstraps use
//! `ChaCha8Rng::seed_from_u64(seed)`). Inputs are assumed finite; NaN/inf scores
//! are not filtered and propagate. Empty input gives `f64::NAN` instead of
//! panicking, and a bootstrap with an empty stratum gives an all-NaN [`Interval`].
//!
//! No I/O, and no dependency but `rand`, `rand_chacha` (the seeded bootstrap streams) and
//! `serde` (derives of the result types): the harness's reports, checks and power analysis all
//! aggregate through this crate. Files: point estimates here; [`bootstrap`] intervals, tests,
//! probability of improvement, profiles and verdicts; [`curves`], per-run learning-curve metrics.

mod bootstrap;
mod curves;
#[cfg(test)]
mod tests;

pub use bootstrap::*;
pub use curves::*;

// ---------------------------------------------------------------------------
// Point estimates
// ---------------------------------------------------------------------------

/// Arithmetic mean `Σ x_i / n`; NaN for empty input.
pub fn mean(x: &[f64]) -> f64 {
    if x.is_empty() {
        return f64::NAN;
    }
    x.iter().sum::<f64>() / x.len() as f64
}

/// Sorted copy (ascending, `f64::total_cmp`).
fn sorted(x: &[f64]) -> Vec<f64> {
    let mut v = x.to_vec();
    v.sort_by(f64::total_cmp);
    v
}

/// Quantile of already-sorted data, numpy "linear" method (Hyndman–Fan type 7):
/// `h = (n−1)·q`, `Q = s[⌊h⌋] + (h − ⌊h⌋)·(s[⌊h⌋+1] − s[⌊h⌋])`; NaN for empty input or `q`
/// outside [0, 1]. The one quantile of the project (the charts' box plots use it too).
pub fn quantile_sorted(s: &[f64], q: f64) -> f64 {
    if s.is_empty() || !(0.0..=1.0).contains(&q) {
        return f64::NAN;
    }
    let h = (s.len() - 1) as f64 * q;
    let lo = h.floor() as usize;
    if lo + 1 >= s.len() {
        return s[s.len() - 1];
    }
    let frac = h - lo as f64;
    if frac == 0.0 {
        s[lo]
    } else {
        s[lo] + frac * (s[lo + 1] - s[lo])
    }
}

/// Median: middle value for odd `n`, average of the two middle values for even `n`
/// (equals `quantile(x, 0.5)`); NaN for empty input.
pub fn median(x: &[f64]) -> f64 {
    if x.is_empty() {
        return f64::NAN;
    }
    let s = sorted(x);
    let n = s.len();
    if n % 2 == 1 {
        s[n / 2]
    } else {
        0.5 * (s[n / 2 - 1] + s[n / 2])
    }
}

/// Median of times-to-event where `None` means the event never happened (right-censored at
/// +∞), so runs that never got there count instead of dropping out. NaN when the median is
/// censored (at most half the values are events, so it lies beyond the budget) or for empty
/// input. E.g. `[3, 5, never]` → 5; `[3, never, never]` → NaN; `[2, 4, 6, never]` → 5.
pub fn censored_median(times: &[Option<f64>]) -> f64 {
    let x: Vec<f64> = times.iter().map(|t| t.unwrap_or(f64::INFINITY)).collect();
    let m = median(&x);
    if m.is_finite() {
        m
    } else {
        f64::NAN
    }
}

/// `q`-quantile, numpy default ("linear") method: with `s` = sorted `x`,
/// `h = (n−1)·q`, `Q = s[⌊h⌋] + (h − ⌊h⌋)·(s[⌊h⌋+1] − s[⌊h⌋])`.
/// NaN for empty input or `q ∉ [0, 1]`.
pub fn quantile(x: &[f64], q: f64) -> f64 {
    quantile_sorted(&sorted(x), q)
}

/// Interquartile mean as in rliable (`scipy.stats.trim_mean(x, 0.25)`):
/// sort, drop `k = ⌊0.25·n⌋` values from each end, return the mean of the
/// remaining `n − 2k`. NaN for empty input.
pub fn iqm(x: &[f64]) -> f64 {
    if x.is_empty() {
        return f64::NAN;
    }
    let s = sorted(x);
    let k = s.len() / 4; // == floor(0.25 * n)
    mean(&s[k..s.len() - k])
}

/// Optimality gap (rliable): `mean_i max(γ − x_i, 0)`; lower is better.
/// `gamma` is the target score (1.0 for normalised scores). NaN for empty input.
pub fn optimality_gap(x: &[f64], gamma: f64) -> f64 {
    if x.is_empty() {
        return f64::NAN;
    }
    x.iter().map(|&v| (gamma - v).max(0.0)).sum::<f64>() / x.len() as f64
}

/// Min–max normalisation `(x − min) / (max − min)` (0 at `min`, 1 at `max`).
/// Not guarded: `max == min` yields ±inf/NaN.
pub fn normalize(x: f64, min: f64, max: f64) -> f64 {
    (x - min) / (max - min)
}

/// Sample standard deviation `sqrt(Σ (x_i − x̄)² / (n − 1))`; NaN for `n < 2`.
pub fn std_dev(x: &[f64]) -> f64 {
    if x.len() < 2 {
        return f64::NAN;
    }
    let m = mean(x);
    let ss: f64 = x.iter().map(|&v| (v - m) * (v - m)).sum();
    (ss / (x.len() - 1) as f64).sqrt()
}

/// Aggregate metric over the scores of a set of runs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Aggregate {
    /// [`mean`]
    Mean,
    /// [`median`]
    Median,
    /// [`iqm`] (interquartile mean, the rliable headline metric)
    Iqm,
    /// [`optimality_gap`] with the given target γ (lower is better)
    OptimalityGap(f64),
}

impl Aggregate {
    /// Apply the aggregate to `x`.
    pub fn apply(&self, x: &[f64]) -> f64 {
        match *self {
            Aggregate::Mean => mean(x),
            Aggregate::Median => median(x),
            Aggregate::Iqm => iqm(x),
            Aggregate::OptimalityGap(gamma) => optimality_gap(x, gamma),
        }
    }

    /// Short identifier: `"mean"`, `"median"`, `"iqm"`, `"optimality_gap"`.
    pub fn name(&self) -> &'static str {
        match self {
            Aggregate::Mean => "mean",
            Aggregate::Median => "median",
            Aggregate::Iqm => "iqm",
            Aggregate::OptimalityGap(_) => "optimality_gap",
        }
    }

    /// `false` for the optimality gap (smaller is better), `true` otherwise.
    pub fn higher_is_better(&self) -> bool {
        !matches!(self, Aggregate::OptimalityGap(_))
    }
}
