//! `Dir` for the Windows host backend: a held directory handle answering single-name
//! questions. Each question first finds the name's entry in a listing of the directory (one
//! `NtQueryDirectoryFile` with the name as its pattern), which says what the entry is and
//! whether the name *is* its name: NT matches names case-insensitively and by 8.3 short
//! name, so `SECRET.TXT` or `SECRET~1.TXT` would otherwise open `secret.txt` under a name no
//! policy rule spelled. Then the object is opened by that exact name, never through a
//! reparse point, and its file id checked against the entry's (a swap in between is not
//! served). Readdir serves a name-sorted snapshot taken on rewind, as the Unix backend does.

use std::any::Any;
use std::os::windows::io::{AsHandle, BorrowedHandle, OwnedHandle};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use windows_sys::Wdk::Storage::FileSystem::{
    FILE_CREATE, FILE_DIRECTORY_FILE, FILE_NON_DIRECTORY_FILE, FILE_OPEN,
};
use windows_sys::Win32::Storage::FileSystem::{
    DELETE, FILE_ATTRIBUTE_DIRECTORY, FILE_GENERIC_READ, FILE_GENERIC_WRITE, FILE_LIST_DIRECTORY,
    FILE_READ_ATTRIBUTES, FILE_TRAVERSE, FILE_WRITE_ATTRIBUTES,
};

use super::file::HostFile;
use super::nt::{self, Listed, Open, Status};
use super::{filestat, filetype, fs_status, set_times};
use crate::vfs::host_shared::{Snapshot, peer};
use crate::vfs::names::{check_confined_target, check_name, check_target, check_windows_name};
use crate::vfs::{
    Dir, DirEntry, File, FileType, Filestat, FsError, FsResult, Node, NodeKind, OpenOptions,
    SetTime,
};

/// One entry of a readdir snapshot.
#[derive(Debug, Clone)]
struct Entry {
    name: String,
    ino: u64,
    filetype: FileType,
}

/// What the directory holds under a name.
enum Found {
    /// An entry whose own name is exactly the one asked for.
    Exact(Listed),
    /// An entry NT would open under this name, which is not its name (another case, an 8.3
    /// short name): not the entry, but the name cannot be created either.
    Alias(Listed),
    Nothing,
}

/// An open directory of a confined host mount.
pub struct HostDir {
    /// Held open for as long as the handle lives: every call is relative to it, so renames of
    /// this directory on the host never change what the guest reaches through it.
    handle: OwnedHandle,
    /// Our own file id, for the `.` entry.
    ino: u64,
    /// The id of the directory we were looked up from (our own for a mount root), for the
    /// `..` entry: a root never reveals what lies above the mount.
    parent_ino: u64,
    /// The snapshot readdir cookies index into; replaced on every rewind.
    listing: Snapshot<Entry>,
}

impl std::fmt::Debug for HostDir {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostDir")
            .field("ino", &self.ino)
            .finish_non_exhaustive()
    }
}

/// Where the OS deletes a file only when its last handle closes (older Windows, FAT, Wine),
/// an unlinked file that is still open keeps a name until then: this one, which no guest
/// sees in a listing or reaches by name.
pub const RETIRED_PREFIX: &str = ".wasi-warden-unlinked-";

/// Both name rules: the shared one, then what Windows cannot hold or would rewrite; and the
/// names of retired objects, which are nobody's (ENOENT, as a reserved device name).
fn check(name: &str) -> FsResult<()> {
    check_name(name)?;
    check_windows_name(name)?;
    if name.starts_with(RETIRED_PREFIX) {
        return Err(FsError::NotFound);
    }
    Ok(())
}

/// Whether the object whose path is `inner` is `outer` or lies below it. Paths from
/// [`nt::final_path`], which spells one object one way.
fn is_within(inner: BorrowedHandle<'_>, outer: BorrowedHandle<'_>) -> FsResult<bool> {
    let path = |h| nt::final_path(h).map_err(|e| FsError::Io(format!("host error: {e}")));
    let (inner, outer) = (path(inner)?, path(outer)?);
    let separator = u16::from(b'\\');
    Ok(match inner.strip_prefix(outer.as_slice()) {
        None => false,
        Some(rest) => rest.is_empty() || rest[0] == separator || outer.last() == Some(&separator),
    })
}

/// Rights of a directory handle: list it, look names up in it, read its attributes.
const DIR_ACCESS: u32 = FILE_LIST_DIRECTORY | FILE_TRAVERSE | FILE_READ_ATTRIBUTES;

/// Whether two file ids name the same object; 0 (a filesystem without ids) matches anything.
fn same_id(a: u64, b: u64) -> bool {
    a == 0 || b == 0 || a == b
}

impl HostDir {
    /// Opens `path` (resolved by the OS: the embedder chose it) as a read-write mount root;
    /// `read_only(Arc::new(HostDir::open(path)?))` is a read-only one. Everything the guest
    /// reaches below it is resolved by us. Errors: the host's (`NotADirectory` for a file).
    pub fn open(path: impl AsRef<Path>) -> std::io::Result<HostDir> {
        use std::os::windows::fs::OpenOptionsExt;
        use windows_sys::Win32::Storage::FileSystem::{
            FILE_FLAG_BACKUP_SEMANTICS, FILE_SHARE_DELETE, FILE_SHARE_READ, FILE_SHARE_WRITE,
        };
        let file = std::fs::OpenOptions::new()
            .access_mode(DIR_ACCESS | windows_sys::Win32::Storage::FileSystem::SYNCHRONIZE)
            .share_mode(FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE)
            // Directories open only with backup semantics in Win32.
            .custom_flags(FILE_FLAG_BACKUP_SEMANTICS)
            .open(path.as_ref())?;
        if !file.metadata()?.is_dir() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::NotADirectory,
                "not a directory",
            ));
        }
        let handle = OwnedHandle::from(file);
        let ino = filestat(handle.as_handle())
            .map_err(|e| std::io::Error::other(e.to_string()))?
            .ino;
        Ok(HostDir::from_handle(handle, ino, ino))
    }

    fn from_handle(handle: OwnedHandle, ino: u64, parent_ino: u64) -> HostDir {
        HostDir {
            handle,
            ino,
            parent_ino,
            listing: Snapshot::new(),
        }
    }

    fn me(&self) -> BorrowedHandle<'_> {
        self.handle.as_handle()
    }

    /// What this directory holds under `name` (already checked).
    fn find(&self, name: &str) -> FsResult<Found> {
        let wanted = nt::wide(name);
        let (mut exact, mut alias) = (None, None);
        nt::list(self.me(), Some(name), |entry| {
            if entry.name == wanted {
                exact = Some(entry);
            } else if alias.is_none() {
                alias = Some(entry);
            }
        })
        .map_err(fs_status)?;
        Ok(match (exact, alias) {
            (Some(entry), _) => Found::Exact(entry),
            (None, Some(entry)) => Found::Alias(entry),
            (None, None) => Found::Nothing,
        })
    }

    /// The entry `name` names exactly. Errors: NotFound (nothing, or only an alias).
    fn exact(&self, name: &str) -> FsResult<Listed> {
        match self.find(name)? {
            Found::Exact(entry) => Ok(entry),
            Found::Alias(_) | Found::Nothing => Err(FsError::NotFound),
        }
    }

    /// Refuses to create `name` where anything, an alias included, answers to it.
    fn absent(&self, name: &str) -> FsResult<()> {
        match self.find(name)? {
            Found::Nothing => Ok(()),
            Found::Exact(_) | Found::Alias(_) => Err(FsError::Exists),
        }
    }

    /// Opens the exact entry `entry` by its name, with `access` and `options`, and checks
    /// that what opened is that entry (not one swapped in since the listing).
    fn open_entry(
        &self,
        name: &str,
        entry: &Listed,
        access: u32,
        options: u32,
    ) -> FsResult<OwnedHandle> {
        let handle = nt::open_at(
            self.me(),
            name,
            Open {
                access,
                disposition: FILE_OPEN,
                options,
            },
        )
        .map_err(fs_status)?;
        let st = filestat(handle.as_handle())?;
        if !same_id(st.ino, entry.file_id) {
            return Err(FsError::NotFound);
        }
        Ok(handle)
    }

    /// Opens `entry` with `access`, or, if that is denied, with `fallback` (rights a guest
    /// may still use: a directory it may search but not list, an object whose times it may
    /// not set).
    fn open_entry_or(
        &self,
        name: &str,
        entry: &Listed,
        access: u32,
        fallback: u32,
        options: u32,
    ) -> FsResult<OwnedHandle> {
        match self.open_entry(name, entry, access, options) {
            Err(FsError::Access) => self.open_entry(name, entry, fallback, options),
            other => other,
        }
    }

    fn open_subdir(&self, name: &str, entry: &Listed) -> FsResult<HostDir> {
        let handle = self.open_entry_or(
            name,
            entry,
            DIR_ACCESS,
            FILE_TRAVERSE | FILE_READ_ATTRIBUTES,
            FILE_DIRECTORY_FILE,
        )?;
        let st = filestat(handle.as_handle())?;
        // Opened as itself, a junction swapped in is a link, not a directory to walk into.
        if st.filetype != FileType::Directory {
            return Err(FsError::NotDir);
        }
        Ok(HostDir::from_handle(handle, st.ino, self.ino))
    }

    /// A non-directory for stat and set_times only (no data access), as the Unix backend's
    /// `O_PATH` handles.
    fn open_object(&self, name: &str, entry: &Listed) -> FsResult<Node> {
        let handle = self.open_entry_or(
            name,
            entry,
            FILE_READ_ATTRIBUTES | FILE_WRITE_ATTRIBUTES,
            FILE_READ_ATTRIBUTES,
            0,
        )?;
        Ok(Node::File(Arc::new(HostFile::new(handle, false))))
    }

    /// The target of the link `entry`: a relative symlink's own target with `/` separators;
    /// an absolute symlink, junction or mount point as an absolute path, which the resolver
    /// never follows. Errors: Invalid (not a link).
    fn link_target(&self, name: &str, entry: &Listed) -> FsResult<String> {
        if filetype(entry.attributes, entry.reparse_tag) != FileType::Symlink {
            return Err(FsError::Invalid);
        }
        let handle = self.open_entry(name, entry, FILE_READ_ATTRIBUTES, 0)?;
        let target = super::file::reparse_target(handle.as_handle())?;
        check_target(&target)?;
        Ok(target)
    }

    fn snapshot(&self) -> FsResult<Vec<Entry>> {
        let mut out = Vec::new();
        nt::list(self.me(), None, |entry| {
            // Names that are not valid Unicode cannot be named by a guest.
            let Ok(name) = String::from_utf16(&entry.name) else {
                return;
            };
            if name == "." || name == ".." || name.starts_with(RETIRED_PREFIX) {
                return;
            }
            out.push(Entry {
                filetype: filetype(entry.attributes, entry.reparse_tag),
                ino: entry.file_id,
                name,
            });
        })
        .map_err(fs_status)?;
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// Opens the exact entry `name` with DELETE for unlink, rmdir or rename.
    fn open_for_delete(&self, name: &str, entry: &Listed) -> FsResult<OwnedHandle> {
        let options = if entry.attributes & FILE_ATTRIBUTE_DIRECTORY != 0 {
            FILE_DIRECTORY_FILE
        } else {
            FILE_NON_DIRECTORY_FILE
        };
        self.open_entry(name, entry, DELETE | FILE_READ_ATTRIBUTES, options)
    }

    /// Whether this directory has anything in it but `.` and `..` (a retired object
    /// counts: NT will not remove a directory that holds one).
    fn has_entries(&self) -> FsResult<bool> {
        let mut any = false;
        nt::list(self.me(), None, |e| {
            any |= e.name != [u16::from(b'.')] && e.name != [u16::from(b'.'); 2];
        })
        .map_err(fs_status)?;
        Ok(any)
    }

    /// Removes the entry `name` (an unlink, an rmdir, a rename's replaced target) so that
    /// the name is gone at once, as on POSIX, even while a guest still has the object open.
    /// Where the OS deletes only on last close, the object is first renamed to a retired
    /// name, then marked for deletion through a handle opened by that name (Wine deletes by
    /// the name a handle was opened with).
    fn remove(&self, name: &str, entry: &Listed) -> FsResult<()> {
        let handle = self.open_for_delete(name, entry)?;
        match nt::delete_posix(handle.as_handle()) {
            Err(Status(s)) if nt::unknown_class(s) => {}
            other => return other.map_err(fs_status),
        }
        let retired = self.retire(handle.as_handle())?;
        drop(handle);
        let options = if entry.attributes & FILE_ATTRIBUTE_DIRECTORY != 0 {
            FILE_DIRECTORY_FILE
        } else {
            FILE_NON_DIRECTORY_FILE
        };
        let open = Open {
            access: DELETE | FILE_READ_ATTRIBUTES,
            disposition: FILE_OPEN,
            options,
        };
        let deleted = nt::open_at(self.me(), &retired, open).and_then(|handle| {
            nt::delete_on_close(handle.as_handle()).inspect_err(|_| {
                // Give the object its name back rather than lose it under a hidden one.
                let _ = nt::rename_plain(handle.as_handle(), self.me(), name, false);
            })
        });
        deleted.map_err(fs_status)
    }

    /// Renames the object `handle` (opened with DELETE) to a fresh retired name here, and
    /// answers that name.
    fn retire(&self, handle: BorrowedHandle<'_>) -> FsResult<String> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        for _ in 0..8 {
            let n = NEXT.fetch_add(1, Ordering::Relaxed);
            let hidden = format!("{RETIRED_PREFIX}{}-{n}", std::process::id());
            match nt::rename_plain(handle, self.me(), &hidden, false).map_err(fs_status) {
                Ok(()) => return Ok(hidden),
                // Another process's retired object: take the next number.
                Err(FsError::Exists) => continue,
                Err(other) => return Err(other),
            }
        }
        Err(FsError::Busy)
    }
}

impl Dir for HostDir {
    fn lookup(&self, name: &str) -> FsResult<Node> {
        check(name)?;
        let entry = self.exact(name)?;
        match filetype(entry.attributes, entry.reparse_tag) {
            FileType::Directory => Ok(Node::Dir(Arc::new(self.open_subdir(name, &entry)?))),
            FileType::Symlink => Ok(Node::Symlink(self.link_target(name, &entry)?)),
            _ => self.open_object(name, &entry),
        }
    }

    fn lookup_kind(&self, name: &str) -> FsResult<NodeKind> {
        check(name)?;
        // The listing alone says what the entry is: no handle needed.
        let entry = self.exact(name)?;
        match filetype(entry.attributes, entry.reparse_tag) {
            FileType::Directory => Ok(NodeKind::Dir(None)),
            FileType::Symlink => Ok(NodeKind::Symlink(self.link_target(name, &entry)?)),
            _ => Ok(NodeKind::File),
        }
    }

    fn open_file(&self, name: &str, options: OpenOptions) -> FsResult<Arc<dyn File>> {
        check(name)?;
        // Truncation needs a handle that may write, whatever the caller reads through it.
        let write = options.write || options.truncate;
        let access = if write {
            FILE_GENERIC_READ | FILE_GENERIC_WRITE
        } else {
            FILE_GENERIC_READ | FILE_WRITE_ATTRIBUTES
        };
        // A creation racing another creator is retried a few times, then answered as is.
        for _ in 0..3 {
            let handle = match self.find(name)? {
                Found::Alias(_) if options.create => return Err(FsError::Exists),
                Found::Alias(_) | Found::Nothing if !options.create => {
                    return Err(FsError::NotFound);
                }
                Found::Exact(_) if options.create && options.exclusive => {
                    return Err(FsError::Exists);
                }
                Found::Exact(entry) => match filetype(entry.attributes, entry.reparse_tag) {
                    FileType::RegularFile => {
                        let fallback = FILE_GENERIC_READ;
                        if write {
                            self.open_entry(name, &entry, access, FILE_NON_DIRECTORY_FILE)?
                        } else {
                            self.open_entry_or(
                                name,
                                &entry,
                                access,
                                fallback,
                                FILE_NON_DIRECTORY_FILE,
                            )?
                        }
                    }
                    FileType::Directory => return Err(FsError::IsDir),
                    // Never opened as a file: a link is a link (ELOOP, as O_NOFOLLOW says).
                    FileType::Symlink => return Err(FsError::Loop),
                    _ => return Err(FsError::NotSupported),
                },
                Found::Alias(_) | Found::Nothing => {
                    let open = Open {
                        access: FILE_GENERIC_READ | FILE_GENERIC_WRITE,
                        disposition: FILE_CREATE,
                        options: FILE_NON_DIRECTORY_FILE,
                    };
                    match nt::open_at(self.me(), name, open) {
                        Ok(handle) => handle,
                        Err(status) => match fs_status(status) {
                            FsError::Exists if !options.exclusive => continue,
                            other => return Err(other),
                        },
                    }
                }
            };
            let st = filestat(handle.as_handle())?;
            if st.filetype != FileType::RegularFile {
                return Err(FsError::Loop);
            }
            let file = HostFile::new(handle, write);
            if options.truncate {
                file.set_size(0)?;
            }
            return Ok(Arc::new(file.writable(options.write)));
        }
        Err(FsError::Busy)
    }

    fn create_dir(&self, name: &str) -> FsResult<()> {
        check(name)?;
        self.absent(name)?;
        let open = Open {
            access: FILE_LIST_DIRECTORY,
            disposition: FILE_CREATE,
            options: FILE_DIRECTORY_FILE,
        };
        nt::open_at(self.me(), name, open)
            .map(drop)
            .map_err(fs_status)
    }

    fn remove_dir(&self, name: &str) -> FsResult<()> {
        check(name)?;
        let entry = self.exact(name)?;
        if filetype(entry.attributes, entry.reparse_tag) != FileType::Directory {
            return Err(FsError::NotDir);
        }
        self.remove(name, &entry)
    }

    fn unlink(&self, name: &str) -> FsResult<()> {
        check(name)?;
        let entry = self.exact(name)?;
        if filetype(entry.attributes, entry.reparse_tag) == FileType::Directory {
            return Err(FsError::IsDir);
        }
        self.remove(name, &entry)
    }

    fn symlink(&self, name: &str, target: &str) -> FsResult<()> {
        check(name)?;
        check_confined_target(target)?;
        self.absent(name)?;
        // Creating a symlink on Windows takes a privilege a sandboxing host should not hold
        // (SeCreateSymbolicLinkPrivilege); guests may not create them here (RATIONALE.md).
        Err(FsError::NotPermitted)
    }

    fn read_link(&self, name: &str) -> FsResult<String> {
        check(name)?;
        let entry = self.exact(name)?;
        self.link_target(name, &entry)
    }

    fn stat_at(&self, name: &str) -> FsResult<Filestat> {
        check(name)?;
        let entry = self.exact(name)?;
        let handle = self.open_entry(name, &entry, FILE_READ_ATTRIBUTES, 0)?;
        filestat(handle.as_handle())
    }

    fn set_times_at(&self, name: &str, atime: SetTime, mtime: SetTime) -> FsResult<()> {
        check(name)?;
        let entry = self.exact(name)?;
        let handle = self.open_entry(
            name,
            &entry,
            FILE_WRITE_ATTRIBUTES | FILE_READ_ATTRIBUTES,
            0,
        )?;
        set_times(handle.as_handle(), atime, mtime)
    }

    fn link(&self, name: &str, new_dir: &dyn Dir, new_name: &str) -> FsResult<()> {
        let peer = peer::<HostDir>(new_dir)?;
        check(name)?;
        check(new_name)?;
        let entry = self.exact(name)?;
        if filetype(entry.attributes, entry.reparse_tag) == FileType::Directory {
            return Err(FsError::NotPermitted);
        }
        peer.absent(new_name)?;
        let handle = self.open_entry(
            name,
            &entry,
            FILE_WRITE_ATTRIBUTES | FILE_READ_ATTRIBUTES,
            0,
        )?;
        nt::link(handle.as_handle(), peer.me(), new_name).map_err(fs_status)
    }

    fn rename(&self, name: &str, new_dir: &dyn Dir, new_name: &str) -> FsResult<()> {
        let peer = peer::<HostDir>(new_dir)?;
        check(name)?;
        check(new_name)?;
        let source = self.exact(name)?;
        let source_is_dir = filetype(source.attributes, source.reparse_tag) == FileType::Directory;
        let handle = self.open_for_delete(name, &source)?;
        // POSIX's ancestry rules come before its type rules, and NT has neither in this form:
        // a directory cannot move into its own subtree (EINVAL)...
        if source_is_dir && is_within(peer.me(), handle.as_handle())? {
            return Err(FsError::Invalid);
        }
        let mut replaced = None;
        match peer.find(new_name)? {
            Found::Nothing => {}
            // The same entry under another case (`a.txt` → `A.txt`): a rename of its name.
            Found::Alias(target) if target.file_id == source.file_id && source.file_id != 0 => {}
            Found::Alias(_) => return Err(FsError::Exists),
            // Two names of one object: POSIX says there is nothing to do.
            Found::Exact(target) if target.file_id == source.file_id && source.file_id != 0 => {
                return Ok(());
            }
            Found::Exact(target)
                if filetype(target.attributes, target.reparse_tag) == FileType::Directory =>
            {
                let dir = peer.open_subdir(new_name, &target)?;
                // ...and nothing replaces a directory that holds it (ENOTEMPTY).
                if is_within(self.me(), dir.me())? {
                    return Err(FsError::NotEmpty);
                }
                if !source_is_dir {
                    return Err(FsError::IsDir);
                }
                if dir.has_entries()? {
                    return Err(FsError::NotEmpty);
                }
                drop(dir);
                // Windows never replaces a directory: the empty one goes first (the one step
                // of this rename that is not atomic).
                peer.remove(new_name, &target)?;
            }
            Found::Exact(_) if source_is_dir => return Err(FsError::NotDir),
            Found::Exact(target) => replaced = Some(target),
        }
        match nt::rename_posix(handle.as_handle(), peer.me(), new_name) {
            Err(Status(s)) if nt::unknown_class(s) => {}
            other => return other.map_err(fs_status),
        }
        // Without POSIX semantics an open target cannot be replaced: it is removed first, as
        // an unlink would (not atomic either).
        if let Some(target) = replaced {
            peer.remove(new_name, &target)?;
        }
        nt::rename_plain(handle.as_handle(), peer.me(), new_name, false).map_err(fs_status)
    }

    fn stat(&self) -> FsResult<Filestat> {
        filestat(self.me())
    }

    fn set_times(&self, atime: SetTime, mtime: SetTime) -> FsResult<()> {
        let open = Open {
            access: FILE_WRITE_ATTRIBUTES,
            disposition: FILE_OPEN,
            options: FILE_DIRECTORY_FILE,
        };
        let handle = nt::open_at(self.me(), "", open).map_err(fs_status)?;
        set_times(handle.as_handle(), atime, mtime)
    }

    fn read_dir(&self, cookie: u64, max: usize) -> FsResult<Vec<DirEntry>> {
        let listing = self.listing.serve(cookie, || self.snapshot())?;
        let dots = [self.ino, self.parent_ino];
        Ok(crate::vfs::page_listing(dots, &listing, cookie, max, |l| {
            (l.name.clone(), l.ino, l.filetype)
        }))
    }

    fn sync(&self) -> FsResult<()> {
        // Windows flushes a directory's metadata itself; FlushFileBuffers on a directory
        // needs write access we do not hold.
        Ok(())
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}
