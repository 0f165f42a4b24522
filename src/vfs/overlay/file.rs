//! `File` for the overlay: a handle on an upper file, or on a lower file that is copied up the
//! first time it is changed. Every handle on one lower file (by any descriptor) shares one
//! [`Shared`] cell, registered by path in [`Files`]; a copy-up fills it, so from then on all
//! of them read, write and stat the upper copy, as POSIX wants of descriptors of one file.
//! Handles never write the lower layer.

use std::any::Any;
use std::collections::HashMap;
use std::ops::Range;
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use super::copy::Contents;
use super::{State, join, optional};
use crate::vfs::{Dir, File, Filestat, FsError, FsResult, Node, OpenOptions, SetTime};

/// The registry of lower files that have handles, and the copy-up in progress. One per
/// overlay, behind `State::files`; the lock is taken after the mutation lock, never before.
#[derive(Default)]
pub(super) struct Files {
    /// The shared cell of each lower file with live handles, by path. Lower files never move
    /// while they are lower (a rename copies them up first), so the path names one file for
    /// as long as it has no copy; a copy-up takes its entry out.
    open: HashMap<String, Weak<Shared>>,
    /// Size of `open` at which dead entries are swept next (amortised: the map stays within
    /// twice the live cells, plus a constant).
    sweep_at: usize,
    /// The lower file being copied up now (at most one: copy-ups hold the mutation lock).
    /// Lookups ignore its half-made upper copy.
    pub(super) copying: Option<String>,
    /// Copy-ups published so far. Lookups take no lock, so a handle made from a lookup that
    /// began before a copy-up was published looks again before registering (see `register`).
    pub(super) copies: u64,
}

/// What every handle on one lower file shares: where the file sits, and its upper copy once
/// made.
pub(super) struct Shared {
    /// The lower parent directory, its path, and the file's name there.
    parent: Arc<dyn Dir>,
    parent_path: String,
    name: String,
    /// The upper copy, set by the copy-up that made it (`State::publish`).
    upper: Mutex<Option<Arc<dyn File>>>,
}

impl Shared {
    fn upper(&self) -> Option<Arc<dyn File>> {
        self.upper.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn set_upper(&self, file: &Arc<dyn File>) {
        *self.upper.lock().unwrap_or_else(|e| e.into_inner()) = Some(Arc::clone(file));
    }
}

/// Which layer a handle is on.
enum Backing {
    /// An upper file: a copy, or a file the guest created.
    Upper(Arc<dyn File>),
    /// A lower file: this handle's own lower handle (an `O_PATH` one from a lookup, or a
    /// readable one from an open: they cannot be shared), and the cell shared with the others.
    Lower {
        file: Arc<dyn File>,
        shared: Arc<Shared>,
    },
}

/// An open file of an [`super::Overlay`]. Never the layer's own handle: every write must
/// pass `writable`, which copies a lower file up first.
pub(super) struct OverlayFile {
    st: Arc<State>,
    backing: Backing,
}

impl State {
    pub(super) fn files(&self) -> MutexGuard<'_, Files> {
        self.files.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Copy-ups published so far: read before a lookup, handed to [`State::lower_file`].
    pub(super) fn copies(&self) -> u64 {
        self.files().copies
    }

    /// Whether `path` is being copied up now (its upper entry is not complete yet). One
    /// atomic load when no copy-up runs, which is nearly always.
    pub(super) fn is_copying(&self, path: &str) -> bool {
        self.copying.load(std::sync::atomic::Ordering::Acquire)
            && self.files().copying.as_deref() == Some(path)
    }

    /// A handle on the lower file `file` (`name` in the lower directory `parent`, at
    /// `parent_path`), found by a lookup that began when [`State::copies`] was `seen`.
    /// Shares the cell of the file's other handles. If a copy-up was published since `seen`,
    /// the file may have been copied up after the lookup saw it: then the handle is on the
    /// copy, which is the file now.
    pub(super) fn lower_file(
        self: &Arc<Self>,
        file: Arc<dyn File>,
        parent: &Arc<dyn Dir>,
        parent_path: &str,
        name: &str,
        seen: u64,
    ) -> FsResult<OverlayFile> {
        let path = join(parent_path, name);
        let mut files = self.files();
        if files.copies != seen && !self.is_whiteout(&path) {
            // No copy-up can be published while we hold `files`, so this answer stays true
            // until the handle is registered.
            let copy = match self.upper_dir(parent_path, false)? {
                Some(dir) => optional(dir.lookup(name))?,
                None => None,
            };
            if let Some(Node::File(copy)) = copy {
                return Ok(OverlayFile::upper(Arc::clone(self), copy));
            }
        }
        let shared = match files.open.get(&path).and_then(Weak::upgrade) {
            Some(shared) => shared,
            None => {
                let shared = Arc::new(Shared {
                    parent: Arc::clone(parent),
                    parent_path: parent_path.to_owned(),
                    name: name.to_owned(),
                    upper: Mutex::new(None),
                });
                if files.open.len() >= files.sweep_at {
                    files.open.retain(|_, cell| cell.strong_count() > 0);
                    files.sweep_at = files.open.len().saturating_mul(2).max(64);
                }
                files.open.insert(path, Arc::downgrade(&shared));
                shared
            }
        };
        Ok(OverlayFile {
            st: Arc::clone(self),
            backing: Backing::Lower { file, shared },
        })
    }

    /// Makes the complete copy `copy` of the lower file at `path` what every handle on that
    /// file uses, and ends its hiding (`Copying`), in one step under the `files` lock: a
    /// lookup sees the lower file with its handles registered, or the copy, never a mix.
    pub(super) fn publish(&self, path: &str, copy: Arc<dyn File>) {
        let mut files = self.files();
        if let Some(shared) = files.open.remove(path).and_then(|cell| cell.upgrade()) {
            shared.set_upper(&copy);
        }
        files.copying = None;
        files.copies = files.copies.wrapping_add(1);
    }
}

impl OverlayFile {
    pub(super) fn upper(st: Arc<State>, file: Arc<dyn File>) -> OverlayFile {
        OverlayFile {
            st,
            backing: Backing::Upper(file),
        }
    }

    /// The file reads and stats go to, and whether it is in the upper layer.
    fn current(&self) -> (Arc<dyn File>, bool) {
        match &self.backing {
            Backing::Upper(f) => (Arc::clone(f), true),
            Backing::Lower { file, shared } => match shared.upper() {
                Some(copy) => (copy, true),
                None => (Arc::clone(file), false),
            },
        }
    }

    /// The upper file, copying the lower one up first if it has no copy yet.
    /// Errors: NotSupported if the lower file's name was removed or replaced since this
    /// handle was opened (a copy made now would not be this file); copy-up errors
    /// (TimedOut, NoSpace...).
    fn writable(&self) -> FsResult<Arc<dyn File>> {
        let shared = match &self.backing {
            Backing::Upper(f) => return Ok(Arc::clone(f)),
            Backing::Lower { shared, .. } => shared,
        };
        if let Some(copy) = shared.upper() {
            return Ok(copy);
        }
        let _lock = self.st.mutate()?;
        // Another handle may have copied it up while we waited for the lock.
        if let Some(copy) = shared.upper() {
            return Ok(copy);
        }
        let path = join(&shared.parent_path, &shared.name);
        if self.st.is_hidden(&path) {
            return Err(FsError::NotSupported);
        }
        let upper = self.st.upper_dir(&shared.parent_path, false)?;
        let existing = match &upper {
            Some(dir) => optional(dir.lookup(&shared.name))?,
            None => None,
        };
        match existing {
            None => {
                let (parent, name) = (&*shared.parent, &shared.name);
                self.st
                    .copy_up(&shared.parent_path, parent, name, Contents::Data)?;
            }
            // A copy this cell missed (only an upper changed behind the overlay's back can
            // do that): it is the file's copy all the same.
            Some(Node::File(_)) => {
                let upper = upper.ok_or(FsError::NotFound)?;
                let options = OpenOptions {
                    write: true,
                    ..OpenOptions::default()
                };
                shared.set_upper(&upper.open_file(&shared.name, options)?);
            }
            Some(Node::Dir(_)) => return Err(FsError::IsDir),
            Some(Node::Symlink(_)) => return Err(FsError::Loop),
        }
        // The copy-up published the copy into every registered cell, ours included.
        shared
            .upper()
            .ok_or_else(|| FsError::Io("overlay: a copy-up left a handle behind".into()))
    }
}

impl File for OverlayFile {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> FsResult<usize> {
        // Whichever layer holds the file now: after a copy-up (through any handle) the copy.
        self.current().0.read_at(buf, offset)
    }

    fn write_at(&self, buf: &[u8], offset: u64) -> FsResult<usize> {
        self.writable()?.write_at(buf, offset)
    }

    fn append(&self, buf: &[u8]) -> FsResult<(usize, u64)> {
        self.writable()?.append(buf)
    }

    fn stat(&self) -> FsResult<Filestat> {
        match self.current() {
            (file, true) => self.st.merge_stat(Some(file.stat()?), None),
            (file, false) => self.st.merge_stat(None, Some(file.stat()?)),
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
        // A lower file is never written, so syncing it is harmless (and cheap, read-only).
        self.current().0.sync()
    }

    fn data_extent(&self, offset: u64) -> FsResult<Option<Range<u64>>> {
        // Lets an overlay over this overlay copy only data too.
        self.current().0.data_extent(offset)
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}
