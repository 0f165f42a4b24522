//! `Dir` for the host backend: a held directory fd answering single-name questions with one
//! `*at` call each, never following a symlink. It checks no permissions of its own: a
//! read-only mount is this backend inside `read_only()`, which refuses before we are asked.
//! Readdir serves a name-sorted snapshot taken on rewind (cookie 0), so cookies are stable
//! indices whatever order or `d_off` values the host filesystem uses.

use std::any::Any;
use std::os::fd::OwnedFd;
use std::path::Path;
use std::sync::Arc;

use rustix::fs::{self as rfs, AtFlags, OFlags};
use rustix::io::Errno;

use super::file::HostFile;
use super::{
    DIR_MODE, FILE_MODE, base_flags, filestat, filetype, fs_err, mode, object_flags, timestamps,
};
use crate::vfs::host_shared::{Snapshot, peer};
use crate::vfs::names::{check_confined_target, check_name};
use crate::vfs::{
    Dir, DirEntry, File, FileType, Filestat, FsError, FsResult, Node, NodeKind, OpenOptions,
    SetTime,
};

/// One entry of a readdir snapshot.
#[derive(Debug, Clone)]
struct Listed {
    name: String,
    ino: u64,
    filetype: FileType,
}

/// An open directory of a confined host mount.
pub struct HostDir {
    /// Held open for as long as the handle lives: every call is relative to it, so renames of
    /// this directory on the host (by anyone) never change what the guest reaches through it.
    fd: OwnedFd,
    /// Our own inode number, for the `.` entry.
    ino: u64,
    /// The inode of the directory we were looked up from (our own for a mount root), for
    /// the `..` entry: a root never reveals what lies above the mount.
    parent_ino: u64,
    /// The snapshot readdir cookies index into; replaced on every rewind.
    listing: Snapshot<Listed>,
}

impl std::fmt::Debug for HostDir {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostDir")
            .field("ino", &self.ino)
            .finish_non_exhaustive()
    }
}

impl HostDir {
    /// Opens `path` (resolved by the OS: the embedder chose it) as a read-write mount root;
    /// `read_only(Arc::new(HostDir::open(path)?))` is a read-only one. Everything the guest
    /// reaches below it is resolved by us. Errors: the host's (`NotADirectory` for a file).
    pub fn open(path: impl AsRef<Path>) -> std::io::Result<HostDir> {
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
        let fd = rfs::open(path.as_ref(), flags, rfs::Mode::empty())?;
        let ino = rfs::fstat(&fd)?.st_ino as u64;
        Ok(HostDir::from_fd(fd, ino, ino))
    }

    fn from_fd(fd: OwnedFd, ino: u64, parent_ino: u64) -> HostDir {
        HostDir {
            fd,
            ino,
            parent_ino,
            listing: Snapshot::new(),
        }
    }

    /// Opens the subdirectory `name` without following it. A directory we may search but
    /// not read is held with `O_PATH` (lookups work, readdir answers Access): a guest may
    /// walk through it, as any host program with `x` but not `r` permission may.
    fn open_subdir(&self, name: &str) -> FsResult<HostDir> {
        let flags = base_flags() | OFlags::DIRECTORY;
        // O_DIRECTORY with O_NOFOLLOW: a symlink swapped in after our stat is ELOOP / ENOTDIR,
        // never a directory elsewhere (the race cap-std closes the same way).
        let fd = match rfs::openat(&self.fd, name, flags | OFlags::RDONLY, mode(0)) {
            #[cfg(any(target_os = "linux", target_os = "android"))]
            Err(Errno::ACCESS) => rfs::openat(&self.fd, name, flags | OFlags::PATH, mode(0)),
            other => other,
        }
        .map_err(fs_err)?;
        // The inode of what we opened, not of what we stat'ed before: they may differ.
        let ino = rfs::fstat(&fd).map_err(fs_err)?.st_ino as u64;
        Ok(HostDir::from_fd(fd, ino, self.ino))
    }

    /// Opens a non-directory `name` with `O_PATH`: no side effects (fifos, devices), no
    /// read permission needed; enough for stat and set_times.
    fn open_object(&self, name: &str) -> FsResult<Node> {
        let fd =
            rfs::openat(&self.fd, name, base_flags() | object_flags(), mode(0)).map_err(fs_err)?;
        let st = rfs::fstat(&fd).map_err(fs_err)?;
        match filetype(st.st_mode) {
            // Replaced between our stat and open: answer what is there now.
            FileType::Symlink => Ok(Node::Symlink(self.read_link(name)?)),
            FileType::Directory => Ok(Node::Dir(Arc::new(self.open_subdir(name)?))),
            _ => Ok(Node::File(Arc::new(HostFile::new(fd, false)))),
        }
    }

    /// Takes a fresh, name-sorted listing of the directory (without `.` and `..`). Names that
    /// are not UTF-8 cannot be named by a guest and are left out.
    fn snapshot(&self) -> FsResult<Vec<Listed>> {
        // A fresh description of "." so the listing starts at the beginning and never shares
        // a position with another handle.
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
        let fd = rfs::openat(&self.fd, ".", flags, mode(0)).map_err(fs_err)?;
        let mut out = Vec::new();
        for entry in rfs::Dir::new(fd).map_err(fs_err)? {
            let entry = entry.map_err(fs_err)?;
            let Ok(name) = entry.file_name().to_str() else {
                continue;
            };
            if name == "." || name == ".." {
                continue;
            }
            let mut kind = match entry.file_type() {
                rfs::FileType::Unknown => None,
                t => Some(filetype(t.as_raw_mode())),
            };
            if kind.is_none() {
                // Some filesystems do not fill d_type; ask without following. A name that
                // vanished meanwhile is listed as Unknown: the snapshot is of names, and
                // the guest's next call on it answers ENOENT anyway.
                kind = rfs::statat(&self.fd, name, AtFlags::SYMLINK_NOFOLLOW)
                    .ok()
                    .map(|st| filetype(st.st_mode));
            }
            out.push(Listed {
                name: name.to_owned(),
                ino: entry.ino(),
                filetype: kind.unwrap_or(FileType::Unknown),
            });
        }
        // Sorted so the listing is the same on every filesystem (and the same as the
        // overlay's merged one), whatever order the host's getdents returns.
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }
}

impl Dir for HostDir {
    fn lookup(&self, name: &str) -> FsResult<Node> {
        check_name(name)?;
        // Stat first so a symlink is read, never opened, and a directory is opened with
        // O_DIRECTORY; each open re-checks the type, since the name may change in between.
        let st = rfs::statat(&self.fd, name, AtFlags::SYMLINK_NOFOLLOW).map_err(fs_err)?;
        match filetype(st.st_mode) {
            FileType::Directory => Ok(Node::Dir(Arc::new(self.open_subdir(name)?))),
            FileType::Symlink => Ok(Node::Symlink(self.read_link(name)?)),
            _ => self.open_object(name),
        }
    }

    fn lookup_kind(&self, name: &str) -> FsResult<NodeKind> {
        check_name(name)?;
        // One fstatat, no descriptor: callers that act by (parent, name) need nothing more.
        let st = rfs::statat(&self.fd, name, AtFlags::SYMLINK_NOFOLLOW).map_err(fs_err)?;
        match filetype(st.st_mode) {
            FileType::Directory => Ok(NodeKind::Dir(None)),
            FileType::Symlink => Ok(NodeKind::Symlink(self.read_link(name)?)),
            _ => Ok(NodeKind::File),
        }
    }

    fn open_file(&self, name: &str, options: OpenOptions) -> FsResult<Arc<dyn File>> {
        check_name(name)?;
        // O_NONBLOCK: opening a fifo must not hang the guest; non-regular files are refused
        // right after, so the flag never affects I/O.
        let mut flags = base_flags() | OFlags::NONBLOCK;
        // Write intent is the descriptor layer's decision (rights, read-only mounts): here it
        // only picks the access mode, so a read-only descriptor never holds a writable fd.
        flags |= if options.write {
            OFlags::RDWR
        } else {
            OFlags::RDONLY
        };
        if options.create {
            flags |= OFlags::CREATE;
            if options.exclusive {
                flags |= OFlags::EXCL;
            }
        }
        if options.truncate {
            flags |= OFlags::TRUNC;
        }
        let fd = rfs::openat(&self.fd, name, flags, mode(FILE_MODE)).map_err(fs_err)?;
        let st = rfs::fstat(&fd).map_err(fs_err)?;
        match filetype(st.st_mode) {
            FileType::RegularFile => Ok(Arc::new(HostFile::new(fd, options.write))),
            FileType::Directory => Err(FsError::IsDir),
            // O_NOFOLLOW makes this unreachable; kept so a symlink can never be "opened".
            FileType::Symlink => Err(FsError::Loop),
            // Fifos, sockets and devices are not files a sandboxed guest may do I/O on.
            FileType::CharacterDevice | FileType::Unknown => Err(FsError::NotSupported),
        }
    }

    fn create_dir(&self, name: &str) -> FsResult<()> {
        // DIR_MODE through the umask, as any host program's mkdir: the guest cannot choose
        // modes (preview1 has none), so it cannot make a world-writable directory either.
        check_name(name)?;
        rfs::mkdirat(&self.fd, name, mode(DIR_MODE)).map_err(fs_err)
    }

    fn remove_dir(&self, name: &str) -> FsResult<()> {
        check_name(name)?;
        rfs::unlinkat(&self.fd, name, AtFlags::REMOVEDIR).map_err(fs_err)
    }

    fn unlink(&self, name: &str) -> FsResult<()> {
        check_name(name)?;
        rfs::unlinkat(&self.fd, name, AtFlags::empty()).map_err(fs_err)
    }

    fn symlink(&self, name: &str, target: &str) -> FsResult<()> {
        check_name(name)?;
        // Never an absolute link on the host, even from a caller that skipped the syscall
        // layer's check: other host programs would follow it out of the mount.
        check_confined_target(target)?;
        rfs::symlinkat(target, &self.fd, name).map_err(fs_err)
    }

    fn read_link(&self, name: &str) -> FsResult<String> {
        // readlinkat grows its buffer as needed; Linux stores at most PATH_MAX - 1 bytes.
        check_name(name)?;
        let target = rfs::readlinkat(&self.fd, name, Vec::new()).map_err(fs_err)?;
        target.into_string().map_err(|_| FsError::IllegalSequence)
    }

    fn stat_at(&self, name: &str) -> FsResult<Filestat> {
        check_name(name)?;
        let st = rfs::statat(&self.fd, name, AtFlags::SYMLINK_NOFOLLOW).map_err(fs_err)?;
        Ok(filestat(&st))
    }

    fn set_times_at(&self, name: &str, atime: SetTime, mtime: SetTime) -> FsResult<()> {
        check_name(name)?;
        let times = timestamps(atime, mtime)?;
        rfs::utimensat(&self.fd, name, &times, AtFlags::SYMLINK_NOFOLLOW).map_err(fs_err)
    }

    fn link(&self, name: &str, new_dir: &dyn Dir, new_name: &str) -> FsResult<()> {
        let peer = peer::<HostDir>(new_dir)?;
        check_name(name)?;
        check_name(new_name)?;
        // No AT_SYMLINK_FOLLOW: a symlink is linked as itself, never its target.
        rfs::linkat(&self.fd, name, &peer.fd, new_name, AtFlags::empty()).map_err(fs_err)
    }

    fn rename(&self, name: &str, new_dir: &dyn Dir, new_name: &str) -> FsResult<()> {
        let peer = peer::<HostDir>(new_dir)?;
        check_name(name)?;
        check_name(new_name)?;
        // renameat never follows either name, so a symlink moves as itself; the host's own
        // checks (EINVAL into its own subtree, ENOTEMPTY, EXDEV) map as the memory backend's.
        rfs::renameat(&self.fd, name, &peer.fd, new_name).map_err(fs_err)
    }

    fn stat(&self) -> FsResult<Filestat> {
        rfs::fstat(&self.fd).map(|st| filestat(&st)).map_err(fs_err)
    }

    fn set_times(&self, atime: SetTime, mtime: SetTime) -> FsResult<()> {
        let times = timestamps(atime, mtime)?;
        super::set_fd_times(&self.fd, &times)
    }

    fn read_dir(&self, cookie: u64, max: usize) -> FsResult<Vec<DirEntry>> {
        let listing = self.listing.serve(cookie, || self.snapshot())?;
        // Our own `..`, not the host's: the host's would name the directory above the mount.
        let dots = [self.ino, self.parent_ino];
        Ok(crate::vfs::page_listing(dots, &listing, cookie, max, |l| {
            (l.name.clone(), l.ino, l.filetype)
        }))
    }

    fn sync(&self) -> FsResult<()> {
        match rfs::fsync(&self.fd) {
            // A directory held with O_PATH (searchable, not readable) has nothing to flush.
            Ok(()) | Err(Errno::BADF) => Ok(()),
            Err(e) => Err(fs_err(e)),
        }
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}
