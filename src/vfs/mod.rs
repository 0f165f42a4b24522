//! Filesystem backends behind two small traits, [`Dir`] and [`File`].
//! A backend answers only single-name questions relative to a directory it already holds;
//! `resolve.rs` walks guest paths over them, so every backend shares one set of path semantics.
//! Nothing in this module knows about wiggle, guest memory or the descriptor table.

mod error;
#[cfg(unix)]
pub(crate) mod host;
#[cfg(windows)]
#[path = "host_windows/mod.rs"]
pub(crate) mod host;
mod host_shared;
pub mod image;
pub(crate) mod mem;
mod mount;
pub(crate) mod names;
mod overlay;
pub(crate) mod read_only;
pub(crate) mod resolve;

use std::any::Any;
use std::ops::Range;
use std::sync::Arc;

pub use error::{FsError, FsResult};
pub use host::HostDir;
#[cfg(windows)]
pub use host::RETIRED_PREFIX;
pub use mem::{MemFs, MemFsBuilder, MemUsage, TreeEntry};
pub use mount::Mount;
pub use overlay::Overlay;
pub(crate) use read_only::read_only;

/// The kind of a filesystem object, as far as the guest can tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FileType {
    /// A regular file.
    RegularFile,
    /// A directory.
    Directory,
    /// A symbolic link (only ever seen without following).
    Symlink,
    /// A character device (a terminal, `/dev/null`-like streams).
    CharacterDevice,
    /// Anything the backend cannot classify (host sockets, fifos...).
    Unknown,
}

/// Metadata of one object. Times are nanoseconds since the Unix epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Filestat {
    /// Device id: one per mounted filesystem.
    pub dev: u64,
    /// Inode number, unique within `dev`.
    pub ino: u64,
    /// What the object is.
    pub filetype: FileType,
    /// Number of hard links.
    pub nlink: u64,
    /// Logical size in bytes (sparse gaps included).
    pub size: u64,
    /// Last access time.
    pub atim: u64,
    /// Last data modification time.
    pub mtim: u64,
    /// Last status change time.
    pub ctim: u64,
}

/// How one timestamp is changed by a `set_times` call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetTime {
    /// Leave it as it is.
    Keep,
    /// Set it to the filesystem's current time.
    Now,
    /// Set it to this many nanoseconds since the epoch.
    At(u64),
}

/// What `open_file` does when the name exists or not. Rights and read/write intent are checked
/// above this layer; a backend only creates, truncates or refuses.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OpenOptions {
    /// Create the file if it does not exist.
    pub create: bool,
    /// Fail with `Exists` if the name exists (only with `create`).
    pub exclusive: bool,
    /// Truncate the file to zero length on open.
    pub truncate: bool,
    /// The caller intends to write (read-only backends refuse with `ReadOnly`).
    pub write: bool,
}

/// One directory entry as `fd_readdir` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirEntry {
    /// The cookie that resumes reading *after* this entry.
    pub next_cookie: u64,
    /// Inode number of the entry.
    pub ino: u64,
    /// The entry's type, without following symlinks.
    pub filetype: FileType,
    /// The entry's name (`.` and `..` included).
    pub name: String,
}

/// What a single-name lookup finds, without following a symlink.
pub enum Node {
    /// A directory, already opened.
    Dir(Arc<dyn Dir>),
    /// A regular file (or another non-directory, non-symlink object).
    File(Arc<dyn File>),
    /// A symbolic link and its target text.
    Symlink(String),
}

impl std::fmt::Debug for Node {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Node::Dir(_) => f.write_str("Node::Dir"),
            Node::File(_) => f.write_str("Node::File"),
            Node::Symlink(t) => write!(f, "Node::Symlink({t:?})"),
        }
    }
}

/// What a single-name lookup finds, without opening files: enough for the resolver to decide
/// whether to walk, expand or stop, and for operations that act by (parent, name).
pub enum NodeKind {
    /// A directory, with its handle if the backend had to open it anyway (`None`: the
    /// resolver opens it with `lookup` when it needs it).
    Dir(Option<Arc<dyn Dir>>),
    /// A regular file (or another non-directory, non-symlink object), not opened.
    File,
    /// A symbolic link and its target text.
    Symlink(String),
}

impl std::fmt::Debug for NodeKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NodeKind::Dir(d) => write!(f, "NodeKind::Dir(opened: {})", d.is_some()),
            NodeKind::File => f.write_str("NodeKind::File"),
            NodeKind::Symlink(t) => write!(f, "NodeKind::Symlink({t:?})"),
        }
    }
}

/// A directory held open by a backend. Every `name` is one component: never empty, never `.`
/// or `..`, never containing `/` or NUL (the resolver guarantees it). No method follows a
/// symlink named by `name`.
pub trait Dir: Send + Sync + 'static {
    /// Looks `name` up without following it. Errors: NotFound.
    fn lookup(&self, name: &str) -> FsResult<Node>;
    /// What `name` is, without following it or opening a file. Errors: NotFound. Backends
    /// whose `lookup` opens host descriptors override this with a plain stat; a wrapper must
    /// wrap a directory handle it passes on, as its `lookup` does.
    fn lookup_kind(&self, name: &str) -> FsResult<NodeKind> {
        Ok(match self.lookup(name)? {
            Node::Dir(dir) => NodeKind::Dir(Some(dir)),
            Node::File(_) => NodeKind::File,
            Node::Symlink(target) => NodeKind::Symlink(target),
        })
    }
    /// Opens or creates the regular file `name`. Errors: NotFound (no create), Exists
    /// (exclusive), IsDir (a directory), Loop (a symlink), ReadOnly, NoSpace.
    fn open_file(&self, name: &str, options: OpenOptions) -> FsResult<Arc<dyn File>>;
    /// mkdirat. Errors: Exists, ReadOnly, NoSpace.
    fn create_dir(&self, name: &str) -> FsResult<()>;
    /// unlinkat(AT_REMOVEDIR). Errors: NotFound, NotDir, NotEmpty, ReadOnly.
    fn remove_dir(&self, name: &str) -> FsResult<()>;
    /// unlinkat. Errors: NotFound, IsDir, ReadOnly.
    fn unlink(&self, name: &str) -> FsResult<()>;
    /// symlinkat; `target` is stored verbatim (the resolver has already refused absolute ones).
    /// Errors: Exists, ReadOnly, NoSpace.
    fn symlink(&self, name: &str, target: &str) -> FsResult<()>;
    /// readlinkat. Errors: NotFound, Invalid (not a symlink).
    fn read_link(&self, name: &str) -> FsResult<String>;
    /// fstatat(AT_SYMLINK_NOFOLLOW). Errors: NotFound.
    fn stat_at(&self, name: &str) -> FsResult<Filestat>;
    /// utimensat(AT_SYMLINK_NOFOLLOW). Errors: NotFound, ReadOnly.
    fn set_times_at(&self, name: &str, atime: SetTime, mtime: SetTime) -> FsResult<()>;
    /// linkat without following: `name` here becomes `new_name` in `new_dir` too.
    /// Errors: NotFound, Exists, NotPermitted (a directory), CrossDevice, ReadOnly.
    fn link(&self, name: &str, new_dir: &dyn Dir, new_name: &str) -> FsResult<()>;
    /// renameat with POSIX replace rules. Errors: NotFound, NotDir, IsDir, NotEmpty,
    /// Invalid (into its own subtree), CrossDevice, ReadOnly.
    fn rename(&self, name: &str, new_dir: &dyn Dir, new_name: &str) -> FsResult<()>;
    /// fstat of this directory.
    fn stat(&self) -> FsResult<Filestat>;
    /// futimens of this directory.
    fn set_times(&self, atime: SetTime, mtime: SetTime) -> FsResult<()>;
    /// Entries from `cookie` on, `.` and `..` first, in an order that stays stable while
    /// entries are added and removed; at most `max` of them.
    fn read_dir(&self, cookie: u64, max: usize) -> FsResult<Vec<DirEntry>>;
    /// fsync of the directory (a no-op in memory).
    fn sync(&self) -> FsResult<()>;
    /// Whether this directory refuses every mutation wholesale: true only for the
    /// [`Mount::read_only`] wrapper, the one home of read-only. Backends ask it of the *other* side
    /// of `link` / `rename`, so that a read-only destination answers ReadOnly (EPERM, as
    /// wasmtime) rather than CrossDevice, and `read_only()` asks it to avoid wrapping twice.
    /// The answer grants nothing, so the default is safe: the wrapper refuses by itself, and
    /// a backend that forgets to ask still refuses the peer (it cannot downcast it).
    fn is_read_only(&self) -> bool {
        false
    }
    /// Lets two-path operations find the concrete backend of the other side.
    fn as_any(&self) -> &dyn Any;
}

/// An open regular file. Positions live in the descriptor table, not here, so one `File` may be
/// shared by several descriptors.
pub trait File: Send + Sync + 'static {
    /// pread. Returns 0 at or past the end.
    fn read_at(&self, buf: &mut [u8], offset: u64) -> FsResult<usize>;
    /// pwrite; a write past the end leaves a sparse gap. Errors: FileTooBig, NoSpace, ReadOnly.
    fn write_at(&self, buf: &[u8], offset: u64) -> FsResult<usize>;
    /// Appends atomically at the current end; returns (bytes written, new size).
    fn append(&self, buf: &[u8]) -> FsResult<(usize, u64)>;
    /// fstat.
    fn stat(&self) -> FsResult<Filestat>;
    /// ftruncate (grows sparsely). Errors: FileTooBig, ReadOnly.
    fn set_size(&self, size: u64) -> FsResult<()>;
    /// futimens.
    fn set_times(&self, atime: SetTime, mtime: SetTime) -> FsResult<()>;
    /// posix_fallocate: the size becomes at least `offset + len`.
    fn allocate(&self, offset: u64, len: u64) -> FsResult<()>;
    /// fsync / fdatasync.
    fn sync(&self) -> FsResult<()>;
    /// The first run of data at or after `offset`, as `start..end` with `offset <= start <
    /// end`, or `None` if only holes (or nothing) follow: `lseek(SEEK_DATA)`, then
    /// `lseek(SEEK_HOLE)` from there. Holes read as zeros, so a copy may skip them (an overlay
    /// copy-up costs the data, not the size). The default, for backends that cannot tell,
    /// calls everything up to the size data: always correct, only slower to copy.
    fn data_extent(&self, offset: u64) -> FsResult<Option<Range<u64>>> {
        let size = self.stat()?.size;
        Ok((offset < size).then_some(offset..size))
    }
    /// Lets callers find the concrete backend.
    fn as_any(&self) -> &dyn Any;
}

/// Serves one `read_dir` page from a snapshot listing: cookies 0 and 1 are `.` and `..` (with
/// the inode numbers given), cookie `n + 2` is `listing[n]`; at most `max` entries. Backends
/// whose own order is not stable (host, overlay) snapshot on rewind and page through this.
pub(crate) fn page_listing<T>(
    dots: [u64; 2],
    listing: &[T],
    cookie: u64,
    max: usize,
    entry: impl Fn(&T) -> (String, u64, FileType),
) -> Vec<DirEntry> {
    let mut out = Vec::with_capacity(max.min(256));
    let mut at = cookie;
    while out.len() < max {
        let found = match at {
            0 | 1 => dots.get(at as usize).map(|ino| {
                (
                    [".", ".."][at as usize].to_owned(),
                    *ino,
                    FileType::Directory,
                )
            }),
            _ => usize::try_from(at - 2)
                .ok()
                .and_then(|i| listing.get(i))
                .map(&entry),
        };
        let Some((name, ino, filetype)) = found else {
            break;
        };
        out.push(DirEntry {
            next_cookie: at.saturating_add(1),
            ino,
            filetype,
            name,
        });
        at = at.saturating_add(1);
    }
    out
}
