//! `path_open`: the one syscall that turns a path into a new descriptor. It checks the
//! directory's rights, narrows the requested rights to what the directory may pass on,
//! derives write intent from *every* flag (SECURITY.md: TRUNC on a read-only mount), resolves
//! through `vfs::resolve`, and inserts the result in the table. It never walks paths itself.

use super::path::follow;
use crate::abi::types::*;
use crate::ctx::WasiCtx;
use crate::guest;
use crate::policy::{Access, Flags, Request, Syscall};
use crate::rights;
use crate::table::{Descriptor, DirRef, Kind, OpenDir, OpenFile};
use crate::vfs::resolve::{Follow, Found, Last, Parent, resolve, resolve_parent};
use crate::vfs::{Dir, File, FsError, FsResult, OpenOptions};
use std::sync::Arc;
use wiggle::{GuestMemory, GuestPtr};

/// What the open will produce.
enum Opened {
    /// A directory descriptor on this directory.
    Dir(Arc<dyn Dir>),
    /// A file to open (or create) by name in the parent, once the policy and table agree.
    Name { parent: Arc<dyn Dir>, name: String },
    /// A file the fast path already opened (no policy on path_open, a free slot).
    File(Arc<dyn File>),
}

/// openat: EBADF, ENOTDIR, ENOTCAPABLE (PATH_OPEN, +PATH_CREATE_FILE with CREAT,
/// +PATH_FILESTAT_SET_SIZE with TRUNC), ENOTSUP
/// (sync fdflags, as wasmtime), EINVAL (DIRECTORY with CREAT/EXCL/TRUNC), ENOENT, EEXIST,
/// EISDIR, ELOOP (a final symlink without SYMLINK_FOLLOW), EPERM (escape or read-only mount), EMFILE.
#[allow(clippy::too_many_arguments)]
pub(crate) fn path_open(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    fd: Fd,
    dirflags: Lookupflags,
    path: GuestPtr<str>,
    oflags: Oflags,
    fs_rights_base: Rights,
    fs_rights_inheriting: Rights,
    fdflags: Fdflags,
) -> Result<Fd, Error> {
    // wasmtime reads the path before looking at the descriptor; keep the same order.
    let path = guest::read_path(mem, path)?;
    open_path(
        ctx,
        fd,
        dirflags,
        &path,
        oflags,
        fs_rights_base,
        fs_rights_inheriting,
        fdflags,
    )
}

/// `path_open` once the path is read from guest memory (also the entry of `fast.rs`).
#[allow(clippy::too_many_arguments)]
pub(super) fn open_path(
    ctx: &mut WasiCtx,
    fd: Fd,
    dirflags: Lookupflags,
    path: &str,
    oflags: Oflags,
    fs_rights_base: Rights,
    fs_rights_inheriting: Rights,
    fdflags: Fdflags,
) -> Result<Fd, Error> {
    // One lookup: EBADF, ENOTDIR (a regular file, as wasmtime), ENOTCAPABLE, in that order.
    let dir = ctx.table.dir(u32::from(fd), &rights::path_open(oflags))?;
    // After the lookup (a bad descriptor is EBADF whatever the flags), before anything is
    // resolved, let alone created.
    check_flags(oflags, fdflags)?;
    // Asking for more than the directory passes on is not an error: the new fd gets less.
    let base = fs_rights_base & dir.inheriting;
    let inheriting = fs_rights_inheriting & dir.inheriting;
    // Narrowed first: a write right the directory cannot pass on is no write intent below.
    let exclusive = oflags.contains(Oflags::CREAT | Oflags::EXCL);
    let options = OpenOptions {
        create: oflags.contains(Oflags::CREAT),
        exclusive,
        truncate: oflags.contains(Oflags::TRUNC),
        // Derived from every argument (SECURITY.md: permission domains), so a read-only backend
        // refuses the open itself: TRUNC or APPEND alone cannot slip through.
        write: file_write_intent(oflags, base, fdflags),
    };
    // The fast open creates or truncates before the policy check and the EMFILE check
    // below, so it may only run when neither can refuse. O_DIRECTORY needs the kind of what
    // is there first, which only the full path looks up.
    let fast = !oflags.contains(Oflags::DIRECTORY)
        && !ctx.gate.wants(Syscall::PathOpen)
        && ctx.table.has_room();
    let (target, guest_path) = open_target(&dir, fast, path, dirflags, oflags, base, options)?;
    // Owned, so that `dir`'s borrow of the table can end before `insert`.
    let mount = Arc::clone(dir.mount);
    let opened = match target {
        Ok(opened) => opened,
        // A missing name is judged before it is reported: a guest a rule refuses must not learn
        // from ENOENT what exists under it (the make and move calls do the same).
        Err(FsError::NotFound) => {
            ctx.gate.check(Syscall::PathOpen, || {
                Request::new(Syscall::PathOpen)
                    .fd(u32::from(fd))
                    .path(&mount, &guest_path)
                    .access(file_access(oflags, base, fdflags))
            })?;
            return Err(Errno::Noent.into());
        }
        Err(error) => return Err(error.into()),
    };
    // The policy sees the path the resolver walked and everything the open could do.
    ctx.gate.check(Syscall::PathOpen, || {
        Request::new(Syscall::PathOpen)
            .fd(u32::from(fd))
            .path(&mount, &guest_path)
            .access(open_access(&opened, oflags, base, fdflags))
            .flags(Flags {
                oflags,
                fdflags,
                lookup: dirflags,
                rights: fs_rights_base,
                ..Flags::NONE
            })
    })?;
    // Like Linux, find the descriptor slot before creating or truncating anything: a full
    // table must leave the filesystem untouched.
    if !ctx.table.has_room() {
        return Err(Errno::Mfile.into());
    }
    let (kind, base, flags) = match opened {
        Opened::Dir(dir) => {
            let open = OpenDir {
                dir,
                preopen: None,
                guest_path,
                mount,
            };
            // File rights asked of a directory are dropped (narrowing, not an error); no fdflags
            // apply to one.
            (Kind::Dir(open), base & rights::DIR_FITS, Fdflags::empty())
        }
        Opened::Name { parent, name } => {
            // Only now is anything created or truncated: the policy agreed and a slot is free.
            let file = parent.open_file(&name, options)?;
            file_kind(file, guest_path, mount, base, fdflags)
        }
        Opened::File(file) => file_kind(file, guest_path, mount, base, fdflags),
    };
    let desc = Descriptor {
        kind,
        base,
        inheriting,
        flags,
    };
    // Cannot be EMFILE: room was checked above and nothing was inserted since.
    Ok(Fd::from(ctx.table.insert(desc)?))
}

/// ENOTSUP for the sync fdflags, EINVAL for DIRECTORY with CREAT, EXCL or TRUNC.
fn check_flags(oflags: Oflags, fdflags: Fdflags) -> Result<(), Errno> {
    // cap-primitives cannot honour the sync flags, so wasmtime refuses them; so do we, rather
    // than accept a promise the host backend would not keep.
    if fdflags.intersects(Fdflags::DSYNC | Fdflags::RSYNC | Fdflags::SYNC) {
        return Err(Errno::Notsup);
    }
    // open cannot make a directory, and truncating one means nothing.
    if oflags.contains(Oflags::DIRECTORY)
        && oflags.intersects(Oflags::CREAT | Oflags::EXCL | Oflags::TRUNC)
    {
        return Err(Errno::Inval);
    }
    Ok(())
}

/// What `path` opens and its full guest path (the directory's joined with the resolved
/// path): by the fast open when `fast` says it may run and it applies, else by resolving and
/// deciding with [`target`]. Once the path resolved, the open's own error (ENOENT among them)
/// comes back inside, with the path, so that the caller judges a missing name before saying so.
fn open_target(
    dir: &DirRef<'_>,
    fast: bool,
    path: &str,
    dirflags: Lookupflags,
    oflags: Oflags,
    base: Rights,
    options: OpenOptions,
) -> FsResult<(FsResult<Opened>, String)> {
    if fast && let Some((file, parent)) = open_fast(dir.dir, path, options)? {
        return Ok((
            Ok(Opened::File(file)),
            parent.guest_path_under(dir.guest_path),
        ));
    }
    // O_EXCL never follows a final symlink: an existing link (even dangling) is EEXIST.
    let follow = if options.exclusive {
        Follow::No
    } else {
        follow(dirflags)
    };
    let resolved = resolve(dir.dir, path, follow)?;
    // From the resolved path (`..` applied, symlinks expanded), never from what the guest
    // typed: this is the name policies, audit and later renames see.
    let guest_path = join(dir.guest_path, &resolved.guest_path);
    let opened = target(
        resolved.dir,
        resolved.last,
        resolved.trailing_slash,
        oflags,
        base,
    );
    Ok((opened, guest_path))
}

/// The common case, without a policy on path_open and with room in the table (the caller
/// decides): a final plain name opened as a file with one backend call and no lookup of that
/// name. `None` sends the caller down the full path, which re-decides with Linux's error
/// precedence: taken for anything but a successful open (a failed `open_file` changed nothing)
/// or ENOENT without CREAT (which the full path would answer too, the name being absent).
fn open_fast<'p>(
    dir: &'p Arc<dyn Dir>,
    path: &'p str,
    options: OpenOptions,
) -> FsResult<Option<(Arc<dyn File>, Parent<'p>)>> {
    let Ok(Some(parent)) = resolve_parent(dir, path) else {
        return Ok(None);
    };
    match parent.dir.open_file(&parent.name, options) {
        Ok(file) => Ok(Some((file, parent))),
        // The one error kept: without CREAT the full path would find the name absent too, after
        // the same walk.
        Err(FsError::NotFound) if !options.create => Err(FsError::NotFound),
        // Anything else (a directory, a symlink, EEXIST, a read-only refusal…) is re-decided by
        // the full path with Linux's precedence.
        Err(_) => Ok(None),
    }
}

/// A file descriptor's kind, rights (file rights only) and flags (APPEND and NONBLOCK kept).
fn file_kind(
    file: Arc<dyn File>,
    guest_path: String,
    mount: Arc<str>,
    base: Rights,
    fdflags: Fdflags,
) -> (Kind, Rights, Fdflags) {
    let open = OpenFile {
        file,
        position: 0,
        guest_path,
        mount,
    };
    // What a file keeps after open: the sync flags were refused in `check_flags`, and
    // directory rights asked of a file are dropped below as file rights are from a directory.
    let flags = fdflags & (Fdflags::APPEND | Fdflags::NONBLOCK);
    (Kind::File(open), base & rights::FILE_ALL, flags)
}

/// What the open wants, for the policy: `Access::for_open` for files (READDIR is meaningless
/// there, and wasi-libc asks for it on every read-only open); a directory is listed or stat'ed.
fn open_access(opened: &Opened, oflags: Oflags, base: Rights, fdflags: Fdflags) -> Access {
    match opened {
        Opened::Dir(_) if base.contains(Rights::FD_READDIR) => Access::READDIR,
        Opened::Dir(_) => Access::STAT,
        Opened::Name { .. } | Opened::File(_) => file_access(oflags, base, fdflags),
    }
}

/// What opening a file wants (a missing one is judged as the file it would have been).
fn file_access(oflags: Oflags, base: Rights, fdflags: Fdflags) -> Access {
    let access = Access::for_open(oflags, base, fdflags).difference(Access::READDIR);
    if access.is_empty() {
        Access::STAT
    } else {
        access
    }
}

/// Whether opening a file writes (or may write) through it: any write right that survived
/// narrowing, and CREAT, TRUNC, APPEND. A read-only backend refuses all of these.
fn file_write_intent(oflags: Oflags, base: Rights, fdflags: Fdflags) -> bool {
    base.intersects(rights::FILE_WRITE)
        || oflags.intersects(Oflags::CREAT | Oflags::TRUNC)
        || fdflags.contains(Fdflags::APPEND)
}

/// Decides what the resolved path (`dir`, `last`, `trailing_slash` of a
/// [`crate::vfs::resolve::Resolved`]) opens,
/// with Linux's precedence of errors: EEXIST for CREAT|EXCL on anything existing, then
/// EISDIR/ENOTDIR/ELOOP by kind.
fn target(
    dir: Arc<dyn Dir>,
    last: Last,
    trailing_slash: bool,
    oflags: Oflags,
    base: Rights,
) -> FsResult<Opened> {
    let create = oflags.contains(Oflags::CREAT);
    let exclusive = create && oflags.contains(Oflags::EXCL);
    let want_dir = oflags.contains(Oflags::DIRECTORY);
    let open_dir = |d: Arc<dyn Dir>| {
        if exclusive {
            Err(FsError::Exists)
        // Writing a directory is EISDIR; wasmtime (through the OS) tests FD_WRITE only,
        // the other write rights are merely narrowed away by DIR_FITS.
        } else if create || oflags.contains(Oflags::TRUNC) || base.contains(Rights::FD_WRITE) {
            Err(FsError::IsDir)
        } else {
            Ok(Opened::Dir(d))
        }
    };
    match last {
        Last::Dir => open_dir(dir),
        Last::Entry {
            node: Some(Found::Dir(d)),
            ..
        } => open_dir(d),
        Last::Entry {
            node: Some(Found::Symlink(_)),
            ..
        } => Err(if exclusive {
            FsError::Exists
        } else {
            // O_NOFOLLOW on a symlink, with or without O_DIRECTORY: ELOOP, as wasmtime (Linux
            // would say ENOTDIR when O_DIRECTORY is set).
            FsError::Loop
        }),
        Last::Entry {
            node: Some(Found::File),
            name,
        } => {
            if exclusive {
                Err(FsError::Exists)
            } else if want_dir || trailing_slash {
                Err(FsError::NotDir)
            } else {
                Ok(Opened::Name { parent: dir, name })
            }
        }
        // A missing name: only CREAT makes it, and only as a regular file.
        Last::Entry { node: None, name } => {
            if !create {
                Err(FsError::NotFound)
            } else if trailing_slash {
                // open("new/", O_CREAT): only directories end in '/', and open cannot make one.
                Err(FsError::IsDir)
            } else {
                Ok(Opened::Name { parent: dir, name })
            }
        }
    }
}

/// The guest path of a descriptor opened at `rel` (normalised) below `base`.
fn join(base: &str, rel: &str) -> String {
    if rel == "." {
        return base.to_owned();
    }
    let mut out = String::with_capacity(base.len() + 1 + rel.len());
    out.push_str(base);
    if !(base.is_empty() || base.ends_with('/')) {
        out.push('/');
    }
    out.push_str(rel);
    out
}
