//! The overlay backend: a read-only lower tree (a host directory, or any backend) under an
//! in-memory upper `MemFs`; the guest sees one read-write tree and the lower is never written.
//! The first change to a lower object copies it up whole; deletions are whiteouts kept out of
//! band (a set of paths here, never special files); directories that exist in the lower tree
//! cannot be renamed (EXDEV, as overlayfs without `redirect_dir`). Handles live in `dir.rs` /
//! `file.rs`; this file holds the shared state, copy-up and the embedder's API.

mod dir;
mod file;
#[cfg(test)]
mod tests;

use std::collections::HashSet;
use std::io;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use super::host::{HostDir, Perms};
use super::read_only::read_only;
use super::{
    Dir, FileType, Filestat, FsError, FsResult, MemFs, Node, OpenOptions, SetTime, TreeEntry,
};
use dir::OverlayDir;

/// Inode numbers of upper objects carry this bit, so they never collide with lower ones.
const UPPER_INO: u64 = 1 << 63;

/// Bytes copied per step of a copy-up (also the granularity at which zeros stay sparse).
const COPY_CHUNK: usize = 64 * 1024;

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
    /// An overlay over the host directory `host_path`, opened read-only (see `vfs::host`).
    pub fn new(host_path: impl AsRef<Path>) -> io::Result<Overlay> {
        let lower = HostDir::open(host_path.as_ref(), Perms::READ_ONLY)?;
        Ok(Overlay::over(Arc::new(lower)))
    }

    /// An overlay over any backend directory; it is wrapped read-only, so it is never written.
    pub fn over(lower: Arc<dyn Dir>) -> Overlay {
        Overlay::with_upper(lower, MemFs::new())
    }

    /// An overlay over `lower` whose changes go to `upper` (normally empty). The upper
    /// filesystem's budgets ([`MemFs::with_limits`]) govern everything the guest changes,
    /// copy-ups included: a lower file is copied up only if it fits (ENOSPC otherwise).
    pub fn with_upper(lower: Arc<dyn Dir>, upper: MemFs) -> Overlay {
        Overlay {
            st: Arc::new(State {
                dev: NEXT_DEV.fetch_add(1, Ordering::Relaxed),
                upper_root: upper.root(),
                upper,
                lower_root: read_only(lower),
                whiteouts: Mutex::new(HashSet::new()),
                lock: Mutex::new(()),
            }),
        }
    }

    /// The merged root directory, to mount as a preopen.
    pub fn root(&self) -> Arc<dyn Dir> {
        Arc::new(OverlayDir::root(Arc::clone(&self.st)))
    }

    /// The upper layer: every object the guest created or changed (changed lower files are
    /// there whole, with the directories leading to them). Deletions are in [`Self::whiteouts`].
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
    let mut buf = vec![0u8; COPY_CHUNK];
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
    fn mutate(&self) -> MutexGuard<'_, ()> {
        self.lock.lock().unwrap_or_else(|e| e.into_inner())
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
        for comp in path.split('/').filter(|c| !c.is_empty()) {
            lower = match lower.map(|l| l.lookup(comp)) {
                Some(Ok(Node::Dir(d))) => Some(d),
                _ => None,
            };
            cur = match optional(cur.lookup(comp))? {
                Some(Node::Dir(d)) => d,
                // Never walk through an upper file or symlink: that is not this directory.
                Some(Node::File(_) | Node::Symlink(_)) => return Err(FsError::NotDir),
                None if create => {
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
        Ok(Some(cur))
    }

    /// Copies the lower non-directory `name` of `lower_parent` (at `parent_path`) up, whole.
    /// Must hold the mutation lock. A partial copy is removed again on failure, so the lower
    /// object is never shadowed by half of itself.
    fn copy_up(&self, parent_path: &str, lower_parent: &dyn Dir, name: &str) -> FsResult<()> {
        let upper_parent = self
            .upper_dir(parent_path, true)?
            .ok_or(FsError::NotFound)?;
        let stat = lower_parent.stat_at(name)?;
        let times = (SetTime::At(stat.atim), SetTime::At(stat.mtim));
        // A copy-up changes no merged entry, so the parent's times must not move either
        // (overlayfs restores them too): keep them to put back afterwards.
        let parent = upper_parent.stat()?;
        let result = match lower_parent.lookup(name)? {
            Node::Symlink(target) => upper_parent
                .symlink(name, &target)
                .and_then(|()| upper_parent.set_times_at(name, times.0, times.1)),
            Node::File(_) => {
                let result = copy_file(lower_parent, &*upper_parent, name, times);
                if result.is_err() {
                    let _ = upper_parent.unlink(name);
                }
                result
            }
            // Directories are copied up by `upper_dir`, never as a leaf.
            Node::Dir(_) => Err(FsError::Invalid),
        };
        upper_parent.set_times(SetTime::At(parent.atim), SetTime::At(parent.mtim))?;
        result
    }
}

/// Streams a lower file into a new upper one in bounded chunks; all-zero chunks are skipped so
/// holes stay holes. Memory grows with the file: see the module docs and RATIONALE.md.
fn copy_file(
    lower_parent: &dyn Dir,
    upper_parent: &dyn Dir,
    name: &str,
    (atime, mtime): (SetTime, SetTime),
) -> FsResult<()> {
    let src = lower_parent.open_file(name, OpenOptions::default())?;
    let size = src.stat()?.size;
    let options = OpenOptions {
        create: true,
        exclusive: true,
        truncate: false,
        write: true,
    };
    let dst = upper_parent.open_file(name, options)?;
    let mut buf = vec![0u8; COPY_CHUNK];
    let mut offset = 0u64;
    while offset < size {
        let n = src.read_at(&mut buf, offset)?;
        if n == 0 {
            break;
        }
        let chunk = buf.get(..n).unwrap_or(&[]);
        if chunk.iter().any(|b| *b != 0) {
            dst.write_at(chunk, offset)?;
        }
        offset = offset.saturating_add(n as u64);
    }
    dst.set_size(offset)?;
    dst.set_times(atime, mtime)
}
