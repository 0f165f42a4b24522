//! TODO

use crate::abi::types::*;
use crate::ctx::WasiCtx;
#[allow(unused_imports)]
use wiggle::{GuestMemory, GuestPtr};

pub(crate) fn fd_pread(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    fd: Fd,
    iovs: IovecArray,
    offset: Filesize,
) -> Result<Size, Error> {
    todo!()
}

pub(crate) fn fd_pwrite(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    fd: Fd,
    iovs: CiovecArray,
    offset: Filesize,
) -> Result<Size, Error> {
    todo!()
}

pub(crate) fn fd_read(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    fd: Fd,
    iovs: IovecArray,
) -> Result<Size, Error> {
    todo!()
}

pub(crate) fn fd_seek(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    fd: Fd,
    offset: Filedelta,
    whence: Whence,
) -> Result<Filesize, Error> {
    todo!()
}

pub(crate) fn fd_tell(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    fd: Fd,
) -> Result<Filesize, Error> {
    todo!()
}

pub(crate) fn fd_write(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    fd: Fd,
    iovs: CiovecArray,
) -> Result<Size, Error> {
    todo!()
}
