//! Syscall group `fd_close` / `fd_renumber` / `fd_prestat_*`: changes to the descriptor table
//! itself, and the preopen names a guest's libc reads at startup. fd numbers are guest-chosen
//! keys; `table.rs` makes every lookup and move total (no panics, no leaks).

use super::request::check_fd;
use crate::abi::types::*;
use crate::ctx::WasiCtx;
use crate::policy::Syscall;
use crate::rights::Need;
use crate::table::{Kind, OpenDir};
use wiggle::{GuestMemory, GuestPtr};

/// The preopen name of `fd` after the policy allowed `syscall` on it, or the errno `missing`
/// for any other open descriptor. Errors: EBADF (not open), `missing`, the policy's.
fn preopen_name(
    ctx: &mut WasiCtx,
    syscall: Syscall,
    fd: Fd,
    missing: Errno,
) -> Result<&str, Error> {
    // Any open descriptor may ask, and the kind is checked before the policy: no rule is
    // asked about a call that fails anyway.
    let desc = ctx.table.check(fd.into(), &Need::ANY)?;
    let Kind::Dir(OpenDir {
        preopen: Some(name),
        ..
    }) = &desc.kind
    else {
        return Err(missing.into());
    };
    check_fd(&mut ctx.gate, syscall, (fd, &desc.kind), |r| r)?;
    Ok(name)
}

/// Mirrors `close`. Stdio and preopens may be closed too (as in wasmtime). Errors: EBADF.
pub(crate) fn fd_close(ctx: &mut WasiCtx, _mem: &mut GuestMemory<'_>, fd: Fd) -> Result<(), Error> {
    let desc = ctx.table.check(fd.into(), &Need::ANY)?;
    // The table changes only once the policy agreed: a refused close leaves the fd usable.
    check_fd(&mut ctx.gate, Syscall::FdClose, (fd, &desc.kind), |r| r)?;
    // Dropping the descriptor releases its backend handle.
    ctx.table.remove(fd.into())?;
    Ok(())
}

/// Describes a preopen (its name's length). Errors: EBADF (not open, or not a preopen — the
/// legacy answer wasmtime keeps).
pub(crate) fn fd_prestat_get(
    ctx: &mut WasiCtx,
    _mem: &mut GuestMemory<'_>,
    fd: Fd,
) -> Result<Prestat, Error> {
    // EBADF for every non-preopen: wasi-libc scans fds from 3 at startup and stops at the
    // first EBADF, while any other errno aborts its startup.
    let name = preopen_name(ctx, Syscall::FdPrestatGet, fd, Errno::Badf)?;
    let pr_name_len = u32::try_from(name.len()).map_err(|_| Errno::Overflow)?;
    Ok(Prestat::Dir(PrestatDir { pr_name_len }))
}

/// Mirrors `dup2` with the source closed: `fd` moves to `to`, closing what `to` held. Both must
/// be open (as wasmtime). Errors: EBADF.
pub(crate) fn fd_renumber(
    ctx: &mut WasiCtx,
    _mem: &mut GuestMemory<'_>,
    fd: Fd,
    to: Fd,
) -> Result<(), Error> {
    let desc = ctx.table.check(fd.into(), &Need::ANY)?;
    // Both ends must be open (EBADF otherwise, as wasmtime), so `to` is never a guest-chosen
    // number far past the table (SECURITY.md: `fd_renumber(x, u32::MAX)`).
    ctx.table.check(to.into(), &Need::ANY)?;
    let s = Syscall::FdRenumber;
    check_fd(&mut ctx.gate, s, (fd, &desc.kind), |r| r.fd2(u32::from(to)))?;
    // Closes what `to` held, dropping its backend handle: no host descriptor is leaked.
    ctx.table.renumber(fd.into(), to.into())?;
    Ok(())
}

/// Writes a preopen's name (no NUL) into `path`. Errors: EBADF (not open), ENOTDIR (not a
/// preopen — wasmtime's legacy answer), ENAMETOOLONG (`path_len` shorter than the name).
/// Out-of-bounds buffers trap.
pub(crate) fn fd_prestat_dir_name(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    fd: Fd,
    path: GuestPtr<u8>,
    path_len: Size,
) -> Result<(), Error> {
    let name = preopen_name(ctx, Syscall::FdPrestatDirName, fd, Errno::Notdir)?;
    let len = u32::try_from(name.len()).map_err(|_| Errno::Overflow)?;
    // Too short a buffer gets nothing rather than a truncated name, which would name another
    // directory.
    if len > path_len {
        return Err(Errno::Nametoolong.into());
    }
    // Only the name's bytes are written (and checked), as in wasmtime.
    mem.copy_from_slice(name.as_bytes(), path.as_array(len))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vfs::MemFs;

    fn ctx() -> WasiCtx {
        WasiCtx::builder().mount("/sandbox", MemFs::new()).build()
    }

    fn errno<T: std::fmt::Debug>(r: Result<T, Error>) -> Errno {
        r.unwrap_err().downcast().unwrap()
    }

    #[test]
    fn prestat_names_preopens_only() {
        let mut ctx = ctx();
        let mut raw = vec![0u8; 64];
        let mut mem = GuestMemory::Unshared(&mut raw);
        let m = &mut mem;
        let Prestat::Dir(dir) = fd_prestat_get(&mut ctx, m, 3.into()).unwrap();
        assert_eq!(dir.pr_name_len, 8);
        assert_eq!(errno(fd_prestat_get(&mut ctx, m, 0.into())), Errno::Badf);
        assert_eq!(errno(fd_prestat_get(&mut ctx, m, 4.into())), Errno::Badf);
        let name = |ctx: &mut WasiCtx, m: &mut GuestMemory<'_>, fd: u32, len| {
            fd_prestat_dir_name(ctx, m, fd.into(), GuestPtr::new(16), len)
        };
        assert_eq!(errno(name(&mut ctx, m, 3, 7)), Errno::Nametoolong);
        assert_eq!(errno(name(&mut ctx, m, 0, 64)), Errno::Notdir);
        assert_eq!(errno(name(&mut ctx, m, 9, 64)), Errno::Badf);
        name(&mut ctx, m, 3, 40).unwrap();
        // A buffer that is long enough on paper but runs out of memory traps.
        let r = fd_prestat_dir_name(&mut ctx, m, 3.into(), GuestPtr::new(60), 8);
        assert!(r.unwrap_err().downcast().is_err());
        // No NUL is written: byte 24 is still the zero it was.
        assert_eq!(&raw[16..25], b"/sandbox\0");
    }

    #[test]
    fn close_and_renumber_any_descriptor() {
        let mut ctx = ctx();
        let mut raw = vec![];
        let mut mem = GuestMemory::Unshared(&mut raw);
        let m = &mut mem;
        fd_renumber(&mut ctx, m, 3.into(), 1.into()).unwrap();
        assert!(fd_prestat_get(&mut ctx, m, 1.into()).is_ok());
        assert_eq!(
            errno(fd_renumber(&mut ctx, m, 3.into(), 1.into())),
            Errno::Badf
        );
        let r = fd_renumber(&mut ctx, m, 0.into(), u32::MAX.into());
        assert_eq!(errno(r), Errno::Badf);
        fd_close(&mut ctx, m, 1.into()).unwrap();
        fd_close(&mut ctx, m, 0.into()).unwrap();
        assert_eq!(errno(fd_close(&mut ctx, m, 0.into())), Errno::Badf);
        assert_eq!(ctx.open_fds(), 1);
    }
}
