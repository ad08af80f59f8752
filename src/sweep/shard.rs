//! Splitting a sweep over the tasks of a cluster job. Shard K of N (0-based) runs a fixed,
//! cost-balanced share of the grid: every task computes the same split from the experiment
//! file alone ([`super::cost`]), so tasks need no coordination and no run is trained twice
//! or left out. The shard comes from `--shard K/N`, from a SLURM job array's variables, or
//! from a Kubernetes Indexed Job's completion index with `--shards N`.

use super::cost;
use crate::config::Experiment;
use std::fmt;

/// Task `index` of `count` (0-based).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "shard {}/{}", self.index, self.count)
    }
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ShardError {
    #[error("{given}: expected K/N with 0 <= K < N, e.g. --shard 0/4 (shards count from 0)")]
    Syntax { given: String },
    #[error("{var}={value}: expected a non-negative integer")]
    Variable { var: &'static str, value: String },
    #[error("SLURM_ARRAY_TASK_ID is set but neither SLURM_ARRAY_TASK_COUNT nor SLURM_ARRAY_TASK_MAX is: cannot tell the array's size")]
    SlurmCount,
    #[error("array task {id} is not in the array {min}..={max} (step {step})")]
    SlurmRange {
        id: usize,
        min: usize,
        max: usize,
        step: usize,
    },
    #[error("JOB_COMPLETION_INDEX is set (a Kubernetes Indexed Job): give the job's completions as --shards N")]
    K8sCount,
    #[error("--shards {0} needs JOB_COMPLETION_INDEX (a Kubernetes Indexed Job); elsewhere use --shard K/N")]
    NoIndex(usize),
    #[error("{what} gives task {index} of {count}: the index must be below the count")]
    OutOfRange {
        what: &'static str,
        index: usize,
        count: usize,
    },
}

impl std::str::FromStr for Shard {
    type Err = ShardError;
    fn from_str(s: &str) -> Result<Shard, ShardError> {
        let err = || ShardError::Syntax {
            given: s.to_owned(),
        };
        let (k, n) = s.split_once('/').ok_or_else(err)?;
        let index: usize = k.trim().parse().map_err(|_| err())?;
        let count: usize = n.trim().parse().map_err(|_| err())?;
        if count == 0 || index >= count {
            return Err(err());
        }
        Ok(Shard { index, count })
    }
}

/// Where a shard came from, for messages.
pub type ShardSource = &'static str;

/// The shard of this process: `explicit` (`--shard`) first, then a SLURM array task, then a
/// Kubernetes Indexed Job (`JOB_COMPLETION_INDEX`, with `shards` from `--shards`). `var` reads
/// the environment. `None`: the whole sweep.
pub fn resolve(
    explicit: Option<Shard>,
    shards: Option<usize>,
    var: impl Fn(&str) -> Option<String>,
) -> Result<Option<(Shard, ShardSource)>, ShardError> {
    if let Some(s) = explicit {
        return Ok(Some((s, "--shard")));
    }
    let num = |name: &'static str| -> Result<Option<usize>, ShardError> {
        match var(name) {
            None => Ok(None),
            Some(v) => v
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| ShardError::Variable {
                    var: name,
                    value: v,
                }),
        }
    };
    if let Some(id) = num("SLURM_ARRAY_TASK_ID")? {
        let min = num("SLURM_ARRAY_TASK_MIN")?.unwrap_or(0);
        let step = num("SLURM_ARRAY_TASK_STEP")?.unwrap_or(1).max(1);
        let max = num("SLURM_ARRAY_TASK_MAX")?;
        let count = match (num("SLURM_ARRAY_TASK_COUNT")?, max) {
            (Some(c), _) => c,
            (None, Some(max)) if max >= min => (max - min) / step + 1,
            _ => return Err(ShardError::SlurmCount),
        };
        if id < min || (id - min) % step != 0 {
            let max = max.unwrap_or(min + (count.max(1) - 1) * step);
            return Err(ShardError::SlurmRange { id, min, max, step });
        }
        let index = (id - min) / step;
        return checked(index, count, "SLURM_ARRAY_TASK_ID").map(|s| Some((s, "SLURM array")));
    }
    if let Some(index) = num("JOB_COMPLETION_INDEX")? {
        let count = shards.ok_or(ShardError::K8sCount)?;
        return checked(index, count, "JOB_COMPLETION_INDEX")
            .map(|s| Some((s, "Kubernetes Indexed Job")));
    }
    match shards {
        Some(n) => Err(ShardError::NoIndex(n)),
        None => Ok(None),
    }
}

fn checked(index: usize, count: usize, what: &'static str) -> Result<Shard, ShardError> {
    if index < count {
        Ok(Shard { index, count })
    } else {
        Err(ShardError::OutOfRange { what, index, count })
    }
}

/// The shard of every run of `exp` (in `Experiment::runs` order), balanced by estimated work:
/// longest run first onto the least-loaded shard (ties: the lower index), from the config
/// alone, so every task computes the same split.
pub fn assign(exp: &Experiment, count: usize) -> Vec<usize> {
    let work: Vec<u64> = exp
        .runs()
        .iter()
        .map(|(_, cfg)| cost::work(cfg).units)
        .collect();
    assign_work(&work, count)
}

/// Longest-processing-time-first assignment of jobs with these costs to `count` shards.
pub fn assign_work(work: &[u64], count: usize) -> Vec<usize> {
    let count = count.max(1);
    let mut order: Vec<usize> = (0..work.len()).collect();
    order.sort_by_key(|&i| (std::cmp::Reverse(work[i]), i));
    let mut load = vec![0u64; count];
    let mut shard = vec![0; work.len()];
    for i in order {
        let lightest = (0..count)
            .min_by_key(|&s| (load[s], s))
            .expect("count >= 1");
        load[lightest] += work[i];
        shard[i] = lightest;
    }
    shard
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        }
    }

    #[test]
    fn shard_syntax_is_k_of_n_from_zero() {
        assert_eq!("2/3".parse::<Shard>(), Ok(Shard { index: 2, count: 3 }));
        for bad in ["3/3", "1", "a/2", "0/0", "-1/2"] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
    }

    #[test]
    fn slurm_arrays_give_the_task_index_from_their_minimum_and_step() {
        let s = |p: &[(&str, &str)]| resolve(None, None, env(p));
        let got = s(&[
            ("SLURM_ARRAY_TASK_ID", "2"),
            ("SLURM_ARRAY_TASK_COUNT", "4"),
        ]);
        assert_eq!(got.unwrap().unwrap().0, Shard { index: 2, count: 4 });
        // --array=1-5: ids 1..=5.
        let got = s(&[
            ("SLURM_ARRAY_TASK_ID", "5"),
            ("SLURM_ARRAY_TASK_MIN", "1"),
            ("SLURM_ARRAY_TASK_MAX", "5"),
        ]);
        assert_eq!(got.unwrap().unwrap().0, Shard { index: 4, count: 5 });
        // --array=0-8:4: ids 0, 4, 8.
        let got = s(&[
            ("SLURM_ARRAY_TASK_ID", "4"),
            ("SLURM_ARRAY_TASK_MIN", "0"),
            ("SLURM_ARRAY_TASK_MAX", "8"),
            ("SLURM_ARRAY_TASK_STEP", "4"),
        ]);
        assert_eq!(got.unwrap().unwrap().0, Shard { index: 1, count: 3 });
        assert_eq!(
            s(&[("SLURM_ARRAY_TASK_ID", "1")]),
            Err(ShardError::SlurmCount)
        );
        assert!(s(&[
            ("SLURM_ARRAY_TASK_ID", "x"),
            ("SLURM_ARRAY_TASK_COUNT", "2")
        ])
        .is_err());
        assert_eq!(s(&[]), Ok(None));
    }

    #[test]
    fn kubernetes_needs_the_count_and_explicit_shards_win() {
        let k8s = env(&[("JOB_COMPLETION_INDEX", "1")]);
        assert_eq!(resolve(None, None, &k8s), Err(ShardError::K8sCount));
        assert_eq!(
            resolve(None, Some(3), &k8s).unwrap().unwrap().0,
            Shard { index: 1, count: 3 }
        );
        assert!(resolve(None, Some(1), &k8s).is_err());
        assert_eq!(
            resolve(None, Some(2), env(&[])),
            Err(ShardError::NoIndex(2))
        );
        let explicit = Shard { index: 0, count: 2 };
        assert_eq!(
            resolve(Some(explicit), None, &k8s).unwrap().unwrap().0,
            explicit
        );
    }

    #[test]
    fn longest_jobs_go_first_to_the_lightest_shard() {
        // Hand-worked: 8 → s0; 7 → s1; 6 → s2; 5 → s2 (6 < 7 < 8); 1 → s1 (7 < 8 < 11).
        let shards = assign_work(&[5, 8, 1, 7, 6], 3);
        assert_eq!(shards, vec![2, 0, 1, 1, 2]);
        // Every job lands on exactly one shard, and one shard gets all with count 1.
        assert_eq!(assign_work(&[3, 1, 2], 1), vec![0, 0, 0]);
        // Equal work splits by count, alternating in index order.
        assert_eq!(assign_work(&[1; 4], 2), vec![0, 1, 0, 1]);
    }
}
