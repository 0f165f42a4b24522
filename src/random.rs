//! The random source the embedder grants: the host's CSPRNG, or a seeded generator for
//! reproducible runs. Nothing is granted by default. Small OS requests are served from a
//! per-thread pool refilled 4 KiB at a time by ChaCha12 keyed from the kernel (and rekeyed
//! every [`RESEED_AFTER`] bytes), as `rand`'s `ThreadRng` and wasmtime-wasi do: a guest asking
//! for 16 bytes pays neither a `getrandom` system call nor the kernel's per-byte cost.
//! Large requests go to the kernel directly.

use chacha20::ChaCha12Rng;
use rand_core::{Rng, SeedableRng};
use std::cell::RefCell;

/// Bytes generated per refill of a thread's pool.
const POOL: usize = 4096;

/// Bytes a thread's generator produces before it is keyed afresh from the kernel.
const RESEED_AFTER: usize = 1 << 20;

/// Requests above this go to the kernel directly (they would drain the pool at once).
const POOLED_MAX: usize = 256;

/// Kernel randomness not yet handed out. Every byte is served once, then zeroed: no two
/// requests (of one guest or of two guests on the same thread) ever see the same bytes, and
/// what was served does not linger in host memory.
struct Pool {
    bytes: [u8; POOL],
    /// Bytes at the front already served (and zeroed).
    used: usize,
    /// The generator refilling `bytes`, keyed from the kernel on first use.
    generator: Option<ChaCha12Rng>,
    /// Bytes `generator` has produced since it was keyed.
    generated: usize,
}

impl Pool {
    /// Refills `bytes` (rekeying first when due); `false` if the kernel failed.
    fn refill(&mut self) -> bool {
        if self.generator.is_none() || self.generated >= RESEED_AFTER {
            let mut seed = [0u8; 32];
            if getrandom::fill(&mut seed).is_err() {
                return false;
            }
            self.generator = Some(ChaCha12Rng::from_seed(seed));
            seed.fill(0);
            self.generated = 0;
        }
        let Some(generator) = &mut self.generator else {
            return false;
        };
        generator.fill_bytes(&mut self.bytes);
        self.generated += POOL;
        self.used = 0;
        true
    }
}

thread_local! {
    static OS_POOL: RefCell<Pool> = const {
        RefCell::new(Pool { bytes: [0; POOL], used: POOL, generator: None, generated: 0 })
    };
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
        if POOL - pool.used < buf.len() && !pool.refill() {
            return false;
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

    #[test]
    fn the_pool_generator_is_rekeyed_and_its_output_looks_uniform() {
        let mut source = RandomSource::Os;
        let mut counts = [0u32; 256];
        // Past one rekeying, in 16-byte requests.
        for _ in 0..(RESEED_AFTER + 2 * POOL) / 16 {
            let mut block = [0u8; 16];
            assert!(source.fill(&mut block));
            block.iter().for_each(|&b| counts[b as usize] += 1);
        }
        OS_POOL.with(|pool| assert!(pool.borrow().generated < RESEED_AFTER));
        // ~4,100 of each byte value expected; a broken generator is far outside ±25%.
        let expected = (RESEED_AFTER + 2 * POOL) as f64 / 256.0;
        for (value, &n) in counts.iter().enumerate() {
            let n = f64::from(n);
            assert!((n - expected).abs() < expected / 4.0, "byte {value}: {n}");
        }
    }
}
