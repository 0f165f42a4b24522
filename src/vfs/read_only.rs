//! `read_only`: the one home of read-only, a wrapper that makes any backend read-only (a
//! read-only host mount is `read_only(HostDir)`; no backend checks permissions itself). Every
//! mutation answers `ReadOnly` (EPERM, as wasmtime) before the inner backend is asked
//! anything, and every directory or file it hands out is wrapped too, so no path leads back
//! to a writable handle. It adds no state and changes no read: lookups, stats and listings
//! are the inner backend's.

use std::any::Any;
use std::sync::Arc;

use super::{
    Dir, DirEntry, File, Filestat, FsError, FsResult, Node, NodeKind, OpenOptions, SetTime,
};

/// Wraps `dir` so that it, and everything reached through it, refuses every mutation.
/// Wrapping a read-only directory again returns it as it is ([`Dir::is_read_only`]): one
/// layer of indirection per call is enough.
pub fn read_only(dir: Arc<dyn Dir>) -> Arc<dyn Dir> {
    if dir.is_read_only() {
        return dir;
    }
    Arc::new(ReadOnlyDir { inner: dir })
}

/// A directory that refuses every mutation. See [`read_only`].
pub struct ReadOnlyDir {
    /// Never handed out: every path from here to it goes through [`wrap`].
    inner: Arc<dyn Dir>,
}

/// A file that refuses every mutation.
pub struct ReadOnlyFile {
    /// Never handed out, as for [`ReadOnlyDir`].
    inner: Arc<dyn File>,
}

/// Wraps what a lookup found, so the read-only promise covers the whole subtree: a handle
/// found through us is ours too (a symlink is only text, followed by the resolver through us).
fn wrap(node: Node) -> Node {
    match node {
        Node::Dir(dir) => Node::Dir(read_only(dir)),
        Node::File(file) => Node::File(Arc::new(ReadOnlyFile { inner: file })),
        Node::Symlink(target) => Node::Symlink(target),
    }
}

impl Dir for ReadOnlyDir {
    fn lookup(&self, name: &str) -> FsResult<Node> {
        self.inner.lookup(name).map(wrap)
    }

    fn lookup_kind(&self, name: &str) -> FsResult<NodeKind> {
        // A directory handle is wrapped like `lookup`'s: no path leads to a writable one.
        match self.inner.lookup_kind(name)? {
            NodeKind::Dir(dir) => Ok(NodeKind::Dir(dir.map(read_only))),
            other => Ok(other),
        }
    }

    fn open_file(&self, name: &str, options: OpenOptions) -> FsResult<Arc<dyn File>> {
        // Any intent to create, truncate or write is refused, even O_CREAT on an existing
        // file and TRUNC alone (SECURITY.md: TRUNC on a read-only mount).
        if options.create || options.exclusive || options.truncate || options.write {
            return Err(FsError::ReadOnly);
        }
        let file = self.inner.open_file(name, options)?;
        Ok(Arc::new(ReadOnlyFile { inner: file }))
    }

    // Every mutation below answers ReadOnly without asking `inner` anything, not even
    // whether the name exists: EPERM whatever the state, as wasmtime, and no host call.
    fn create_dir(&self, _name: &str) -> FsResult<()> {
        Err(FsError::ReadOnly)
    }

    fn remove_dir(&self, _name: &str) -> FsResult<()> {
        Err(FsError::ReadOnly)
    }

    fn unlink(&self, _name: &str) -> FsResult<()> {
        Err(FsError::ReadOnly)
    }

    fn symlink(&self, _name: &str, _target: &str) -> FsResult<()> {
        Err(FsError::ReadOnly)
    }

    fn read_link(&self, name: &str) -> FsResult<String> {
        self.inner.read_link(name)
    }

    fn stat_at(&self, name: &str) -> FsResult<Filestat> {
        self.inner.stat_at(name)
    }

    fn set_times_at(&self, _name: &str, _atime: SetTime, _mtime: SetTime) -> FsResult<()> {
        Err(FsError::ReadOnly)
    }

    fn link(&self, _name: &str, _new_dir: &dyn Dir, _new_name: &str) -> FsResult<()> {
        // A new name elsewhere would give write access to this mount's data.
        Err(FsError::ReadOnly)
    }

    fn rename(&self, _name: &str, _new_dir: &dyn Dir, _new_name: &str) -> FsResult<()> {
        // Refused as the source; as the destination, the source's backend asks our
        // `is_read_only` (its peer check) and refuses too.
        Err(FsError::ReadOnly)
    }

    fn stat(&self) -> FsResult<Filestat> {
        self.inner.stat()
    }

    fn set_times(&self, _atime: SetTime, _mtime: SetTime) -> FsResult<()> {
        Err(FsError::ReadOnly)
    }

    fn read_dir(&self, cookie: u64, max: usize) -> FsResult<Vec<DirEntry>> {
        self.inner.read_dir(cookie, max)
    }

    fn sync(&self) -> FsResult<()> {
        // fsync changes nothing the guest can see: allowed, as on a read-only host mount.
        self.inner.sync()
    }

    /// The one `true`: this wrapper is where read-only lives.
    fn is_read_only(&self) -> bool {
        true
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

impl File for ReadOnlyFile {
    // As for the directory: every mutation is refused here, before the inner file.
    fn read_at(&self, buf: &mut [u8], offset: u64) -> FsResult<usize> {
        self.inner.read_at(buf, offset)
    }

    fn write_at(&self, _buf: &[u8], _offset: u64) -> FsResult<usize> {
        Err(FsError::ReadOnly)
    }

    fn append(&self, _buf: &[u8]) -> FsResult<(usize, u64)> {
        // Even an empty append: it would report the size as if writing were allowed.
        Err(FsError::ReadOnly)
    }

    fn stat(&self) -> FsResult<Filestat> {
        self.inner.stat()
    }

    fn set_size(&self, _size: u64) -> FsResult<()> {
        Err(FsError::ReadOnly)
    }

    fn set_times(&self, _atime: SetTime, _mtime: SetTime) -> FsResult<()> {
        Err(FsError::ReadOnly)
    }

    fn allocate(&self, _offset: u64, _len: u64) -> FsResult<()> {
        // Even when the file is long enough already (a no-op elsewhere): refusals must not
        // depend on the inner state, or they would reveal it.
        Err(FsError::ReadOnly)
    }

    /// Holes are the wrapped file's: an overlay over a read-only lower copies only data.
    fn data_extent(&self, offset: u64) -> FsResult<Option<std::ops::Range<u64>>> {
        self.inner.data_extent(offset)
    }

    fn sync(&self) -> FsResult<()> {
        self.inner.sync()
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}
