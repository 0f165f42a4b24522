//! Where each merged directory is *now*, for the ancestry rules of `rename` (EINVAL into its
//! own subtree, ENOTEMPTY onto an ancestor). A directory with a lower part is never renamed
//! (EXDEV), so its path stays true; an upper-only one can move with handles open on it, so its
//! place is its parent's place and its name, shared by all its handles through [`Places`] and
//! updated by the overlay's own renames and removals. Nothing here touches a layer.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use super::{State, join};
use crate::vfs::{Dir, FsError, FsResult};

/// Most parents walked to find a path: deeper than any path budget allows, so only a cycle
/// (which the rename rules make impossible) could reach it.
const MAX_DEPTH: usize = 1 << 16;

/// Where one merged directory is.
#[derive(Clone)]
pub(super) enum Place {
    /// A directory with a lower part, at this path from the root ("" for the root).
    Fixed(Arc<str>),
    /// A directory only the upper layer has: it moves with renames.
    Moving(Arc<Moving>),
}

/// The place of one upper-only directory, shared by every handle on it.
pub(super) struct Moving {
    /// Keeps the upper directory's inode alive, so the inode number [`Places`] files this
    /// under is not reused for another directory while this place exists.
    _dir: Arc<dyn Dir>,
    /// Its parent's place and its name there; `None` once the overlay removed it.
    at: Mutex<Option<(Place, String)>>,
}

impl Moving {
    fn at(&self) -> MutexGuard<'_, Option<(Place, String)>> {
        self.at.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The places of upper-only directories that have handles, by upper inode number.
#[derive(Default)]
pub(super) struct Places {
    by_ino: HashMap<u64, Weak<Moving>>,
    /// Size of `by_ino` at which dead entries are swept next (amortised, as `Files`).
    sweep_at: usize,
}

impl Place {
    /// The directory's path from the overlay root now. Errors: NotFound if it (or, through a
    /// stale chain, an ancestor) was removed; Loop past [`MAX_DEPTH`] parents.
    pub(super) fn path(&self) -> FsResult<String> {
        let mut names: Vec<String> = Vec::new();
        let mut cur = self.clone();
        for _ in 0..MAX_DEPTH {
            let moving = match cur {
                Place::Fixed(path) => {
                    let mut out = path.to_string();
                    for name in names.iter().rev() {
                        out = join(&out, name);
                    }
                    return Ok(out);
                }
                Place::Moving(moving) => moving,
            };
            let (parent, name) = moving.at().clone().ok_or(FsError::NotFound)?;
            names.push(name);
            cur = parent;
        }
        Err(FsError::Loop)
    }
}

/// Whether the directory at `inner` is the one at `outer` or below it (paths from `path`).
pub(super) fn is_within(inner: &str, outer: &str) -> bool {
    outer.is_empty()
        || inner == outer
        || inner
            .strip_prefix(outer)
            .is_some_and(|rest| rest.starts_with('/'))
}

impl State {
    fn places(&self) -> MutexGuard<'_, Places> {
        self.places.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The place of the upper-only directory `dir`, just found as `name` in the directory at
    /// `parent`. A lookup is the truth about where a directory is, so an existing place is
    /// moved there (it already is, unless the upper layer was changed behind our back).
    pub(super) fn moving_place(
        &self,
        dir: &Arc<dyn Dir>,
        parent: &Place,
        name: &str,
    ) -> FsResult<Place> {
        let ino = dir.stat()?.ino;
        let at = Some((parent.clone(), name.to_owned()));
        let mut places = self.places();
        if let Some(moving) = places.by_ino.get(&ino).and_then(Weak::upgrade) {
            *moving.at() = at;
            return Ok(Place::Moving(moving));
        }
        let moving = Arc::new(Moving {
            _dir: Arc::clone(dir),
            at: Mutex::new(at),
        });
        if places.by_ino.len() >= places.sweep_at {
            places.by_ino.retain(|_, place| place.strong_count() > 0);
            places.sweep_at = places.by_ino.len().saturating_mul(2).max(64);
        }
        places.by_ino.insert(ino, Arc::downgrade(&moving));
        Ok(Place::Moving(moving))
    }

    /// Records that the overlay moved the upper-only directory with inode `ino` to `name` in
    /// the directory at `parent` (if it has a place: no handle, nothing to move).
    pub(super) fn moved(&self, ino: u64, parent: &Place, name: &str) {
        let moving = self.places().by_ino.get(&ino).and_then(Weak::upgrade);
        if let Some(moving) = moving {
            *moving.at() = Some((parent.clone(), name.to_owned()));
        }
    }

    /// Records that the overlay removed the upper-only directory with inode `ino`: handles
    /// still open on it find no path (a rename into it is ENOENT, as on Linux).
    pub(super) fn removed(&self, ino: u64) {
        let moving = self.places().by_ino.remove(&ino).and_then(|p| p.upgrade());
        if let Some(moving) = moving {
            *moving.at() = None;
        }
    }
}
