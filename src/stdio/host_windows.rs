//! The host process's own stdin, stdout and stderr on Windows (the `inherit_*` streams, and
//! the CLI's messages), never waited on past the run's deadline. Windows cannot poll a pipe or
//! console handle for room or data, and its anonymous pipes have no per-call non-blocking
//! mode, so each stream that can block has one worker thread doing the blocking call while
//! the guest's thread waits for it no longer than its deadline. A call that times out is not
//! lost: its bytes are still written (they were charged to the guest's budget), and a read's
//! bytes are kept for the next read.

// Windows has no safe binding for these calls (no rustix there): each `unsafe` block says
// why it is sound. The crate denies unsafe code everywhere else.
#![allow(unsafe_code)]

use super::{HostStream, StreamError};
use std::io::{IsTerminal, Read, Write};
use std::mem::ManuallyDrop;
use std::os::windows::io::{AsRawHandle, FromRawHandle};
use std::sync::{Condvar, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};
use windows_sys::Win32::Storage::FileSystem::{FILE_TYPE_DISK, GetFileType};

/// Most bytes one read of the host's stdin asks for: the worker's buffer is host memory.
const MAX_READ: usize = 64 * 1024;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Waits on `cond` while `busy(state)` holds, until `deadline` (none: as long as it takes).
/// Returns the guard and whether the state stopped being busy.
fn wait_while<'a, T>(
    cond: &Condvar,
    mut guard: MutexGuard<'a, T>,
    deadline: Option<Instant>,
    busy: impl Fn(&T) -> bool,
) -> (MutexGuard<'a, T>, bool) {
    while busy(&guard) {
        match deadline {
            None => guard = cond.wait(guard).unwrap_or_else(|e| e.into_inner()),
            Some(at) => {
                let left = at.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return (guard, false);
                }
                guard = cond
                    .wait_timeout(guard, left)
                    .unwrap_or_else(|e| e.into_inner())
                    .0;
            }
        }
    }
    (guard, true)
}

/// Writes `bytes` to the stream's handle as it is: a pipe or file gets the guest's bytes
/// verbatim; a console, which std only writes as UTF-16, gets them as UTF-8 text with
/// invalid sequences replaced (std would refuse the whole write).
fn write_handle(stream: HostStream, bytes: &[u8]) -> std::io::Result<()> {
    match stream {
        HostStream::Stdout if std::io::stdout().is_terminal() => {
            let mut out = std::io::stdout().lock();
            out.write_all(String::from_utf8_lossy(bytes).as_bytes())?;
            out.flush()
        }
        HostStream::Stderr if std::io::stderr().is_terminal() => std::io::stderr()
            .lock()
            .write_all(String::from_utf8_lossy(bytes).as_bytes()),
        HostStream::Stdout => {
            // What the host printed through std goes out before the guest's bytes.
            std::io::stdout().lock().flush()?;
            raw(stream).write_all(bytes)
        }
        HostStream::Stderr => raw(stream).write_all(bytes),
    }
}

/// The process's stdout or stderr handle as a `File` that never closes it.
fn raw(stream: HostStream) -> ManuallyDrop<std::fs::File> {
    let handle = match stream {
        HostStream::Stdout => std::io::stdout().as_raw_handle(),
        HostStream::Stderr => std::io::stderr().as_raw_handle(),
    };
    // SAFETY: the process's standard handle, valid while the process runs; ManuallyDrop keeps
    // it open when this view goes.
    ManuallyDrop::new(unsafe { std::fs::File::from_raw_handle(handle) })
}

/// Whether writes to `stream` cannot block for long (a disk file): then no worker is needed.
fn is_disk(stream: HostStream) -> bool {
    let handle = match stream {
        HostStream::Stdout => std::io::stdout().as_raw_handle(),
        HostStream::Stderr => std::io::stderr().as_raw_handle(),
    };
    // SAFETY: GetFileType only reads the handle's type; an invalid handle answers UNKNOWN.
    unsafe { GetFileType(handle as _) == FILE_TYPE_DISK }
}

/// One output stream's worker: a job is the bytes of one delivery and its result.
#[derive(Default)]
struct OutState {
    job: Option<Vec<u8>>,
    /// The worker holds a job it has not finished writing.
    busy: bool,
    /// The last finished job's failure, reported to the delivery that waits for it.
    failed: Option<String>,
}

struct Writer {
    state: Mutex<OutState>,
    cond: Condvar,
}

static WRITERS: [OnceLock<&'static Writer>; 2] = [OnceLock::new(), OnceLock::new()];

fn writer(stream: HostStream) -> &'static Writer {
    WRITERS[stream as usize].get_or_init(|| {
        let writer: &'static Writer = Box::leak(Box::new(Writer {
            state: Mutex::new(OutState::default()),
            cond: Condvar::new(),
        }));
        std::thread::Builder::new()
            .name("wasi-warden host output".into())
            .spawn(move || {
                loop {
                    let (mut state, _) =
                        wait_while(&writer.cond, lock(&writer.state), None, |s| s.job.is_none());
                    let Some(bytes) = state.job.take() else {
                        continue;
                    };
                    drop(state);
                    let result = write_handle(stream, &bytes);
                    let mut state = lock(&writer.state);
                    state.busy = false;
                    state.failed = result.err().map(|e| e.to_string());
                    writer.cond.notify_all();
                }
            })
            .expect("spawning the host output thread");
        writer
    })
}

/// Delivers a guest's bytes (already charged to its budget) to the host's `stream`, waiting
/// no later than the calling thread's deadline. Errors: Timeout, Io.
pub(super) fn deliver(stream: HostStream, bytes: &[u8]) -> Result<(), StreamError> {
    match crate::deadline::current() {
        None => write_handle(stream, bytes).map_err(|e| StreamError::Io(e.to_string())),
        Some(at) => write_until(stream, bytes, at),
    }
}

/// Writes `bytes` to the host's `stream` through its worker, waiting no later than `at`;
/// bytes handed over before the deadline are written even if the wait ends first.
fn write_until(stream: HostStream, bytes: &[u8], at: Instant) -> Result<(), StreamError> {
    if is_disk(stream) {
        return write_handle(stream, bytes).map_err(|e| StreamError::Io(e.to_string()));
    }
    let writer = writer(stream);
    // An earlier delivery that timed out may still be writing: ours goes after it.
    let (mut state, idle) = wait_while(&writer.cond, lock(&writer.state), Some(at), |s| s.busy);
    if !idle {
        return Err(StreamError::Timeout);
    }
    state.job = Some(bytes.to_vec());
    state.busy = true;
    state.failed = None;
    writer.cond.notify_all();
    let (mut state, done) = wait_while(&writer.cond, state, Some(at), |s| s.busy);
    if !done {
        return Err(StreamError::Timeout);
    }
    match state.failed.take() {
        Some(e) => Err(StreamError::Io(e)),
        None => Ok(()),
    }
}

/// Writes `bytes` to the host process's stderr, waiting at most `patience` for it: for the
/// host's own messages after a guest was stopped, perhaps because stderr stopped draining
/// (the CLI's one-line reports). Returns whether every byte was written.
pub fn write_host_stderr(bytes: &[u8], patience: Duration) -> bool {
    match Instant::now().checked_add(patience) {
        Some(at) => write_until(HostStream::Stderr, bytes, at).is_ok(),
        None => write_handle(HostStream::Stderr, bytes).is_ok(),
    }
}

/// The stdin worker: one outstanding read at a time, and what came back but was not yet
/// taken (a read whose caller stopped waiting, or more than the next caller asked for).
#[derive(Default)]
struct InState {
    /// Bytes the worker should ask for; `Some` while a read is wanted or under way.
    wanted: Option<usize>,
    /// Read but not yet given to the guest.
    ready: Vec<u8>,
    /// The last read reached end-of-file (or failed): answered once, then asked again.
    ended: Option<Result<(), String>>,
}

struct Reader {
    state: Mutex<InState>,
    cond: Condvar,
}

static READER: OnceLock<&'static Reader> = OnceLock::new();

fn reader() -> &'static Reader {
    READER.get_or_init(|| {
        let reader: &'static Reader = Box::leak(Box::new(Reader {
            state: Mutex::new(InState::default()),
            cond: Condvar::new(),
        }));
        std::thread::Builder::new()
            .name("wasi-warden host stdin".into())
            .spawn(move || {
                let mut buf = vec![0u8; MAX_READ];
                loop {
                    let (state, _) = wait_while(&reader.cond, lock(&reader.state), None, |s| {
                        s.wanted.is_none()
                    });
                    let want = state.wanted.unwrap_or(1).clamp(1, MAX_READ);
                    drop(state);
                    // std's stdin: a console's UTF-16 comes out as UTF-8, a closed pipe as 0.
                    let read = loop {
                        match std::io::stdin().lock().read(&mut buf[..want]) {
                            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                            other => break other,
                        }
                    };
                    let mut state = lock(&reader.state);
                    state.wanted = None;
                    match read {
                        Ok(0) => state.ended = Some(Ok(())),
                        Ok(n) => state.ready.extend_from_slice(&buf[..n]),
                        Err(e) => state.ended = Some(Err(e.to_string())),
                    }
                    reader.cond.notify_all();
                }
            })
            .expect("spawning the host stdin thread");
        reader
    })
}

/// Reads the host's stdin into `buf`: without waiting (`nonblocking`: WouldBlock unless bytes
/// are already in), or no later than `deadline` (Timeout), or as long as it takes.
/// Errors: Timeout, WouldBlock, Io.
pub(super) fn read_stdin(
    buf: &mut [u8],
    nonblocking: bool,
    deadline: Option<Instant>,
) -> Result<usize, StreamError> {
    if buf.is_empty() {
        return Ok(0);
    }
    let reader = reader();
    let mut state = lock(&reader.state);
    let has_answer = |s: &InState| !s.ready.is_empty() || s.ended.is_some();
    if !has_answer(&state) && state.wanted.is_none() {
        state.wanted = Some(buf.len());
        reader.cond.notify_all();
    }
    let until = if nonblocking {
        Some(Instant::now())
    } else {
        deadline
    };
    let (mut state, answered) = wait_while(&reader.cond, state, until, |s| !has_answer(s));
    if !answered {
        return Err(if nonblocking {
            StreamError::WouldBlock
        } else {
            StreamError::Timeout
        });
    }
    if !state.ready.is_empty() {
        let n = buf.len().min(state.ready.len());
        buf[..n].copy_from_slice(&state.ready[..n]);
        state.ready.drain(..n);
        return Ok(n);
    }
    match state.ended.take() {
        Some(Err(e)) => Err(StreamError::Io(e)),
        _ => Ok(0),
    }
}
