//! Experiment files: the declarative TOML grid and the fully resolved per-run config.
//!
//! A file has `[env]`, `[agent]`, `[train]`, `[report]` and `[check]` tables plus top-level
//! `name`, `description` and `seeds`. Any value in `[env]`, `[agent]` or `[train]` may be a
//! list: lists are swept as a cartesian product (in file order), scalars are fixed. Every key
//! has the chapter's value as default. `--set KEY=VALUE` overrides apply before anything is
//! read. Errors name the file (and the override), the key and what was expected.
//!
//! - [`schema`]: the section types and their defaults; [`keys`]: every key documented, from
//!   which `sweep --help` and the docs' reference are generated;
//! - `grid`: axes, expansion into [`GridPoint`]s, labels, slugs, seeds;
//! - `validate`: every check; `identity`: seed keys stable across releases;
//! - [`overrides`]: `--set KEY=VALUE`.

mod fields;
mod grid;
mod identity;
pub mod keys;
pub mod overrides;
pub mod schema;
#[cfg(test)]
mod tests;
mod validate;

pub use dqn_agent::config::{
    AgentConfig, BootstrapMask, C51Priority, EpsilonFrom, LossKind, MinAtarNet, MlpHidden,
    OptimizerKind, SyncUnit, Variant, WarmupActions, WeightInit,
};
pub use grid::{point_label, slugify};
pub use overrides::{Override, OverrideError};
pub use schema::DEFAULT_CHECKPOINT_MINUTES;
pub use schema::{
    CheckConfig, DeviceKind, EnvConfig, Exact, RandomStreams, ReportConfig, ScoreReference,
    TrainConfig, DEFAULT_EPISODES,
};

use grid::Sections;
use schema::{CheckKeys, TOP_KEYS};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::{Path, PathBuf};

/// Everything that can be wrong with an experiment file (and its `--set` overrides).
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{file}: cannot read the file")]
    Read {
        file: PathBuf,
        source: std::io::Error,
    },
    #[error("{file}: not valid TOML: {message}")]
    Syntax { file: PathBuf, message: String },
    #[error("{origin}: key `{key}`: {message}")]
    Key {
        origin: Origin,
        key: String,
        message: String,
    },
    #[error("{origin}: unknown key `{key}`; expected one of: {expected}")]
    UnknownKey {
        origin: Origin,
        key: String,
        expected: String,
    },
}

/// Where a rejected value came from.
#[derive(Debug, Clone, PartialEq)]
pub enum Origin {
    /// The experiment file, as written.
    File(PathBuf),
    /// A `--set` override of the file.
    Override { set: String, file: PathBuf },
    /// The file as overridden, the value not set by any one override.
    Overridden { file: PathBuf, sets: Vec<String> },
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::File(file) => write!(f, "{}", file.display()),
            Origin::Override { set, file } => write!(f, "{set} (over {})", file.display()),
            Origin::Overridden { file, sets } => {
                write!(f, "{} (with {})", file.display(), sets.join(", "))
            }
        }
    }
}

/// A problem with one key, before it is told where the key's value came from.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Problem {
    Value { key: String, message: String },
    Unknown { key: String, expected: String },
}

impl Problem {
    pub(crate) fn at(key: impl Into<String>, message: impl Into<String>) -> Problem {
        Problem::Value {
            key: key.into(),
            message: message.into(),
        }
    }

    /// The problem with `(note)` after its message.
    pub(crate) fn with_note(self, note: &str) -> Problem {
        match self {
            Problem::Value { key, message } => Problem::at(key, format!("{message} ({note})")),
            unknown => unknown,
        }
    }

    /// The error, naming the override that set the key if one did, else the file.
    fn located(self, file: &Path, overrides: &[Override]) -> ConfigError {
        let key = match &self {
            Problem::Value { key, .. } | Problem::Unknown { key, .. } => key,
        };
        let origin = match overrides.iter().rev().find(|o| o.concerns(key)) {
            Some(o) => Origin::Override {
                set: o.to_string(),
                file: file.to_owned(),
            },
            None if overrides.is_empty() => Origin::File(file.to_owned()),
            None => Origin::Overridden {
                file: file.to_owned(),
                sets: overrides.iter().map(Override::to_string).collect(),
            },
        };
        match self {
            Problem::Value { key, message } => ConfigError::Key {
                origin,
                key,
                message,
            },
            Problem::Unknown { key, expected } => ConfigError::UnknownKey {
                origin,
                key,
                expected,
            },
        }
    }
}

/// Everything one training run depends on. Its canonical JSON, seed included, seeds the run's RNG.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RunConfig {
    pub env: EnvConfig,
    pub agent: AgentConfig,
    pub train: TrainConfig,
    pub seed: u64,
}

/// One point of the grid: a config without its seed, plus a label of the swept values.
#[derive(Debug, Clone, PartialEq)]
pub struct GridPoint {
    /// e.g. `variant=double, lr=0.001`; `default` when nothing is swept.
    pub label: String,
    /// File-system-safe form of the label, unique within the experiment.
    pub slug: String,
    /// The swept keys and their values at this point, in file order.
    pub values: Vec<(String, String)>,
    pub env: EnvConfig,
    pub agent: AgentConfig,
    pub train: TrainConfig,
}

impl GridPoint {
    pub fn run(&self, seed: u64) -> RunConfig {
        RunConfig {
            env: self.env.clone(),
            agent: self.agent.clone(),
            train: self.train.clone(),
            seed,
        }
    }
}

/// A parsed experiment file.
#[derive(Debug, Clone)]
pub struct Experiment {
    /// Its results folder's name: `name`, else the file's stem; with `--set` overrides and no
    /// `--set name=…`, `<that>+<the overrides>` (see [`overrides`]).
    pub name: String,
    pub description: String,
    pub source: PathBuf,
    /// The `--set` overrides applied to `source`, in order.
    pub overrides: Vec<Override>,
    pub seeds: Vec<u64>,
    /// The swept keys (`section.key`), in file order.
    pub swept: Vec<String>,
    pub points: Vec<GridPoint>,
    pub report: ReportConfig,
    pub check: CheckConfig,
}

impl Experiment {
    /// The experiment as `sweep bless` trains it: every grid point at `[check] baseline_seeds`.
    pub fn for_bless(&self) -> Experiment {
        Experiment {
            seeds: self.check.baseline_seeds.clone(),
            ..self.clone()
        }
    }

    /// Every run of the grid: points × seeds, in a fixed order.
    pub fn runs(&self) -> Vec<(usize, RunConfig)> {
        self.points
            .iter()
            .enumerate()
            .flat_map(|(i, p)| self.seeds.iter().map(move |&s| (i, p.run(s))))
            .collect()
    }

    /// Read and validate an experiment file.
    pub fn load(path: &Path) -> Result<Experiment, ConfigError> {
        Experiment::load_with(path, &[])
    }

    /// Read an experiment file, apply `overrides` (`--set`), validate.
    pub fn load_with(path: &Path, overrides: &[Override]) -> Result<Experiment, ConfigError> {
        Experiment::parse_with(&read(path)?, path, overrides)
    }

    /// Parse experiment text; `path` names the file in errors and gives the default name.
    pub fn parse(text: &str, path: &Path) -> Result<Experiment, ConfigError> {
        Experiment::parse_with(text, path, &[])
    }

    /// Parse experiment text with `overrides` applied first.
    pub fn parse_with(
        text: &str,
        path: &Path,
        overrides: &[Override],
    ) -> Result<Experiment, ConfigError> {
        let located = |p: Problem| p.located(path, overrides);
        let mut table = parse_toml(text, path)?;
        overrides::apply(&mut table, overrides).map_err(located)?;
        Experiment::read(&table, path, overrides).map_err(located)
    }

    /// The experiment as one TOML file: its source with the overrides applied and its name
    /// written out (what a cluster's tasks read to run exactly this experiment).
    pub fn resolved_toml(&self) -> Result<String, ConfigError> {
        let mut table = parse_toml(&read(&self.source)?, &self.source)?;
        overrides::apply(&mut table, &self.overrides)
            .map_err(|p| p.located(&self.source, &self.overrides))?;
        table.insert("name".into(), toml::Value::String(self.name.clone()));
        Ok(toml::to_string(&table).expect("a TOML table serialises"))
    }

    /// Every key of the (overridden) file's table, checked and expanded into the grid.
    fn read(table: &toml::Table, path: &Path, overrides: &[Override]) -> Result<Self, Problem> {
        if let Some(key) = table.keys().find(|k| !TOP_KEYS.contains(&k.as_str())) {
            return Err(Problem::Unknown {
                key: key.clone(),
                expected: TOP_KEYS.join(", "),
            });
        }
        let name = read_name(table, path, overrides)?;
        let description = match table.get("description") {
            None => String::new(),
            Some(toml::Value::String(s)) => s.clone(),
            Some(other) => {
                let message = format!("expected a string, found {other}");
                return Err(Problem::at("description", message));
            }
        };
        let seeds = grid::parse_seeds(table.get("seeds")).map_err(|m| Problem::at("seeds", m))?;
        let sections = Sections::read(table)?;
        let report = read_report(table.get("report"))?;
        let check = read_check(table.get("check"), &seeds)?;
        sections.check_size(seeds.len().max(check.baseline_seeds.len()))?;
        let points = sections.points()?;
        validate::validate_normalize(&report, &points)?;
        Ok(Experiment {
            name,
            description,
            source: path.to_owned(),
            overrides: overrides.to_vec(),
            seeds,
            swept: sections.swept(),
            points,
            report,
            check,
        })
    }
}

fn read(path: &Path) -> Result<String, ConfigError> {
    std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        file: path.to_owned(),
        source,
    })
}

fn parse_toml(text: &str, path: &Path) -> Result<toml::Table, ConfigError> {
    text.parse()
        .map_err(|e: toml::de::Error| ConfigError::Syntax {
            file: path.to_owned(),
            message: e.to_string(),
        })
}

/// `name`, else the file's stem; overridden without `--set name=…`, named after the overrides.
fn read_name(table: &toml::Table, path: &Path, overrides: &[Override]) -> Result<String, Problem> {
    let name = match table.get("name") {
        None => path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("experiment")
            .to_owned(),
        Some(toml::Value::String(s)) if validate::is_safe_name(s) => s.clone(),
        Some(other) => {
            let expected = "a non-empty string of letters, digits and - _ . + = ,";
            return Err(Problem::at(
                "name",
                format!("expected {expected}, found {other}"),
            ));
        }
    };
    if overrides.is_empty() || overrides.iter().any(Override::sets_name) {
        return Ok(name);
    }
    Ok(overrides::derived_name(&name, overrides))
}

/// A table that is not swept (`[report]`, `[check]`): each key checked on its own, then read
/// whole; absent, its defaults.
fn read_table<T: DeserializeOwned + Default>(
    value: Option<&toml::Value>,
    name: &str,
) -> Result<T, Problem> {
    match value {
        None => Ok(T::default()),
        Some(toml::Value::Table(t)) => {
            validate::check_keys::<T>(t, name, false)?;
            toml::Value::Table(t.clone())
                .try_into()
                .map_err(|e| Problem::at(name, e.to_string()))
        }
        Some(other) => Err(Problem::at(
            name,
            format!("expected a table, found {other}"),
        )),
    }
}

fn read_report(value: Option<&toml::Value>) -> Result<ReportConfig, Problem> {
    let report = read_table(value, "report")?;
    validate::validate_report(&report)?;
    Ok(report)
}

/// `[check]`: `baseline_seeds` (as `seeds`; default: `seeds`), `tolerance`, `exact`.
fn read_check(value: Option<&toml::Value>, seeds: &[u64]) -> Result<CheckConfig, Problem> {
    let keys: CheckKeys = read_table(value, "check")?;
    validate::validate_check(&keys)?;
    let baseline_seeds = match &keys.baseline_seeds {
        None => seeds.to_vec(),
        Some(v) => {
            grid::parse_seeds(Some(v)).map_err(|m| Problem::at("check.baseline_seeds", m))?
        }
    };
    Ok(CheckConfig {
        baseline_seeds,
        tolerance: keys.tolerance,
        exact: keys.exact,
    })
}
