//! The random source the embedder grants: the host's CSPRNG, or a seeded generator for
//! reproducible runs. Nothing is granted by default.

/// Where `random_get` bytes come from.
pub enum RandomSource {
    /// Not granted: `random_get` fails.
    None,
    /// The host operating system's CSPRNG.
    Os,
    /// A deterministic generator (SplitMix64 stream) from a seed.
    Seeded(u64),
}

impl RandomSource {
    /// Fills `buf`; `false` if randomness is not granted or the host failed.
    pub fn fill(&mut self, buf: &mut [u8]) -> bool {
        match self {
            RandomSource::None => false,
            RandomSource::Os => getrandom::fill(buf).is_ok(),
            RandomSource::Seeded(state) => {
                for chunk in buf.chunks_mut(8) {
                    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
                    let mut z = *state;
                    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
                    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
                    z ^= z >> 31;
                    chunk.copy_from_slice(&z.to_le_bytes()[..chunk.len()]);
                }
                true
            }
        }
    }

    /// Whether any randomness is granted.
    pub fn is_granted(&self) -> bool {
        !matches!(self, RandomSource::None)
    }
}
