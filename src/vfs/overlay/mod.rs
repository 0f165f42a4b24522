//! The overlay backend: a read-only lower tree (a host directory, or any backend) under an
//! in-memory upper `MemFs`; the guest sees one read-write tree and the lower is never written.
//! The first change to a lower object copies it up (`copy.rs`: its data only, within the
//! run's deadline, all or nothing); deletions are whiteouts kept out of band (a set of paths
//! here, never special files); directories that exist in the lower tree cannot be renamed
//! (EXDEV, as overlayfs without `redirect_dir`). Handles live in `dir.rs` (`dir/rename.rs`)
//! and `file.rs`, where upper-only directories are now in `place.rs`; this file holds the
//! shared state and the embedder's API.

mod copy;
mod dir;
mod file;
mod place;
// Unix only: the fixtures hold host symlinks and terabyte sparse files. The overlay over a
// Windows host runs in tests/model.rs and tests/sandbox.rs.
#[cfg(all(test, unix))]
mod tests;

use std::collections::HashSet;
use std::io;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, TryLockError};
use std::time::Duration;

use super::host::HostDir;
use super::read_only::read_only;
use super::{
    Dir, FileType, Filestat, FsError, FsResult, MemFs, MemFsBuilder, Node, OpenOptions, SetTime,
    TreeEntry,
};
use dir::OverlayDir;

/// Inode numbers of upper objects carry this bit, so they never collide with lower ones.
const UPPER_INO: u64 = 1 << 63;

/// Bytes read per step of a snapshot.
const READ_CHUNK: usize = 64 * 1024;

/// Longest pause between two tries of a contended mutation lock under a deadline: how late
/// such a waiter may notice the lock is free (or its deadline passed).
const LOCK_PAUSE: Duration = Duration::from_millis(2);

/// Device ids of overlays, tagged apart from memory filesystems and host devices.
static NEXT_DEV: AtomicU64 = AtomicU64::new(0x6f76_6c00_0000_0001);

/// A copy-on-write view of a read-only lower tree. Cloning gives another handle to the same
/// overlay; [`Overlay::root`] is what a guest mounts.
#[derive(Clone)]
pub struct Overlay {
    st: Arc<State>,
}

/// What every handle of one overlay shares.
pub(crate) struct State {
    dev: u64,
    upper: MemFs,
    upper_root: Arc<dyn Dir>,
    lower_root: Arc<dyn Dir>,
    /// Paths (relative, `/`-separated) whose lower object, and everything below it, is hidden.
    whiteouts: Mutex<HashSet<String>>,
    /// Serialises mutations: a copy-up, its whiteouts and the upper change are one step.
    lock: Mutex<()>,
    /// Lower files with open handles, and the copy-up in progress (`file.rs`).
    files: Mutex<file::Files>,
    /// Set while a copy-up runs, so that lookups look at `files` only then.
    copying: AtomicBool,
    /// Where upper-only directories with handles are now (`place.rs`).
    places: Mutex<place::Places>,
}

impl std::fmt::Debug for Overlay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Overlay")
            .field("dev", &self.st.dev)
            .field("upper", &self.st.upper)
            .finish_non_exhaustive()
    }
}

impl Overlay {
    /// An overlay over the host directory `host_path` (see `vfs::host`), which it only reads.
    pub fn new(host_path: impl AsRef<Path>) -> io::Result<Overlay> {
        let lower = HostDir::open(host_path)?;
        Ok(Overlay::over(Arc::new(lower)))
    }

    /// An overlay over any backend directory, with an unlimited upper layer.
    pub fn over(lower: Arc<dyn Dir>) -> Overlay {
        Overlay::with_upper(lower, MemFs::builder())
    }

    /// An overlay over `lower` whose changes go to a new upper filesystem built from `upper`.
    /// Its budgets ([`MemFsBuilder::limits`]) govern everything the guest changes, copy-ups
    /// included: a lower file is copied up only if its data fits (ENOSPC otherwise; holes are
    /// free, as in memory).
    ///
    /// `lower` is wrapped in `read_only`, so no path through the overlay can write it, even
    /// a read-write host directory. The upper layer is made here, not handed in, so it starts
    /// empty and no one else holds it while the guest changes it: the whiteouts and copy-ups
    /// recorded here describe it completely. [`Overlay::upper`] gives it out afterwards.
    pub fn with_upper(lower: Arc<dyn Dir>, upper: MemFsBuilder) -> Overlay {
        let upper = upper.build();
        Overlay {
            st: Arc::new(State {
                dev: NEXT_DEV.fetch_add(1, Ordering::Relaxed),
                upper_root: upper.root(),
                upper,
                // The only way to the lower tree: every handle found below is wrapped too.
                lower_root: read_only(lower),
                whiteouts: Mutex::new(HashSet::new()),
                lock: Mutex::new(()),
                files: Mutex::new(file::Files::default()),
                copying: AtomicBool::new(false),
                places: Mutex::new(place::Places::default()),
            }),
        }
    }

    /// The merged root directory, to mount as a preopen.
    pub fn root(&self) -> Arc<dyn Dir> {
        Arc::new(OverlayDir::root(Arc::clone(&self.st)))
    }

    /// The upper layer: every object the guest created or changed (changed lower files are
    /// there whole, with the directories leading to them). Deletions are in [`Self::whiteouts`].
    /// For reading (usage, snapshots, images) once the guest ran: a change made through it
    /// bypasses the overlay's whiteouts and copy-up bookkeeping.
    pub fn upper(&self) -> MemFs {
        self.st.upper.clone()
    }

    /// Paths of lower objects the guest deleted (or renamed away, or replaced), sorted.
    pub fn whiteouts(&self) -> Vec<String> {
        let mut out: Vec<String> = self.st.whiteouts().iter().cloned().collect();
        out.sort();
        out
    }

    /// The merged tree as the guest sees it, in [`MemFs::snapshot`]'s format (sorted relative
    /// paths; files read in full). Unreadable objects are left out.
    pub fn snapshot(&self) -> Vec<(String, TreeEntry)> {
        let mut out = Vec::new();
        let mut stack = vec![(String::new(), self.root())];
        while let Some((prefix, dir)) = stack.pop() {
            let Ok(entries) = dir.read_dir(0, usize::MAX) else {
                continue;
            };
            for e in entries
                .into_iter()
                .filter(|e| e.name != "." && e.name != "..")
            {
                let path = join(&prefix, &e.name);
                match dir.lookup(&e.name) {
                    Ok(Node::Dir(d)) => {
                        stack.push((path.clone(), d));
                        out.push((path, TreeEntry::Dir));
                    }
                    Ok(Node::Symlink(t)) => out.push((path, TreeEntry::Symlink(t))),
                    Ok(Node::File(_)) => {
                        if let Ok(bytes) = read_all(&*dir, &e.name) {
                            out.push((path, TreeEntry::File(bytes)));
                        }
                    }
                    Err(_) => {}
                }
            }
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }
}

/// `prefix/name`, or `name` at the root.
fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_owned()
    } else {
        format!("{prefix}/{name}")
    }
}

/// Reads the whole file `name` of `dir` (for snapshots).
fn read_all(dir: &dyn Dir, name: &str) -> FsResult<Vec<u8>> {
    let file = dir.open_file(name, OpenOptions::default())?;
    let mut out = Vec::new();
    let mut buf = vec![0u8; READ_CHUNK];
    loop {
        let n = file.read_at(&mut buf, out.len() as u64)?;
        if n == 0 {
            return Ok(out);
        }
        out.extend_from_slice(buf.get(..n).unwrap_or(&[]));
    }
}

/// Whether `found` is "not there": the single-name lookup answered NotFound.
fn optional(found: FsResult<Node>) -> FsResult<Option<Node>> {
    match found {
        Ok(node) => Ok(Some(node)),
        Err(FsError::NotFound) => Ok(None),
        Err(e) => Err(e),
    }
}

/// The stat of an object a lookup found in `dir` under `name`.
fn node_stat(dir: &dyn Dir, name: &str, node: &Node) -> FsResult<Filestat> {
    match node {
        Node::Dir(d) => d.stat(),
        Node::File(f) => f.stat(),
        Node::Symlink(_) => dir.stat_at(name),
    }
}

impl State {
    fn whiteouts(&self) -> MutexGuard<'_, HashSet<String>> {
        self.whiteouts.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Takes the mutation lock (recovering from poison: every step leaves state consistent).
    /// Another thread may hold it for a whole copy-up, which ends at *that* caller's
    /// deadline: a caller with a deadline of its own waits no longer than it (TimedOut), by
    /// polling with pauses that grow to [`LOCK_PAUSE`]. Uncontended, it is one `try_lock`.
    fn mutate(&self) -> FsResult<MutexGuard<'_, ()>> {
        let mut pause = Duration::from_micros(20);
        loop {
            match self.lock.try_lock() {
                Ok(guard) => return Ok(guard),
                Err(TryLockError::Poisoned(e)) => return Ok(e.into_inner()),
                Err(TryLockError::WouldBlock) => {}
            }
            if crate::deadline::current().is_none() {
                // Nothing to bound the wait by: block as any mutex user would.
                return Ok(self.lock.lock().unwrap_or_else(|e| e.into_inner()));
            }
            crate::deadline::check()?;
            std::thread::sleep(pause);
            pause = pause.saturating_mul(2).min(LOCK_PAUSE);
        }
    }

    fn is_whiteout(&self, path: &str) -> bool {
        self.whiteouts().contains(path)
    }

    /// Hides the lower object at `path`; returns whether it was newly hidden.
    fn add_whiteout(&self, path: &str) -> bool {
        self.whiteouts().insert(path.to_owned())
    }

    fn remove_whiteout(&self, path: &str) {
        self.whiteouts().remove(path);
    }

    /// True if `path` or one of its ancestors is whited out: a handle on such a lower
    /// directory refers to something the guest removed or replaced.
    fn is_hidden(&self, path: &str) -> bool {
        if path.is_empty() {
            return false;
        }
        let set = self.whiteouts();
        path.match_indices('/')
            .map(|(i, _)| path.get(..i).unwrap_or(path))
            .chain([path])
            .any(|prefix| set.contains(prefix))
    }

    /// Merged stat: the overlay's device, upper data, and a stable inode number (the lower
    /// one for directories that exist below, tagged upper ones otherwise).
    fn merge_stat(&self, upper: Option<Filestat>, lower: Option<Filestat>) -> FsResult<Filestat> {
        let mut st = match (upper, lower) {
            (Some(mut u), Some(l))
                if u.filetype == FileType::Directory && l.filetype == FileType::Directory =>
            {
                u.ino = l.ino & !UPPER_INO;
                u
            }
            (Some(mut u), _) => {
                u.ino |= UPPER_INO;
                u
            }
            (None, Some(mut l)) => {
                l.ino &= !UPPER_INO;
                l
            }
            (None, None) => return Err(FsError::NotFound),
        };
        st.dev = self.dev;
        Ok(st)
    }

    /// The upper directory at `path` (a directory that exists in the lower tree), created with
    /// its missing ancestors when `create` (a directory copy-up, with the lower times).
    /// `None` if it does not exist and `create` is false. Must hold the mutation lock to create.
    fn upper_dir(&self, path: &str, create: bool) -> FsResult<Option<Arc<dyn Dir>>> {
        let mut cur = Arc::clone(&self.upper_root);
        let mut lower = Some(Arc::clone(&self.lower_root));
        let mut created = Vec::new();
        // The existing directory the first new one goes into, with its times from before:
        // creating a child stamps it, but a copy-up changes no merged entry of it.
        let mut stamped: Option<(Arc<dyn Dir>, Filestat)> = None;
        for comp in path.split('/').filter(|c| !c.is_empty()) {
            // The lower side is only needed for the times of directories created here.
            lower = match lower.filter(|_| create).map(|l| l.lookup(comp)) {
                Some(Ok(Node::Dir(d))) => Some(d),
                _ => None,
            };
            cur = match optional(cur.lookup(comp))? {
                Some(Node::Dir(d)) => d,
                // Never walk through an upper file or symlink: that is not this directory.
                Some(Node::File(_) | Node::Symlink(_)) => return Err(FsError::NotDir),
                None if create => {
                    if stamped.is_none() {
                        stamped = Some((Arc::clone(&cur), cur.stat()?));
                    }
                    cur.create_dir(comp)?;
                    let Node::Dir(d) = cur.lookup(comp)? else {
                        return Err(FsError::NotDir);
                    };
                    created.push((Arc::clone(&d), lower.clone()));
                    d
                }
                None => return Ok(None),
            };
        }
        // Times last: creating a child stamps its parent.
        for (dir, lower) in created.iter().rev() {
            if let Some(lower) = lower {
                let s = lower.stat()?;
                dir.set_times(SetTime::At(s.atim), SetTime::At(s.mtim))?;
            }
        }
        if let Some((dir, s)) = stamped {
            dir.set_times(SetTime::At(s.atim), SetTime::At(s.mtim))?;
        }
        Ok(Some(cur))
    }
}
