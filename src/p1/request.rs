//! How the syscalls describe themselves to the policy: small builders of `policy::Request`s
//! from a descriptor the call already looked up, or from a path the resolver walked. Each
//! takes the gate and what the body holds — never the whole context — so no call looks its fd
//! up twice. Requests are only built on the slow path (a policy restricts the call, or an
//! audit sink records it), so joining paths may allocate here. Nothing here decides, and no
//! path is ever built from what the guest typed: always from `Resolved::guest_path`, which has
//! `..` applied and symlinks expanded.

use crate::abi::types::{Error, Fd, Lookupflags};
use crate::gate::Gate;
use crate::policy::{Access, Flags, Request, Syscall, join};
use crate::table::{DirRef, Kind, OpenFile, Table};
use crate::vfs::resolve::Resolved;
use std::sync::Arc;

/// A call on descriptor `fd`, with the guest path and mount of the file or directory behind it
/// (streams and sockets have none).
pub(super) fn on_fd(syscall: Syscall, fd: Fd, kind: &Kind) -> Request<'_> {
    let request = Request::new(syscall).fd(u32::from(fd));
    match kind {
        Kind::File(open) => request.path(&open.mount, &open.guest_path),
        Kind::Dir(open) => request.path(&open.mount, &open.guest_path),
        // No guest path: path rules never match these; syscall and access rules still do.
        Kind::Stdin(_) | Kind::Output(_) | Kind::Socket(_) => request,
    }
}

/// A call on the regular file `open` behind descriptor `fd`.
pub(super) fn on_file(syscall: Syscall, fd: Fd, open: &OpenFile) -> Request<'_> {
    Request::new(syscall)
        .fd(u32::from(fd))
        .path(&open.mount, &open.guest_path)
}

/// A call on directory descriptor `fd` itself (`dir`).
pub(super) fn on_dir<'d>(syscall: Syscall, fd: Fd, dir: &DirRef<'d>) -> Request<'d> {
    Request::new(syscall)
        .fd(u32::from(fd))
        .path(dir.mount, dir.guest_path)
}

/// A path as the policy sees it: the mount it is under and its full, normalised guest path.
pub(super) struct Target<'t> {
    /// The guest name of the mount.
    pub mount: &'t str,
    /// The directory's guest path joined with the resolved relative path.
    pub path: String,
}

/// The target of `resolved` (a `Resolved::guest_path`, relative to `dir`).
pub(super) fn target<'t>(dir: &DirRef<'t>, resolved: &str) -> Target<'t> {
    Target {
        mount: dir.mount,
        // `join` normalises, so rules compare `/data/x`, never `/data/./x` or `/data/y/../x`.
        path: join(dir.guest_path, resolved),
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

/// The policy check of a one-path call on directory `fd` (`dir`), after resolving and before
/// acting. The full path is only joined when the gate wants a request.
#[inline]
pub(super) fn check_path(
    gate: &mut Gate,
    (fd, dir): (Fd, &DirRef<'_>),
    syscall: Syscall,
    resolved: &Resolved,
    access: Access,
    flags: Flags,
) -> Result<(), Error> {
    // Asked before `target`: the join allocates, and the common unchecked call must not.
    if !gate.wants(syscall) {
        return Ok(());
    }
    let t = target(dir, &resolved.guest_path);
    gate.check(syscall, || {
        t.request(syscall, fd).access(access).flags(flags)
    })
}

/// One side of a two-path call: the directory descriptor and what was resolved below it.
pub(super) type Side<'a, 'd> = (Fd, &'a DirRef<'d>, &'a Resolved);

/// The policy check of a two-path call (rename, link): both sides are shown, so a rule on
/// either side applies; `subtree` (a directory rename) says each side stands for everything
/// below it, which the policy judges too (`Request::gives_new_names`).
#[inline]
pub(super) fn check_two_paths(
    gate: &mut Gate,
    syscall: Syscall,
    (fd, dir, old): Side<'_, '_>,
    (new_fd, new_dir, new): Side<'_, '_>,
    (access, subtree): (Access, bool),
    flags: Flags,
) -> Result<(), Error> {
    // One request with both sides (SECURITY.md: two-path operations check both), so a rule
    // that refuses either side refuses the call.
    if !gate.wants(syscall) {
        return Ok(());
    }
    let from = target(dir, &old.guest_path);
    let to = target(new_dir, &new.guest_path);
    gate.check(syscall, || {
        from.request(syscall, fd)
            .fd2(u32::from(new_fd))
            .path2(to.mount, &to.path)
            .access(access)
            .subtree(subtree)
            .flags(flags)
    })
}

/// Where a rename moved something, in guest terms: (mount, full guest path) of each side.
pub(super) type Moved = ((Arc<str>, String), (Arc<str>, String));

/// The guest names of a rename's two sides, taken before the rename (so the table's borrow
/// ends before [`track_rename`] changes it).
pub(super) fn moved(from: Side<'_, '_>, to: Side<'_, '_>) -> Moved {
    let side = |(_, dir, resolved): Side<'_, '_>| {
        (
            Arc::clone(dir.mount),
            join(dir.guest_path, &resolved.guest_path),
        )
    };
    (side(from), side(to))
}

/// After a successful rename: descriptors opened at or below the old name answer to the new
/// one, so that policies (and audit) see where their contents are now — a descriptor held
/// across a rename must not keep a name that no rule protects.
pub(super) fn track_rename(table: &mut Table, ((old_mount, old), (new_mount, new)): Moved) {
    table.rename_paths(&old_mount, &old, &new_mount, &new);
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

/// The policy check of a call on descriptor `fd` (of `kind`), after its own checks and before
/// it acts: `extend` adds what the call wants to the descriptor's request.
#[inline]
pub(super) fn check_fd(
    gate: &mut Gate,
    syscall: Syscall,
    (fd, kind): (Fd, &Kind),
    extend: impl FnOnce(Request<'_>) -> Request<'_>,
) -> Result<(), Error> {
    gate.check(syscall, || extend(on_fd(syscall, fd, kind)))
}
