//! What each operation needs, as data: the rights new descriptors start with, and for every
//! call on a descriptor a [`Need`] — which kinds of descriptor it serves, the rights it needs
//! of each, and the errno every other kind gets. `table.rs` applies a `Need` in one fixed
//! order (not open → wrong kind → missing rights); nothing else in the crate spells out rights
//! or decides those errnos.

use crate::abi::types::{Errno, Fdflags, Oflags, Rights};
use crate::table::KindOf;

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

/// Rights of a granted listener: accept, poll, flags and stat.
pub const LISTENER: Rights = Rights::SOCK_ACCEPT
    .union(Rights::POLL_FD_READWRITE)
    .union(Rights::FD_FDSTAT_SET_FLAGS)
    .union(Rights::FD_FILESTAT_GET);

/// Rights of an accepted connection: read, write, shut down, poll, flags and stat.
pub const STREAM: Rights = Rights::FD_READ
    .union(Rights::FD_WRITE)
    .union(Rights::SOCK_SHUTDOWN)
    .union(Rights::POLL_FD_READWRITE)
    .union(Rights::FD_FDSTAT_SET_FLAGS)
    .union(Rights::FD_FILESTAT_GET);

/// Rights that mean "writes through this descriptor" for a regular file: what the policy
/// counts as WRITE, and what a read-only backend refuses at open.
pub const FILE_WRITE: Rights = Rights::FD_WRITE
    .union(Rights::FD_ALLOCATE)
    .union(Rights::FD_FILESTAT_SET_SIZE);

/// Rights that make sense on a directory descriptor: its path operations plus syncing and
/// flag changes. Requested file rights are dropped from directories (narrowing, not an error).
pub const DIR_FITS: Rights = DIR_BASE
    .union(Rights::FD_SYNC)
    .union(Rights::FD_DATASYNC)
    .union(Rights::FD_FDSTAT_SET_FLAGS);

/// What a call needs of its descriptor, per kind of descriptor ([`KindOf`]): the rights it
/// needs of the kinds it serves, and the errno each other kind gets. Built with `const fn`s so
/// that every call's `Need` is a constant below.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Need {
    kinds: [Result<Rights, Errno>; KindOf::COUNT],
    /// Rights that suffice as well, for the kinds served (FD_SYNC for fd_datasync…).
    or: Option<Rights>,
}

impl Need {
    /// A call that serves no kind: every descriptor gets `errno`.
    pub const fn refuse(errno: Errno) -> Need {
        Need {
            kinds: [Err(errno); KindOf::COUNT],
            or: None,
        }
    }

    /// Serves `kind` when the descriptor holds `rights`.
    pub const fn serve(mut self, kind: KindOf, rights: Rights) -> Need {
        self.kinds[kind as usize] = Ok(rights);
        self
    }

    /// Serves every kind in `kinds` when the descriptor holds `rights`.
    pub const fn serve_all(mut self, kinds: &[KindOf], rights: Rights) -> Need {
        let mut i = 0;
        while i < kinds.len() {
            self.kinds[kinds[i] as usize] = Ok(rights);
            i += 1;
        }
        self
    }

    /// `kind` gets `errno` (refusing a kind the base refusal would answer differently).
    pub const fn answer(mut self, kind: KindOf, errno: Errno) -> Need {
        self.kinds[kind as usize] = Err(errno);
        self
    }

    /// `rights` suffice too, wherever the call serves.
    pub const fn or(mut self, rights: Rights) -> Need {
        self.or = Some(rights);
        self
    }

    /// Serves every kind, needing nothing (fd_close, fd_fdstat_get…).
    pub const ANY: Need = Need::refuse(Errno::Badf).serve_all(&KindOf::ALL, Rights::empty());

    /// Whether a descriptor of `kind` holding `base` may make the call: `Ok`, the errno of its
    /// kind, or the errno of the rights it lacks ([`crate::errno::missing_rights`]).
    #[inline]
    pub fn admit(&self, kind: KindOf, base: Rights) -> Result<(), Errno> {
        let needed = self.kinds[kind as usize]?;
        if base.contains(needed) || self.or.is_some_and(|or| base.contains(or)) {
            Ok(())
        } else {
            Err(crate::errno::missing_rights(needed.difference(base)))
        }
    }
}

use KindOf::{Dir, File, Listener, Output, Stdin, Stream};

/// The kinds that are byte streams without a position: `pread`-like calls answer ESPIPE.
const STREAMS: [KindOf; 4] = [Stdin, Output, Listener, Stream];

/// fd_read: stdin, files and sockets, with FD_READ. Output streams and directories: EBADF.
pub const FD_READ: Need =
    Need::refuse(Errno::Badf).serve_all(&[Stdin, File, Listener, Stream], Rights::FD_READ);

/// fd_write: output streams, files and sockets, with FD_WRITE. stdin and directories: EBADF.
pub const FD_WRITE: Need =
    Need::refuse(Errno::Badf).serve_all(&[Output, File, Listener, Stream], Rights::FD_WRITE);

/// fd_pread: files, with FD_READ and FD_SEEK; stdin and sockets ESPIPE, as wasmtime; output
/// streams and directories EBADF.
pub const FD_PREAD: Need = Need::refuse(Errno::Badf)
    .serve(File, Rights::FD_READ.union(Rights::FD_SEEK))
    .answer(Stdin, Errno::Spipe)
    .answer(Listener, Errno::Spipe)
    .answer(Stream, Errno::Spipe);

/// fd_pwrite: files, with FD_WRITE and FD_SEEK; output streams and sockets ESPIPE; stdin and
/// directories EBADF.
pub const FD_PWRITE: Need = Need::refuse(Errno::Badf)
    .serve(File, Rights::FD_WRITE.union(Rights::FD_SEEK))
    .answer(Output, Errno::Spipe)
    .answer(Listener, Errno::Spipe)
    .answer(Stream, Errno::Spipe);

/// A positioned call on a file (seek, tell): streams ESPIPE, directories EBADF.
const fn positioned(rights: Rights) -> Need {
    let mut need = Need::refuse(Errno::Badf).serve(File, rights);
    let mut i = 0;
    while i < STREAMS.len() {
        need = need.answer(STREAMS[i], Errno::Spipe);
        i += 1;
    }
    need
}

/// fd_seek: FD_SEEK.
pub const FD_SEEK: Need = positioned(Rights::FD_SEEK);

/// fd_seek that leaves the position unchanged (`whence::cur`, offset 0): the spec lets
/// FD_TELL alone allow it.
pub const FD_SEEK_QUERY: Need = positioned(Rights::FD_SEEK).or(Rights::FD_TELL);

/// fd_tell: FD_TELL, or FD_SEEK (whoever may seek may ask where it is).
pub const FD_TELL: Need = positioned(Rights::FD_TELL).or(Rights::FD_SEEK);

/// A call on regular files only; every other kind EBADF, as wasmtime.
pub const fn file_only(rights: Rights) -> Need {
    Need::refuse(Errno::Badf).serve(File, rights)
}

/// fd_advise.
pub const FD_ADVISE: Need = file_only(Rights::FD_ADVISE);
/// fd_allocate (which then answers ENOTSUP, as wasmtime).
pub const FD_ALLOCATE: Need = file_only(Rights::empty());
/// fd_datasync: FD_DATASYNC, or FD_SYNC, the stronger right (fsync implies fdatasync).
/// wasi-libc drops FD_DATASYNC from read-only opens, where wasmtime still lets it succeed.
pub const FD_DATASYNC: Need = file_only(Rights::FD_DATASYNC).or(Rights::FD_SYNC);
/// fd_sync.
pub const FD_SYNC: Need = file_only(Rights::FD_SYNC);
/// fd_filestat_set_size (a missing right is EINVAL, as ftruncate on a read-only fd).
pub const FD_FILESTAT_SET_SIZE: Need = file_only(Rights::FD_FILESTAT_SET_SIZE);

/// fd_fdstat_set_flags: every kind but directories (EBADF, as wasmtime).
pub const FD_FDSTAT_SET_FLAGS: Need = Need::refuse(Errno::Badf).serve_all(
    &[Stdin, Output, File, Listener, Stream],
    Rights::FD_FDSTAT_SET_FLAGS,
);

/// fd_filestat_get: files and directories with FD_FILESTAT_GET; streams need nothing (they
/// report a zeroed filestat with their type).
pub const FD_FILESTAT_GET: Need = Need::ANY.serve_all(&[File, Dir], Rights::FD_FILESTAT_GET);

/// fd_filestat_set_times: files and directories; streams EBADF.
pub const FD_FILESTAT_SET_TIMES: Need =
    Need::refuse(Errno::Badf).serve_all(&[File, Dir], Rights::FD_FILESTAT_SET_TIMES);

/// A `path_*` call or `fd_readdir`: directories holding `rights`; anything else EBADF, as
/// wasmtime ("not a directory descriptor").
pub const fn dir(rights: Rights) -> Need {
    Need::refuse(Errno::Badf).serve(Dir, rights)
}

/// What `path_open` needs of its directory for `oflags`: PATH_OPEN, PATH_CREATE_FILE with
/// CREAT, PATH_FILESTAT_SET_SIZE with TRUNC (as the spec says). A regular file as the base is
/// ENOTDIR, as wasmtime, where the other `path_*` calls say EBADF.
pub fn path_open(oflags: Oflags) -> Need {
    let mut needed = Rights::PATH_OPEN;
    if oflags.contains(Oflags::CREAT) {
        needed |= Rights::PATH_CREATE_FILE;
    }
    if oflags.contains(Oflags::TRUNC) {
        needed |= Rights::PATH_FILESTAT_SET_SIZE;
    }
    dir(needed).answer(File, Errno::Notdir)
}

/// poll_oneoff's `fd_read` subscription: what fd_read serves, with POLL_FD_READWRITE too.
pub const POLL_READ: Need = Need::refuse(Errno::Badf).serve_all(
    &[Stdin, File, Listener, Stream],
    Rights::FD_READ.union(Rights::POLL_FD_READWRITE),
);

/// poll_oneoff's `fd_write` subscription: what fd_write serves, with POLL_FD_READWRITE too.
pub const POLL_WRITE: Need = Need::refuse(Errno::Badf).serve_all(
    &[Output, File, Listener, Stream],
    Rights::FD_WRITE.union(Rights::POLL_FD_READWRITE),
);

/// sock_accept: listeners with SOCK_ACCEPT; a connection EINVAL (Linux: not listening);
/// anything else ENOTSOCK.
pub const SOCK_ACCEPT: Need = Need::refuse(Errno::Notsock)
    .serve(Listener, Rights::SOCK_ACCEPT)
    .answer(Stream, Errno::Inval);

/// A call on a connection (`sock_recv`, `sock_send`, `sock_shutdown`) holding `rights`; a
/// listener ENOTCONN (as Linux's recv/send); anything else ENOTSOCK.
pub const fn connection(rights: Rights) -> Need {
    Need::refuse(Errno::Notsock)
        .serve(Stream, rights)
        .answer(Listener, Errno::Notconn)
}

/// Flags fd_fdstat_set_flags may change; the sync flags cannot be changed after open (EINVAL,
/// as wasmtime).
pub const SETTABLE_FDFLAGS: Fdflags = Fdflags::APPEND.union(Fdflags::NONBLOCK);
