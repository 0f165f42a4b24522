//! `File` for the host backend: one held host fd, positional I/O only (positions live in the
//! descriptor table). A handle from `lookup` is an `O_PATH` fd (stat and set_times only); one
//! from `open_file` is readable, and writable if opened for writing. A read-only mount refuses
//! every mutation here before any host call, whatever the handle.

use std::any::Any;
use std::os::fd::OwnedFd;
use std::sync::Mutex;

use rustix::fs::{self as rfs, AtFlags};

use super::{MAX_FILE_SIZE, Perms, filestat, fs_err, timestamps};
use crate::vfs::{File, Filestat, FsError, FsResult, SetTime};

/// Serialises `append` across every host file of the process: finding the end (fstat) and
/// writing there must not interleave with another of our appends. We do not open with
/// `O_APPEND` because Linux then ignores the offset of every `pwrite` on that fd, which would
/// break `write_at` on descriptors that share the file. Appends by *other host processes* can
/// still interleave; a confined guest cannot rely on more than that anyway.
static APPEND_LOCK: Mutex<()> = Mutex::new(());

/// An open object of a confined host mount.
pub struct HostFile {
    fd: OwnedFd,
    perms: Perms,
    /// Opened for writing (`O_RDWR`); otherwise writes answer `Access` (the descriptor layer
    /// never routes a write to such a handle: its rights forbid it).
    writable: bool,
}

impl std::fmt::Debug for HostFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostFile")
            .field("perms", &self.perms)
            .field("writable", &self.writable)
            .finish_non_exhaustive()
    }
}

impl HostFile {
    pub(super) fn new(fd: OwnedFd, perms: Perms, writable: bool) -> HostFile {
        HostFile {
            fd,
            perms,
            writable,
        }
    }

    /// The mount check, then the handle check: ReadOnly first, as for every mutation.
    fn can_write(&self) -> FsResult<()> {
        if self.perms.read_only {
            Err(FsError::ReadOnly)
        } else if !self.writable {
            Err(FsError::Access)
        } else {
            Ok(())
        }
    }

    /// `offset + len` if it stays within the largest host file size. Errors: FileTooBig.
    fn end_of(offset: u64, len: u64) -> FsResult<u64> {
        match offset.checked_add(len) {
            Some(end) if end <= MAX_FILE_SIZE => Ok(end),
            _ => Err(FsError::FileTooBig),
        }
    }

    fn size(&self) -> FsResult<u64> {
        Ok(self.stat()?.size)
    }
}

impl File for HostFile {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> FsResult<usize> {
        // The host refuses offsets past off_t; the memory backend reads nothing there.
        if buf.is_empty() || offset > MAX_FILE_SIZE {
            return Ok(0);
        }
        loop {
            match rustix::io::pread(&self.fd, &mut *buf, offset) {
                Err(rustix::io::Errno::INTR) => continue,
                // An O_PATH handle cannot read: the host denied us an open for reading.
                Err(rustix::io::Errno::BADF) => return Err(FsError::Access),
                other => return other.map_err(fs_err),
            }
        }
    }

    fn write_at(&self, buf: &[u8], offset: u64) -> FsResult<usize> {
        self.can_write()?;
        if buf.is_empty() {
            return Ok(0);
        }
        Self::end_of(offset, buf.len() as u64)?;
        // A write past the end leaves a hole: the host filesystem keeps it sparse.
        loop {
            match rustix::io::pwrite(&self.fd, buf, offset) {
                Err(rustix::io::Errno::INTR) => continue,
                other => return other.map_err(fs_err),
            }
        }
    }

    fn append(&self, buf: &[u8]) -> FsResult<(usize, u64)> {
        self.can_write()?;
        let _guard = APPEND_LOCK.lock().unwrap_or_else(|e| e.into_inner());
        let end = self.size()?;
        let n = self.write_at(buf, end)?;
        Ok((n, end.saturating_add(n as u64)))
    }

    fn stat(&self) -> FsResult<Filestat> {
        rfs::fstat(&self.fd).map(|st| filestat(&st)).map_err(fs_err)
    }

    fn set_size(&self, size: u64) -> FsResult<()> {
        self.can_write()?;
        Self::end_of(size, 0)?;
        rfs::ftruncate(&self.fd, size).map_err(fs_err)
    }

    fn set_times(&self, atime: SetTime, mtime: SetTime) -> FsResult<()> {
        // Times need no write handle (the host checks ownership), only a writable mount.
        if self.perms.read_only {
            return Err(FsError::ReadOnly);
        }
        let times = timestamps(atime, mtime)?;
        // AT_EMPTY_PATH: works on O_PATH handles too, where futimens answers EBADF.
        rfs::utimensat(&self.fd, "", &times, AtFlags::EMPTY_PATH).map_err(fs_err)
    }

    fn allocate(&self, offset: u64, len: u64) -> FsResult<()> {
        self.can_write()?;
        let end = Self::end_of(offset, len)?;
        // Under the append lock: a concurrent append must not be cut off by our truncate.
        let _guard = APPEND_LOCK.lock().unwrap_or_else(|e| e.into_inner());
        // Grow sparsely, as the memory backend does, rather than reserve real blocks: a
        // guest must not be able to fill the host disk with one call.
        if self.size()? < end {
            rfs::ftruncate(&self.fd, end).map_err(fs_err)?;
        }
        Ok(())
    }

    fn sync(&self) -> FsResult<()> {
        match rfs::fsync(&self.fd) {
            // An O_PATH handle has no data of ours to flush.
            Ok(()) | Err(rustix::io::Errno::BADF) => Ok(()),
            Err(e) => Err(fs_err(e)),
        }
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}
