//! The keys a section struct accepts and the names an enum accepts, read from their serde
//! derives: a deserializer that only records what the derive asks it for. Key checks, the
//! key reference (`keys.rs`) and its tests use it, so no list of keys is kept by hand.

use serde::de::{self, Deserialize, Visitor};
use std::fmt;

/// What the derive asked for; an error, so that deserialization stops there.
#[derive(Debug)]
enum Asked {
    Fields(&'static [&'static str]),
    Variants(&'static [&'static str]),
    Other(String),
}

impl fmt::Display for Asked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Asked::Fields(names) | Asked::Variants(names) => write!(f, "{}", names.join(", ")),
            Asked::Other(message) => f.write_str(message),
        }
    }
}

impl std::error::Error for Asked {}

impl de::Error for Asked {
    fn custom<T: fmt::Display>(message: T) -> Self {
        Asked::Other(message.to_string())
    }
}

/// A deserializer with nothing in it but the question it is asked.
struct Recorder;

impl<'de> de::Deserializer<'de> for Recorder {
    type Error = Asked;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Asked> {
        Err(Asked::Other("neither a struct nor an enum".into()))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        fields: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, Asked> {
        Err(Asked::Fields(fields))
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _: &'static str,
        variants: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, Asked> {
        Err(Asked::Variants(variants))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map identifier ignored_any
    }
}

/// Every key the derived `Deserialize` of struct `T` accepts, in declaration order (fields
/// left out of its JSON at their defaults included); empty for anything else.
pub fn struct_fields<T: for<'de> Deserialize<'de>>() -> &'static [&'static str] {
    match T::deserialize(Recorder) {
        Err(Asked::Fields(fields)) => fields,
        _ => &[],
    }
}

/// Every name the derived `Deserialize` of enum `T` accepts (aliases aside); empty for
/// anything else.
pub fn enum_variants<T: for<'de> Deserialize<'de>>() -> &'static [&'static str] {
    match T::deserialize(Recorder) {
        Err(Asked::Variants(variants)) => variants,
        _ => &[],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{AgentConfig, LossKind, OptimizerKind, TrainConfig, Variant};

    #[test]
    fn fields_and_variants_come_from_the_derives() {
        let agent = struct_fields::<AgentConfig>();
        assert_eq!(agent[..3], ["variant", "gamma", "lr"]);
        // Fields left out of the JSON at their defaults are keys all the same.
        assert!(agent.contains(&"adam_eps") && agent.contains(&"mlp_hidden"));
        assert!(struct_fields::<TrainConfig>().contains(&"device"));
        assert_eq!(enum_variants::<LossKind>(), ["mse", "huber"]);
        assert!(enum_variants::<OptimizerKind>().contains(&"rmsprop-nature"));
        // A hand-written Deserialize (a string) is neither.
        assert!(enum_variants::<Variant>().is_empty() && struct_fields::<Variant>().is_empty());
    }
}
