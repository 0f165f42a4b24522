//! `File` for the Windows host backend: one held handle, positional I/O only (positions live
//! in the descriptor table). A handle from `lookup` carries attribute rights only (stat and
//! set_times), one from `open_file` reads, and writes if opened for writing. No mount
//! permissions here: a read-only mount hands out `read_only()`'s wrapper, never this bare.
//! Also the reading of a link's target, the one other thing done on a held handle.

// Windows has no safe binding for these calls (no rustix there): each `unsafe` block says
// why it is sound. The crate denies unsafe code everywhere else.
#![allow(unsafe_code)]

use std::any::Any;
use std::os::windows::fs::FileExt;
use std::os::windows::io::{AsHandle, BorrowedHandle, OwnedHandle};

use windows_sys::Win32::System::IO::DeviceIoControl;
use windows_sys::Win32::System::Ioctl::FSCTL_GET_REPARSE_POINT;
use windows_sys::Win32::System::SystemServices::{
    IO_REPARSE_TAG_MOUNT_POINT, IO_REPARSE_TAG_SYMLINK,
};

use super::{filestat, fs_io, raw, set_times};
use crate::vfs::host_shared::{APPEND_LOCK, MAX_FILE_SIZE, can_write, end_of};
use crate::vfs::{File, Filestat, FsError, FsResult, SetTime};

/// An open object of a confined host mount.
pub struct HostFile {
    file: std::fs::File,
    /// Opened for writing; otherwise writes answer `Access` before the host is asked.
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
    pub(super) fn new(handle: OwnedHandle, writable: bool) -> HostFile {
        HostFile {
            file: std::fs::File::from(handle),
            writable,
        }
    }

    /// The same handle, writable for the guest or not (a handle opened with write rights
    /// only to truncate stays read-only to it).
    pub(super) fn writable(mut self, writable: bool) -> HostFile {
        self.writable = writable;
        self
    }

    fn size(&self) -> FsResult<u64> {
        Ok(self.stat()?.size)
    }
}

/// Whether the object's current name is a retired one (`dir.rs`, `RETIRED_PREFIX`).
fn retired(handle: BorrowedHandle<'_>) -> bool {
    let Ok(path) = super::nt::final_path(handle) else {
        return false;
    };
    let name = match path.iter().rposition(|&u| u == u16::from(b'\\')) {
        Some(at) => &path[at + 1..],
        None => &path[..],
    };
    let prefix: Vec<u16> = super::RETIRED_PREFIX.encode_utf16().collect();
    name.starts_with(&prefix)
}

impl File for HostFile {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> FsResult<usize> {
        if buf.is_empty() || offset > MAX_FILE_SIZE {
            return Ok(0);
        }
        loop {
            match self.file.seek_read(buf, offset) {
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                // End of file: std answers 0 for ERROR_HANDLE_EOF already; kept explicit.
                Err(e) if e.raw_os_error() == Some(38) => return Ok(0),
                other => return other.map_err(fs_io),
            }
        }
    }

    fn write_at(&self, buf: &[u8], offset: u64) -> FsResult<usize> {
        can_write(self.writable)?;
        if buf.is_empty() {
            return Ok(0);
        }
        end_of(offset, buf.len() as u64)?;
        loop {
            match self.file.seek_write(buf, offset) {
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                other => return other.map_err(fs_io),
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
        let mut st = filestat(self.file.as_handle())?;
        // An unlinked file that waits under a retired name (no POSIX delete here) has lost
        // the guest's name for it: POSIX counts that link gone.
        if st.nlink > 0 && retired(self.file.as_handle()) {
            st.nlink -= 1;
        }
        Ok(st)
    }

    fn set_size(&self, size: u64) -> FsResult<()> {
        can_write(self.writable)?;
        end_of(size, 0)?;
        self.file.set_len(size).map_err(fs_io)
    }

    fn set_times(&self, atime: SetTime, mtime: SetTime) -> FsResult<()> {
        set_times(self.file.as_handle(), atime, mtime)
    }

    fn allocate(&self, offset: u64, len: u64) -> FsResult<()> {
        can_write(self.writable)?;
        let end = end_of(offset, len)?;
        let _guard = APPEND_LOCK.lock().unwrap_or_else(|e| e.into_inner());
        // Grown by its end of file, never by reserving blocks (a guest must not fill the
        // disk with one call). NTFS files are not sparse unless marked: the zeros are real.
        if self.size()? < end {
            self.file.set_len(end).map_err(fs_io)?;
        }
        Ok(())
    }

    fn sync(&self) -> FsResult<()> {
        match self.file.sync_all() {
            // A handle without write rights has nothing of ours to flush.
            Err(e) if e.raw_os_error() == Some(5) => Ok(()),
            other => other.map_err(fs_io),
        }
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// The target of the link opened (as itself) as `handle`, from its reparse data: a relative
/// symlink's target with `/` separators; anything absolute (an absolute symlink, a junction,
/// a mount point) as `/` + its path, which the resolver never follows. Errors: Invalid (not
/// a link), IllegalSequence (not Unicode), Io (a malformed buffer).
pub(super) fn reparse_target(handle: BorrowedHandle<'_>) -> FsResult<String> {
    // MAXIMUM_REPARSE_DATA_BUFFER_SIZE, in u32 words for alignment.
    let mut buffer = vec![0u32; 16 * 1024 / 4];
    let mut returned = 0u32;
    // SAFETY: valid handle; the out buffer and its length match; no overlapped I/O.
    let ok = unsafe {
        DeviceIoControl(
            raw(handle),
            FSCTL_GET_REPARSE_POINT,
            std::ptr::null(),
            0,
            buffer.as_mut_ptr().cast(),
            (buffer.len() * 4) as u32,
            &mut returned,
            std::ptr::null_mut(),
        )
    } != 0;
    if !ok {
        return Err(fs_io(std::io::Error::last_os_error()));
    }
    // SAFETY: `returned` bytes (at most the buffer's) were written by the OS.
    let bytes = unsafe {
        std::slice::from_raw_parts(
            buffer.as_ptr().cast::<u8>(),
            (returned as usize).min(buffer.len() * 4),
        )
    };
    let u16_at = |at: usize| -> FsResult<usize> {
        let b = bytes
            .get(at..at + 2)
            .ok_or(FsError::Io("short reparse data".into()))?;
        Ok(usize::from(u16::from_le_bytes([b[0], b[1]])))
    };
    let tag = bytes
        .get(0..4)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .ok_or(FsError::Io("short reparse data".into()))?;
    // Header: tag, data length, reserved; then substitute and print name (offset, length).
    let (names_at, relative) = match tag {
        IO_REPARSE_TAG_SYMLINK => {
            let flags = bytes
                .get(16..20)
                .ok_or(FsError::Io("short reparse data".into()))?;
            let flags = u32::from_le_bytes([flags[0], flags[1], flags[2], flags[3]]);
            (
                20,
                flags & windows_sys::Wdk::Storage::FileSystem::SYMLINK_FLAG_RELATIVE != 0,
            )
        }
        IO_REPARSE_TAG_MOUNT_POINT => (16, false),
        _ => return Err(FsError::Invalid),
    };
    let (sub_at, sub_len, print_at, print_len) =
        (u16_at(8)?, u16_at(10)?, u16_at(12)?, u16_at(14)?);
    // The print name is the one meant for people (no `\??\`); the substitute name if none.
    let (at, len) = if print_len > 0 {
        (print_at, print_len)
    } else {
        (sub_at, sub_len)
    };
    let name = bytes
        .get(names_at + at..names_at + at + len)
        .ok_or(FsError::Io("reparse name out of bounds".into()))?;
    let units: Vec<u16> = name
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    let target = String::from_utf16(&units)
        .map_err(|_| FsError::IllegalSequence)?
        .replace('\\', "/");
    Ok(if relative {
        target
    } else {
        format!("/{}", target.trim_start_matches('/'))
    })
}
