//! Syscall group `sock`: no sockets can be granted yet, so every call checks only that the fd
//! exists (EBADF) and then answers ENOTSOCK, exactly as wasmtime's preview1 does. The iovec
//! and flag arguments are deliberately left untouched.

use crate::abi::types::*;
use crate::ctx::WasiCtx;
use wiggle::GuestMemory;

/// EBADF for a closed fd, otherwise ENOTSOCK: no descriptor is a socket.
fn not_a_socket(ctx: &WasiCtx, fd: Fd) -> Error {
    match ctx.table.get(fd.into()) {
        Ok(_) => Errno::Notsock.into(),
        Err(errno) => errno.into(),
    }
}

/// Mirrors `accept`. Errors: EBADF, ENOTSOCK.
pub(crate) fn sock_accept(
    ctx: &mut WasiCtx,
    _mem: &mut GuestMemory<'_>,
    fd: Fd,
    _flags: Fdflags,
) -> Result<Fd, Error> {
    Err(not_a_socket(ctx, fd))
}

/// Mirrors `recv`. Errors: EBADF, ENOTSOCK.
pub(crate) fn sock_recv(
    ctx: &mut WasiCtx,
    _mem: &mut GuestMemory<'_>,
    fd: Fd,
    _ri_data: IovecArray,
    _ri_flags: Riflags,
) -> Result<(Size, Roflags), Error> {
    Err(not_a_socket(ctx, fd))
}

/// Mirrors `send`. Errors: EBADF, ENOTSOCK.
pub(crate) fn sock_send(
    ctx: &mut WasiCtx,
    _mem: &mut GuestMemory<'_>,
    fd: Fd,
    _si_data: CiovecArray,
    _si_flags: Siflags,
) -> Result<Size, Error> {
    Err(not_a_socket(ctx, fd))
}

/// Mirrors `shutdown`. Errors: EBADF, ENOTSOCK.
pub(crate) fn sock_shutdown(
    ctx: &mut WasiCtx,
    _mem: &mut GuestMemory<'_>,
    fd: Fd,
    _how: Sdflags,
) -> Result<(), Error> {
    Err(not_a_socket(ctx, fd))
}
