//! Syscall group `fd_advise` … `fd_filestat_set_times`: metadata and housekeeping on an open
//! descriptor — its fdstat (type, flags, rights), its filestat, size, times and syncing.
//! Rights are checked here before the backend is touched; errnos for the wrong kind of
//! descriptor follow wasmtime's preview1 (file-only calls answer EBADF elsewhere).

use super::convert;
use super::request::{self, check_fd};
use crate::abi::types::*;
use crate::ctx::WasiCtx;
use crate::policy::{Access, Flags, Request, Syscall};
use crate::rights::{self, Need};
use crate::table::{Descriptor, Kind};
use crate::vfs;
use std::sync::Arc;
use wiggle::GuestMemory;

/// The regular file behind `fd`, checked against `need` (`rights.rs`: files only, EBADF for
/// the other kinds, as wasmtime) and against the policy for `syscall`, with `extend` adding
/// what the call wants. One lookup, one check, in the crate's one order.
fn checked_file(
    ctx: &mut WasiCtx,
    (syscall, fd): (Syscall, Fd),
    need: &Need,
    extend: impl FnOnce(Request<'_>) -> Request<'_>,
) -> Result<Arc<dyn vfs::File>, Error> {
    let (open, _) = ctx.table.file(fd.into(), need)?;
    ctx.gate
        .check(syscall, || extend(request::on_file(syscall, fd, open)))?;
    // A handle of its own, so the table's borrow ends here and the backend call runs without it.
    Ok(Arc::clone(&open.file))
}

/// What a stream looks like to the guest: a character device if it is a terminal, else
/// "unknown" (wasmtime's answer for pipes and files behind stdio).
fn stream_type(terminal: bool) -> Filetype {
    if terminal {
        Filetype::CharacterDevice
    } else {
        Filetype::Unknown
    }
}

/// The filetype a descriptor reports, asking the backend for files (a host backend may hold
/// devices).
fn filetype(desc: &Descriptor) -> Result<Filetype, Error> {
    Ok(match &desc.kind {
        Kind::Stdin(input) => stream_type(input.is_terminal()),
        Kind::Output(output) => stream_type(output.is_terminal()),
        Kind::File(open) => convert::filetype(open.file.stat()?.filetype),
        Kind::Dir(_) => Filetype::Directory,
        Kind::Socket(_) => Filetype::SocketStream,
    })
}

/// Mirrors `posix_fadvise`; advice is only a hint, so it is validated and dropped.
/// Errors: EBADF (not a regular file), ENOTCAPABLE (no FD_ADVISE), EINVAL (a length past
/// i64, as Linux).
pub(crate) fn fd_advise(
    ctx: &mut WasiCtx,
    _mem: &mut GuestMemory<'_>,
    fd: Fd,
    _offset: Filesize,
    len: Filesize,
    _advice: Advice,
) -> Result<(), Error> {
    // A first lookup only to order the errnos (EBADF, ENOTCAPABLE before EINVAL); the one in
    // `checked_file` below is the one whose result is used.
    ctx.table.file(fd.into(), &rights::FD_ADVISE)?;
    // `len` is an off_t to posix_fadvise: past i64 it is negative, which Linux refuses.
    if i64::try_from(len).is_err() {
        return Err(Errno::Inval.into());
    }
    // The advice is a hint, so dropping it is always a correct answer.
    checked_file(ctx, (Syscall::FdAdvise, fd), &rights::FD_ADVISE, |r| r)?;
    Ok(())
}

/// Mirrors `posix_fallocate`. Errors: EBADF (not a regular file), then ENOTSUP always — as
/// wasmtime, whose guests (wasi-libc) already expect it; preallocation has no meaning for a
/// sparse in-memory file, and growing a file is `fd_filestat_set_size`'s job.
pub(crate) fn fd_allocate(
    ctx: &mut WasiCtx,
    _mem: &mut GuestMemory<'_>,
    fd: Fd,
    offset: Filesize,
    len: Filesize,
) -> Result<(), Error> {
    let s = (Syscall::FdAllocate, fd);
    // The policy still sees the call, as a write: a rule that traps on writes must trap here
    // too, whatever the answer would have been.
    checked_file(ctx, s, &rights::FD_ALLOCATE, |r| {
        r.access(Access::WRITE).offset(offset).bytes(len)
    })?;
    Err(Errno::Notsup.into())
}

/// Mirrors `fdatasync`. Errors: EBADF (not a regular file, as wasmtime), ENOTCAPABLE (neither
/// FD_DATASYNC nor the stronger FD_SYNC), backend errors.
pub(crate) fn fd_datasync(
    ctx: &mut WasiCtx,
    _mem: &mut GuestMemory<'_>,
    fd: Fd,
) -> Result<(), Error> {
    // Backends have one `sync`: the stronger fsync is always a correct fdatasync.
    let f = checked_file(ctx, (Syscall::FdDatasync, fd), &rights::FD_DATASYNC, |r| r)?;
    f.sync()?;
    Ok(())
}

/// Mirrors `fsync`. Errors: EBADF (not a regular file, as wasmtime), ENOTCAPABLE (no
/// FD_SYNC), backend errors.
pub(crate) fn fd_sync(ctx: &mut WasiCtx, _mem: &mut GuestMemory<'_>, fd: Fd) -> Result<(), Error> {
    let f = checked_file(ctx, (Syscall::FdSync, fd), &rights::FD_SYNC, |r| r)?;
    f.sync()?;
    Ok(())
}

/// Mirrors `fcntl(F_GETFL)` plus the descriptor's type and rights (the rights it really holds,
/// where wasmtime reports fixed sets). Errors: EBADF, backend errors (stat of a file).
pub(crate) fn fd_fdstat_get(
    ctx: &mut WasiCtx,
    _mem: &mut GuestMemory<'_>,
    fd: Fd,
) -> Result<Fdstat, Error> {
    // No right is needed to describe one's own descriptor, rights included.
    let desc = ctx.table.check(fd.into(), &Need::ANY)?;
    check_fd(&mut ctx.gate, Syscall::FdFdstatGet, (fd, &desc.kind), |r| r)?;
    Ok(Fdstat {
        // After the policy: a file's type is a backend call (a host mount may hold devices).
        fs_filetype: filetype(desc)?,
        fs_flags: desc.flags,
        fs_rights_base: desc.base,
        fs_rights_inheriting: desc.inheriting,
    })
}

/// Mirrors `fcntl(F_SETFL)`: APPEND and NONBLOCK may change; the sync flags chosen at open stay.
/// Errors: EBADF (not open, or a directory — as wasmtime), EINVAL (a sync flag, as wasmtime),
/// ENOTCAPABLE (no FD_FDSTAT_SET_FLAGS). Unlike wasmtime (EBADF), stdio accepts it, so a guest
/// can make stdin non-blocking.
pub(crate) fn fd_fdstat_set_flags(
    ctx: &mut WasiCtx,
    _mem: &mut GuestMemory<'_>,
    fd: Fd,
    flags: Fdflags,
) -> Result<(), Error> {
    let desc = ctx
        .table
        .check_mut(fd.into(), &rights::FD_FDSTAT_SET_FLAGS)?;
    // After the lookup: a closed fd or a directory is EBADF whatever the flags.
    if !rights::SETTABLE_FDFLAGS.contains(flags) {
        return Err(Errno::Inval.into());
    }
    let request_flags = Flags {
        fdflags: flags,
        ..Flags::NONE
    };
    let s = Syscall::FdFdstatSetFlags;
    check_fd(&mut ctx.gate, s, (fd, &desc.kind), |r| {
        r.flags(request_flags)
    })?;
    // The host socket first: if it refuses, the fd's flags stay as they were and still say
    // what the socket does.
    if let Kind::Socket(socket) = &desc.kind {
        super::sock::set_nonblocking(socket, flags.contains(Fdflags::NONBLOCK))?;
    }
    // F_SETFL semantics: APPEND and NONBLOCK are replaced, not merged; the sync flags chosen
    // at open are kept.
    desc.flags = desc.flags.difference(rights::SETTABLE_FDFLAGS).union(flags);
    Ok(())
}

/// Narrows a descriptor's rights; they can never grow back. Errors: EBADF, ENOTCAPABLE (asks
/// for a right not held). wasmtime answers ENOTSUP here: it does not enforce rights at all.
pub(crate) fn fd_fdstat_set_rights(
    ctx: &mut WasiCtx,
    _mem: &mut GuestMemory<'_>,
    fd: Fd,
    fs_rights_base: Rights,
    fs_rights_inheriting: Rights,
) -> Result<(), Error> {
    let desc = ctx.table.check_mut(fd.into(), &Need::ANY)?;
    // Narrowing only: asking for a right not held is ENOTCAPABLE (wasmtime: ENOTSUP).
    if !desc.base.contains(fs_rights_base) || !desc.inheriting.contains(fs_rights_inheriting) {
        return Err(Errno::Notcapable.into());
    }
    let request_flags = Flags {
        rights: fs_rights_base,
        ..Flags::NONE
    };
    let s = Syscall::FdFdstatSetRights;
    check_fd(&mut ctx.gate, s, (fd, &desc.kind), |r| {
        r.flags(request_flags)
    })?;
    // Only this descriptor changes: what was already opened through it keeps what it got.
    desc.base = fs_rights_base;
    desc.inheriting = fs_rights_inheriting;
    Ok(())
}

/// Mirrors `fstat`. Streams report a zeroed filestat with their type (as wasmtime). Errors:
/// EBADF, ENOTCAPABLE (no FD_FILESTAT_GET), backend errors.
pub(crate) fn fd_filestat_get(
    ctx: &mut WasiCtx,
    _mem: &mut GuestMemory<'_>,
    fd: Fd,
) -> Result<Filestat, Error> {
    let desc = ctx.table.check(fd.into(), &rights::FD_FILESTAT_GET)?;
    let s = Syscall::FdFilestatGet;
    check_fd(&mut ctx.gate, s, (fd, &desc.kind), |r| {
        r.access(Access::STAT)
    })?;
    let stat = match &desc.kind {
        Kind::Stdin(_) | Kind::Output(_) | Kind::Socket(_) => {
            return Ok(Filestat {
                dev: 0,
                ino: 0,
                filetype: filetype(desc)?,
                nlink: 0,
                size: 0,
                atim: 0,
                mtim: 0,
                ctim: 0,
            });
        }
        // Through the open handle, not by name: a renamed or unlinked file still answers.
        Kind::File(open) => open.file.stat()?,
        Kind::Dir(dir) => dir.dir.stat()?,
    };
    Ok(convert::filestat(&stat))
}

/// Mirrors `ftruncate`; growing leaves a sparse, zero-reading gap. Errors: EBADF (not a regular
/// file), EINVAL (not open for writing: no FD_FILESTAT_SET_SIZE, as ftruncate and wasmtime),
/// backend errors (EFBIG, ENOSPC, EPERM (read-only mount)...).
pub(crate) fn fd_filestat_set_size(
    ctx: &mut WasiCtx,
    _mem: &mut GuestMemory<'_>,
    fd: Fd,
    size: Filesize,
) -> Result<(), Error> {
    let s = (Syscall::FdFilestatSetSize, fd);
    let f = checked_file(ctx, s, &rights::FD_FILESTAT_SET_SIZE, |r| {
        // TRUNCATE for any new size, growing too: the size changes either way, and judging the
        // call must not need a stat first.
        r.access(Access::TRUNCATE).bytes(size)
    })?;
    // The backend charges growth before allocating; a gap costs nothing until written.
    f.set_size(size)?;
    Ok(())
}

/// Mirrors `futimens`. Errors: EINVAL (a time both given and NOW), EBADF (not open, or a
/// stream — as wasmtime), ENOTCAPABLE (no FD_FILESTAT_SET_TIMES), backend errors.
pub(crate) fn fd_filestat_set_times(
    ctx: &mut WasiCtx,
    _mem: &mut GuestMemory<'_>,
    fd: Fd,
    atim: Timestamp,
    mtim: Timestamp,
    fst_flags: Fstflags,
) -> Result<(), Error> {
    // Flags before the descriptor, as in `path_filestat_set_times`: a contradictory pair is
    // EINVAL on any fd.
    let (atime, mtime) = convert::set_times(atim, mtim, fst_flags)?;
    let desc = ctx.table.check(fd.into(), &rights::FD_FILESTAT_SET_TIMES)?;
    let request_flags = Flags {
        fst: fst_flags,
        ..Flags::NONE
    };
    let s = Syscall::FdFilestatSetTimes;
    check_fd(&mut ctx.gate, s, (fd, &desc.kind), |r| {
        r.access(Access::SET_TIMES).flags(request_flags)
    })?;
    match &desc.kind {
        Kind::File(open) => open.file.set_times(atime, mtime)?,
        Kind::Dir(dir) => dir.dir.set_times(atime, mtime)?,
        // `rights::FD_FILESTAT_SET_TIMES` refused these already.
        Kind::Stdin(_) | Kind::Output(_) | Kind::Socket(_) => return Err(Errno::Badf.into()),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vfs::MemFs;

    fn errno<T: std::fmt::Debug>(r: Result<T, Error>) -> Errno {
        r.unwrap_err().downcast().unwrap()
    }

    #[test]
    fn stdio_and_dirs_describe_themselves() {
        let mut ctx = WasiCtx::builder().mount("/", MemFs::new()).build();
        let mut raw = vec![];
        let mut mem = GuestMemory::Unshared(&mut raw);
        let m = &mut mem;
        let out = fd_fdstat_get(&mut ctx, m, 1.into()).unwrap();
        assert_eq!(out.fs_filetype, Filetype::Unknown);
        assert!(out.fs_rights_base.contains(Rights::FD_WRITE));
        let dir = fd_fdstat_get(&mut ctx, m, 3.into()).unwrap();
        assert_eq!(dir.fs_filetype, Filetype::Directory);
        assert_eq!(dir.fs_rights_base, rights::DIR_BASE);
        let stat = fd_filestat_get(&mut ctx, m, 0.into()).unwrap();
        assert_eq!(
            (stat.filetype, stat.size, stat.ino),
            (Filetype::Unknown, 0, 0)
        );
        let stat = fd_filestat_get(&mut ctx, m, 3.into()).unwrap();
        assert_eq!(stat.filetype, Filetype::Directory);
        assert_eq!(errno(fd_fdstat_get(&mut ctx, m, 7.into())), Errno::Badf);
    }

    #[test]
    fn file_only_calls_refuse_other_kinds_with_ebadf() {
        let mut ctx = WasiCtx::builder().mount("/", MemFs::new()).build();
        let mut raw = vec![];
        let mut mem = GuestMemory::Unshared(&mut raw);
        let m = &mut mem;
        for fd in [0u32, 1, 3, 9] {
            let fd = Fd::from(fd);
            assert_eq!(errno(fd_allocate(&mut ctx, m, fd, 0, 1)), Errno::Badf);
            assert_eq!(errno(fd_sync(&mut ctx, m, fd)), Errno::Badf);
            assert_eq!(errno(fd_datasync(&mut ctx, m, fd)), Errno::Badf);
            assert_eq!(errno(fd_filestat_set_size(&mut ctx, m, fd, 0)), Errno::Badf);
            let r = fd_advise(&mut ctx, m, fd, 0, 0, Advice::Normal);
            assert_eq!(errno(r), Errno::Badf);
        }
        let r = fd_filestat_set_times(&mut ctx, m, 1.into(), 0, 0, Fstflags::MTIM_NOW);
        assert_eq!(errno(r), Errno::Badf);
        let both = Fstflags::ATIM.union(Fstflags::ATIM_NOW);
        let r = fd_filestat_set_times(&mut ctx, m, 3.into(), 0, 0, both);
        assert_eq!(errno(r), Errno::Inval);
        fd_filestat_set_times(&mut ctx, m, 3.into(), 5, 0, Fstflags::ATIM).unwrap();
    }

    #[test]
    fn flags_and_rights_changes() {
        let mut ctx = WasiCtx::builder().mount("/", MemFs::new()).build();
        let mut raw = vec![];
        let mut mem = GuestMemory::Unshared(&mut raw);
        let m = &mut mem;
        fd_fdstat_set_flags(&mut ctx, m, 0.into(), Fdflags::NONBLOCK).unwrap();
        let flags = fd_fdstat_get(&mut ctx, m, 0.into()).unwrap().fs_flags;
        assert_eq!(flags, Fdflags::NONBLOCK);
        let r = fd_fdstat_set_flags(&mut ctx, m, 0.into(), Fdflags::SYNC);
        assert_eq!(errno(r), Errno::Inval);
        let r = fd_fdstat_set_flags(&mut ctx, m, 3.into(), Fdflags::empty());
        assert_eq!(errno(r), Errno::Badf);

        let narrow = Rights::PATH_OPEN;
        fd_fdstat_set_rights(&mut ctx, m, 3.into(), narrow, Rights::FD_READ).unwrap();
        let st = fd_fdstat_get(&mut ctx, m, 3.into()).unwrap();
        assert_eq!(
            (st.fs_rights_base, st.fs_rights_inheriting),
            (narrow, Rights::FD_READ)
        );
        // Rights never grow back.
        let r = fd_fdstat_set_rights(&mut ctx, m, 3.into(), rights::DIR_BASE, Rights::empty());
        assert_eq!(errno(r), Errno::Notcapable);
        let r = fd_fdstat_set_rights(&mut ctx, m, 3.into(), narrow, Rights::FD_WRITE);
        assert_eq!(errno(r), Errno::Notcapable);
        // Without FD_FILESTAT_GET the directory can no longer be stat'ed.
        assert_eq!(
            errno(fd_filestat_get(&mut ctx, m, 3.into())),
            Errno::Notcapable
        );
    }
}
