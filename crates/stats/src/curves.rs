//! Per-run learning-curve metrics (input: the per-episode returns of one run).

use crate::mean;

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
