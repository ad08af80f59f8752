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
    assert_eq!(linspace(2.0, 4.0, 3), vec![2.0, 3.0, 4.0]);
    assert!(linspace(2.0, 4.0, 0).is_empty());
    // The last value is `hi` itself, not lo + (n−1)·step (2.9000000000000004 here).
    assert_eq!(linspace(-1.3, 2.9, 3)[2], 2.9);
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
    assert_eq!(verdict(iv(0.1, 2.0), false), Verdict::NotSupported);
    // Touching 0 from either side is inconclusive, whichever direction is better.
    for higher_is_better in [true, false] {
        for (lo, hi) in [(-1.0, 0.0), (0.0, 1.0)] {
            assert_eq!(
                verdict(iv(lo, hi), higher_is_better),
                Verdict::Inconclusive,
                "[{lo}, {hi}] higher_is_better {higher_is_better}"
            );
        }
    }
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

// Tests added where mutation testing (bench/mutants.sh stats) found code no test reached.

#[test]
fn std_dev_is_the_sample_deviation() {
    // numpy: np.std([2, 4, 4, 4, 5, 5, 7, 9], ddof=1) = 2.138089935299395
    assert!((std_dev(&[2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]) - 2.138089935299395).abs() < EPS);
    assert!((std_dev(&[1.0, 3.0]) - 2f64.sqrt()).abs() < EPS);
    assert!((std_dev(&[-5.0, -3.0]) - 2f64.sqrt()).abs() < EPS);
    assert!(std_dev(&[1.0]).is_nan() && std_dev(&[]).is_nan());
    // Two passes (deviations from the mean), so a large offset costs no precision:
    // statistics.stdev([1e8 + 0.1, 1e8 + 0.2, 1e8 + 0.4, 1e8 + 0.7]) = 0.26457513411025085.
    let offset = [1e8 + 0.1, 1e8 + 0.2, 1e8 + 0.4, 1e8 + 0.7];
    assert!((std_dev(&offset) - 0.26457513411025085).abs() < 1e-9);
}

#[test]
fn an_interval_contains_its_bounds_and_nothing_outside() {
    let i = Interval {
        point: 1.0,
        lo: 0.0,
        hi: 2.0,
    };
    assert!(i.contains(0.0) && i.contains(1.0) && i.contains(2.0));
    assert!(!i.contains(-0.1) && !i.contains(2.1));
}

#[test]
fn the_percentile_interval_takes_the_two_tail_quantiles() {
    // 101 replicates 0..=100 at 90%: Q(0.05) = 5, Q(0.95) = 95 (numpy linear).
    let reps: Vec<f64> = (0..=100).rev().map(f64::from).collect();
    let i = crate::bootstrap::percentile_interval(50.0, reps.clone(), 0.9);
    assert_eq!(i.point, 50.0);
    assert!(
        (i.lo - 5.0).abs() < 1e-9 && (i.hi - 95.0).abs() < 1e-9,
        "{i:?}"
    );
    for bad in [0.0, 1.0, -0.5] {
        let i = crate::bootstrap::percentile_interval(50.0, reps.clone(), bad);
        assert!(i.lo.is_nan() && i.hi.is_nan(), "confidence {bad}");
    }
}

#[test]
fn a_difference_with_an_empty_side_is_nan_not_a_panic() {
    for (a, b) in [(&[][..], &[1.0][..]), (&[1.0][..], &[][..])] {
        let i = bootstrap_diff_ci(a, b, &mean, 100, 0.95, 0);
        assert!(i.point.is_nan() && i.lo.is_nan() && i.hi.is_nan());
    }
}

#[test]
fn the_paired_difference_is_a_minus_b() {
    let (a, b) = ([3.0, 5.0, 7.0], [1.0, 1.0, 2.0]);
    let t = paired_bootstrap_diff_test(&a, &b, &mean, 200, 0.95, 0);
    assert!(
        (t.interval.point - (5.0 - 4.0 / 3.0)).abs() < EPS,
        "{:?}",
        t.interval
    );
    assert!(t.interval.lo > 0.0, "every pair improves: {:?}", t.interval);
}

#[test]
fn normal_quantile_is_nan_outside_the_open_unit_interval() {
    for p in [0.0, 1.0, -0.5, 1.5, f64::NAN] {
        assert!(normal_quantile(p).is_nan(), "{p}");
    }
}

#[test]
fn a_profile_with_an_empty_stratum_is_nan() {
    let profile = performance_profile_ci(&[&[1.0, 2.0], &[]], &[0.5, 1.5], 50, 0.95, 0);
    assert_eq!(profile.len(), 2);
    assert!(profile.iter().all(|i| i.lo.is_nan() && i.hi.is_nan()));
}

#[test]
fn a_collapse_is_looked_for_only_after_the_reaching_episode() {
    // floor above reach: episode 0 reaches 1.0 but is itself below the floor, which does not
    // count; episode 1 (6.0) is not below it.
    assert_eq!(
        collapsed_after_reaching(&[1.0, 6.0], 1, 1.0, 5.0),
        Some(false)
    );
    assert_eq!(
        collapsed_after_reaching(&[1.0, 6.0, 2.0], 1, 1.0, 5.0),
        Some(true)
    );
}
