//! Every check of an experiment before anything runs: unknown keys and each value's type on
//! its own (so an error names the key), then ranges and combinations of each grid point, the
//! `[report]` and `[check]` settings and the caps that keep a typo from allocating gigabytes.
//! Each check answers with a [`Problem`]: a key and what was expected there.

use super::schema::{CheckKeys, DeviceKind, EnvConfig, ReportConfig, TrainConfig};
use super::{fields, GridPoint, Problem};
use crate::env::{EnvId, Observe};
use dqn_agent::config::{AgentConfig, OptimizerKind, C51_ATOMS};
use serde::de::DeserializeOwned;

pub(crate) const MAX_SEEDS: usize = 10_000;
/// Grid points × seeds.
pub(crate) const MAX_RUNS: usize = 100_000;
const MAX_BUFFER: usize = 1_000_000;
const MAX_BATCH: usize = 4096;
const MAX_EPISODES: u32 = 1_000_000;
const MAX_STEPS: u64 = 10_000_000_000;
const MAX_FRAME_STACK: usize = 16;
const MAX_PROBE_STATES: usize = 100_000;

/// Unknown keys of section `name`, then each value alone (each list element alone when
/// `lists` is true), read as `T` reads it.
pub(crate) fn check_keys<T: DeserializeOwned>(
    t: &toml::Table,
    name: &str,
    lists: bool,
) -> Result<(), Problem> {
    let known = fields::struct_fields::<T>();
    for (key, value) in t {
        if !known.contains(&key.as_str()) {
            return Err(Problem::Unknown {
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
                let message = format!("{}{at}", e.message().trim());
                return Err(Problem::at(format!("{name}.{key}"), message));
            }
        }
    }
    Ok(())
}

/// A grid point's env, agent and train settings, alone and together.
pub(crate) fn validate_run(
    env: &EnvConfig,
    a: &AgentConfig,
    t: &TrainConfig,
) -> Result<(), Problem> {
    validate_env(env)?;
    validate_schedule(a)?;
    crate::compiled::check_supported(env, a).map_err(|m| Problem::at("env.id", m))?;
    validate_device(a, t)?;
    validate_agent(a)?;
    validate_train(t)
}

fn validate_device(a: &AgentConfig, t: &TrainConfig) -> Result<(), Problem> {
    if t.device == DeviceKind::Cuda && !cfg!(feature = "cuda") {
        return Err(Problem::at(
            "train.device",
            "\"cuda\" needs a binary built with `cargo build --release --features cuda` (and the CUDA toolkit); this one has only the CPU",
        ));
    }
    if t.device == DeviceKind::Cuda
        && !matches!(a.optimizer, OptimizerKind::Adam | OptimizerKind::Rmsprop)
    {
        return Err(Problem::at(
            "agent.optimizer",
            "on `device = \"cuda\"` only dfdx's own optimizers run: \"adam\" or \"rmsprop\"",
        ));
    }
    Ok(())
}

fn validate_agent(a: &AgentConfig) -> Result<(), Problem> {
    let err = |k: &str, m: &str| Err(Problem::at(format!("agent.{k}"), m));
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
    validate_components(a)?;
    validate_per(a)
}

/// C51's support.
fn validate_components(a: &AgentConfig) -> Result<(), Problem> {
    let err = |k: &str, m: String| Err(Problem::at(format!("agent.{k}"), m));
    if a.atoms != C51_ATOMS {
        return err(
            "atoms",
            format!(
                "the distributional heads are compiled for {C51_ATOMS} atoms, not {}",
                a.atoms
            ),
        );
    }
    if !(a.v_min.is_finite() && a.v_max.is_finite() && a.v_min < a.v_max) {
        return err(
            if a.v_min.is_finite() {
                "v_max"
            } else {
                "v_min"
            },
            format!(
                "expected finite v_min < v_max, found [{}, {}]",
                a.v_min, a.v_max
            ),
        );
    }
    Ok(())
}

fn validate_per(a: &AgentConfig) -> Result<(), Problem> {
    let err = |k: &str, m: &str| Err(Problem::at(format!("agent.{k}"), m));
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
    Ok(())
}

fn validate_train(t: &TrainConfig) -> Result<(), Problem> {
    if t.episodes.is_some_and(|e| e == 0 || e > MAX_EPISODES) {
        return Err(Problem::at(
            "train.episodes",
            format!("expected at least 1 and at most {MAX_EPISODES}"),
        ));
    }
    if t.steps.is_some_and(|s| s == 0 || s > MAX_STEPS) {
        return Err(Problem::at(
            "train.steps",
            format!("expected a step budget of at least 1 and at most {MAX_STEPS}"),
        ));
    }
    if !(0.0..=1.0).contains(&t.eval_epsilon) {
        return Err(Problem::at(
            "train.eval_epsilon",
            "expected a probability in [0, 1]",
        ));
    }
    if t.probe_states > MAX_PROBE_STATES {
        return Err(Problem::at(
            "train.probe_states",
            format!("expected at most {MAX_PROBE_STATES}"),
        ));
    }
    let minutes = t.checkpoint_minutes.0;
    if !(minutes.is_finite() && minutes >= 0.0) {
        return Err(Problem::at(
            "train.checkpoint_minutes",
            "expected a number of minutes ≥ 0 (0: not by time)",
        ));
    }
    Ok(())
}

fn validate_env(env: &EnvConfig) -> Result<(), Problem> {
    let err = |k: &str, m: String| Err(Problem::at(format!("env.{k}"), m));
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
fn validate_atari(env: &EnvConfig) -> Result<(), Problem> {
    let err = |k: &str, m: String| Err(Problem::at(format!("env.{k}"), m));
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

fn validate_schedule(a: &AgentConfig) -> Result<(), Problem> {
    let err = |k: &str, m: &str| Err(Problem::at(format!("agent.{k}"), m));
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
    validate_optimizer(a)
}

fn validate_optimizer(a: &AgentConfig) -> Result<(), Problem> {
    let err = |k: &str, m: &str| Err(Problem::at(format!("agent.{k}"), m));
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
    if !(1..=MAX_N_STEP).contains(&a.n_step) {
        return err("n_step", "expected an integer from 1 to 100");
    }
    Ok(())
}

/// The longest n-step window accepted (Rainbow uses 3; 100 is far past any published use).
const MAX_N_STEP: u32 = 100;

pub(crate) fn validate_report(r: &ReportConfig) -> Result<(), Problem> {
    if r.resamples < 100 {
        return Err(Problem::at(
            "report.resamples",
            "expected at least 100 bootstrap resamples",
        ));
    }
    if !(r.confidence > 0.0 && r.confidence < 1.0) {
        return Err(Problem::at(
            "report.confidence",
            "expected a level in (0, 1), e.g. 0.95",
        ));
    }
    if r.final_window == 0 {
        return Err(Problem::at("report.final_window", "expected at least 1"));
    }
    Ok(())
}

pub(crate) fn validate_check(c: &CheckKeys) -> Result<(), Problem> {
    if !(c.tolerance.is_finite() && c.tolerance >= 0.0) {
        return Err(Problem::at(
            "check.tolerance",
            format!(
                "expected a non-negative number of return units, found {}",
                c.tolerance
            ),
        ));
    }
    Ok(())
}

/// Every `[report.normalize]` entry names an environment of the grid and states finite scores.
pub(crate) fn validate_normalize(r: &ReportConfig, points: &[GridPoint]) -> Result<(), Problem> {
    let ids: Vec<String> = points.iter().map(|p| p.env.id.to_string()).collect();
    for (id, n) in &r.normalize {
        let key = format!("report.normalize.\"{id}\"");
        if !ids.contains(id) {
            let mut known = ids.clone();
            known.dedup();
            let message = format!("expected an env id of this grid: {}", known.join(", "));
            return Err(Problem::at(key, message));
        }
        if !n.reference.is_finite() || n.random.is_some_and(|r| !r.is_finite()) {
            return Err(Problem::at(
                key,
                "expected finite `reference` and `random` scores",
            ));
        }
        if n.random == Some(n.reference) {
            return Err(Problem::at(
                key,
                "`reference` equals `random`: nothing to scale by",
            ));
        }
    }
    Ok(())
}

/// A results folder name: letters, digits and `- _ . + = ,` (the last three for the names
/// `--set` gives, `chapter8+agent.lr=0.001,seeds=3`), not starting with '.'.
pub(crate) fn is_safe_name(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with('.')
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.+=,".contains(c))
}
