//! The random source the embedder grants: the host's CSPRNG, or a seeded generator for
//! reproducible runs. Nothing is granted by default. Small OS requests are served from a
//! per-thread pool of kernel randomness, refilled 4 KiB at a time, so that a guest asking for
//! 16 bytes does not pay a `getrandom` system call each time.

use std::cell::RefCell;

/// Bytes fetched from the kernel per refill of a thread's pool.
const POOL: usize = 4096;

/// Requests above this go to the kernel directly (they would drain the pool at once).
const POOLED_MAX: usize = 256;

/// Kernel randomness not yet handed out. Every byte is served once, then zeroed: no two
/// requests (of one guest or of two guests on the same thread) ever see the same bytes, and
/// what was served does not linger in host memory.
struct Pool {
    bytes: [u8; POOL],
    /// Bytes at the front already served (and zeroed).
    used: usize,
}

thread_local! {
    static OS_POOL: RefCell<Pool> = const { RefCell::new(Pool { bytes: [0; POOL], used: POOL }) };
}

/// Fills `buf` with kernel randomness, through this thread's pool for small requests.
fn os_fill(buf: &mut [u8]) -> bool {
    if buf.len() > POOLED_MAX {
        return getrandom::fill(buf).is_ok();
    }
    OS_POOL.with(|pool| {
        let Ok(mut pool) = pool.try_borrow_mut() else {
            return getrandom::fill(buf).is_ok();
        };
        if POOL - pool.used < buf.len() {
            if getrandom::fill(&mut pool.bytes).is_err() {
                return false;
            }
            pool.used = 0;
        }
        let start = pool.used;
        let Some(served) = pool.bytes.get_mut(start..start + buf.len()) else {
            return false;
        };
        buf.copy_from_slice(served);
        served.fill(0);
        pool.used += buf.len();
        true
    })
}

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
            RandomSource::Os => os_fill(buf),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn os_requests_never_repeat_bytes_and_large_ones_bypass_the_pool() {
        let mut source = RandomSource::Os;
        let mut seen = std::collections::HashSet::new();
        // More than one pool's worth, in small requests: every 16-byte block is fresh.
        for _ in 0..(2 * POOL / 16) {
            let mut block = [0u8; 16];
            assert!(source.fill(&mut block));
            assert!(seen.insert(block), "a 16-byte block repeated");
        }
        let mut big = vec![0u8; 10_000];
        assert!(source.fill(&mut big));
        assert!(big.iter().any(|&b| b != 0));
        let mut empty = [0u8; 0];
        assert!(source.fill(&mut empty));
    }
}
