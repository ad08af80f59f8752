//! The exact level of a check: what is compared of a run, bit for bit, and where two sets of
//! runs first part — in which run, episode and measured quantity.

use crate::store::EpisodeRecord;
use crate::sweep::RunResult;
use std::fmt;

/// A per-episode quantity the exact level compares, in the order `curves.csv` stores them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Quantity {
    /// The episode's total reward.
    Return,
    /// Its number of environment steps.
    Length,
    /// The mean loss of its updates (NaN before learning starts).
    Loss,
    /// The Q estimate at its start: mean over the probe states of `max_a Q(s, a)`.
    MaxQ,
}

impl Quantity {
    /// Every quantity, in column order.
    pub const ALL: [Quantity; 4] = [
        Quantity::Return,
        Quantity::Length,
        Quantity::Loss,
        Quantity::MaxQ,
    ];

    /// Its column in `curves.csv`.
    pub fn column(self) -> &'static str {
        match self {
            Quantity::Return => "return",
            Quantity::Length => "length",
            Quantity::Loss => "loss",
            Quantity::MaxQ => "max_q",
        }
    }

    fn of(self, e: &EpisodeRecord) -> f64 {
        match self {
            Quantity::Return => e.ret,
            Quantity::Length => f64::from(e.length),
            Quantity::Loss => e.loss,
            Quantity::MaxQ => e.mean_max_q,
        }
    }
}

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Quantity::Return => "return",
            Quantity::Length => "length",
            Quantity::Loss => "loss",
            Quantity::MaxQ => "Q estimate",
        })
    }
}

/// What is compared of one run: its per-episode quantities and greedy-evaluation returns.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct RunCurves {
    pub seed: u64,
    pub returns: Vec<f64>,
    /// Lengths, losses and Q estimates per episode ([`Quantity`] order after the return);
    /// `None` for baselines of format 1, which stored returns only.
    pub measured: Option<[Vec<f64>; 3]>,
    pub eval: Vec<f64>,
}

impl RunCurves {
    pub fn of(r: &RunResult) -> RunCurves {
        let column = |q: Quantity| r.run.episodes.iter().map(|e| q.of(e)).collect();
        RunCurves {
            seed: r.run.config.seed,
            returns: column(Quantity::Return),
            measured: Some([
                column(Quantity::Length),
                column(Quantity::Loss),
                column(Quantity::MaxQ),
            ]),
            eval: r.run.info.eval_returns.clone(),
        }
    }

    /// The quantities this run records, with their per-episode values.
    pub fn series(&self) -> Vec<(Quantity, &[f64])> {
        let mut out = vec![(Quantity::Return, self.returns.as_slice())];
        if let Some(m) = &self.measured {
            out.extend(
                Quantity::ALL[1..]
                    .iter()
                    .copied()
                    .zip(m.iter().map(Vec::as_slice)),
            );
        }
        out
    }

    fn get(&self, q: Quantity) -> Option<&[f64]> {
        self.series()
            .into_iter()
            .find_map(|(k, v)| (k == q).then_some(v))
    }
}

/// One quantity's values at the episode where the runs first part.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Changed {
    pub quantity: Quantity,
    pub baseline: f64,
    pub current: f64,
}

/// Where a quantity that was still equal at the first difference first differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FirstOf {
    pub quantity: Quantity,
    pub seed: u64,
    pub episode: usize,
}

/// Where the current runs of a grid point first depart from the baseline.
#[derive(Debug, Clone, PartialEq)]
pub enum Difference {
    /// Some current seeds were not blessed (e.g. a check on fresh seeds).
    Seeds { not_blessed: Vec<u64> },
    /// The earliest training episode (0-based, over all seeds) where a measured quantity
    /// differs: every quantity that differs there, where each other one first differs
    /// (`later`), and those equal throughout (`identical`).
    Episode {
        seed: u64,
        episode: usize,
        changed: Vec<Changed>,
        later: Vec<FirstOf>,
        identical: Vec<Quantity>,
    },
    /// Equal on the common episodes, but a different number of them.
    Length {
        seed: u64,
        baseline: usize,
        current: usize,
    },
    /// Equal training curves, different greedy-evaluation returns.
    Eval {
        seed: u64,
        index: usize,
        baseline: f64,
        current: f64,
    },
}

impl fmt::Display for Difference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Difference::Seeds { not_blessed } => {
                write!(f, "seeds not in the baseline: {}", seed_ranges(not_blessed))
            }
            Difference::Episode {
                seed,
                episode,
                changed,
                later,
                identical,
            } => {
                let changed: Vec<String> = changed
                    .iter()
                    .map(|c| format!("{} {} → {}", c.quantity, c.baseline, c.current))
                    .collect();
                write!(f, "seed {seed} episode {episode}: {}", changed.join(", "))?;
                for l in later {
                    write!(
                        f,
                        "; {} from seed {} episode {}",
                        l.quantity, l.seed, l.episode
                    )?;
                }
                if !identical.is_empty() {
                    let names: Vec<String> = identical.iter().map(|q| q.to_string()).collect();
                    write!(f, "; identical: {}", names.join(", "))?;
                }
                Ok(())
            }
            Difference::Length {
                seed,
                baseline,
                current,
            } => write!(f, "seed {seed}: {baseline} → {current} episodes"),
            Difference::Eval {
                seed,
                index,
                baseline,
                current,
            } => write!(
                f,
                "seed {seed} evaluation episode {index}: return {baseline} → {current}"
            ),
        }
    }
}

/// Bit-identical, NaN equal to NaN (a loss before learning starts).
fn same(a: f64, b: f64) -> bool {
    a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
}

/// For each quantity both sides record: the first (episode, seed position) where it differs.
fn first_per_quantity(pairs: &[(&RunCurves, &RunCurves)]) -> Vec<(Quantity, usize, usize)> {
    let mut out = Vec::new();
    for q in Quantity::ALL {
        let first = pairs
            .iter()
            .enumerate()
            .filter_map(|(k, (b, c))| {
                let (b, c) = (b.get(q)?, c.get(q)?);
                let i = b.iter().zip(c).position(|(&x, &y)| !same(x, y))?;
                Some((i, k))
            })
            .min();
        if let Some((episode, k)) = first {
            out.push((q, episode, k));
        }
    }
    out
}

/// The first place where `current` departs from the baseline's runs at the same seeds (runs
/// in seed order), if any. Among differing curves, the earliest episode wins (ties: first
/// seed), over every quantity both sides record. Baseline runs at other seeds are not
/// compared here.
pub(super) fn first_difference(
    baseline: &[RunCurves],
    current: &[RunCurves],
) -> Option<Difference> {
    let not_blessed: Vec<u64> = current
        .iter()
        .map(|c| c.seed)
        .filter(|s| !baseline.iter().any(|b| b.seed == *s))
        .collect();
    if !not_blessed.is_empty() {
        return Some(Difference::Seeds { not_blessed });
    }
    let pairs: Vec<(&RunCurves, &RunCurves)> = current
        .iter()
        .filter_map(|c| Some((baseline.iter().find(|b| b.seed == c.seed)?, c)))
        .collect();
    let firsts = first_per_quantity(&pairs);
    if let Some(&(_, episode, k)) = firsts.iter().min_by_key(|(_, e, k)| (*e, *k)) {
        let (b, c) = pairs[k];
        let at = |r: &RunCurves, q| r.get(q).expect("recorded")[episode];
        let (here, later): (Vec<_>, Vec<_>) = firsts
            .iter()
            .partition(|(_, e, kk)| (*e, *kk) == (episode, k));
        let compared: Vec<Quantity> = b.series().iter().map(|(q, _)| *q).collect();
        return Some(Difference::Episode {
            seed: b.seed,
            episode,
            changed: here
                .iter()
                .map(|&&(quantity, _, _)| Changed {
                    quantity,
                    baseline: at(b, quantity),
                    current: at(c, quantity),
                })
                .collect(),
            later: later
                .iter()
                .map(|&&(quantity, episode, k)| FirstOf {
                    quantity,
                    seed: pairs[k].0.seed,
                    episode,
                })
                .collect(),
            identical: compared
                .into_iter()
                .filter(|q| c.get(*q).is_some() && !firsts.iter().any(|(f, _, _)| f == q))
                .collect(),
        });
    }
    for (b, c) in pairs {
        if b.returns.len() != c.returns.len() {
            return Some(Difference::Length {
                seed: b.seed,
                baseline: b.returns.len(),
                current: c.returns.len(),
            });
        }
        let n = b.eval.len().max(c.eval.len());
        let at = |v: &[f64], i: usize| v.get(i).copied().unwrap_or(f64::NAN);
        if let Some(i) = (0..n).find(|&i| !same(at(&b.eval, i), at(&c.eval, i))) {
            return Some(Difference::Eval {
                seed: b.seed,
                index: i,
                baseline: at(&b.eval, i),
                current: at(&c.eval, i),
            });
        }
    }
    None
}

/// Seeds as ascending runs: `[0, 1, 2, 5]` → `0–2, 5`.
pub(super) fn seed_ranges(seeds: &[u64]) -> String {
    let mut sorted = seeds.to_vec();
    sorted.sort_unstable();
    let mut parts: Vec<String> = Vec::new();
    let mut i = 0;
    while i < sorted.len() {
        let mut j = i;
        while j + 1 < sorted.len() && sorted[j + 1] == sorted[j] + 1 {
            j += 1;
        }
        parts.push(if j > i {
            format!("{}–{}", sorted[i], sorted[j])
        } else {
            sorted[i].to_string()
        });
        i = j + 1;
    }
    parts.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn run(seed: u64, returns: &[f64]) -> RunCurves {
        RunCurves {
            seed,
            returns: returns.to_vec(),
            measured: None,
            eval: vec![200.0],
        }
    }

    /// A run recording every quantity: lengths = returns, losses and Q estimates given.
    fn measured(seed: u64, returns: &[f64], loss: &[f64], q: &[f64]) -> RunCurves {
        RunCurves {
            measured: Some([returns.to_vec(), loss.to_vec(), q.to_vec()]),
            ..run(seed, returns)
        }
    }

    #[test]
    fn first_difference_is_the_earliest_episode_over_seeds() {
        let base = vec![
            run(0, &[10.0, 11.0, 12.0, 13.0]),
            run(1, &[9.0, 9.0, 9.0, 9.0]),
        ];
        assert_eq!(first_difference(&base, &base), None);
        let cur = vec![
            run(0, &[10.0, 11.0, 12.0, 14.0]),
            run(1, &[9.0, 8.0, 9.0, 9.0]),
        ];
        assert_eq!(
            first_difference(&base, &cur),
            Some(Difference::Episode {
                seed: 1,
                episode: 1,
                changed: vec![Changed {
                    quantity: Quantity::Return,
                    baseline: 9.0,
                    current: 8.0
                }],
                later: vec![],
                identical: vec![],
            })
        );
        let mut eval = base.clone();
        eval[1].eval = vec![150.0];
        assert!(matches!(
            first_difference(&base, &eval),
            Some(Difference::Eval {
                seed: 1,
                index: 0,
                ..
            })
        ));
        // A subset of the blessed seeds is compared at those seeds; unblessed seeds differ.
        assert_eq!(first_difference(&base, &base[..1]), None);
        assert_eq!(first_difference(&base, &base[1..]), None);
        assert_eq!(
            first_difference(&base[..1], &base),
            Some(Difference::Seeds {
                not_blessed: vec![1]
            })
        );
        let short = vec![run(0, &[10.0, 11.0]), base[1].clone()];
        assert!(matches!(
            first_difference(&base, &short),
            Some(Difference::Length {
                seed: 0,
                baseline: 4,
                current: 2
            })
        ));
    }

    #[test]
    fn a_loss_that_parts_before_the_returns_is_named_first() {
        let nan = f64::NAN;
        let base = vec![
            measured(0, &[10.0, 11.0, 12.0], &[nan, 0.5, 0.25], &[0.1, 0.2, 0.3]),
            measured(1, &[9.0, 9.0, 9.0], &[nan, 0.5, 0.5], &[0.1, 0.2, 0.3]),
        ];
        // NaN losses (no update yet) compare equal to themselves.
        assert_eq!(first_difference(&base, &base), None);
        let mut cur = base.clone();
        cur[1].measured.as_mut().unwrap()[1][1] = 0.5000001; // seed 1's loss at episode 1
        cur[0].returns[2] = 13.0; // then seed 0's return at episode 2
        cur[0].measured.as_mut().unwrap()[0][2] = 13.0; // (and its length)
        let d = first_difference(&base, &cur).unwrap();
        assert_eq!(
            d,
            Difference::Episode {
                seed: 1,
                episode: 1,
                changed: vec![Changed {
                    quantity: Quantity::Loss,
                    baseline: 0.5,
                    current: 0.5000001
                }],
                later: vec![
                    FirstOf {
                        quantity: Quantity::Return,
                        seed: 0,
                        episode: 2
                    },
                    FirstOf {
                        quantity: Quantity::Length,
                        seed: 0,
                        episode: 2
                    },
                ],
                identical: vec![Quantity::MaxQ],
            }
        );
        assert_eq!(
            d.to_string(),
            "seed 1 episode 1: loss 0.5 → 0.5000001; return from seed 0 episode 2; \
             length from seed 0 episode 2; identical: Q estimate"
        );
    }

    #[test]
    fn a_returns_only_baseline_compares_returns_only() {
        let base = vec![run(0, &[10.0, 11.0])];
        let cur = vec![measured(0, &[10.0, 11.0], &[0.1, 0.2], &[1.0, 2.0])];
        assert_eq!(first_difference(&base, &cur), None);
    }

    #[test]
    fn seeds_print_as_ranges() {
        assert_eq!(seed_ranges(&[5, 0, 1, 2, 7, 8]), "0–2, 5, 7–8");
        assert_eq!(seed_ranges(&[3]), "3");
        assert_eq!(seed_ranges(&[]), "");
    }
}
