//! Syscall group `proc` / `sched`: leaving, signals and yielding.
//! `proc_exit` stops the guest with `I32Exit`, which `run.rs` turns into an exit status; it
//! never exits the host process.

use crate::abi::types::*;
use crate::ctx::WasiCtx;
use crate::errno::{I32Exit, errno_name};
use crate::policy::{PolicyTrap, Request, Syscall};
use wiggle::GuestMemory;

/// Mirrors `_exit`: stops the guest with its status. Like wasmtime, a status of 126 or more
/// (outside WASI's `[0, 126)`) is not an exit but a trap. A policy that refuses the exit
/// cannot make it return: the guest stops with the policy's trap instead (for a deny, one
/// naming the errno).
pub(crate) fn proc_exit(
    ctx: &mut WasiCtx,
    _mem: &mut GuestMemory<'_>,
    rval: Exitcode,
) -> wiggle::error::Error {
    let s = Syscall::ProcExit;
    // The policy sees the status: ending the run is an effect the host acts on.
    if let Err(refused) = ctx.gate.check(s, || Request::new(s).code(rval)) {
        return match refused.downcast() {
            Ok(errno) => wiggle::error::Error::new(PolicyTrap {
                syscall: s,
                message: format!("exit denied ({})", errno_name(errno)).into(),
            }),
            Err(trap) => trap,
        };
    }
    match i32::try_from(rval) {
        // 126 and up mean something else to a shell (126: not executable, 128+n: killed by signal
        // n), so they are never reported as the guest's own status.
        Ok(code) if code < 126 => wiggle::error::Error::new(I32Exit(code)),
        _ => wiggle::error::Error::msg("exit with invalid exit status outside of [0..126)"),
    }
}

/// Mirrors `raise`. Errors: ENOTSUP always (as wasmtime: there is no one to deliver it to);
/// EINVAL for an unknown signal (from the decoder).
pub(crate) fn proc_raise(
    ctx: &mut WasiCtx,
    _mem: &mut GuestMemory<'_>,
    sig: Signal,
) -> Result<(), Error> {
    let s = Syscall::ProcRaise;
    // Asked although nothing is delivered: a rule may still trap a guest that tries.
    ctx.gate.check(s, || Request::new(s).code(sig as u32))?;
    Err(Errno::Notsup.into())
}

/// Mirrors `sched_yield`. Errors: none.
pub(crate) fn sched_yield(ctx: &mut WasiCtx, _mem: &mut GuestMemory<'_>) -> Result<(), Error> {
    let s = Syscall::SchedYield;
    ctx.gate.check(s, || Request::new(s))?;
    // Never blocks, so no deadline is needed: the thread only offers its core to another.
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
