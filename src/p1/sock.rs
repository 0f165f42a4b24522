//! Syscall group `sock`: TCP on sockets the embedder granted. A guest cannot create, bind or
//! connect a socket; it can only `sock_accept` on a listener it was given (`tcp_listener`,
//! CLI `--tcplisten`) and then receive, send and shut down the connections it accepted. Host
//! sockets are blocking unless the guest's fd is NONBLOCK (kept in sync by `set_nonblocking`).
//! Every call goes through the policy like any other.

use super::request;
use super::sock_host::{self, AsHostSocket};
use crate::abi::types::*;
use crate::ctx::WasiCtx;
use crate::guest::{self, IoVecs, MAX_TRANSFER};
use crate::policy::{Flags, Syscall};
use crate::rights;
use crate::table::{Descriptor, Kind, Socket};
use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::time::Instant;
use wiggle::GuestMemory;

fn net(error: io::Error) -> Error {
    crate::errno::net_errno(&error).into()
}

/// The connected stream of `socket`. Errors: ENOTCONN (a listener, as Linux's recv/send).
fn stream(socket: &Socket) -> Result<&TcpStream, Errno> {
    match socket {
        Socket::Stream(stream) => Ok(stream),
        Socket::Listener(_) => Err(Errno::Notconn),
    }
}

/// How long a socket call may wait for its peer: not at all (a NONBLOCK fd), as long as it
/// takes (a blocking fd in a run without a time limit), or until the run's deadline.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Wait {
    /// The fd is NONBLOCK: EAGAIN rather than wait.
    Never,
    /// Blocking, no deadline.
    Forever,
    /// Blocking until this instant, then the guest stops (its time limit).
    Until(Instant),
    /// A blocking fd under the async linker: one attempt without waiting; EAGAIN then
    /// suspends the call ([`or_suspend`]) so that the fiber, not the thread, waits — never
    /// past this deadline.
    Once(Option<Instant>),
}

impl Wait {
    /// The wait of a call on `desc` in a run whose deadline is `deadline`, `suspending` under
    /// the async linker.
    pub(super) fn of(desc: &Descriptor, deadline: Option<Instant>, suspending: bool) -> Wait {
        Wait::of_flags(desc.flags.contains(Fdflags::NONBLOCK), deadline, suspending)
    }

    /// The wait of a call on a NONBLOCK (or blocking) fd in a run whose deadline is `deadline`,
    /// `suspending` under the async linker.
    pub(super) fn of_flags(nonblocking: bool, deadline: Option<Instant>, suspending: bool) -> Wait {
        match (nonblocking, deadline) {
            (true, _) => Wait::Never,
            (false, _) if suspending => Wait::Once(deadline),
            (false, None) => Wait::Forever,
            (false, Some(at)) => Wait::Until(at),
        }
    }
}

/// Under the async linker (`Wait::Once`), a blocking socket call that found nothing to do
/// (EAGAIN, nothing moved) suspends the call until the socket is ready (or the deadline):
/// the frontend waits on a duplicate of the socket's descriptor, then runs the call again.
pub(super) fn or_suspend<T>(
    result: Result<T, Error>,
    wait: Wait,
    socket: &Socket,
    write: bool,
    gate: &mut crate::gate::Gate,
) -> Result<T, Error> {
    match (result, wait) {
        (Err(e), Wait::Once(until)) if e.downcast_ref() == Some(&Errno::Again) => {
            let fd = sock_host::duplicate(socket).map_err(net)?;
            Err(gate.suspend(crate::suspend::Suspend::Socket { fd, write, until }))
        }
        (other, _) => other,
    }
}

/// The trap of a wait that reached the run's deadline.
fn timed_out() -> Error {
    // A trap, not ETIMEDOUT: the run's deadline ends the run, here as in computing code.
    Error::trap(crate::limits::TimeLimitExceeded { limit: None }.into())
}

/// Runs `attempt` (a call that does not block: it answers WouldBlock instead) until it does
/// something, waiting for `socket` to be readable (or writable: `write`) in between, never
/// past the deadline.
fn until_deadline<T>(
    socket: &impl AsHostSocket,
    write: bool,
    at: Instant,
    mut attempt: impl FnMut() -> io::Result<T>,
) -> Result<T, Error> {
    loop {
        match attempt() {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            // A host signal is no business of the guest's: try again at once.
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            other => return other.map_err(net),
        }
        // Readiness is only a hint (a peer may reset in between), so the non-blocking attempt
        // above decides; the wait itself never outlasts the deadline.
        if !sock_host::wait(socket, write, Some(at)).map_err(net)? {
            return Err(timed_out());
        }
    }
}

/// One receive into `buf`: blocking, non-blocking, or waiting no later than the deadline
/// (then without touching the socket's own blocking mode: MSG_DONTWAIT per call).
fn recv_some(stream: &TcpStream, buf: &mut [u8], peek: bool, wait: Wait) -> Result<usize, Error> {
    let blocking = wait != Wait::Never;
    let raw = |buf: &mut [u8]| sock_host::recv_now(stream, buf, peek, blocking);
    match wait {
        Wait::Until(at) => until_deadline(stream, false, at, || raw(&mut *buf)),
        Wait::Never | Wait::Once(_) => raw(buf).map_err(net),
        // No deadline and a blocking fd (hence a blocking host socket): a plain blocking call.
        Wait::Forever if peek => stream.peek(buf).map_err(net),
        Wait::Forever => (&*stream).read(buf).map_err(net),
    }
}

/// One send of `buf`, waiting as [`recv_some`] does (MSG_NOSIGNAL: a closed peer is EPIPE,
/// never a signal).
fn send_some(stream: &TcpStream, buf: &[u8], wait: Wait) -> Result<usize, Error> {
    let blocking = wait != Wait::Never;
    let raw = || sock_host::send_now(stream, buf, blocking);
    match wait {
        Wait::Until(at) => until_deadline(stream, true, at, raw),
        Wait::Never | Wait::Once(_) => raw().map_err(net),
        Wait::Forever => (&*stream).write(buf).map_err(net),
    }
}

/// accept(2) on a granted listener, waiting as [`recv_some`] does. Waiting with a deadline
/// makes the listener non-blocking for the call: a connection reset between poll and accept
/// must not leave accept blocked (accept has no per-call MSG_DONTWAIT).
fn accept(listener: &TcpListener, wait: Wait) -> Result<TcpStream, Error> {
    match wait {
        // The host listener's mode already matches the fd's flags: EAGAIN or a plain wait.
        Wait::Never | Wait::Forever => listener.accept().map(|(s, _)| s).map_err(net),
        // One attempt on a blocking listener: non-blocking for the call, as for a deadline.
        Wait::Once(_) => {
            listener.set_nonblocking(true).map_err(net)?;
            let accepted = listener.accept().map(|(s, _)| s).map_err(net);
            listener.set_nonblocking(false).map_err(net)?;
            accepted
        }
        Wait::Until(at) => {
            listener.set_nonblocking(true).map_err(net)?;
            let accepted =
                until_deadline(listener, false, at, || listener.accept().map(|(s, _)| s));
            // Back to what the guest's fd flags say (blocking) whatever happened.
            listener.set_nonblocking(false).map_err(net)?;
            accepted
        }
    }
}

/// Makes the host socket blocking or not, as the guest's fd flags say.
pub(super) fn set_nonblocking(socket: &Socket, nonblocking: bool) -> Result<(), Error> {
    // Kept in step so that `Wait::Never` and `Wait::Forever` can trust the host mode as is.
    match socket {
        Socket::Listener(listener) => listener.set_nonblocking(nonblocking),
        Socket::Stream(stream) => stream.set_nonblocking(nonblocking),
    }
    .map_err(net)
}

/// Receives into the buffers: into the first non-empty one only (more could block once some
/// bytes arrived), or, with `wait_all`, into all of them until full or end-of-stream. `peek`
/// leaves the bytes queued. Used by `sock_recv` and by `fd_read` on a socket.
pub(super) fn recv(
    socket: &Socket,
    (peek, wait_all): (bool, bool),
    wait: Wait,
    mem: &mut GuestMemory<'_>,
    iovs: &IoVecs,
) -> Result<u64, Error> {
    let stream = stream(socket)?;
    let mut done = 0u64;
    for i in 0..iovs.count {
        let (ptr, len) = iovs.get(mem, i)?;
        // The per-call cap on bytes moved, counted across buffers (as `fd_io`'s `clamp`).
        let len = u32::try_from(MAX_TRANSFER.saturating_sub(done).min(u64::from(len))).unwrap_or(0);
        if len == 0 {
            continue;
        }
        // Received straight into guest memory: no host buffer is sized by the guest.
        let buf = guest::bytes_mut(mem, ptr, len)?;
        let mut filled = 0usize;
        while filled < buf.len() {
            // `filled < buf.len()`, so this is never empty; `get_mut` keeps it from panicking all
            // the same.
            let rest = buf.get_mut(filled..).unwrap_or_default();
            match recv_some(stream, rest, peek, wait) {
                // End of stream: what arrived so far is the answer (0 if nothing did).
                Ok(0) => return Ok(done + filled as u64),
                Ok(n) => filled += n.min(rest.len()),
                // The deadline stops the guest, whatever was received.
                Err(e) if e.downcast_ref().is_none() => return Err(e),
                // Bytes already moved are reported; the error comes back on the next call.
                Err(_) if done + filled as u64 > 0 => return Ok(done + filled as u64),
                Err(e) => return Err(e),
            }
            // Peeking again would see the same bytes; without WAITALL one read is the answer.
            if peek || !wait_all {
                return Ok(done + filled as u64);
            }
        }
        done += filled as u64;
    }
    Ok(done)
}

/// Sends the buffers in order, stopping at the first short send. Used by `sock_send` and by
/// `fd_write` on a socket. Errors: ENOTCONN (a listener), EPIPE, ECONNRESET, EAGAIN.
pub(super) fn send(
    socket: &Socket,
    wait: Wait,
    mem: &GuestMemory<'_>,
    iovs: &IoVecs,
) -> Result<u64, Error> {
    let stream = stream(socket)?;
    let mut done = 0u64;
    for i in 0..iovs.count {
        let (ptr, len) = iovs.get(mem, i)?;
        let len = u32::try_from(MAX_TRANSFER.saturating_sub(done).min(u64::from(len))).unwrap_or(0);
        if len == 0 {
            continue;
        }
        let buf = guest::bytes(mem, ptr, len)?;
        let n = match send_some(stream, buf, wait) {
            // Never more than the buffer, whatever the host reports.
            Ok(n) => n.min(buf.len()),
            // The deadline stops the guest, whatever was sent.
            Err(e) if e.downcast_ref().is_none() => return Err(e),
            Err(_) if done > 0 => break,
            Err(e) => return Err(e),
        };
        done += n as u64;
        // A short send (the socket's buffer is full): later buffers must not go out ahead of the
        // rest of this one.
        if n < buf.len() {
            break;
        }
    }
    Ok(done)
}

/// Mirrors `accept4`: a new fd for the next connection on a granted listener, NONBLOCK if
/// asked. Errors: EBADF, ENOTSOCK, EINVAL (not a listener, or flags other than NONBLOCK),
/// ENOTCAPABLE (no SOCK_ACCEPT), EAGAIN (non-blocking and no one waiting), EMFILE.
pub(crate) fn sock_accept(
    ctx: &mut WasiCtx,
    _mem: &mut GuestMemory<'_>,
    fd: Fd,
    flags: Fdflags,
) -> Result<Fd, Error> {
    // EBADF, ENOTSOCK, EINVAL (a connection), ENOTCAPABLE, in that order (`rights.rs`).
    let (socket, desc) = ctx.table.socket(fd.into(), &rights::SOCK_ACCEPT)?;
    let Socket::Listener(listener) = socket else {
        return Err(Errno::Inval.into());
    };
    // Only NONBLOCK means something for a new connection: any other flag is EINVAL.
    if !Fdflags::NONBLOCK.contains(flags) {
        return Err(Errno::Inval.into());
    }
    // Copied out: `desc` borrows the table, which `insert` needs below.
    let inheriting = desc.inheriting;
    let s = Syscall::SockAccept;
    let request_flags = Flags {
        fdflags: flags,
        ..Flags::NONE
    };
    ctx.gate
        .check(s, || request::on_fd(s, fd, &desc.kind).flags(request_flags))?;
    // Room first, as `path_open` does: at the cap the connection stays queued for a later
    // accept (Linux's EMFILE leaves it there too) instead of being taken and dropped.
    if !ctx.table.has_room() {
        return Err(Errno::Mfile.into());
    }
    let wait = Wait::of(desc, ctx.clocks.deadline(), ctx.gate.suspending());
    let accepted = accept(listener, wait);
    let stream = or_suspend(accepted, wait, socket, false, &mut ctx.gate)?;
    // The new socket's host mode follows its own fd flags, not the listener's.
    stream
        .set_nonblocking(flags.contains(Fdflags::NONBLOCK))
        .map_err(net)?;
    let desc = Descriptor {
        kind: Kind::Socket(Socket::Stream(stream)),
        // No more than the listener passes on, and nothing to pass on itself.
        base: rights::STREAM & inheriting,
        inheriting: Rights::empty(),
        flags,
    };
    // `has_room` held above and nothing ran since, so this insert finds room.
    Ok(Fd::from(ctx.table.insert(desc)?))
}

/// Mirrors `recv`: RECV_PEEK leaves the bytes queued, RECV_WAITALL fills every buffer unless
/// the stream ends. Errors: EBADF, ENOTSOCK, ENOTCONN (a listener), ENOTCAPABLE/EBADF (no
/// FD_READ), EAGAIN, ECONNRESET. Out-of-bounds buffers trap.
pub(crate) fn sock_recv(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    fd: Fd,
    ri_data: IovecArray,
    ri_flags: Riflags,
) -> Result<(Size, Roflags), Error> {
    // The descriptor first: like wasmtime, a non-socket is ENOTSOCK whatever the buffers.
    let (socket, desc) = ctx
        .table
        .socket(fd.into(), &rights::connection(Rights::FD_READ))?;
    let iovs = IoVecs::check(mem, ri_data.offset())?;
    let s = Syscall::SockRecv;
    ctx.gate
        .check(s, || request::on_fd(s, fd, &desc.kind).bytes(iovs.total))?;
    let peek = ri_flags.contains(Riflags::RECV_PEEK);
    let wait_all = ri_flags.contains(Riflags::RECV_WAITALL);
    let wait = Wait::of(desc, ctx.clocks.deadline(), ctx.gate.suspending());
    let received = recv(socket, (peek, wait_all), wait, mem, &iovs);
    let n = or_suspend(received, wait, socket, false, &mut ctx.gate)?;
    // RECV_DATA_TRUNCATED is for datagrams: a stream never truncates.
    Ok((guest::size(n)?, Roflags::empty()))
}

/// Mirrors `send` (the flags are reserved and ignored). Errors: EBADF, ENOTSOCK, ENOTCONN (a
/// listener), EBADF (no FD_WRITE), EAGAIN, EPIPE, ECONNRESET. Out-of-bounds buffers trap.
pub(crate) fn sock_send(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    fd: Fd,
    si_data: CiovecArray,
    _si_flags: Siflags,
) -> Result<Size, Error> {
    // The descriptor first: like wasmtime, a non-socket is ENOTSOCK whatever the buffers.
    let (socket, desc) = ctx
        .table
        .socket(fd.into(), &rights::connection(Rights::FD_WRITE))?;
    let iovs = IoVecs::check(mem, si_data.offset())?;
    let s = Syscall::SockSend;
    ctx.gate
        .check(s, || request::on_fd(s, fd, &desc.kind).bytes(iovs.total))?;
    let wait = Wait::of(desc, ctx.clocks.deadline(), ctx.gate.suspending());
    let sent = send(socket, wait, mem, &iovs);
    guest::size(or_suspend(sent, wait, socket, true, &mut ctx.gate)?)
}

/// Mirrors `shutdown`. Errors: EBADF, ENOTSOCK, ENOTCONN (a listener, or the peer is gone),
/// EINVAL (neither RD nor WR), ENOTCAPABLE (no SOCK_SHUTDOWN).
pub(crate) fn sock_shutdown(
    ctx: &mut WasiCtx,
    _mem: &mut GuestMemory<'_>,
    fd: Fd,
    how: Sdflags,
) -> Result<(), Error> {
    let need = rights::connection(Rights::SOCK_SHUTDOWN);
    let (socket, desc) = ctx.table.socket(fd.into(), &need)?;
    let stream = stream(socket)?;
    let direction = match (how.contains(Sdflags::RD), how.contains(Sdflags::WR)) {
        (true, true) => Shutdown::Both,
        (true, false) => Shutdown::Read,
        (false, true) => Shutdown::Write,
        // No direction is no shutdown: EINVAL, as shutdown(2) for a bad `how`.
        (false, false) => return Err(Errno::Inval.into()),
    };
    let s = Syscall::SockShutdown;
    ctx.gate.check(s, || {
        request::on_fd(s, fd, &desc.kind).code(u32::from(how.bits()))
    })?;
    stream.shutdown(direction).map_err(net)
}
