//! The guest's standard streams, chosen by the embedder: where stdout/stderr bytes go
//! ([`Output`]) and where stdin bytes come from ([`Input`]). An `Output` carries its own byte
//! budget, so the limit follows the stream wherever the guest moves the descriptor.
//! Nothing here touches guest memory; `p1/fd_io.rs` copies bytes in bounded chunks. Every
//! blocking read honours the run's deadline (an inherited stdin is polled, never read blindly).

use bytes::Bytes;
use std::collections::VecDeque;
use std::fmt;
use std::io::{IsTerminal, Write};
use std::os::fd::AsFd;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Instant;

/// Locks a mutex, ignoring poisoning: a panic in an embedder callback must not make the
/// captured output unreadable afterwards ("nothing lost").
pub(crate) fn lock<T: ?Sized>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// What happens when a guest writes past an output stream's byte budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LimitAction {
    /// Stop the guest with a trap naming the stream and the limit (the default).
    #[default]
    Trap,
    /// Write what fits, then answer further writes with EFBIG (a short write first).
    Truncate,
}

/// Why a stream operation failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamError {
    /// The stream's byte budget is exhausted and its action is `Trap`.
    LimitTrap {
        /// The stream's name, e.g. "stdout".
        stream: String,
        /// The budget in bytes.
        limit: u64,
    },
    /// The stream's byte budget is exhausted and its action is `Truncate`.
    LimitReached,
    /// The host side failed (inherited stream closed...).
    Io(String),
    /// Nothing is available now and the stream is non-blocking.
    WouldBlock,
    /// The run's deadline passed while the guest waited for input (stops the guest).
    Timeout,
}

/// The error a guest stops with when it writes past an output budget.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputLimitExceeded {
    /// The stream's name, e.g. "stdout".
    pub stream: String,
    /// The budget in bytes.
    pub limit: u64,
}

impl fmt::Display for OutputLimitExceeded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "guest wrote more than the {} limit of {} bytes to {}",
            self.stream, self.limit, self.stream
        )
    }
}

impl std::error::Error for OutputLimitExceeded {}

type Callback = Box<dyn FnMut(&[u8]) + Send>;

enum Sink {
    Capture(Mutex<Vec<u8>>),
    Callback(Mutex<Callback>),
    InheritStdout,
    InheritStderr,
    Null,
}

struct OutputInner {
    sink: Sink,
    /// "stdout" or "stderr" once placed (for the limit's message).
    name: Mutex<&'static str>,
    limit: Option<u64>,
    action: LimitAction,
    written: AtomicU64,
}

/// An output stream for the guest's stdout or stderr. Cloning gives another handle to the same
/// stream, so the host can keep one and read what the guest wrote, during or after the run.
#[derive(Clone)]
pub struct Output {
    inner: Arc<OutputInner>,
}

impl fmt::Debug for Output {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.inner.sink {
            Sink::Capture(_) => "capture",
            Sink::Callback(_) => "callback",
            Sink::InheritStdout => "inherit-stdout",
            Sink::InheritStderr => "inherit-stderr",
            Sink::Null => "null",
        };
        f.debug_struct("Output")
            .field("sink", &kind)
            .field("limit", &self.inner.limit)
            .field("written", &self.written())
            .finish()
    }
}

impl Output {
    fn new(sink: Sink) -> Self {
        Output {
            inner: Arc::new(OutputInner {
                sink,
                name: Mutex::new("output"),
                limit: None,
                action: LimitAction::Trap,
                written: AtomicU64::new(0),
            }),
        }
    }

    /// Keeps every byte in memory; read them with [`Output::contents`].
    pub fn capture() -> Self {
        Self::new(Sink::Capture(Mutex::new(Vec::new())))
    }

    /// Hands every write to `f` as it happens (on the guest's thread).
    pub fn callback(f: impl FnMut(&[u8]) + Send + 'static) -> Self {
        Self::new(Sink::Callback(Mutex::new(Box::new(f))))
    }

    /// Writes to the host process's stdout.
    pub fn inherit_stdout() -> Self {
        Self::new(Sink::InheritStdout)
    }

    /// Writes to the host process's stderr.
    pub fn inherit_stderr() -> Self {
        Self::new(Sink::InheritStderr)
    }

    /// Discards every byte (still counted against the limit).
    pub fn null() -> Self {
        Self::new(Sink::Null)
    }

    /// Sets the byte budget; past it the guest is stopped (see [`Output::on_limit`]).
    /// Must be called before the stream is shared.
    pub fn limit(self, bytes: u64) -> Self {
        self.reconfigure(|i| i.limit = Some(bytes))
    }

    /// Chooses what happens past the budget.
    pub fn on_limit(self, action: LimitAction) -> Self {
        self.reconfigure(|i| i.action = action)
    }

    fn reconfigure(self, f: impl FnOnce(&mut OutputInner)) -> Self {
        match Arc::try_unwrap(self.inner) {
            Ok(mut inner) => {
                f(&mut inner);
                Output {
                    inner: Arc::new(inner),
                }
            }
            // Already shared: configuring it now would surprise the other holders.
            Err(inner) => Output { inner },
        }
    }

    pub(crate) fn set_name(&self, name: &'static str) {
        *lock(&self.inner.name) = name;
    }

    /// A copy of everything captured so far (empty for non-capturing streams).
    pub fn contents(&self) -> Vec<u8> {
        match &self.inner.sink {
            Sink::Capture(buf) => lock(buf).clone(),
            _ => Vec::new(),
        }
    }

    /// Takes the captured bytes out, leaving the buffer empty.
    pub fn take_contents(&self) -> Vec<u8> {
        match &self.inner.sink {
            Sink::Capture(buf) => std::mem::take(&mut *lock(buf)),
            _ => Vec::new(),
        }
    }

    /// Bytes the guest has written to this stream so far.
    pub fn written(&self) -> u64 {
        self.inner.written.load(Ordering::Relaxed)
    }

    /// The byte budget, if any.
    pub fn byte_limit(&self) -> Option<u64> {
        self.inner.limit
    }

    /// Whether the stream is a terminal (reported to the guest as a character device).
    pub fn is_terminal(&self) -> bool {
        match self.inner.sink {
            Sink::InheritStdout => std::io::stdout().is_terminal(),
            Sink::InheritStderr => std::io::stderr().is_terminal(),
            _ => false,
        }
    }

    /// How many of `wanted` bytes may be written now; charges them to the budget.
    /// Charging comes first so that nothing past the budget is ever buffered.
    pub(crate) fn reserve(&self, wanted: u64) -> Result<u64, StreamError> {
        let Some(limit) = self.inner.limit else {
            // Without a budget, a capturing stream counts as it delivers, under its lock.
            if !matches!(self.inner.sink, Sink::Capture(_)) {
                self.inner.written.fetch_add(wanted, Ordering::Relaxed);
            }
            return Ok(wanted);
        };
        let mut current = self.inner.written.load(Ordering::Relaxed);
        loop {
            let room = limit.saturating_sub(current);
            if room == 0 && wanted > 0 {
                return Err(match self.inner.action {
                    LimitAction::Trap => StreamError::LimitTrap {
                        stream: lock(&self.inner.name).to_string(),
                        limit,
                    },
                    LimitAction::Truncate => StreamError::LimitReached,
                });
            }
            let take = wanted.min(room);
            match self.inner.written.compare_exchange(
                current,
                current + take,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => return Ok(take),
                Err(now) => current = now,
            }
        }
    }

    /// The trap for a write that crossed the budget, if the action is `Trap`.
    pub(crate) fn limit_error(&self) -> Option<OutputLimitExceeded> {
        match (self.inner.limit, self.inner.action) {
            (Some(limit), LimitAction::Trap) => Some(OutputLimitExceeded {
                stream: lock(&self.inner.name).to_string(),
                limit,
            }),
            _ => None,
        }
    }

    /// Counts `n` delivered bytes of a capturing stream without a budget; called with its
    /// buffer locked. Every change of such a stream's count happens under that lock (`reserve`
    /// leaves it alone), so a plain load and store cannot lose an update, and the write path
    /// pays for one atomic operation (the lock) instead of two. With a budget, `reserve` has
    /// already counted the bytes atomically.
    #[inline]
    fn count_under_capture_lock(&self, n: u64) {
        if self.inner.limit.is_none() {
            let written = self.inner.written.load(Ordering::Relaxed);
            self.inner
                .written
                .store(written.saturating_add(n), Ordering::Relaxed);
        }
    }

    /// The fast path's whole write (see `p1/fast.rs`): charges `total` and hands every buffer
    /// to the sink, or does nothing at all and answers `false` when the general path must
    /// decide (a sink that can fail or block, or a budget that `total` would cross). Sinks
    /// that cannot fail make the all-or-nothing answer exact: `true` means every byte went.
    #[inline]
    pub(crate) fn write_all_or_defer<'b>(
        &self,
        total: u64,
        buffers: impl Iterator<Item = &'b [u8]>,
    ) -> bool {
        if matches!(self.inner.sink, Sink::InheritStdout | Sink::InheritStderr) {
            return false;
        }
        match self.inner.limit {
            None if matches!(self.inner.sink, Sink::Capture(_)) => {}
            None => {
                self.inner.written.fetch_add(total, Ordering::Relaxed);
            }
            Some(limit) => {
                let current = self.inner.written.load(Ordering::Relaxed);
                let fits = current.checked_add(total).is_some_and(|end| end <= limit);
                if !fits
                    || self
                        .inner
                        .written
                        .compare_exchange(
                            current,
                            current + total,
                            Ordering::Relaxed,
                            Ordering::Relaxed,
                        )
                        .is_err()
                {
                    return false;
                }
            }
        }
        match &self.inner.sink {
            Sink::Capture(buf) => {
                let mut buf = lock(buf);
                self.count_under_capture_lock(total);
                buffers.for_each(|b| buf.extend_from_slice(b));
            }
            Sink::Callback(f) => {
                let mut f = lock(f);
                buffers.filter(|b| !b.is_empty()).for_each(&mut *f);
            }
            Sink::Null | Sink::InheritStdout | Sink::InheritStderr => {}
        }
        true
    }

    /// Delivers bytes that were already charged with [`Output::reserve`].
    pub(crate) fn deliver(&self, bytes: &[u8]) -> Result<(), StreamError> {
        if bytes.is_empty() {
            return Ok(());
        }
        let io = |r: std::io::Result<()>| r.map_err(|e| StreamError::Io(e.to_string()));
        match &self.inner.sink {
            Sink::Capture(buf) => {
                let mut buf = lock(buf);
                self.count_under_capture_lock(bytes.len() as u64);
                buf.extend_from_slice(bytes);
                Ok(())
            }
            Sink::Callback(f) => {
                (lock(f))(bytes);
                Ok(())
            }
            Sink::InheritStdout => {
                let mut out = std::io::stdout().lock();
                match crate::deadline::current() {
                    None => io(out.write_all(bytes).and_then(|_| out.flush())),
                    Some(at) => {
                        // Whatever the host printed first goes first.
                        io(out.flush())?;
                        host_out::write_all(HostStream::Stdout, bytes, at)
                    }
                }
            }
            Sink::InheritStderr => match crate::deadline::current() {
                None => io(std::io::stderr().lock().write_all(bytes)),
                Some(at) => {
                    let _err = std::io::stderr().lock();
                    host_out::write_all(HostStream::Stderr, bytes, at)
                }
            },
            Sink::Null => Ok(()),
        }
    }
}

/// The host's output streams.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum HostStream {
    Stdout,
    Stderr,
}

/// Writing to the host's stdout or stderr without ever waiting past the run's deadline (a pipe
/// whose reader stopped reading, a terminal on hold). The host's own descriptors are shared
/// with other processes, so their blocking mode is never changed: a pipe or terminal is opened
/// a second time, non-blocking, through `/proc/self/fd/N` (a new description of the same
/// object), and a socket is written with MSG_DONTWAIT. Anything else (a regular file) cannot
/// block for long and is written as it is.
mod host_out {
    use super::{HostStream, StreamError};
    use rustix::event::PollFlags;
    use rustix::fs::{FileType, Mode, OFlags};
    use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
    use std::sync::OnceLock;
    use std::time::Instant;

    /// How writes to one host stream avoid blocking.
    enum Route {
        /// A non-blocking description of the same pipe or terminal.
        Twin(OwnedFd),
        /// A socket: MSG_DONTWAIT on the shared descriptor.
        Socket,
        /// Nothing that blocks for long (a file), or nothing better found: plain writes,
        /// after waiting for room.
        Plain,
    }

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
                    let flags =
                        OFlags::WRONLY | OFlags::NONBLOCK | OFlags::CLOEXEC | OFlags::NOCTTY;
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
    pub(super) fn write_all(
        stream: HostStream,
        bytes: &[u8],
        at: Instant,
    ) -> Result<(), StreamError> {
        let io = |e: rustix::io::Errno| StreamError::Io(e.to_string());
        let route = route(stream);
        let fd = match route {
            Route::Twin(twin) => twin.as_fd(),
            Route::Socket | Route::Plain => shared(stream),
        };
        let mut rest = bytes;
        while !rest.is_empty() {
            // A plain descriptor may block: write only once it has room, and at most what a
            // pipe takes whole (PIPE_BUF) in case it is one after all.
            if matches!(route, Route::Plain)
                && !crate::deadline::wait_fd(fd, PollFlags::OUT, Some(at))
                    .map_err(|e| StreamError::Io(e.to_string()))?
            {
                return Err(StreamError::Timeout);
            }
            let chunk = match route {
                Route::Plain => rest.get(..rest.len().min(4096)).unwrap_or(rest),
                Route::Twin(_) | Route::Socket => rest,
            };
            let written = match route {
                Route::Socket => rustix::net::send(
                    fd,
                    chunk,
                    rustix::net::SendFlags::DONTWAIT | rustix::net::SendFlags::NOSIGNAL,
                ),
                Route::Twin(_) | Route::Plain => rustix::io::write(fd, chunk),
            };
            match written {
                Ok(n) => rest = rest.get(n..).unwrap_or_default(),
                Err(rustix::io::Errno::INTR) => {}
                Err(rustix::io::Errno::AGAIN) => {
                    let ready = crate::deadline::wait_fd(fd, PollFlags::OUT, Some(at))
                        .map_err(|e| StreamError::Io(e.to_string()))?;
                    if !ready {
                        return Err(StreamError::Timeout);
                    }
                }
                Err(e) => return Err(io(e)),
            }
        }
        Ok(())
    }
}

/// Writes `bytes` to the host process's stderr, waiting at most `patience` for room: for the
/// host's own messages after a guest was stopped, perhaps because stderr stopped draining
/// (the CLI's one-line reports). Returns whether every byte was written.
pub fn write_host_stderr(bytes: &[u8], patience: std::time::Duration) -> bool {
    let Some(at) = Instant::now().checked_add(patience) else {
        return std::io::stderr().lock().write_all(bytes).is_ok();
    };
    let _err = std::io::stderr().lock();
    host_out::write_all(HostStream::Stderr, bytes, at).is_ok()
}

/// Reads the host's stdin (fd 0) directly, bypassing std's buffer so that what `poll` reports
/// is all there is: waits until it is readable first when it may not block past `deadline`,
/// or at all (`nonblocking`). Errors: Timeout (the deadline passed), WouldBlock, Io.
fn read_host_stdin(
    buf: &mut [u8],
    nonblocking: bool,
    deadline: Option<Instant>,
) -> Result<usize, StreamError> {
    let stdin = std::io::stdin();
    let fd = stdin.as_fd();
    let io = |e: rustix::io::Errno| StreamError::Io(e.to_string());
    if nonblocking || deadline.is_some() {
        loop {
            let left = match (nonblocking, deadline) {
                (true, _) => std::time::Duration::ZERO,
                (false, Some(d)) => d.saturating_duration_since(Instant::now()),
                (false, None) => break,
            };
            let timeout = rustix::time::Timespec {
                tv_sec: i64::try_from(left.as_secs()).unwrap_or(i64::MAX),
                tv_nsec: i64::from(left.subsec_nanos()),
            };
            let mut fds = [rustix::event::PollFd::new(
                &fd,
                rustix::event::PollFlags::IN,
            )];
            match rustix::event::poll(&mut fds, Some(&timeout)) {
                Ok(0) if nonblocking => return Err(StreamError::WouldBlock),
                Ok(0) => return Err(StreamError::Timeout),
                Ok(_) => break,
                Err(rustix::io::Errno::INTR) => continue,
                Err(e) => return Err(io(e)),
            }
        }
    }
    loop {
        match rustix::io::read(fd, &mut *buf) {
            Ok(n) => return Ok(n),
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => return Err(io(e)),
        }
    }
}

/// The writing end of a stdin pipe: the host feeds bytes while the guest runs.
#[derive(Clone)]
pub struct InputWriter {
    pipe: Arc<Pipe>,
}

impl fmt::Debug for InputWriter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("InputWriter")
    }
}

impl InputWriter {
    /// Queues bytes for the guest to read.
    pub fn write(&self, bytes: &[u8]) {
        let mut state = lock(&self.pipe.state);
        state.buffer.extend(bytes);
        self.pipe.ready.notify_all();
    }

    /// Marks the end of input: once the queue drains, the guest reads end-of-file.
    pub fn close(&self) {
        lock(&self.pipe.state).closed = true;
        self.pipe.ready.notify_all();
    }
}

#[derive(Default)]
struct PipeState {
    buffer: VecDeque<u8>,
    closed: bool,
}

#[derive(Default)]
struct Pipe {
    state: Mutex<PipeState>,
    ready: Condvar,
}

enum Source {
    Bytes(Mutex<(Bytes, usize)>),
    Pipe(Arc<Pipe>),
    Inherit,
    Empty,
}

/// The guest's stdin. Cloning gives another handle to the same stream.
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

    /// A pipe the host feeds while the guest runs; reads block until bytes or `close`.
    pub fn pipe() -> (Self, InputWriter) {
        let pipe = Arc::new(Pipe::default());
        (
            Input {
                source: Arc::new(Source::Pipe(pipe.clone())),
            },
            InputWriter { pipe },
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
    /// yet and `nonblocking` is false. Returns 0 at end-of-file.
    pub(crate) fn read(
        &self,
        buf: &mut [u8],
        nonblocking: bool,
        deadline: Option<Instant>,
    ) -> Result<usize, StreamError> {
        match &*self.source {
            Source::Bytes(state) => {
                let mut state = lock(state);
                let (data, pos) = &mut *state;
                let n = buf.len().min(data.len() - *pos);
                buf[..n].copy_from_slice(&data[*pos..*pos + n]);
                *pos += n;
                Ok(n)
            }
            Source::Pipe(pipe) => {
                let mut state = lock(&pipe.state);
                loop {
                    if !state.buffer.is_empty() {
                        let n = buf.len().min(state.buffer.len());
                        for (dst, src) in buf.iter_mut().zip(state.buffer.drain(..n)) {
                            *dst = src;
                        }
                        return Ok(n);
                    }
                    if state.closed {
                        return Ok(0);
                    }
                    if nonblocking {
                        return Err(StreamError::WouldBlock);
                    }
                    state = match deadline {
                        None => pipe.ready.wait(state).unwrap_or_else(|e| e.into_inner()),
                        Some(deadline) => {
                            let now = Instant::now();
                            if now >= deadline {
                                return Err(StreamError::Timeout);
                            }
                            pipe.ready
                                .wait_timeout(state, deadline - now)
                                .unwrap_or_else(|e| e.into_inner())
                                .0
                        }
                    };
                }
            }
            Source::Inherit => read_host_stdin(buf, nonblocking, deadline),
            Source::Empty => Ok(0),
        }
    }

    /// Bytes that can be read now without blocking, if that is knowable
    /// (`None` for an inherited stdin, whose readiness the host cannot see cheaply).
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
            Source::Pipe(pipe) => {
                let mut state = lock(&pipe.state);
                loop {
                    if !state.buffer.is_empty() || state.closed {
                        return true;
                    }
                    state = match deadline {
                        None => pipe.ready.wait(state).unwrap_or_else(|e| e.into_inner()),
                        Some(deadline) => {
                            let now = Instant::now();
                            if now >= deadline {
                                return false;
                            }
                            pipe.ready
                                .wait_timeout(state, deadline - now)
                                .unwrap_or_else(|e| e.into_inner())
                                .0
                        }
                    };
                }
            }
            // An inherited stdin is treated as always ready, as wasmtime does for blocking files.
            _ => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Four threads share each kind of stream, half of them through the general path
    /// (`reserve` then `deliver`), half through the fast path's whole write (which may defer
    /// under contention, as the linker then does, to the general path): no count is lost and
    /// the captured bytes match it.
    #[test]
    fn counts_survive_concurrent_writers_on_either_path() {
        for out in [
            Output::capture(),
            Output::null(),
            Output::capture().limit(1 << 40),
        ] {
            let threads: Vec<_> = (0..4)
                .map(|t| {
                    let out = out.clone();
                    std::thread::spawn(move || {
                        for _ in 0..10_000 {
                            let parts = [&b"ab"[..], &b""[..], &b"c"[..]];
                            if t % 2 == 0 || !out.write_all_or_defer(3, parts.into_iter()) {
                                let n = out.reserve(3).unwrap();
                                out.deliver(&b"abc"[..n as usize]).unwrap();
                            }
                        }
                    })
                })
                .collect();
            threads.into_iter().for_each(|t| t.join().unwrap());
            assert_eq!(out.written(), 120_000, "{out:?}");
            if !out.contents().is_empty() {
                assert_eq!(out.contents().len(), 120_000);
            }
        }
    }
}
