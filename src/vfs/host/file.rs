//! `File` for the host backend: one held host fd, positional I/O only (positions live in the
//! descriptor table). A handle from `lookup` is an `O_PATH` fd (stat and set_times only); one
//! from `open_file` is readable, and writable if opened for writing. No mount permissions
//! here: a read-only mount hands out `read_only()`'s file wrapper, never this one bare.

use std::any::Any;
use std::ops::Range;
use std::os::fd::OwnedFd;

use rustix::fs::{self as rfs, SeekFrom};
use rustix::io::Errno;

use super::{filestat, fs_err, timestamps};
use crate::vfs::host_shared::{APPEND_LOCK, MAX_FILE_SIZE, can_write, end_of};
use crate::vfs::{File, Filestat, FsError, FsResult, SetTime};

/// An open object of a confined host mount.
pub struct HostFile {
    fd: OwnedFd,
    /// Opened for writing (`O_RDWR`); otherwise writes answer `Access` (the descriptor layer
    /// never routes a write to such a handle: its rights forbid it).
    writable: bool,
}

impl std::fmt::Debug for HostFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostFile")
            .field("writable", &self.writable)
            .finish_non_exhaustive()
    }
}

impl HostFile {
    pub(super) fn new(fd: OwnedFd, writable: bool) -> HostFile {
        HostFile { fd, writable }
    }

    fn size(&self) -> FsResult<u64> {
        Ok(self.stat()?.size)
    }

    /// `offset..size` as one run of data (or `None` at or past the end): what `data_extent`
    /// answers when the host cannot tell holes from data.
    fn everything_from(&self, offset: u64) -> FsResult<Option<Range<u64>>> {
        let size = self.size()?;
        Ok((offset < size).then_some(offset..size))
    }
}

/// lseek, retried on EINTR.
fn seek_loop(fd: &OwnedFd, pos: SeekFrom) -> Result<u64, Errno> {
    loop {
        match rfs::seek(fd, pos) {
            Err(Errno::INTR) => continue,
            other => return other,
        }
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
        can_write(self.writable)?;
        if buf.is_empty() {
            return Ok(0);
        }
        end_of(offset, buf.len() as u64)?;
        // A write past the end leaves a hole: the host filesystem keeps it sparse.
        loop {
            match rustix::io::pwrite(&self.fd, buf, offset) {
                Err(rustix::io::Errno::INTR) => continue,
                other => return other.map_err(fs_err),
            }
        }
    }

    fn append(&self, buf: &[u8]) -> FsResult<(usize, u64)> {
        can_write(self.writable)?;
        let _guard = APPEND_LOCK.lock().unwrap_or_else(|e| e.into_inner());
        let end = self.size()?;
        let n = self.write_at(buf, end)?;
        Ok((n, end.saturating_add(n as u64)))
    }

    fn stat(&self) -> FsResult<Filestat> {
        // fstat of the held fd: the object we opened, even if its name now means another.
        rfs::fstat(&self.fd).map(|st| filestat(&st)).map_err(fs_err)
    }

    fn set_size(&self, size: u64) -> FsResult<()> {
        can_write(self.writable)?;
        // Past off_t the host would say EINVAL; FileTooBig is what the memory backend says.
        end_of(size, 0)?;
        rfs::ftruncate(&self.fd, size).map_err(fs_err)
    }

    fn set_times(&self, atime: SetTime, mtime: SetTime) -> FsResult<()> {
        // Times need no write handle (the host checks ownership): an `O_PATH` handle from a
        // lookup may set them, as futimens on the path would.
        let times = timestamps(atime, mtime)?;
        super::set_fd_times(&self.fd, &times)
    }

    fn allocate(&self, offset: u64, len: u64) -> FsResult<()> {
        can_write(self.writable)?;
        let end = end_of(offset, len)?;
        // Under the append lock: a concurrent append must not be cut off by our truncate.
        let _guard = APPEND_LOCK.lock().unwrap_or_else(|e| e.into_inner());
        // Grow sparsely, as the memory backend does, rather than reserve real blocks: a
        // guest must not be able to fill the host disk with one call.
        if self.size()? < end {
            rfs::ftruncate(&self.fd, end).map_err(fs_err)?;
        }
        Ok(())
    }

    fn data_extent(&self, offset: u64) -> FsResult<Option<Range<u64>>> {
        if offset >= MAX_FILE_SIZE {
            return Ok(None);
        }
        // The host's own map of the file: ENXIO means no data at or after `offset`. A
        // filesystem that cannot tell refuses SEEK_DATA (EINVAL, ENOTSUP): then everything is
        // data, as the trait's default says. Seeking moves this fd's offset, which nothing
        // uses (all I/O here is positional).
        let start = match seek_loop(&self.fd, SeekFrom::Data(offset)) {
            Ok(start) => start,
            Err(Errno::NXIO) => return Ok(None),
            Err(Errno::INVAL | Errno::OPNOTSUPP) => return self.everything_from(offset),
            // An O_PATH handle cannot seek, as it cannot read.
            Err(Errno::BADF) => return Err(FsError::Access),
            Err(e) => return Err(fs_err(e)),
        };
        // Every file ends in a hole, so SEEK_HOLE finds one unless the file shrank meanwhile.
        let end = match seek_loop(&self.fd, SeekFrom::Hole(start)) {
            Ok(end) => end,
            Err(Errno::NXIO) => return Ok(None),
            Err(e) => return Err(fs_err(e)),
        };
        // The host answered about a file that may be changing under us: keep only an answer
        // that is a non-empty run at or after `offset`, else fall back to "all data".
        if start < offset || end <= start {
            return self.everything_from(offset);
        }
        Ok(Some(start..end))
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

// In this file rather than `tests.rs`: the extent map is the only part of the host backend
// this change touched.
#[cfg(test)]
mod extent_tests {
    use std::os::unix::fs::FileExt;

    use crate::vfs::{Dir, FsError, HostDir, Node, OpenOptions};

    #[test]
    fn data_extents_are_the_hosts_and_skip_holes() {
        const GIB: u64 = 1 << 30;
        let tmp = tempfile::tempdir().unwrap();
        let f = std::fs::File::create(tmp.path().join("sparse")).unwrap();
        f.set_len(4 * GIB).unwrap();
        f.write_all_at(&[1u8; 4096], 2 * GIB).unwrap();
        std::fs::write(tmp.path().join("empty"), "").unwrap();
        let dir = HostDir::open(tmp.path()).unwrap();
        let file = dir.open_file("sparse", OpenOptions::default()).unwrap();
        // The filesystem may round the run out to its blocks, never shrink it or start it in
        // the leading hole.
        let run = file.data_extent(0).unwrap().unwrap();
        if run == (0..4 * GIB) {
            eprintln!("this filesystem does not tell holes from data: nothing to check");
            return;
        }
        assert!(run.start <= 2 * GIB && run.start > GIB, "{run:?}");
        assert!(run.end >= 2 * GIB + 4096 && run.end < 3 * GIB, "{run:?}");
        assert_eq!(file.data_extent(run.end).unwrap(), None);
        assert_eq!(file.data_extent(u64::MAX).unwrap(), None);
        let empty = dir.open_file("empty", OpenOptions::default()).unwrap();
        assert_eq!(empty.data_extent(0).unwrap(), None);
        // A handle from a lookup (O_PATH) cannot read, so it cannot map data either.
        let Node::File(path_only) = dir.lookup("sparse").unwrap() else {
            panic!("not a file")
        };
        assert_eq!(path_only.data_extent(0), Err(FsError::Access));
    }
}
