//! The host process's own stdin, stdout and stderr on Unix (the `inherit_*` streams, and the
//! CLI's messages), never waited on past the run's deadline: a pipe whose reader stopped reading,
//! or a terminal on hold, must not keep a stopped guest's thread forever. The lowest layer of
//! stdio: it knows descriptors, not budgets. It must never change the blocking mode of fds 1
//! and 2 — other processes share those descriptions.

use super::{HostStream, StreamError};
use rustix::event::PollFlags;
use rustix::fs::{FileType, Mode, OFlags};
use std::io::Write;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Delivers a guest's bytes (already charged to its budget) to the host's `stream`, waiting
/// for room no later than the calling thread's deadline. Errors: Timeout, Io.
pub(super) fn deliver(stream: HostStream, bytes: &[u8]) -> Result<(), StreamError> {
    let io = |r: std::io::Result<()>| r.map_err(|e| StreamError::Io(e.to_string()));
    // Holding std's lock for the whole write keeps the host's own prints (`println!`, ...)
    // from landing in the middle of the guest's bytes, and ours out of the middle of theirs.
    match (stream, crate::deadline::current()) {
        (HostStream::Stdout, None) => {
            let mut out = std::io::stdout().lock();
            io(out.write_all(bytes).and_then(|_| out.flush()))
        }
        (HostStream::Stdout, Some(at)) => {
            let mut out = std::io::stdout().lock();
            // std buffers stdout: what the host printed before goes out before the guest's
            // bytes, which bypass that buffer. (This flush is the host's own bytes and may
            // block; a guest cannot add to it.)
            io(out.flush())?;
            write_all(HostStream::Stdout, bytes, at)
        }
        (HostStream::Stderr, None) => io(std::io::stderr().lock().write_all(bytes)),
        (HostStream::Stderr, Some(at)) => {
            // std's stderr is unbuffered: only the lock matters.
            let _err = std::io::stderr().lock();
            write_all(HostStream::Stderr, bytes, at)
        }
    }
}

/// Writes `bytes` to the host process's stderr, waiting at most `patience` for room: for the
/// host's own messages after a guest was stopped, perhaps because stderr stopped draining
/// (the CLI's one-line reports). Returns whether every byte was written.
pub fn write_host_stderr(bytes: &[u8], patience: Duration) -> bool {
    let Some(at) = Instant::now().checked_add(patience) else {
        return std::io::stderr().lock().write_all(bytes).is_ok();
    };
    let _err = std::io::stderr().lock();
    write_all(HostStream::Stderr, bytes, at).is_ok()
}

/// How writes to one host stream avoid blocking.
enum Route {
    /// A non-blocking twin description of the same pipe or terminal. `O_NONBLOCK` belongs to
    /// an open file *description*, which fd 1 shares with the shell and its other children;
    /// setting it there would make their writes fail with EAGAIN. Opening `/proc/self/fd/N`
    /// again creates a new description of the same pipe or terminal, whose flags are ours.
    Twin(OwnedFd),
    /// A socket, which `/proc` cannot reopen: `MSG_DONTWAIT` on the shared descriptor makes
    /// one send non-blocking without touching the description's flags.
    Socket,
    /// Nothing that blocks for long (a regular file), or no twin could be opened: plain
    /// writes, each after waiting for room.
    Plain,
}

/// One route per stream, found on first use: what fds 1 and 2 are does not change while
/// the process runs (nothing in this crate dup2s over them).
static ROUTES: [OnceLock<Route>; 2] = [OnceLock::new(), OnceLock::new()];

fn shared(stream: HostStream) -> BorrowedFd<'static> {
    match stream {
        HostStream::Stdout => rustix::stdio::stdout(),
        HostStream::Stderr => rustix::stdio::stderr(),
    }
}

fn route(stream: HostStream) -> &'static Route {
    let slot = &ROUTES[stream as usize];
    slot.get_or_init(|| {
        let fd = shared(stream);
        match rustix::fs::fstat(fd).map(|st| FileType::from_raw_mode(st.st_mode)) {
            Ok(FileType::Fifo | FileType::CharacterDevice) => {
                let path = format!("/proc/self/fd/{}", stream as i32 + 1);
                // NOCTTY: reopening a terminal must not make it our controlling one.
                let flags = OFlags::WRONLY | OFlags::NONBLOCK | OFlags::CLOEXEC | OFlags::NOCTTY;
                match rustix::fs::open(path.as_str(), flags, Mode::empty()) {
                    Ok(twin) => Route::Twin(twin),
                    Err(_) => Route::Plain,
                }
            }
            Ok(FileType::Socket) => Route::Socket,
            _ => Route::Plain,
        }
    })
}

/// Writes all of `bytes`, waiting for room no later than `at`. Errors: Timeout (the
/// deadline passed with bytes left), Io.
fn write_all(stream: HostStream, bytes: &[u8], at: Instant) -> Result<(), StreamError> {
    let io = |e: rustix::io::Errno| StreamError::Io(e.to_string());
    let route = route(stream);
    let fd = match route {
        Route::Twin(twin) => twin.as_fd(),
        Route::Socket | Route::Plain => shared(stream),
    };
    let wait_for_room = || match crate::deadline::wait_fd(fd, PollFlags::OUT, Some(at)) {
        Ok(true) => Ok(()),
        Ok(false) => Err(StreamError::Timeout),
        Err(e) => Err(StreamError::Io(e.to_string())),
    };
    let mut rest = bytes;
    while !rest.is_empty() {
        // A plain descriptor may block: write only once it has room, and at most what a
        // pipe takes whole (PIPE_BUF) in case it is one after all, so that the room poll
        // reported is enough for the whole write.
        if matches!(route, Route::Plain) {
            wait_for_room()?;
        }
        let chunk = match route {
            Route::Plain => rest.get(..rest.len().min(4096)).unwrap_or(rest),
            Route::Twin(_) | Route::Socket => rest,
        };
        let written = match route {
            Route::Socket => crate::p1::sock_host::send_dontwait(fd, chunk),
            Route::Twin(_) | Route::Plain => rustix::io::write(fd, chunk),
        };
        match written {
            Ok(n) => rest = rest.get(n..).unwrap_or_default(),
            Err(rustix::io::Errno::INTR) => {}
            // Full: wait for room, but only until the deadline.
            Err(rustix::io::Errno::AGAIN) => wait_for_room()?,
            Err(e) => return Err(io(e)),
        }
    }
    Ok(())
}

/// Reads the host's stdin (fd 0) directly, bypassing std's buffer so that what `poll` reports
/// is all there is (bytes sitting in std's buffer would be invisible to it). When the read may
/// not block past `deadline`, or at all (`nonblocking`), it waits until fd 0 is readable
/// first; fd 0 itself is never made non-blocking, as other processes share its description.
/// Errors: Timeout (the deadline passed), WouldBlock, Io.
pub(super) fn read_stdin(
    buf: &mut [u8],
    nonblocking: bool,
    deadline: Option<Instant>,
) -> Result<usize, StreamError> {
    let stdin = std::io::stdin();
    let fd = stdin.as_fd();
    // A zero-length wait answers "readable now?" for a non-blocking read.
    let wait_until = if nonblocking {
        Some(Instant::now())
    } else {
        deadline
    };
    if wait_until.is_some() {
        match crate::deadline::wait_fd(fd, PollFlags::IN, wait_until) {
            Ok(true) => {}
            Ok(false) if nonblocking => return Err(StreamError::WouldBlock),
            Ok(false) => return Err(StreamError::Timeout),
            Err(e) => return Err(StreamError::Io(e.to_string())),
        }
    }
    loop {
        // Unbounded only when no deadline was asked for; otherwise poll said a read will
        // not block (data, end-of-file or an error is there).
        match rustix::io::read(fd, &mut *buf) {
            Ok(n) => return Ok(n),
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => return Err(StreamError::Io(e.to_string())),
        }
    }
}
