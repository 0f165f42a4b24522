//! The in-memory filesystem backend: an inode arena behind one `Mutex`, so every operation is
//! one critical section. Implements the `Dir` / `File` traits for handles that keep their inode
//! alive (unlink-while-open works); files are sparse pages (`data.rs`), the arena and its link
//! rules live in `node.rs`, the trait impls in `dir.rs` / `file.rs`, host import in `import.rs`.
//! Budgets (`FsLimits`) are charged in `node.rs` before anything is allocated; timestamps come
//! from the filesystem's `TimeSource` (a virtual clock in deterministic mode).
//! It never touches the host filesystem except to read a tree in `from_host_dir`.

mod builder;
mod data;
mod dir;
mod entries;
mod file;
mod import;
#[cfg(test)]
mod limit_tests;
mod node;
#[cfg(test)]
mod tests;

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use super::{Dir, File};
use crate::clock::{HostTime, TimeSource};
use crate::limits::FsLimits;
pub use builder::MemFsBuilder;
use dir::MemDir;
pub(crate) use dir::bytes_left;
use file::MemFile;
pub(crate) use file::regions;
use node::{Kind, ROOT, State};

/// One object of a tree snapshot (see [`MemFs::snapshot`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TreeEntry {
    /// A directory.
    Dir,
    /// A regular file and its bytes.
    File(Vec<u8>),
    /// A symlink and its target.
    Symlink(String),
}

/// How much an in-memory filesystem holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemUsage {
    /// Bytes stored in files and symlink targets; sparse gaps cost nothing, a page stores the
    /// bytes from the first to the last one written in it.
    pub bytes: u64,
    /// What the byte budget (quota) charges: the host memory behind `bytes` (allocations in
    /// 16-byte granules, room for appends of files being written) plus a fixed cost per inode,
    /// directory, name (and the name's bytes) and page (`limits::FS_*_COST`). The root is free.
    pub charged: u64,
    /// Live inodes, the root and unlinked-but-open ones included.
    pub inodes: u64,
    /// Hard links beyond each file's first name (charged to the inode budget with `inodes`).
    pub extra_links: u64,
}

/// An in-memory read-write filesystem. Cloning gives another handle to the same tree, so
/// it is configured before it exists ([`MemFs::builder`]); only [`MemFs::set_limits`]
/// changes a live tree, deliberately and for every holder.
#[derive(Clone)]
pub struct MemFs {
    inner: Arc<Inner>,
}

/// Shared state of one filesystem: its device id and the locked arena.
pub(crate) struct Inner {
    /// The device id stats report (fixed per filesystem; reset in deterministic mode).
    dev: AtomicU64,
    state: Mutex<State>,
}

/// The first device id of memory filesystems, tagged so it is unlikely to equal a host
/// `st_dev`; deterministic mode numbers its mounts from here.
pub(crate) const FIRST_DEV: u64 = 0x6d65_6d00_0000_0001;

/// Device ids of memory filesystems.
static NEXT_DEV: AtomicU64 = AtomicU64::new(FIRST_DEV);

impl Inner {
    /// Enters the critical section. A poisoned lock is recovered: every operation leaves the
    /// arena consistent before anything that could panic, and a guest must not be able to turn
    /// one host bug into a dead filesystem.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The device id.
    fn dev(&self) -> u64 {
        self.dev.load(Ordering::Relaxed)
    }

    /// Opens a handle on `ino` (a directory or a file), counting it so the inode outlives its
    /// names. Must be called with the lock held; the handle must not be dropped under it.
    fn open_dir(self: &Arc<Self>, st: &mut State, ino: u64) -> Arc<dyn Dir> {
        if let Some(inode) = st.inodes.get_mut(&ino) {
            inode.open += 1;
        }
        Arc::new(MemDir::new(self.clone(), ino))
    }

    /// Like [`Inner::open_dir`], for a regular file.
    fn open_file(self: &Arc<Self>, st: &mut State, ino: u64) -> Arc<dyn File> {
        if let Some(inode) = st.inodes.get_mut(&ino) {
            inode.open += 1;
        }
        Arc::new(MemFile::new(self.clone(), ino))
    }

    /// Called by a handle's `Drop`: one fewer open handle, and free the inode if it was the last
    /// thing holding it.
    fn release(&self, ino: u64) {
        let mut st = self.lock();
        if let Some(inode) = st.inodes.get_mut(&ino) {
            inode.open = inode.open.saturating_sub(1);
        }
        st.maybe_free(ino);
    }
}

/// Deterministic mode: if `dir` is a directory of a [`MemFs`], that filesystem takes its
/// timestamps from `clock` and reports the device id `FIRST_DEV + index`. Returns whether it was.
pub(crate) fn make_deterministic(dir: &dyn Dir, clock: Arc<dyn TimeSource>, index: u64) -> bool {
    let Some(mem) = dir.as_any().downcast_ref::<MemDir>() else {
        return false;
    };
    let fs = MemFs {
        inner: mem.fs().clone(),
    };
    fs.set_time_source(clock);
    fs.set_dev(FIRST_DEV.wrapping_add(index));
    true
}

impl std::fmt::Debug for MemFs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemFs")
            .field("dev", &self.inner.dev())
            .field("usage", &self.usage())
            .finish()
    }
}

impl Default for MemFs {
    fn default() -> Self {
        Self::new()
    }
}

/// The host's clock, shared by every filesystem that stamps from it (it has no state).
fn host_time() -> Arc<dyn TimeSource> {
    static HOST: std::sync::LazyLock<Arc<dyn TimeSource>> =
        std::sync::LazyLock::new(|| Arc::new(HostTime));
    Arc::clone(&HOST)
}

impl MemFs {
    /// A new, empty filesystem without byte or inode budgets, stamping times from the host's
    /// clock: `MemFs::builder().build()`.
    pub fn new() -> Self {
        Self::builder().build()
    }

    /// The configuration of a new filesystem: budgets and clock are chosen on the builder,
    /// before the filesystem (a shared handle) exists.
    pub fn builder() -> MemFsBuilder {
        MemFsBuilder::default()
    }

    /// A new, empty filesystem with these budgets (see [`FsLimits`] for what each counts and
    /// the errno past it): `MemFs::builder().limits(limits).build()`.
    pub fn with_limits(limits: FsLimits) -> Self {
        Self::builder().limits(limits).build()
    }

    /// The budgets in force.
    pub fn limits(&self) -> FsLimits {
        self.inner.lock().limits
    }

    /// Replaces the budgets of the live tree, for every handle on it: the one setting that
    /// may change after the filesystem is shared, because a budget is the embedder's live
    /// control over a running guest (as a policy is). They govern later operations: what the
    /// tree already holds stays, even past a lowered budget (growth is then refused until
    /// usage drops below it).
    pub fn set_limits(&self, limits: FsLimits) {
        self.inner.lock().limits = limits;
    }

    /// Deterministic mode's clock (`WasiCtxBuilder::deterministic`): takes timestamps from
    /// `clock` from now on. A tree that holds only its untouched root gets the root
    /// restamped, so nothing in it keeps a host time. Crate-internal: embedders choose a
    /// clock on the builder, before the tree is shared.
    pub(crate) fn set_time_source(&self, clock: Arc<dyn TimeSource>) {
        let mut st = self.inner.lock();
        st.clock = clock;
        let fresh = st.inodes.len() == 1
            && st
                .get(ROOT)
                .is_ok_and(|root| root.mtim == st.created && root.atim == st.created);
        if fresh {
            let now = st.now();
            st.created = now;
            if let Ok(root) = st.get_mut(ROOT) {
                (root.atim, root.mtim, root.ctim) = (now, now, now);
            }
        }
    }

    /// Sets the device id stats report (deterministic mode numbers mounts from [`FIRST_DEV`]).
    pub(crate) fn set_dev(&self, dev: u64) {
        self.inner.dev.store(dev, Ordering::Relaxed);
    }

    /// Copies a host directory tree into a new in-memory filesystem (the host is only read).
    /// Directories, regular files and symlinks (targets verbatim, never followed) are copied
    /// with their access and modification times; other file types are skipped. Errors: the
    /// host's, and `InvalidData` for names or targets that are not UTF-8 or not valid here.
    pub fn from_host_dir(path: &Path) -> std::io::Result<MemFs> {
        Self::builder().from_host_dir(path)
    }

    /// Like [`MemFs::from_host_dir`], into a filesystem with these budgets: a tree that does
    /// not fit is refused (`InvalidData`, naming the object) before the file is read.
    pub fn from_host_dir_with_limits(path: &Path, limits: FsLimits) -> std::io::Result<MemFs> {
        Self::builder().limits(limits).from_host_dir(path)
    }

    /// The root directory, to mount as a preopen.
    pub fn root(&self) -> Arc<dyn Dir> {
        self.inner.open_dir(&mut self.inner.lock(), ROOT)
    }

    /// Bytes and inodes currently held.
    pub fn usage(&self) -> MemUsage {
        let st = self.inner.lock();
        MemUsage {
            bytes: st.bytes,
            charged: st.charged,
            inodes: st.inodes.len() as u64,
            extra_links: st.extra_links,
        }
    }

    /// Every object below the root, as (relative path with `/` separators, entry), sorted by path.
    /// Files are materialised in full, sparse gaps as zeros: bound file sizes with a quota before
    /// snapshotting a guest's tree. A file too large to allocate is reported empty.
    pub fn snapshot(&self) -> Vec<(String, TreeEntry)> {
        let st = self.inner.lock();
        let mut out = Vec::new();
        let mut stack = vec![(String::new(), ROOT)];
        while let Some((prefix, dir)) = stack.pop() {
            let Ok(entries) = st.dir(dir) else { continue };
            for (_, name, ino) in entries.entries_from(0) {
                let path = if prefix.is_empty() {
                    name.to_owned()
                } else {
                    format!("{prefix}/{name}")
                };
                let Ok(inode) = st.get(ino) else { continue };
                let entry = match &inode.kind {
                    Kind::Dir(_) => {
                        stack.push((path.clone(), ino));
                        TreeEntry::Dir
                    }
                    Kind::File(data) => TreeEntry::File(data.to_vec().unwrap_or_default()),
                    Kind::Symlink(target) => TreeEntry::Symlink(target.clone()),
                };
                out.push((path, entry));
            }
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    /// Pages allocated over all files (tests check that sparse writes stay sparse).
    #[cfg(test)]
    fn page_count(&self) -> usize {
        let st = self.inner.lock();
        st.inodes
            .values()
            .map(|i| match &i.kind {
                Kind::File(data) => data.page_count(),
                _ => 0,
            })
            .sum()
    }
}
