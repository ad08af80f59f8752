//! The key reference: every key of an experiment file, with its values, its default and what
//! it means, in one table ([`KEYS`]). `sweep --help` ("EXPERIMENT FILES"), `sweep schema` and
//! the fenced block of `docs/guide/experiment-files.md` are rendered from it; its tests fail
//! when a key the section structs accept is missing here, or a stated default is not the
//! struct's. (Not part of the training code's build fingerprint: it changes no run.)

use super::fields::enum_variants;
use super::{
    BootstrapMask, C51Priority, DeviceKind, EpsilonFrom, LossKind, MinAtarNet, MlpHidden,
    OptimizerKind, RandomStreams, SyncUnit, WarmupActions, WeightInit,
};
use crate::env::Observe;

/// A table of an experiment file (or its top level).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Top,
    Env,
    Agent,
    Train,
    Report,
    /// `[report.normalize."<env id>"]`, one per environment.
    Normalize,
    Check,
}

impl Section {
    pub const ALL: [Section; 7] = [
        Section::Top,
        Section::Env,
        Section::Agent,
        Section::Train,
        Section::Report,
        Section::Normalize,
        Section::Check,
    ];

    /// The table's name as keys are prefixed with it (`agent` in `agent.lr`); empty at the top.
    pub fn name(self) -> &'static str {
        match self {
            Section::Top => "",
            Section::Env => "env",
            Section::Agent => "agent",
            Section::Train => "train",
            Section::Report => "report",
            Section::Normalize => "report.normalize.\"<env id>\"",
            Section::Check => "check",
        }
    }

    /// Its header line in the reference, with what the table is for.
    fn header(self) -> (&'static str, &'static str) {
        match self {
            Section::Top => ("", ""),
            Section::Env => (
                "[env]",
                "the environment (every value may be a list: swept)",
            ),
            Section::Agent => (
                "[agent]",
                "the agent; defaults are the chapter's agent code",
            ),
            Section::Train => ("[train]", "the training run and its measurements"),
            Section::Report => (
                "[report]",
                "aggregation only; not part of any run's identity",
            ),
            Section::Normalize => (
                "# [report.normalize.\"MinAtar/Breakout\"]",
                "per env id: scores across envs on one scale",
            ),
            Section::Check => ("[check]", "sweep bless / sweep check only"),
        }
    }
}

/// What a key's value may be.
#[derive(Debug, Clone, Copy)]
pub enum Values {
    /// Described in words: `float in [0, 1]`, `integer ≥ 1`.
    Text(&'static str),
    /// One of an enum's names, read from its serde derive.
    Choice(fn() -> &'static [&'static str]),
}

impl Values {
    pub fn describe(&self) -> String {
        match self {
            Values::Text(t) => (*t).to_owned(),
            Values::Choice(names) => names()
                .iter()
                .map(|n| format!("\"{n}\""))
                .collect::<Vec<_>>()
                .join(" | "),
        }
    }
}

/// A key's default as the reference states it.
#[derive(Debug, Clone, Copy)]
pub enum Stated {
    /// The default, as a TOML value.
    Value(&'static str),
    /// No value by default; `means` says what applies then, `example` shows one.
    Unset {
        example: &'static str,
        means: &'static str,
    },
    /// No default: the table needs it (`example` shows one).
    Required { example: &'static str },
}

/// One key of an experiment file.
#[derive(Debug, Clone, Copy)]
pub struct Key {
    pub section: Section,
    pub name: &'static str,
    pub values: Values,
    pub default: Stated,
    /// What it means, in a line.
    pub meaning: &'static str,
}

impl Key {
    /// `agent.lr`, or `seeds` at the top.
    pub fn path(&self) -> String {
        match self.section {
            Section::Top => self.name.to_owned(),
            s => format!("{}.{}", s.name(), self.name),
        }
    }
}

const fn key(
    section: Section,
    name: &'static str,
    values: Values,
    default: Stated,
    meaning: &'static str,
) -> Key {
    Key {
        section,
        name,
        values,
        default,
        meaning,
    }
}

const fn is(value: &'static str) -> Stated {
    Stated::Value(value)
}

const fn unset(example: &'static str, means: &'static str) -> Stated {
    Stated::Unset { example, means }
}

const fn required(example: &'static str) -> Stated {
    Stated::Required { example }
}

const fn text(t: &'static str) -> Values {
    Values::Text(t)
}

use Section::{Agent, Check, Env, Normalize, Report, Top, Train};
use Values::Choice;

const PROBABILITY: Values = text("float in [0, 1]");
const DECAY: Values = text("float in [0, 1)");
const POSITIVE: Values = text("float > 0");
const COUNT: Values = text("integer ≥ 0");
const AT_LEAST_1: Values = text("integer ≥ 1");
const SWITCH: Values = text("true | false");

/// Every key, in the order the reference lists them.
pub const KEYS: &[Key] = &[
    key(Top, "name", text("letters, digits, - _ . + = ,"), unset("\"chapter8\"", "the file's stem"), "results go to <out>/<name>/"),
    key(Top, "description", text("string"), is("\"\""), "printed at the top of summary.md"),
    key(Top, "seeds", text("count n (seeds 0..n) or a list [0, 7, 42]"), is("1"), "the seeds every grid point runs"),
    key(Env, "id", text(crate::env::EnvId::VALID), is("\"CartPole-v0\""), "the environment (ALE ids need a --features atari build)"),
    key(Env, "observe", Choice(enum_variants::<Observe>), is("\"full\""), "\"positions\": CartPole's x and θ only (velocities hidden)"),
    key(Env, "frame_stack", text("integer 1–16"), is("1"), "observations are the last k frames"),
    key(Env, "max_episode_steps", AT_LEAST_1, unset("1000", "the registered limit only"), "a TimeLimit on top of the registered one"),
    key(Env, "sticky_action_prob", PROBABILITY, is("0.1"), "MinAtar, as the package: repeat the last action with this probability"),
    key(Env, "difficulty_ramping", SWITCH, is("true"), "MinAtar, as the package: the games speed up over time"),
    key(Env, "repeat_action_probability", PROBABILITY, is("0.25"), "Atari: ALE's sticky actions (Machado et al. 2018; Gymnasium v5)"),
    key(Env, "max_episode_frames", COUNT, is("108000"), "Atari: emulator frames per episode before truncation (0: none)"),
    key(Env, "noop_max", COUNT, is("30"), "Atari: up to this many no-ops after each reset"),
    key(Env, "frame_skip", text("integer 1–16"), is("4"), "Atari: emulator frames per step, max over the last two"),
    key(Env, "screen_size", text("integer 8–160"), is("84"), "Atari: side of the resized square grayscale observation"),
    key(Env, "terminal_on_life_loss", SWITCH, is("false"), "Atari: a lost life ends the episode for learning"),
    key(Env, "fire_reset", SWITCH, is("false"), "Atari: press FIRE after each reset"),
    key(Env, "rom_path", text("path"), unset("\"roms/pong.bin\"", "the ROM the `ale` crate bundles"), "Atari: a ROM file to load instead"),
    key(Agent, "variant", text(super::Variant::VALID), is("\"dqn\""), "which components the agent uses (a shorthand for the keys below)"),
    key(Agent, "double", SWITCH, unset("true", "as variant says"), "Double DQN's target (adds to variant)"),
    key(Agent, "per", SWITCH, unset("true", "as variant says"), "prioritized replay (adds to variant)"),
    key(Agent, "dueling", SWITCH, unset("true", "as variant says"), "dueling network (adds to variant)"),
    key(Agent, "distributional", SWITCH, unset("true", "as variant says"), "C51 head and loss (adds to variant)"),
    key(Agent, "noisy", SWITCH, unset("true", "as variant says"), "noisy linear layers, σ₀ 0.5, Fortunato et al.'s init whatever `init` says (adds to variant)"),
    key(Agent, "atoms", text("51 (compiled)"), is("51"), "C51: atoms of the return support"),
    key(Agent, "v_min", text("float < v_max"), is("-10.0"), "C51: the support's lower end"),
    key(Agent, "v_max", text("float > v_min"), is("10.0"), "C51: the support's upper end"),
    key(Agent, "c51_priority", Choice(enum_variants::<C51Priority>), is("\"kl\""), "C51 with PER: priority from the KL (Rainbow paper) or the cross-entropy (Dopamine)"),
    key(Agent, "gamma", PROBABILITY, is("0.98"), "discount factor"),
    key(Agent, "lr", POSITIVE, is("0.0005"), "learning rate"),
    key(Agent, "optimizer", Choice(enum_variants::<OptimizerKind>), is("\"adam\""), "each spelling as one framework runs it (docs: algorithms.md, Optimizers)"),
    key(Agent, "adam_beta1", DECAY, is("0.9"), "Adam: β₁"),
    key(Agent, "adam_beta2", DECAY, is("0.999"), "Adam: β₂"),
    key(Agent, "adam_eps", POSITIVE, is("1e-8"), "Adam: ε (Revisiting Rainbow's MinAtar configs: 3.125e-4)"),
    key(Agent, "rms_alpha", DECAY, is("0.95"), "RMSprop: squared-gradient decay"),
    key(Agent, "rms_eps", POSITIVE, is("0.01"), "RMSprop: ε, inside or outside the root as the form puts it"),
    key(Agent, "rms_centered", SWITCH, is("true"), "RMSprop: centered (\"rmsprop-nature\" always is)"),
    key(Agent, "rms_momentum", DECAY, unset("0.95", "none"), "RMSprop: momentum"),
    key(Agent, "epsilon", PROBABILITY, is("0.1"), "ε-greedy: constant, or the end of a linear schedule"),
    key(Agent, "epsilon_start", PROBABILITY, unset("1.0", "constant ε"), "start of a linear ε schedule"),
    key(Agent, "epsilon_decay_steps", COUNT, is("0"), "env steps over which ε falls from epsilon_start to epsilon"),
    key(Agent, "epsilon_from", Choice(enum_variants::<EpsilonFrom>), is("\"learning_starts\""), "where the ε schedule starts counting (\"first_step\": CleanRL's)"),
    key(Agent, "learning_starts", COUNT, is("0"), "no updates before this many env steps"),
    key(Agent, "warmup_actions", Choice(enum_variants::<WarmupActions>), is("\"uniform\""), "actions before learning_starts (\"epsilon_greedy\": CleanRL's)"),
    key(Agent, "update_period", AT_LEAST_1, is("1"), "one gradient step every k env steps"),
    key(Agent, "clip_rewards", SWITCH, is("false"), "learn from the reward's sign; returns stay the game's scores"),
    key(Agent, "buffer_size", text("integer, batch_size to 1000000"), is("10000"), "replay capacity, in transitions"),
    key(Agent, "batch_size", text("integer 1–4096"), is("32"), "transitions per gradient step"),
    key(Agent, "sync_interval", AT_LEAST_1, is("20"), "target network refreshed every k sync_units"),
    key(Agent, "sync_unit", Choice(enum_variants::<SyncUnit>), is("\"episodes\""), "what sync_interval counts: episodes (the chapter) or env steps (the DQN paper)"),
    key(Agent, "loss", Choice(enum_variants::<LossKind>), is("\"mse\""), "the TD loss: the chapter's MSE, or the DQN paper's Huber"),
    key(Agent, "huber_delta", POSITIVE, is("1.0"), "Huber loss: its threshold"),
    key(Agent, "bootstrap_mask", Choice(enum_variants::<BootstrapMask>), is("\"done\""), "what stops bootstrapping: terminated or truncated (the chapter), or terminated only"),
    key(Agent, "n_step", text("integer 1–100"), is("1"), "multi-step returns: n discounted rewards, then bootstrap n steps on (Rainbow: 3)"),
    key(Agent, "init", Choice(enum_variants::<WeightInit>), is("\"dezero\""), "initial weights: DeZero's Linear (the chapter), dfdx's and PyTorch's uniform, or Xavier (Revisiting Rainbow)"),
    key(Agent, "minatar_net", Choice(enum_variants::<MinAtarNet>), is("\"minatar\""), "MinAtar's network: the MinAtar paper's, or Revisiting Rainbow's (SAME conv, no hidden layer)"),
    key(Agent, "mlp_hidden", Choice(enum_variants::<MlpHidden>), is("\"128x128\""), "the MLP's widths: the chapter's, or CleanRL's (CartPole, not dueling)"),
    key(Agent, "per_alpha", text("float ≥ 0"), is("0.6"), "PER: priority exponent α (Schaul et al. 2015, proportional)"),
    key(Agent, "per_beta_start", PROBABILITY, is("0.4"), "PER: importance-sampling exponent β at the start"),
    key(Agent, "per_beta_end", PROBABILITY, is("1.0"), "PER: β at the end (annealed linearly over the run)"),
    key(Agent, "per_eps", POSITIVE, is("1e-6"), "PER: ε in (|δ| + ε)^α"),
    key(Train, "episodes", AT_LEAST_1, unset("300", "300 without `steps`, else unlimited"), "training episodes"),
    key(Train, "steps", AT_LEAST_1, unset("100000", "none"), "env-step budget (the episode it cuts is not recorded)"),
    key(Train, "eval_episodes", COUNT, is("10"), "evaluation episodes after training (and at every eval_interval)"),
    key(Train, "eval_interval", COUNT, is("0"), "every N env steps: evaluate, recorded against env steps (0: never)"),
    key(Train, "eval_epsilon", PROBABILITY, is("0.0"), "ε of evaluation episodes (chapter: greedy)"),
    key(Train, "q_probe_interval", COUNT, is("10"), "every N episodes: greedy rollout, predicted Q vs actual return (0: off)"),
    key(Train, "probe_states", text("integer 0–100000"), is("256"), "held-out states for the mean max-Q (DQN paper, Fig. 2)"),
    key(Train, "random_streams", Choice(enum_variants::<RandomStreams>), is("\"paired\""), "at one seed, every variant draws the same random streams, or each its own"),
    key(Train, "checkpoint_interval", COUNT, is("0"), "every N env steps: checkpoint the run, to resume it bit for bit (0: not by steps)"),
    key(Train, "checkpoint_minutes", text("float ≥ 0"), is("10.0"), "checkpoint after this many minutes of training (0: not by time); not part of a run's identity"),
    key(Train, "device", Choice(enum_variants::<DeviceKind>), is("\"cpu\""), "where networks train; \"cuda\": the first NVIDIA GPU (a --features cuda build)"),
    key(Report, "resamples", text("integer ≥ 100"), is("2000"), "bootstrap resamples"),
    key(Report, "confidence", text("float in (0, 1)"), is("0.95"), "level of the confidence intervals"),
    key(Report, "final_window", AT_LEAST_1, is("100"), "\"final return\" = mean of the last N episodes"),
    key(Report, "solved_threshold", text("float"), unset("195.0", "Gym's reward_threshold: 195 for v0, 475 for v1"), "average return that counts as solved"),
    key(Report, "collapse_floor", text("float"), is("100.0"), "a solved run that falls below this has collapsed (defined where it is below the threshold)"),
    key(Report, "baseline_variant", text(super::Variant::VALID), is("\"dqn\""), "the variant the others are compared with"),
    key(Normalize, "reference", text("float"), required("3.43"), "the score that counts as 1 (e.g. a published agent's)"),
    key(Normalize, "source", text("string"), required("\"...\""), "where `reference` comes from (printed with every normalised table)"),
    key(Normalize, "random", text("float"), unset("0.5", "measured: 100 whole games of a uniform random policy"), "the score that counts as 0"),
    key(Check, "baseline_seeds", text("count or list, as seeds"), unset("200", "`seeds`"), "the seeds `sweep bless` trains"),
    key(Check, "tolerance", text("float ≥ 0"), is("0.0"), "return units a check may lose before its test applies"),
    key(Check, "exact", text("true | false | \"same-kernels\""), is("false"), "true: any difference from the baseline's curves fails; \"same-kernels\": only on the blessing machine's kernels"),
];

/// Where comments start in the reference.
const COMMENT_COLUMN: usize = 30;
/// The reference's widest line (indented by 4 in `sweep --help`, whose lines clap wraps at 100).
const WIDTH: usize = 96;

/// Every key as an annotated TOML file: each key at its default (keys without one commented
/// out, with an example), its values and meaning in a comment. Parsed as an experiment it is
/// the default experiment.
pub fn reference_toml() -> String {
    let mut out = String::new();
    for section in Section::ALL {
        let (header, about) = section.header();
        if section != Section::Top {
            out.push('\n');
            push_line(&mut out, header, about);
        }
        for k in KEYS.iter().filter(|k| k.section == section) {
            let (assignment, comment) = match k.default {
                Stated::Value(v) => (
                    format!("{} = {v}", k.name),
                    format!("{}: {}", k.values.describe(), k.meaning),
                ),
                Stated::Unset { example, means } => (
                    format!("# {} = {example}", k.name),
                    format!("{}: {} (default: {means})", k.values.describe(), k.meaning),
                ),
                Stated::Required { example } => (
                    format!("# {} = {example}", k.name),
                    format!("{}: {} (required)", k.values.describe(), k.meaning),
                ),
            };
            push_line(&mut out, &assignment, &comment);
        }
    }
    out
}

/// `assignment`, then `# comment` from [`COMMENT_COLUMN`], wrapped at [`WIDTH`].
fn push_line(out: &mut String, assignment: &str, comment: &str) {
    let column = COMMENT_COLUMN.max(assignment.chars().count() + 1);
    let mut line = format!("{assignment:<column$}#");
    let mut empty = true;
    for word in comment.split(' ') {
        if !empty && line.chars().count() + 1 + word.chars().count() > WIDTH {
            out.push_str(&line);
            out.push('\n');
            line = format!("{:<column$}#  ", "");
        }
        line.push(' ');
        line.push_str(word);
        empty = false;
    }
    out.push_str(line.trim_end());
    out.push('\n');
}

/// The "EXPERIMENT FILES" part of `sweep --help`: how a file works, `--set`, and the
/// reference.
pub fn help_text() -> String {
    let mut help = String::from(
        "EXPERIMENT FILES (TOML)
  A file declares a grid of runs: top-level keys, then the tables [env], [agent] and [train]
  (the runs), [report] (aggregation) and [check] (sweep bless / sweep check). Every key is
  optional. A LIST value in [env], [agent] or [train] is swept: the grid is the cartesian
  product of all lists, in file order; scalars are fixed.

  Any key can be set from the command line, as if the file said so: --set agent.lr=1e-3
  --set seeds=3 --set agent.variant='[\"dqn\", \"double\"]' (a list sweeps). Values are TOML;
  a bare word is a string (--set agent.optimizer=adam-torch). Overridden, the experiment is
  named <name>+<overrides> (its results folder) unless --set name=NAME says otherwise.

  Every key with its default (`sweep schema` prints this as a file to start from):
",
    );
    for line in reference_toml().lines() {
        help.push_str(format!("    {line}").trim_end());
        help.push('\n');
    }
    help
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::fields::struct_fields;
    use crate::config::schema::{CheckKeys, SWEPT_SECTIONS, TOP_KEYS};
    use crate::config::{
        AgentConfig, EnvConfig, Experiment, ReportConfig, ScoreReference, TrainConfig,
    };
    use serde::de::DeserializeOwned;

    fn documented(section: Section) -> Vec<&'static str> {
        let keys = KEYS.iter().filter(|k| k.section == section);
        let mut names: Vec<&str> = keys.map(|k| k.name).collect();
        names.sort_unstable();
        names
    }

    fn sorted(names: &[&'static str]) -> Vec<&'static str> {
        let mut names = names.to_vec();
        names.sort_unstable();
        names
    }

    /// The keys section `s` accepts, read from its struct (for the top level: the parser's
    /// list, less the tables).
    fn accepted(s: Section) -> Vec<&'static str> {
        let mut keys = match s {
            Top => TOP_KEYS.to_vec(),
            Env => struct_fields::<EnvConfig>().to_vec(),
            Agent => struct_fields::<AgentConfig>().to_vec(),
            Train => struct_fields::<TrainConfig>().to_vec(),
            Report => struct_fields::<ReportConfig>().to_vec(),
            Normalize => struct_fields::<ScoreReference>().to_vec(),
            Check => struct_fields::<CheckKeys>().to_vec(),
        };
        // Tables are sections of their own.
        keys.retain(|k| {
            !matches!(
                *k,
                "env" | "agent" | "train" | "report" | "check" | "normalize"
            )
        });
        sorted(&keys)
    }

    #[test]
    fn every_key_the_structs_accept_is_documented_and_no_other() {
        for s in Section::ALL {
            assert_eq!(
                documented(s),
                accepted(s),
                "[{}]: documented vs accepted",
                s.name()
            );
        }
        assert!(struct_fields::<ReportConfig>().contains(&"normalize"));
        assert_eq!(TOP_KEYS[3..6], SWEPT_SECTIONS);
    }

    /// `section` read from a table of `key = value` alone.
    fn with<T: DeserializeOwned>(key: &str, value: &str) -> Result<T, String> {
        let table: toml::Table = format!("{key} = {value}")
            .parse()
            .map_err(|e| format!("{e}"))?;
        toml::Value::Table(table)
            .try_into()
            .map_err(|e| format!("{e}"))
    }

    /// Whether `key = value` leaves `T` at its default (`Err` if `T` rejects it).
    fn is_default<T: DeserializeOwned + Default + PartialEq>(
        key: &str,
        value: &str,
    ) -> Result<bool, String> {
        Ok(with::<T>(key, value)? == T::default())
    }

    fn is_default_in(s: Section, key: &str, value: &str) -> Result<bool, String> {
        match s {
            Env => is_default::<EnvConfig>(key, value),
            Agent => is_default::<AgentConfig>(key, value),
            Train => is_default::<TrainConfig>(key, value),
            Report => is_default::<ReportConfig>(key, value),
            Check => is_default::<CheckKeys>(key, value),
            Normalize => {
                // `reference` and `source` are required: the others at examples of theirs.
                let mut table: toml::Table = "reference = 1.0\nsource = \"s\"".parse().unwrap();
                let v: toml::Table = format!("v = {value}").parse().map_err(|e| format!("{e}"))?;
                table.insert(key.to_owned(), v["v"].clone());
                let r: ScoreReference = toml::Value::Table(table)
                    .try_into()
                    .map_err(|e| format!("{e}"))?;
                Ok(r.random.is_none() && r.reference == 1.0 && r.source == "s")
            }
            Top => {
                let text = format!("{key} = {value}");
                let file = std::path::Path::new("t.toml");
                let e = Experiment::parse(&text, file).map_err(|e| e.to_string())?;
                let d = Experiment::parse("", file).expect("the empty file parses");
                Ok((&e.name, &e.description, &e.seeds) == (&d.name, &d.description, &d.seeds))
            }
        }
    }

    #[test]
    fn stated_defaults_are_the_structs_defaults_and_examples_are_accepted() {
        for k in KEYS {
            let path = k.path();
            match k.default {
                Stated::Value(v) => {
                    assert_eq!(
                        is_default_in(k.section, k.name, v),
                        Ok(true),
                        "{path} = {v}"
                    );
                }
                Stated::Unset { example, .. } | Stated::Required { example } => {
                    // Accepted, and not what holds when the key is absent.
                    assert_eq!(
                        is_default_in(k.section, k.name, example),
                        Ok(false),
                        "{path} = {example}"
                    );
                }
            }
        }
    }

    #[test]
    fn every_choice_is_accepted_for_its_key() {
        for k in KEYS {
            if let Values::Choice(names) = k.values {
                assert!(names().len() >= 2, "{}", k.path());
                for name in names() {
                    let quoted = format!("\"{name}\"");
                    assert!(
                        is_default_in(k.section, k.name, &quoted).is_ok(),
                        "{} = {quoted}",
                        k.path()
                    );
                }
                assert!(is_default_in(k.section, k.name, "\"no-such\"").is_err());
            }
        }
    }

    #[test]
    fn the_reference_is_the_default_experiment() {
        let text = reference_toml();
        let file = std::path::Path::new("t.toml");
        let reference = Experiment::parse(&text, file).unwrap_or_else(|e| panic!("{e}\n{text}"));
        let empty = Experiment::parse("", file).unwrap();
        assert_eq!(reference.runs(), empty.runs());
        assert_eq!(reference.report, empty.report);
        assert_eq!(reference.check, empty.check);
        assert!(text.lines().all(|l| l.chars().count() <= WIDTH), "{text}");
        // Every key is in it, set or commented out.
        for k in KEYS.iter().filter(|k| k.section != Top) {
            let needle = format!("{} = ", k.name);
            assert!(text.contains(&needle), "{}", k.path());
        }
    }
}
