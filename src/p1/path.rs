//! The `path_*` syscalls (path_open lives in `path_open.rs`): decode the path, check the
//! directory descriptor's rights, resolve through `vfs::resolve` (the only resolver), then ask
//! the backend one single-name question. No syscall here walks a path or follows a symlink
//! itself, and none maps errors by hand: `FsError` becomes an errno in `errno.rs`.

use super::convert;
use super::request::{self, check_path, check_two_paths, lookup};
use crate::abi::types::*;
use crate::ctx::WasiCtx;
use crate::gate::Gate;
use crate::guest;
use crate::policy::{Access, Flags, Syscall};
use crate::rights;
use crate::vfs::resolve::{Existing, Follow, Found, Last, Resolved, resolve, resolve_parent};
use crate::vfs::{self, Dir, FileType, FsError};
use std::sync::Arc;
use wiggle::{GuestMemory, GuestPtr};

pub(crate) use super::path_open::path_open;

/// How `lookupflags` treat a final symlink.
pub(super) fn follow(flags: Lookupflags) -> Follow {
    // Without the flag `No`, not `Never`: POSIX still follows a final link when the path ends
    // in `/`.
    if flags.contains(Lookupflags::SYMLINK_FOLLOW) {
        Follow::Yes
    } else {
        Follow::No
    }
}

/// The (parent, name) of a path whose final entry is created, refusing what exists.
/// `Last::Dir` (`.`, `a/..`) and any existing entry → EEXIST; a missing name with a trailing
/// slash → ENOENT, as Linux does for everything but mkdir.
fn new_entry(r: &Resolved, slash_ok: bool) -> Result<&str, FsError> {
    match &r.last {
        // A symlink is an existing entry, dangling or not: a create never goes through one.
        Last::Dir | Last::Entry { node: Some(_), .. } => Err(FsError::Exists),
        Last::Entry { node: None, .. } if r.trailing_slash && !slash_ok => Err(FsError::NotFound),
        Last::Entry { name, node: None } => Ok(name),
    }
}

/// The source name's error of a two-path call, now if no policy judges the call (wasmtime's
/// order: the source before anything about the new path), else kept for after the policy,
/// so that a refused guest learns nothing about the name (RATIONALE "Policies").
fn source_first_unless_judged<T>(
    gate: &Gate,
    syscall: Syscall,
    source: Result<T, FsError>,
) -> Result<Result<T, FsError>, Error> {
    match source {
        Err(error) if !gate.wants(syscall) => Err(error.into()),
        kept => Ok(kept),
    }
}

/// fstatat: EBADF, ENOTDIR, ENOTCAPABLE, ENOENT, ELOOP, EPERM (escape), ENAMETOOLONG, EINVAL.
pub(crate) fn path_filestat_get(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    fd: Fd,
    flags: Lookupflags,
    path: GuestPtr<str>,
) -> Result<Filestat, Error> {
    let dir = ctx
        .table
        .dir(fd.into(), &rights::dir(Rights::PATH_FILESTAT_GET))?;
    let path = guest::read_path(mem, path)?;
    let s = Syscall::PathFilestatGet;
    // Only while no policy or audit wants the request: the fast path never builds the
    // resolved guest path a request is made of.
    if !ctx.gate.wants(s)
        && let Some(stat) = stat_fast(dir.dir, &path, follow(flags))?
    {
        return Ok(convert::filestat(&stat));
    }
    // Resolved before the policy is asked: it judges the path the resolver walked, `..`
    // applied and symlinks expanded, never the spelling the guest passed.
    let r = resolve(dir.dir, &path, follow(flags))?;
    check_path(
        &mut ctx.gate,
        (fd, &dir),
        s,
        &r,
        Access::STAT,
        lookup(flags),
    )?;
    let stat = match r.existing()? {
        // The walk opened the directory: it is stat'ed through that handle.
        Existing::Dir(dir) => dir.stat()?,
        // A file is stat'ed by name (one fstatat), never opened.
        Existing::File { dir, name } | Existing::Symlink { dir, name, .. } => dir.stat_at(name)?,
    };
    Ok(convert::filestat(&stat))
}

/// The common case of path_filestat_get without a policy on it: one `stat_at` on the final
/// name, no lookup first. `None` sends the caller down the full path, which answers with
/// full semantics: a symlink to follow, a path ending in `.`, `..` or `/`, any error but ENOENT
/// (which the full path would answer too, the name being absent).
fn stat_fast(
    dir: &Arc<dyn Dir>,
    path: &str,
    follow: Follow,
) -> Result<Option<vfs::Filestat>, FsError> {
    // Any error of the walk is left to the full path, which meets it in the same loop
    // (`Walk::seek_last`): the answer is the full path's either way.
    let Ok(Some(parent)) = resolve_parent(dir, path) else {
        return Ok(None);
    };
    match parent.dir.stat_at(&parent.name) {
        // A link to follow needs the resolver's expansion and its ELOOP budget.
        Ok(stat) if stat.filetype == FileType::Symlink && follow == Follow::Yes => Ok(None),
        Ok(stat) => Ok(Some(stat)),
        // The one error answered here: after the same walk, the full path finds the name absent
        // and says ENOENT too.
        Err(FsError::NotFound) => Err(FsError::NotFound),
        Err(_) => Ok(None),
    }
}

/// utimensat: EINVAL (a time both given and NOW), and the errnos of path_filestat_get,
/// EPERM (read-only mount)/EACCES from the backend.
#[allow(clippy::too_many_arguments)]
pub(crate) fn path_filestat_set_times(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    fd: Fd,
    flags: Lookupflags,
    path: GuestPtr<str>,
    atim: Timestamp,
    mtim: Timestamp,
    fst_flags: Fstflags,
) -> Result<(), Error> {
    // Flags first, as wasmtime: a bad combination is EINVAL whatever the path.
    let (atime, mtime) = convert::set_times(atim, mtim, fst_flags)?;
    let dir = ctx
        .table
        .dir(fd.into(), &rights::dir(Rights::PATH_FILESTAT_SET_TIMES))?;
    let path = guest::read_path(mem, path)?;
    let r = resolve(dir.dir, &path, follow(flags))?;
    let request_flags = Flags {
        lookup: flags,
        fst: fst_flags,
        ..Flags::NONE
    };
    let s = Syscall::PathFilestatSetTimes;
    check_path(
        &mut ctx.gate,
        (fd, &dir),
        s,
        &r,
        Access::SET_TIMES,
        request_flags,
    )?;
    match r.existing()? {
        Existing::Dir(dir) => dir.set_times(atime, mtime)?,
        Existing::File { dir, name } | Existing::Symlink { dir, name, .. } => {
            // By name in the parent, as utimensat: a file is not opened to change its times, and an
            // unfollowed symlink gets its own times set.
            dir.set_times_at(name, atime, mtime)?
        }
    }
    Ok(())
}

/// linkat: EBADF, ENOTDIR, ENOTCAPABLE (either side), EINVAL (SYMLINK_FOLLOW, as wasmtime),
/// ENOENT, EEXIST, EPERM (a directory, or an escape), EXDEV, EPERM (read-only mount).
pub(crate) fn path_link(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    old_fd: Fd,
    old_flags: Lookupflags,
    old_path: GuestPtr<str>,
    new_fd: Fd,
    new_path: GuestPtr<str>,
) -> Result<(), Error> {
    let old_dir = ctx
        .table
        .dir(old_fd.into(), &rights::dir(Rights::PATH_LINK_SOURCE))?;
    let new_dir = ctx
        .table
        .dir(new_fd.into(), &rights::dir(Rights::PATH_LINK_TARGET))?;
    // Both descriptors before either path (SECURITY.md: both sides of a two-path call are
    // checked): an error on either side comes before anything about the paths.
    let old_path = guest::read_path(mem, old_path)?;
    let new_path = guest::read_path(mem, new_path)?;
    // wasmtime refuses to follow the source (cap-std has no linkat(AT_SYMLINK_FOLLOW)).
    if old_flags.contains(Lookupflags::SYMLINK_FOLLOW) {
        return Err(Errno::Inval.into());
    }
    // The source is the entry itself: a hard link to a symlink links the symlink.
    let old = resolve(old_dir.dir, &old_path, Follow::Never)?;
    let old_name = match &old.last {
        // Hard links to directories are never allowed (EPERM), `.` included.
        Last::Dir
        | Last::Entry {
            node: Some(Found::Dir(_)),
            ..
        } => Err(FsError::NotPermitted),
        Last::Entry { node: None, .. } => Err(FsError::NotFound),
        // `file/` asks for a directory, which a link source can never be.
        Last::Entry { .. } if old.trailing_slash => Err(FsError::NotDir),
        Last::Entry { name, .. } => Ok(name),
    };
    let s = Syscall::PathLink;
    let old_name = source_first_unless_judged(&ctx.gate, s, old_name)?;
    let new = resolve(new_dir.dir, &new_path, Follow::Never)?;
    // The new name must not exist; `new/` is ENOENT (only mkdir accepts a trailing slash).
    let new_name = new_entry(&new, false);
    let (from, to) = ((old_fd, &old_dir, &old), (new_fd, &new_dir, &new));
    let flags = lookup(old_flags);
    // Both names are judged: a link gives the source's contents a second name, so a rule that
    // protects either side refuses it (SECURITY.md: policy by name only). Judged before the
    // final names' errors, so that a refused guest cannot learn from EEXIST or ENOENT whether
    // a protected name exists, as with every other path call.
    check_two_paths(&mut ctx.gate, s, from, to, (Access::LINK, false), flags)?;
    let (old_name, new_name) = (old_name?, new_name?);
    // The backend answers EXDEV across filesystems and EPERM on a read-only side.
    old.dir.link(old_name, &*new.dir, new_name)?;
    Ok(())
}

/// readlinkat, truncating to `buf_len` as wasmtime does: EBADF, ENOTDIR, ENOTCAPABLE,
/// ENOENT, EINVAL (not a symlink), ELOOP, EPERM (escape); out-of-bounds `buf` traps.
pub(crate) fn path_readlink(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    fd: Fd,
    path: GuestPtr<str>,
    buf: GuestPtr<u8>,
    buf_len: Size,
) -> Result<Size, Error> {
    let dir = ctx
        .table
        .dir(fd.into(), &rights::dir(Rights::PATH_READLINK))?;
    let path = guest::read_path(mem, path)?;
    // `No`: a final link is read, not followed, unless the path ends in `/` (POSIX then
    // follows it, so what it names is no link: EINVAL, or ENOTDIR for a non-directory).
    let r = resolve(dir.dir, &path, Follow::No)?;
    let s = Syscall::PathReadlink;
    // READ: the target's text is what this call reveals.
    check_path(&mut ctx.gate, (fd, &dir), s, &r, Access::READ, Flags::NONE)?;
    let target = match r.existing()? {
        Existing::Symlink { target, .. } => target,
        Existing::Dir(_) | Existing::File { .. } => return Err(FsError::Invalid.into()),
    };
    // Truncation is silent: the caller sees a full buffer and retries with a bigger one.
    write_truncated(mem, buf.offset(), target.as_bytes(), buf_len)
}

/// Copies as much of `src` as fits in `cap` bytes to guest address `ptr`; returns the count.
/// Out-of-bounds destinations trap (only the bytes actually written are checked, as wasmtime).
pub(super) fn write_truncated(
    mem: &mut GuestMemory<'_>,
    ptr: u32,
    src: &[u8],
    cap: u32,
) -> Result<u32, Error> {
    // Saturating: a source past u32 is cut to `cap` anyway.
    let n = u32::try_from(src.len()).unwrap_or(u32::MAX).min(cap);
    let dest = guest::bytes_mut(mem, ptr, n)?;
    // `zip` stops at the shorter side, so this cannot panic whatever the lengths.
    for (d, s) in dest.iter_mut().zip(src) {
        *d = *s;
    }
    Ok(n)
}

/// mkdirat: EBADF, ENOTDIR, ENOTCAPABLE, EEXIST (`.` or an existing entry, a symlink
/// included), ENOENT, EPERM (escape), ENAMETOOLONG, EPERM (read-only mount), ENOSPC.
pub(crate) fn path_create_directory(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    fd: Fd,
    path: GuestPtr<str>,
) -> Result<(), Error> {
    let dir = ctx
        .table
        .dir(fd.into(), &rights::dir(Rights::PATH_CREATE_DIRECTORY))?;
    let path = guest::read_path(mem, path)?;
    // The new name itself is never followed: mkdir on a dangling link is EEXIST, as Linux.
    let r = resolve(dir.dir, &path, Follow::Never)?;
    // mkdir alone accepts "new/": the slash only says "a directory", which it creates.
    let name = new_entry(&r, true);
    let s = Syscall::PathCreateDirectory;
    // The policy before EEXIST: a refused guest learns nothing about the name.
    check_path(
        &mut ctx.gate,
        (fd, &dir),
        s,
        &r,
        Access::CREATE,
        Flags::NONE,
    )?;
    let name = name?;
    // A name that appeared since the resolve is the backend's EEXIST; a `MemFs` charges its
    // budgets before it allocates anything.
    r.dir.create_dir(name)?;
    Ok(())
}

/// unlinkat(AT_REMOVEDIR): EBADF, ENOTDIR, ENOTCAPABLE, ENOENT, ENOTEMPTY, EINVAL (`.`, as
/// wasmtime), EPERM (escape), EPERM (read-only mount).
pub(crate) fn path_remove_directory(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    fd: Fd,
    path: GuestPtr<str>,
) -> Result<(), Error> {
    let dir = ctx
        .table
        .dir(fd.into(), &rights::dir(Rights::PATH_REMOVE_DIRECTORY))?;
    let path = guest::read_path(mem, path)?;
    // Removal names the entry itself: a symlink to a directory is ENOTDIR, even with "/".
    let r = resolve(dir.dir, &path, Follow::Never)?;
    let s = Syscall::PathRemoveDirectory;
    check_path(
        &mut ctx.gate,
        (fd, &dir),
        s,
        &r,
        Access::REMOVE,
        Flags::NONE,
    )?;
    match &r.last {
        // `.` (or `a/..`) has no (parent, name) pair to remove: EINVAL, as rmdir(".").
        Last::Dir => Err(FsError::Invalid.into()),
        Last::Entry { node: None, .. } => Err(FsError::NotFound.into()),
        Last::Entry {
            node: Some(Found::File | Found::Symlink(_)),
            ..
        } => Err(FsError::NotDir.into()),
        // A directory that is not empty is the backend's ENOTEMPTY.
        Last::Entry { name, .. } => Ok(r.dir.remove_dir(name)?),
    }
}

/// renameat: EBADF, ENOTDIR, ENOTCAPABLE (either side), ENOENT, EBUSY (`.` on either side),
/// EISDIR, ENOTEMPTY, EINVAL (into its own subtree), EXDEV, EPERM (escape), EPERM (read-only mount).
pub(crate) fn path_rename(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    fd: Fd,
    old_path: GuestPtr<str>,
    new_fd: Fd,
    new_path: GuestPtr<str>,
) -> Result<(), Error> {
    let old_dir = ctx
        .table
        .dir(fd.into(), &rights::dir(Rights::PATH_RENAME_SOURCE))?;
    let new_dir = ctx
        .table
        .dir(new_fd.into(), &rights::dir(Rights::PATH_RENAME_TARGET))?;
    let old_path = guest::read_path(mem, old_path)?;
    let new_path = guest::read_path(mem, new_path)?;
    let old = resolve(old_dir.dir, &old_path, Follow::Never)?;
    // `.` is a directory too: judged as a subtree, then EBUSY.
    let old_is_dir = match &old.last {
        Last::Dir => true,
        Last::Entry { node, .. } => matches!(node, Some(Found::Dir(_))),
    };
    let old_name = match &old.last {
        // Linux: renaming `.` or `..` (or onto them) is EBUSY.
        Last::Dir => Err(FsError::Busy),
        Last::Entry { node: None, .. } => Err(FsError::NotFound),
        Last::Entry { name, .. } => Ok(name),
    };
    let s = Syscall::PathRename;
    let old_name = source_first_unless_judged(&ctx.gate, s, old_name)?;
    let new = resolve(new_dir.dir, &new_path, Follow::Never)?;
    let new_name = match &new.last {
        Last::Dir => Err(FsError::Busy),
        // An existing target is the backend's to judge: replaced (a file, an empty directory) or
        // refused (EISDIR, ENOTDIR, ENOTEMPTY).
        Last::Entry { name, .. } => Ok(name),
    };
    let (from, to) = ((fd, &old_dir, &old), (new_fd, &new_dir, &new));
    // A directory stands for its whole subtree: the policy judges every path the rename moves,
    // not only the one named (SECURITY.md: policy by name only). Judged before the final
    // names' errors, so that a refused guest cannot probe protected names through ENOENT.
    let access = (Access::RENAME, old_is_dir);
    check_two_paths(&mut ctx.gate, s, from, to, access, Flags::NONE)?;
    // The errors of the names, in the order they had before the policy moved first.
    let old_name = old_name?;
    let new_name = new_name?;
    // A trailing slash on either side says "directory": renaming a non-directory is ENOTDIR.
    if !old_is_dir && (old.trailing_slash || new.trailing_slash) {
        return Err(FsError::NotDir.into());
    }
    let moved = request::moved(from, to);
    old.dir.rename(old_name, &*new.dir, new_name)?;
    // Only after success: a refused rename leaves every descriptor's name as it was.
    request::track_rename(&mut ctx.table, moved);
    Ok(())
}

/// symlinkat: EBADF, ENOTDIR, ENOTCAPABLE, ENOENT (empty target), EPERM (absolute target,
/// as cap-std; or an escaping link path), EINVAL (NUL in the target), EEXIST, EPERM (read-only mount), ENOSPC.
pub(crate) fn path_symlink(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    old_path: GuestPtr<str>,
    fd: Fd,
    new_path: GuestPtr<str>,
) -> Result<(), Error> {
    let dir = ctx
        .table
        .dir(fd.into(), &rights::dir(Rights::PATH_SYMLINK))?;
    // The target is only text, read with the path rules (length cap, UTF-8); it is checked as
    // a target below and never resolved by this call.
    let target = guest::read_path(mem, old_path)?;
    let new_path = guest::read_path(mem, new_path)?;
    // What a new link may point at: never an absolute path (refused at creation *and* at
    // resolution, SECURITY.md), never empty, never a NUL, never longer than Linux allows — the
    // same rule every backend and the resolver apply.
    crate::vfs::names::check_confined_target(&target)?;
    let r = resolve(dir.dir, &new_path, Follow::Never)?;
    let name = new_entry(&r, false);
    let s = Syscall::PathSymlink;
    if ctx.gate.wants(s) {
        // The link's contents are shown as written: they are not a path this call touches.
        // Rules about what the link points at apply when it is followed: every later call
        // resolves it, and the policy sees the path it leads to.
        let at = request::target(&dir, &r.guest_path);
        ctx.gate.check(s, || {
            at.request(s, fd).access(Access::SYMLINK).contents(&target)
        })?;
    }
    // After the policy: a refused guest learns nothing from EEXIST.
    r.dir.symlink(name?, &target)?;
    Ok(())
}

/// unlinkat: EBADF, ENOTDIR (trailing slash on a non-directory), ENOTCAPABLE, ENOENT, EISDIR
/// (a directory, `.` included), EPERM (escape), EPERM (read-only mount).
pub(crate) fn path_unlink_file(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    fd: Fd,
    path: GuestPtr<str>,
) -> Result<(), Error> {
    let dir = ctx
        .table
        .dir(fd.into(), &rights::dir(Rights::PATH_UNLINK_FILE))?;
    let path = guest::read_path(mem, path)?;
    // The entry itself is removed, never what a symlink points at.
    let r = resolve(dir.dir, &path, Follow::Never)?;
    let s = Syscall::PathUnlinkFile;
    check_path(
        &mut ctx.gate,
        (fd, &dir),
        s,
        &r,
        Access::REMOVE,
        Flags::NONE,
    )?;
    match &r.last {
        // unlink never removes a directory, even an empty one: EISDIR (`.` included).
        Last::Dir
        | Last::Entry {
            node: Some(Found::Dir(_)),
            ..
        } => Err(FsError::IsDir.into()),
        Last::Entry { node: None, .. } => Err(FsError::NotFound.into()),
        // `file/` (or `link/`) asks for a directory, and what is there is not one.
        Last::Entry { .. } if r.trailing_slash => Err(FsError::NotDir.into()),
        // Open descriptors keep the file readable; a `MemFs` frees its bytes when the last one
        // closes.
        Last::Entry { name, .. } => Ok(r.dir.unlink(name)?),
    }
}

#[cfg(test)]
#[path = "path_tests.rs"]
mod tests;
