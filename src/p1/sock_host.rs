//! The host-socket calls `sock.rs` needs, one per platform: a single attempt that never
//! blocks, a wait for readiness bounded by a deadline, and a duplicate to wait on elsewhere
//! (the async linker). Unix asks per call (`MSG_DONTWAIT`, `poll`); Windows has no per-call
//! flag, so an attempt on a blocking socket makes it non-blocking for that call only
//! (`WSAPoll` waits). Either way the guest's NONBLOCK flag stays what the host mode says.

use crate::table::Socket;
use std::io;
use std::net::TcpStream;
use std::time::Instant;

#[cfg(unix)]
pub(crate) use std::os::fd::{AsFd as AsHostSocket, OwnedFd as HostSocket};
#[cfg(windows)]
pub(crate) use std::os::windows::io::{AsSocket as AsHostSocket, OwnedSocket as HostSocket};

/// A duplicate of the socket's descriptor, to wait on after the call returned.
pub(super) fn duplicate(socket: &Socket) -> io::Result<HostSocket> {
    #[cfg(unix)]
    let borrowed = match socket {
        Socket::Listener(listener) => listener.as_fd(),
        Socket::Stream(stream) => stream.as_fd(),
    };
    #[cfg(windows)]
    let borrowed = match socket {
        Socket::Listener(listener) => listener.as_socket(),
        Socket::Stream(stream) => stream.as_socket(),
    };
    borrowed.try_clone_to_owned()
}

/// Waits until `socket` is readable (`write == false`) or writable, or `until` passes:
/// `Ok(true)` when ready (or in an error state the next call reports), `Ok(false)` at the
/// deadline. No deadline waits as long as it takes.
#[cfg(unix)]
pub(crate) fn wait(
    socket: &impl AsHostSocket,
    write: bool,
    until: Option<Instant>,
) -> io::Result<bool> {
    use rustix::event::PollFlags;
    let events = if write { PollFlags::OUT } else { PollFlags::IN };
    crate::deadline::wait_fd(socket.as_fd(), events, until)
}

#[cfg(windows)]
#[allow(unsafe_code)] // WSAPoll: no safe binding.
pub(crate) fn wait(
    socket: &impl AsHostSocket,
    write: bool,
    until: Option<Instant>,
) -> io::Result<bool> {
    use std::os::windows::io::AsRawSocket;
    use windows_sys::Win32::Networking::WinSock::{POLLRDNORM, POLLWRNORM, WSAPOLLFD, WSAPoll};
    loop {
        let left = until.map(|at| at.saturating_duration_since(Instant::now()));
        // Milliseconds, rounded up so a short wait does not spin; -1 waits as long as it takes.
        let ms = left.map_or(-1, |l| {
            i32::try_from(l.as_nanos().div_ceil(1_000_000)).unwrap_or(i32::MAX)
        });
        let mut fds = [WSAPOLLFD {
            fd: socket.as_socket().as_raw_socket() as usize,
            events: if write { POLLWRNORM } else { POLLRDNORM },
            revents: 0,
        }];
        // SAFETY: one valid WSAPOLLFD, its length given.
        match unsafe { WSAPoll(fds.as_mut_ptr(), 1, ms) } {
            0 if left.is_some_and(|l| l.is_zero()) => return Ok(false),
            0 => continue,
            n if n > 0 => return Ok(true),
            _ => return Err(io::Error::last_os_error()),
        }
    }
}

/// One receive (or peek) that never blocks: WouldBlock when nothing is queued. `blocking`
/// says the host socket is in blocking mode (the guest's fd is not NONBLOCK).
pub(super) fn recv_now(
    stream: &TcpStream,
    buf: &mut [u8],
    peek: bool,
    blocking: bool,
) -> io::Result<usize> {
    #[cfg(unix)]
    {
        use rustix::net::RecvFlags;
        let _ = blocking;
        let flags = if peek {
            RecvFlags::PEEK | RecvFlags::DONTWAIT
        } else {
            RecvFlags::DONTWAIT
        };
        rustix::net::recv(stream, buf, flags)
            .map(|(n, _)| n)
            .map_err(io::Error::from)
    }
    #[cfg(windows)]
    {
        use std::io::Read;
        nonblocking_for_the_call(stream, blocking, |s| {
            if peek { s.peek(buf) } else { (&*s).read(buf) }
        })
    }
}

/// One send that never blocks (and never raises SIGPIPE): WouldBlock when there is no room.
/// One non-blocking send that never raises SIGPIPE: Linux says so per call (`MSG_NOSIGNAL`),
/// Apple's systems per socket (`SO_NOSIGPIPE`).
#[cfg(unix)]
pub(crate) fn send_dontwait(
    socket: impl std::os::fd::AsFd,
    buf: &[u8],
) -> rustix::io::Result<usize> {
    use rustix::net::SendFlags;
    #[cfg(target_vendor = "apple")]
    {
        rustix::net::sockopt::set_socket_nosigpipe(&socket, true)?;
        rustix::net::send(socket, buf, SendFlags::DONTWAIT)
    }
    #[cfg(not(target_vendor = "apple"))]
    rustix::net::send(socket, buf, SendFlags::DONTWAIT | SendFlags::NOSIGNAL)
}

pub(super) fn send_now(stream: &TcpStream, buf: &[u8], blocking: bool) -> io::Result<usize> {
    #[cfg(unix)]
    {
        let _ = blocking;
        send_dontwait(stream, buf).map_err(io::Error::from)
    }
    #[cfg(windows)]
    {
        use std::io::Write;
        nonblocking_for_the_call(stream, blocking, |s| (&*s).write(buf))
    }
}

/// Runs `call` with the socket non-blocking, back in blocking mode afterwards if it was.
#[cfg(windows)]
fn nonblocking_for_the_call<T>(
    stream: &TcpStream,
    blocking: bool,
    call: impl FnOnce(&TcpStream) -> io::Result<T>,
) -> io::Result<T> {
    if blocking {
        stream.set_nonblocking(true)?;
    }
    let result = call(stream);
    if blocking {
        stream.set_nonblocking(false)?;
    }
    result
}
