//! What each operation needs, as data: the rights a descriptor must hold, and the rights new
//! descriptors start with. `table.rs` verifies them; nothing else in the crate spells out rights.

use crate::abi::types::Rights;

/// Rights of a preopened directory: every directory operation (the set wasmtime reports).
pub const DIR_BASE: Rights = Rights::PATH_CREATE_DIRECTORY
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

/// Rights of stdin.
pub const STDIN: Rights = Rights::FD_READ.union(Rights::POLL_FD_READWRITE);

/// Rights of stdout and stderr.
pub const STDOUT: Rights = Rights::FD_WRITE.union(Rights::POLL_FD_READWRITE);
