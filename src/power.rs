//! Planning seeds (`sweep power`): from a pilot's finished runs, how many seeds per variant a
//! comparison needs to detect a given difference with the comparison table's test.
//!
//! Model (a location shift): both arms have the pilot's spread — its runs re-centred on their
//! mean — and the variant's runs are shifted by the difference `delta`. For each candidate seed
//! count `n`, `sims` simulated comparisons draw `n` runs per arm (with replacement) and apply
//! the table's test: the percentile bootstrap interval of the difference of means at the
//! configured confidence. The power at `n` is the share of comparisons whose interval lies on
//! `delta`'s side of zero. With a family of `m` tests corrected by Holm, plan at confidence
//! `1 − α/m` (Holm's first step, Bonferroni's level): the plan is then safe for every step.

use crate::stats;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The seed counts tried, smallest first (the comparison table gives no verdict below 5).
pub const SEED_COUNTS: [usize; 10] = [5, 8, 10, 15, 20, 30, 50, 75, 100, 150];

/// Power against seed count for one pilot.
#[derive(Debug, Clone, PartialEq)]
pub struct PowerCurve {
    pub pilot_runs: usize,
    /// Standard deviation of the pilot's runs.
    pub sd: f64,
    /// `(seeds per arm, power)` for each of [`SEED_COUNTS`].
    pub points: Vec<(usize, f64)>,
    /// The smallest tried seed count with power ≥ the target; `None` if even 150 fall short.
    pub needed: Option<usize>,
}

/// What to plan for.
#[derive(Debug, Clone, Copy)]
pub struct PowerPlan {
    /// The difference (variant − baseline) to detect, in the metric's units.
    pub delta: f64,
    /// Target power, e.g. 0.8.
    pub target: f64,
    /// Confidence of the test's interval (already adjusted for the family, if any).
    pub confidence: f64,
    /// Bootstrap resamples per simulated test.
    pub resamples: usize,
    /// Simulated comparisons per seed count.
    pub sims: usize,
}

/// Simulate the power of the comparison for each of [`SEED_COUNTS`] (deterministic in `seed`).
pub fn power_curve(pilot: &[f64], plan: &PowerPlan, seed: u64) -> PowerCurve {
    let mean = stats::mean(pilot);
    let residuals: Vec<f64> = pilot.iter().map(|x| x - mean).collect();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let draw = |rng: &mut ChaCha8Rng, n: usize, shift: f64| -> Vec<f64> {
        (0..n)
            .map(|_| residuals[rng.gen_range(0..residuals.len())] + shift)
            .collect()
    };
    let points: Vec<(usize, f64)> = if residuals.is_empty() {
        Vec::new()
    } else {
        SEED_COUNTS
            .iter()
            .map(|&n| {
                let found = (0..plan.sims)
                    .filter(|_| {
                        let x = draw(&mut rng, n, plan.delta);
                        let y = draw(&mut rng, n, 0.0);
                        let i = stats::bootstrap_diff_ci(
                            &x,
                            &y,
                            &stats::mean,
                            plan.resamples,
                            plan.confidence,
                            rng.gen(),
                        );
                        if plan.delta >= 0.0 {
                            i.lo > 0.0
                        } else {
                            i.hi < 0.0
                        }
                    })
                    .count();
                (n, found as f64 / plan.sims.max(1) as f64)
            })
            .collect()
    };
    PowerCurve {
        pilot_runs: pilot.len(),
        sd: stats::std_dev(pilot),
        needed: points
            .iter()
            .find(|(_, p)| *p >= plan.target)
            .map(|(n, _)| *n),
        points,
    }
}

/// The `sweep power` table: one row per grid point.
pub fn markdown(
    name: &str,
    rows: &[(&str, &PowerCurve)],
    plan: &PowerPlan,
    family: usize,
) -> String {
    let pct = |v: f64| format!("{:.0}%", v * 100.0);
    let mut md = format!(
        "# {name}: seeds per variant to detect a difference of {:+} in final return\n\n\
         Test: {:.2}% percentile bootstrap interval of the difference of means{}, {} resamples; \
         {} simulated comparisons per seed count, each arm drawn from the grid point's own \
         runs (re-centred) with the variant's shifted by the difference. Target power {}.\n\n\
         | grid point | pilot runs | sd | {} | seeds for {} |\n|---|---|---|{}---|\n",
        plan.delta,
        plan.confidence * 100.0,
        if family > 1 {
            format!(" (Bonferroni level for a family of {family} tests)")
        } else {
            String::new()
        },
        plan.resamples,
        plan.sims,
        pct(plan.target),
        SEED_COUNTS.map(|n| format!("n={n}")).join(" | "),
        pct(plan.target),
        "---|".repeat(SEED_COUNTS.len()),
    );
    for (label, c) in rows {
        let powers: Vec<String> = c.points.iter().map(|&(_, p)| pct(p)).collect();
        md.push_str(&format!(
            "| {label} | {} | {:.2} | {} | {} |\n",
            c.pilot_runs,
            c.sd,
            powers.join(" | "),
            c.needed.map_or("> 150".to_owned(), |n| n.to_string()),
        ));
    }
    md
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(delta: f64) -> PowerPlan {
        PowerPlan {
            delta,
            target: 0.8,
            confidence: 0.95,
            resamples: 400,
            sims: 200,
        }
    }

    #[test]
    fn a_noiseless_difference_is_always_found_and_no_difference_never() {
        let pilot = [5.0; 10];
        let c = power_curve(&pilot, &plan(1.0), 0);
        assert!(c.points.iter().all(|&(_, p)| p == 1.0), "{c:?}");
        assert_eq!(c.needed, Some(SEED_COUNTS[0]));
        let c = power_curve(&pilot, &plan(0.0), 0);
        assert!(c.points.iter().all(|&(_, p)| p == 0.0), "{c:?}");
        assert_eq!(c.needed, None);
    }

    #[test]
    fn seeds_needed_match_the_normal_approximation() {
        // Pilot spread sd ≈ 1 (41 evenly spaced values on ±√3). For a shift of one sd the
        // two-sample z-approximation needs n = 2 (1.96 + 0.84)² ≈ 15.7 runs per arm; the
        // percentile bootstrap is slightly liberal at small n, so 10–20 are acceptable.
        let pilot = stats::linspace(-3f64.sqrt(), 3f64.sqrt(), 41);
        let c = power_curve(&pilot, &plan(1.0), 7);
        assert!(matches!(c.needed, Some(10..=20)), "{c:?}");
        // Power grows with seeds (allowing simulation noise) and a bigger shift needs fewer.
        let first = c.points.first().unwrap().1;
        let last = c.points.last().unwrap().1;
        assert!(first < 0.5 && last > 0.99, "{c:?}");
        let big = power_curve(&pilot, &plan(2.0), 7);
        assert!(big.needed.unwrap() < c.needed.unwrap(), "{big:?} vs {c:?}");
        // A negative difference is planned the same way.
        let neg = power_curve(&pilot, &plan(-1.0), 7);
        assert!(matches!(neg.needed, Some(10..=20)), "{neg:?}");
    }
}
