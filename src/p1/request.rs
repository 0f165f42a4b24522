//! How the syscalls describe themselves to the policy: small builders of `policy::Request`s
//! from a descriptor or from a path the resolver walked. Only called on the slow path (a policy
//! restricts the call, or an audit sink records it), so joining paths may allocate here.
//! Nothing here decides, and no path is ever built from what the guest typed: always from
//! `Resolved::guest_path`, which has `..` applied and symlinks expanded.

use crate::abi::types::{Error, Fd, Lookupflags};
use crate::ctx::WasiCtx;
use crate::policy::{Access, Flags, Request, Syscall, join};
use crate::table::{Kind, Table};
use crate::vfs::resolve::Resolved;

/// A call on descriptor `fd`, with the guest path and mount of the file or directory behind it
/// (streams and sockets have none).
pub(super) fn on_fd(syscall: Syscall, fd: Fd, kind: &Kind) -> Request<'_> {
    let request = Request::new(syscall).fd(u32::from(fd));
    match kind {
        Kind::File(open) => request.path(&open.mount, &open.guest_path),
        Kind::Dir(open) => request.path(&open.mount, &open.guest_path),
        Kind::Stdin(_) | Kind::Output(_) | Kind::Socket(_) => request,
    }
}

/// A call on descriptor `fd` as found in `table` (only the fd when it is not open).
pub(super) fn on_table_fd(syscall: Syscall, fd: Fd, table: &Table) -> Request<'_> {
    match table.get(u32::from(fd)) {
        Ok(desc) => on_fd(syscall, fd, &desc.kind),
        Err(_) => Request::new(syscall).fd(u32::from(fd)),
    }
}

/// A path as the policy sees it: the mount it is under and its full, normalised guest path.
pub(super) struct Target<'t> {
    /// The guest name of the mount.
    pub mount: &'t str,
    /// The directory's guest path joined with the resolved relative path.
    pub path: String,
}

/// The target of `resolved` (a `Resolved::guest_path`, relative to directory `fd`).
pub(super) fn target<'t>(table: &'t Table, fd: Fd, resolved: &str) -> Target<'t> {
    match table.get(u32::from(fd)).map(|desc| &desc.kind) {
        Ok(Kind::Dir(dir)) => Target {
            mount: &dir.mount,
            path: join(&dir.guest_path, resolved),
        },
        // Unreachable after a successful `dir_of`; a rootless path is still checked.
        _ => Target {
            mount: "",
            path: join("/", resolved),
        },
    }
}

impl Target<'_> {
    /// A one-path request on directory `fd` for this target.
    pub(super) fn request(&self, syscall: Syscall, fd: Fd) -> Request<'_> {
        Request::new(syscall)
            .fd(u32::from(fd))
            .path(self.mount, &self.path)
    }
}

/// The policy check of a one-path call, after resolving and before acting. The full path is
/// only joined when the gate wants a request.
#[inline]
pub(super) fn check_path(
    ctx: &mut WasiCtx,
    syscall: Syscall,
    fd: Fd,
    resolved: &Resolved,
    access: Access,
    flags: Flags,
) -> Result<(), Error> {
    if !ctx.gate.wants(syscall) {
        return Ok(());
    }
    let t = target(&ctx.table, fd, &resolved.guest_path);
    ctx.gate.check(syscall, || {
        t.request(syscall, fd).access(access).flags(flags)
    })
}

/// The policy check of a two-path call (rename, link): both sides are shown, so a rule on
/// either side applies; `subtree` (a directory rename) says each side stands for everything
/// below it, which the policy judges too (`Request::gives_new_names`).
#[inline]
pub(super) fn check_two_paths(
    ctx: &mut WasiCtx,
    syscall: Syscall,
    (fd, old): (Fd, &Resolved),
    (new_fd, new): (Fd, &Resolved),
    (access, subtree): (Access, bool),
    flags: Flags,
) -> Result<(), Error> {
    if !ctx.gate.wants(syscall) {
        return Ok(());
    }
    let from = target(&ctx.table, fd, &old.guest_path);
    let to = target(&ctx.table, new_fd, &new.guest_path);
    ctx.gate.check(syscall, || {
        from.request(syscall, fd)
            .fd2(u32::from(new_fd))
            .path2(to.mount, &to.path)
            .access(access)
            .subtree(subtree)
            .flags(flags)
    })
}

/// After a successful rename: descriptors opened at or below the old name answer to the new
/// one, so that policies (and audit) see where their contents are now — a descriptor held
/// across a rename must not keep a name that no rule protects.
pub(super) fn track_rename(
    ctx: &mut WasiCtx,
    (fd, old): (Fd, &Resolved),
    (new_fd, new): (Fd, &Resolved),
) {
    let side = |fd: Fd, resolved: &Resolved| match ctx.table.get(u32::from(fd)).map(|d| &d.kind) {
        Ok(Kind::Dir(dir)) => Some((
            std::sync::Arc::clone(&dir.mount),
            join(&dir.guest_path, &resolved.guest_path),
        )),
        _ => None,
    };
    let (Some((old_mount, old_path)), Some((new_mount, new_path))) =
        (side(fd, old), side(new_fd, new))
    else {
        return;
    };
    ctx.table
        .rename_paths(&old_mount, &old_path, &new_mount, &new_path);
}

/// Lookup flags as a request's flags.
pub(super) fn lookup(flags: Lookupflags) -> Flags {
    Flags {
        lookup: flags,
        ..Flags::NONE
    }
}

/// A read or write of `bytes` on descriptor `fd`: `access` (READ or WRITE) only applies to
/// files, since streams and sockets touch no filesystem.
pub(super) fn io(syscall: Syscall, fd: Fd, kind: &Kind, access: Access, bytes: u64) -> Request<'_> {
    let request = on_fd(syscall, fd, kind).bytes(bytes);
    match kind {
        Kind::File(_) | Kind::Dir(_) => request.access(access),
        Kind::Stdin(_) | Kind::Output(_) | Kind::Socket(_) => request,
    }
}

/// The policy check of a call on descriptor `fd`, after its own checks and before it acts:
/// `extend` adds what the call wants to the descriptor's request.
#[inline]
pub(super) fn check_fd(
    ctx: &mut WasiCtx,
    syscall: Syscall,
    fd: Fd,
    extend: impl FnOnce(Request<'_>) -> Request<'_>,
) -> Result<(), Error> {
    let table = &ctx.table;
    ctx.gate
        .check(syscall, || extend(on_table_fd(syscall, fd, table)))
}
