//! The in-memory filesystem backend: an inode arena behind one `Mutex`, so every operation is
//! one critical section. Implements the `Dir` / `File` traits for handles that keep their inode
//! alive (unlink-while-open works); files are sparse pages (`data.rs`), the arena and its link
//! rules live in `node.rs`, the trait impls in `dir.rs` / `file.rs`, host import in `import.rs`.
//! It never touches the host filesystem except to read a tree in `from_host_dir`.

mod data;
mod dir;
mod file;
mod import;
mod node;
#[cfg(test)]
mod tests;

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use super::{Dir, File};
use dir::MemDir;
use file::MemFile;
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

/// How much an in-memory filesystem holds (what a quota charges).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemUsage {
    /// Bytes stored in file pages; sparse gaps cost nothing.
    pub bytes: u64,
    /// Live inodes, the root and unlinked-but-open ones included.
    pub inodes: u64,
}

/// An in-memory read-write filesystem. Cloning gives another handle to the same tree.
#[derive(Clone)]
pub struct MemFs {
    inner: Arc<Inner>,
}

/// Shared state of one filesystem: its device id and the locked arena.
pub(crate) struct Inner {
    dev: u64,
    state: Mutex<State>,
}

/// Device ids of memory filesystems, tagged so they are unlikely to equal a host `st_dev`.
static NEXT_DEV: AtomicU64 = AtomicU64::new(0x6d65_6d00_0000_0001);

/// Nanoseconds since the Unix epoch (0 before it, saturating far after it).
fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

impl Inner {
    /// Enters the critical section. A poisoned lock is recovered: every operation leaves the
    /// arena consistent before anything that could panic, and a guest must not be able to turn
    /// one host bug into a dead filesystem.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
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

impl std::fmt::Debug for MemFs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemFs")
            .field("dev", &self.inner.dev)
            .field("usage", &self.usage())
            .finish()
    }
}

impl Default for MemFs {
    fn default() -> Self {
        Self::new()
    }
}

impl MemFs {
    /// A new, empty filesystem.
    pub fn new() -> Self {
        MemFs {
            inner: Arc::new(Inner {
                dev: NEXT_DEV.fetch_add(1, Ordering::Relaxed),
                state: Mutex::new(State::new(now())),
            }),
        }
    }

    /// Copies a host directory tree into a new in-memory filesystem (the host is only read).
    /// Directories, regular files and symlinks (targets verbatim, never followed) are copied
    /// with their access and modification times; other file types are skipped. Errors: the
    /// host's, and `InvalidData` for names or targets that are not UTF-8 or not valid here.
    pub fn from_host_dir(path: &Path) -> std::io::Result<MemFs> {
        let fs = MemFs::new();
        import::copy_tree(&mut fs.inner.lock(), path, now())?;
        Ok(fs)
    }

    /// The root directory, to mount as a preopen.
    pub fn root(&self) -> Arc<dyn Dir> {
        self.inner.open_dir(&mut self.inner.lock(), ROOT)
    }

    /// Bytes and inodes currently held.
    pub fn usage(&self) -> MemUsage {
        let st = self.inner.lock();
        MemUsage {
            bytes: st.page_bytes,
            inodes: st.inodes.len() as u64,
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
