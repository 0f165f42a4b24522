//! [`Input`]: where the guest's stdin bytes come from (a fixed buffer, a pipe the host feeds
//! through an [`InputWriter`], the host's own stdin, nothing). Part of the stdio layer under
//! `p1/fd_io.rs` and `p1/poll.rs`, which ask it to read into host buffers they have already
//! bounded. No read here may wait past the deadline it is given, and an inherited stdin is
//! never read before `poll` says it is readable.

use super::{StreamError, lock};
use bytes::Bytes;
use std::collections::VecDeque;
use std::fmt;
use std::io::IsTerminal;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Instant;

/// The writing end of a stdin pipe: the host feeds bytes while the guest runs. Clones share
/// the one end; like a POSIX pipe, the guest reads end-of-file once [`InputWriter::close`] is
/// called or the last clone is dropped, and the queue is drained.
#[derive(Clone)]
pub struct InputWriter {
    end: Arc<WriteEnd>,
}

/// Shared by every clone of one [`InputWriter`]; dropping the last one closes the pipe, so a
/// host that forgets `close` (or panics) cannot leave the guest waiting for bytes that can
/// never come.
struct WriteEnd {
    pipe: Arc<Pipe>,
}

impl Drop for WriteEnd {
    fn drop(&mut self) {
        self.pipe.close();
    }
}

impl fmt::Debug for InputWriter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let closed = lock(&self.end.pipe.state).closed;
        f.debug_struct("InputWriter")
            .field("closed", &closed)
            .finish()
    }
}

impl InputWriter {
    /// Queues bytes for the guest to read. Returns `false`, and queues nothing, once the pipe
    /// is closed: the guest may already have read end-of-file, and bytes after it would
    /// contradict what it was told.
    pub fn write(&self, bytes: &[u8]) -> bool {
        let mut state = lock(&self.end.pipe.state);
        if state.closed {
            return false;
        }
        state.buffer.extend(bytes);
        self.end.pipe.ready.notify_all();
        true
    }

    /// Marks the end of input: once the queue drains, the guest reads end-of-file. Later
    /// writes are refused.
    pub fn close(&self) {
        self.end.pipe.close();
    }
}

#[derive(Default)]
struct PipeState {
    buffer: VecDeque<u8>,
    closed: bool,
}

/// A stdin pipe: the queue, and a condition variable readers wait on for bytes or the close.
#[derive(Default)]
struct Pipe {
    state: Mutex<PipeState>,
    ready: Condvar,
}

impl Pipe {
    fn close(&self) {
        lock(&self.state).closed = true;
        self.ready.notify_all();
    }

    /// Waits under `state`'s lock until the queue has bytes or the pipe is closed, but not past
    /// `deadline`: `None` when the deadline passed first. The condition is re-checked after
    /// every wake-up, because condition variables wake spuriously and another reader may have
    /// drained the queue first.
    fn wait<'a>(
        &self,
        mut state: MutexGuard<'a, PipeState>,
        deadline: Option<Instant>,
    ) -> Option<MutexGuard<'a, PipeState>> {
        while state.buffer.is_empty() && !state.closed {
            state = match deadline {
                None => self.ready.wait(state).unwrap_or_else(|e| e.into_inner()),
                Some(deadline) => {
                    let now = Instant::now();
                    if now >= deadline {
                        return None;
                    }
                    self.ready
                        .wait_timeout(state, deadline - now)
                        .unwrap_or_else(|e| e.into_inner())
                        .0
                }
            };
        }
        Some(state)
    }
}

enum Source {
    /// The bytes and the read position.
    Bytes(Mutex<(Bytes, usize)>),
    Pipe(Arc<Pipe>),
    Inherit,
    Empty,
}

/// The guest's stdin. Cloning gives another handle to the same stream (one read position).
/// An `Input` has no settings, so there is nothing a holder of one clone could change for
/// another.
#[derive(Clone)]
pub struct Input {
    source: Arc<Source>,
}

impl fmt::Debug for Input {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match *self.source {
            Source::Bytes(_) => "bytes",
            Source::Pipe(_) => "pipe",
            Source::Inherit => "inherit",
            Source::Empty => "empty",
        };
        write!(f, "Input({kind})")
    }
}

impl Input {
    /// Reads from a fixed buffer, then end-of-file.
    pub fn bytes(data: impl Into<Bytes>) -> Self {
        Input {
            source: Arc::new(Source::Bytes(Mutex::new((data.into(), 0)))),
        }
    }

    /// A pipe the host feeds while the guest runs; reads block until bytes arrive or the
    /// writer is closed (or dropped).
    pub fn pipe() -> (Self, InputWriter) {
        let pipe = Arc::new(Pipe::default());
        (
            Input {
                source: Arc::new(Source::Pipe(pipe.clone())),
            },
            InputWriter {
                end: Arc::new(WriteEnd { pipe }),
            },
        )
    }

    /// Reads the host process's stdin.
    pub fn inherit() -> Self {
        Input {
            source: Arc::new(Source::Inherit),
        }
    }

    /// Always at end-of-file.
    pub fn empty() -> Self {
        // Stateless, so every context shares one: a context's default stdin costs nothing.
        static EMPTY: std::sync::LazyLock<Arc<Source>> =
            std::sync::LazyLock::new(|| Arc::new(Source::Empty));
        Input {
            source: Arc::clone(&EMPTY),
        }
    }

    /// Whether the stream is a terminal (reported to the guest as a character device).
    pub fn is_terminal(&self) -> bool {
        matches!(*self.source, Source::Inherit) && std::io::stdin().is_terminal()
    }

    /// Reads up to `buf.len()` bytes; blocks (until `deadline`, if any) when nothing is there
    /// yet and `nonblocking` is false. Returns 0 at end-of-file. Errors: WouldBlock, Timeout,
    /// Io.
    pub(crate) fn read(
        &self,
        buf: &mut [u8],
        nonblocking: bool,
        deadline: Option<Instant>,
    ) -> Result<usize, StreamError> {
        match &*self.source {
            Source::Bytes(state) => {
                // The position is shared by every clone, as a file offset is by dup'd fds.
                let mut state = lock(state);
                let (data, pos) = &mut *state;
                let n = buf.len().min(data.len() - *pos);
                buf[..n].copy_from_slice(&data[*pos..*pos + n]);
                *pos += n;
                Ok(n)
            }
            Source::Pipe(pipe) => {
                let state = lock(&pipe.state);
                // Queued bytes and end-of-file are answered even past the deadline: only a
                // read that would have to wait can time out (or, non-blocking, say EAGAIN).
                if nonblocking && state.buffer.is_empty() && !state.closed {
                    return Err(StreamError::WouldBlock);
                }
                let mut state = pipe.wait(state, deadline).ok_or(StreamError::Timeout)?;
                // Empty here means closed: end-of-file.
                let n = buf.len().min(state.buffer.len());
                for (dst, src) in buf.iter_mut().zip(state.buffer.drain(..n)) {
                    *dst = src;
                }
                Ok(n)
            }
            Source::Inherit => super::host::read_stdin(buf, nonblocking, deadline),
            Source::Empty => Ok(0),
        }
    }

    /// For `poll_oneoff`: `Some(n)` when a read would not block now (`n` bytes are queued; 0
    /// is end-of-file), `None` when it would, or (an inherited stdin, whose readiness the
    /// host cannot see without a system call) when that is not known.
    pub(crate) fn available(&self) -> Option<u64> {
        match &*self.source {
            Source::Bytes(state) => {
                let state = lock(state);
                Some((state.0.len() - state.1) as u64)
            }
            Source::Pipe(pipe) => {
                let state = lock(&pipe.state);
                // A closed pipe is "ready" (end-of-file) even when empty.
                if state.closed && state.buffer.is_empty() {
                    Some(0)
                } else if state.buffer.is_empty() {
                    None
                } else {
                    Some(state.buffer.len() as u64)
                }
            }
            Source::Inherit => None,
            Source::Empty => Some(0),
        }
    }

    /// Blocks until the stream has bytes or reached end-of-file, or `deadline` passes.
    /// Returns whether it became ready.
    pub(crate) fn wait_ready(&self, deadline: Option<Instant>) -> bool {
        match &*self.source {
            Source::Pipe(pipe) => pipe.wait(lock(&pipe.state), deadline).is_some(),
            // An inherited stdin is treated as always ready, as wasmtime does for blocking files.
            Source::Bytes(_) | Source::Inherit | Source::Empty => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_write_after_close_is_refused_and_the_reader_keeps_its_end_of_file() {
        let (input, writer) = Input::pipe();
        assert!(writer.write(b"ab"));
        writer.close();
        assert!(!writer.write(b"late"));
        let mut buf = [0u8; 8];
        assert_eq!(input.read(&mut buf, false, None), Ok(2));
        assert_eq!(&buf[..2], b"ab");
        assert_eq!(input.read(&mut buf, false, None), Ok(0));
        assert_eq!(input.available(), Some(0));
    }

    #[test]
    fn dropping_the_last_writer_ends_the_input_of_a_blocked_reader() {
        let (input, writer) = Input::pipe();
        let other = writer.clone();
        drop(writer);
        // One clone is still alive: the pipe is open, and a non-blocking read would block.
        let mut buf = [0u8; 8];
        assert_eq!(
            input.read(&mut buf, true, None),
            Err(StreamError::WouldBlock)
        );
        let dropper = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            assert!(other.write(b"x"));
            drop(other);
        });
        // No deadline: without the close on drop this read would wait forever.
        let mut got = Vec::new();
        loop {
            let n = input.read(&mut buf, false, None).unwrap();
            if n == 0 {
                break;
            }
            got.extend_from_slice(&buf[..n]);
        }
        dropper.join().unwrap();
        assert_eq!(got, b"x");
        assert!(input.wait_ready(None));
    }

    #[test]
    fn a_pipe_read_stops_at_its_deadline() {
        let (input, _writer) = Input::pipe();
        let mut buf = [0u8; 8];
        let at = Instant::now() + Duration::from_millis(30);
        assert_eq!(
            input.read(&mut buf, false, Some(at)),
            Err(StreamError::Timeout)
        );
        assert!(Instant::now() >= at);
        assert!(!input.wait_ready(Some(Instant::now())));
    }
}
