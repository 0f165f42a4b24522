//! TODO

use crate::abi::types::*;
use crate::ctx::WasiCtx;
#[allow(unused_imports)]
use wiggle::{GuestMemory, GuestPtr};

pub(crate) fn fd_close(ctx: &mut WasiCtx, mem: &mut GuestMemory<'_>, fd: Fd) -> Result<(), Error> {
    todo!()
}

pub(crate) fn fd_prestat_get(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    fd: Fd,
) -> Result<Prestat, Error> {
    todo!()
}

pub(crate) fn fd_renumber(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    fd: Fd,
    to: Fd,
) -> Result<(), Error> {
    todo!()
}
pub(crate) fn fd_prestat_dir_name(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    fd: Fd,
    path: GuestPtr<u8>,
    path_len: Size,
) -> Result<(), Error> {
    todo!()
}
