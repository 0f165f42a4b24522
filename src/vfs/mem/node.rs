//! The inode arena of the memory backend: inodes, directory tables, link counts, lifetimes.
//! Everything here runs inside the filesystem's one lock (the caller holds `&mut State`), so
//! each backend operation is a single critical section. No handles, no host access here.
//! An inode lives while it has a name (`nlink > 0`) or an open handle (`open > 0`).
//! The filesystem's budgets (`FsLimits`) are charged here, before anything is allocated.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use super::data::SparseData;
use crate::clock::TimeSource;
use crate::limits::FsLimits;
use crate::vfs::{FileType, Filestat, FsError, FsResult, SetTime};

/// Inode number of the root directory.
pub(super) const ROOT: u64 = 1;

/// Longest accepted name component, in bytes (as Linux's NAME_MAX).
const NAME_MAX: usize = 255;

/// Longest accepted symlink target, in bytes (Linux refuses PATH_MAX and more).
const TARGET_MAX: usize = 4095;

/// What an inode is.
#[derive(Debug)]
pub(super) enum Kind {
    File(SparseData),
    Dir(DirData),
    Symlink(String),
}

/// One object of the tree.
#[derive(Debug)]
pub(super) struct Inode {
    /// Names referring to it; for directories 2 + subdirectories while linked, 0 once removed.
    pub(super) nlink: u64,
    /// Open handles (`MemDir` / `MemFile`) keeping it alive.
    pub(super) open: u64,
    pub(super) atim: u64,
    pub(super) mtim: u64,
    pub(super) ctim: u64,
    pub(super) kind: Kind,
}

impl Inode {
    pub(super) fn filetype(&self) -> FileType {
        match self.kind {
            Kind::File(_) => FileType::RegularFile,
            Kind::Dir(_) => FileType::Directory,
            Kind::Symlink(_) => FileType::Symlink,
        }
    }

    pub(super) fn stat(&self, dev: u64, ino: u64) -> Filestat {
        let size = match &self.kind {
            Kind::File(data) => data.size(),
            Kind::Dir(_) => 0,
            Kind::Symlink(target) => target.len() as u64,
        };
        Filestat {
            dev,
            ino,
            filetype: self.filetype(),
            nlink: self.nlink,
            size,
            atim: self.atim,
            mtim: self.mtim,
            ctim: self.ctim,
        }
    }

    /// utimensat semantics: each time kept, set to `now` or to a value; ctime moves unless both
    /// are kept (Linux returns early in that case).
    pub(super) fn set_times(&mut self, atime: SetTime, mtime: SetTime, now: u64) {
        let pick = |old: u64, t: SetTime| match t {
            SetTime::Keep => old,
            SetTime::Now => now,
            SetTime::At(v) => v,
        };
        if atime == SetTime::Keep && mtime == SetTime::Keep {
            return;
        }
        self.atim = pick(self.atim, atime);
        self.mtim = pick(self.mtim, mtime);
        self.ctim = now;
    }
}

/// A directory's entries with stable readdir cookies: every insertion takes a fresh sequence
/// number (never reused), and readdir walks them in sequence order. Sequence numbers start at 2
/// because cookies 0 and 1 are `.` and `..`.
#[derive(Debug)]
pub(super) struct DirData {
    /// The directory holding this one (itself for the root); followed by the cycle check.
    pub(super) parent: u64,
    /// Components from the root to here (0 for the root); kept for the depth budget.
    depth: u32,
    /// Bytes of the path from the root to here (`a/b` is 3); kept for the path budget.
    path_len: u32,
    /// name → (sequence number, inode). SipHash (std's default): names are the guest's to
    /// choose, and a keyed hash keeps it from making them collide.
    by_name: HashMap<Arc<str>, (u64, u64)>,
    /// sequence number → (name, inode); the name is shared with `by_name`.
    by_seq: BTreeMap<u64, (Arc<str>, u64)>,
    next_seq: u64,
}

/// The first sequence number of a real entry.
pub(super) const FIRST_SEQ: u64 = 2;

impl DirData {
    pub(super) fn new(parent: u64) -> Self {
        DirData {
            parent,
            depth: 0,
            path_len: 0,
            by_name: HashMap::new(),
            by_seq: BTreeMap::new(),
            next_seq: FIRST_SEQ,
        }
    }

    pub(super) fn get(&self, name: &str) -> Option<u64> {
        self.by_name.get(name).map(|&(_, ino)| ino)
    }

    pub(super) fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }

    /// Adds `name` (the caller checked it is absent) at the end of the readdir order.
    fn insert(&mut self, name: &str, ino: u64) {
        let seq = self.next_seq;
        self.next_seq = self.next_seq.saturating_add(1);
        let name: Arc<str> = Arc::from(name);
        self.by_name.insert(Arc::clone(&name), (seq, ino));
        self.by_seq.insert(seq, (name, ino));
    }

    fn remove(&mut self, name: &str) -> Option<u64> {
        let (seq, ino) = self.by_name.remove(name)?;
        self.by_seq.remove(&seq);
        Some(ino)
    }

    /// Entries whose sequence number is at least `seq`, in order: (seq, name, inode).
    pub(super) fn entries_from(&self, seq: u64) -> impl Iterator<Item = (u64, &str, u64)> {
        self.by_seq
            .range(seq.max(FIRST_SEQ)..)
            .map(|(s, (name, ino))| (*s, &**name, *ino))
    }
}

/// Refuses names a single-component backend call must never see (Invalid) and over-long ones
/// (NameTooLong). The resolver already guarantees the first; this is defence in depth.
pub(super) fn check_name(name: &str) -> FsResult<()> {
    if name.is_empty() || name == "." || name == ".." || name.contains(['/', '\0']) {
        return Err(FsError::Invalid);
    }
    if name.len() > NAME_MAX {
        return Err(FsError::NameTooLong);
    }
    Ok(())
}

/// Refuses symlink targets Linux would: empty (NotFound), NUL (IllegalSequence), too long.
pub(super) fn check_target(target: &str) -> FsResult<()> {
    if target.is_empty() {
        return Err(FsError::NotFound);
    }
    if target.contains('\0') {
        return Err(FsError::IllegalSequence);
    }
    if target.len() > TARGET_MAX {
        return Err(FsError::NameTooLong);
    }
    Ok(())
}

/// The size of what an object brings along: components and bytes below it (a directory's
/// deepest and longest descendant, relative to it; zero for anything else).
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Extent {
    depth: u32,
    len: u32,
}

/// The budgets and what they have charged so far, copied out of the arena so that an
/// operation can check them while it borrows one inode mutably.
#[derive(Debug, Clone, Copy)]
pub(super) struct Budget {
    limits: FsLimits,
    bytes: u64,
}

impl Budget {
    /// Refuses `more` bytes past the byte budget (NoSpace).
    pub(super) fn bytes(&self, more: u64) -> FsResult<()> {
        match self.limits.bytes {
            Some(limit) if self.bytes.saturating_add(more) > limit => Err(FsError::NoSpace),
            _ => Ok(()),
        }
    }

    /// Refuses a logical file size past `max_file_size` (FileTooBig).
    pub(super) fn size(&self, size: u64) -> FsResult<()> {
        if size > self.limits.max_file_size {
            Err(FsError::FileTooBig)
        } else {
            Ok(())
        }
    }
}

/// Hashes inode numbers with one multiplication (Fx). SipHash's protection is for keys an
/// attacker picks; inode numbers are ours, handed out in sequence, so a guest cannot make
/// them collide, and every lookup of an open, stat or close is several times cheaper.
#[derive(Default, Clone, Copy)]
pub(super) struct InoHasher(u64);

impl std::hash::Hasher for InoHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only `write_u64` is used (the keys are u64); this keeps other uses correct.
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

/// Inodes by number.
pub(super) type InodeMap = HashMap<u64, Inode, std::hash::BuildHasherDefault<InoHasher>>;

/// The arena: all inodes of one filesystem, its budgets and the running totals they charge.
pub(super) struct State {
    pub(super) inodes: InodeMap,
    next_ino: u64,
    /// Bytes held in file pages and symlink targets, summed over all live inodes.
    pub(super) bytes: u64,
    /// Names beyond the first of every non-directory: charged to the inode budget (as tmpfs
    /// does) so that hard links cannot grow the tree without bound.
    pub(super) extra_links: u64,
    pub(super) limits: FsLimits,
    /// Where timestamps come from.
    pub(super) clock: Arc<dyn TimeSource>,
    /// The root's creation stamp: a fresh tree is restamped when its clock changes.
    pub(super) created: u64,
}

impl std::fmt::Debug for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("State")
            .field("inodes", &self.inodes.len())
            .field("bytes", &self.bytes)
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl State {
    /// A tree holding only the root directory, stamped by `clock`.
    pub(super) fn new(clock: Arc<dyn TimeSource>, limits: FsLimits) -> Self {
        let now = clock.now();
        let mut st = State {
            inodes: InodeMap::default(),
            next_ino: ROOT,
            bytes: 0,
            extra_links: 0,
            limits,
            clock,
            created: now,
        };
        st.alloc(Kind::Dir(DirData::new(ROOT)), 2, now);
        st
    }

    /// The current time of this filesystem's clock.
    pub(super) fn now(&self) -> u64 {
        self.clock.now()
    }

    /// The budgets with what they have charged so far.
    pub(super) fn budget(&self) -> Budget {
        Budget {
            limits: self.limits,
            bytes: self.bytes,
        }
    }

    /// Charges `more` bytes (NoSpace past the budget; nothing is charged then).
    pub(super) fn charge_bytes(&mut self, more: u64) -> FsResult<()> {
        self.budget().bytes(more)?;
        self.bytes = self.bytes.saturating_add(more);
        Ok(())
    }

    /// Refuses one more inode or name past the inode budget (Quota, i.e. EDQUOT).
    fn check_inodes(&self) -> FsResult<()> {
        let used = (self.inodes.len() as u64).saturating_add(self.extra_links);
        match self.limits.inodes {
            Some(limit) if used >= limit => Err(FsError::Quota),
            _ => Ok(()),
        }
    }

    /// Refuses to place an object of `extent` as `name` in `dir` if its path (or its deepest
    /// descendant's) would pass the path-length or depth budget (NameTooLong).
    fn check_place(&self, dir: u64, name: &str, extent: Extent) -> FsResult<()> {
        let d = self.dir(dir)?;
        let (depth, len) = child_position(d, name);
        let depth = u64::from(depth) + u64::from(extent.depth);
        let len = u64::from(len) + u64::from(extent.len);
        if depth > u64::from(self.limits.max_depth) || len > u64::from(self.limits.max_path_len) {
            return Err(FsError::NameTooLong);
        }
        Ok(())
    }

    /// How far below directory `ino` its deepest and longest descendant lies (an explicit
    /// stack; bounded by the tree, which the budgets bound).
    fn extent(&self, ino: u64) -> Extent {
        let mut out = Extent::default();
        let mut stack = vec![(ino, Extent::default())];
        while let Some((dir, at)) = stack.pop() {
            let Ok(d) = self.dir(dir) else { continue };
            for (_, name, child) in d.entries_from(FIRST_SEQ) {
                let sep = u32::from(at.depth > 0);
                let here = Extent {
                    depth: at.depth.saturating_add(1),
                    len: at.len.saturating_add(sep).saturating_add(name_len(name)),
                };
                out.depth = out.depth.max(here.depth);
                out.len = out.len.max(here.len);
                if matches!(self.inodes.get(&child).map(|i| &i.kind), Some(Kind::Dir(_))) {
                    stack.push((child, here));
                }
            }
        }
        out
    }

    /// Recomputes the recorded depth and path length of `ino` (just placed as `name` in
    /// `dir`) and of every directory below it.
    fn reposition(&mut self, dir: u64, name: &str, ino: u64) {
        let Ok(parent) = self.dir(dir) else { return };
        let mut stack = vec![(ino, child_position(parent, name))];
        while let Some((cur, (depth, len))) = stack.pop() {
            let Some(Inode {
                kind: Kind::Dir(d), ..
            }) = self.inodes.get_mut(&cur)
            else {
                continue;
            };
            d.depth = depth;
            d.path_len = len;
            let d = &*d;
            for (_, child_name, child) in d.entries_from(FIRST_SEQ) {
                stack.push((child, child_position(d, child_name)));
            }
        }
    }

    fn alloc(&mut self, kind: Kind, nlink: u64, now: u64) -> u64 {
        let ino = self.next_ino;
        self.next_ino = self.next_ino.saturating_add(1);
        let inode = Inode {
            nlink,
            open: 0,
            atim: now,
            mtim: now,
            ctim: now,
            kind,
        };
        self.inodes.insert(ino, inode);
        ino
    }

    pub(super) fn get(&self, ino: u64) -> FsResult<&Inode> {
        self.inodes.get(&ino).ok_or(FsError::NotFound)
    }

    pub(super) fn get_mut(&mut self, ino: u64) -> FsResult<&mut Inode> {
        self.inodes.get_mut(&ino).ok_or(FsError::NotFound)
    }

    /// A directory that is still linked into the tree. Errors: NotFound (removed), NotDir.
    pub(super) fn dir(&self, ino: u64) -> FsResult<&DirData> {
        let inode = self.get(ino)?;
        match &inode.kind {
            Kind::Dir(_) if inode.nlink == 0 => Err(FsError::NotFound),
            Kind::Dir(d) => Ok(d),
            _ => Err(FsError::NotDir),
        }
    }

    fn dir_mut(&mut self, ino: u64) -> FsResult<&mut DirData> {
        self.dir(ino)?;
        match &mut self.get_mut(ino)?.kind {
            Kind::Dir(d) => Ok(d),
            _ => Err(FsError::NotDir),
        }
    }

    /// The inode `name` names in directory `dir`. Errors: NotFound.
    pub(super) fn child(&self, dir: u64, name: &str) -> FsResult<u64> {
        self.dir(dir)?.get(name).ok_or(FsError::NotFound)
    }

    /// Creates a new inode of `kind` named `name` in `dir`. Errors: NotFound (dir removed),
    /// Exists. Nothing is allocated on error.
    pub(super) fn add_child(
        &mut self,
        dir: u64,
        name: &str,
        kind: Kind,
        now: u64,
    ) -> FsResult<u64> {
        if self.dir(dir)?.get(name).is_some() {
            return Err(FsError::Exists);
        }
        // Budgets before anything is allocated: inodes, path, then the bytes it carries.
        self.check_inodes()?;
        self.check_place(dir, name, Extent::default())?;
        let bytes = match &kind {
            Kind::File(data) => data.stored_bytes(),
            Kind::Symlink(target) => target.len() as u64,
            Kind::Dir(_) => 0,
        };
        self.charge_bytes(bytes)?;
        let is_dir = matches!(kind, Kind::Dir(_));
        let ino = self.alloc(kind, if is_dir { 2 } else { 1 }, now);
        self.dir_mut(dir)?.insert(name, ino);
        if is_dir {
            // The new directory's `..` is one more link to its parent.
            self.get_mut(dir)?.nlink += 1;
            self.reposition(dir, name, ino);
        }
        self.touch(dir, now);
        Ok(ino)
    }

    /// Adds a name for an existing inode in `dir` (the caller checked it is absent). A moved
    /// directory gets `dir` as its parent and gives `dir` the link of its `..`; the inode's own
    /// link count is the caller's business (link adds one, rename moves one).
    pub(super) fn attach(&mut self, dir: u64, name: &str, ino: u64, now: u64) -> FsResult<()> {
        self.dir_mut(dir)?.insert(name, ino);
        self.touch(dir, now);
        if let Kind::Dir(moved) = &mut self.get_mut(ino)?.kind {
            moved.parent = dir;
            self.get_mut(dir)?.nlink += 1;
            self.reposition(dir, name, ino);
        }
        Ok(())
    }

    /// Checks that `ino` may get the name `name` in `dir` under the path budgets (its whole
    /// subtree, for a directory). Errors: NameTooLong.
    pub(super) fn check_attach(&self, dir: u64, name: &str, ino: u64) -> FsResult<()> {
        let extent = match self.get(ino)?.kind {
            Kind::Dir(_) => self.extent(ino),
            Kind::File(_) | Kind::Symlink(_) => Extent::default(),
        };
        self.check_place(dir, name, extent)
    }

    /// Charges one more name for an existing non-directory (a hard link) to the inode budget.
    /// Errors: Quota.
    pub(super) fn charge_link(&mut self) -> FsResult<()> {
        self.check_inodes()?;
        self.extra_links = self.extra_links.saturating_add(1);
        Ok(())
    }

    /// Removes the entry `name` from `dir` and drops the link it held: a directory loses all
    /// its links (and its parent one), anything else one. Frees the inode if nothing holds it.
    /// `keep_links` leaves the inode's count alone (rename moves the name, not the link).
    pub(super) fn detach(
        &mut self,
        dir: u64,
        name: &str,
        keep_links: bool,
        now: u64,
    ) -> FsResult<u64> {
        let ino = self.dir_mut(dir)?.remove(name).ok_or(FsError::NotFound)?;
        self.touch(dir, now);
        let inode = self.get_mut(ino)?;
        inode.ctim = now;
        let is_dir = matches!(inode.kind, Kind::Dir(_));
        if !keep_links {
            let had_extra = !is_dir && inode.nlink > 1;
            inode.nlink = if is_dir {
                0
            } else {
                inode.nlink.saturating_sub(1)
            };
            if had_extra {
                self.extra_links = self.extra_links.saturating_sub(1);
            }
            self.maybe_free(ino);
        }
        if is_dir {
            let parent = self.get_mut(dir)?;
            parent.nlink = parent.nlink.saturating_sub(1);
        }
        Ok(ino)
    }

    /// True if `ancestor` is `ino` or one of its parents (walking parent pointers to the root).
    pub(super) fn is_ancestor_or_self(&self, ancestor: u64, mut ino: u64) -> FsResult<bool> {
        // Bounded by the inode count so that even a corrupt chain cannot hang.
        for _ in 0..=self.inodes.len() {
            if ino == ancestor {
                return Ok(true);
            }
            let parent = self.dir(ino)?.parent;
            if parent == ino {
                return Ok(false);
            }
            ino = parent;
        }
        Ok(false)
    }

    /// Marks a directory's contents as changed now.
    pub(super) fn touch(&mut self, dir: u64, now: u64) {
        if let Some(inode) = self.inodes.get_mut(&dir) {
            inode.mtim = now;
            inode.ctim = now;
        }
    }

    /// Frees `ino` once it has neither names nor open handles, releasing its pages.
    pub(super) fn maybe_free(&mut self, ino: u64) {
        let unused = self
            .inodes
            .get(&ino)
            .is_some_and(|i| i.nlink == 0 && i.open == 0);
        if !unused {
            return;
        }
        let freed = match self.inodes.remove(&ino).map(|i| i.kind) {
            Some(Kind::File(data)) => data.stored_bytes(),
            Some(Kind::Symlink(target)) => target.len() as u64,
            Some(Kind::Dir(_)) | None => 0,
        };
        self.bytes = self.bytes.saturating_sub(freed);
    }
}

/// A name's length as the path budget counts it (names are at most 255 bytes).
fn name_len(name: &str) -> u32 {
    u32::try_from(name.len()).unwrap_or(u32::MAX)
}

/// (depth, path length) of an entry `name` of directory `d`.
fn child_position(d: &DirData, name: &str) -> (u32, u32) {
    let sep = u32::from(d.depth > 0);
    (
        d.depth.saturating_add(1),
        d.path_len
            .saturating_add(sep)
            .saturating_add(name_len(name)),
    )
}
