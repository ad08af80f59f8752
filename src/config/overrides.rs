//! Command-line overrides, `--set KEY=VALUE`, as Hydra and CleanRL users write them: the key is
//! a dotted TOML key (`agent.lr`, `seeds`, `report.normalize."MinAtar/Breakout".reference`),
//! the value a TOML value (`1e-3`, `true`, `["dqn", "double"]`: a list sweeps, as in the file),
//! or a bare word taken as a string (`adam-torch`, `MinAtar/Breakout`). Overrides are applied
//! to the file's table before anything is read from it, so they are checked as the file is and
//! change run ids exactly as the same edit of the file would.
//!
//! An overridden experiment gets its own name (results folder) unless `name` is overridden
//! too: `<name>+<key>=<value>,…`, so it never overwrites the file's own results.

use super::grid::display_value;
use super::Problem;
use std::fmt;
use std::str::FromStr;

/// One `--set KEY=VALUE`.
#[derive(Debug, Clone, PartialEq)]
pub struct Override {
    /// The key's path: `["agent", "lr"]`.
    path: Vec<String>,
    value: toml::Value,
    /// `KEY=VALUE` as given.
    text: String,
}

/// A `--set` argument that is not `KEY=VALUE` with a TOML key and value.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum OverrideError {
    #[error("`{0}`: expected KEY=VALUE, e.g. agent.lr=1e-3")]
    NoValue(String),
    #[error("`{text}`: `{key}` is not a TOML key (a dotted name such as agent.lr; quote parts with other characters: report.normalize.\"MinAtar/Breakout\".reference)")]
    Key { text: String, key: String },
    #[error("`{text}`: `{value}` is not a TOML value ({message}); write strings in quotes, e.g. '[\"dqn\", \"double\"]'")]
    Value {
        text: String,
        value: String,
        message: String,
    },
}

impl FromStr for Override {
    type Err = OverrideError;

    fn from_str(text: &str) -> Result<Override, OverrideError> {
        let (key, value) =
            split_at_equals(text).ok_or_else(|| OverrideError::NoValue(text.to_owned()))?;
        let path = key_path(key.trim()).ok_or_else(|| OverrideError::Key {
            text: text.to_owned(),
            key: key.trim().to_owned(),
        })?;
        let value = parse_value(value.trim()).map_err(|message| OverrideError::Value {
            text: text.to_owned(),
            value: value.trim().to_owned(),
            message,
        })?;
        Ok(Override {
            path,
            value,
            text: text.to_owned(),
        })
    }
}

impl fmt::Display for Override {
    /// `--set KEY=VALUE`, as given.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "--set {}", self.text)
    }
}

impl Override {
    /// The key as errors name it: `agent.lr`, `report.normalize."MinAtar/Breakout"`.
    pub fn key(&self) -> String {
        dotted(&self.path)
    }

    pub fn value(&self) -> &toml::Value {
        &self.value
    }

    /// Whether it sets the experiment's name.
    pub fn sets_name(&self) -> bool {
        self.path == ["name"]
    }

    /// Whether an error about `key` concerns this override's value: the same key, a key
    /// inside the table it sets, or the table that holds it.
    pub(crate) fn concerns(&self, key: &str) -> bool {
        let mine = self.key();
        let inside = |outer: &str, inner: &str| {
            inner
                .strip_prefix(outer)
                .is_some_and(|rest| rest.starts_with('.'))
        };
        mine == key || inside(&mine, key) || inside(key, &mine)
    }
}

/// `KEY=VALUE` split at the first `=` outside quotes.
fn split_at_equals(text: &str) -> Option<(&str, &str)> {
    let mut quote = None;
    for (i, c) in text.char_indices() {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, '=') => return Some((&text[..i], &text[i + 1..])),
            _ => {}
        }
    }
    None
}

/// The path of a dotted TOML key, read by the TOML parser itself.
fn key_path(key: &str) -> Option<Vec<String>> {
    if key.is_empty() || key.contains(['\n', '\r', '#']) {
        return None;
    }
    let table: toml::Table = format!("{key} = 0").parse().ok()?;
    let mut path = Vec::new();
    let mut level = &table;
    loop {
        let mut entries = level.iter();
        let (name, value) = entries.next()?;
        if entries.next().is_some() {
            return None;
        }
        path.push(name.clone());
        match value {
            toml::Value::Table(inner) => level = inner,
            toml::Value::Integer(0) => return Some(path),
            _ => return None,
        }
    }
}

/// A TOML value, or a bare word (not starting with a quote, bracket or brace) as a string.
fn parse_value(value: &str) -> Result<toml::Value, String> {
    if value.is_empty() {
        return Err("nothing after `=`; an empty string is written ''".into());
    }
    if value.contains(['\n', '\r']) {
        return Err("a value is one line".into());
    }
    match format!("v = {value}").parse::<toml::Table>() {
        Ok(mut t) if t.len() == 1 && t.contains_key("v") => Ok(t.remove("v").expect("present")),
        Ok(_) => Err("more than one value".into()),
        Err(_) if !value.starts_with(['"', '\'', '[', '{']) => {
            Ok(toml::Value::String(value.to_owned()))
        }
        Err(e) => Err(e.message().trim().to_owned()),
    }
}

/// `["report", "normalize", "MinAtar/Breakout"]` → `report.normalize."MinAtar/Breakout"`.
fn dotted(path: &[String]) -> String {
    let bare = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-'))
    };
    path.iter()
        .map(|s| match bare(s) {
            true => s.clone(),
            false => format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\"")),
        })
        .collect::<Vec<_>>()
        .join(".")
}

/// Apply the overrides in order (a later one wins) to a file's table: a table value is merged
/// into the table it replaces, anything else replaces the value (in place, so a key keeps its
/// position and a swept key its axis order).
pub(crate) fn apply(table: &mut toml::Table, overrides: &[Override]) -> Result<(), Problem> {
    for o in overrides {
        let (last, parents) = o.path.split_last().expect("a key has a name");
        let mut level = &mut *table;
        for (depth, name) in parents.iter().enumerate() {
            let entry = level
                .entry(name.clone())
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            level = match entry {
                toml::Value::Table(t) => t,
                other => {
                    let holder = dotted(&o.path[..=depth]);
                    let message = format!("`{holder}` is {other}, not a table of keys");
                    return Err(Problem::at(o.key(), message));
                }
            };
        }
        match (level.get_mut(last), &o.value) {
            (Some(toml::Value::Table(old)), toml::Value::Table(new)) => merge(old, new),
            _ => {
                level.insert(last.clone(), o.value.clone());
            }
        }
    }
    Ok(())
}

fn merge(into: &mut toml::Table, from: &toml::Table) {
    for (key, value) in from {
        match (into.get_mut(key), value) {
            (Some(toml::Value::Table(old)), toml::Value::Table(new)) => merge(old, new),
            _ => {
                into.insert(key.clone(), value.clone());
            }
        }
    }
}

/// The name of an experiment overridden without a `name` override:
/// `chapter8+agent.lr=0.001,seeds=3`; a long one is cut and completed by a hash of the whole.
pub(crate) fn derived_name(name: &str, overrides: &[Override]) -> String {
    let value = |v: &toml::Value| match v {
        toml::Value::Array(items) => items
            .iter()
            .map(display_value)
            .collect::<Vec<_>>()
            .join(","),
        other => display_value(other),
    };
    let settings: String = overrides
        .iter()
        .map(|o| format!("{}={}", o.key(), value(&o.value)))
        .collect::<Vec<_>>()
        .join(",")
        .chars()
        .map(
            |c| match c.is_ascii_alphanumeric() || "._=,+-".contains(c) {
                true => c,
                false => '_',
            },
        )
        .collect();
    const LONGEST: usize = 80;
    if settings.len() <= LONGEST {
        return format!("{name}+{settings}");
    }
    use sha2::{Digest, Sha256};
    let hash = Sha256::digest(settings.as_bytes());
    let hex: String = hash[..4].iter().map(|b| format!("{b:02x}")).collect();
    format!("{name}+{}-{hex}", &settings[..LONGEST - 9])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(text: &str) -> Override {
        text.parse().unwrap()
    }

    #[test]
    fn keys_are_dotted_toml_keys_and_values_toml_values_or_bare_words() {
        let o = set("agent.lr=1e-3");
        assert_eq!(
            (o.key(), o.value()),
            ("agent.lr".into(), &toml::Value::Float(1e-3))
        );
        assert_eq!(o.to_string(), "--set agent.lr=1e-3");
        let o = set("agent.variant=[\"dqn\", \"double\"]");
        assert_eq!(o.value().as_array().map(Vec::len), Some(2));
        assert_eq!(
            set("agent.optimizer=adam-torch").value().as_str(),
            Some("adam-torch")
        );
        assert_eq!(
            set("env.id=MinAtar/Breakout").value().as_str(),
            Some("MinAtar/Breakout")
        );
        assert_eq!(set("seeds = 3").value().as_integer(), Some(3));
        assert_eq!(set("train.steps=1_000").value().as_integer(), Some(1000));
        let o = set("report.normalize.\"MinAtar/Breakout\".reference=3.4");
        assert_eq!(o.key(), "report.normalize.\"MinAtar/Breakout\".reference");
        assert!(o.concerns("report.normalize.\"MinAtar/Breakout\""));
        assert!(!o.concerns("report.normalize.\"MinAtar/Asterix\""));
        assert!(set("agent.lr=1").concerns("agent.lr") && !set("agent.lr=1").concerns("agent.lrx"));
    }

    #[test]
    fn malformed_overrides_say_what_is_wrong() {
        for (text, says) in [
            ("agent.lr", "expected KEY=VALUE"),
            ("=3", "not a TOML key"),
            ("agent..lr=3", "not a TOML key"),
            ("agent.lr=", "nothing after"),
            ("agent.variant=[dqn,double]", "write strings in quotes"),
            ("agent.lr=\"unterminated", "not a TOML value"),
            ("agent.lr=1\nseeds=4", "one line"),
        ] {
            let e = text.parse::<Override>().unwrap_err().to_string();
            assert!(e.contains(says), "{text}: {e}");
        }
    }

    #[test]
    fn overrides_replace_in_place_merge_tables_and_create_what_is_missing() {
        let mut t: toml::Table = "seeds = 2\n[agent]\nvariant = \"dqn\"\nlr = 0.1\n"
            .parse()
            .unwrap();
        let sets = [
            set("agent.variant=[\"dqn\", \"double\"]"),
            set("train.episodes=5"),
            set("agent={gamma = 0.9}"),
            set("seeds=4"),
        ];
        apply(&mut t, &sets).unwrap();
        let agent = t["agent"].as_table().unwrap();
        let keys: Vec<&str> = agent.keys().map(String::as_str).collect();
        assert_eq!(keys, ["variant", "lr", "gamma"], "in place, then merged");
        assert_eq!(t["train"]["episodes"].as_integer(), Some(5));
        assert_eq!(t["seeds"].as_integer(), Some(4));
        let p = apply(&mut t, &[set("seeds.x=1")]).unwrap_err();
        assert_eq!(
            p,
            Problem::at("seeds.x", "`seeds` is 4, not a table of keys")
        );
    }

    #[test]
    fn derived_names_read_as_the_overrides_and_stay_short() {
        let sets = [
            set("agent.lr=1e-3"),
            set("env.id=MinAtar/Breakout"),
            set("agent.variant=[\"dqn\",\"per\"]"),
        ];
        assert_eq!(
            derived_name("chapter8", &sets),
            "chapter8+agent.lr=0.001,env.id=MinAtar_Breakout,agent.variant=dqn,per"
        );
        let long: Vec<Override> = (0..20).map(|i| set(&format!("agent.lr=0.00{i}"))).collect();
        let name = derived_name("x", &long);
        assert!(name.len() <= 2 + 80, "{name}");
        assert_ne!(name, derived_name("x", &long[1..]));
    }
}
