//! `Dir` for the memory backend: a handle = (filesystem, inode) answering single-name
//! questions, each in one critical section on the arena. Link counts and entry tables are
//! changed only through `node.rs`. Two-path operations accept only a directory of the *same*
//! `MemFs` (CrossDevice otherwise). A removed directory answers NotFound to lookups and creates.

use std::any::Any;
use std::sync::Arc;

use super::Inner;
use super::data::SparseData;
use super::node::{DirData, FIRST_SEQ, Kind, State, name_cost};
use crate::vfs::names::{check_name, check_target};
use crate::vfs::{
    Dir, DirEntry, File, FileType, Filestat, FsError, FsResult, Node, NodeKind, OpenOptions,
    SetTime,
};

/// An open directory of a [`super::MemFs`]. It holds an inode number, not a reference: the
/// arena owns every inode, and the open count the handle raised keeps the number valid (and
/// the directory readable as removed) until `Drop` gives it back.
pub(super) struct MemDir {
    fs: Arc<Inner>,
    ino: u64,
}

impl MemDir {
    /// Wraps an inode whose open count the caller has already raised.
    pub(super) fn new(fs: Arc<Inner>, ino: u64) -> Self {
        MemDir { fs, ino }
    }

    /// The filesystem this directory belongs to.
    pub(super) fn fs(&self) -> &Arc<Inner> {
        &self.fs
    }

    /// The directory `other` as a directory of this same filesystem. Errors: CrossDevice.
    /// Pointer equality of the arenas, not device ids: deterministic mode may renumber
    /// devices, and two filesystems must never share inode numbers in one operation.
    /// A read-only wrapper is another type, so it lands here as CrossDevice too.
    fn same_fs<'a>(&self, other: &'a dyn Dir) -> FsResult<&'a MemDir> {
        match other.as_any().downcast_ref::<MemDir>() {
            Some(d) if Arc::ptr_eq(&d.fs, &self.fs) => Ok(d),
            _ => Err(FsError::CrossDevice),
        }
    }

    /// The inode `name` names here, after checking the name. Errors: Invalid, NameTooLong,
    /// NotFound (no such entry, or this directory was removed).
    fn child(&self, st: &State, name: &str) -> FsResult<u64> {
        check_name(name)?;
        st.child(self.ino, name)
    }

    /// Opens (or creates) the regular file `name` with the lock held. The clock is read only
    /// when something is stamped: a plain open changes no time, and a virtual clock must not
    /// advance for it (deterministic runs would otherwise depend on how often guests open).
    fn open_locked(
        &self,
        st: &mut State,
        name: &str,
        options: OpenOptions,
    ) -> FsResult<Arc<dyn File>> {
        check_name(name)?;
        let Some(ino) = st.dir(self.ino)?.get(name) else {
            if !options.create {
                return Err(FsError::NotFound);
            }
            let now = st.now();
            let ino = st.add_child(self.ino, name, Kind::File(SparseData::default()), now)?;
            return Ok(self.fs.open_file(st, ino));
        };
        // O_CREAT|O_EXCL fails on any existing name, even a directory or a dangling symlink.
        if options.create && options.exclusive {
            return Err(FsError::Exists);
        }
        let now = if options.truncate { st.now() } else { 0 };
        let inode = st.get_mut(ino)?;
        let change = match &mut inode.kind {
            Kind::Dir(_) => return Err(FsError::IsDir),
            // O_NOFOLLOW semantics: the resolver follows links, a backend never does.
            Kind::Symlink(_) => return Err(FsError::Loop),
            Kind::File(data) if options.truncate => {
                // Shrinking needs no budget; the freed bytes go back through `recharge`.
                let before = data.cost();
                data.set_size(0)?;
                inode.mtim = now;
                inode.ctim = now;
                Some((before, data.cost()))
            }
            Kind::File(_) => None,
        };
        if let Some((before, after)) = change {
            st.recharge(before, after);
        }
        Ok(self.fs.open_file(st, ino))
    }

    /// Checks that the entry `new_name` in `dst` may be replaced by `src` under POSIX rename
    /// rules; returns the inode to replace, if any. Errors: NotDir, IsDir, NotEmpty. A
    /// symlink is replaced like a file whatever it points at: rename never follows.
    fn rename_victim(st: &State, src: u64, dst: u64, new_name: &str) -> FsResult<Option<u64>> {
        let Some(victim) = st.dir(dst)?.get(new_name) else {
            return Ok(None);
        };
        let src_is_dir = st.get(src)?.filetype() == FileType::Directory;
        match (src_is_dir, &st.get(victim)?.kind) {
            (true, Kind::Dir(d)) if !d.is_empty() => Err(FsError::NotEmpty),
            (true, Kind::Dir(_)) | (false, Kind::File(_) | Kind::Symlink(_)) => Ok(Some(victim)),
            (true, Kind::File(_) | Kind::Symlink(_)) => Err(FsError::NotDir),
            (false, Kind::Dir(_)) => Err(FsError::IsDir),
        }
    }
}

/// The bytes the `MemFs` of `dir` may still charge to its byte budget; `None` if it has none
/// or `dir` belongs to another backend. An image loader bounds what it holds by this.
pub(crate) fn bytes_left(dir: &dyn Dir) -> Option<u64> {
    let mem = dir.as_any().downcast_ref::<MemDir>()?;
    let st = mem.fs.lock();
    st.limits
        .bytes
        .map(|limit| limit.saturating_sub(st.charged))
}

impl Drop for MemDir {
    /// The handle's open count goes; a removed directory with no other handle is freed now.
    /// Takes the lock, so a handle must never be dropped while its caller holds it.
    fn drop(&mut self) {
        self.fs.release(self.ino);
    }
}

impl Dir for MemDir {
    fn lookup(&self, name: &str) -> FsResult<Node> {
        // One critical section: the entry found and the handle opened on it are the same
        // inode, whatever another thread renames meanwhile.
        let mut st = self.fs.lock();
        let ino = self.child(&st, name)?;
        let node = match &st.get(ino)?.kind {
            Kind::Symlink(target) => Node::Symlink(target.clone()),
            Kind::Dir(_) => Node::Dir(self.fs.open_dir(&mut st, ino)),
            Kind::File(_) => Node::File(self.fs.open_file(&mut st, ino)),
        };
        Ok(node)
    }

    fn lookup_kind(&self, name: &str) -> FsResult<NodeKind> {
        // No file handle (saves its Arc and bookkeeping); a directory is opened under the
        // same lock, since the resolver hands it out.
        let mut st = self.fs.lock();
        let ino = self.child(&st, name)?;
        Ok(match &st.get(ino)?.kind {
            Kind::Symlink(target) => NodeKind::Symlink(target.clone()),
            Kind::Dir(_) => NodeKind::Dir(Some(self.fs.open_dir(&mut st, ino))),
            Kind::File(_) => NodeKind::File,
        })
    }

    fn open_file(&self, name: &str, options: OpenOptions) -> FsResult<Arc<dyn File>> {
        // One critical section from lookup to handle: O_EXCL and O_TRUNC see the same entry
        // they act on, so two guests racing to create one name cannot both succeed.
        let mut st = self.fs.lock();
        self.open_locked(&mut st, name, options)
    }

    fn create_dir(&self, name: &str) -> FsResult<()> {
        // Checked before the lock: refusing a bad name costs no contention.
        check_name(name)?;
        let mut st = self.fs.lock();
        let now = st.now();
        st.add_child(self.ino, name, Kind::Dir(DirData::new(self.ino)), now)?;
        Ok(())
    }

    fn remove_dir(&self, name: &str) -> FsResult<()> {
        let mut st = self.fs.lock();
        let now = st.now();
        let ino = self.child(&st, name)?;
        match &st.get(ino)?.kind {
            Kind::Dir(d) if !d.is_empty() => return Err(FsError::NotEmpty),
            Kind::Dir(_) => {}
            Kind::File(_) | Kind::Symlink(_) => return Err(FsError::NotDir),
        }
        st.detach(self.ino, name, false, now)?;
        Ok(())
    }

    fn unlink(&self, name: &str) -> FsResult<()> {
        let mut st = self.fs.lock();
        let now = st.now();
        let ino = self.child(&st, name)?;
        // Linux unlinkat(2) without AT_REMOVEDIR on a directory: EISDIR.
        if st.get(ino)?.filetype() == FileType::Directory {
            return Err(FsError::IsDir);
        }
        st.detach(self.ino, name, false, now)?;
        Ok(())
    }

    fn symlink(&self, name: &str, target: &str) -> FsResult<()> {
        check_name(name)?;
        // Validity only, not confinement: an overlay's copy-up stores a lower link verbatim,
        // absolute or not. Guests cannot create absolute links (the syscall layer refuses
        // them), and the resolver refuses to follow one wherever it comes from.
        check_target(target)?;
        let mut st = self.fs.lock();
        let now = st.now();
        st.add_child(self.ino, name, Kind::Symlink(target.to_owned()), now)?;
        Ok(())
    }

    fn read_link(&self, name: &str) -> FsResult<String> {
        let st = self.fs.lock();
        let ino = self.child(&st, name)?;
        match &st.get(ino)?.kind {
            // Verbatim, absolute ones included: readlink shows what is there, and only
            // following a link is a confinement question (the resolver's).
            Kind::Symlink(target) => Ok(target.clone()),
            Kind::File(_) | Kind::Dir(_) => Err(FsError::Invalid),
        }
    }

    fn stat_at(&self, name: &str) -> FsResult<Filestat> {
        let st = self.fs.lock();
        let ino = self.child(&st, name)?;
        Ok(st.get(ino)?.stat(self.fs.dev(), ino))
    }

    fn set_times_at(&self, name: &str, atime: SetTime, mtime: SetTime) -> FsResult<()> {
        // The entry itself, a symlink included (utimensat with AT_SYMLINK_NOFOLLOW): the
        // resolver already decided whether the guest's path follows a final link.
        let mut st = self.fs.lock();
        let now = st.now();
        let ino = self.child(&st, name)?;
        st.get_mut(ino)?.set_times(atime, mtime, now);
        Ok(())
    }

    fn link(&self, name: &str, new_dir: &dyn Dir, new_name: &str) -> FsResult<()> {
        check_name(new_name)?;
        // Same arena, so the one lock taken below covers both directories: the destination
        // is only an inode number here, checked for removal under that lock.
        let dst = self.same_fs(new_dir)?.ino;
        let mut st = self.fs.lock();
        let now = st.now();
        let ino = self.child(&st, name)?;
        // Linux order: the new name is checked (EEXIST) before the source's type (EPERM).
        if st.dir(dst)?.get(new_name).is_some() {
            return Err(FsError::Exists);
        }
        if st.get(ino)?.filetype() == FileType::Directory {
            return Err(FsError::NotPermitted);
        }
        // Budgets before the change: the new path, then one more name (EDQUOT past the inode
        // budget, ENOSPC past the byte budget, which pays for the name's memory).
        st.check_attach(dst, new_name, ino)?;
        st.charge_link(new_name)?;
        let inode = st.get_mut(ino)?;
        inode.nlink = inode.nlink.saturating_add(1);
        inode.ctim = now;
        st.attach(dst, new_name, ino, now)
    }

    /// Every check (ancestry, replace rules, budgets) runs before the first change, in
    /// Linux's order, so a refused rename leaves the tree exactly as it was.
    fn rename(&self, name: &str, new_dir: &dyn Dir, new_name: &str) -> FsResult<()> {
        check_name(new_name)?;
        let dst = self.same_fs(new_dir)?.ino;
        let mut st = self.fs.lock();
        let now = st.now();
        let src = self.child(&st, name)?;
        // The destination may have been removed since its handle was taken: ENOENT first.
        st.dir(dst)?;
        // A directory moved below itself would detach a cycle from the tree (Linux: EINVAL).
        if st.get(src)?.filetype() == FileType::Directory && st.is_ancestor_or_self(src, dst)? {
            return Err(FsError::Invalid);
        }
        // Onto the source's own parent or an ancestor of it: that directory is not empty, and
        // Linux says so (ENOTEMPTY) before the type rules, even when the source is a file.
        if let Some(victim) = st.dir(dst)?.get(new_name)
            && st.is_ancestor_or_self(victim, self.ino)?
        {
            return Err(FsError::NotEmpty);
        }
        // Two names of one inode (or one name onto itself): POSIX says do nothing.
        if st.dir(dst)?.get(new_name) == Some(src) {
            return Ok(());
        }
        // The moved object (a directory with its whole subtree) must fit the path budgets, and
        // a longer name the byte budget (before the old name and any victim are given back).
        st.check_attach(dst, new_name, src)?;
        st.budget()
            .bytes(name_cost(new_name).saturating_sub(name_cost(name)))?;
        // All checks are done before the first change, so a failed rename changes nothing.
        if Self::rename_victim(&st, src, dst, new_name)?.is_some() {
            st.detach(dst, new_name, false, now)?;
        }
        st.detach(self.ino, name, true, now)?;
        st.attach(dst, new_name, src, now)
    }

    fn stat(&self) -> FsResult<Filestat> {
        // A removed directory still stats (nlink 0), as fstat of a deleted cwd does.
        let st = self.fs.lock();
        Ok(st.get(self.ino)?.stat(self.fs.dev(), self.ino))
    }

    fn set_times(&self, atime: SetTime, mtime: SetTime) -> FsResult<()> {
        let mut st = self.fs.lock();
        let now = st.now();
        st.get_mut(self.ino)?.set_times(atime, mtime, now);
        Ok(())
    }

    /// Cookies are sequence numbers, never positions: an entry keeps its cookie while others
    /// come and go, so a guest paging through a changing directory neither skips a survivor
    /// nor sees one twice (the ordering promise of `Dir::read_dir`).
    fn read_dir(&self, cookie: u64, max: usize) -> FsResult<Vec<DirEntry>> {
        let st = self.fs.lock();
        // A removed directory lists nothing at all (Linux getdents: ENOENT).
        let dir = st.dir(self.ino)?;
        // `max` is guest-sized: reserve no more than a modest batch up front.
        let mut out = Vec::with_capacity(max.min(256));
        let dots = [(0, ".", self.ino), (1, "..", dir.parent)];
        let wanted = dots.into_iter().filter(|(seq, _, _)| *seq >= cookie);
        for (seq, name, ino) in wanted.chain(dir.entries_from(cookie.max(FIRST_SEQ))) {
            if out.len() >= max {
                break;
            }
            // Every entry's inode exists (names keep inodes alive); Unknown only defends a
            // broken invariant from becoming a panic.
            let filetype = st.get(ino).map_or(FileType::Unknown, |i| i.filetype());
            out.push(DirEntry {
                next_cookie: seq.saturating_add(1),
                ino,
                filetype,
                name: name.to_owned(),
            });
        }
        Ok(out)
    }

    fn sync(&self) -> FsResult<()> {
        // Nothing is buffered: every operation is complete when its critical section ends.
        Ok(())
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}
