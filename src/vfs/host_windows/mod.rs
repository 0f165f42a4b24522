//! The confined host-directory backend on Windows: the same `Dir` / `File` semantics as the
//! Unix one (`vfs/host/`), over directory handles we hold. Every access is one `NtCreateFile`
//! of a single name relative to such a handle (`nt.rs`), never a joined path and never
//! through a reparse point. On top of the shared name rule (`names::check_name`), names that
//! Windows cannot hold or would read as something else are refused
//! (`names::check_windows_name`), and a name must be the entry's own name exactly: a case
//! variant or an 8.3 short name of an existing entry is not that entry (RATIONALE.md,
//! "Windows"). Errors leave here as `FsError`, mapped in `fs_status` / `fs_io`.

// Windows has no safe binding for these calls (no rustix there): each `unsafe` block says
// why it is sound. The crate denies unsafe code everywhere else.
#![allow(unsafe_code)]

mod dir;
mod file;
mod nt;
#[cfg(test)]
mod tests;

use std::os::windows::io::{AsRawHandle, BorrowedHandle};

use windows_sys::Win32::Foundation::{FILETIME, HANDLE};
use windows_sys::Win32::Storage::FileSystem::{
    BY_HANDLE_FILE_INFORMATION, FILE_ATTRIBUTE_DEVICE, FILE_ATTRIBUTE_DIRECTORY,
    FILE_ATTRIBUTE_REPARSE_POINT, FILE_ATTRIBUTE_TAG_INFO, FILE_BASIC_INFO, FileAttributeTagInfo,
    FileBasicInfo, GetFileInformationByHandle, GetFileInformationByHandleEx, SetFileTime,
};

use super::{FileType, Filestat, FsError, FsResult, SetTime};
pub use dir::{HostDir, RETIRED_PREFIX};

/// NTSTATUS → the backend error set; the one place NT statuses are interpreted. Anything
/// unexpected becomes `Io` (EIO) with the status for the logs.
fn fs_status(status: nt::Status) -> FsError {
    match status.0 as u32 {
        // Object name not found, path not found, no such file; delete pending (the name is
        // on its way out: gone, as on POSIX).
        0xC000_0034 | 0xC000_003A | 0xC000_000F | 0xC000_0056 => FsError::NotFound,
        0xC000_0035 => FsError::Exists,
        0xC000_0103 => FsError::NotDir,
        0xC000_00BA => FsError::IsDir,
        0xC000_0101 => FsError::NotEmpty,
        // Access denied; cannot delete (read-only attribute).
        0xC000_0022 | 0xC000_0121 => FsError::Access,
        0xC000_0043 => FsError::Busy,
        0xC000_0033 | 0xC000_000D => FsError::Invalid,
        0xC000_00D4 => FsError::CrossDevice,
        0xC000_007F => FsError::NoSpace,
        0xC000_0044 => FsError::Quota,
        0xC000_0106 => FsError::NameTooLong,
        0xC000_0061 => FsError::NotPermitted,
        0xC000_00A2 => FsError::ReadOnly,
        0xC000_00BB | 0xC000_0002 | 0xC000_0010 => FsError::NotSupported,
        // Stopped on a symlink: only a reparse point we did not open as itself says this.
        0x8000_002D => FsError::Loop,
        other => FsError::Io(format!("host status 0x{other:08x}")),
    }
}

/// A Win32 error from std's file calls (read, write, set_len) → the backend error set.
fn fs_io(error: std::io::Error) -> FsError {
    match error.raw_os_error().map(|c| c as u32) {
        Some(2 | 3) => FsError::NotFound,
        Some(5) => FsError::Access,
        Some(32 | 33) => FsError::Busy,
        Some(39 | 112) => FsError::NoSpace,
        Some(50) => FsError::NotSupported,
        Some(87) => FsError::Invalid,
        Some(223) => FsError::FileTooBig,
        _ => FsError::Io(format!("host error: {error}")),
    }
}

fn raw(handle: BorrowedHandle<'_>) -> HANDLE {
    handle.as_raw_handle() as HANDLE
}

/// Whether a reparse tag names another object (symlink, junction, mount point): such a
/// point is a link to us, never followed. Other reparse points (cloud files, dedup) are not.
fn is_name_surrogate(tag: u32) -> bool {
    tag & 0x2000_0000 != 0
}

/// The guest-visible type of an object from its attributes (and reparse tag).
fn filetype(attributes: u32, reparse_tag: u32) -> FileType {
    if attributes & FILE_ATTRIBUTE_REPARSE_POINT != 0 {
        return if is_name_surrogate(reparse_tag) {
            FileType::Symlink
        } else {
            FileType::Unknown
        };
    }
    if attributes & FILE_ATTRIBUTE_DIRECTORY != 0 {
        FileType::Directory
    } else if attributes & FILE_ATTRIBUTE_DEVICE != 0 {
        FileType::Unknown
    } else {
        FileType::RegularFile
    }
}

/// 100 ns ticks since 1601 (FILETIME) → nanoseconds since the Unix epoch, 0 before it.
fn unix_nanos(ticks: i64) -> u64 {
    const UNIX_EPOCH_TICKS: i64 = 116_444_736_000_000_000;
    u64::try_from(ticks.saturating_sub(UNIX_EPOCH_TICKS))
        .unwrap_or(0)
        .saturating_mul(100)
}

/// Nanoseconds since the Unix epoch → FILETIME. Errors: Overflow past what FILETIME holds
/// (all-ones values mean "stop updating" to Windows and are refused too).
fn filetime(nanos: u64) -> FsResult<FILETIME> {
    const UNIX_EPOCH_TICKS: u64 = 116_444_736_000_000_000;
    let ticks = (nanos / 100)
        .checked_add(UNIX_EPOCH_TICKS)
        .filter(|t| *t < 0x7FFF_FFFF_FFFF_FFFF)
        .ok_or(FsError::Overflow)?;
    Ok(FILETIME {
        dwLowDateTime: ticks as u32,
        dwHighDateTime: (ticks >> 32) as u32,
    })
}

/// What the object behind `handle` is: its id, type, size and times, as `fstat` gives them.
fn filestat(handle: BorrowedHandle<'_>) -> FsResult<Filestat> {
    // SAFETY: all-zero is valid for these plain C structs; each call gets its own size.
    let mut info: BY_HANDLE_FILE_INFORMATION = unsafe { std::mem::zeroed() };
    let mut basic: FILE_BASIC_INFO = unsafe { std::mem::zeroed() };
    // SAFETY: valid handle, out-pointers to live locals of the right size.
    let ok = unsafe { GetFileInformationByHandle(raw(handle), &mut info) } != 0
        && unsafe {
            GetFileInformationByHandleEx(
                raw(handle),
                FileBasicInfo,
                (&mut basic as *mut FILE_BASIC_INFO).cast(),
                std::mem::size_of::<FILE_BASIC_INFO>() as u32,
            )
        } != 0;
    if !ok {
        return Err(fs_io(std::io::Error::last_os_error()));
    }
    let mut tag = 0;
    if info.dwFileAttributes & FILE_ATTRIBUTE_REPARSE_POINT != 0 {
        // SAFETY: as above.
        let mut tag_info: FILE_ATTRIBUTE_TAG_INFO = unsafe { std::mem::zeroed() };
        let ok = unsafe {
            GetFileInformationByHandleEx(
                raw(handle),
                FileAttributeTagInfo,
                (&mut tag_info as *mut FILE_ATTRIBUTE_TAG_INFO).cast(),
                std::mem::size_of::<FILE_ATTRIBUTE_TAG_INFO>() as u32,
            )
        } != 0;
        if ok {
            tag = tag_info.ReparseTag;
        }
    }
    Ok(Filestat {
        dev: u64::from(info.dwVolumeSerialNumber),
        ino: u64::from(info.nFileIndexHigh) << 32 | u64::from(info.nFileIndexLow),
        filetype: filetype(info.dwFileAttributes, tag),
        nlink: u64::from(info.nNumberOfLinks),
        size: u64::from(info.nFileSizeHigh) << 32 | u64::from(info.nFileSizeLow),
        atim: unix_nanos(basic.LastAccessTime),
        mtim: unix_nanos(basic.LastWriteTime),
        ctim: unix_nanos(basic.ChangeTime),
    })
}

/// Sets the access and modification times of the object behind `handle` (opened with
/// FILE_WRITE_ATTRIBUTES); `Keep` passes no time, so Windows leaves it.
fn set_times(handle: BorrowedHandle<'_>, atime: SetTime, mtime: SetTime) -> FsResult<()> {
    let now = || crate::clock::TimeSource::now(&crate::clock::HostTime);
    let one = |t: SetTime| -> FsResult<Option<FILETIME>> {
        Ok(match t {
            SetTime::Keep => None,
            SetTime::Now => Some(filetime(now())?),
            SetTime::At(ns) => Some(filetime(ns)?),
        })
    };
    let (a, m) = (one(atime)?, one(mtime)?);
    let ptr = |t: &Option<FILETIME>| {
        t.as_ref()
            .map_or(std::ptr::null(), |t| t as *const FILETIME)
    };
    // SAFETY: valid handle; each pointer is null or to a live local.
    let ok = unsafe { SetFileTime(raw(handle), std::ptr::null(), ptr(&a), ptr(&m)) } != 0;
    if ok {
        Ok(())
    } else {
        Err(fs_io(std::io::Error::last_os_error()))
    }
}
