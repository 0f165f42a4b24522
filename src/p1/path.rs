//! TODO

use crate::abi::types::*;
use crate::ctx::WasiCtx;
#[allow(unused_imports)]
use wiggle::{GuestMemory, GuestPtr};

pub(crate) fn path_filestat_get(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    fd: Fd,
    flags: Lookupflags,
    path: GuestPtr<str>,
) -> Result<Filestat, Error> {
    todo!()
}

pub(crate) fn path_link(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    old_fd: Fd,
    old_flags: Lookupflags,
    old_path: GuestPtr<str>,
    new_fd: Fd,
    new_path: GuestPtr<str>,
) -> Result<(), Error> {
    todo!()
}

pub(crate) fn path_open(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    fd: Fd,
    dirflags: Lookupflags,
    path: GuestPtr<str>,
    oflags: Oflags,
    fs_rights_base: Rights,
    fs_rights_inheriting: Rights,
    fdflags: Fdflags,
) -> Result<Fd, Error> {
    todo!()
}

pub(crate) fn path_readlink(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    fd: Fd,
    path: GuestPtr<str>,
    buf: GuestPtr<u8>,
    buf_len: Size,
) -> Result<Size, Error> {
    todo!()
}

pub(crate) fn path_rename(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    fd: Fd,
    old_path: GuestPtr<str>,
    new_fd: Fd,
    new_path: GuestPtr<str>,
) -> Result<(), Error> {
    todo!()
}

pub(crate) fn path_symlink(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    old_path: GuestPtr<str>,
    fd: Fd,
    new_path: GuestPtr<str>,
) -> Result<(), Error> {
    todo!()
}

pub(crate) fn path_unlink_file(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    fd: Fd,
    path: GuestPtr<str>,
) -> Result<(), Error> {
    todo!()
}
pub(crate) fn path_create_directory(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    fd: Fd,
    path: GuestPtr<str>,
) -> Result<(), Error> {
    todo!()
}

pub(crate) fn path_filestat_set_times(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    fd: Fd,
    flags: Lookupflags,
    path: GuestPtr<str>,
    atim: Timestamp,
    mtim: Timestamp,
    fst_flags: Fstflags,
) -> Result<(), Error> {
    todo!()
}

pub(crate) fn path_remove_directory(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    fd: Fd,
    path: GuestPtr<str>,
) -> Result<(), Error> {
    todo!()
}
