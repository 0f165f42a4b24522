//! TODO

use crate::abi::types::*;
use crate::ctx::WasiCtx;
#[allow(unused_imports)]
use wiggle::{GuestMemory, GuestPtr};

pub(crate) fn proc_exit(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    rval: Exitcode,
) -> wiggle::error::Error {
    todo!()
}

pub(crate) fn proc_raise(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    sig: Signal,
) -> Result<(), Error> {
    todo!()
}

pub(crate) fn sched_yield(ctx: &mut WasiCtx, mem: &mut GuestMemory<'_>) -> Result<(), Error> {
    todo!()
}
