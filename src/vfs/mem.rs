//! TODO(vfs helper): the in-memory filesystem. Signatures below are the agreed public API.
use super::Dir;
use std::path::Path;
use std::sync::Arc;

/// One object of a tree snapshot (see [`MemFs::snapshot`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TreeEntry {
    /// A directory.
    Dir,
    /// A regular file and its bytes.
    File(Vec<u8>),
    /// A symlink and its target.
    Symlink(String),
}

/// An in-memory read-write filesystem. Cloning gives another handle to the same tree.
#[derive(Clone)]
pub struct MemFs {}

impl Default for MemFs {
    fn default() -> Self {
        Self::new()
    }
}

impl MemFs {
    /// A new, empty filesystem.
    pub fn new() -> Self {
        todo!()
    }
    /// Copies a host directory tree into a new in-memory filesystem (the host is only read).
    pub fn from_host_dir(_path: &Path) -> std::io::Result<MemFs> {
        todo!()
    }
    /// The root directory, to mount as a preopen.
    pub fn root(&self) -> Arc<dyn Dir> {
        todo!()
    }
    /// Every object below the root, as (relative path with `/` separators, entry), sorted by path.
    pub fn snapshot(&self) -> Vec<(String, TreeEntry)> {
        todo!()
    }
}
