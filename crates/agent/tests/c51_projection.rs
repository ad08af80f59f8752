//! C51's projection (`dqn_agent::distributional::Support::project`, Dopamine's clipped form)
//! against Algorithm 1 of Bellemare et al. 2017 computed in numpy float64 by
//! `tests/data/c51_projection_ref.py` (the CSV beside it): 112 cases over four supports
//! (51 atoms on [−10, 10], [−100, 100] and [0, 200]; 5 on [−2, 2]), rewards inside, on and
//! outside the support, terminal and bootstrapped discounts.

use dqn_agent::distributional::Support;

struct Case {
    v_min: f64,
    v_max: f64,
    atoms: usize,
    reward: f32,
    discount: f32,
    p: Vec<f32>,
    expected: Vec<f64>,
    printed_mass: f64,
}

fn cases() -> Vec<Case> {
    let text = include_str!("data/c51_projection_cases.csv");
    let floats = |s: &str| -> Vec<f64> { s.split(' ').map(|x| x.parse().unwrap()).collect() };
    text.lines()
        .skip(1)
        .map(|line| {
            let f: Vec<&str> = line.split(',').collect();
            Case {
                v_min: f[0].parse().unwrap(),
                v_max: f[1].parse().unwrap(),
                atoms: f[2].parse().unwrap(),
                reward: f[3].parse().unwrap(),
                discount: f[4].parse().unwrap(),
                p: floats(f[5]).iter().map(|x| *x as f32).collect(),
                expected: floats(f[6]),
                printed_mass: f[7].parse().unwrap(),
            }
        })
        .collect()
}

#[test]
fn projection_matches_algorithm_1_computed_in_numpy() {
    let cases = cases();
    assert_eq!(cases.len(), 112);
    for (k, c) in cases.iter().enumerate() {
        let support = Support::new(c.v_min, c.v_max, c.atoms);
        let m = support.project(c.reward, c.discount, &c.p);
        for (i, (ours, want)) in m.iter().zip(&c.expected).enumerate() {
            assert!(
                (f64::from(*ours) - want).abs() < 2e-5,
                "case {k} (r {} γ {} on [{}, {}]), atom {i}: {ours} vs {want}",
                c.reward,
                c.discount,
                c.v_min,
                c.v_max
            );
        }
    }
}

/// Why the clipped form: Algorithm 1 as printed drops the mass of every atom that lands
/// exactly on a support point, which most of these cases have (a zero reward with γ = 0, a
/// whole-number shift on Δz = 4, the ends after clipping); ours keeps all of it.
#[test]
fn algorithm_1_as_printed_loses_mass_where_ours_keeps_it() {
    let cases = cases();
    let losing: Vec<&Case> = cases.iter().filter(|c| c.printed_mass < 0.999).collect();
    assert!(losing.len() > 50, "{} cases", losing.len());
    for c in losing {
        let m = Support::new(c.v_min, c.v_max, c.atoms).project(c.reward, c.discount, &c.p);
        let total: f32 = m.iter().sum();
        assert!((total - 1.0).abs() < 1e-5, "{total}");
    }
}
