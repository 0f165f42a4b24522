//! Syscall group `fd_read` / `fd_write` / `fd_pread` / `fd_pwrite` / `fd_seek` / `fd_tell`:
//! bytes between guest iovecs and streams or files. Iovec arrays and every used buffer are
//! bounds-checked before the first byte moves; bytes move through borrowed guest slices, so no
//! host buffer is ever sized by the guest, and output is charged to its stream's budget before
//! it is delivered. Per call: at most `MAX_IOVS` iovecs and `MAX_TRANSFER` bytes (short counts).

use super::request;
use crate::abi::types::*;
use crate::ctx::WasiCtx;
use crate::guest::{self, IoVecs, MAX_TRANSFER};
use crate::policy::{Access, Syscall};
use crate::rights;
use crate::stdio::{Input, Output};
use crate::suspend::Suspend;
use crate::table::Kind;
use crate::vfs::{File, FsError};
use std::time::Instant;
use wiggle::GuestMemory;

/// Where a file write goes.
#[derive(Clone, Copy)]
enum Target {
    /// At this offset (the descriptor's position, or pwrite's offset).
    At(u64),
    /// At the end, atomically per buffer (APPEND).
    Append,
}

/// The length of iovec buffer `len` that still fits in this call's transfer budget.
fn clamp(len: u32, done: u64) -> u32 {
    // `done` is what this call already moved: the cap is per call, not per buffer, so iovecs
    // that alias one region cannot each claim the whole budget.
    let room = MAX_TRANSFER.saturating_sub(done);
    u32::try_from(room.min(u64::from(len))).unwrap_or(0)
}

/// Reads from stdin into the first non-empty buffer, as wasmtime does: once some bytes have
/// arrived, reading on into later buffers could block on a stream that has nothing more.
fn read_stream(
    input: &Input,
    nonblocking: bool,
    deadline: Option<Instant>,
    mem: &mut GuestMemory<'_>,
    iovs: &IoVecs,
) -> Result<u64, Error> {
    for i in 0..iovs.count {
        let (ptr, len) = iovs.get(mem, i)?;
        // Only one buffer is ever read here, so nothing has moved yet.
        let len = clamp(len, 0);
        if len == 0 {
            continue;
        }
        let buf = guest::bytes_mut(mem, ptr, len)?;
        // Blocks (never past the run's deadline) only on a blocking fd; NONBLOCK gives EAGAIN.
        return Ok(input.read(buf, nonblocking, deadline)? as u64);
    }
    Ok(0)
}

/// Reads a file from `offset` into the buffers in order, stopping at end-of-file or at the
/// first short read. An error after some bytes were read ends the call with a short count.
fn read_file(
    file: &dyn File,
    mem: &mut GuestMemory<'_>,
    iovs: &IoVecs,
    offset: u64,
) -> Result<u64, Error> {
    let mut done = 0u64;
    for i in 0..iovs.count {
        let (ptr, len) = iovs.get(mem, i)?;
        let len = clamp(len, done);
        if len == 0 {
            continue;
        }
        // An offset past u64 holds no bytes: end of file, as any read past the end.
        let Some(at) = offset.checked_add(done) else {
            break;
        };
        let buf = guest::bytes_mut(mem, ptr, len)?;
        let n = match file.read_at(buf, at) {
            // A backend's count is never trusted past the buffer it was given: the guest would
            // believe in bytes nobody wrote.
            Ok(n) => n.min(buf.len()),
            // POSIX: what already moved is reported; a lasting error comes back on the next call.
            Err(_) if done > 0 => break,
            Err(e) => return Err(e.into()),
        };
        done += n as u64;
        // Buffers are filled in order: reading on past a short one would put later bytes after
        // an unfilled gap.
        if n < buf.len() {
            break;
        }
    }
    Ok(done)
}

/// Writes the buffers to a file in order. Returns the bytes written and, when appending, the
/// file's new end. An error after some bytes were written ends the call with a short count.
fn write_file(
    file: &dyn File,
    mem: &GuestMemory<'_>,
    iovs: &IoVecs,
    target: Target,
) -> Result<(u64, Option<u64>), Error> {
    let (mut done, mut end) = (0u64, None);
    for i in 0..iovs.count {
        let (ptr, len) = iovs.get(mem, i)?;
        let len = clamp(len, done);
        if len == 0 {
            continue;
        }
        let buf = guest::bytes(mem, ptr, len)?;
        let result = match target {
            Target::At(offset) => match offset.checked_add(done) {
                Some(at) => file.write_at(buf, at),
                // No position past u64 can be written: EFBIG, as write(2) past the largest file
                // size.
                None => Err(FsError::FileTooBig),
            },
            // Each buffer lands at the end as it is at that moment (another descriptor may
            // append in between), so the backend reports the end rather than the call computing it.
            Target::Append => file.append(buf).map(|(n, new_end)| {
                end = Some(new_end);
                n
            }),
        };
        let n = match result {
            Ok(n) => n.min(buf.len()),
            Err(_) if done > 0 => break,
            Err(e) => return Err(e.into()),
        };
        done += n as u64;
        // A short write: stop, so the count names exactly the prefix that landed.
        if n < buf.len() {
            break;
        }
    }
    Ok((done, end))
}

/// Writes the buffers to an output stream with its one write protocol (`Output::write`):
/// charged before delivered; past the budget `Trap` delivers what fits, then stops the guest;
/// `Truncate` reports a short count, and EFBIG once nothing at all fits.
#[inline]
fn write_stream(out: &Output, mem: &GuestMemory<'_>, iovs: &IoVecs) -> Result<u64, Error> {
    // The whole call's count is handed over first: the stream charges its budget once, for
    // everything, before it delivers any byte.
    Ok(out.write(iovs.transfer(), iovs.buffers(mem))?)
}

/// Mirrors `readv`. Errors: EBADF (not readable: stdout, a directory, no FD_READ), EAGAIN
/// (non-blocking stdin with nothing buffered), EIO, backend errors.
pub(crate) fn fd_read(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    fd: Fd,
    iovs: IovecArray,
) -> Result<Size, Error> {
    // Guest memory first: a bad array or buffer traps before anything is looked up, and the
    // policy's request can carry the real byte count.
    let iovs = IoVecs::check(mem, iovs.offset())?;
    // Only waits need the deadline: a file read does not pay for reading it.
    let deadline = || ctx.clocks.deadline();
    // One lookup checks kind and rights together (`table.rs`'s order); the descriptor then
    // stays borrowed through the policy check and the read.
    let desc = ctx.table.check_mut(fd.into(), &rights::FD_READ)?;
    // Read before the kind is matched: it decides how stdin and sockets wait, and means nothing
    // to a file.
    let nonblocking = desc.flags.contains(Fdflags::NONBLOCK);
    let (s, kind) = (Syscall::FdRead, &desc.kind);
    ctx.gate
        .check(s, || request::io(s, fd, kind, Access::READ, iovs.total))?;
    // Under the async linker a blocking fd's wait is the fiber's: the read is tried without
    // waiting, and "nothing yet" suspends the call (nothing was read) instead of the thread.
    let suspending = !nonblocking && ctx.gate.suspending();
    let n = match &mut desc.kind {
        Kind::Stdin(input) if suspending => {
            match read_stream(input, true, deadline(), mem, &iovs) {
                Err(e) if e.downcast_ref() == Some(&Errno::Again) => {
                    let input = input.clone();
                    return Err(ctx.gate.suspend(Suspend::Input(input, deadline())));
                }
                other => other?,
            }
        }
        Kind::Stdin(input) => read_stream(input, nonblocking, deadline(), mem, &iovs)?,
        Kind::File(open) => {
            let n = read_file(&*open.file, mem, &iovs, open.position)?;
            // Cannot overflow (`read_file` read at `position + done`); still, an errno beats a
            // wrapped position.
            open.position = open.position.checked_add(n).ok_or(Errno::Overflow)?;
            n
        }
        Kind::Socket(socket) => {
            // A read on a socket is `sock_recv` without flags, waiting the same way.
            let wait = super::sock::Wait::of_flags(nonblocking, deadline(), suspending);
            let received = super::sock::recv(socket, (false, false), wait, mem, &iovs);
            super::sock::or_suspend(received, wait, socket, false, &mut ctx.gate)?
        }
        // `rights::FD_READ` refused these already.
        Kind::Output(_) | Kind::Dir(_) => return Err(Errno::Badf.into()),
    };
    guest::size(n)
}

/// Mirrors `writev`; APPEND descriptors write at the end and move the position there.
/// Errors: EBADF (not writable: stdin, a directory, no FD_WRITE), EFBIG (stream budget with
/// `Truncate`), EIO, backend errors (ENOSPC, EDQUOT, EFBIG, EPERM on read-only mounts...). Traps past a `Trap` budget.
#[inline]
pub(crate) fn fd_write(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    fd: Fd,
    iovs: CiovecArray,
) -> Result<Size, Error> {
    let iovs = IoVecs::check(mem, iovs.offset())?;
    // Only waits need the deadline (an inherited stdout finds it in `deadline::current`).
    let deadline = || ctx.clocks.deadline();
    // As in fd_read: one lookup, then the policy, then the write, on the same descriptor.
    let desc = ctx.table.check_mut(fd.into(), &rights::FD_WRITE)?;
    let append = desc.flags.contains(Fdflags::APPEND);
    let nonblocking = desc.flags.contains(Fdflags::NONBLOCK);
    let (s, kind) = (Syscall::FdWrite, &desc.kind);
    ctx.gate
        .check(s, || request::io(s, fd, kind, Access::WRITE, iovs.total))?;
    let n = match &mut desc.kind {
        // Budget and delivery belong to the stream (`Output::write`): one protocol whatever the
        // output is connected to.
        Kind::Output(out) => write_stream(out, mem, &iovs)?,
        Kind::File(open) if append => {
            let (n, end) = write_file(&*open.file, mem, &iovs, Target::Append)?;
            // Like wasmtime, the position follows the end even when nothing was appended.
            open.position = match end {
                Some(end) => end,
                None => open.file.stat()?.size,
            };
            n
        }
        Kind::File(open) => {
            let (n, _) = write_file(&*open.file, mem, &iovs, Target::At(open.position))?;
            open.position = open.position.checked_add(n).ok_or(Errno::Overflow)?;
            n
        }
        Kind::Socket(socket) => {
            let wait = super::sock::Wait::of_flags(nonblocking, deadline(), ctx.gate.suspending());
            let sent = super::sock::send(socket, wait, mem, &iovs);
            super::sock::or_suspend(sent, wait, socket, true, &mut ctx.gate)?
        }
        // `rights::FD_WRITE` refused these already.
        Kind::Stdin(_) | Kind::Dir(_) => return Err(Errno::Badf.into()),
    };
    guest::size(n)
}

/// Mirrors `preadv`; the position is unchanged. Errors: ESPIPE (stdin, sockets), EBADF
/// (stdout, a directory, no FD_READ), ENOTCAPABLE (no FD_SEEK), backend errors.
pub(crate) fn fd_pread(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    fd: Fd,
    iovs: IovecArray,
    offset: Filesize,
) -> Result<Size, Error> {
    let iovs = IoVecs::check(mem, iovs.offset())?;
    // Streams are ESPIPE here, before their rights are looked at: they have no offsets.
    let (open, _) = ctx.table.file(fd.into(), &rights::FD_PREAD)?;
    let s = Syscall::FdPread;
    ctx.gate.check(s, || {
        request::on_file(s, fd, open)
            .access(Access::READ)
            .bytes(iovs.total)
            .offset(offset)
    })?;
    guest::size(read_file(&*open.file, mem, &iovs, offset)?)
}

/// Mirrors `pwritev`; the position is unchanged. On an APPEND descriptor the offset is ignored
/// and the bytes are appended (Linux's and wasmtime's behaviour). Errors: ESPIPE (stdout,
/// stderr, sockets), EBADF (stdin, a directory, no FD_WRITE), ENOTCAPABLE (no FD_SEEK),
/// backend errors.
pub(crate) fn fd_pwrite(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    fd: Fd,
    iovs: CiovecArray,
    offset: Filesize,
) -> Result<Size, Error> {
    let iovs = IoVecs::check(mem, iovs.offset())?;
    let (open, flags) = ctx.table.file(fd.into(), &rights::FD_PWRITE)?;
    let s = Syscall::FdPwrite;
    ctx.gate.check(s, || {
        request::on_file(s, fd, open)
            .access(Access::WRITE)
            .bytes(iovs.total)
            .offset(offset)
    })?;
    // POSIX says the offset wins; Linux (pwrite(2), BUGS) and wasmtime append, and guests run
    // on those.
    let target = if flags.contains(Fdflags::APPEND) {
        Target::Append
    } else {
        Target::At(offset)
    };
    guest::size(write_file(&*open.file, mem, &iovs, target)?.0)
}

/// Mirrors `lseek`. Positions past the end are allowed; a result below 0 or past u64 is EINVAL
/// (as wasmtime). Errors: ESPIPE (stdio, sockets), EBADF (a directory), ENOTCAPABLE (no
/// FD_SEEK; FD_TELL suffices for `cur + 0`), backend errors (stat for `end`).
pub(crate) fn fd_seek(
    ctx: &mut WasiCtx,
    _mem: &mut GuestMemory<'_>,
    fd: Fd,
    offset: Filedelta,
    whence: Whence,
) -> Result<Filesize, Error> {
    // Decided before the lookup: `cur + 0` moves nothing, so the spec lets FD_TELL alone ask.
    let need = if offset == 0 && matches!(whence, Whence::Cur) {
        &rights::FD_SEEK_QUERY
    } else {
        &rights::FD_SEEK
    };
    let (open, _) = ctx.table.file_mut(fd.into(), need)?;
    let s = Syscall::FdSeek;
    ctx.gate.check(s, || request::on_file(s, fd, open))?;
    let position = match whence {
        // A negative absolute offset, or a sum below 0 or past u64: EINVAL below, as lseek(2).
        Whence::Set => u64::try_from(offset).ok(),
        Whence::Cur => open.position.checked_add_signed(offset),
        // The size is read now, after the policy: another descriptor may have grown the file.
        Whence::End => open.file.stat()?.size.checked_add_signed(offset),
    }
    .ok_or(Errno::Inval)?;
    // A position past the end is kept as it is: a later write there leaves a sparse gap,
    // charged (or refused) by the backend when it happens.
    open.position = position;
    Ok(position)
}

/// Mirrors `lseek(fd, 0, SEEK_CUR)`. Errors: ESPIPE (stdio, sockets), EBADF (a directory),
/// ENOTCAPABLE (neither FD_TELL nor FD_SEEK).
pub(crate) fn fd_tell(
    ctx: &mut WasiCtx,
    _mem: &mut GuestMemory<'_>,
    fd: Fd,
) -> Result<Filesize, Error> {
    let (open, _) = ctx.table.file(fd.into(), &rights::FD_TELL)?;
    let s = Syscall::FdTell;
    ctx.gate.check(s, || request::on_file(s, fd, open))?;
    Ok(open.position)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stdio::LimitAction;
    use crate::table::{Descriptor, OpenFile};
    use crate::vfs::{MemFs, OpenOptions};
    use wiggle::GuestPtr;

    /// A context with captured stdout, a mounted MemFs at fd 3 and file "f" open at fd 4.
    fn setup(stdout: impl Into<Output>, rights: Rights, flags: Fdflags) -> WasiCtx {
        let fs = MemFs::new();
        let options = OpenOptions {
            create: true,
            write: true,
            ..OpenOptions::default()
        };
        let file = fs.root().open_file("f", options).unwrap();
        let mut ctx = WasiCtx::builder().stdout(stdout).mount("/", fs).build();
        let fd = ctx.table.insert(Descriptor {
            kind: Kind::File(OpenFile {
                file,
                position: 0,
                guest_path: "/f".into(),
                mount: "/".into(),
            }),
            base: rights,
            inheriting: Rights::empty(),
            flags,
        });
        assert_eq!(fd, Ok(4));
        ctx
    }

    /// Guest memory with iovecs at 0 (each `(ptr, len)`) and free space from 1024.
    fn memory(iovs: &[(u32, u32)]) -> Vec<u8> {
        let mut raw = vec![0u8; 64 * 1024];
        for (i, (ptr, len)) in iovs.iter().enumerate() {
            raw[i * 8..i * 8 + 4].copy_from_slice(&ptr.to_le_bytes());
            raw[i * 8 + 4..i * 8 + 8].copy_from_slice(&len.to_le_bytes());
        }
        raw
    }

    fn write(ctx: &mut WasiCtx, raw: &mut [u8], fd: u32, n: u32) -> Result<u32, Error> {
        let mut mem = GuestMemory::Unshared(raw);
        fd_write(ctx, &mut mem, fd.into(), GuestPtr::new((0, n)))
    }

    fn read(ctx: &mut WasiCtx, raw: &mut [u8], fd: u32, n: u32) -> Result<u32, Error> {
        let mut mem = GuestMemory::Unshared(raw);
        fd_read(ctx, &mut mem, fd.into(), GuestPtr::new((0, n)))
    }

    fn seek(ctx: &mut WasiCtx, fd: u32, offset: i64, whence: Whence) -> Result<u64, Error> {
        let mut raw = vec![];
        fd_seek(
            ctx,
            &mut GuestMemory::Unshared(&mut raw),
            fd.into(),
            offset,
            whence,
        )
    }

    fn errno<T: std::fmt::Debug>(r: Result<T, Error>) -> Errno {
        r.unwrap_err().downcast().unwrap()
    }

    #[test]
    fn writev_then_seek_then_readv_on_a_file() {
        let mut ctx = setup(Output::null(), rights::FILE_ALL, Fdflags::empty());
        let mut raw = memory(&[(1024, 3), (2048, 0), (1030, 2)]);
        raw[1024..1027].copy_from_slice(b"abc");
        raw[1030..1032].copy_from_slice(b"de");
        assert_eq!(write(&mut ctx, &mut raw, 4, 3).unwrap(), 5);
        assert_eq!(seek(&mut ctx, 4, 0, Whence::Cur).unwrap(), 5);
        assert_eq!(seek(&mut ctx, 4, -4, Whence::End).unwrap(), 1);
        let mut raw = memory(&[(4096, 2), (5000, 10)]);
        assert_eq!(read(&mut ctx, &mut raw, 4, 2).unwrap(), 4);
        assert_eq!(&raw[4096..4098], b"bc");
        assert_eq!(&raw[5000..5002], b"de");
        assert_eq!(seek(&mut ctx, 4, 0, Whence::Cur).unwrap(), 5);
        // At the end: 0 bytes, position unchanged.
        assert_eq!(read(&mut ctx, &mut raw, 4, 2).unwrap(), 0);
        // Negative results and overflow are EINVAL; past the end is fine.
        assert_eq!(errno(seek(&mut ctx, 4, -6, Whence::Cur)), Errno::Inval);
        assert_eq!(errno(seek(&mut ctx, 4, -1, Whence::Set)), Errno::Inval);
        assert_eq!(
            seek(&mut ctx, 4, i64::MAX, Whence::Set).unwrap(),
            i64::MAX as u64
        );
        assert_eq!(
            seek(&mut ctx, 4, i64::MAX, Whence::Cur).unwrap(),
            u64::MAX - 1
        );
        assert_eq!(errno(seek(&mut ctx, 4, 2, Whence::Cur)), Errno::Inval);
    }

    #[test]
    fn append_writes_at_the_end_and_pwrite_ignores_the_offset() {
        let mut ctx = setup(Output::null(), rights::FILE_ALL, Fdflags::APPEND);
        let mut raw = memory(&[(1024, 3)]);
        raw[1024..1027].copy_from_slice(b"xyz");
        assert_eq!(write(&mut ctx, &mut raw, 4, 1).unwrap(), 3);
        assert_eq!(seek(&mut ctx, 4, 0, Whence::Set).unwrap(), 0);
        assert_eq!(write(&mut ctx, &mut raw, 4, 1).unwrap(), 3);
        assert_eq!(seek(&mut ctx, 4, 0, Whence::Cur).unwrap(), 6);
        let mut mem = GuestMemory::Unshared(&mut raw);
        let n = fd_pwrite(&mut ctx, &mut mem, 4.into(), GuestPtr::new((0, 1)), 0).unwrap();
        assert_eq!(n, 3);
        assert_eq!(seek(&mut ctx, 4, 0, Whence::End).unwrap(), 9);
    }

    #[test]
    fn pread_and_pwrite_leave_the_position() {
        let mut ctx = setup(Output::null(), rights::FILE_ALL, Fdflags::empty());
        let mut raw = memory(&[(1024, 4)]);
        raw[1024..1028].copy_from_slice(b"1234");
        let mut mem = GuestMemory::Unshared(&mut raw);
        let w: CiovecArray = GuestPtr::new((0, 1));
        let r: IovecArray = GuestPtr::new((0, 1));
        assert_eq!(fd_pwrite(&mut ctx, &mut mem, 4.into(), w, 10).unwrap(), 4);
        assert_eq!(fd_pread(&mut ctx, &mut mem, 4.into(), r, 8).unwrap(), 4);
        assert_eq!(&raw[1024..1028], b"\0\x0012");
        assert_eq!(seek(&mut ctx, 4, 0, Whence::Cur).unwrap(), 0);
    }

    #[test]
    fn wrong_kinds_answer_like_wasmtime() {
        let mut ctx = setup(Output::null(), rights::FILE_ALL, Fdflags::empty());
        let mut raw = memory(&[(1024, 4)]);
        let r: IovecArray = GuestPtr::new((0, 1));
        let w: CiovecArray = GuestPtr::new((0, 1));
        let mut mem = GuestMemory::Unshared(&mut raw);
        let m = &mut mem;
        assert_eq!(errno(fd_read(&mut ctx, m, 1.into(), r)), Errno::Badf);
        assert_eq!(errno(fd_read(&mut ctx, m, 3.into(), r)), Errno::Badf);
        assert_eq!(errno(fd_write(&mut ctx, m, 0.into(), w)), Errno::Badf);
        assert_eq!(errno(fd_write(&mut ctx, m, 3.into(), w)), Errno::Badf);
        assert_eq!(errno(fd_write(&mut ctx, m, 99.into(), w)), Errno::Badf);
        assert_eq!(errno(fd_pread(&mut ctx, m, 0.into(), r, 0)), Errno::Spipe);
        assert_eq!(errno(fd_pread(&mut ctx, m, 1.into(), r, 0)), Errno::Badf);
        assert_eq!(errno(fd_pwrite(&mut ctx, m, 1.into(), w, 0)), Errno::Spipe);
        assert_eq!(errno(fd_pwrite(&mut ctx, m, 0.into(), w, 0)), Errno::Badf);
        assert_eq!(errno(fd_pwrite(&mut ctx, m, 3.into(), w, 0)), Errno::Badf);
        assert_eq!(errno(seek(&mut ctx, 1, 0, Whence::Cur)), Errno::Spipe);
        assert_eq!(errno(seek(&mut ctx, 3, 0, Whence::Cur)), Errno::Badf);
        assert_eq!(errno(fd_tell(&mut ctx, m, 0.into())), Errno::Spipe);
    }

    #[test]
    fn missing_rights() {
        let rights = Rights::FD_TELL.union(Rights::FD_READ);
        let mut ctx = setup(Output::null(), rights, Fdflags::empty());
        let mut raw = memory(&[(1024, 4)]);
        // No FD_WRITE: "not open for writing", EBADF as POSIX and wasmtime.
        assert_eq!(errno(write(&mut ctx, &mut raw, 4, 1)), Errno::Badf);
        // No FD_SEEK: ENOTCAPABLE, but FD_TELL allows asking where we are.
        assert_eq!(errno(seek(&mut ctx, 4, 1, Whence::Set)), Errno::Notcapable);
        assert_eq!(seek(&mut ctx, 4, 0, Whence::Cur).unwrap(), 0);
        let mut mem = GuestMemory::Unshared(&mut raw);
        let r = fd_pread(&mut ctx, &mut mem, 4.into(), GuestPtr::new((0, 1)), 0);
        assert_eq!(errno(r), Errno::Notcapable);
    }

    #[test]
    fn stdout_writes_all_buffers_and_aliases_cost_no_host_memory() {
        let out = Output::capture().build();
        let mut ctx = setup(out.clone(), rights::FILE_ALL, Fdflags::empty());
        let mut raw = memory(&[(1024, 2), (1026, 3)]);
        raw[1024..1029].copy_from_slice(b"hello");
        assert_eq!(write(&mut ctx, &mut raw, 1, 2).unwrap(), 5);
        assert_eq!(out.contents(), b"hello");

        // 2000 iovecs aliasing one 60 KiB region: only MAX_IOVS of them are used.
        let null = Output::null().build();
        let mut ctx = setup(null.clone(), rights::FILE_ALL, Fdflags::empty());
        let mut raw = memory(&vec![(1024 * 20, 60 * 1024 - 1024 * 20); 2000]);
        let n = write(&mut ctx, &mut raw, 1, 2000).unwrap();
        assert_eq!(u64::from(n), u64::from(guest::MAX_IOVS) * 40 * 1024);
        assert_eq!(null.written(), u64::from(n));
    }

    #[test]
    fn stdout_limit_trap_delivers_what_fits_then_traps() {
        let out = Output::capture().limit(4).build();
        let mut ctx = setup(out.clone(), rights::FILE_ALL, Fdflags::empty());
        let mut raw = memory(&[(1024, 3), (1024, 3)]);
        raw[1024..1027].copy_from_slice(b"abc");
        let err = write(&mut ctx, &mut raw, 1, 2).unwrap_err();
        assert!(err.downcast().is_err(), "a trap");
        assert_eq!(out.contents(), b"abca");
    }

    #[test]
    fn stdout_limit_truncate_writes_short_then_efbig() {
        let out = Output::capture()
            .limit(4)
            .on_limit(LimitAction::Truncate)
            .build();
        let mut ctx = setup(out.clone(), rights::FILE_ALL, Fdflags::empty());
        let mut raw = memory(&[(1024, 3), (1024, 3)]);
        raw[1024..1027].copy_from_slice(b"abc");
        assert_eq!(write(&mut ctx, &mut raw, 1, 2).unwrap(), 4);
        assert_eq!(errno(write(&mut ctx, &mut raw, 1, 2)), Errno::Fbig);
        // Zero-length writes still succeed.
        assert_eq!(write(&mut ctx, &mut raw, 1, 0).unwrap(), 0);
        assert_eq!(out.contents(), b"abca");
    }

    #[test]
    fn out_of_bounds_buffers_trap_before_anything_is_written() {
        let out = Output::capture().build();
        let mut ctx = setup(out.clone(), rights::FILE_ALL, Fdflags::empty());
        let mut raw = memory(&[(1024, 3), (65535, 2)]);
        assert!(
            write(&mut ctx, &mut raw, 1, 2)
                .unwrap_err()
                .downcast()
                .is_err()
        );
        assert!(out.contents().is_empty());
    }

    #[test]
    fn stdin_reads_the_first_buffer_and_nonblocking_says_eagain() {
        let (input, writer) = Input::pipe();
        let mut ctx = WasiCtx::builder().stdin(input).build();
        let mut raw = memory(&[(1024, 0), (2048, 2), (3000, 10)]);
        // The first buffer is empty, so the read lands in the second, and only there.
        writer.write(b"xyz");
        assert_eq!(read(&mut ctx, &mut raw, 0, 3).unwrap(), 2);
        assert_eq!(&raw[2048..2050], b"xy");
        ctx.table.get_mut(0).unwrap().flags = Fdflags::NONBLOCK;
        assert_eq!(read(&mut ctx, &mut raw, 0, 3).unwrap(), 1);
        assert_eq!(errno(read(&mut ctx, &mut raw, 0, 3)), Errno::Again);
        writer.close();
        assert_eq!(read(&mut ctx, &mut raw, 0, 3).unwrap(), 0);
    }
}
