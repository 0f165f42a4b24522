//! What each operation needs, as data: the rights a descriptor must hold, and the rights new
//! descriptors start with. `table.rs` verifies them; nothing else in the crate spells out rights.

use crate::abi::types::{Fdflags, Oflags, Rights};

/// Rights of a preopened directory: every directory operation — the set wasmtime reports,
/// and PATH_FILESTAT_SET_SIZE, which `path_open` with O_TRUNC needs (a read-only mount holds
/// it too and refuses the truncation itself with EPERM, as wasmtime).
pub const DIR_BASE: Rights = Rights::PATH_CREATE_DIRECTORY
    .union(Rights::PATH_FILESTAT_SET_SIZE)
    .union(Rights::PATH_CREATE_FILE)
    .union(Rights::PATH_LINK_SOURCE)
    .union(Rights::PATH_LINK_TARGET)
    .union(Rights::PATH_OPEN)
    .union(Rights::FD_READDIR)
    .union(Rights::PATH_READLINK)
    .union(Rights::PATH_RENAME_SOURCE)
    .union(Rights::PATH_RENAME_TARGET)
    .union(Rights::PATH_SYMLINK)
    .union(Rights::PATH_REMOVE_DIRECTORY)
    .union(Rights::PATH_UNLINK_FILE)
    .union(Rights::PATH_FILESTAT_GET)
    .union(Rights::PATH_FILESTAT_SET_TIMES)
    .union(Rights::FD_FILESTAT_GET)
    .union(Rights::FD_FILESTAT_SET_TIMES);

/// Rights a regular file may carry.
pub const FILE_ALL: Rights = Rights::FD_DATASYNC
    .union(Rights::FD_READ)
    .union(Rights::FD_SEEK)
    .union(Rights::FD_FDSTAT_SET_FLAGS)
    .union(Rights::FD_SYNC)
    .union(Rights::FD_TELL)
    .union(Rights::FD_WRITE)
    .union(Rights::FD_ADVISE)
    .union(Rights::FD_ALLOCATE)
    .union(Rights::FD_FILESTAT_GET)
    .union(Rights::FD_FILESTAT_SET_SIZE)
    .union(Rights::FD_FILESTAT_SET_TIMES)
    .union(Rights::POLL_FD_READWRITE);

/// Rights a preopen passes on to what is opened through it.
pub const DIR_INHERITING: Rights = DIR_BASE.union(FILE_ALL);

/// Rights of stdin. FD_FDSTAT_SET_FLAGS lets the guest make it non-blocking.
pub const STDIN: Rights = Rights::FD_READ
    .union(Rights::FD_FDSTAT_SET_FLAGS)
    .union(Rights::POLL_FD_READWRITE);

/// Rights of stdout and stderr.
pub const STDOUT: Rights = Rights::FD_WRITE
    .union(Rights::FD_FDSTAT_SET_FLAGS)
    .union(Rights::POLL_FD_READWRITE);

/// fd_pread: read without moving the position (a seekable object).
pub const PREAD: Rights = Rights::FD_READ.union(Rights::FD_SEEK);

/// fd_pwrite: write without moving the position (a seekable object).
pub const PWRITE: Rights = Rights::FD_WRITE.union(Rights::FD_SEEK);

/// fd_seek that leaves the position unchanged (`whence::cur`, offset 0): the spec lets
/// FD_TELL alone allow it.
pub const SEEK_QUERY: Rights = Rights::FD_TELL;

/// What `path_open` needs of its directory for `oflags`: PATH_OPEN, PATH_CREATE_FILE with
/// CREAT, PATH_FILESTAT_SET_SIZE with TRUNC (as the spec says).
pub fn path_open(oflags: Oflags) -> Rights {
    let mut needed = Rights::PATH_OPEN;
    if oflags.contains(Oflags::CREAT) {
        needed |= Rights::PATH_CREATE_FILE;
    }
    if oflags.contains(Oflags::TRUNC) {
        needed |= Rights::PATH_FILESTAT_SET_SIZE;
    }
    needed
}

/// fd_datasync: FD_DATASYNC, or FD_SYNC, the stronger right (fsync implies fdatasync). wasi-libc
/// drops FD_DATASYNC from read-only opens, where wasmtime still lets fdatasync succeed.
pub const DATASYNC_ANY: [Rights; 2] = [Rights::FD_DATASYNC, Rights::FD_SYNC];

/// Flags fd_fdstat_set_flags may change; the sync flags cannot be changed after open (EINVAL,
/// as wasmtime).
pub const SETTABLE_FDFLAGS: Fdflags = Fdflags::APPEND.union(Fdflags::NONBLOCK);
