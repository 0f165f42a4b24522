//! TODO

use crate::abi::types::*;
use crate::ctx::WasiCtx;
#[allow(unused_imports)]
use wiggle::{GuestMemory, GuestPtr};

pub(crate) fn fd_advise(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    fd: Fd,
    offset: Filesize,
    len: Filesize,
    advice: Advice,
) -> Result<(), Error> {
    todo!()
}

pub(crate) fn fd_allocate(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    fd: Fd,
    offset: Filesize,
    len: Filesize,
) -> Result<(), Error> {
    todo!()
}

pub(crate) fn fd_datasync(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    fd: Fd,
) -> Result<(), Error> {
    todo!()
}

pub(crate) fn fd_fdstat_get(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    fd: Fd,
) -> Result<Fdstat, Error> {
    todo!()
}

pub(crate) fn fd_filestat_get(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    fd: Fd,
) -> Result<Filestat, Error> {
    todo!()
}

pub(crate) fn fd_sync(ctx: &mut WasiCtx, mem: &mut GuestMemory<'_>, fd: Fd) -> Result<(), Error> {
    todo!()
}
pub(crate) fn fd_fdstat_set_flags(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    fd: Fd,
    flags: Fdflags,
) -> Result<(), Error> {
    todo!()
}

pub(crate) fn fd_fdstat_set_rights(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    fd: Fd,
    fs_rights_base: Rights,
    fs_rights_inheriting: Rights,
) -> Result<(), Error> {
    todo!()
}

pub(crate) fn fd_filestat_set_size(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    fd: Fd,
    size: Filesize,
) -> Result<(), Error> {
    todo!()
}

pub(crate) fn fd_filestat_set_times(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    fd: Fd,
    atim: Timestamp,
    mtim: Timestamp,
    fst_flags: Fstflags,
) -> Result<(), Error> {
    todo!()
}
