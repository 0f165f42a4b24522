//! TODO

use crate::abi::types::*;
use crate::ctx::WasiCtx;
#[allow(unused_imports)]
use wiggle::{GuestMemory, GuestPtr};

pub(crate) fn sock_accept(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    fd: Fd,
    flags: Fdflags,
) -> Result<Fd, Error> {
    todo!()
}

pub(crate) fn sock_recv(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    fd: Fd,
    ri_data: IovecArray,
    ri_flags: Riflags,
) -> Result<(Size, Roflags), Error> {
    todo!()
}

pub(crate) fn sock_send(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    fd: Fd,
    si_data: CiovecArray,
    si_flags: Siflags,
) -> Result<Size, Error> {
    todo!()
}

pub(crate) fn sock_shutdown(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    fd: Fd,
    how: Sdflags,
) -> Result<(), Error> {
    todo!()
}
