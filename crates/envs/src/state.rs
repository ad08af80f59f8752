//! The envelope every saved env state is written in (postcard): a magic number, a format
//! version and the kind of env, then the env's own state, then a 64-bit FNV-1a checksum of all
//! that. Loading checks the checksum, the header and that no byte is left over, so garbage, a
//! truncated or damaged state or another env's state is [`EnvStateError::Corrupt`] rather than
//! a panic or a silently wrong env (ALE would abort the process on a damaged state). Wrappers
//! nest their inner env's envelope as bytes inside their own.

use crate::EnvStateError;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::fmt::Debug;

/// The first bytes of every saved state.
const MAGIC: [u8; 4] = *b"dqnE";
/// Bumped whenever any env's saved layout changes.
const FORMAT: u16 = 1;

/// `body`, the state of an env of kind `kind`, in the envelope.
pub(crate) fn encode<T: Serialize>(kind: &str, body: &T) -> Result<Vec<u8>, EnvStateError> {
    let fail = |e: postcard::Error| EnvStateError::Unsupported(format!("{kind}: {e}"));
    let mut out = postcard::to_allocvec(&(MAGIC, FORMAT, kind)).map_err(fail)?;
    out.extend(postcard::to_allocvec(body).map_err(fail)?);
    out.extend(fnv1a(&out).to_le_bytes());
    Ok(out)
}

/// 64-bit FNV-1a.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The state of an env of kind `kind` out of its envelope.
pub(crate) fn decode<T: DeserializeOwned>(kind: &str, bytes: &[u8]) -> Result<T, EnvStateError> {
    let corrupt = |what: &str, e: postcard::Error| {
        EnvStateError::Corrupt(format!("{kind}: {what} does not decode ({e})"))
    };
    let sum_at = bytes.len().checked_sub(8).ok_or_else(|| {
        EnvStateError::Corrupt(format!("{kind}: {} bytes is too short", bytes.len()))
    })?;
    let (bytes, sum) = bytes.split_at(sum_at);
    if sum != fnv1a(bytes).to_le_bytes() {
        return Err(EnvStateError::Corrupt(format!(
            "{kind}: checksum mismatch (damaged, truncated or not a saved env state)"
        )));
    }
    let ((magic, format, saved_kind), rest): (([u8; 4], u16, String), _) =
        postcard::take_from_bytes(bytes).map_err(|e| corrupt("the header", e))?;
    if magic != MAGIC {
        return Err(EnvStateError::Corrupt(format!(
            "{kind}: not a saved env state (the header is {magic:02x?})"
        )));
    }
    if format != FORMAT {
        return Err(EnvStateError::Corrupt(format!(
            "{kind}: saved in format {format}, this build reads format {FORMAT}"
        )));
    }
    if saved_kind != kind {
        return Err(EnvStateError::Corrupt(format!(
            "the state of a {saved_kind}, not of a {kind}"
        )));
    }
    let (body, rest) = postcard::take_from_bytes(rest).map_err(|e| corrupt("the state", e))?;
    if !rest.is_empty() {
        return Err(EnvStateError::Corrupt(format!(
            "{kind}: {} bytes after the end of the state",
            rest.len()
        )));
    }
    Ok(body)
}

/// `Ok` when a setting stored in a state is the loading env's own.
pub(crate) fn same<T: PartialEq + Debug>(
    kind: &str,
    setting: &str,
    saved: T,
    here: T,
) -> Result<(), EnvStateError> {
    if saved == here {
        Ok(())
    } else {
        Err(EnvStateError::Corrupt(format!(
            "{kind}: saved with {setting} {saved:?}, this env has {here:?}"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelopes_round_trip_and_reject_what_is_not_theirs() {
        let bytes = encode("Thing", &(1.5f64, 7u32)).unwrap();
        assert_eq!(decode::<(f64, u32)>("Thing", &bytes).unwrap(), (1.5, 7));
        let rejects = |b: &[u8], kind: &str| {
            matches!(
                decode::<(f64, u32)>(kind, b),
                Err(EnvStateError::Corrupt(_))
            )
        };
        assert!(rejects(&bytes, "Other"));
        assert!(rejects(&[], "Thing"));
        assert!(rejects(&[0xff; 40], "Thing"));
        for n in 0..bytes.len() {
            assert!(rejects(&bytes[..n], "Thing"), "truncated to {n}");
        }
        assert!(rejects(&[bytes.as_slice(), &[0]].concat(), "Thing"));
        for i in 0..bytes.len() {
            let mut damaged = bytes.clone();
            damaged[i] ^= 0x10;
            assert!(rejects(&damaged, "Thing"), "byte {i} damaged");
        }
    }
}
