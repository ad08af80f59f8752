//! Experiment files: the declarative TOML grid and the fully resolved per-run config.
//!
//! A file has `[env]`, `[agent]`, `[train]`, `[report]` and `[check]` tables plus top-level
//! `name`, `description` and `seeds`. Any value in `[env]`, `[agent]` or `[train]` may be a list: lists
//! are swept as a cartesian product (in file order), scalars are fixed. Every key has the
//! chapter's value as default. Errors name the file, the key and what was expected.

use crate::env::{CartPoleVersion, EnvId, EnvSpec, Observe};
pub use dqn_agent::config::{
    AgentConfig, BootstrapMask, EpsilonFrom, LossKind, MlpHidden, OptimizerKind, SyncUnit, Variant,
    WarmupActions, WeightInit,
};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Everything that can be wrong with an experiment file.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{file}: cannot read the file")]
    Read {
        file: PathBuf,
        source: std::io::Error,
    },
    #[error("{file}: not valid TOML: {message}")]
    Syntax { file: PathBuf, message: String },
    #[error("{file}: key `{key}`: {message}")]
    Key {
        file: PathBuf,
        key: String,
        message: String,
    },
    #[error("{file}: unknown key `{key}`; expected one of: {expected}")]
    UnknownKey {
        file: PathBuf,
        key: String,
        expected: String,
    },
}

/// `[env]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EnvConfig {
    /// `"CartPole-v0"` (200 steps), `"CartPole-v1"` (500), or a MinAtar game
    /// (`"MinAtar/Breakout"`, …).
    pub id: EnvId,
    /// `"full"` state, or CartPole's `"positions"` only (velocities hidden).
    pub observe: Observe,
    /// Observations are the last `frame_stack` frames (1: no stacking).
    pub frame_stack: usize,
    /// Truncate episodes after this many steps (on top of the registered limit, if any).
    pub max_episode_steps: Option<u32>,
    /// MinAtar: probability that the previous action is repeated (the package's 0.1).
    pub sticky_action_prob: f64,
    /// MinAtar: the games speed up over time (the package's default).
    pub difficulty_ramping: bool,
    /// Atari: a ROM file to load instead of the bundled one (named as ALE expects).
    pub rom_path: Option<std::path::PathBuf>,
    /// Atari: ALE's sticky actions (0.25, Machado et al. 2018; Gymnasium v5).
    pub repeat_action_probability: f64,
    /// Atari: emulator frames per episode before truncation (108,000; 0: none).
    pub max_episode_frames: u64,
    /// Atari: up to this many no-ops after each reset (30).
    pub noop_max: u32,
    /// Atari: emulator frames per step, max over the last two (4).
    pub frame_skip: u32,
    /// Atari: side of the resized square observation (84).
    pub screen_size: usize,
    /// Atari: a lost life ends the episode for learning (the game goes on).
    pub terminal_on_life_loss: bool,
    /// Atari: press FIRE after each reset (games that wait for it).
    pub fire_reset: bool,
}

impl Default for EnvConfig {
    fn default() -> Self {
        let atari = crate::env::atari::AtariOptions::default();
        EnvConfig {
            id: EnvId::CartPole(CartPoleVersion::V0),
            observe: Observe::Full,
            frame_stack: 1,
            max_episode_steps: None,
            sticky_action_prob: 0.1,
            difficulty_ramping: true,
            rom_path: atari.rom_path,
            repeat_action_probability: atari.repeat_action_probability,
            max_episode_frames: atari.max_episode_frames,
            noop_max: atari.noop_max,
            frame_skip: atari.frame_skip,
            screen_size: atari.screen_size,
            terminal_on_life_loss: atari.terminal_on_life_loss,
            fire_reset: atari.fire_reset,
        }
    }
}

impl EnvConfig {
    /// What the environment registry needs to build this env.
    pub fn spec(&self) -> EnvSpec {
        EnvSpec {
            id: self.id,
            observe: self.observe,
            frame_stack: self.frame_stack,
            max_episode_steps: self.max_episode_steps,
            sticky_action_prob: self.sticky_action_prob,
            difficulty_ramping: self.difficulty_ramping,
            unlimited: false,
            atari: self.atari(),
        }
    }

    /// The Atari settings of this config.
    pub fn atari(&self) -> crate::env::atari::AtariOptions {
        crate::env::atari::AtariOptions {
            rom_path: self.rom_path.clone(),
            repeat_action_probability: self.repeat_action_probability,
            max_episode_frames: self.max_episode_frames,
            noop_max: self.noop_max,
            frame_skip: self.frame_skip,
            screen_size: self.screen_size,
            terminal_on_life_loss: self.terminal_on_life_loss,
            fire_reset: self.fire_reset,
        }
    }

    /// The episode step limit in force: the registered one and `max_episode_steps`.
    pub fn time_limit(&self) -> Option<u32> {
        match (self.id.time_limit(), self.max_episode_steps) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

/// `[train]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrainConfig {
    /// Training episodes (default 300 without a step budget; unlimited with one).
    pub episodes: Option<u32>,
    /// Step budget: training ends after this many env steps (whichever of `episodes` and
    /// `steps` comes first; an episode cut by the budget is not recorded).
    pub steps: Option<u64>,
    /// Every this many env steps, evaluate the current policy for `eval_episodes` episodes
    /// with ε = `eval_epsilon` (0: only after training).
    pub eval_interval: u64,
    /// ε of evaluation episodes (the chapter's greedy evaluation: 0).
    pub eval_epsilon: f64,
    /// Greedy (ε = 0) evaluation episodes after training.
    pub eval_episodes: u32,
    /// Every this many episodes, roll the current network out greedily without the time limit
    /// and compare its predicted Q(s, a) with the discounted return actually obtained
    /// (over-estimation, Q accuracy); 0 disables.
    pub q_probe_interval: u32,
    /// Held-out states (from a random policy, before training) on which the mean max-Q is
    /// tracked at every episode start, as in the DQN paper's Figure 2.
    pub probe_states: usize,
    /// How a run's random streams are derived (common random numbers by default).
    pub random_streams: RandomStreams,
    /// Where the networks train: `"cpu"` (default) or `"cuda"` (a binary built with the `cuda`
    /// feature). Part of a run's identity (GPU kernels round differently), not of its seeds:
    /// both devices start from the same weights and draw the same random streams. Left out of
    /// a run's JSON at its default, so CPU runs keep the ids they had before it existed.
    #[serde(skip_serializing_if = "DeviceKind::is_cpu")]
    pub device: DeviceKind,
}

/// The dfdx device a run trains on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeviceKind {
    /// The CPU, one core per run (the fused layers and optimizer loops of `agent`).
    #[default]
    Cpu,
    /// The first NVIDIA GPU, through dfdx's CUDA device (needs the `cuda` feature).
    Cuda,
}

impl DeviceKind {
    pub fn is_cpu(&self) -> bool {
        *self == DeviceKind::Cpu
    }
}

/// Where a run's random streams come from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RandomStreams {
    /// Common random numbers: at one seed, every run of the same environment draws the same
    /// env seeds, resets, exploration and replay-sampling streams, and every run whose network
    /// has the same shape starts from the same weights, whatever the variant or other
    /// hyperparameters. Comparisons then pair runs by seed.
    #[default]
    Paired,
    /// Every stream from the run's whole config and seed (before pairing existed): runs of
    /// different variants share nothing.
    Independent,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            episodes: None,
            steps: None,
            eval_interval: 0,
            eval_epsilon: 0.0,
            eval_episodes: 10,
            q_probe_interval: 10,
            probe_states: 256,
            random_streams: RandomStreams::Paired,
            device: DeviceKind::Cpu,
        }
    }
}

/// `[report]`: how results are aggregated (not part of any run's identity).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReportConfig {
    /// Bootstrap resamples for confidence intervals.
    pub resamples: usize,
    /// Confidence level of the intervals.
    pub confidence: f64,
    /// Average return that counts as solved; default: the env's Gym `reward_threshold`
    /// (195 for CartPole-v0, 475 for CartPole-v1).
    pub solved_threshold: Option<f64>,
    /// A run whose 20-episode average reached the solved threshold and later falls below
    /// this has collapsed.
    pub collapse_floor: f64,
    /// Episodes averaged for "final performance".
    pub final_window: usize,
    /// The variant the others are compared with.
    pub baseline_variant: Variant,
    /// Per environment id, how its scores are put on one scale so that results can be
    /// aggregated across environments (`across_envs.md`): `[report.normalize."MinAtar/Breakout"]`.
    pub normalize: std::collections::BTreeMap<String, ScoreReference>,
}

/// How one environment's returns are normalised: `(score − random) / (reference − random)`,
/// so a uniformly random policy scores 0 and the stated reference scores 1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScoreReference {
    /// The score that counts as 1 (a published or previously measured agent's).
    pub reference: f64,
    /// Where `reference` comes from; printed with every normalised table.
    pub source: String,
    /// A uniformly random policy's score; when absent the report measures it (whole games,
    /// 100 episodes, from a seed fixed by the environment's config).
    #[serde(default)]
    pub random: Option<f64>,
}

impl Default for ReportConfig {
    fn default() -> Self {
        ReportConfig {
            resamples: 2000,
            confidence: 0.95,
            solved_threshold: None,
            collapse_floor: 100.0,
            final_window: 100,
            baseline_variant: Variant::DQN,
            normalize: Default::default(),
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

/// `value` as JSON, without the [`LATER_KEYS`] of `section` that hold their defaults.
fn pruned<T: Serialize + Default>(value: &T, section: &str) -> serde_json::Value {
    let mut v = serde_json::to_value(value).expect("configs serialise");
    let default = serde_json::to_value(T::default()).expect("configs serialise");
    let later = LATER_KEYS
        .iter()
        .find(|(s, _)| *s == section)
        .map_or(&[][..], |(_, keys)| *keys);
    if let serde_json::Value::Object(map) = &mut v {
        for key in later {
            if map.get(*key) == default.get(*key) {
                map.shift_remove(*key);
            }
        }
    }
    v
}

/// `(section, key)` of fields that serialise only when not at their default (so that runs
/// configured before they existed keep their ids).
const OMITTED_AT_DEFAULT: [(&str, &str); 7] = [
    ("train", "device"),
    ("agent", "epsilon_from"),
    ("agent", "warmup_actions"),
    ("agent", "mlp_hidden"),
    ("agent", "adam_beta1"),
    ("agent", "adam_beta2"),
    ("agent", "adam_eps"),
];

/// Keys added after the first release, per section. A run's seed key leaves them out while
/// they are at their default, so runs configured before they existed keep their seeds (and
/// with them their results, bit for bit).
const LATER_KEYS: [(&str, &[&str]); 2] = [
    (
        "env",
        &[
            "observe",
            "frame_stack",
            "max_episode_steps",
            "sticky_action_prob",
            "difficulty_ramping",
            "rom_path",
            "repeat_action_probability",
            "max_episode_frames",
            "noop_max",
            "frame_skip",
            "screen_size",
            "terminal_on_life_loss",
            "fire_reset",
        ],
    ),
    (
        "agent",
        &[
            "epsilon_start",
            "epsilon_decay_steps",
            "learning_starts",
            "clip_rewards",
            "update_period",
            "optimizer",
            "rms_alpha",
            "rms_eps",
            "rms_centered",
            "rms_momentum",
        ],
    ),
];

impl RunConfig {
    /// The canonical JSON of everything that shapes training (env, agent, episodes, step
    /// budget, seed), which seeds the run's RNG. Measurement-only settings (evaluation,
    /// Q probes) are left out, so changing them does not change the training trajectory.
    pub fn seed_key(&self) -> String {
        let mut key = serde_json::Map::new();
        key.insert("env".into(), self.seed_key_env());
        key.insert("agent".into(), pruned(&self.agent, "agent"));
        key.insert("episodes".into(), serde_json::json!(self.train.episodes));
        if let Some(steps) = self.train.steps {
            key.insert("steps".into(), serde_json::json!(steps));
        }
        key.insert("seed".into(), serde_json::json!(self.seed));
        serde_json::Value::Object(key).to_string()
    }

    /// The `[env]` part of [`Self::seed_key`]: keys added after runs were recorded are left
    /// out at their defaults, so earlier runs keep their seeds.
    pub fn seed_key_env(&self) -> serde_json::Value {
        pruned(&self.env, "env")
    }
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
    pub name: String,
    pub description: String,
    pub source: PathBuf,
    pub seeds: Vec<u64>,
    /// The swept keys (`section.key`), in file order.
    pub swept: Vec<String>,
    pub points: Vec<GridPoint>,
    pub report: ReportConfig,
    pub check: CheckConfig,
}

/// `[check]`: how `sweep bless` and `sweep check` treat the experiment.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckConfig {
    /// The seeds `sweep bless` trains (default: `seeds`). A baseline with many more seeds than
    /// a check keeps the baseline's own noise out of the statistical level; a check then
    /// compares its runs with the baseline's runs at the *other* seeds (independent samples).
    pub baseline_seeds: Vec<u64>,
    /// Allowed loss (return units) before the statistical level calls a regression.
    pub tolerance: f64,
    /// When a difference from the baseline's curves at the same seeds fails the check, whatever
    /// the statistics say (the guard for changes meant to preserve behaviour).
    pub exact: Exact,
}

/// `[check] exact`: `false`, `true`, or `"same-kernels"`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Exact {
    /// Differences are reported; only the statistical level decides.
    #[default]
    Off,
    /// Any difference fails (as `sweep check --require-identical`): for networks whose products
    /// are bit-identical on every CPU kernel (the MLPs).
    Always,
    /// Any difference fails when this machine's matrix kernels are the ones the baseline was
    /// blessed on; elsewhere bit-identity is not expected (products blocked by cache size, as the
    /// MinAtar CNN's) and only the statistics decide.
    SameKernels,
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
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            file: path.to_owned(),
            source,
        })?;
        Experiment::parse(&text, path)
    }

    /// Parse experiment text; `path` names the file in errors and gives the default name.
    pub fn parse(text: &str, path: &Path) -> Result<Experiment, ConfigError> {
        let file = path.to_owned();
        let table: toml::Table =
            text.parse()
                .map_err(|e: toml::de::Error| ConfigError::Syntax {
                    file: file.clone(),
                    message: e.to_string(),
                })?;
        let key_err = |key: &str, message: String| ConfigError::Key {
            file: file.clone(),
            key: key.to_owned(),
            message,
        };

        const TOP: &[&str] = &[
            "name",
            "description",
            "seeds",
            "env",
            "agent",
            "train",
            "report",
            "check",
        ];
        for key in table.keys() {
            if !TOP.contains(&key.as_str()) {
                return Err(ConfigError::UnknownKey {
                    file: file.clone(),
                    key: key.clone(),
                    expected: TOP.join(", "),
                });
            }
        }

        let stem = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("experiment")
            .to_owned();
        let name = match table.get("name") {
            None => stem,
            Some(toml::Value::String(s)) if is_safe_name(s) => s.clone(),
            Some(other) => {
                return Err(key_err(
                    "name",
                    format!(
                        "expected a non-empty string of letters, digits, '-', '_' or '.', found {other}"
                    ),
                ))
            }
        };
        let description = match table.get("description") {
            None => String::new(),
            Some(toml::Value::String(s)) => s.clone(),
            Some(other) => {
                return Err(key_err(
                    "description",
                    format!("expected a string, found {other}"),
                ))
            }
        };
        let seeds = parse_seeds(table.get("seeds")).map_err(|m| key_err("seeds", m))?;

        let mut axes: Vec<Axis> = Vec::new();
        let env = section::<EnvConfig>(&table, "env", &mut axes, &file)?;
        let agent = section::<AgentConfig>(&table, "agent", &mut axes, &file)?;
        let train = section::<TrainConfig>(&table, "train", &mut axes, &file)?;
        let report: ReportConfig = match table.get("report") {
            None => ReportConfig::default(),
            Some(toml::Value::Table(t)) => {
                check_keys::<ReportConfig>(t, "report", &file, false)?;
                toml::Value::Table(t.clone())
                    .try_into()
                    .map_err(|e| key_err("report", e.to_string()))?
            }
            Some(other) => {
                return Err(key_err(
                    "report",
                    format!("expected a table, found {other}"),
                ))
            }
        };
        validate_report(&report).map_err(|(k, m)| key_err(&format!("report.{k}"), m))?;
        let check = parse_check(table.get("check"), &seeds).map_err(|(k, m)| key_err(&k, m))?;

        let grid_size = axes
            .iter()
            .try_fold(1usize, |n, a| n.checked_mul(a.values.len()))
            .and_then(|n| n.checked_mul(seeds.len().max(check.baseline_seeds.len())))
            .unwrap_or(usize::MAX);
        if grid_size > MAX_RUNS {
            return Err(key_err(
                "agent/env/train",
                format!(
                    "the grid has {grid_size} runs (points × seeds); expected at most {MAX_RUNS}"
                ),
            ));
        }
        // Cartesian product over the axes, first axis outermost.
        let mut combos: Vec<Vec<usize>> = vec![vec![]];
        for axis in &axes {
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

        let mut points = Vec::with_capacity(combos.len());
        for combo in combos {
            let mut sections = [env.clone(), agent.clone(), train.clone()];
            let mut values = Vec::new();
            for (axis, &i) in axes.iter().zip(&combo) {
                let idx = ["env", "agent", "train"]
                    .iter()
                    .position(|s| *s == axis.section)
                    .expect("axis section is one of env/agent/train");
                sections[idx].insert(axis.key.clone(), axis.values[i].clone());
                values.push((axis.key.clone(), display_value(&axis.values[i])));
            }
            let [env_t, agent_t, train_t] = sections;
            let point_env: EnvConfig = deserialize_section(env_t, "env", &file)?;
            let point_agent: AgentConfig = deserialize_section(agent_t, "agent", &file)?;
            let mut point_train: TrainConfig = deserialize_section(train_t, "train", &file)?;
            if point_train.episodes.is_none() && point_train.steps.is_none() {
                point_train.episodes = Some(DEFAULT_EPISODES);
            }
            let label = point_label(&values);
            validate_run(&point_env, &point_agent, &point_train)
                .map_err(|(k, m)| key_err(&k, format!("{m} (at grid point {label})")))?;
            points.push(GridPoint {
                slug: slugify(&values),
                label,
                values,
                env: point_env,
                agent: point_agent,
                train: point_train,
            });
        }
        // Two points with the same resolved config (a list repeats a value, perhaps spelled
        // differently, e.g. "double+dueling" and "dueling+double") would be one run twice.
        for (i, a) in points.iter().enumerate() {
            for b in &points[..i] {
                if (&a.env, &a.agent, &a.train) == (&b.env, &b.agent, &b.train) || a.slug == b.slug
                {
                    return Err(key_err(
                        &a.values.first().map_or("agent".to_owned(), |(k, _)| k.clone()),
                        format!("grid points `{}` and `{}` are the same configuration (a list repeats a value)", b.label, a.label),
                    ));
                }
            }
        }

        validate_normalize(&report, &points).map_err(|(k, m)| key_err(&k, m))?;

        Ok(Experiment {
            name,
            description,
            source: path.to_owned(),
            seeds,
            swept: axes
                .iter()
                .map(|a| format!("{}.{}", a.section, a.key))
                .collect(),
            points,
            report,
            check,
        })
    }
}

/// One swept key: its section, name and values (already checked one by one).
struct Axis {
    section: &'static str,
    key: String,
    values: Vec<toml::Value>,
}

/// Read one `[section]`: check every key and value on its own (so errors can name the key),
/// split lists off as axes, return the table of fixed values.
fn section<T: DeserializeOwned + Serialize + Default>(
    table: &toml::Table,
    name: &'static str,
    axes: &mut Vec<Axis>,
    file: &Path,
) -> Result<toml::Table, ConfigError> {
    let t = match table.get(name) {
        None => return Ok(toml::Table::new()),
        Some(toml::Value::Table(t)) => t,
        Some(other) => {
            return Err(ConfigError::Key {
                file: file.to_owned(),
                key: name.to_owned(),
                message: format!("expected a table `[{name}]`, found {other}"),
            })
        }
    };
    check_keys::<T>(t, name, file, true)?;
    let mut fixed = toml::Table::new();
    for (key, value) in t {
        match value {
            toml::Value::Array(list) => {
                if list.is_empty() {
                    return Err(ConfigError::Key {
                        file: file.to_owned(),
                        key: format!("{name}.{key}"),
                        message: "an empty list sweeps nothing; give at least one value".into(),
                    });
                }
                axes.push(Axis {
                    section: name,
                    key: key.clone(),
                    values: list.clone(),
                });
            }
            other => {
                fixed.insert(key.clone(), other.clone());
            }
        }
    }
    Ok(fixed)
}

/// Unknown keys, then each value alone (each list element alone when `lists` is true).
fn check_keys<T: DeserializeOwned + Serialize + Default>(
    t: &toml::Table,
    name: &str,
    file: &Path,
    lists: bool,
) -> Result<(), ConfigError> {
    // JSON keeps `None` fields (as null), so optional keys are listed too; keys left out of
    // the JSON at their default are added by name.
    let mut known: Vec<String> = match serde_json::to_value(T::default()) {
        Ok(serde_json::Value::Object(d)) => d.keys().cloned().collect(),
        _ => Vec::new(),
    };
    let omitted = OMITTED_AT_DEFAULT.iter().filter(|(s, _)| *s == name);
    known.extend(omitted.map(|(_, k)| (*k).to_owned()));
    for (key, value) in t {
        if !known.contains(key) {
            return Err(ConfigError::UnknownKey {
                file: file.to_owned(),
                key: format!("{name}.{key}"),
                expected: known.join(", "),
            });
        }
        let items: Vec<(Option<usize>, &toml::Value)> = match value {
            toml::Value::Array(list) if lists => {
                list.iter().enumerate().map(|(i, v)| (Some(i), v)).collect()
            }
            v => vec![(None, v)],
        };
        for (i, v) in items {
            let mut single = toml::Table::new();
            single.insert(key.clone(), v.clone());
            if let Err(e) = toml::Value::Table(single).try_into::<T>() {
                let at = i
                    .map(|i| format!(" (list element {i})"))
                    .unwrap_or_default();
                return Err(ConfigError::Key {
                    file: file.to_owned(),
                    key: format!("{name}.{key}"),
                    message: format!("{}{at}", e.message().trim()),
                });
            }
        }
    }
    Ok(())
}

fn deserialize_section<T: DeserializeOwned>(
    t: toml::Table,
    name: &str,
    file: &Path,
) -> Result<T, ConfigError> {
    toml::Value::Table(t)
        .try_into()
        .map_err(|e: toml::de::Error| ConfigError::Key {
            file: file.to_owned(),
            key: name.to_owned(),
            message: e.message().trim().to_owned(),
        })
}

/// `[check]`: `baseline_seeds` (as `seeds`; default: `seeds`), `tolerance` (default 0) and
/// `exact` (default false).
fn parse_check(v: Option<&toml::Value>, seeds: &[u64]) -> Result<CheckConfig, (String, String)> {
    let mut check = CheckConfig {
        baseline_seeds: seeds.to_vec(),
        tolerance: 0.0,
        exact: Exact::Off,
    };
    let table = match v {
        None => return Ok(check),
        Some(toml::Value::Table(t)) => t,
        Some(other) => return Err(("check".into(), format!("expected a table, found {other}"))),
    };
    for (key, value) in table {
        let full = format!("check.{key}");
        match key.as_str() {
            "baseline_seeds" => {
                check.baseline_seeds = parse_seeds(Some(value)).map_err(|m| (full, m))?
            }
            "tolerance" => {
                check.tolerance = match value {
                    toml::Value::Float(x) if x.is_finite() && *x >= 0.0 => *x,
                    toml::Value::Integer(n) if *n >= 0 => *n as f64,
                    other => {
                        return Err((
                            full,
                            format!(
                                "expected a non-negative number of return units, found {other}"
                            ),
                        ))
                    }
                }
            }
            "exact" => {
                check.exact = match value {
                    toml::Value::Boolean(false) => Exact::Off,
                    toml::Value::Boolean(true) => Exact::Always,
                    toml::Value::String(s) if s == "same-kernels" => Exact::SameKernels,
                    other => {
                        let expected = "expected true, false or \"same-kernels\"";
                        return Err((full, format!("{expected}, found {other}")));
                    }
                }
            }
            _ => {
                return Err((
                    full,
                    "unknown key; expected baseline_seeds, tolerance or exact".into(),
                ))
            }
        }
    }
    Ok(check)
}

fn parse_seeds(v: Option<&toml::Value>) -> Result<Vec<u64>, String> {
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

const MAX_BUFFER: usize = 1_000_000;
const MAX_SEEDS: usize = 10_000;
/// Grid points × seeds.
const MAX_RUNS: usize = 100_000;
const MAX_BATCH: usize = 4096;
const MAX_EPISODES: u32 = 1_000_000;
/// The chapter's 300 episodes, when neither `episodes` nor `steps` is given.
pub const DEFAULT_EPISODES: u32 = 300;
const MAX_STEPS: u64 = 10_000_000_000;
const MAX_FRAME_STACK: usize = 16;
const MAX_PROBE_STATES: usize = 100_000;

fn validate_run(env: &EnvConfig, a: &AgentConfig, t: &TrainConfig) -> Result<(), (String, String)> {
    validate_env(env)?;
    validate_schedule(a)?;
    crate::compiled::check_supported(env, a).map_err(|m| ("env.id".to_owned(), m))?;
    if t.device == DeviceKind::Cuda && !cfg!(feature = "cuda") {
        return Err((
            "train.device".to_owned(),
            "\"cuda\" needs a binary built with `cargo build --release --features cuda` (and the CUDA toolkit); this one has only the CPU".to_owned(),
        ));
    }
    if t.device == DeviceKind::Cuda
        && !matches!(a.optimizer, OptimizerKind::Adam | OptimizerKind::Rmsprop)
    {
        return Err((
            "agent.optimizer".to_owned(),
            "on `device = \"cuda\"` only dfdx's own optimizers run: \"adam\" or \"rmsprop\""
                .to_owned(),
        ));
    }
    let err = |k: &str, m: &str| Err((format!("agent.{k}"), m.to_owned()));
    if !(a.gamma >= 0.0 && a.gamma <= 1.0) {
        return err("gamma", "expected a discount in [0, 1]");
    }
    if !(a.lr > 0.0 && a.lr.is_finite()) {
        return err("lr", "expected a positive learning rate");
    }
    if !(0.0..=1.0).contains(&a.epsilon) {
        return err("epsilon", "expected a probability in [0, 1]");
    }
    if a.batch_size == 0 {
        return err("batch_size", "expected at least 1");
    }
    if a.buffer_size < a.batch_size {
        return err(
            "buffer_size",
            "expected at least batch_size transitions of capacity",
        );
    }
    // Caps keep a typo from allocating gigabytes per run (an allocation failure aborts the
    // whole sweep, it cannot be recorded as one failed run).
    if a.buffer_size > MAX_BUFFER {
        return err(
            "buffer_size",
            &format!("expected at most {MAX_BUFFER} transitions"),
        );
    }
    if a.batch_size > MAX_BATCH {
        return err("batch_size", &format!("expected at most {MAX_BATCH}"));
    }
    if a.sync_interval == 0 {
        return err("sync_interval", "expected at least 1");
    }
    if !(a.huber_delta > 0.0 && a.huber_delta.is_finite()) {
        return err("huber_delta", "expected a positive number");
    }
    if !(a.per_alpha >= 0.0 && a.per_alpha.is_finite()) {
        return err("per_alpha", "expected a non-negative exponent");
    }
    for (k, b) in [
        ("per_beta_start", a.per_beta_start),
        ("per_beta_end", a.per_beta_end),
    ] {
        if !(0.0..=1.0).contains(&b) {
            return err(k, "expected an exponent in [0, 1]");
        }
    }
    if !(a.per_eps > 0.0 && a.per_eps.is_finite()) {
        return err("per_eps", "expected a small positive number");
    }
    if t.episodes.is_some_and(|e| e == 0 || e > MAX_EPISODES) {
        return Err((
            "train.episodes".into(),
            format!("expected at least 1 and at most {MAX_EPISODES}"),
        ));
    }
    if t.steps.is_some_and(|s| s == 0 || s > MAX_STEPS) {
        return Err((
            "train.steps".into(),
            format!("expected a step budget of at least 1 and at most {MAX_STEPS}"),
        ));
    }
    if !(0.0..=1.0).contains(&t.eval_epsilon) {
        return Err((
            "train.eval_epsilon".into(),
            "expected a probability in [0, 1]".into(),
        ));
    }
    if t.probe_states > MAX_PROBE_STATES {
        return Err((
            "train.probe_states".into(),
            format!("expected at most {MAX_PROBE_STATES}"),
        ));
    }
    Ok(())
}

fn validate_env(env: &EnvConfig) -> Result<(), (String, String)> {
    let err = |k: &str, m: String| Err((format!("env.{k}"), m));
    let minatar = matches!(env.id, EnvId::MinAtar(_));
    if env.frame_stack == 0 || env.frame_stack > MAX_FRAME_STACK {
        return err(
            "frame_stack",
            format!("expected 1 to {MAX_FRAME_STACK} frames"),
        );
    }
    if env.observe == Observe::Positions && !matches!(env.id, EnvId::CartPole(_)) {
        return err(
            "observe",
            format!("\"positions\" is defined for CartPole only, not {}", env.id),
        );
    }
    if env.max_episode_steps == Some(0) {
        return err("max_episode_steps", "expected at least 1 step".into());
    }
    let defaults = EnvConfig::default();
    if !(0.0..=1.0).contains(&env.sticky_action_prob) {
        return err(
            "sticky_action_prob",
            "expected a probability in [0, 1]".into(),
        );
    }
    if !minatar
        && (env.sticky_action_prob != defaults.sticky_action_prob
            || env.difficulty_ramping != defaults.difficulty_ramping)
    {
        return err(
            "sticky_action_prob",
            format!(
                "sticky actions and difficulty ramping are MinAtar settings; {} has none",
                env.id
            ),
        );
    }
    validate_atari(env)
}

/// The Atari keys: only for `ALE/…` ids, in range, the ROM present, the feature built.
fn validate_atari(env: &EnvConfig) -> Result<(), (String, String)> {
    let err = |k: &str, m: String| Err((format!("env.{k}"), m));
    let atari = env.atari();
    let EnvId::Atari(game) = env.id else {
        if atari != crate::env::atari::AtariOptions::default() {
            return err(
                "id",
                format!("rom_path, repeat_action_probability, max_episode_frames, noop_max, frame_skip, screen_size, terminal_on_life_loss and fire_reset are Atari settings; {} has none", env.id),
            );
        }
        return Ok(());
    };
    if !cfg!(feature = "atari") {
        return err(
            "id",
            format!("{game} needs the `atari` cargo feature: build with `cargo build --release --features atari` (needs cmake and a C++ compiler; ALE is GPL-2.0)"),
        );
    }
    if !(0.0..=1.0).contains(&atari.repeat_action_probability) {
        return err(
            "repeat_action_probability",
            "expected a probability in [0, 1]".into(),
        );
    }
    if atari.frame_skip == 0 || atari.frame_skip > 16 {
        return err("frame_skip", "expected 1 to 16 frames".into());
    }
    if !(8..=160).contains(&atari.screen_size) {
        return err(
            "screen_size",
            "expected 8 to 160 pixels (the screen is 210×160)".into(),
        );
    }
    if let Some(p) = &atari.rom_path {
        if !p.is_file() {
            return err("rom_path", format!("{}: no such file", p.display()));
        }
    }
    Ok(())
}

fn validate_schedule(a: &AgentConfig) -> Result<(), (String, String)> {
    let err = |k: &str, m: &str| Err((format!("agent.{k}"), m.to_owned()));
    if a.epsilon_start.is_some_and(|e| !(0.0..=1.0).contains(&e)) {
        return err("epsilon_start", "expected a probability in [0, 1]");
    }
    if a.epsilon_start.is_none() && a.epsilon_decay_steps > 0 {
        return err(
            "epsilon_decay_steps",
            "a decay needs `epsilon_start` (the schedule runs from epsilon_start to epsilon)",
        );
    }
    if a.update_period == 0 {
        return err(
            "update_period",
            "expected at least 1 (one update every k env steps)",
        );
    }
    if !(a.rms_alpha >= 0.0 && a.rms_alpha < 1.0) {
        return err("rms_alpha", "expected a decay in [0, 1)");
    }
    if a.rms_momentum.is_some_and(|m| !(0.0..1.0).contains(&m)) {
        return err("rms_momentum", "expected a momentum in [0, 1)");
    }
    if !(a.rms_eps > 0.0 && a.rms_eps.is_finite()) {
        return err("rms_eps", "expected a small positive number");
    }
    if a.optimizer == OptimizerKind::RmspropNature && a.rms_momentum.is_some() {
        return err(
            "rms_momentum",
            "\"rmsprop-nature\" has no momentum (NeuralQLearner.lua); leave it out",
        );
    }
    if a.optimizer == OptimizerKind::RmspropNature && !a.rms_centered {
        return err(
            "rms_centered",
            "\"rmsprop-nature\" is always centered (NeuralQLearner.lua)",
        );
    }
    for (key, beta) in [("adam_beta1", a.adam_beta1), ("adam_beta2", a.adam_beta2)] {
        if !(0.0..1.0).contains(&beta) {
            return err(key, "expected a decay in [0, 1)");
        }
    }
    if !(a.adam_eps > 0.0 && a.adam_eps.is_finite()) {
        return err("adam_eps", "expected a small positive number");
    }
    Ok(())
}

fn validate_report(r: &ReportConfig) -> Result<(), (String, String)> {
    if r.resamples < 100 {
        return Err((
            "resamples".into(),
            "expected at least 100 bootstrap resamples".into(),
        ));
    }
    if !(r.confidence > 0.0 && r.confidence < 1.0) {
        return Err((
            "confidence".into(),
            "expected a level in (0, 1), e.g. 0.95".into(),
        ));
    }
    if r.final_window == 0 {
        return Err(("final_window".into(), "expected at least 1".into()));
    }
    Ok(())
}

/// Every `[report.normalize]` entry names an environment of the grid and states finite scores.
fn validate_normalize(r: &ReportConfig, points: &[GridPoint]) -> Result<(), (String, String)> {
    let ids: Vec<String> = points.iter().map(|p| p.env.id.to_string()).collect();
    for (id, n) in &r.normalize {
        let key = format!("report.normalize.\"{id}\"");
        if !ids.contains(id) {
            let mut known = ids.clone();
            known.dedup();
            return Err((
                key,
                format!("expected an env id of this grid: {}", known.join(", ")),
            ));
        }
        if !n.reference.is_finite() || n.random.is_some_and(|r| !r.is_finite()) {
            return Err((
                key,
                "expected finite `reference` and `random` scores".into(),
            ));
        }
        if n.random == Some(n.reference) {
            return Err((
                key,
                "`reference` equals `random`: nothing to scale by".into(),
            ));
        }
    }
    Ok(())
}

fn is_safe_name(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with('.')
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

fn display_value(v: &toml::Value) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Experiment, ConfigError> {
        Experiment::parse(text, Path::new("experiments/test.toml"))
    }

    #[test]
    fn defaults_are_the_chapter_agent() {
        let e = parse("").unwrap();
        assert_eq!(e.name, "test");
        assert_eq!(e.points.len(), 1);
        let a = &e.points[0].agent;
        assert_eq!((a.gamma, a.lr, a.epsilon), (0.98, 0.0005, 0.1));
        assert_eq!(
            (a.buffer_size, a.batch_size, a.sync_interval),
            (10_000, 32, 20)
        );
        assert_eq!(e.points[0].train.episodes, Some(300));
        assert_eq!(e.points[0].env.id, EnvId::CartPole(CartPoleVersion::V0));
        assert_eq!(e.seeds, vec![0]);
    }

    #[test]
    fn atari_ids_need_the_feature_and_atari_keys_need_an_atari_id() {
        let pong = parse("[env]\nid = \"ALE/Pong\"\nframe_stack = 4\n");
        if cfg!(feature = "atari") {
            let e = pong.unwrap();
            assert_eq!(e.points[0].env.id.to_string(), "ALE/Pong");
            let a = e.points[0].env.atari();
            assert_eq!(
                (a.repeat_action_probability, a.frame_skip, a.noop_max),
                (0.25, 4, 30)
            );
        } else {
            let msg = pong.unwrap_err().to_string();
            assert!(
                msg.contains("env.id") && msg.contains("--features atari"),
                "{msg}"
            );
        }
        let msg = parse("[env]\nnoop_max = 0\n").unwrap_err().to_string();
        assert!(
            msg.contains("Atari settings") && msg.contains("CartPole-v0"),
            "{msg}"
        );
        let msg = parse("[env]\nid = \"ALE/Pongg\"\n")
            .unwrap_err()
            .to_string();
        assert!(msg.contains("ALE/<Game>"), "{msg}");
    }

    #[test]
    fn atari_keys_at_their_defaults_leave_existing_seeds_alone() {
        // Runs configured before the Atari keys existed keep their seeds (and results).
        let key = parse("").unwrap().runs()[0].1.seed_key();
        for k in [
            "noop_max",
            "frame_skip",
            "rom_path",
            "repeat_action_probability",
            "clip_rewards",
        ] {
            assert!(!key.contains(k), "{k} in {key}");
        }
    }

    #[test]
    fn lists_are_swept_as_a_cartesian_product_in_file_order() {
        let e = parse(
            "seeds = 3\n[agent]\nvariant = [\"dqn\", \"double+dueling\"]\nlr = [0.001, 0.0005, 0.0001]\n",
        )
        .unwrap();
        assert_eq!(e.points.len(), 6);
        assert_eq!(e.runs().len(), 18);
        assert_eq!(e.swept, vec!["agent.variant", "agent.lr"]);
        assert_eq!(e.points[0].label, "variant=dqn, lr=0.001");
        assert_eq!(e.points[4].agent.variant.to_string(), "double+dueling");
        assert_eq!(e.points[4].agent.lr, 0.0005);
        assert_eq!(e.points[4].slug, "variant-double+dueling_lr-0.0005");
    }

    #[test]
    fn variant_names_parse_in_any_order_and_reject_unknowns() {
        let v: Variant = "dueling+double".parse().unwrap();
        assert_eq!(v.to_string(), "double+dueling");
        let err = "double+turbo".parse::<Variant>().unwrap_err();
        assert!(err.contains("turbo") && err.contains("dueling"), "{err}");
        let e = parse("[agent]\nvariant = [\"dqn\", \"tripple\"]\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("agent.variant") && e.contains("list element 1"),
            "{e}"
        );
        assert!(e.contains("experiments/test.toml"), "{e}");
    }

    #[test]
    fn errors_name_file_key_and_expectation() {
        let e = parse("[agent]\ngama = 0.9\n").unwrap_err().to_string();
        assert!(e.contains("agent.gama") && e.contains("gamma"), "{e}");
        let e = parse("[agent]\nlr = \"fast\"\n").unwrap_err().to_string();
        assert!(e.contains("agent.lr") && e.contains("f64"), "{e}");
        let e = parse("[agent]\ngamma = 1.5\n").unwrap_err().to_string();
        assert!(e.contains("agent.gamma") && e.contains("[0, 1]"), "{e}");
        let e = parse("[env]\nid = \"CartPole-v9\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("env.id") && e.contains("CartPole-v1"), "{e}");
        let e = parse("seeds = 0\n").unwrap_err().to_string();
        assert!(e.contains("seeds"), "{e}");
        let e = parse("[agent\n").unwrap_err().to_string();
        assert!(e.contains("not valid TOML"), "{e}");
        let e = parse("[agent]\nbatch_size = 64\nbuffer_size = 32\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("agent.buffer_size"), "{e}");
    }

    #[test]
    fn duplicate_grid_points_are_rejected_however_spelled() {
        let e = parse("[agent]\nvariant = [\"double+dueling\", \"dueling+double\"]\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("same configuration"), "{e}");
        assert!(parse("[agent]\nlr = [0.001, 0.001]\n").is_err());
    }

    #[test]
    fn every_report_key_is_accepted_including_optional_ones() {
        let e = parse("[report]\nsolved_threshold = 190.0\ncollapse_floor = 50.0\n").unwrap();
        assert_eq!(e.report.solved_threshold, Some(190.0));
        assert_eq!(e.report.collapse_floor, 50.0);
    }

    #[test]
    fn huge_grids_are_rejected_before_allocating() {
        let e = parse("seeds = 100000000000\n").unwrap_err().to_string();
        assert!(e.contains("seeds") && e.contains("10000"), "{e}");
        let e = parse("seeds = 1000\n[agent]\nlr = [1e-3, 2e-3, 3e-3, 4e-3, 5e-3, 6e-3, 7e-3, 8e-3, 9e-3, 1e-2, 2e-2, 3e-2, 4e-2, 5e-2, 6e-2, 7e-2, 8e-2, 9e-2, 1e-1, 2e-1, 3e-1, 4e-1, 5e-1, 6e-1, 7e-1, 8e-1, 9e-1, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0, 13.0, 14.0, 15.0, 16.0, 17.0, 18.0, 19.0, 20.0, 21.0, 22.0, 23.0, 24.0, 25.0, 26.0, 27.0, 28.0, 29.0, 30.0, 31.0, 32.0, 33.0, 34.0, 35.0, 36.0, 37.0, 38.0, 39.0, 40.0, 41.0, 42.0, 43.0, 44.0, 45.0, 46.0, 47.0, 48.0, 49.0, 50.0, 51.0, 52.0, 53.0, 54.0, 55.0, 56.0, 57.0, 58.0, 59.0, 60.0, 61.0, 62.0, 63.0, 64.0, 65.0, 66.0, 67.0, 68.0, 69.0, 70.0, 71.0, 72.0, 73.0, 74.0, 75.0, 76.0, 77.0, 78.0, 79.0, 80.0, 81.0, 82.0, 83.0, 84.0, 85.0, 86.0, 87.0, 88.0, 89.0, 90.0, 91.0, 92.0, 93.0, 94.0, 95.0, 96.0, 97.0, 98.0, 99.0, 100.0, 101.0]\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("at most 100000"), "{e}");
    }

    #[test]
    fn seeds_as_list_or_count() {
        assert_eq!(parse("seeds = [7, 3]").unwrap().seeds, vec![7, 3]);
        assert_eq!(parse("seeds = 4").unwrap().seeds, vec![0, 1, 2, 3]);
        assert!(parse("seeds = [1, 1]").is_err());
    }

    #[test]
    fn check_table_sets_the_baseline_seeds_and_tolerance() {
        let e = parse("seeds = 4\n").unwrap();
        assert_eq!(e.check.baseline_seeds, vec![0, 1, 2, 3], "default: `seeds`");
        assert_eq!(e.check.tolerance, 0.0);
        let e = parse("seeds = 4\n[check]\nbaseline_seeds = 10\ntolerance = 2.5\n").unwrap();
        assert_eq!(e.check.baseline_seeds, (0..10).collect::<Vec<u64>>());
        assert_eq!(e.check.tolerance, 2.5);
        let bless = e.for_bless();
        assert_eq!(bless.seeds.len(), 10);
        assert_eq!(bless.runs().len(), 10);
        assert_eq!(e.runs().len(), 4, "checks still train `seeds`");
        for (text, key) in [
            ("[check]\nbaseline_seeds = [1, 1]\n", "check.baseline_seeds"),
            ("[check]\ntolerance = -1\n", "check.tolerance"),
            ("[check]\ntolerance = \"10\"\n", "check.tolerance"),
            ("[check]\nseeds = 3\n", "check.seeds"),
            ("check = 3\n", "check"),
        ] {
            let msg = parse(text).unwrap_err().to_string();
            assert!(
                msg.contains("experiments/test.toml") && msg.contains(&format!("`{key}`")),
                "{msg}"
            );
        }
    }

    #[test]
    fn linear_epsilon_schedule_starts_after_learning_starts() {
        let a = AgentConfig {
            epsilon: 0.1,
            epsilon_start: Some(1.0),
            epsilon_decay_steps: 100,
            learning_starts: 50,
            ..AgentConfig::default()
        };
        assert_eq!(a.epsilon_at(0), 1.0);
        assert_eq!(a.epsilon_at(50), 1.0);
        assert!((a.epsilon_at(100) - 0.55).abs() < 1e-12);
        assert_eq!(a.epsilon_at(150), 0.1);
        assert_eq!(a.epsilon_at(10_000), 0.1);
        // Without a start the chapter's constant ε.
        assert_eq!(AgentConfig::default().epsilon_at(7), 0.1);
    }

    #[test]
    fn new_keys_are_validated_with_file_and_key() {
        for (text, key, says) in [
            (
                "[env]\nid = \"MinAtar/Pong\"\n",
                "env.id",
                "MinAtar/Breakout",
            ),
            ("[env]\nobserve = \"pixels\"\n", "env.observe", "positions"),
            (
                "[env]\nid = \"MinAtar/Breakout\"\nobserve = \"positions\"\n",
                "env.observe",
                "CartPole only",
            ),
            ("[env]\nframe_stack = 0\n", "env.frame_stack", "1 to 16"),
            ("[env]\nframe_stack = 5\n", "env.id", "supported sizes"),
            (
                "[env]\nsticky_action_prob = 0.25\n",
                "env.sticky_action_prob",
                "MinAtar settings",
            ),
            (
                "[agent]\nupdate_period = 0\n",
                "agent.update_period",
                "at least 1",
            ),
            (
                "[agent]\nepsilon_decay_steps = 10\n",
                "agent.epsilon_decay_steps",
                "epsilon_start",
            ),
            (
                "[agent]\noptimizer = \"sgd\"\n",
                "agent.optimizer",
                "rmsprop",
            ),
            (
                "[agent]\nrms_momentum = 1.5\n",
                "agent.rms_momentum",
                "[0, 1)",
            ),
            (
                "[agent]\noptimizer = \"rmsprop-nature\"\nrms_momentum = 0.9\n",
                "agent.rms_momentum",
                "NeuralQLearner.lua",
            ),
            (
                "[agent]\noptimizer = \"rmsprop-nature\"\nrms_centered = false\n",
                "agent.rms_centered",
                "always centered",
            ),
            ("[agent]\nadam_beta2 = 1.0\n", "agent.adam_beta2", "[0, 1)"),
            ("[agent]\nadam_eps = 0\n", "agent.adam_eps", "positive"),
            ("[train]\nsteps = 0\n", "train.steps", "at least 1"),
            (
                "[train]\neval_epsilon = 2.0\n",
                "train.eval_epsilon",
                "[0, 1]",
            ),
        ] {
            let e = parse(text).unwrap_err().to_string();
            assert!(e.contains(key) && e.contains(says), "{text}: {e}");
            assert!(e.contains("experiments/test.toml"), "{e}");
        }
    }

    #[test]
    fn optimizer_spellings_name_their_frameworks_and_keep_old_ids() {
        let kind = |text: &str| parse(text).unwrap().points[0].agent.optimizer;
        for (name, want) in [
            ("adam", OptimizerKind::Adam),
            ("adam-torch", OptimizerKind::AdamTorch),
            ("adam-dezero", OptimizerKind::AdamDezero),
            ("rmsprop", OptimizerKind::Rmsprop),
            ("rmsprop-dfdx", OptimizerKind::Rmsprop),
            ("rmsprop-tf1", OptimizerKind::RmspropTf1),
            ("rmsprop-torch", OptimizerKind::RmspropTorch),
            ("rmsprop-nature", OptimizerKind::RmspropNature),
        ] {
            assert_eq!(
                kind(&format!("[agent]\noptimizer = \"{name}\"\n")),
                want,
                "{name}"
            );
        }
        // The alias is dfdx's RMSprop itself: same JSON, same run id.
        let alias = parse("[agent]\noptimizer = \"rmsprop-dfdx\"\n").unwrap();
        let plain = parse("[agent]\noptimizer = \"rmsprop\"\n").unwrap();
        assert_eq!(
            crate::fingerprint::run_id(&alias.points[0].run(0)),
            crate::fingerprint::run_id(&plain.points[0].run(0))
        );
        // Adam's β and ε at their defaults stay out of a run's JSON (ids as before they
        // existed); set, they are part of it.
        let default = serde_json::to_string(&parse("").unwrap().points[0].run(0)).unwrap();
        assert!(!default.contains("adam_"), "{default}");
        let eps = parse("[agent]\nadam_eps = 3.125e-4\n").unwrap().points[0].run(0);
        assert_eq!(eps.agent.adam_eps, 3.125e-4);
        assert!(serde_json::to_string(&eps)
            .unwrap()
            .contains("\"adam_eps\":0.0003125"));
        let back: RunConfig = serde_json::from_str(&default).unwrap();
        assert_eq!(back.agent.adam_beta2, 0.999);
    }

    #[test]
    fn check_exact_is_a_switch() {
        let exact = |t: &str| parse(t).unwrap().check.exact;
        assert_eq!(exact(""), Exact::Off);
        assert_eq!(exact("[check]\nexact = true\n"), Exact::Always);
        assert_eq!(
            exact("[check]\nexact = \"same-kernels\"\n"),
            Exact::SameKernels
        );
        let e = parse("[check]\nexact = 1\n").unwrap_err().to_string();
        assert!(
            e.contains("check.exact") && e.contains("same-kernels"),
            "{e}"
        );
    }

    #[test]
    fn the_epsilon_schedule_starts_where_epsilon_from_says() {
        let a = AgentConfig {
            epsilon_start: Some(1.0),
            epsilon: 0.05,
            epsilon_decay_steps: 1000,
            learning_starts: 500,
            ..AgentConfig::default()
        };
        assert_eq!(a.epsilon_at(500), 1.0);
        assert!((a.epsilon_at(1000) - 0.525).abs() < 1e-12);
        let cleanrl = AgentConfig {
            epsilon_from: EpsilonFrom::FirstStep,
            ..a
        };
        assert!((cleanrl.epsilon_at(500) - 0.525).abs() < 1e-12);
        assert_eq!(cleanrl.epsilon_at(1000), 0.05);
        let e = parse("[agent]\nepsilon_from = \"warmup\"\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("agent.epsilon_from") && e.contains("first_step"),
            "{e}"
        );
    }

    #[test]
    fn a_step_budget_lifts_the_default_episode_count() {
        let e = parse("[env]\nid = \"MinAtar/Breakout\"\n[train]\nsteps = 1000\n").unwrap();
        assert_eq!(e.points[0].train.episodes, None);
        assert_eq!(e.points[0].train.steps, Some(1000));
        let e = parse("[train]\nsteps = 1000\nepisodes = 5\n").unwrap();
        assert_eq!(e.points[0].train.episodes, Some(5));
    }

    #[test]
    fn later_keys_at_their_defaults_leave_the_seed_key_as_before() {
        // The seed key of the chapter's config as the first release wrote it: runs recorded
        // then keep their seeds, hence their results.
        let run = parse("").unwrap().points[0].run(3);
        let key = run.seed_key();
        assert!(key.starts_with("{\"env\":{\"id\":\"CartPole-v0\"},\"agent\":{\"variant\":\"dqn\",\"gamma\":0.98,\"lr\":0.0005,\"epsilon\":0.1,\"buffer_size\":10000,"), "{key}");
        assert!(
            key.ends_with("\"per_eps\":1e-6},\"episodes\":300,\"seed\":3}"),
            "{key}"
        );
        // A non-default later key changes it.
        let mut other = run.clone();
        other.agent.update_period = 4;
        assert!(other.seed_key().contains("\"update_period\":4"));
    }

    #[test]
    fn the_device_names_a_run_but_not_its_seeds() {
        let cpu = parse("[train]\ndevice = \"cpu\"\n").unwrap().points[0].run(3);
        let unset = parse("").unwrap().points[0].run(3);
        // At its default the key is absent: CPU runs keep the ids they had before it existed.
        assert_eq!(
            crate::fingerprint::run_id(&cpu),
            crate::fingerprint::run_id(&unset)
        );
        assert!(!serde_json::to_string(&cpu).unwrap().contains("device"));
        let mut gpu = cpu.clone();
        gpu.train.device = DeviceKind::Cuda;
        assert_ne!(
            crate::fingerprint::run_id(&gpu),
            crate::fingerprint::run_id(&cpu)
        );
        assert_eq!(
            gpu.seed_key(),
            cpu.seed_key(),
            "same weights and streams on both"
        );
        let cuda = parse("[train]\ndevice = \"cuda\"\n");
        if cfg!(feature = "cuda") {
            assert_eq!(cuda.unwrap().points[0].train.device, DeviceKind::Cuda);
        } else {
            let msg = cuda.unwrap_err().to_string();
            assert!(
                msg.contains("train.device") && msg.contains("--features cuda"),
                "{msg}"
            );
        }
        let msg = parse("[train]\ndevice = \"tpu\"\n")
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains("train.device") && msg.contains("cuda"),
            "{msg}"
        );
    }
}
