//! The inode arena of the memory backend: inodes, directory tables, link counts, lifetimes.
//! Everything here runs inside the filesystem's one lock (the caller holds `&mut State`), so
//! each backend operation is a single critical section. No handles, no host access here.
//! An inode lives while it has a name (`nlink > 0`) or an open handle (`open > 0`).
//! The filesystem's budgets (`FsLimits`) are charged here, before anything is allocated: the
//! byte budget counts what the host really holds (`charged`: windows, targets, and a fixed cost
//! per inode, directory, name and page, see `limits.rs`), not only the bytes stored.

use std::collections::HashMap;
use std::sync::Arc;

use super::data::{Cost, SparseData};
use super::entries::shrink_sparse;
pub(super) use super::entries::{DirData, FIRST_SEQ};
use crate::clock::TimeSource;
use crate::limits::{FS_DIR_COST, FS_INODE_COST, FS_NAME_COST, FsLimits};
use crate::vfs::{FileType, Filestat, FsError, FsResult, SetTime};

/// Inode number of the root directory.
pub(super) const ROOT: u64 = 1;

/// What an inode is.
#[derive(Debug)]
pub(super) enum Kind {
    File(SparseData),
    Dir(DirData),
    /// The target exactly as stored (a copy-up may store an absolute one); the resolver, not
    /// this arena, decides whether it may be followed.
    Symlink(String),
}

/// One object of the tree.
#[derive(Debug)]
pub(super) struct Inode {
    /// Names referring to it; for directories 2 + subdirectories while linked, 0 once removed.
    pub(super) nlink: u64,
    /// Open handles (`MemDir` / `MemFile`) keeping it alive. Counted apart from `nlink` so an
    /// unlinked file stays readable through its descriptors, as POSIX wants, and its bytes go
    /// back to the budget only when the last handle closes (`maybe_free`).
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

/// The size of what an object brings along: components and bytes below it (a directory's
/// deepest and longest descendant, relative to it; zero for anything else). A rename moves a
/// whole subtree, so the path budgets must hold for its deepest descendant at the new place,
/// not only for the moved name: otherwise renames could build paths no image can save.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Extent {
    depth: u32,
    len: u32,
}

/// The budgets and what they have charged so far, copied out of the arena so that an
/// operation can check them while it borrows one inode mutably (the borrow checker refuses
/// `&self.limits` next to an `&mut` inode; two words are cheaper than restructuring).
#[derive(Debug, Clone, Copy)]
pub(super) struct Budget {
    limits: FsLimits,
    charged: u64,
}

impl Budget {
    /// Refuses `more` charged bytes past the byte budget (NoSpace).
    pub(super) fn bytes(&self, more: u64) -> FsResult<()> {
        match self.limits.bytes {
            Some(limit) if self.charged.saturating_add(more) > limit => Err(FsError::NoSpace),
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

/// Inodes by number. Boxed: a table slot is then 16 bytes, so the room a hash table keeps
/// (up to three slots per live inode, see `shrink_sparse`) costs little.
pub(super) type InodeMap = HashMap<u64, Box<Inode>, std::hash::BuildHasherDefault<InoHasher>>;

/// What a directory entry named `name` is charged: its share of the tables plus its bytes.
pub(super) fn name_cost(name: &str) -> u64 {
    FS_NAME_COST.saturating_add(name.len() as u64)
}

/// What an inode of `kind` stores and is charged for itself and its contents (names apart).
/// A symlink is charged its target's capacity, not its length: the budget counts what the
/// host allocates (SECURITY.md: logical quota, physical cost).
fn inode_cost(kind: &Kind) -> Cost {
    let (stored, own) = match kind {
        Kind::File(data) => {
            let c = data.cost();
            (c.stored, c.charged)
        }
        Kind::Dir(_) => (0, FS_DIR_COST),
        Kind::Symlink(target) => (target.len() as u64, target.capacity() as u64),
    };
    Cost {
        stored,
        charged: FS_INODE_COST.saturating_add(own),
    }
}

/// The arena: all inodes of one filesystem, its budgets and the running totals they charge.
pub(super) struct State {
    pub(super) inodes: InodeMap,
    next_ino: u64,
    /// Bytes held in file windows and symlink targets, summed over all live inodes.
    pub(super) bytes: u64,
    /// Bytes charged to the byte budget: `bytes`' allocations and every fixed cost.
    pub(super) charged: u64,
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
            .field("charged", &self.charged)
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
            charged: 0,
            extra_links: 0,
            limits,
            clock,
            created: now,
        };
        // Two links: its `.`, and its `..`, which is itself. Not charged: an empty tree must
        // fit any budget, even zero (the memory bound's slack covers the root).
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
            charged: self.charged,
        }
    }

    /// Carries a change of what an inode stores and costs, `before` → `after`, into the totals
    /// (the change was budgeted by the caller, or frees something). Saturating: a total that
    /// wrapped below zero would read as a huge usage, and one that wrapped past `u64::MAX` as
    /// an empty budget; neither may come from a bookkeeping slip.
    pub(super) fn recharge(&mut self, before: Cost, after: Cost) {
        self.bytes = self
            .bytes
            .saturating_sub(before.stored)
            .saturating_add(after.stored);
        self.charged = self
            .charged
            .saturating_sub(before.charged)
            .saturating_add(after.charged);
    }

    /// Refuses one more inode or name past the inode budget (Quota, i.e. EDQUOT). Extra hard
    /// links count as inodes (as tmpfs does): each is a name the tree must hold, and without
    /// it a guest could grow directories without bound by linking one file.
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
        // In u64: two u32 budgets summed can pass u32::MAX, which must read as "too long".
        let depth = u64::from(depth) + u64::from(extent.depth);
        let len = u64::from(len) + u64::from(extent.len);
        if depth > u64::from(self.limits.max_depth) || len > u64::from(self.limits.max_path_len) {
            return Err(FsError::NameTooLong);
        }
        Ok(())
    }

    /// How far below directory `ino` its deepest and longest descendant lies (an explicit
    /// stack; bounded by the tree, which the budgets bound). Not recursion: the guest chooses
    /// the depth, and the host thread's stack must not be what limits it.
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
    /// `dir`) and of every directory below it. They are stored per directory so that every
    /// create checks the path budgets in O(1); a move pays for its subtree once, here.
    fn reposition(&mut self, dir: u64, name: &str, ino: u64) {
        let Ok(parent) = self.dir(dir) else { return };
        let mut stack = vec![(ino, child_position(parent, name))];
        while let Some((cur, (depth, len))) = stack.pop() {
            let Some(Inode {
                kind: Kind::Dir(d), ..
            }) = self.inodes.get_mut(&cur).map(|i| &mut **i)
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

    /// Stores a new inode under the next number. Numbers are never reused: a stale handle,
    /// a readdir entry or a policy's remembered answer can never come to mean another object.
    /// Charging is the caller's (`add_child`), done before this allocates.
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
        self.inodes.insert(ino, Box::new(inode));
        ino
    }

    pub(super) fn get(&self, ino: u64) -> FsResult<&Inode> {
        self.inodes.get(&ino).map(|i| &**i).ok_or(FsError::NotFound)
    }

    pub(super) fn get_mut(&mut self, ino: u64) -> FsResult<&mut Inode> {
        self.inodes
            .get_mut(&ino)
            .map(|i| &mut **i)
            .ok_or(FsError::NotFound)
    }

    /// A directory that is still linked into the tree. Errors: NotFound (removed), NotDir.
    /// A removed directory lives on while handles hold it; answering NotFound here is what
    /// makes lookups and creates in it fail, as Linux's ENOENT in a deleted directory.
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
        // Exists before any budget, as Linux: an existing name is EEXIST on a full filesystem.
        if self.dir(dir)?.get(name).is_some() {
            return Err(FsError::Exists);
        }
        // Budgets before anything is allocated: inodes, path, then the bytes it costs (itself,
        // what it carries, and its name).
        self.check_inodes()?;
        self.check_place(dir, name, Extent::default())?;
        let mut cost = inode_cost(&kind);
        cost.charged = cost.charged.saturating_add(name_cost(name));
        self.budget().bytes(cost.charged)?;
        self.recharge(Cost::default(), cost);
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

    /// Adds a name for an existing inode in `dir` (the caller checked it is absent, and that
    /// the byte budget has room for [`name_cost`]). A moved directory gets `dir` as its parent
    /// and gives `dir` the link of its `..`; the inode's own link count is the caller's
    /// business (link adds one, rename moves one).
    pub(super) fn attach(&mut self, dir: u64, name: &str, ino: u64, now: u64) -> FsResult<()> {
        // No budget check here: link and rename checked every budget before their first
        // change, so that a refused operation changes nothing.
        self.dir_mut(dir)?.insert(name, ino);
        self.charged = self.charged.saturating_add(name_cost(name));
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

    /// Charges one more name `name` for an existing non-directory (a hard link) to the inode
    /// budget, after checking the byte budget has room for it ([`State::attach`] charges it).
    /// Errors: Quota, NoSpace.
    pub(super) fn charge_link(&mut self, name: &str) -> FsResult<()> {
        self.check_inodes()?;
        self.budget().bytes(name_cost(name))?;
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
        self.charged = self.charged.saturating_sub(name_cost(name));
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
        // The directory's `..` linked its parent; it no longer does (for a rename, `attach`
        // gives the link to the new parent).
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

    /// Frees `ino` once it has neither names nor open handles, releasing its pages and what
    /// it was charged; a file without open handles gives back its appending room.
    pub(super) fn maybe_free(&mut self, ino: u64) {
        let Some(inode) = self.inodes.get_mut(&ino) else {
            return;
        };
        if inode.open > 0 {
            return;
        }
        if inode.nlink > 0 {
            // Still named, no longer open: nobody is appending now, so the room appends were
            // given (charged to the budget) goes back.
            if let Kind::File(data) = &mut inode.kind {
                let before = data.cost();
                data.trim();
                let after = data.cost();
                self.recharge(before, after);
            }
            return;
        }
        if let Some(inode) = self.inodes.remove(&ino) {
            self.recharge(inode_cost(&inode.kind), Cost::default());
        }
        // The table's own memory is charged per inode (FS_INODE_COST): it must shrink with
        // the inodes, or creating and deleting files would grow it past what was charged.
        shrink_sparse(&mut self.inodes);
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
