//! The run's deadline: one instant shared by everything that must stop the guest on time — the
//! epoch callback that interrupts wasm code (`run.rs`), every wait in `p1/` and `stdio.rs`
//! (stdin, stdout/stderr pipes, sockets, `poll_oneoff`), and long backend work (an overlay
//! copy-up). Backends see no context, so the linker makes the calling context's deadline the
//! thread's current one for the length of each call. Time a person spends answering a
//! prompt moves the deadline later by as long ([`Deadline::postpone`]).

use crate::vfs::{FsError, FsResult};
use std::cell::RefCell;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// `at` when no deadline is set: a sentinel rather than an `Option`, so the whole deadline
/// fits one atomic, read without a lock on every call.
const NONE: u64 = u64::MAX;

struct Inner {
    /// The zero of `at` (an `Instant` cannot be stored atomically; nanoseconds after it can).
    origin: Instant,
    /// Nanoseconds after `origin`, or [`NONE`].
    at: AtomicU64,
}

/// A shared, movable deadline. Clones share one instant: setting or postponing it through any
/// clone is seen by all (the epoch callback, the ticker thread and every wait of the run).
#[derive(Clone)]
pub struct Deadline {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Deadline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Deadline").field(&self.at()).finish()
    }
}

impl Default for Deadline {
    fn default() -> Deadline {
        Deadline::new()
    }
}

impl Deadline {
    /// A deadline that is not set: nothing ever times out.
    pub fn new() -> Deadline {
        Deadline {
            inner: Arc::new(Inner {
                origin: Instant::now(),
                at: AtomicU64::new(NONE),
            }),
        }
    }

    /// The instant, if one is set.
    pub fn at(&self) -> Option<Instant> {
        match self.inner.at.load(Ordering::Acquire) {
            NONE => None,
            nanos => self.inner.origin.checked_add(Duration::from_nanos(nanos)),
        }
    }

    /// Whether a deadline is set (one atomic load: the common case of no timeout stays cheap).
    #[inline]
    pub fn is_set(&self) -> bool {
        // Relaxed: this only decides whether a scope is worth entering; `at` reads the instant
        // itself with Acquire.
        self.inner.at.load(Ordering::Relaxed) != NONE
    }

    /// Sets the instant (`None` clears it). An instant before this deadline was created counts
    /// as already passed; one too far away to count in nanoseconds is clamped to the farthest
    /// that can be (some 584 years on: never, in practice), and stays set.
    pub fn set(&self, at: Option<Instant>) {
        let nanos = match at {
            None => NONE,
            Some(at) => {
                let after = at.saturating_duration_since(self.inner.origin).as_nanos();
                // Never `NONE` for a set deadline: a far one must not read as none.
                u64::try_from(after).unwrap_or(NONE).min(NONE - 1)
            }
        };
        self.inner.at.store(nanos, Ordering::Release);
    }

    /// Whether the deadline is set and has passed.
    pub fn passed(&self) -> bool {
        self.at().is_some_and(|at| Instant::now() >= at)
    }

    /// Time left before the deadline (zero once passed), or `None` when none is set.
    pub fn remaining(&self) -> Option<Duration> {
        self.at()
            .map(|at| at.saturating_duration_since(Instant::now()))
    }

    /// Moves the deadline later by `by` (if one is set): what a prompt does for the time a
    /// person took to answer, so that a slow click does not kill the guest right after.
    pub fn postpone(&self, by: Duration) {
        let by = u64::try_from(by.as_nanos()).unwrap_or(NONE);
        // One atomic update: a concurrent `set` (the run ending, say) is never overwritten by a
        // postponed copy of the old instant. No deadline stays none: postponing creates none.
        let _ = self
            .inner
            .at
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |at| {
                (at != NONE).then(|| at.saturating_add(by).min(NONE - 1))
            });
    }

    /// Makes this the calling thread's [`current`] deadline until the returned guard drops
    /// (the previous one is restored then, so scopes nest).
    pub(crate) fn enter(&self) -> Scope {
        // A clone (one `Arc`), not a borrow: the scope lives through the call, while the context
        // it came from is borrowed mutably.
        let previous = CURRENT.with(|c| c.replace(Some(self.clone())));
        Scope { previous }
    }
}

thread_local! {
    /// The deadline of the call this thread is serving, for code that sees no context.
    static CURRENT: RefCell<Option<Deadline>> = const { RefCell::new(None) };
}

/// Restores the previous [`current`] deadline when dropped.
#[must_use = "the deadline is current only while the scope lives"]
pub(crate) struct Scope {
    previous: Option<Deadline>,
}

impl Drop for Scope {
    fn drop(&mut self) {
        let previous = self.previous.take();
        CURRENT.with(|c| *c.borrow_mut() = previous);
    }
}

/// The deadline of the call this thread is serving, if one is set.
pub(crate) fn current() -> Option<Instant> {
    CURRENT.with(|c| c.borrow().as_ref().and_then(Deadline::at))
}

/// For long backend work done in steps (a copy-up): `Err(FsError::TimedOut)` once the current
/// call's deadline has passed, which stops the guest as its time limit does.
pub(crate) fn check() -> FsResult<()> {
    match current() {
        Some(at) if Instant::now() >= at => Err(FsError::TimedOut),
        // Not passed, none set, or work outside any call's scope (nothing to keep to).
        _ => Ok(()),
    }
}

/// Waits until `fd` is ready for `events` (readable, writable) or `deadline` passes:
/// `Ok(true)` when it is ready (or in an error or hang-up state the next call will report),
/// `Ok(false)` when the deadline passed first. No deadline waits as long as it takes. This is
/// the one blocking wait on host descriptors (stdin, stdout and stderr pipes, sockets).
#[cfg(unix)]
pub(crate) fn wait_fd(
    fd: std::os::fd::BorrowedFd<'_>,
    events: rustix::event::PollFlags,
    deadline: Option<Instant>,
) -> std::io::Result<bool> {
    loop {
        // Recomputed each round: an early wake-up (a signal, a rounded timeout) must not restart
        // the whole wait.
        let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
        let timeout = left.map(|left| rustix::time::Timespec {
            // A far deadline saturates rather than wrapping into a negative timeout.
            tv_sec: i64::try_from(left.as_secs()).unwrap_or(i64::MAX),
            tv_nsec: i64::from(left.subsec_nanos()),
        });
        let mut fds = [rustix::event::PollFd::new(&fd, events)];
        match rustix::event::poll(&mut fds, timeout.as_ref()) {
            Ok(0) if left.is_some_and(|l| l.is_zero()) => return Ok(false),
            // Woken early (or a zero-length wait rounded): look at the clock again.
            Ok(0) => continue,
            Ok(_) => return Ok(true),
            // A signal: wait again for what is left.
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => return Err(e.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clones_share_one_instant_and_postpone_moves_it() {
        let d = Deadline::new();
        assert!(!d.is_set() && !d.passed() && d.remaining().is_none());
        // Postponing nothing sets nothing.
        d.postpone(Duration::from_secs(1));
        assert!(!d.is_set());
        let other = d.clone();
        other.set(Some(Instant::now()));
        assert!(d.passed());
        d.postpone(Duration::from_secs(3600));
        assert!(!other.passed());
        assert!(other.remaining().unwrap() > Duration::from_secs(3500));
        other.set(None);
        assert!(!d.is_set());
    }

    #[test]
    fn far_and_past_instants_are_representable() {
        let d = Deadline::new();
        d.set(Some(Instant::now() + Duration::from_secs(10 * 365 * 86400)));
        assert!(d.is_set() && !d.passed());
        d.postpone(Duration::MAX);
        assert!(d.is_set() && !d.passed());
        let early = Instant::now();
        let d = Deadline::new();
        d.set(Some(early));
        assert!(d.passed());
    }

    #[cfg(unix)]
    #[test]
    fn waiting_on_a_silent_descriptor_ends_at_the_deadline() {
        let (reader, _writer) = rustix::pipe::pipe().unwrap();
        let at = Instant::now() + Duration::from_millis(50);
        let ready = wait_fd(
            std::os::fd::AsFd::as_fd(&reader),
            rustix::event::PollFlags::IN,
            Some(at),
        );
        assert!(!ready.unwrap());
        assert!(Instant::now() >= at);
    }

    #[test]
    fn scopes_make_a_deadline_current_and_nest() {
        assert_eq!(current(), None);
        assert_eq!(check(), Ok(()));
        let outer = Deadline::new();
        outer.set(Some(Instant::now()));
        {
            let _outer = outer.enter();
            assert_eq!(check(), Err(FsError::TimedOut));
            let inner = Deadline::new();
            {
                let _inner = inner.enter();
                assert_eq!(check(), Ok(()));
            }
            assert_eq!(check(), Err(FsError::TimedOut));
        }
        assert_eq!(current(), None);
    }
}
