//! Clocks the embedder grants: realtime, monotonic and the CPU-time clocks, read from the host
//! or from a [`VirtualClock`] (deterministic mode: time moves by a fixed step per read and by
//! the requested amount on sleeps, never by itself). Also the [`TimeSource`] file timestamps
//! come from, and the run's deadline every blocking wait honours. Nothing is granted by default;
//! an ungranted clock answers ENOTCAPABLE (see `p1/clock.rs`). No ABI, no guest memory here.

use crate::deadline::Deadline;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// One of the clocks a guest may ask about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HostClock {
    /// Wall-clock time since the Unix epoch.
    Realtime,
    /// Monotonic time since the guest's clocks were created.
    Monotonic,
    /// CPU time consumed by the whole host process (every thread, the embedder's included).
    ProcessCpu,
    /// CPU time consumed by the thread the guest runs on.
    ThreadCpu,
}

/// The host's clocks, read the platform's way. Monotonic readings are on the host's own
/// scale; `Clocks` subtracts its start.
#[cfg(unix)]
mod host {
    use super::HostClock;
    use rustix::time::{ClockId, Timespec};

    fn id(clock: HostClock) -> ClockId {
        match clock {
            HostClock::Realtime => ClockId::Realtime,
            HostClock::Monotonic => ClockId::Monotonic,
            HostClock::ProcessCpu => ClockId::ProcessCPUTime,
            HostClock::ThreadCpu => ClockId::ThreadCPUTime,
        }
    }

    /// A timespec in nanoseconds, saturating (negative values, impossible here, are 0).
    fn nanos(ts: Timespec) -> u64 {
        let secs = u64::try_from(ts.tv_sec).unwrap_or(0);
        let nsec = u64::try_from(ts.tv_nsec).unwrap_or(0);
        secs.saturating_mul(1_000_000_000).saturating_add(nsec)
    }

    pub(super) fn read(clock: HostClock) -> u64 {
        nanos(rustix::time::clock_gettime(id(clock)))
    }

    pub(super) fn resolution(clock: HostClock) -> u64 {
        nanos(rustix::time::clock_getres(id(clock)))
    }
}

/// Windows has no clock ids: the wall clock is `SystemTime`, the monotonic one `Instant`
/// (QueryPerformanceCounter) from a process-wide anchor, CPU time comes from
/// `GetProcessTimes` / `GetThreadTimes` in 100 ns units.
#[cfg(windows)]
#[allow(unsafe_code)] // GetProcessTimes / GetThreadTimes: no safe binding.
mod host {
    use super::HostClock;
    use std::sync::OnceLock;
    use std::time::{Instant, SystemTime};
    use windows_sys::Win32::Foundation::FILETIME;
    use windows_sys::Win32::System::Threading::{
        GetCurrentProcess, GetCurrentThread, GetProcessTimes, GetThreadTimes,
    };

    static ANCHOR: OnceLock<Instant> = OnceLock::new();

    fn ticks(t: FILETIME) -> u64 {
        (u64::from(t.dwHighDateTime) << 32 | u64::from(t.dwLowDateTime)).saturating_mul(100)
    }

    /// Kernel plus user time of the process or thread, as the POSIX CPU-time clocks count.
    fn cpu(thread: bool) -> u64 {
        let zero = FILETIME {
            dwLowDateTime: 0,
            dwHighDateTime: 0,
        };
        let (mut created, mut exited, mut kernel, mut user) = (zero, zero, zero, zero);
        // SAFETY: pseudo-handles of our own process and thread; four valid out-pointers.
        let ok = unsafe {
            if thread {
                GetThreadTimes(
                    GetCurrentThread(),
                    &mut created,
                    &mut exited,
                    &mut kernel,
                    &mut user,
                )
            } else {
                GetProcessTimes(
                    GetCurrentProcess(),
                    &mut created,
                    &mut exited,
                    &mut kernel,
                    &mut user,
                )
            }
        };
        if ok == 0 {
            return 0;
        }
        ticks(kernel).saturating_add(ticks(user))
    }

    pub(super) fn read(clock: HostClock) -> u64 {
        match clock {
            HostClock::Realtime => SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)),
            HostClock::Monotonic => {
                let since = ANCHOR.get_or_init(Instant::now).elapsed().as_nanos();
                u64::try_from(since).unwrap_or(u64::MAX)
            }
            // The process's CPU time includes the calling thread's; the two are sampled
            // separately (Wine: the process's by its server, less often), so the process
            // clock is never answered behind the thread's.
            HostClock::ProcessCpu => cpu(false).max(cpu(true)),
            HostClock::ThreadCpu => cpu(true),
        }
    }

    /// FILETIME's unit for the wall and CPU clocks; the performance counter's period (100 ns
    /// on every current Windows) for the monotonic one.
    pub(super) fn resolution(_clock: HostClock) -> u64 {
        100
    }
}

/// Which clocks the guest may read. Off by default: nothing is granted unless the embedder asks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClockGrant {
    /// Wall-clock time (clock id `realtime`).
    pub realtime: bool,
    /// Monotonic time since an arbitrary start (clock id `monotonic`).
    pub monotonic: bool,
    /// Process and thread CPU time.
    pub cputime: bool,
}

impl ClockGrant {
    /// Every clock.
    pub const ALL: ClockGrant = ClockGrant {
        realtime: true,
        monotonic: true,
        cputime: true,
    };
    /// No clock.
    pub const NONE: ClockGrant = ClockGrant {
        realtime: false,
        monotonic: false,
        cputime: false,
    };
}

/// Where a filesystem takes its timestamps from (nanoseconds since the Unix epoch).
pub trait TimeSource: Send + Sync + 'static {
    /// The current time. A virtual source may advance on every call.
    fn now(&self) -> u64;
}

/// The host's real-time clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct HostTime;

impl TimeSource for HostTime {
    fn now(&self) -> u64 {
        host_realtime()
    }
}

/// Nanoseconds since the Unix epoch on the host (0 before it, saturating far after it).
fn host_realtime() -> u64 {
    host::read(HostClock::Realtime)
}

/// A clock that only moves when read or slept on, for reproducible runs. Realtime is
/// `epoch + elapsed`, monotonic is `elapsed`; every guest read (and every file timestamp
/// taken from it) first advances `elapsed` by `step`; a sleep advances it by its duration
/// without waiting. Share one (`Arc`) between the guest's clocks and its filesystems.
#[derive(Debug)]
pub struct VirtualClock {
    epoch: u64,
    step: u64,
    elapsed: AtomicU64,
}

impl VirtualClock {
    /// 2000-01-01T00:00:00Z, the default realtime at the start of a run.
    pub const DEFAULT_EPOCH: u64 = 946_684_800 * 1_000_000_000;
    /// One microsecond per read.
    pub const DEFAULT_STEP: u64 = 1_000;

    /// A clock starting at [`Self::DEFAULT_EPOCH`] that moves [`Self::DEFAULT_STEP`] per read.
    pub fn new() -> Arc<VirtualClock> {
        Self::starting_at(Self::DEFAULT_EPOCH, Self::DEFAULT_STEP)
    }

    /// A clock whose realtime starts at `epoch` (ns since the Unix epoch), moving `step` ns per
    /// read (at least 1, so two reads never see the same time).
    pub fn starting_at(epoch: u64, step: u64) -> Arc<VirtualClock> {
        Arc::new(VirtualClock {
            epoch,
            step: step.max(1),
            elapsed: AtomicU64::new(0),
        })
    }

    /// Monotonic nanoseconds so far, without advancing.
    pub fn elapsed(&self) -> u64 {
        self.elapsed.load(Ordering::Relaxed)
    }

    /// Realtime now, without advancing.
    pub fn realtime(&self) -> u64 {
        self.epoch.saturating_add(self.elapsed())
    }

    /// The step a read advances by (also the clocks' reported resolution).
    pub fn step(&self) -> u64 {
        self.step
    }

    /// Advances by one step and returns the new monotonic time.
    pub fn tick(&self) -> u64 {
        self.advance(self.step)
    }

    /// Advances by `nanos` (saturating) and returns the new monotonic time.
    pub fn advance(&self, nanos: u64) -> u64 {
        let mut cur = self.elapsed();
        loop {
            let next = cur.saturating_add(nanos);
            match self.elapsed.compare_exchange_weak(
                cur,
                next,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => return next,
                Err(now) => cur = now,
            }
        }
    }
}

impl TimeSource for VirtualClock {
    fn now(&self) -> u64 {
        self.epoch.saturating_add(self.tick())
    }
}

/// The clock source of one guest.
#[derive(Debug, Clone)]
pub(crate) struct Clocks {
    /// What the guest may read.
    pub grant: ClockGrant,
    /// The monotonic clock's zero (also the zero of virtual time mapped onto `Instant`s).
    pub(crate) start: Instant,
    /// The same zero in raw `CLOCK_MONOTONIC` nanoseconds (what `Instant` reads on Linux),
    /// taken just before `start`, so that reads need no `Instant` arithmetic. Being earlier, it
    /// can only make a deadline computed from a guest's reading wake late by those
    /// nanoseconds, never early.
    start_ns: u64,
    /// `Some` in deterministic mode.
    virtual_clock: Option<Arc<VirtualClock>>,
    /// When the run must stop (see `run.rs`); every blocking wait wakes by then. Shared with
    /// the run's epoch callback and the guest's policy gate (which postpones it by the time a
    /// person spends on a prompt).
    deadline: Deadline,
}

impl Clocks {
    /// Clocks with the given grant, reading the host's real clocks.
    pub fn new(grant: ClockGrant) -> Self {
        let start_ns = host::read(HostClock::Monotonic);
        Clocks {
            grant,
            start: Instant::now(),
            start_ns,
            virtual_clock: None,
            deadline: Deadline::new(),
        }
    }

    /// Clocks with the given grant, reading `clock` (every clock, the CPU-time ones included).
    pub fn virtual_time(grant: ClockGrant, clock: Arc<VirtualClock>) -> Self {
        Clocks {
            virtual_clock: Some(clock),
            ..Clocks::new(grant)
        }
    }

    /// Nanoseconds since the Unix epoch (0 before it), without advancing a virtual clock.
    pub fn realtime_now(&self) -> u64 {
        match &self.virtual_clock {
            Some(v) => v.realtime(),
            None => host_realtime(),
        }
    }

    /// Nanoseconds since this guest's clocks were created, without advancing a virtual clock.
    pub fn monotonic_now(&self) -> u64 {
        match &self.virtual_clock {
            Some(v) => v.elapsed(),
            None => host::read(HostClock::Monotonic).saturating_sub(self.start_ns),
        }
    }

    /// Whether the guest may read `clock`.
    pub fn is_granted(&self, clock: HostClock) -> bool {
        match clock {
            HostClock::Realtime => self.grant.realtime,
            HostClock::Monotonic => self.grant.monotonic,
            HostClock::ProcessCpu | HostClock::ThreadCpu => self.grant.cputime,
        }
    }

    /// The value of `clock` in nanoseconds, as a guest read sees it: a virtual clock advances
    /// one step first (grant not checked here).
    pub fn now(&self, clock: HostClock) -> u64 {
        if let Some(v) = &self.virtual_clock {
            let elapsed = v.tick();
            return match clock {
                HostClock::Realtime => v.epoch.saturating_add(elapsed),
                // CPU time would differ from run to run: in virtual time it is the elapsed time.
                HostClock::Monotonic | HostClock::ProcessCpu | HostClock::ThreadCpu => elapsed,
            };
        }
        match clock {
            HostClock::Realtime => self.realtime_now(),
            HostClock::Monotonic => self.monotonic_now(),
            HostClock::ProcessCpu | HostClock::ThreadCpu => host::read(clock),
        }
    }

    /// The resolution of `clock` in nanoseconds (clock_getres; a virtual clock's step), at
    /// least 1.
    pub fn resolution(&self, clock: HostClock) -> u64 {
        match &self.virtual_clock {
            Some(v) => v.step(),
            None => host::resolution(clock).max(1),
        }
    }

    /// "Now" on the `Instant` scale `poll_oneoff` computes deadlines on: the host's instant, or
    /// in virtual time `start + elapsed` (so timeouts compare against virtual time).
    pub(crate) fn instant_now(&self) -> Instant {
        match &self.virtual_clock {
            Some(v) => self
                .start
                .checked_add(Duration::from_nanos(v.elapsed()))
                .unwrap_or(self.start),
            None => Instant::now(),
        }
    }

    /// Virtual time only: moves the clock forward to `until` (on the [`Self::instant_now`]
    /// scale) instead of sleeping. Returns `false` for real clocks, which must really wait.
    pub(crate) fn skip_to(&self, until: Instant) -> bool {
        let Some(v) = &self.virtual_clock else {
            return false;
        };
        let target = u64::try_from(until.saturating_duration_since(self.start).as_nanos())
            .unwrap_or(u64::MAX);
        v.advance(target.saturating_sub(v.elapsed()));
        true
    }

    /// Virtual time only: moves the clock to its end (u64::MAX ns), for a timer later than any
    /// `Instant`. Returns `false` for real clocks.
    pub(crate) fn skip_to_end(&self) -> bool {
        let Some(v) = &self.virtual_clock else {
            return false;
        };
        v.advance(u64::MAX);
        true
    }

    /// Whether virtual time has reached its end (u64::MAX ns) and cannot move further: timers
    /// beyond it fire there. Always `false` for real clocks.
    pub(crate) fn virtual_time_ended(&self) -> bool {
        self.virtual_clock
            .as_ref()
            .is_some_and(|v| v.elapsed() == u64::MAX)
    }

    /// The instant the run must stop by, if the embedder set a time limit.
    pub fn deadline(&self) -> Option<Instant> {
        self.deadline.at()
    }

    /// The shared deadline itself: clones see every change (see [`Deadline`]).
    pub fn deadline_handle(&self) -> &Deadline {
        &self.deadline
    }

    /// Whether the run's deadline has passed.
    pub(crate) fn deadline_passed(&self) -> bool {
        self.deadline.passed()
    }
}
