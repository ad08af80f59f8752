//! The grid: list values of `[env]`, `[agent]` and `[train]` become axes, swept as a cartesian
//! product in file order (first axis outermost); each combination is a [`GridPoint`] with a
//! label (`variant=double, lr=0.001`) and a file-system-safe slug. Also the seeds (a count or
//! a list) and the cap on the number of runs.

use super::schema::{EnvConfig, TrainConfig, DEFAULT_EPISODES, SWEPT_SECTIONS};
use super::validate::{check_keys, validate_run, MAX_RUNS, MAX_SEEDS};
use super::{GridPoint, Problem};
use dqn_agent::config::AgentConfig;
use serde::de::DeserializeOwned;

/// One swept key: its section, name and values (already checked one by one).
pub(crate) struct Axis {
    pub section: &'static str,
    pub key: String,
    pub values: Vec<toml::Value>,
}

/// `[env]`, `[agent]` and `[train]` split into fixed values (one table per section, in
/// [`SWEPT_SECTIONS`] order) and axes.
pub(crate) struct Sections {
    fixed: [toml::Table; 3],
    pub axes: Vec<Axis>,
}

impl Sections {
    /// Read the swept sections of a file, each key and list element checked on its own.
    pub fn read(table: &toml::Table) -> Result<Sections, Problem> {
        let mut axes = Vec::new();
        let fixed = [
            split::<EnvConfig>(table, "env", &mut axes)?,
            split::<AgentConfig>(table, "agent", &mut axes)?,
            split::<TrainConfig>(table, "train", &mut axes)?,
        ];
        Ok(Sections { fixed, axes })
    }

    /// `section.key` of every axis, in file order.
    pub fn swept(&self) -> Vec<String> {
        let name = |a: &Axis| format!("{}.{}", a.section, a.key);
        self.axes.iter().map(name).collect()
    }

    /// Refuse grids of more than [`MAX_RUNS`] runs at `seeds` seeds, before allocating them.
    pub fn check_size(&self, seeds: usize) -> Result<(), Problem> {
        let runs = self
            .axes
            .iter()
            .try_fold(1usize, |n, a| n.checked_mul(a.values.len()))
            .and_then(|n| n.checked_mul(seeds))
            .unwrap_or(usize::MAX);
        if runs > MAX_RUNS {
            return Err(Problem::at(
                "agent/env/train",
                format!("the grid has {runs} runs (points × seeds); expected at most {MAX_RUNS}"),
            ));
        }
        Ok(())
    }

    /// Every grid point, validated, in order (first axis outermost); two points with the same
    /// resolved config are refused.
    pub fn points(&self) -> Result<Vec<GridPoint>, Problem> {
        let points = combinations(&self.axes)
            .iter()
            .map(|combo| self.point(combo))
            .collect::<Result<Vec<_>, _>>()?;
        reject_duplicates(&points)?;
        Ok(points)
    }

    /// The point at `combo` (one value index per axis).
    fn point(&self, combo: &[usize]) -> Result<GridPoint, Problem> {
        let mut sections = self.fixed.clone();
        let mut values = Vec::new();
        for (axis, &i) in self.axes.iter().zip(combo) {
            let s = SWEPT_SECTIONS.iter().position(|s| *s == axis.section);
            let s = s.expect("axes come from the swept sections");
            sections[s].insert(axis.key.clone(), axis.values[i].clone());
            values.push((axis.key.clone(), display_value(&axis.values[i])));
        }
        let [env, agent, train] = sections;
        let env: EnvConfig = deserialize(env, "env")?;
        let n_step_given = agent.contains_key("n_step");
        let mut agent: AgentConfig = deserialize(agent, "agent")?;
        agent
            .resolve(n_step_given)
            .map_err(|c| Problem::at(format!("agent.{}", c.key), c.message))?;
        let mut train: TrainConfig = deserialize(train, "train")?;
        if train.episodes.is_none() && train.steps.is_none() {
            train.episodes = Some(DEFAULT_EPISODES);
        }
        let label = point_label(&values);
        validate_run(&env, &agent, &train)
            .map_err(|p| p.with_note(&format!("at grid point {label}")))?;
        Ok(GridPoint {
            slug: slugify(&values),
            label,
            values,
            env,
            agent,
            train,
        })
    }
}

/// Read one `[section]`: check every key and value on its own (so errors can name the key),
/// split lists off as axes, return the table of fixed values.
fn split<T: DeserializeOwned>(
    table: &toml::Table,
    name: &'static str,
    axes: &mut Vec<Axis>,
) -> Result<toml::Table, Problem> {
    let t = match table.get(name) {
        None => return Ok(toml::Table::new()),
        Some(toml::Value::Table(t)) => t,
        Some(other) => {
            let message = format!("expected a table `[{name}]`, found {other}");
            return Err(Problem::at(name, message));
        }
    };
    check_keys::<T>(t, name, true)?;
    let mut fixed = toml::Table::new();
    for (key, value) in t {
        match value {
            toml::Value::Array(list) if list.is_empty() => {
                return Err(Problem::at(
                    format!("{name}.{key}"),
                    "an empty list sweeps nothing; give at least one value",
                ));
            }
            toml::Value::Array(list) => axes.push(Axis {
                section: name,
                key: key.clone(),
                values: list.clone(),
            }),
            other => {
                fixed.insert(key.clone(), other.clone());
            }
        }
    }
    Ok(fixed)
}

fn deserialize<T: DeserializeOwned>(t: toml::Table, name: &str) -> Result<T, Problem> {
    toml::Value::Table(t)
        .try_into()
        .map_err(|e: toml::de::Error| Problem::at(name, e.message().trim()))
}

/// The cartesian product of the axes as value indices, first axis outermost.
fn combinations(axes: &[Axis]) -> Vec<Vec<usize>> {
    let mut combos: Vec<Vec<usize>> = vec![vec![]];
    for axis in axes {
        combos = combos
            .into_iter()
            .flat_map(|c| {
                (0..axis.values.len()).map(move |i| {
                    let mut c = c.clone();
                    c.push(i);
                    c
                })
            })
            .collect();
    }
    combos
}

/// Two points with the same resolved config (a list repeats a value, perhaps spelled
/// differently, e.g. "double+dueling" and "dueling+double") would be one run twice.
fn reject_duplicates(points: &[GridPoint]) -> Result<(), Problem> {
    for (i, a) in points.iter().enumerate() {
        for b in &points[..i] {
            if (&a.env, &a.agent, &a.train) == (&b.env, &b.agent, &b.train) || a.slug == b.slug {
                let key = a.values.first().map_or("agent", |(k, _)| k.as_str());
                return Err(Problem::at(
                    key,
                    format!("grid points `{}` and `{}` are the same configuration (a list repeats a value)", b.label, a.label),
                ));
            }
        }
    }
    Ok(())
}

/// `seeds` (or `[check] baseline_seeds`): a count n (seeds 0..n) or a list; default `[0]`.
pub(crate) fn parse_seeds(v: Option<&toml::Value>) -> Result<Vec<u64>, String> {
    match v {
        None => Ok(vec![0]),
        Some(toml::Value::Integer(n)) if *n >= 1 && *n <= MAX_SEEDS as i64 => {
            Ok((0..*n as u64).collect())
        }
        Some(toml::Value::Array(list)) if !list.is_empty() && list.len() <= MAX_SEEDS => {
            let mut seeds = Vec::with_capacity(list.len());
            for (i, item) in list.iter().enumerate() {
                match item {
                    toml::Value::Integer(s) if *s >= 0 => seeds.push(*s as u64),
                    other => {
                        return Err(format!(
                            "list element {i}: expected a non-negative integer seed, found {other}"
                        ))
                    }
                }
            }
            let mut sorted = seeds.clone();
            sorted.sort_unstable();
            if sorted.windows(2).any(|w| w[0] == w[1]) {
                return Err("the seed list repeats a seed".into());
            }
            Ok(seeds)
        }
        Some(other) => Err(format!(
            "expected a count of seeds (an integer from 1 to {MAX_SEEDS}, meaning seeds 0..n) or a non-empty list of at most {MAX_SEEDS} non-negative integers, found {other}"
        )),
    }
}

/// A value as labels show it: strings bare, floats short (0.0005, 1e30).
pub(crate) fn display_value(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => s.clone(),
        // Debug keeps floats short: 0.0005, 1e30.
        toml::Value::Float(f) => format!("{f:?}"),
        other => other.to_string(),
    }
}

/// `[(variant, double), (lr, 0.001)]` → `variant=double, lr=0.001`; `default` when empty.
pub fn point_label(values: &[(String, String)]) -> String {
    if values.is_empty() {
        return "default".to_owned();
    }
    values
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `variant=double+per, lr=0.001` → `variant-double+per_lr-0.001` (file-system safe).
pub fn slugify(values: &[(String, String)]) -> String {
    if values.is_empty() {
        return "default".into();
    }
    values
        .iter()
        .map(|(k, v)| format!("{k}-{v}"))
        .collect::<Vec<_>>()
        .join("_")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '+' | '.' | '_') {
                c
            } else {
                '~'
            }
        })
        .collect()
}
