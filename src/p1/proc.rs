//! Syscall group `proc` / `sched`: leaving, signals and yielding.
//! `proc_exit` stops the guest with `I32Exit`, which `run.rs` turns into an exit status; it
//! never exits the host process.

use crate::abi::types::*;
use crate::ctx::WasiCtx;
use crate::run::I32Exit;
use wiggle::GuestMemory;

/// Mirrors `_exit`: stops the guest with its status. Like wasmtime, a status of 126 or more
/// (outside WASI's `[0, 126)`) is not an exit but a trap.
pub(crate) fn proc_exit(
    _ctx: &mut WasiCtx,
    _mem: &mut GuestMemory<'_>,
    rval: Exitcode,
) -> wiggle::error::Error {
    match i32::try_from(rval) {
        Ok(code) if code < 126 => wiggle::error::Error::new(I32Exit(code)),
        _ => wiggle::error::Error::msg("exit with invalid exit status outside of [0..126)"),
    }
}

/// Mirrors `raise`. Errors: ENOTSUP always (as wasmtime: there is no one to deliver it to);
/// EINVAL for an unknown signal (from the decoder).
pub(crate) fn proc_raise(
    _ctx: &mut WasiCtx,
    _mem: &mut GuestMemory<'_>,
    _sig: Signal,
) -> Result<(), Error> {
    Err(Errno::Notsup.into())
}

/// Mirrors `sched_yield`. Errors: none.
pub(crate) fn sched_yield(_ctx: &mut WasiCtx, _mem: &mut GuestMemory<'_>) -> Result<(), Error> {
    std::thread::yield_now();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_below_126_exit_and_others_trap() {
        let mut ctx = WasiCtx::builder().build();
        let mut raw = vec![];
        let mut mem = GuestMemory::Unshared(&mut raw);
        let e = proc_exit(&mut ctx, &mut mem, 3);
        assert_eq!(e.downcast_ref::<I32Exit>(), Some(&I32Exit(3)));
        for code in [126, 255, u32::MAX] {
            let e = proc_exit(&mut ctx, &mut mem, code);
            assert!(e.downcast_ref::<I32Exit>().is_none());
        }
    }
}
