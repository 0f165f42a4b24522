//! The guest's standard streams, chosen by the embedder: where stdout/stderr bytes go
//! ([`Output`], `output.rs`; the host's own streams in `host_unix.rs` / `host_windows.rs`) and
//! where stdin bytes come from ([`Input`], `input.rs`). An `Output`'s byte budget is fixed when it is built, so it
//! follows the stream wherever the guest moves the descriptor and no holder can change it.
//! Nothing here touches guest memory (`p1/fd_io.rs` copies bytes in bounded chunks), and no wait
//! here outlives the run's deadline (an inherited stdin is polled, a full host pipe waited on).

#[cfg(unix)]
#[path = "host_unix.rs"]
mod host;
#[cfg(windows)]
#[path = "host_windows.rs"]
mod host;
mod input;
mod output;

pub use host::write_host_stderr;
pub use input::{Input, InputWriter};
pub use output::{LimitAction, Output, OutputBuilder, OutputLimitExceeded};

use std::sync::{Mutex, MutexGuard};

/// The host's output streams.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum HostStream {
    Stdout,
    Stderr,
}

/// Locks a mutex, ignoring poisoning: a panic in an embedder callback must not make the
/// captured output unreadable afterwards ("nothing lost").
fn lock<T: ?Sized>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Why a stream operation failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum StreamError {
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
    /// The run's deadline passed while the guest waited: for input, or for room in the host's
    /// stdout or stderr (stops the guest).
    Timeout,
}
