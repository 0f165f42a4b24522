//! The few NT calls the Windows backend is made of, each relative to a directory handle we
//! hold: `NtCreateFile` with that handle as `RootDirectory` and one name (never a joined
//! path, never a Win32 path conversion: no `\\?\`, no device names, no stripping of trailing
//! dots), always with `FILE_OPEN_REPARSE_POINT` so the OS follows no symlink, junction or
//! mount point; `NtQueryDirectoryFile` for names; `NtSetInformationFile` for rename, link
//! and delete. Every buffer the OS fills is parsed with its length checked.

// Windows has no safe binding for these calls (no rustix there): each `unsafe` block says
// why it is sound. The crate denies unsafe code everywhere else.
#![allow(unsafe_code)]

use std::os::windows::io::{AsHandle, AsRawHandle, BorrowedHandle, FromRawHandle, OwnedHandle};

use windows_sys::Wdk::Foundation::OBJECT_ATTRIBUTES;
use windows_sys::Wdk::Storage::FileSystem::{
    FILE_DIRECTORY_FILE, FILE_ID_FULL_DIR_INFORMATION, FILE_OPEN, FILE_OPEN_REPARSE_POINT,
    FILE_SYNCHRONOUS_IO_NONALERT, FileDispositionInformation, FileDispositionInformationEx,
    FileIdFullDirectoryInformation, FileLinkInformation, FileRenameInformation,
    FileRenameInformationEx, NtCreateFile, NtQueryDirectoryFile, NtSetInformationFile,
};
use windows_sys::Win32::Foundation::{
    HANDLE, NTSTATUS, STATUS_NO_MORE_FILES, STATUS_NO_SUCH_FILE, UNICODE_STRING,
};
use windows_sys::Win32::Storage::FileSystem::{
    FILE_DISPOSITION_FLAG_DELETE, FILE_DISPOSITION_FLAG_IGNORE_READONLY_ATTRIBUTE,
    FILE_DISPOSITION_FLAG_POSIX_SEMANTICS, FILE_LIST_DIRECTORY, FILE_SHARE_DELETE, FILE_SHARE_READ,
    FILE_SHARE_WRITE, GetFinalPathNameByHandleW, SYNCHRONIZE,
};
use windows_sys::Win32::System::IO::IO_STATUS_BLOCK;
use windows_sys::Win32::System::WindowsProgramming::{
    FILE_RENAME_FLAG_POSIX_SEMANTICS, FILE_RENAME_FLAG_REPLACE_IF_EXISTS,
};

/// An NTSTATUS that is not success, kept as the OS gave it (mapped in `fs_status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Status(pub(super) NTSTATUS);

/// Statuses that say "this information class is not known here" (older Windows, Wine):
/// the caller falls back to the older class.
const STATUS_INVALID_INFO_CLASS: NTSTATUS = 0xC000_0003_u32 as i32;
const STATUS_INVALID_PARAMETER: NTSTATUS = 0xC000_000D_u32 as i32;
const STATUS_NOT_IMPLEMENTED: NTSTATUS = 0xC000_0002_u32 as i32;
const STATUS_NOT_SUPPORTED: NTSTATUS = 0xC000_00BB_u32 as i32;

pub(super) fn unknown_class(status: NTSTATUS) -> bool {
    matches!(
        status,
        STATUS_INVALID_INFO_CLASS
            | STATUS_INVALID_PARAMETER
            | STATUS_NOT_IMPLEMENTED
            | STATUS_NOT_SUPPORTED
    )
}

fn check(status: NTSTATUS) -> Result<(), Status> {
    if status >= 0 {
        Ok(())
    } else {
        Err(Status(status))
    }
}

fn raw(handle: BorrowedHandle<'_>) -> HANDLE {
    handle.as_raw_handle() as HANDLE
}

fn io_status() -> IO_STATUS_BLOCK {
    // SAFETY: a plain C struct for which all-zero is a valid value.
    unsafe { std::mem::zeroed() }
}

/// A name as UTF-16, the unit every NT name is counted in.
pub(super) fn wide(name: &str) -> Vec<u16> {
    name.encode_utf16().collect()
}

/// What an open asks for: access rights, create disposition (`FILE_OPEN`, `FILE_CREATE`...)
/// and create options beyond the ones every open gets.
#[derive(Clone, Copy, Debug)]
pub(super) struct Open {
    pub access: u32,
    pub disposition: u32,
    pub options: u32,
}

/// Opens `name` relative to `dir` (an empty name opens `dir` itself again, with its own
/// position and rights). Synchronous I/O, shared for read, write and delete so that renames
/// and unlinks of open files work as on POSIX, and never through a reparse point.
pub(super) fn open_at(
    dir: BorrowedHandle<'_>,
    name: &str,
    open: Open,
) -> Result<OwnedHandle, Status> {
    let name = wide(name);
    // Names are at most MAX_NAME_LEN bytes of UTF-8, so this fits; refuse rather than wrap.
    let bytes = u16::try_from(name.len() * 2).map_err(|_| Status(STATUS_INVALID_PARAMETER))?;
    let object_name = UNICODE_STRING {
        Length: bytes,
        MaximumLength: bytes,
        Buffer: name.as_ptr() as *mut u16,
    };
    let attributes = OBJECT_ATTRIBUTES {
        Length: std::mem::size_of::<OBJECT_ATTRIBUTES>() as u32,
        RootDirectory: raw(dir),
        ObjectName: &object_name,
        // No OBJ_CASE_INSENSITIVE: where a directory is case-sensitive, so is our open.
        Attributes: 0,
        SecurityDescriptor: std::ptr::null(),
        SecurityQualityOfService: std::ptr::null(),
    };
    let mut handle: HANDLE = std::ptr::null_mut();
    let mut iosb = io_status();
    // SAFETY: every pointer is to a live local; the name buffer outlives the call.
    let status = unsafe {
        NtCreateFile(
            &mut handle,
            open.access | SYNCHRONIZE,
            &attributes,
            &mut iosb,
            std::ptr::null(),
            0,
            FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
            open.disposition,
            open.options | FILE_SYNCHRONOUS_IO_NONALERT | FILE_OPEN_REPARSE_POINT,
            std::ptr::null(),
            0,
        )
    };
    check(status)?;
    // SAFETY: NtCreateFile succeeded, so `handle` is a new handle that we now own.
    Ok(unsafe { OwnedHandle::from_raw_handle(handle as _) })
}

/// One entry of a directory listing.
#[derive(Debug, Clone)]
pub(super) struct Listed {
    /// The name as stored (UTF-16; not always valid Unicode).
    pub name: Vec<u16>,
    pub attributes: u32,
    /// The reparse tag when `attributes` has FILE_ATTRIBUTE_REPARSE_POINT (the listing's
    /// EA-size field carries it then).
    pub reparse_tag: u32,
    /// The file id (NTFS: the MFT reference), 0 where the filesystem has none.
    pub file_id: u64,
}

/// Calls `each` for every entry of `dir` whose name matches `pattern` as NT matches names
/// (case-insensitively, and short 8.3 names too), or for every entry. A fresh handle of the
/// directory is opened for it: NT keeps a pattern and position per handle.
pub(super) fn list(
    dir: BorrowedHandle<'_>,
    pattern: Option<&str>,
    mut each: impl FnMut(Listed),
) -> Result<(), Status> {
    let listing = open_at(
        dir,
        "",
        Open {
            access: FILE_LIST_DIRECTORY,
            disposition: FILE_OPEN,
            options: FILE_DIRECTORY_FILE,
        },
    )?;
    let pattern = pattern.map(wide);
    let pattern_string = pattern.as_ref().map(|p| UNICODE_STRING {
        Length: (p.len() * 2) as u16,
        MaximumLength: (p.len() * 2) as u16,
        Buffer: p.as_ptr() as *mut u16,
    });
    // u64 words: the entries are 8-byte aligned within the buffer.
    let mut buffer = vec![0u64; 8 * 1024];
    let byte_len = (buffer.len() * 8) as u32;
    let name_at = std::mem::offset_of!(FILE_ID_FULL_DIR_INFORMATION, FileName);
    let mut first = true;
    loop {
        let mut iosb = io_status();
        // SAFETY: the buffer and pattern outlive the call; the handle is synchronous, so the
        // call returns when the buffer is filled.
        let status = unsafe {
            NtQueryDirectoryFile(
                raw(listing.as_handle()),
                std::ptr::null_mut(),
                None,
                std::ptr::null(),
                &mut iosb,
                buffer.as_mut_ptr().cast(),
                byte_len,
                FileIdFullDirectoryInformation,
                false,
                pattern_string
                    .as_ref()
                    .map_or(std::ptr::null(), |p| p as *const UNICODE_STRING),
                first,
            )
        };
        first = false;
        if status == STATUS_NO_MORE_FILES || status == STATUS_NO_SUCH_FILE {
            return Ok(());
        }
        check(status)?;
        let filled = iosb.Information.min(byte_len as usize);
        // SAFETY: `filled` bytes of the buffer were written by the OS.
        let bytes = unsafe { std::slice::from_raw_parts(buffer.as_ptr().cast::<u8>(), filled) };
        let mut at = 0usize;
        while let Some(entry) = bytes.get(at..) {
            let word = |offset: usize| -> Option<u32> {
                Some(u32::from_le_bytes(
                    entry.get(offset..offset + 4)?.try_into().ok()?,
                ))
            };
            let next = word(0).unwrap_or(0) as usize;
            let (Some(attributes), Some(name_len), Some(ea), Some(id_low), Some(id_high)) =
                (word(56), word(60), word(64), word(72), word(76))
            else {
                break;
            };
            let name_bytes = entry.get(name_at..name_at + name_len as usize);
            if let Some(name_bytes) = name_bytes {
                let name = name_bytes
                    .chunks_exact(2)
                    .map(|c| u16::from_le_bytes([c[0], c[1]]))
                    .collect();
                each(Listed {
                    name,
                    attributes,
                    reparse_tag: ea,
                    file_id: u64::from(id_high) << 32 | u64::from(id_low),
                });
            }
            if next == 0 {
                break;
            }
            at += next;
        }
    }
}

fn set_information(handle: BorrowedHandle<'_>, info: &[u8], class: i32) -> Result<(), Status> {
    let mut iosb = io_status();
    // SAFETY: `info` is a complete structure of `class`, alive for the call.
    let status = unsafe {
        NtSetInformationFile(
            raw(handle),
            &mut iosb,
            info.as_ptr().cast(),
            info.len() as u32,
            class,
        )
    };
    check(status)
}

/// A FILE_RENAME_INFORMATION / FILE_LINK_INFORMATION: flags (or the replace boolean), the
/// directory the new name is relative to, and the name. 8-byte aligned, as the OS expects.
fn name_information(flags: u32, root: BorrowedHandle<'_>, name: &str) -> Vec<u8> {
    let name = wide(name);
    let mut info = Vec::with_capacity(24 + name.len() * 2);
    info.extend_from_slice(&flags.to_le_bytes());
    info.extend_from_slice(&[0u8; 4]);
    info.extend_from_slice(&(raw(root) as usize as u64).to_le_bytes());
    info.extend_from_slice(&((name.len() * 2) as u32).to_le_bytes());
    for unit in name {
        info.extend_from_slice(&unit.to_le_bytes());
    }
    // At least the structure's declared size (its one-unit name array, padded).
    while info.len() < 24 {
        info.push(0);
    }
    info
}

/// Renames the object `handle` (opened with DELETE) to `name` in `root` with POSIX
/// semantics: an existing non-directory there is replaced even while it is open. Where the
/// OS lacks them (older Windows, FAT, Wine) this fails with a status [`unknown_class`] knows,
/// and the caller falls back to [`rename_plain`].
pub(super) fn rename_posix(
    handle: BorrowedHandle<'_>,
    root: BorrowedHandle<'_>,
    name: &str,
) -> Result<(), Status> {
    let flags = FILE_RENAME_FLAG_REPLACE_IF_EXISTS | FILE_RENAME_FLAG_POSIX_SEMANTICS;
    set_information(
        handle,
        &name_information(flags, root, name),
        FileRenameInformationEx,
    )
}

/// Renames with the older class, which never replaces an open file: `replace` only says
/// whether a closed one may be.
pub(super) fn rename_plain(
    handle: BorrowedHandle<'_>,
    root: BorrowedHandle<'_>,
    name: &str,
    replace: bool,
) -> Result<(), Status> {
    // ReplaceIfExists is a BOOLEAN in the first byte.
    set_information(
        handle,
        &name_information(u32::from(replace), root, name),
        FileRenameInformation,
    )
}

/// Adds the hard link `name` in `root` to the object `handle`, never replacing anything.
pub(super) fn link(
    handle: BorrowedHandle<'_>,
    root: BorrowedHandle<'_>,
    name: &str,
) -> Result<(), Status> {
    set_information(
        handle,
        &name_information(0, root, name),
        FileLinkInformation,
    )
}

/// Deletes the object `handle` (opened with DELETE) with POSIX semantics: its name goes at
/// once, even while other handles are open, read-only attribute or not. Where the OS lacks
/// them this fails with a status [`unknown_class`] knows; see [`delete_on_close`].
pub(super) fn delete_posix(handle: BorrowedHandle<'_>) -> Result<(), Status> {
    let flags = FILE_DISPOSITION_FLAG_DELETE
        | FILE_DISPOSITION_FLAG_POSIX_SEMANTICS
        | FILE_DISPOSITION_FLAG_IGNORE_READONLY_ATTRIBUTE;
    set_information(handle, &flags.to_le_bytes(), FileDispositionInformationEx)
}

/// The older delete: the object (and its name) goes when its last handle closes.
pub(super) fn delete_on_close(handle: BorrowedHandle<'_>) -> Result<(), Status> {
    set_information(handle, &[1u8], FileDispositionInformation)
}

/// The full path the OS has for the object `handle` (normalized, as UTF-16 without the
/// terminating NUL): only ever compared with another such path, never opened.
pub(super) fn final_path(handle: BorrowedHandle<'_>) -> std::io::Result<Vec<u16>> {
    let mut buffer = vec![0u16; 512];
    loop {
        let capacity =
            u32::try_from(buffer.len()).map_err(|_| std::io::Error::other("path too long"))?;
        // SAFETY: the buffer holds `capacity` units and outlives the call.
        let len =
            unsafe { GetFinalPathNameByHandleW(raw(handle), buffer.as_mut_ptr(), capacity, 0) }
                as usize;
        if len == 0 {
            return Err(std::io::Error::last_os_error());
        }
        if len < buffer.len() {
            buffer.truncate(len);
            return Ok(buffer);
        }
        // Too small: `len` is the size needed, NUL included. Paths are at most 32 Ki units.
        if len > 1 << 15 {
            return Err(std::io::Error::other("path too long"));
        }
        buffer.resize(len, 0);
    }
}
