//! `File` for the overlay: a handle on an upper file, or on a lower file that is copied up
//! (whole) the first time it is changed through this handle. Reads of a lower handle keep
//! reading the lower file even after another handle copied it up (overlayfs before 4.19 did
//! the same for descriptors opened read-only); see RATIONALE.md.

use std::any::Any;
use std::sync::{Arc, Mutex};

use super::{State, join, optional};
use crate::vfs::{Dir, File, Filestat, FsError, FsResult, Node, OpenOptions, SetTime};

/// Which layer the handle currently reads and writes.
enum Layer {
    Upper(Arc<dyn File>),
    /// A lower file and where it sits: its lower parent, the parent's path, its name.
    Lower {
        file: Arc<dyn File>,
        parent: Arc<dyn Dir>,
        parent_path: String,
        name: String,
    },
}

/// An open file of an [`super::Overlay`].
pub(super) struct OverlayFile {
    st: Arc<State>,
    layer: Mutex<Layer>,
}

impl OverlayFile {
    pub(super) fn upper(st: Arc<State>, file: Arc<dyn File>) -> OverlayFile {
        OverlayFile {
            st,
            layer: Mutex::new(Layer::Upper(file)),
        }
    }

    pub(super) fn lower(
        st: Arc<State>,
        file: Arc<dyn File>,
        parent: Arc<dyn Dir>,
        parent_path: &str,
        name: &str,
    ) -> OverlayFile {
        let layer = Layer::Lower {
            file,
            parent,
            parent_path: parent_path.to_owned(),
            name: name.to_owned(),
        };
        OverlayFile {
            st,
            layer: Mutex::new(layer),
        }
    }

    fn layer(&self) -> std::sync::MutexGuard<'_, Layer> {
        self.layer.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The file reads go to.
    fn current(&self) -> Arc<dyn File> {
        match &*self.layer() {
            Layer::Upper(f) | Layer::Lower { file: f, .. } => Arc::clone(f),
        }
    }

    /// The upper file, copying the lower one up first if this handle still points below.
    /// Errors: NotSupported if the lower file's name was removed or renamed since this
    /// handle was opened (its copy, if any, is no longer known to be this file).
    fn writable(&self) -> FsResult<Arc<dyn File>> {
        let mut layer = self.layer();
        let (parent, parent_path, name) = match &*layer {
            Layer::Upper(f) => return Ok(Arc::clone(f)),
            Layer::Lower {
                parent,
                parent_path,
                name,
                ..
            } => (Arc::clone(parent), parent_path.clone(), name.clone()),
        };
        let _lock = self.st.mutate();
        let path = join(&parent_path, &name);
        if self.st.is_hidden(&path) {
            return Err(FsError::NotSupported);
        }
        // Another handle may have copied it up already: then that copy is this file.
        let existing = match self.st.upper_dir(&parent_path, false)? {
            Some(dir) => optional(dir.lookup(&name))?,
            None => None,
        };
        if existing.is_none() {
            self.st.copy_up(&parent_path, &*parent, &name)?;
        }
        let upper = self
            .st
            .upper_dir(&parent_path, false)?
            .ok_or(FsError::NotFound)?;
        let options = OpenOptions {
            write: true,
            ..OpenOptions::default()
        };
        let file = match upper.lookup(&name)? {
            Node::File(_) => upper.open_file(&name, options)?,
            Node::Dir(_) => return Err(FsError::IsDir),
            Node::Symlink(_) => return Err(FsError::Loop),
        };
        *layer = Layer::Upper(Arc::clone(&file));
        Ok(file)
    }
}

impl File for OverlayFile {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> FsResult<usize> {
        self.current().read_at(buf, offset)
    }

    fn write_at(&self, buf: &[u8], offset: u64) -> FsResult<usize> {
        self.writable()?.write_at(buf, offset)
    }

    fn append(&self, buf: &[u8]) -> FsResult<(usize, u64)> {
        self.writable()?.append(buf)
    }

    fn stat(&self) -> FsResult<Filestat> {
        let (stat, upper) = match &*self.layer() {
            Layer::Upper(f) => (f.stat()?, true),
            Layer::Lower { file, .. } => (file.stat()?, false),
        };
        if upper {
            self.st.merge_stat(Some(stat), None)
        } else {
            self.st.merge_stat(None, Some(stat))
        }
    }

    fn set_size(&self, size: u64) -> FsResult<()> {
        self.writable()?.set_size(size)
    }

    fn set_times(&self, atime: SetTime, mtime: SetTime) -> FsResult<()> {
        self.writable()?.set_times(atime, mtime)
    }

    fn allocate(&self, offset: u64, len: u64) -> FsResult<()> {
        self.writable()?.allocate(offset, len)
    }

    fn sync(&self) -> FsResult<()> {
        self.current().sync()
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}
