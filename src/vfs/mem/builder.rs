//! `MemFsBuilder`: everything a `MemFs` is configured with (budgets, clock) is chosen here,
//! before the filesystem exists. A `MemFs` is a shared handle (clones, mounts, an overlay's
//! upper layer all hold the same tree), so a setting applied to one handle after the fact
//! would silently change the tree under every other holder; a builder cannot be shared.

use std::io;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use super::node::State;
use super::{Inner, MemFs, NEXT_DEV, host_time, import};
use crate::clock::TimeSource;
use crate::limits::FsLimits;

/// The configuration of a new [`MemFs`]: [`MemFs::builder`], then [`build`](Self::build).
/// Defaults: no byte or inode budget ([`FsLimits::default`]), the host's clock.
///
/// A filesystem cannot be configured once it exists (there is no `MemFs::quota`), because
/// it may already be shared:
///
/// ```compile_fail
/// let fs = wasi_warden::MemFs::new();
/// let mounted = fs.clone(); // say, in a running guest's context
/// let fs = fs.quota(1 << 20); // budgets are chosen on the builder, before sharing
/// ```
///
/// ```
/// let fs = wasi_warden::MemFs::builder().quota(1 << 20).build();
/// assert_eq!(fs.limits().bytes, Some(1 << 20));
/// ```
#[derive(Clone)]
pub struct MemFsBuilder {
    limits: FsLimits,
    clock: Arc<dyn TimeSource>,
}

impl std::fmt::Debug for MemFsBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemFsBuilder")
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl Default for MemFsBuilder {
    fn default() -> Self {
        MemFsBuilder {
            limits: FsLimits::default(),
            clock: host_time(),
        }
    }
}

impl MemFsBuilder {
    /// All the budgets at once (see [`FsLimits`] for what each counts and the errno past it).
    pub fn limits(mut self, limits: FsLimits) -> Self {
        self.limits = limits;
        self
    }

    /// The byte budget alone, the other budgets left as they are: `.quota(64 << 20)`.
    pub fn quota(mut self, bytes: u64) -> Self {
        self.limits.bytes = Some(bytes);
        self
    }

    /// Where timestamps come from, e.g. a shared [`VirtualClock`](crate::clock::VirtualClock)
    /// for reproducible trees. The root is stamped by it too, so nothing in the tree keeps a
    /// host time.
    pub fn time_source(mut self, clock: Arc<dyn TimeSource>) -> Self {
        self.clock = clock;
        self
    }

    /// The new, empty filesystem.
    pub fn build(self) -> MemFs {
        MemFs {
            inner: Arc::new(Inner {
                dev: AtomicU64::new(NEXT_DEV.fetch_add(1, Ordering::Relaxed)),
                state: Mutex::new(State::new(self.clock, self.limits)),
            }),
        }
    }

    /// The new filesystem holding a copy of the host directory `path`, as
    /// [`MemFs::from_host_dir`] makes it, with these budgets and clock: a tree that does not
    /// fit is refused (`InvalidData`, naming the object) before the file is read.
    pub fn from_host_dir(self, path: &Path) -> io::Result<MemFs> {
        let fs = self.build();
        let mut st = fs.inner.lock();
        let now = st.now();
        import::copy_tree(&mut st, path, now)?;
        drop(st);
        Ok(fs)
    }
}
