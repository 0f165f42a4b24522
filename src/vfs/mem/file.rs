//! `File` for the memory backend: a handle = (filesystem, inode) that keeps the inode alive
//! until dropped, so data stays readable and writable after the last name is unlinked.
//! Each call is one critical section on the arena; positions live in the descriptor table.
//! Growth is charged to the filesystem's budgets (`node::Budget`) before a page is touched:
//! roomy growth (amortised appends) if the budget has room for it, else exact.

use std::any::Any;
use std::sync::Arc;

use super::Inner;
use super::data::{SparseData, end_of};
use super::node::{Budget, Kind};
use crate::vfs::{File, Filestat, FsError, FsResult, SetTime};

/// An open regular file of a [`super::MemFs`].
pub(super) struct MemFile {
    fs: Arc<Inner>,
    ino: u64,
}

impl MemFile {
    /// Wraps an inode whose open count the caller has already raised.
    pub(super) fn new(fs: Arc<Inner>, ino: u64) -> Self {
        MemFile { fs, ino }
    }

    /// Runs a read-only `op` on the contents. A file handle's inode is always a file (inodes
    /// never change kind); Invalid only keeps a broken invariant from becoming a panic.
    fn read<R>(&self, op: impl FnOnce(&SparseData) -> R) -> FsResult<R> {
        let st = self.fs.lock();
        match &st.get(self.ino)?.kind {
            Kind::File(data) => Ok(op(data)),
            Kind::Dir(_) | Kind::Symlink(_) => Err(FsError::Invalid),
        }
    }

    /// Runs a mutating `op` on the contents, which checks its cost against `Budget` before
    /// changing anything; on success stamps mtime and ctime and carries the change in stored
    /// and charged bytes into the filesystem's totals.
    fn modify<R>(&self, op: impl FnOnce(&mut SparseData, Budget) -> FsResult<R>) -> FsResult<R> {
        let mut guard = self.fs.lock();
        let st = &mut *guard;
        let (budget, now) = (st.budget(), st.now());
        let inode = st.inodes.get_mut(&self.ino).ok_or(FsError::NotFound)?;
        let Kind::File(data) = &mut inode.kind else {
            return Err(FsError::Invalid);
        };
        // The `?` returns before any stamp or total changes: `op` refused before it changed
        // the data (its contract), so a refused write leaves the file exactly as it was.
        let before = data.cost();
        let result = op(data, budget)?;
        let after = data.cost();
        inode.mtim = now;
        inode.ctim = now;
        st.recharge(before, after);
        Ok(result)
    }
}

/// pwrite with the budgets charged first: EFBIG past the largest file size, ENOSPC past the
/// byte budget. Room for later appends is taken only while the budget has it, so a guest can
/// fill its budget exactly. All or nothing: a refused write stores no byte.
fn charged_write(
    data: &mut SparseData,
    budget: Budget,
    buf: &[u8],
    offset: u64,
) -> FsResult<usize> {
    let end = end_of(offset, buf.len() as u64)?;
    budget.size(end)?;
    let len = buf.len() as u64;
    // Roomy growth keeps appends amortised O(1); exact growth is the fallback that lets the
    // last bytes of a budget be used at all.
    let roomy = budget.bytes(data.growth(offset, len, true)).is_ok();
    if !roomy {
        budget.bytes(data.growth(offset, len, false))?;
    }
    data.write_at(buf, offset, roomy)
}

/// The stored regions of `file`, (offset, length) in order, if it is a `MemFs` file (what a
/// sparse image stores; the gaps are holes); `None` for any other backend's file.
pub(crate) fn regions(file: &dyn File) -> Option<Vec<(u64, u64)>> {
    let mem = file.as_any().downcast_ref::<MemFile>()?;
    mem.read(SparseData::regions).ok()
}

impl Drop for MemFile {
    /// Gives the open count back; the last handle of an unlinked file frees its data here.
    fn drop(&mut self) {
        self.fs.release(self.ino);
    }
}

impl File for MemFile {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> FsResult<usize> {
        // No lock for nothing: an empty read is answered without contention.
        if buf.is_empty() {
            return Ok(0);
        }
        // Reads change no time: atime is not kept (as on a `noatime` mount), so a read never
        // needs the arena mutably and a tree's times change only when the guest changes it.
        self.read(|data| data.read_at(buf, offset))
    }

    fn write_at(&self, buf: &[u8], offset: u64) -> FsResult<usize> {
        // A zero-length write changes nothing, not even the times (as Linux).
        if buf.is_empty() {
            return Ok(0);
        }
        self.modify(|data, budget| charged_write(data, budget, buf, offset))
    }

    fn append(&self, buf: &[u8]) -> FsResult<(usize, u64)> {
        if buf.is_empty() {
            return self.read(|data| (0, data.size()));
        }
        // Reading the end and writing there happen in one critical section: atomic O_APPEND.
        self.modify(|data, budget| {
            let n = charged_write(data, budget, buf, data.size())?;
            Ok((n, data.size()))
        })
    }

    fn stat(&self) -> FsResult<Filestat> {
        let st = self.fs.lock();
        Ok(st.get(self.ino)?.stat(self.fs.dev(), self.ino))
    }

    fn set_size(&self, size: u64) -> FsResult<()> {
        // Growing is free (the new tail is a sparse gap); only the size is budgeted.
        self.modify(|data, budget| {
            budget.size(size)?;
            data.set_size(size)
        })
    }

    fn set_times(&self, atime: SetTime, mtime: SetTime) -> FsResult<()> {
        // No write-handle check: the descriptor layer checked the right to set times, and
        // the owner may set them through any descriptor on Linux, read-only ones included.
        let mut st = self.fs.lock();
        let now = st.now();
        st.get_mut(self.ino)?.set_times(atime, mtime, now);
        Ok(())
    }

    fn allocate(&self, offset: u64, len: u64) -> FsResult<()> {
        let end = end_of(offset, len)?;
        let mut st = self.fs.lock();
        let (budget, now) = (st.budget(), st.now());
        let inode = st.get_mut(self.ino)?;
        let Kind::File(data) = &mut inode.kind else {
            return Err(FsError::Invalid);
        };
        // Growing is free for sparse files (only the size is budgeted); a file already long
        // enough is left untouched.
        if data.size() < end {
            budget.size(end)?;
            data.set_size(end)?;
            inode.mtim = now;
            inode.ctim = now;
        }
        Ok(())
    }

    fn sync(&self) -> FsResult<()> {
        // Nothing to flush: a write is complete when its critical section ends.
        Ok(())
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}
