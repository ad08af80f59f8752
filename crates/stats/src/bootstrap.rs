//! Percentile-bootstrap intervals (stratified, two-sample, paired), difference tests with
//! Holm's correction, the probability of improvement, performance profiles, and verdicts.

use crate::quantile_sorted;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::fmt;

// ---------------------------------------------------------------------------
// Bootstrap
// ---------------------------------------------------------------------------

/// A point estimate with a confidence interval `[lo, hi]`.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Interval {
    /// Statistic on the original (non-resampled) data.
    pub point: f64,
    /// Lower bound, the `(1 − confidence)/2` bootstrap quantile.
    pub lo: f64,
    /// Upper bound, the `(1 + confidence)/2` bootstrap quantile.
    pub hi: f64,
}

impl Interval {
    /// All-NaN interval (returned for empty input).
    pub fn nan() -> Interval {
        Interval {
            point: f64::NAN,
            lo: f64::NAN,
            hi: f64::NAN,
        }
    }

    /// `hi − lo`.
    pub fn width(&self) -> f64 {
        self.hi - self.lo
    }

    /// `lo <= v <= hi`.
    pub fn contains(&self, v: f64) -> bool {
        self.lo <= v && v <= self.hi
    }
}

/// Append `n = src.len()` draws with replacement from `src` to `out`.
fn resample_into(src: &[f64], rng: &mut ChaCha8Rng, out: &mut Vec<f64>) {
    let n = src.len();
    out.extend((0..n).map(|_| src[rng.gen_range(0..n)]));
}

/// Percentile interval from bootstrap replicates: with `α = 1 − confidence`,
/// `lo = Q(α/2)`, `hi = Q(1 − α/2)` (numpy linear quantiles, as `arch`'s
/// `conf_int(method="percentile")` used by rliable). Bounds are NaN if there are
/// no replicates, a replicate is NaN, or `confidence ∉ (0, 1)`.
pub(crate) fn percentile_interval(point: f64, mut reps: Vec<f64>, confidence: f64) -> Interval {
    let valid = !reps.is_empty()
        && confidence > 0.0
        && confidence < 1.0
        && !reps.iter().any(|v| v.is_nan());
    if !valid {
        return Interval {
            point,
            lo: f64::NAN,
            hi: f64::NAN,
        };
    }
    reps.sort_by(f64::total_cmp);
    let alpha = 1.0 - confidence;
    Interval {
        point,
        lo: quantile_sorted(&reps, alpha / 2.0),
        hi: quantile_sorted(&reps, 1.0 - alpha / 2.0),
    }
}

/// Stratified percentile bootstrap CI (rliable's `StratifiedBootstrap`).
///
/// Each replicate resamples, with replacement, `n_k` runs from each stratum `k`
/// (task) independently, concatenates the strata and evaluates `stat`; with a
/// single stratum this is the plain percentile bootstrap over runs.
/// `point = stat(concat(strata))`; `[lo, hi]` = `(1−confidence)/2` and
/// `(1+confidence)/2` quantiles of the `resamples` replicates.
/// RNG: `ChaCha8Rng::seed_from_u64(seed)`. Empty `strata` or an empty stratum →
/// [`Interval::nan`].
pub fn bootstrap_ci(
    strata: &[&[f64]],
    stat: &dyn Fn(&[f64]) -> f64,
    resamples: usize,
    confidence: f64,
    seed: u64,
) -> Interval {
    if strata.is_empty() || strata.iter().any(|s| s.is_empty()) {
        return Interval::nan();
    }
    let all: Vec<f64> = strata.iter().flat_map(|s| s.iter().copied()).collect();
    let point = stat(&all);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut buf = Vec::with_capacity(all.len());
    let reps: Vec<f64> = (0..resamples)
        .map(|_| {
            buf.clear();
            for s in strata {
                resample_into(s, &mut rng, &mut buf);
            }
            stat(&buf)
        })
        .collect();
    percentile_interval(point, reps, confidence)
}

/// Two-sample independent percentile bootstrap of `f(a, b)`: each replicate
/// resamples `a` then `b` independently with replacement.
fn bootstrap_two_sample(
    a: &[f64],
    b: &[f64],
    f: &dyn Fn(&[f64], &[f64]) -> f64,
    resamples: usize,
    confidence: f64,
    seed: u64,
) -> Interval {
    match two_sample_replicates(a, b, f, resamples, seed) {
        Some((point, reps)) => percentile_interval(point, reps, confidence),
        None => Interval::nan(),
    }
}

/// `f(a, b)` and its `resamples` bootstrap replicates; `None` when `a` or `b` is empty.
fn two_sample_replicates(
    a: &[f64],
    b: &[f64],
    f: &dyn Fn(&[f64], &[f64]) -> f64,
    resamples: usize,
    seed: u64,
) -> Option<(f64, Vec<f64>)> {
    if a.is_empty() || b.is_empty() {
        return None;
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut ra = Vec::with_capacity(a.len());
    let mut rb = Vec::with_capacity(b.len());
    let reps = (0..resamples)
        .map(|_| {
            ra.clear();
            rb.clear();
            resample_into(a, &mut rng, &mut ra);
            resample_into(b, &mut rng, &mut rb);
            f(&ra, &rb)
        })
        .collect();
    Some((f(a, b), reps))
}

/// A bootstrap interval of `stat(a) − stat(b)` with the two-sided p-value of "no
/// difference" that matches it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DiffTest {
    pub interval: Interval,
    /// `min(1, 2 (k + 1) / (B + 1))` with `k` the number of the `B` replicates on the
    /// smaller side of 0 (`≤ 0` or `≥ 0`): the percentile interval at level `1 − p`
    /// just touches 0. NaN when the interval is.
    pub p: f64,
}

/// [`bootstrap_diff_ci`] and the matching bootstrap p-value from the same replicates
/// (inverting the percentile interval), for corrections such as [`holm_adjust`].
pub fn bootstrap_diff_test(
    a: &[f64],
    b: &[f64],
    stat: &dyn Fn(&[f64]) -> f64,
    resamples: usize,
    confidence: f64,
    seed: u64,
) -> DiffTest {
    let f = |ra: &[f64], rb: &[f64]| stat(ra) - stat(rb);
    diff_test(
        two_sample_replicates(a, b, &f, resamples, seed),
        resamples,
        confidence,
    )
}

/// Paired percentile bootstrap of `stat(a) − stat(b)` where `a[i]` and `b[i]` are one pair
/// (two variants at one seed under common random numbers): each replicate draws `n` pair
/// indices with replacement and applies them to both sides, so what the pair members share
/// cancels out of the difference. For `stat` = mean this is the bootstrap of the mean of the
/// per-pair differences. NaN when the inputs are empty or of unequal length.
pub fn paired_bootstrap_diff_test(
    a: &[f64],
    b: &[f64],
    stat: &dyn Fn(&[f64]) -> f64,
    resamples: usize,
    confidence: f64,
    seed: u64,
) -> DiffTest {
    let replicates = (!a.is_empty() && a.len() == b.len()).then(|| {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let n = a.len();
        let (mut ra, mut rb) = (Vec::with_capacity(n), Vec::with_capacity(n));
        let reps = (0..resamples)
            .map(|_| {
                ra.clear();
                rb.clear();
                for _ in 0..n {
                    let i = rng.gen_range(0..n);
                    ra.push(a[i]);
                    rb.push(b[i]);
                }
                stat(&ra) - stat(&rb)
            })
            .collect();
        (stat(a) - stat(b), reps)
    });
    diff_test(replicates, resamples, confidence)
}

/// The percentile interval and bootstrap p-value of `(point, replicates)`.
fn diff_test(replicates: Option<(f64, Vec<f64>)>, resamples: usize, confidence: f64) -> DiffTest {
    let Some((point, reps)) = replicates else {
        return DiffTest {
            interval: Interval::nan(),
            p: f64::NAN,
        };
    };
    let below = reps.iter().filter(|&&d| d <= 0.0).count();
    let above = reps.iter().filter(|&&d| d >= 0.0).count();
    let interval = percentile_interval(point, reps, confidence);
    let p = if interval.lo.is_nan() {
        f64::NAN
    } else {
        (2.0 * (below.min(above) + 1) as f64 / (resamples + 1) as f64).min(1.0)
    };
    DiffTest { interval, p }
}

/// Holm–Bonferroni adjusted p-values (Holm 1979): with `p_(1) ≤ … ≤ p_(m)` the sorted
/// finite p-values, `p̃_(i) = max_{j ≤ i} min(1, (m − j + 1) p_(j))`, in the input order.
/// Rejecting where `p̃ ≤ α` controls the family-wise error rate at `α` over the `m`
/// tests. NaN entries stay NaN and do not count in `m`.
pub fn holm_adjust(p: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..p.len()).filter(|&i| !p[i].is_nan()).collect();
    order.sort_by(|&i, &j| p[i].total_cmp(&p[j]));
    let m = order.len();
    let mut adjusted = vec![f64::NAN; p.len()];
    let mut running = 0.0f64;
    for (rank, &i) in order.iter().enumerate() {
        running = running.max(((m - rank) as f64 * p[i]).min(1.0));
        adjusted[i] = running;
    }
    adjusted
}

/// Percentile-bootstrap CI of the difference `stat(a) − stat(b)`, resampling
/// `a` and `b` independently (two-sample bootstrap). `point = stat(a) − stat(b)`.
/// Use `a` = variant, `b` = baseline and feed the result to [`verdict`].
/// Empty `a` or `b` → [`Interval::nan`].
pub fn bootstrap_diff_ci(
    a: &[f64],
    b: &[f64],
    stat: &dyn Fn(&[f64]) -> f64,
    resamples: usize,
    confidence: f64,
    seed: u64,
) -> Interval {
    bootstrap_diff_test(a, b, stat, resamples, confidence, seed).interval
}

/// The standard normal quantile Φ⁻¹(p) for p in (0, 1) (NaN outside): Acklam's rational
/// approximation, relative error below 1.2e-9 — for stating power and levels, not for tails
/// beyond 1e-300.
// The coefficients as Acklam published them (one carries a digit an f64 does not hold).
#[allow(clippy::excessive_precision)]
pub fn normal_quantile(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969683028665376e1,
        2.209460984245205e2,
        -2.759285104469687e2,
        1.383577518672690e2,
        -3.066479806614716e1,
        2.506628277459239,
    ];
    const B: [f64; 5] = [
        -5.447609879822406e1,
        1.615858368580409e2,
        -1.556989798598866e2,
        6.680131188771972e1,
        -1.328068155288572e1,
    ];
    const C: [f64; 6] = [
        -7.784894002430293e-3,
        -3.223964580411365e-1,
        -2.400758277161838,
        -2.549732539343734,
        4.374664141464968,
        2.938163982698783,
    ];
    const D: [f64; 4] = [
        7.784695709041462e-3,
        3.224671290700398e-1,
        2.445134137142996,
        3.754408661907416,
    ];
    if !(p > 0.0 && p < 1.0) {
        return f64::NAN;
    }
    let poly = |c: &[f64], x: f64| c.iter().fold(0.0, |acc, k| acc * x + k);
    let tail = |q: f64| {
        let r = (-2.0 * q.ln()).sqrt();
        poly(&C, r) / (poly(&D, r) * r + 1.0)
    };
    if p < 0.02425 {
        tail(p)
    } else if p > 1.0 - 0.02425 {
        -tail(1.0 - p)
    } else {
        let q = p - 0.5;
        let r = q * q;
        poly(&A, r) * q / (poly(&B, r) * r + 1.0)
    }
}

/// Probability of improvement `P(X > Y)` for one task (rliable): the normalised
/// Mann–Whitney U statistic
/// `(1 / (n·m)) Σ_i Σ_j ( [x_i > y_j] + 0.5·[x_i == y_j] )`.
/// NaN if either input is empty.
pub fn probability_of_improvement(x: &[f64], y: &[f64]) -> f64 {
    if x.is_empty() || y.is_empty() {
        return f64::NAN;
    }
    let mut s = 0.0;
    for &xi in x {
        for &yj in y {
            if xi > yj {
                s += 1.0;
            } else if xi == yj {
                s += 0.5;
            }
        }
    }
    s / (x.len() * y.len()) as f64
}

/// Percentile-bootstrap CI of [`probability_of_improvement`], resampling `x` and
/// `y` independently (rliable's `StratifiedIndependentBootstrap` for one task).
pub fn probability_of_improvement_ci(
    x: &[f64],
    y: &[f64],
    resamples: usize,
    confidence: f64,
    seed: u64,
) -> Interval {
    bootstrap_two_sample(
        x,
        y,
        &probability_of_improvement,
        resamples,
        confidence,
        seed,
    )
}

/// Performance profile (rliable run-score distribution):
/// `F(τ) = (1/n) Σ_i [x_i > τ]` (strictly greater) for each `τ` in `thresholds`.
/// Empty `x` → NaN for every threshold.
pub fn performance_profile(x: &[f64], thresholds: &[f64]) -> Vec<f64> {
    thresholds
        .iter()
        .map(|&t| {
            if x.is_empty() {
                f64::NAN
            } else {
                x.iter().filter(|&&v| v > t).count() as f64 / x.len() as f64
            }
        })
        .collect()
}

/// Pointwise percentile-bootstrap CIs of [`performance_profile`] over the runs of all
/// `strata` pooled: each replicate resamples every stratum (task) on its own with
/// replacement, as [`bootstrap_ci`] does, and evaluates the profile at every threshold.
/// One stratum is the plain bootstrap. Empty `strata` or an empty stratum → one
/// [`Interval::nan`] per threshold.
pub fn performance_profile_ci(
    strata: &[&[f64]],
    thresholds: &[f64],
    resamples: usize,
    confidence: f64,
    seed: u64,
) -> Vec<Interval> {
    if strata.is_empty() || strata.iter().any(|s| s.is_empty()) {
        return vec![Interval::nan(); thresholds.len()];
    }
    let all: Vec<f64> = strata.iter().flat_map(|s| s.iter().copied()).collect();
    let points = performance_profile(&all, thresholds);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut buf = Vec::with_capacity(all.len());
    let mut reps: Vec<Vec<f64>> = vec![Vec::with_capacity(resamples); thresholds.len()];
    for _ in 0..resamples {
        buf.clear();
        for s in strata {
            resample_into(s, &mut rng, &mut buf);
        }
        for (k, v) in performance_profile(&buf, thresholds)
            .into_iter()
            .enumerate()
        {
            reps[k].push(v);
        }
    }
    points
        .into_iter()
        .zip(reps)
        .map(|(p, r)| percentile_interval(p, r, confidence))
        .collect()
}

/// `n` evenly spaced values from `lo` to `hi` inclusive:
/// `v_i = lo + i·(hi − lo)/(n − 1)` (last value exactly `hi`).
/// `n = 0` → empty, `n = 1` → `[lo]`.
pub fn linspace(lo: f64, hi: f64, n: usize) -> Vec<f64> {
    match n {
        0 => Vec::new(),
        1 => vec![lo],
        _ => {
            let step = (hi - lo) / (n - 1) as f64;
            (0..n)
                .map(|i| if i == n - 1 { hi } else { lo + i as f64 * step })
                .collect()
        }
    }
}

// ---------------------------------------------------------------------------
// Verdict
// ---------------------------------------------------------------------------

/// Outcome of comparing a variant against a baseline from a CI of their difference.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Verdict {
    /// CI of the difference entirely on the better side of 0.
    Supported,
    /// CI of the difference entirely on the worse side of 0.
    NotSupported,
    /// CI touches or straddles 0 (or is NaN).
    Inconclusive,
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Verdict::Supported => "supported",
            Verdict::NotSupported => "not supported",
            Verdict::Inconclusive => "inconclusive",
        })
    }
}

/// Verdict from the CI of `variant − baseline`: the whole interval strictly on
/// the better side of 0 (`lo > 0` if higher is better, `hi < 0` otherwise) →
/// `Supported`; strictly on the worse side → `NotSupported`; touching or
/// straddling 0 (or NaN) → `Inconclusive`.
pub fn verdict(diff: Interval, higher_is_better: bool) -> Verdict {
    let (better, worse) = if higher_is_better {
        (diff.lo > 0.0, diff.hi < 0.0)
    } else {
        (diff.hi < 0.0, diff.lo > 0.0)
    };
    if better {
        Verdict::Supported
    } else if worse {
        Verdict::NotSupported
    } else {
        Verdict::Inconclusive
    }
}
