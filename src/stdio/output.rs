//! [`Output`]: where the guest's stdout/stderr bytes go (capture, callback, the host's own
//! streams, nowhere) and the byte budget that stops it. Part of the stdio layer under
//! `p1/fd_io.rs` and `p1/fast.rs`, which charge a write here before copying a byte of it out
//! of guest memory. Every setting is made on an [`OutputBuilder`], before the stream exists:
//! nothing may change a stream that could already be shared. Host-stream writes: `host_unix.rs` / `host_windows.rs`.

use super::HostStream;
use super::host;
use super::{StreamError, lock};
use std::fmt;
use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// What happens when a guest writes past an output stream's byte budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LimitAction {
    /// Stop the guest with a trap naming the stream and the limit (the default).
    #[default]
    Trap,
    /// Write what fits, then answer further writes with EFBIG (a short write first).
    Truncate,
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

impl Sink {
    fn kind(&self) -> &'static str {
        match self {
            Sink::Capture(_) => "capture",
            Sink::Callback(_) => "callback",
            Sink::InheritStdout => "inherit-stdout",
            Sink::InheritStderr => "inherit-stderr",
            Sink::Null => "null",
        }
    }
}

/// What every handle of one stream shares. Only `written` (and the sink's own buffer) ever
/// changes after [`OutputBuilder::build`]; `limit` and `action` are plain fields, read without
/// a lock, because nothing can write them once the `Arc` exists.
struct OutputInner {
    sink: Sink,
    limit: Option<u64>,
    action: LimitAction,
    written: AtomicU64,
    /// The own counts of the descriptors writing to this stream (see [`Output::for_descriptor`]);
    /// `written()` adds them up under this lock, and a descriptor's handle folds its count into
    /// `written` under it when dropped, so a reader never sees a count twice or not at all.
    writers: Mutex<Vec<Arc<AtomicU64>>>,
}

/// An [`Output`] being configured: what the constructors ([`Output::capture`],
/// [`Output::callback`], [`Output::inherit_stdout`], [`Output::inherit_stderr`],
/// [`Output::null`]) return. It is not `Clone` and cannot be written or read, so every setting
/// is made while exactly one value exists; [`OutputBuilder::build`] (or passing it to
/// [`WasiCtxBuilder::stdout`](crate::WasiCtxBuilder::stdout)) freezes them.
///
/// ```
/// use wasi_warden::{LimitAction, Output, WasiCtx};
/// // Configured in place, when the stream needs no handle of the host's:
/// let ctx = WasiCtx::builder().stderr(Output::null().limit(4096)).build();
/// assert_eq!(ctx.stderr().byte_limit(), Some(4096));
/// // Built first, when the host keeps a handle to read the captured bytes:
/// let out = Output::capture().limit(1 << 20).on_limit(LimitAction::Truncate).build();
/// let ctx = WasiCtx::builder().stdout(out.clone()).build();
/// assert_eq!(ctx.stdout().byte_limit(), Some(1 << 20));
/// ```
///
/// A builder cannot be shared, so no copy of it can be configured differently:
///
/// ```compile_fail,E0599
/// let builder = wasi_warden::Output::capture();
/// let copy = builder.clone(); // no `clone` on `OutputBuilder`
/// ```
#[must_use = "an OutputBuilder does nothing until it is built or given to WasiCtxBuilder"]
pub struct OutputBuilder {
    sink: Sink,
    limit: Option<u64>,
    action: LimitAction,
}

impl fmt::Debug for OutputBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OutputBuilder")
            .field("sink", &self.sink.kind())
            .field("limit", &self.limit)
            .field("action", &self.action)
            .finish()
    }
}

impl OutputBuilder {
    fn new(sink: Sink) -> Self {
        OutputBuilder {
            sink,
            limit: None,
            action: LimitAction::Trap,
        }
    }

    /// Sets the byte budget; past it the guest is stopped (see [`OutputBuilder::on_limit`]).
    /// The budget counts every byte the guest writes through any descriptor of this stream.
    ///
    /// Only a builder has this method: a built [`Output`] may already be shared, and its limit
    /// can no longer change (it once could be "set" on a clone and be silently ignored).
    ///
    /// ```compile_fail,E0599
    /// use wasi_warden::Output;
    /// let out = Output::capture().build();
    /// let shared = out.clone();
    /// let out = out.limit(1 << 20); // no `limit` on `Output`
    /// ```
    pub fn limit(mut self, bytes: u64) -> Self {
        self.limit = Some(bytes);
        self
    }

    /// Chooses what happens past the budget (default: [`LimitAction::Trap`]).
    pub fn on_limit(mut self, action: LimitAction) -> Self {
        self.action = action;
        self
    }

    /// Makes the stream; its settings are final from here on, for every clone.
    pub fn build(self) -> Output {
        Output {
            inner: Arc::new(OutputInner {
                sink: self.sink,
                limit: self.limit,
                action: self.action,
                written: AtomicU64::new(0),
                writers: Mutex::new(Vec::new()),
            }),
            name: Mutex::new(UNPLACED),
            own: None,
        }
    }
}

impl From<OutputBuilder> for Output {
    fn from(builder: OutputBuilder) -> Output {
        builder.build()
    }
}

/// The name of a handle not (yet) placed as a guest's stdout or stderr.
const UNPLACED: &str = "output";

/// An output stream for the guest's stdout or stderr, made by an [`OutputBuilder`]. Cloning
/// gives another handle to the same stream (same bytes, same count, same budget), so the host
/// can keep one and read what the guest wrote, during or after the run. An `Output` has no
/// method that changes its settings.
pub struct Output {
    inner: Arc<OutputInner>,
    /// The descriptor this handle was placed as ("stdout", "stderr"), named in the limit's
    /// message. Per handle, not shared: one stream may serve as both stdout and stderr (one
    /// budget for both, like `2>&1`), or be reused by a later context, and each placement's
    /// message must name itself instead of whichever placement came last. Copied by `clone`,
    /// so a descriptor the guest renumbers keeps its name.
    name: Mutex<&'static str>,
    /// This handle's own byte count, on the handle a guest's descriptor writes through
    /// (`for_descriptor`) of a stream that has no budget and is no capture. A descriptor is
    /// used by its store's thread only, so the count is one plain load and store per write
    /// instead of an atomic add on the shared count (~7 ns of a 16-byte `fd_write` to a null
    /// stream, `cargo bench`), and `written()` stays exact however many descriptors on however
    /// many threads write to one stream.
    own: Option<Arc<AtomicU64>>,
}

impl Clone for Output {
    /// Another handle to the same stream; its writes count on the shared count.
    fn clone(&self) -> Self {
        Output {
            inner: Arc::clone(&self.inner),
            name: Mutex::new(self.name()),
            own: None,
        }
    }
}

impl Drop for Output {
    fn drop(&mut self) {
        if let Some(own) = self.own.take() {
            // Folded in and unregistered under one lock: `written()` sees it exactly once.
            let mut writers = lock(&self.inner.writers);
            self.inner
                .written
                .fetch_add(own.load(Ordering::Relaxed), Ordering::Relaxed);
            writers.retain(|w| !Arc::ptr_eq(w, &own));
        }
    }
}

impl fmt::Debug for Output {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Output")
            .field("sink", &self.inner.sink.kind())
            .field("name", &self.name())
            .field("limit", &self.inner.limit)
            .field("written", &self.written())
            .finish()
    }
}

impl Output {
    /// Keeps every byte in memory; build it, keep a clone, and read them with
    /// [`Output::contents`].
    pub fn capture() -> OutputBuilder {
        OutputBuilder::new(Sink::Capture(Mutex::new(Vec::new())))
    }

    /// Hands every write to `f` as it happens (on the guest's thread, one call at a time).
    pub fn callback(f: impl FnMut(&[u8]) + Send + 'static) -> OutputBuilder {
        OutputBuilder::new(Sink::Callback(Mutex::new(Box::new(f))))
    }

    /// Writes to the host process's stdout.
    pub fn inherit_stdout() -> OutputBuilder {
        OutputBuilder::new(Sink::InheritStdout)
    }

    /// Writes to the host process's stderr.
    pub fn inherit_stderr() -> OutputBuilder {
        OutputBuilder::new(Sink::InheritStderr)
    }

    /// Discards every byte (still counted against the limit).
    pub fn null() -> OutputBuilder {
        OutputBuilder::new(Sink::Null)
    }

    /// Names this handle for the limit's message, when the context places it at fd 1 or 2.
    /// Only this handle (and the clones made from it afterwards) carry the name.
    pub(crate) fn set_name(&self, name: &'static str) {
        *lock(&self.name) = name;
    }

    fn name(&self) -> &'static str {
        *lock(&self.name)
    }

    /// The handle a guest's descriptor writes through: a clone, with its own byte count where
    /// the shared one would otherwise take an atomic add per write (no budget, no capture).
    pub(crate) fn for_descriptor(&self) -> Output {
        let mut handle = self.clone();
        if self.inner.limit.is_none() && !matches!(self.inner.sink, Sink::Capture(_)) {
            let own = Arc::new(AtomicU64::new(0));
            lock(&self.inner.writers).push(Arc::clone(&own));
            handle.own = Some(own);
        }
        handle
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
        // The descriptors' own counts with the shared one, under the lock their drop folds
        // them in with.
        let writers = lock(&self.inner.writers);
        let own: u64 = writers.iter().map(|w| w.load(Ordering::Relaxed)).sum();
        self.inner
            .written
            .load(Ordering::Relaxed)
            .saturating_add(own)
    }

    /// The byte budget, if any.
    pub fn byte_limit(&self) -> Option<u64> {
        self.inner.limit
    }

    /// What happens past the budget.
    pub fn limit_action(&self) -> LimitAction {
        self.inner.action
    }

    /// Whether the stream is a terminal (reported to the guest as a character device).
    pub fn is_terminal(&self) -> bool {
        match self.inner.sink {
            Sink::InheritStdout => std::io::stdout().is_terminal(),
            Sink::InheritStderr => std::io::stderr().is_terminal(),
            _ => false,
        }
    }

    /// Writes one call's `buffers`, whose lengths sum to `total`: the whole write protocol of
    /// an output stream, shared by every caller. Returns how many bytes went.
    ///
    /// The budget is charged first, in one compare-and-swap for everything that fits, before
    /// a byte is copied out of guest memory: nothing past the budget is ever buffered, copied
    /// or shown, a guest asking for gigabytes costs the host what the budget allows, and
    /// writers racing through clones of one stream can never together overshoot it. Then the
    /// charged bytes are delivered in order (one lock for a capture or a callback). Past the
    /// budget, `Trap` delivers what fits and answers LimitTrap; `Truncate` answers a short
    /// count, or LimitReached when nothing fits. A host error after some bytes went is a short
    /// count; Timeout (the host's stdout or stderr had no room before the run's deadline)
    /// always stops the write.
    #[inline]
    pub(crate) fn write<'b>(
        &self,
        total: u64,
        buffers: impl Iterator<Item = &'b [u8]>,
    ) -> Result<u64, StreamError> {
        let granted = self.charge(total)?;
        let delivered = self.deliver(granted, buffers)?;
        if granted < total && self.inner.action == LimitAction::Trap {
            return Err(self.limit_trap());
        }
        Ok(delivered)
    }

    /// Charges up to `wanted` bytes to the budget; how many fit. Errors: LimitTrap or
    /// LimitReached when nothing fits.
    #[inline]
    fn charge(&self, wanted: u64) -> Result<u64, StreamError> {
        let Some(limit) = self.inner.limit else {
            // Without a budget, a capturing stream counts as it delivers, under its lock.
            if let Some(own) = &self.own {
                // This handle's own count: one writer, so a plain load and store (`own`).
                let n = own.load(Ordering::Relaxed);
                own.store(n.saturating_add(wanted), Ordering::Relaxed);
            } else if !matches!(self.inner.sink, Sink::Capture(_)) {
                self.inner.written.fetch_add(wanted, Ordering::Relaxed);
            }
            return Ok(wanted);
        };
        let mut current = self.inner.written.load(Ordering::Relaxed);
        loop {
            let room = limit.saturating_sub(current);
            if room == 0 && wanted > 0 {
                return Err(match self.inner.action {
                    LimitAction::Trap => self.limit_trap(),
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

    fn limit_trap(&self) -> StreamError {
        StreamError::LimitTrap {
            stream: self.name().to_string(),
            limit: self.inner.limit.unwrap_or(0),
        }
    }

    /// Counts `n` delivered bytes of a capturing stream without a budget; called with its
    /// buffer locked. Every change of such a stream's count happens under that lock (`charge`
    /// leaves it alone), so a plain load and store cannot lose an update, and the write path
    /// pays for one atomic operation (the lock) instead of two. With a budget, `charge` has
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

    /// Delivers the first `charged` bytes of `buffers`, in order; how many went.
    #[inline]
    fn deliver<'b>(
        &self,
        charged: u64,
        buffers: impl Iterator<Item = &'b [u8]>,
    ) -> Result<u64, StreamError> {
        let mut left = charged;
        // The buffers cut to what was charged, empty ones skipped.
        let charged_parts = buffers
            .map(move |b| {
                let n = usize::try_from(left).unwrap_or(usize::MAX).min(b.len());
                left -= n as u64;
                b.get(..n).unwrap_or_default()
            })
            .filter(|b| !b.is_empty());
        match &self.inner.sink {
            Sink::Capture(buf) => {
                let mut buf = lock(buf);
                self.count_under_capture_lock(charged);
                charged_parts.for_each(|b| buf.extend_from_slice(b));
                Ok(charged)
            }
            Sink::Callback(f) => {
                let mut f = lock(f);
                charged_parts.for_each(&mut *f);
                Ok(charged)
            }
            Sink::Null => Ok(charged),
            Sink::InheritStdout | Sink::InheritStderr => {
                let stream = match self.inner.sink {
                    Sink::InheritStderr => HostStream::Stderr,
                    _ => HostStream::Stdout,
                };
                let mut done = 0u64;
                for part in charged_parts {
                    match host::deliver(stream, part) {
                        Ok(()) => done += part.len() as u64,
                        Err(StreamError::Timeout) => return Err(StreamError::Timeout),
                        // Bytes that went are reported; the error comes back on the next call.
                        Err(_) if done > 0 => return Ok(done),
                        Err(e) => return Err(e),
                    }
                }
                Ok(done)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Four threads share each kind of stream and write three buffers (one empty) per call:
    /// no count is lost and the captured bytes match it.
    #[test]
    fn counts_survive_concurrent_writers() {
        for out in [
            Output::capture().build(),
            Output::null().build(),
            Output::capture().limit(1 << 40).build(),
        ] {
            let threads: Vec<_> = (0..4)
                .map(|_| {
                    let out = out.clone();
                    std::thread::spawn(move || {
                        for _ in 0..10_000 {
                            let parts = [&b"ab"[..], &b""[..], &b"c"[..]];
                            assert_eq!(out.write(3, parts.into_iter()), Ok(3));
                        }
                    })
                })
                .collect();
            threads.into_iter().for_each(|t| t.join().unwrap());
            assert_eq!(out.written(), 120_000, "{out:?}");
            if !out.contents().is_empty() {
                assert_eq!(out.contents().len(), 120_000);
                assert!(out.contents().chunks(3).all(|c| c == b"abc"));
            }
        }
    }

    /// Descriptor handles count on their own (no atomic add per write): the stream's count is
    /// still exact while they write from several threads, never goes back while they are
    /// dropped (their counts folded in), and nothing stays registered after.
    #[test]
    fn descriptor_handles_keep_the_count_exact() {
        for out in [
            Output::null().build(),
            Output::callback(|_| {}).build(),
            Output::capture().build(),
            Output::null().limit(1 << 40).build(),
        ] {
            let threads: Vec<_> = (0..4)
                .map(|i| {
                    // Two descriptors' handles and two plain clones, on four threads.
                    let out = if i % 2 == 0 {
                        out.for_descriptor()
                    } else {
                        out.clone()
                    };
                    std::thread::spawn(move || {
                        for _ in 0..10_000 {
                            let parts = [&b"ab"[..], &b""[..], &b"c"[..]];
                            assert_eq!(out.write(3, parts.into_iter()), Ok(3));
                        }
                    })
                })
                .collect();
            let mut seen = 0;
            while !threads.iter().all(|t| t.is_finished()) {
                let now = out.written();
                assert!(now >= seen, "{now} after {seen}");
                seen = now;
            }
            threads.into_iter().for_each(|t| t.join().unwrap());
            assert_eq!(out.written(), 120_000, "{out:?}");
            assert!(lock(&out.inner.writers).is_empty());
        }
        // A handle still alive counts too, and its drop neither loses nor doubles its bytes.
        let out = Output::null().build();
        let handle = out.for_descriptor();
        assert_eq!(handle.write(5, [&b"hello"[..]].into_iter()), Ok(5));
        assert_eq!(out.written(), 5);
        drop(handle);
        assert_eq!(out.written(), 5);
    }

    #[test]
    fn past_the_budget_trap_delivers_what_fits_and_truncate_writes_short() {
        let out = Output::capture().limit(4).build();
        let parts = [&b"abc"[..], &b"def"[..]];
        assert!(matches!(
            out.write(6, parts.into_iter()),
            Err(StreamError::LimitTrap { limit: 4, .. })
        ));
        assert_eq!(out.contents(), b"abcd");
        let out = Output::capture()
            .limit(4)
            .on_limit(LimitAction::Truncate)
            .build();
        assert_eq!(out.write(6, parts.into_iter()), Ok(4));
        assert_eq!(
            out.write(1, [&b"x"[..]].into_iter()),
            Err(StreamError::LimitReached)
        );
        assert_eq!(out.contents(), b"abcd");
    }

    /// Writes `bytes` as one buffer.
    fn put(out: &Output, bytes: &[u8]) -> Result<u64, StreamError> {
        out.write(bytes.len() as u64, [bytes].into_iter())
    }

    #[test]
    fn a_limit_set_in_the_builder_holds_for_every_clone() {
        let out = Output::capture().limit(10).build();
        let early = out.clone();
        assert_eq!(put(&early, b"012345"), Ok(6));
        let late = out.clone();
        let other_thread = std::thread::spawn({
            let out = out.clone();
            move || (out.byte_limit(), put(&out, b"6789ab"))
        });
        let (limit, stopped) = other_thread.join().unwrap();
        assert_eq!(limit, Some(10));
        assert!(matches!(
            stopped,
            Err(StreamError::LimitTrap { limit: 10, .. })
        ));
        for handle in [&out, &early, &late] {
            assert_eq!(handle.byte_limit(), Some(10));
            assert_eq!(handle.limit_action(), LimitAction::Trap);
            assert_eq!(handle.written(), 10);
            assert!(matches!(
                put(handle, b"x"),
                Err(StreamError::LimitTrap { limit: 10, .. })
            ));
        }
        assert_eq!(out.contents(), b"0123456789");
    }

    /// One stream placed as both stdout and stderr (as `2>&1`): one budget, but each
    /// placement's handle names itself in the limit's message, and a handle placed later does
    /// not rename one placed before.
    #[test]
    fn names_belong_to_the_placement_and_the_budget_to_the_stream() {
        let out = Output::null().limit(0).build();
        let (as_stdout, as_stderr) = (out.clone(), out.clone());
        as_stdout.set_name("stdout");
        as_stderr.set_name("stderr");
        let renumbered = as_stdout.clone();
        let stream = |h: &Output| match put(h, b"x") {
            Err(StreamError::LimitTrap { stream, .. }) => stream,
            other => panic!("{other:?}"),
        };
        assert_eq!(stream(&as_stdout), "stdout");
        assert_eq!(stream(&renumbered), "stdout");
        assert_eq!(stream(&as_stderr), "stderr");
        assert_eq!(stream(&out), UNPLACED);
    }

    #[test]
    fn truncate_is_kept_by_every_clone_and_gives_what_fits() {
        let out = Output::capture()
            .limit(4)
            .on_limit(LimitAction::Truncate)
            .build();
        let clone = out.clone();
        assert_eq!(put(&clone, b"abc"), Ok(3));
        assert_eq!(put(&out, b"def"), Ok(1));
        assert_eq!(put(&clone, b"g"), Err(StreamError::LimitReached));
        assert_eq!(out.contents(), b"abcd");
    }
}
