//! Clocks the embedder grants: realtime, monotonic and the CPU-time clocks.
//! Nothing is granted by default; an ungranted clock answers ENOTCAPABLE (see `p1/clock.rs`).
//! This layer only reads host clocks; it knows nothing about the ABI or guest memory.

use rustix::time::{ClockId, Timespec};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// One of the clocks a guest may ask about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostClock {
    /// Wall-clock time since the Unix epoch.
    Realtime,
    /// Monotonic time since the guest's clocks were created.
    Monotonic,
    /// CPU time consumed by the whole host process (every thread, the embedder's included).
    ProcessCpu,
    /// CPU time consumed by the thread the guest runs on.
    ThreadCpu,
}

impl HostClock {
    fn id(self) -> ClockId {
        match self {
            HostClock::Realtime => ClockId::Realtime,
            HostClock::Monotonic => ClockId::Monotonic,
            HostClock::ProcessCpu => ClockId::ProcessCPUTime,
            HostClock::ThreadCpu => ClockId::ThreadCPUTime,
        }
    }
}

/// A timespec in nanoseconds, saturating (negative values, impossible for these clocks, are 0).
fn nanos(ts: Timespec) -> u64 {
    let secs = u64::try_from(ts.tv_sec).unwrap_or(0);
    let nsec = u64::try_from(ts.tv_nsec).unwrap_or(0);
    secs.saturating_mul(1_000_000_000).saturating_add(nsec)
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

/// The clock source of one guest.
#[derive(Debug, Clone)]
pub struct Clocks {
    /// What the guest may read.
    pub grant: ClockGrant,
    /// The monotonic clock's zero.
    pub(crate) start: Instant,
}

impl Clocks {
    /// Clocks with the given grant, reading the host's real clocks.
    pub fn new(grant: ClockGrant) -> Self {
        Clocks {
            grant,
            start: Instant::now(),
        }
    }

    /// Nanoseconds since the Unix epoch (0 before it).
    pub fn realtime_now(&self) -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
            .unwrap_or(0)
    }

    /// Nanoseconds since this guest's clocks were created.
    pub fn monotonic_now(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    /// Whether the guest may read `clock`.
    pub fn is_granted(&self, clock: HostClock) -> bool {
        match clock {
            HostClock::Realtime => self.grant.realtime,
            HostClock::Monotonic => self.grant.monotonic,
            HostClock::ProcessCpu | HostClock::ThreadCpu => self.grant.cputime,
        }
    }

    /// The current value of `clock` in nanoseconds (grant not checked here).
    pub fn now(&self, clock: HostClock) -> u64 {
        match clock {
            HostClock::Realtime => self.realtime_now(),
            HostClock::Monotonic => self.monotonic_now(),
            HostClock::ProcessCpu | HostClock::ThreadCpu => {
                nanos(rustix::time::clock_gettime(clock.id()))
            }
        }
    }

    /// The host's resolution of `clock` in nanoseconds (clock_getres), at least 1.
    pub fn resolution(&self, clock: HostClock) -> u64 {
        nanos(rustix::time::clock_getres(clock.id())).max(1)
    }
}
