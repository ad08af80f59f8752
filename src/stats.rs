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

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::fmt;

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

/// Quantile of already-sorted data, numpy "linear" method:
/// `h = (n−1)·q`, `Q = s[⌊h⌋] + (h − ⌊h⌋)·(s[⌊h⌋+1] − s[⌊h⌋])`.
fn quantile_sorted(s: &[f64], q: f64) -> f64 {
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
fn percentile_interval(point: f64, mut reps: Vec<f64>, confidence: f64) -> Interval {
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

// ---------------------------------------------------------------------------
// Learning-curve metrics (input: per-episode returns of one run)
// ---------------------------------------------------------------------------

/// Trailing moving average: `m_i = mean(x[max(0, i+1−w) ..= i])`. For the first
/// `w − 1` entries the window is partial and the average is over the episodes
/// available so far. Output has the same length as `x`; `window = 0` is treated as 1.
pub fn moving_average(x: &[f64], window: usize) -> Vec<f64> {
    let w = window.max(1);
    (0..x.len())
        .map(|i| mean(&x[(i + 1).saturating_sub(w)..=i]))
        .collect()
}

/// Full-window trailing averages: element `j` is `mean(x[j ..= j+w−1])`, i.e. the
/// average ending at episode `j + w − 1`. Empty if `x.len() < w`.
fn full_window_averages(x: &[f64], window: usize) -> impl Iterator<Item = (usize, f64)> + '_ {
    let w = window.max(1);
    x.windows(w)
        .enumerate()
        .map(move |(j, win)| (j + w - 1, mean(win)))
}

/// First episode index `i` (0-based, `i >= window − 1`) at which the FULL trailing
/// window average `mean(x[i+1−window ..= i])` is `>= threshold`; `None` if never
/// (or fewer than `window` episodes). Window 100 / threshold 195 is the classic
/// "CartPole-v0 solved" criterion. `window = 0` is treated as 1.
pub fn first_reach(x: &[f64], window: usize, threshold: f64) -> Option<usize> {
    full_window_averages(x, window)
        .find(|&(_, m)| m >= threshold)
        .map(|(i, _)| i)
}

/// Collapse detection on the full-window trailing average `m_i` (as in
/// [`first_reach`]): `None` if `m_i` never reaches `reach`; otherwise, with `r` the
/// first such index, `Some(true)` if `m_j < floor` for some `j > r`, else `Some(false)`.
pub fn collapsed_after_reaching(x: &[f64], window: usize, reach: f64, floor: f64) -> Option<bool> {
    let r = first_reach(x, window, reach)?;
    Some(full_window_averages(x, window).any(|(j, m)| j > r && m < floor))
}

/// Normalised area under the learning curve: `(1/T) Σ_t x_t`, the mean return
/// over all `T` episodes (AUC divided by the number of episodes). NaN if empty.
pub fn area_under_curve(x: &[f64]) -> f64 {
    mean(x)
}

/// Mean of the last `n` episodes, `mean(x[T−min(n,T) ..])` (mean of all if fewer
/// than `n`). NaN if `x` is empty or `n = 0`.
pub fn last_n_mean(x: &[f64], n: usize) -> f64 {
    mean(&x[x.len().saturating_sub(n)..])
}

// ---------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;

    const EPS: f64 = 1e-12;

    #[test]
    fn normal_quantile_matches_tables() {
        // Φ⁻¹ from standard tables (scipy.stats.norm.ppf).
        for (p, z) in [
            (0.5, 0.0),
            (0.8, 0.8416212335729143),
            (0.95, 1.6448536269514722),
            (0.975, 1.959963984540054),
            (0.01, -2.3263478740408408),
            (1e-6, -4.753424308822899),
        ] {
            let got = normal_quantile(p);
            assert!((got - z).abs() < 1e-8, "p {p}: {got} vs {z}");
            assert!(
                (normal_quantile(1.0 - p) + z).abs() < 1e-8,
                "symmetry at {p}"
            );
        }
        assert!(normal_quantile(0.0).is_nan() && normal_quantile(1.0).is_nan());
    }

    #[test]
    fn holm_adjusts_a_hand_worked_family() {
        // sorted: 0.005·4 = 0.02; 0.01·3 = 0.03; 0.03·2 = 0.06; max(0.06, 0.04·1) = 0.06.
        let adj = holm_adjust(&[0.01, 0.04, 0.03, 0.005]);
        let want = [0.03, 0.06, 0.06, 0.02];
        for (a, w) in adj.iter().zip(want) {
            assert!(close(*a, w), "{adj:?}");
        }
        // At α = 0.05 only the two smallest are rejected (Bonferroni alone would keep one).
        assert_eq!(adj.iter().filter(|&&a| a <= 0.05).count(), 2);
        // NaN is not a test: it stays NaN and does not enlarge the family.
        let adj = holm_adjust(&[f64::NAN, 0.02, 0.01]);
        assert!(
            adj[0].is_nan() && close(adj[1], 0.02) && close(adj[2], 0.02),
            "{adj:?}"
        );
        // Adjusted values are capped at 1.
        assert_eq!(holm_adjust(&[0.6, 0.7]), [1.0, 1.0]);
    }

    #[test]
    fn paired_bootstrap_cancels_what_pairs_share() {
        // a = b + 3 exactly, b spread widely: every paired replicate is 3, so the interval is
        // the point and p is the smallest possible; the independent bootstrap sees only the
        // spread of b and its interval crosses 0.
        let b = [0.0, 50.0, 100.0, 150.0, 200.0, 10.0, 190.0, 70.0];
        let a: Vec<f64> = b.iter().map(|x| x + 3.0).collect();
        let paired = paired_bootstrap_diff_test(&a, &b, &mean, 999, 0.95, 4);
        assert!(close(paired.interval.lo, 3.0) && close(paired.interval.hi, 3.0));
        assert!(close(paired.p, 2.0 / 1000.0), "{}", paired.p);
        let independent = bootstrap_diff_test(&a, &b, &mean, 999, 0.95, 4);
        assert!(independent.interval.lo < 0.0 && independent.interval.hi > 0.0);
    }

    #[test]
    fn paired_bootstrap_of_two_pairs_by_hand() {
        // Pairs (1, 0) and (3, 0): a replicate draws two pair indices, so the mean
        // difference is 1 (both first, p 1/4), 2 (one each, 1/2) or 3 (both second, 1/4).
        let t = paired_bootstrap_diff_test(&[1.0, 3.0], &[0.0, 0.0], &mean, 4000, 0.9, 7);
        assert_eq!(t.interval.point, 2.0);
        assert_eq!((t.interval.lo, t.interval.hi), (1.0, 3.0));
        // For the mean it is the one-sample bootstrap of the differences (same draws).
        let (a, b) = ([5.0, 1.0, 4.0, 9.0, 2.0], [3.0, 2.0, 1.0, 4.0, 2.5]);
        let d: Vec<f64> = a.iter().zip(&b).map(|(x, y)| x - y).collect();
        let t = paired_bootstrap_diff_test(&a, &b, &mean, 500, 0.95, 3);
        let one = bootstrap_ci(&[&d], &mean, 500, 0.95, 3);
        assert!((t.interval.lo - one.lo).abs() < 1e-9 && (t.interval.hi - one.hi).abs() < 1e-9);
        // Unequal lengths do not pair.
        assert!(paired_bootstrap_diff_test(&a, &b[..4], &mean, 10, 0.95, 0)
            .p
            .is_nan());
    }

    #[test]
    fn bootstrap_p_value_matches_the_interval() {
        // Disjoint samples: every replicate difference is negative, p is the smallest
        // possible, 2 / (B + 1), and the interval excludes 0.
        let t = bootstrap_diff_test(&[1.0, 2.0, 3.0], &[10.0, 11.0, 12.0], &mean, 999, 0.95, 1);
        assert!(close(t.p, 2.0 / 1000.0), "{}", t.p);
        assert!(t.interval.hi < 0.0);
        assert_eq!(t.interval.point, -9.0);
        // Identical samples: half the replicates on each side, p = 1.
        let t = bootstrap_diff_test(&[1.0, 2.0, 3.0], &[1.0, 2.0, 3.0], &mean, 999, 0.95, 1);
        assert_eq!(t.p, 1.0);
        // On overlapping samples p < 0.05 goes with a 95% interval that excludes 0, up to
        // one replicate of the quantile's interpolation (2 / 2001 ≈ 0.001 of p).
        let (a, b) = ([3.0, 4.0, 5.0, 6.0, 9.0], [1.0, 2.0, 4.0, 5.0, 3.0]);
        for seed in 0..20 {
            let t = bootstrap_diff_test(&a, &b, &mean, 2000, 0.95, seed);
            let excludes = t.interval.lo > 0.0 || t.interval.hi < 0.0;
            assert!(
                t.p >= 0.049 || excludes,
                "seed {seed}: p {} {:?}",
                t.p,
                t.interval
            );
            assert!(
                t.p < 0.052 || !excludes,
                "seed {seed}: p {} {:?}",
                t.p,
                t.interval
            );
        }
        assert!(bootstrap_diff_test(&[], &[1.0], &mean, 10, 0.95, 0)
            .p
            .is_nan());
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= EPS * (1.0 + a.abs().max(b.abs()))
    }

    #[test]
    fn mean_and_std() {
        // (1+2+3+4)/4 = 2.5
        assert!(close(mean(&[1.0, 2.0, 3.0, 4.0]), 2.5));
        // [2,4,4,4,5,5,7,9]: mean 5, Σ(x−5)² = 9+1+1+1+0+0+4+16 = 32, s = sqrt(32/7)
        let x = [2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0];
        assert!(close(std_dev(&x), (32.0f64 / 7.0).sqrt()));
        assert!(std_dev(&[1.0]).is_nan());
        assert!(mean(&[]).is_nan());
    }

    #[test]
    fn censored_median_counts_runs_that_never_got_there() {
        assert_eq!(censored_median(&[Some(3.0), Some(5.0), None]), 5.0);
        // Conditional on reaching it, the median would be 3: a quantity the variant can move
        // by failing more often.
        assert!(censored_median(&[Some(3.0), None, None]).is_nan());
        assert_eq!(
            censored_median(&[Some(6.0), None, Some(2.0), Some(4.0)]),
            5.0
        );
        assert!(censored_median(&[Some(1.0), None]).is_nan());
        assert!(censored_median(&[]).is_nan());
    }

    #[test]
    fn median_odd_even() {
        // sorted [1,3,5] -> 3
        assert_eq!(median(&[5.0, 1.0, 3.0]), 3.0);
        // sorted [1,2,3,10] -> (2+3)/2 = 2.5
        assert_eq!(median(&[10.0, 2.0, 1.0, 3.0]), 2.5);
        assert_eq!(median(&[7.0]), 7.0);
        assert!(median(&[]).is_nan());
    }

    #[test]
    fn quantile_numpy_linear() {
        let x = [4.0, 1.0, 3.0, 2.0];
        // h = 3·0.25 = 0.75 -> 1 + 0.75·(2−1) = 1.75
        assert!(close(quantile(&x, 0.25), 1.75));
        // h = 3·0.5 = 1.5 -> 2 + 0.5·1 = 2.5 (= median)
        assert!(close(quantile(&x, 0.5), 2.5));
        // h = 3·0.9 = 2.7 -> 3 + 0.7·1 = 3.7
        assert!(close(quantile(&x, 0.9), 3.7));
        assert_eq!(quantile(&x, 0.0), 1.0);
        assert_eq!(quantile(&x, 1.0), 4.0);
        assert!(quantile(&x, 1.5).is_nan());
        assert!(quantile(&[], 0.5).is_nan());
    }

    #[test]
    fn iqm_matches_trim_mean() {
        // n=8: cut floor(2) each side -> mean(3,4,5,6) = 4.5
        let x: Vec<f64> = (1..=8).map(|v| v as f64).collect();
        assert!(close(iqm(&x), 4.5));
        // n=10 (not divisible by 4): cut floor(2.5)=2 each side.
        // sorted [1,2,3,4,6,7,8,9,10,100] -> keep [3,4,6,7,8,9], sum 37 -> 37/6
        let y = [10.0, 1.0, 9.0, 2.0, 8.0, 3.0, 7.0, 4.0, 6.0, 100.0];
        assert!(close(iqm(&y), 37.0 / 6.0));
        // n=5: cut 1 each side: sorted [0,1,2,3,50] -> mean(1,2,3) = 2
        assert!(close(iqm(&[50.0, 0.0, 2.0, 1.0, 3.0]), 2.0));
        // n=3: cut 0 -> plain mean (1+2+6)/3 = 3
        assert!(close(iqm(&[1.0, 2.0, 6.0]), 3.0));
        assert!(iqm(&[]).is_nan());
    }

    #[test]
    fn optimality_gap_and_normalize() {
        // max(1−0.5,0)+max(1−1.2,0)+max(1−0.8,0) = 0.5+0+0.2 -> 0.7/3
        assert!(close(optimality_gap(&[0.5, 1.2, 0.8], 1.0), 0.7 / 3.0));
        assert!(optimality_gap(&[], 1.0).is_nan());
        // (150 − 100)/(200 − 100) = 0.5
        assert!(close(normalize(150.0, 100.0, 200.0), 0.5));
        assert!(close(normalize(9.0, 9.0, 500.0), 0.0));
    }

    #[test]
    fn aggregate_apply_and_name() {
        let x = [0.5, 1.2, 0.8, 0.1];
        assert_eq!(Aggregate::Mean.apply(&x), mean(&x));
        assert_eq!(Aggregate::Median.apply(&x), median(&x));
        assert_eq!(Aggregate::Iqm.apply(&x), iqm(&x));
        assert_eq!(
            Aggregate::OptimalityGap(1.0).apply(&x),
            optimality_gap(&x, 1.0)
        );
        assert_eq!(Aggregate::Mean.name(), "mean");
        assert_eq!(Aggregate::Median.name(), "median");
        assert_eq!(Aggregate::Iqm.name(), "iqm");
        assert_eq!(Aggregate::OptimalityGap(1.0).name(), "optimality_gap");
        assert!(Aggregate::Iqm.higher_is_better());
        assert!(!Aggregate::OptimalityGap(1.0).higher_is_better());
    }

    #[test]
    fn probability_of_improvement_hand() {
        // x=[1,2,3], y=[2,2]:
        // x=1: 0+0; x=2: 0.5+0.5; x=3: 1+1 -> 3/6 = 0.5
        assert!(close(
            probability_of_improvement(&[1.0, 2.0, 3.0], &[2.0, 2.0]),
            0.5
        ));
        // x=[1,2,3], y=[0,2]:
        // x=1: 1+0; x=2: 1+0.5; x=3: 1+1 -> 4.5/6 = 0.75
        let p = probability_of_improvement(&[1.0, 2.0, 3.0], &[0.0, 2.0]);
        assert!(close(p, 0.75));
        // complement: P(Y>X) = 1 − P(X>Y) (ties counted half on both sides)
        let q = probability_of_improvement(&[0.0, 2.0], &[1.0, 2.0, 3.0]);
        assert!(close(p + q, 1.0));
        assert!(probability_of_improvement(&[], &[1.0]).is_nan());
    }

    #[test]
    fn performance_profile_hand() {
        // >0: all 4; >2.5: {3,4}; >4: none (strict)
        let p = performance_profile(&[1.0, 2.0, 3.0, 4.0], &[0.0, 2.5, 4.0]);
        assert_eq!(p, vec![1.0, 0.5, 0.0]);
        // strict: >2 of [1,2,3,4] is {3,4}
        assert_eq!(
            performance_profile(&[1.0, 2.0, 3.0, 4.0], &[2.0]),
            vec![0.5]
        );
        assert!(performance_profile(&[], &[1.0])[0].is_nan());
    }

    #[test]
    fn linspace_hand() {
        assert_eq!(linspace(0.0, 1.0, 5), vec![0.0, 0.25, 0.5, 0.75, 1.0]);
        assert_eq!(linspace(2.0, 3.0, 1), vec![2.0]);
        assert!(linspace(0.0, 1.0, 0).is_empty());
        let v = linspace(0.0, 0.3, 4);
        assert_eq!(v.len(), 4);
        assert_eq!(v[3], 0.3);
    }

    #[test]
    fn bootstrap_constant_is_degenerate() {
        let x = [3.0; 7];
        let ci = bootstrap_ci(&[&x], &mean, 1000, 0.95, 1);
        assert_eq!(
            ci,
            Interval {
                point: 3.0,
                lo: 3.0,
                hi: 3.0
            }
        );
        let ci = bootstrap_ci(&[&x], &iqm, 1000, 0.95, 1);
        assert_eq!(
            ci,
            Interval {
                point: 3.0,
                lo: 3.0,
                hi: 3.0
            }
        );
    }

    #[test]
    fn bootstrap_mean_width_matches_normal_approx() {
        let x: Vec<f64> = (0..100).map(|v| v as f64).collect();
        let ci = bootstrap_ci(&[&x], &mean, 5000, 0.95, 42);
        assert_eq!(ci.point, 49.5);
        assert!(ci.contains(49.5), "{ci:?}");
        // bootstrap SE ≈ σ_pop/√n, σ_pop² = (100²−1)/12 = 833.25 -> σ ≈ 28.866,
        // expected width 2·1.96·28.866/10 ≈ 11.32; accept within 15%.
        let expected = 2.0 * 1.96 * (833.25f64).sqrt() / 10.0;
        let rel = (ci.width() - expected).abs() / expected;
        assert!(rel < 0.15, "width {} vs {}", ci.width(), expected);
    }

    #[test]
    fn bootstrap_is_deterministic_per_seed() {
        let x: Vec<f64> = (0..100).map(|v| v as f64).collect();
        let a = bootstrap_ci(&[&x], &mean, 2000, 0.95, 7);
        let b = bootstrap_ci(&[&x], &mean, 2000, 0.95, 7);
        assert_eq!(a, b);
        let c = bootstrap_ci(&[&x], &mean, 2000, 0.95, 8);
        assert!(a.lo != c.lo || a.hi != c.hi, "{a:?} vs {c:?}");
        assert_eq!(a.point, c.point);
    }

    #[test]
    fn bootstrap_is_stratified() {
        // Each stratum is constant, so every stratified resample is exactly
        // [0,0,0,1,1,1] -> mean 0.5: CI degenerate at 0.5. (A pooled bootstrap
        // would vary.)
        let a = [0.0; 3];
        let b = [1.0; 3];
        let ci = bootstrap_ci(&[&a, &b], &mean, 500, 0.95, 3);
        assert_eq!(
            ci,
            Interval {
                point: 0.5,
                lo: 0.5,
                hi: 0.5
            }
        );
    }

    #[test]
    fn bootstrap_edge_cases() {
        let x = [1.0, 2.0];
        let empty: [f64; 0] = [];
        let ci = bootstrap_ci(&[&x, &empty], &mean, 100, 0.95, 0);
        assert!(ci.point.is_nan() && ci.lo.is_nan() && ci.hi.is_nan());
        assert!(bootstrap_ci(&[], &mean, 100, 0.95, 0).lo.is_nan());
        let d = bootstrap_diff_ci(&empty, &x, &mean, 100, 0.95, 0);
        assert!(d.point.is_nan() && d.lo.is_nan() && d.hi.is_nan());
        // zero resamples / invalid confidence: point kept, bounds NaN
        let z = bootstrap_ci(&[&x], &mean, 0, 0.95, 0);
        assert_eq!(z.point, 1.5);
        assert!(z.lo.is_nan() && z.hi.is_nan());
        assert!(bootstrap_ci(&[&x], &mean, 10, 1.0, 0).lo.is_nan());
        assert_eq!(verdict(d, true), Verdict::Inconclusive);
    }

    #[test]
    fn diff_ci_and_verdict() {
        let hi: Vec<f64> = (0..10).map(|v| 100.0 + v as f64).collect();
        let lo: Vec<f64> = (0..10).map(|v| v as f64).collect();
        let d = bootstrap_diff_ci(&hi, &lo, &mean, 2000, 0.95, 11);
        assert_eq!(d.point, 100.0);
        assert!(d.lo > 0.0 && d.contains(100.0), "{d:?}");
        assert_eq!(verdict(d, true), Verdict::Supported);
        assert_eq!(verdict(d, false), Verdict::NotSupported);
        let r = bootstrap_diff_ci(&lo, &hi, &iqm, 2000, 0.95, 11);
        assert!(r.hi < 0.0, "{r:?}");
        assert_eq!(verdict(r, true), Verdict::NotSupported);
        assert_eq!(verdict(r, false), Verdict::Supported);
        // overlapping samples: 0..20 vs 0.5..20.5 -> CI straddles 0
        let a: Vec<f64> = (0..20).map(|v| v as f64).collect();
        let b: Vec<f64> = (0..20).map(|v| v as f64 + 0.5).collect();
        let o = bootstrap_diff_ci(&b, &a, &mean, 2000, 0.95, 5);
        assert!(o.lo < 0.0 && o.hi > 0.0, "{o:?}");
        assert_eq!(verdict(o, true), Verdict::Inconclusive);
        assert_eq!(verdict(o, false), Verdict::Inconclusive);
        // determinism
        assert_eq!(o, bootstrap_diff_ci(&b, &a, &mean, 2000, 0.95, 5));
    }

    #[test]
    fn verdict_hand_and_display() {
        let iv = |lo, hi| Interval {
            point: 0.5 * (lo + hi),
            lo,
            hi,
        };
        assert_eq!(verdict(iv(0.1, 2.0), true), Verdict::Supported);
        assert_eq!(verdict(iv(-2.0, -0.1), true), Verdict::NotSupported);
        assert_eq!(verdict(iv(-1.0, 1.0), true), Verdict::Inconclusive);
        assert_eq!(verdict(iv(0.0, 1.0), true), Verdict::Inconclusive); // touches 0
        assert_eq!(verdict(iv(-2.0, -0.1), false), Verdict::Supported);
        assert_eq!(Verdict::Supported.to_string(), "supported");
        assert_eq!(Verdict::NotSupported.to_string(), "not supported");
        assert_eq!(Verdict::Inconclusive.to_string(), "inconclusive");
    }

    #[test]
    fn probability_of_improvement_ci_cases() {
        // fully separated: every resample gives P = 1
        let x = [10.0, 11.0, 12.0];
        let y = [0.0, 1.0, 2.0];
        let ci = probability_of_improvement_ci(&x, &y, 500, 0.95, 9);
        assert_eq!(
            ci,
            Interval {
                point: 1.0,
                lo: 1.0,
                hi: 1.0
            }
        );
        // overlapping: point inside, bounds within [0,1]
        let a: Vec<f64> = (0..10).map(|v| v as f64).collect();
        let b: Vec<f64> = (0..10).map(|v| v as f64 + 1.0).collect();
        let ci = probability_of_improvement_ci(&a, &b, 2000, 0.95, 9);
        // pairs a_i > b_j: a_i > a_j+1 -> Σ_i max(0, i−1) = 36; ties a_i == a_j+1: 9
        // P = (36 + 4.5)/100 = 0.405
        assert!(close(ci.point, 0.405));
        assert!(ci.lo >= 0.0 && ci.hi <= 1.0 && ci.contains(0.405), "{ci:?}");
        assert!(ci.lo < 0.5 && ci.hi > 0.5, "{ci:?}");
    }

    #[test]
    fn stratified_bootstrap_keeps_each_stratum_size() {
        // Two tasks, one scoring 0 and one 10 on every run: a stratified replicate always
        // holds three runs of each, so the mean (and the share above 5) never moves, while
        // pooling the six runs into one stratum lets a replicate draw mostly one task.
        let (low, high) = ([0.0; 3], [10.0; 3]);
        let strata: [&[f64]; 2] = [&low, &high];
        let i = bootstrap_ci(&strata, &mean, 500, 0.95, 1);
        assert_eq!((i.point, i.lo, i.hi), (5.0, 5.0, 5.0));
        let p = performance_profile_ci(&strata, &[5.0], 500, 0.95, 1)[0];
        assert_eq!((p.point, p.lo, p.hi), (0.5, 0.5, 0.5));
        let all = [0.0, 0.0, 0.0, 10.0, 10.0, 10.0];
        let pooled = bootstrap_ci(&[&all], &mean, 500, 0.95, 1);
        assert!(pooled.lo < 3.0 && pooled.hi > 7.0, "{pooled:?}");
        let p = performance_profile_ci(&[&all], &[5.0], 500, 0.95, 1)[0];
        assert!(p.lo < 0.3 && p.hi > 0.7, "{p:?}");
    }

    #[test]
    fn performance_profile_ci_cases() {
        let x = [1.0, 2.0, 3.0, 4.0];
        let t = [0.0, 2.5, 10.0];
        let cis = performance_profile_ci(&[&x], &t, 1000, 0.95, 4);
        assert_eq!(cis.len(), 3);
        // all scores > 0 and none > 10 in every resample: degenerate
        assert_eq!(
            cis[0],
            Interval {
                point: 1.0,
                lo: 1.0,
                hi: 1.0
            }
        );
        assert_eq!(
            cis[2],
            Interval {
                point: 0.0,
                lo: 0.0,
                hi: 0.0
            }
        );
        assert_eq!(cis[1].point, 0.5);
        assert!(cis[1].lo < 0.5 && cis[1].hi > 0.5, "{:?}", cis[1]);
        assert_eq!(cis, performance_profile_ci(&[&x], &t, 1000, 0.95, 4));
        assert!(performance_profile_ci(&[&[]], &t, 10, 0.95, 4)[1]
            .lo
            .is_nan());
        assert!(performance_profile_ci(&[], &t, 10, 0.95, 4)[1].lo.is_nan());
    }

    #[test]
    fn moving_average_hand() {
        // window 3, partial at the start:
        // [1], [1,2], [1,2,3], [2,3,4], [3,4,5] -> 1, 1.5, 2, 3, 4
        let m = moving_average(&[1.0, 2.0, 3.0, 4.0, 5.0], 3);
        assert_eq!(m, vec![1.0, 1.5, 2.0, 3.0, 4.0]);
        assert_eq!(moving_average(&[1.0, 3.0], 0), vec![1.0, 3.0]);
        assert!(moving_average(&[], 3).is_empty());
    }

    #[test]
    fn first_reach_hand() {
        let x = [0.0, 0.0, 3.0, 3.0, 3.0, 0.0, 0.0, 0.0];
        // full-window (w=3) averages ending at i=2..7: 1, 2, 3, 2, 1, 0
        assert_eq!(first_reach(&x, 3, 2.0), Some(3));
        assert_eq!(first_reach(&x, 3, 3.0), Some(4));
        assert_eq!(first_reach(&x, 3, 3.5), None);
        // partial windows do not count: [5,0,0,0] w=3 -> full averages 5/3, 0
        assert_eq!(first_reach(&[5.0, 0.0, 0.0, 0.0], 3, 4.0), None);
        // fewer than `window` episodes
        assert_eq!(first_reach(&[10.0, 10.0], 3, 1.0), None);
        // window 1 = raw returns
        assert_eq!(first_reach(&x, 1, 3.0), Some(2));
    }

    #[test]
    fn collapse_hand() {
        let x = [0.0, 0.0, 3.0, 3.0, 3.0, 0.0, 0.0, 0.0];
        // reaches 2 at i=3; later averages 3, 2, 1, 0 -> 0 < 1: collapsed
        assert_eq!(collapsed_after_reaching(&x, 3, 2.0, 1.0), Some(true));
        // floor 0: no later average < 0
        assert_eq!(collapsed_after_reaching(&x, 3, 2.0, 0.0), Some(false));
        // never reaches 5
        assert_eq!(collapsed_after_reaching(&x, 3, 5.0, 1.0), None);
        // stays up: [0,3,3,3,3] w=2 -> averages 1.5,3,3,3; reach 3 at i=2, floor 2.5
        let y = [0.0, 3.0, 3.0, 3.0, 3.0];
        assert_eq!(collapsed_after_reaching(&y, 2, 3.0, 2.5), Some(false));
    }

    #[test]
    fn auc_and_last_n() {
        let x = [1.0, 2.0, 3.0, 6.0];
        // (1+2+3+6)/4 = 3
        assert!(close(area_under_curve(&x), 3.0));
        // last 2: (3+6)/2 = 4.5
        assert!(close(last_n_mean(&x, 2), 4.5));
        // n > len -> mean of all = 3
        assert!(close(last_n_mean(&x, 10), 3.0));
        assert!(last_n_mean(&x, 0).is_nan());
        assert!(last_n_mean(&[], 3).is_nan());
        assert!(area_under_curve(&[]).is_nan());
    }
}
