//! Syscall group `random`: bytes from the source the embedder granted (`crate::random`).
//! The guest buffer is filled in place, in bounded chunks: a huge length never becomes a host
//! allocation. Not granted (the default) → ENOTCAPABLE.

use crate::abi::types::*;
use crate::ctx::WasiCtx;
use crate::guest;
use crate::policy::{Request, Syscall};
use wiggle::{GuestMemory, GuestPtr};

/// Bytes handed to the source per call: keeps each host request small and uniform.
const CHUNK: usize = crate::limits::RANDOM_CHUNK;

/// Mirrors `getentropy` without its 256-byte limit. Errors: ENOTCAPABLE (randomness not
/// granted), EIO (the host source failed). Out-of-bounds buffers trap, even when not granted.
pub(crate) fn random_get(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    buf: GuestPtr<u8>,
    buf_len: Size,
) -> Result<(), Error> {
    // The guest's own buffer is filled in place: no host buffer of `buf_len` bytes ever exists.
    let dest = guest::bytes_mut(mem, buf.offset(), buf_len)?;
    // The grant before the policy: no rule (or person) is asked about a source that is not
    // there.
    if !ctx.random.is_granted() {
        return Err(Errno::Notcapable.into());
    }
    let s = Syscall::RandomGet;
    ctx.gate
        .check(s, || Request::new(s).bytes(u64::from(buf_len)))?;
    for chunk in dest.chunks_mut(CHUNK) {
        // A failed source fails the call (EIO) rather than hand back bytes the guest would take
        // for random ones.
        if !ctx.random.fill(chunk) {
            return Err(Errno::Io.into());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ungranted_is_not_capable_and_oob_traps() {
        let mut ctx = WasiCtx::builder().build();
        let mut raw = vec![0u8; 64];
        let mut mem = GuestMemory::Unshared(&mut raw);
        let e = random_get(&mut ctx, &mut mem, GuestPtr::new(0), 8).unwrap_err();
        assert_eq!(e.downcast().unwrap(), Errno::Notcapable);
        let e = random_get(&mut ctx, &mut mem, GuestPtr::new(60), 8).unwrap_err();
        assert!(e.downcast().is_err());
    }

    #[test]
    fn seeded_fills_the_whole_buffer_deterministically() {
        let fill = || {
            let mut ctx = WasiCtx::builder().seeded_random(7).build();
            let mut raw = vec![0u8; 200_000];
            let mut mem = GuestMemory::Unshared(&mut raw);
            random_get(&mut ctx, &mut mem, GuestPtr::new(1), 199_999).unwrap();
            raw
        };
        let a = fill();
        assert_eq!(a, fill());
        assert_eq!(a[0], 0);
        assert!(a[190_000..].iter().any(|&b| b != 0));
    }
}
