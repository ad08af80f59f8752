//! What makes a run the run it is, kept stable across releases: the seed key a run's random
//! streams derive from (`RunConfig::seed_key`), which leaves out keys added after the first
//! release while they hold their defaults ([`LATER_KEYS`]). A run's id is the hash of its
//! config's JSON (`crate::fingerprint::run_id`); fields added later are left out of that JSON
//! at their defaults by their own `skip_serializing_if`.

use super::RunConfig;
use serde::Serialize;

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

#[cfg(test)]
mod tests {
    use crate::config::fields::struct_fields;
    use crate::config::{AgentConfig, EnvConfig, Experiment, RunConfig, TrainConfig};
    use std::path::Path;

    fn run(text: &str, seed: u64) -> RunConfig {
        let e = Experiment::parse(text, Path::new("experiments/test.toml")).unwrap();
        e.points[0].run(seed)
    }

    #[test]
    fn later_keys_at_their_defaults_leave_the_seed_key_as_before() {
        // The seed key of the chapter's config as the first release wrote it: runs recorded
        // then keep their seeds, hence their results.
        let run = run("", 3);
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
    fn atari_keys_at_their_defaults_leave_existing_seeds_alone() {
        // Runs configured before the Atari keys existed keep their seeds (and results).
        let key = run("", 0).seed_key();
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

    /// How often a run checkpoints changes how it is carried out, not what it computes: not
    /// its run id, and a finished run is still the same config (reused).
    #[test]
    fn checkpoint_settings_change_no_run_id_and_no_config() {
        let a = crate::config::RunConfig::default();
        let mut b = a.clone();
        b.train.checkpoint_interval.0 = 500;
        b.train.checkpoint_minutes.0 = 1.5;
        assert_eq!(a, b);
        assert_eq!(
            crate::fingerprint::run_id(&a),
            crate::fingerprint::run_id(&b)
        );
        let json = serde_json::to_string(&b).unwrap();
        assert!(!json.contains("checkpoint"), "{json}");
    }

    /// The fields a default run's JSON leaves out (their `skip_serializing_if`): a field added
    /// to this list keeps old run ids; one taken off it would change every run id.
    #[test]
    fn the_fields_left_out_of_a_default_runs_json_are_these() {
        fn omitted<T: serde::Serialize + Default + for<'de> serde::Deserialize<'de>>(
        ) -> Vec<&'static str> {
            let json = serde_json::to_value(T::default()).unwrap();
            struct_fields::<T>()
                .iter()
                .copied()
                .filter(|k| json.get(k).is_none())
                .collect()
        }
        assert_eq!(omitted::<EnvConfig>(), Vec::<&str>::new());
        // The checkpoint settings are never written (`NotIdentity`), whatever their value.
        assert_eq!(
            omitted::<TrainConfig>(),
            ["device", "checkpoint_interval", "checkpoint_minutes"]
        );
        assert_eq!(
            omitted::<AgentConfig>(),
            [
                "epsilon_from",
                "warmup_actions",
                "adam_beta1",
                "adam_beta2",
                "adam_eps",
                "double",
                "per",
                "dueling",
                "distributional",
                "noisy",
                "atoms",
                "v_min",
                "v_max",
                "c51_priority",
                "n_step",
                "mlp_hidden",
                "minatar_net"
            ]
        );
    }
}
