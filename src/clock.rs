//! Clocks the embedder grants: realtime, monotonic and the CPU-time clocks.
//! Nothing is granted by default; an ungranted clock answers ENOTCAPABLE... see `p1/clock.rs`.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

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
}
