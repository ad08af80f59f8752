//! Host-side im2col: how one channel-first `u8` observation becomes the first layer's patch
//! matrix (the network input), for the MinAtar and Nature networks.

use std::fmt;

// ---------------------------------------------------------------------------------------------
// Observation encoding (host-side im2col of the first layer)
// ---------------------------------------------------------------------------------------------

/// Why an observation could not be encoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EncodeError {
    /// The observation slice does not hold `C × side × side` bytes.
    ObsLen { expected: usize, got: usize },
    /// The output slice does not hold the network's `IN` values.
    OutLen { expected: usize, got: usize },
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EncodeError::ObsLen { expected, got } => {
                write!(
                    f,
                    "observation has {got} bytes, the network expects {expected}"
                )
            }
            EncodeError::OutLen { expected, got } => {
                write!(
                    f,
                    "encoding buffer has {got} values, the network takes {expected}"
                )
            }
        }
    }
}

impl std::error::Error for EncodeError {}

/// How one observation (channel-first `u8`) becomes the network's `IN` input values.
pub trait EncodeObs {
    /// Bytes of one observation: `C × side × side`, channel-first `(c, y, x)`.
    const OBS_LEN: usize;
    /// Input values per observation (the `IN` of `Batch<IN>`).
    const IN: usize;

    /// Encode one observation into `out` (`IN` values).
    fn try_encode(obs: &[u8], out: &mut [f32]) -> Result<(), EncodeError>;

    /// Encode a batch of observations into `out`, row-major `observations.len() × IN`.
    fn try_encode_batch(observations: &[&[u8]], out: &mut [f32]) -> Result<(), EncodeError> {
        let expected = observations.len() * Self::IN;
        if out.len() != expected {
            return Err(EncodeError::OutLen {
                expected,
                got: out.len(),
            });
        }
        for (obs, row) in observations.iter().zip(out.chunks_exact_mut(Self::IN)) {
            Self::try_encode(obs, row)?;
        }
        Ok(())
    }
}

fn check_lengths(obs: &[u8], out: &[f32], obs_len: usize, inp: usize) -> Result<(), EncodeError> {
    if obs.len() != obs_len {
        return Err(EncodeError::ObsLen {
            expected: obs_len,
            got: obs.len(),
        });
    }
    if out.len() != inp {
        return Err(EncodeError::OutLen {
            expected: inp,
            got: out.len(),
        });
    }
    Ok(())
}

/// im2col of one channel-first `C × SIDE × SIDE` image for a `K × K`, stride-`S` convolution
/// without padding. Output row `p = oy·OUT + ox` (`OUT = (SIDE − K)/S + 1`) is the patch under
/// that position in `(c, ky, kx)` order, each byte mapped through `value`:
/// `out[p·C·K² + (c·K + ky)·K + kx] = value(obs[c, S·oy + ky, S·ox + kx])`.
/// Lengths must have been checked by the caller.
pub(crate) fn im2col<const C: usize, const SIDE: usize, const K: usize, const S: usize>(
    obs: &[u8],
    out: &mut [f32],
    value: impl Fn(u8) -> f32,
) {
    let image: Vec<f32> = obs.iter().map(|&v| value(v)).collect();
    let (side_out, patch) = ((SIDE - K) / S + 1, C * K * K);
    for c in 0..C {
        for ky in 0..K {
            for oy in 0..side_out {
                // Image line S·oy + ky of channel c feeds kernel row ky of every patch of
                // output row oy: patch ox takes its K values from column S·ox on.
                let line = &image[(c * SIDE + S * oy + ky) * SIDE..][..SIDE];
                let first = oy * side_out * patch + (c * K + ky) * K;
                let runs = out[first..].chunks_mut(patch);
                for (src, dst) in line.windows(K).step_by(S).zip(runs) {
                    dst[..K].copy_from_slice(src);
                }
            }
        }
    }
}

/// MinAtar board side.
pub const MINATAR_SIDE: usize = 10;
/// MinAtar conv output positions (8 × 8).
pub const MINATAR_POSITIONS: usize = 64;
/// Atari frame side after the DQN preprocessing.
pub const NATURE_SIDE: usize = 84;
/// Nature conv-1 output positions (20 × 20).
pub const NATURE_POSITIONS: usize = 400;
/// Encode a MinAtar observation (`C × 10 × 10`, channel-first, values 0/1) as the 64 im2col
/// patches of the 3×3 stride-1 conv: `out[p·9C + (c·3 + ky)·3 + kx] = obs[c, oy + ky, ox + kx]`,
/// `p = oy·8 + ox`. `out` holds `64 · 9 · C` values.
pub fn encode_minatar<const C: usize>(obs: &[u8], out: &mut [f32]) -> Result<(), EncodeError> {
    check_lengths(
        obs,
        out,
        C * MINATAR_SIDE * MINATAR_SIDE,
        MINATAR_POSITIONS * 9 * C,
    )?;
    im2col::<C, MINATAR_SIDE, 3, 1>(obs, out, f32::from);
    Ok(())
}

/// MinAtar conv output positions with SAME padding (10 × 10).
pub const MINATAR_SAME_POSITIONS: usize = 100;

/// Encode a MinAtar observation as the 100 im2col patches of a 3×3 stride-1 conv with SAME
/// padding (flax's default, Revisiting Rainbow's network): the board padded by one zero on
/// each side, then as [`encode_minatar`]: `out[p·9C + (c·3 + ky)·3 + kx] =
/// obs[c, oy + ky − 1, ox + kx − 1]` (0 off the board), `p = oy·10 + ox`. `out` holds
/// `100 · 9 · C` values.
pub fn encode_minatar_same<const C: usize>(obs: &[u8], out: &mut [f32]) -> Result<(), EncodeError> {
    const PADDED: usize = MINATAR_SIDE + 2;
    check_lengths(
        obs,
        out,
        C * MINATAR_SIDE * MINATAR_SIDE,
        MINATAR_SAME_POSITIONS * 9 * C,
    )?;
    let mut padded = vec![0u8; C * PADDED * PADDED];
    for (c, board) in obs.chunks_exact(MINATAR_SIDE * MINATAR_SIDE).enumerate() {
        for (y, row) in board.chunks_exact(MINATAR_SIDE).enumerate() {
            let at = (c * PADDED + y + 1) * PADDED + 1;
            padded[at..at + MINATAR_SIDE].copy_from_slice(row);
        }
    }
    im2col::<C, PADDED, 3, 1>(&padded, out, f32::from);
    Ok(())
}

/// Encode a preprocessed Atari observation (`C × 84 × 84` frames, channel-first, 0..=255) as the
/// 400 im2col patches of the 8×8 stride-4 conv, scaled by 1/255 (Mnih et al. 2015):
/// `out[p·64C + (c·8 + ky)·8 + kx] = obs[c, 4·oy + ky, 4·ox + kx] / 255`, `p = oy·20 + ox`.
/// `out` holds `400 · 64 · C` values.
pub fn encode_nature<const C: usize>(obs: &[u8], out: &mut [f32]) -> Result<(), EncodeError> {
    check_lengths(
        obs,
        out,
        C * NATURE_SIDE * NATURE_SIDE,
        NATURE_POSITIONS * 64 * C,
    )?;
    im2col::<C, NATURE_SIDE, 8, 4>(obs, out, |v| f32::from(v) / 255.0);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_padding_patches_see_zeros_off_the_board() {
        // One channel, one cell lit at (0, 0) and one at (9, 9).
        let mut obs = vec![0u8; 100];
        obs[0] = 1;
        obs[99] = 1;
        let mut out = vec![9.0f32; 900];
        encode_minatar_same::<1>(&obs, &mut out).unwrap();
        let patch = |p: usize| &out[p * 9..p * 9 + 9];
        // Position (0, 0): the lit cell is the kernel's centre, its top row and left column are
        // padding.
        assert_eq!(patch(0), &[0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0]);
        // Position (1, 1) sees it at the kernel's top-left; (9, 9) sees the other at its centre.
        assert_eq!(patch(11), &[1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]);
        assert_eq!(patch(99), &[0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0]);
        assert_eq!(
            out.iter().sum::<f32>(),
            8.0,
            "a corner cell is in 4 patches"
        );
        // The VALID encoding's patches are the SAME encoding's inner 8 × 8 positions.
        let mut valid = vec![0.0f32; 576];
        let obs: Vec<u8> = (0..100).map(|k| (k * 7 % 3 == 0) as u8).collect();
        encode_minatar::<1>(&obs, &mut valid).unwrap();
        encode_minatar_same::<1>(&obs, &mut out).unwrap();
        for (p, v) in valid.chunks_exact(9).enumerate() {
            let (oy, ox) = (p / 8, p % 8);
            let same = (oy + 1) * 10 + ox + 1;
            assert_eq!(v, &out[same * 9..same * 9 + 9], "position {p}");
        }
    }
}
