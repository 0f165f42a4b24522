//! Syscall group `args` / `environ`: the command line and environment the embedder granted.
//! Strings are written NUL-terminated into the guest's buffer with a pointer array beside it,
//! exactly as wasmtime lays them out. Every write is bounds-checked (out of bounds traps);
//! nothing here allocates host memory beyond what the embedder already holds.

use crate::abi::types::*;
use crate::ctx::WasiCtx;
use crate::policy::{Request, Syscall};
use wiggle::{GuestMemory, GuestPtr};

/// Writes `strings` (each the concatenation of its parts, then NUL) to `buf` and a pointer to
/// each into `array`. Traps if either runs past guest memory.
fn write_strings<'s>(
    mem: &mut GuestMemory<'_>,
    mut array: GuestPtr<GuestPtr<u8>>,
    mut buf: GuestPtr<u8>,
    strings: impl Iterator<Item = [&'s [u8]; 3]>,
) -> Result<(), Error> {
    for parts in strings {
        // Every store is bounds-checked on its own (by wiggle) against guest memory, not against
        // the sizes the guest was told: a buffer too small for them overruns only into the
        // guest's own memory, and one that runs past its end traps.
        mem.write(array, buf)?;
        // Checked pointer arithmetic: an array at the top of the address space traps rather
        // than wrapping round to address 0.
        array = array.add(1)?;
        // The parts are copied where they are held: no "KEY=VALUE" string is built per call.
        for part in parts.into_iter().chain([&b"\0"[..]]) {
            // A host string past 4 GiB cannot fit guest memory; EOVERFLOW, as `sizes` answers.
            let len = u32::try_from(part.len()).map_err(|_| Errno::Overflow)?;
            mem.copy_from_slice(part, buf.as_array(len))?;
            buf = buf.add(len)?;
        }
    }
    Ok(())
}

/// Counts `strings` and their bytes with their terminators. Errors: EOVERFLOW past u32.
fn sizes<'s>(strings: impl Iterator<Item = [&'s [u8]; 3]>) -> Result<(Size, Size), Error> {
    // Summed in u64: the embedder's strings may total more than a u32 `size` can say, and a
    // wrapped total would make the guest allocate too little for `*_get`.
    let (mut count, mut bytes) = (0u64, 0u64);
    for parts in strings {
        count += 1;
        bytes += parts.iter().map(|p| p.len() as u64).sum::<u64>() + 1;
    }
    let count = u32::try_from(count).map_err(|_| Errno::Overflow)?;
    let bytes = u32::try_from(bytes).map_err(|_| Errno::Overflow)?;
    Ok((count, bytes))
}

// Arguments in the same three-part shape as variables, so that one writer and one counter
// serve both and `*_sizes_get` can never disagree with what `*_get` writes.
fn args(ctx: &WasiCtx) -> impl Iterator<Item = [&[u8]; 3]> {
    ctx.args.iter().map(|a| [a.as_bytes(), b"", b""])
}

fn env(ctx: &WasiCtx) -> impl Iterator<Item = [&[u8]; 3]> {
    ctx.env
        .iter()
        .map(|(k, v)| [k.as_bytes(), b"=".as_slice(), v.as_bytes()])
}

/// Mirrors C's `argv`: pointers into `argv`, NUL-terminated strings into `argv_buf`.
/// Errors: none (out-of-bounds pointers trap).
pub(crate) fn args_get(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    argv: GuestPtr<GuestPtr<u8>>,
    argv_buf: GuestPtr<u8>,
) -> Result<(), Error> {
    let s = Syscall::ArgsGet;
    // The policy first: a refused call writes nothing into guest memory.
    ctx.gate.check(s, || Request::new(s))?;
    write_strings(mem, argv, argv_buf, args(ctx))
}

/// The `argc` and the buffer size `args_get` needs. Errors: EOVERFLOW.
pub(crate) fn args_sizes_get(
    ctx: &mut WasiCtx,
    _mem: &mut GuestMemory<'_>,
) -> Result<(Size, Size), Error> {
    let s = Syscall::ArgsSizesGet;
    ctx.gate.check(s, || Request::new(s))?;
    // The two results are stored by the decoder's glue once this returns: a bad result
    // pointer traps there, after nothing but this count.
    sizes(args(ctx))
}

/// Mirrors C's `environ`: "KEY=VALUE" strings. Errors: none (out-of-bounds pointers trap).
pub(crate) fn environ_get(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    environ: GuestPtr<GuestPtr<u8>>,
    environ_buf: GuestPtr<u8>,
) -> Result<(), Error> {
    let s = Syscall::EnvironGet;
    ctx.gate.check(s, || Request::new(s))?;
    // Only what the embedder granted: the host's own environment is never read here.
    write_strings(mem, environ, environ_buf, env(ctx))
}

/// The number of variables and the buffer size `environ_get` needs. Errors: EOVERFLOW.
pub(crate) fn environ_sizes_get(
    ctx: &mut WasiCtx,
    _mem: &mut GuestMemory<'_>,
) -> Result<(Size, Size), Error> {
    let s = Syscall::EnvironSizesGet;
    ctx.gate.check(s, || Request::new(s))?;
    sizes(env(ctx))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> WasiCtx {
        WasiCtx::builder()
            .args(["prog", "-x"])
            .env("A", "1")
            .env("LANG", "C")
            .build()
    }

    #[test]
    fn args_and_env_are_laid_out_like_c() {
        let mut ctx = ctx();
        let mut raw = vec![0u8; 256];
        let mut mem = GuestMemory::Unshared(&mut raw);
        assert_eq!(args_sizes_get(&mut ctx, &mut mem).unwrap(), (2, 8));
        assert_eq!(environ_sizes_get(&mut ctx, &mut mem).unwrap(), (2, 11));
        args_get(&mut ctx, &mut mem, GuestPtr::new(0), GuestPtr::new(16)).unwrap();
        environ_get(&mut ctx, &mut mem, GuestPtr::new(64), GuestPtr::new(80)).unwrap();
        assert_eq!(&raw[0..8], &[16, 0, 0, 0, 21, 0, 0, 0]);
        assert_eq!(&raw[16..24], b"prog\0-x\0");
        assert_eq!(&raw[64..72], &[80, 0, 0, 0, 84, 0, 0, 0]);
        assert_eq!(&raw[80..91], b"A=1\0LANG=C\0");
    }

    #[test]
    fn out_of_bounds_buffer_traps() {
        let mut ctx = ctx();
        let mut raw = vec![0u8; 64];
        let mut mem = GuestMemory::Unshared(&mut raw);
        let err = args_get(&mut ctx, &mut mem, GuestPtr::new(0), GuestPtr::new(60)).unwrap_err();
        assert!(err.downcast().is_err(), "a trap, not an errno");
        let err = environ_get(&mut ctx, &mut mem, GuestPtr::new(62), GuestPtr::new(0)).unwrap_err();
        assert!(err.downcast().is_err(), "a trap, not an errno");
    }
}
