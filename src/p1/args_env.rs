//! TODO

use crate::abi::types::*;
use crate::ctx::WasiCtx;
#[allow(unused_imports)]
use wiggle::{GuestMemory, GuestPtr};

pub(crate) fn args_get(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    argv: GuestPtr<GuestPtr<u8>>,
    argv_buf: GuestPtr<u8>,
) -> Result<(), Error> {
    todo!()
}

pub(crate) fn args_sizes_get(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
) -> Result<(Size, Size), Error> {
    todo!()
}

pub(crate) fn environ_get(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    environ: GuestPtr<GuestPtr<u8>>,
    environ_buf: GuestPtr<u8>,
) -> Result<(), Error> {
    todo!()
}

pub(crate) fn environ_sizes_get(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
) -> Result<(Size, Size), Error> {
    todo!()
}
