//! `Dir` for the overlay: a handle on one merged directory (its upper part, its lower part, or
//! both). Lookups merge the two (upper wins, whiteouts hide lower names, a copy being made is
//! not there yet) and take no lock; mutations take the overlay's lock, copy up what they
//! touch, act on the upper layer and record whiteouts. The lower tree is only ever read (it
//! is wrapped read-only besides).

use std::any::Any;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, OnceLock};

mod rename;

use super::copy::Contents;
use super::file::OverlayFile;
use super::place::Place;
use super::{State, UPPER_INO, join, node_stat, optional};
use crate::vfs::names::check_confined_target;
use crate::vfs::{
    Dir, DirEntry, File, FileType, Filestat, FsError, FsResult, Node, OpenOptions, SetTime,
};

/// One merged directory. A directory that exists in the lower tree (`lower` is set) is never
/// renamed, so its `path` stays true and its upper part can always be found by walking it.
pub(super) struct OverlayDir {
    st: Arc<State>,
    /// Relative path from the overlay root ("" for the root) when the handle was made: true
    /// for ever with `lower` (whiteouts and copy-ups use it only then), possibly stale for an
    /// upper-only directory, which renames move (`place` follows them).
    path: String,
    /// Where the directory is now, for the ancestry rules of `rename`.
    place: Place,
    /// The upper part, once known (always set for upper-only directories). Filled lazily: a
    /// lower directory gets an upper part only when something in it first changes, so
    /// reading a lower tree never allocates in the upper layer (or charges its budget).
    upper: Mutex<Option<Arc<dyn Dir>>>,
    /// The lower part, unless the directory exists only in the upper layer. Reached from
    /// `State::lower_root`, so it is inside `read_only()` like every lower handle.
    lower: Option<Arc<dyn Dir>>,
    /// Our merged inode number, computed once. Safe to cache: a directory with a lower part
    /// reports the lower number for ever, an upper-only one its tagged upper number.
    ino: OnceLock<u64>,
    /// The merged inode number of the directory we were looked up from (`..`); `None` for
    /// the root, whose `..` is itself (nothing above the mount is revealed).
    parent_ino: Option<u64>,
    /// The merged listing readdir cookies index into; replaced on every rewind.
    listing: Mutex<Option<Arc<Vec<DirEntry>>>>,
}

/// What one name is in each layer, whiteouts applied to the lower side.
struct Found {
    upper: Option<Node>,
    lower: Option<Node>,
}

impl Found {
    fn exists(&self) -> bool {
        self.upper.is_some() || self.lower.is_some()
    }

    /// The object the guest sees: the upper one if any (a copy, or something created over a
    /// whiteout; either way it replaces the lower object).
    fn merged(&self) -> Option<&Node> {
        self.upper.as_ref().or(self.lower.as_ref())
    }

    fn is_dir(&self) -> bool {
        matches!(self.merged(), Some(Node::Dir(_)))
    }

    /// A directory with a lower part: it cannot be renamed (EXDEV).
    fn is_lower_dir(&self) -> bool {
        self.is_dir() && matches!(self.lower, Some(Node::Dir(_)))
    }
}

impl OverlayDir {
    pub(super) fn root(st: Arc<State>) -> OverlayDir {
        let upper = Arc::clone(&st.upper_root);
        let lower = Arc::clone(&st.lower_root);
        let place = Place::Fixed("".into());
        OverlayDir::new(st, String::new(), place, Some(upper), Some(lower), None)
    }

    fn new(
        st: Arc<State>,
        path: String,
        place: Place,
        upper: Option<Arc<dyn Dir>>,
        lower: Option<Arc<dyn Dir>>,
        parent_ino: Option<u64>,
    ) -> OverlayDir {
        OverlayDir {
            st,
            path,
            place,
            upper: Mutex::new(upper),
            lower,
            ino: OnceLock::new(),
            parent_ino,
            listing: Mutex::new(None),
        }
    }

    /// The path of our entry `name`: the key of its whiteout and copy-up. True only when we
    /// have a lower part, which is the only case it is used for.
    fn child(&self, name: &str) -> String {
        join(&self.path, name)
    }

    /// NotFound if this lower directory was removed or replaced by the guest since we got it.
    fn live(&self) -> FsResult<()> {
        if self.lower.is_some() && self.st.is_hidden(&self.path) {
            return Err(FsError::NotFound);
        }
        Ok(())
    }

    /// The upper part, found by walking our path, or created (a directory copy-up) when
    /// `create`, which needs the mutation lock.
    fn upper(&self, create: bool) -> FsResult<Option<Arc<dyn Dir>>> {
        self.live()?;
        // Filled once, never cleared: an upper part, once made, is this directory's for as
        // long as the directory lives (removing it whites the path out, and `live` refuses
        // first). An upper-only directory has it from the start.
        let mut cached = self.upper.lock().unwrap_or_else(|e| e.into_inner());
        if cached.is_none() && self.lower.is_some() {
            *cached = self.st.upper_dir(&self.path, create)?;
        }
        Ok(cached.clone())
    }

    /// The upper part, created if needed. Creating it is a directory copy-up (with its
    /// missing ancestors), which needs the mutation lock: only mutations call this.
    fn upper_mut(&self) -> FsResult<Arc<dyn Dir>> {
        self.upper(true)?.ok_or(FsError::NotFound)
    }

    /// Looks `name` up in both layers. Takes no lock: a concurrent mutation is seen wholly
    /// or not at all, except for a copy-up's upper entry, which is skipped until published.
    fn find(&self, name: &str) -> FsResult<Found> {
        let mut upper = match self.upper(false)? {
            Some(u) => optional(u.lookup(name))?,
            None => None,
        };
        // Only a directory with a lower part has copy-ups (of its lower files).
        if upper.is_some() && self.lower.is_some() && self.st.is_copying(&self.child(name)) {
            upper = None;
        }
        // The lower side only where the guest did not delete, replace or rename the name
        // away. A directory without a lower part never looks below: everything under an
        // upper-only (or opaque) directory is upper-only.
        let lower = match &self.lower {
            Some(l) if !self.st.is_whiteout(&self.child(name)) => optional(l.lookup(name))?,
            _ => None,
        };
        Ok(Found { upper, lower })
    }

    /// The merged directory `name` as `find` saw it, if it is one. Its place is its path when
    /// it has a lower part, else the shared place of that upper directory, now `name` here.
    fn child_dir(
        &self,
        name: &str,
        found: &Found,
        parent: Option<u64>,
    ) -> FsResult<Option<OverlayDir>> {
        let upper = match &found.upper {
            Some(Node::Dir(u)) => Some(Arc::clone(u)),
            Some(Node::File(_) | Node::Symlink(_)) => return Ok(None),
            None => None,
        };
        let lower = match &found.lower {
            Some(Node::Dir(l)) => Some(Arc::clone(l)),
            _ => None,
        };
        let path = self.child(name);
        let place = match (&upper, &lower) {
            (_, Some(_)) => Place::Fixed(path.as_str().into()),
            (Some(u), None) => self.st.moving_place(u, &self.place, name)?,
            (None, None) => return Ok(None),
        };
        let st = Arc::clone(&self.st);
        Ok(Some(OverlayDir::new(st, path, place, upper, lower, parent)))
    }

    /// Whether the merged directory `name` has no visible entries. Merged, not upper: lower
    /// entries that are not whited out count, so removing a lower directory whose upper part
    /// is empty but whose lower children are visible is ENOTEMPTY, as the guest sees them.
    fn is_empty_dir(&self, name: &str, found: &Found) -> FsResult<bool> {
        match self.child_dir(name, found, None)? {
            Some(dir) => Ok(dir.merged_entries()?.is_empty()),
            None => Err(FsError::NotDir),
        }
    }

    /// The current path of the directory `name` as `find` saw it (NotDir if it is none).
    fn child_path(&self, name: &str, found: &Found) -> FsResult<String> {
        let dir = self.child_dir(name, found, None)?.ok_or(FsError::NotDir)?;
        dir.place.path()
    }

    /// Turns what `find` saw into the node the resolver gets. `seen` is the overlay's copy-up
    /// count from before the `find` (see `State::lower_file`).
    fn to_node(&self, name: &str, found: Found, seen: u64) -> FsResult<Node> {
        // A directory handle is always an overlay handle: handing out a layer's own handle
        // would let writes skip copy-up and whiteouts (and the lower one is read-only).
        if found.is_dir() {
            let dir = self.child_dir(name, &found, Some(self.ino()?))?;
            return Ok(Node::Dir(Arc::new(dir.ok_or(FsError::NotFound)?)));
        }
        let st = Arc::clone(&self.st);
        Ok(match (found.upper, found.lower) {
            (Some(Node::File(f)), _) => Node::File(Arc::new(OverlayFile::upper(st, f))),
            (Some(Node::Symlink(t)), _) | (None, Some(Node::Symlink(t))) => Node::Symlink(t),
            (None, Some(Node::File(f))) => {
                // A lower file: its handle shares the copy-up of the file's other handles.
                let lower = self.lower.as_ref().ok_or(FsError::NotFound)?;
                let file = st.lower_file(f, lower, &self.path, name, seen)?;
                Node::File(Arc::new(file))
            }
            (Some(Node::Dir(_)), _) | (None, Some(Node::Dir(_))) | (None, None) => {
                return Err(FsError::NotFound);
            }
        })
    }

    /// Merged stat of the entry `name` as `find` saw it (a symlink has no handle: its parent
    /// answers for it).
    fn found_stat(&self, name: &str, found: &Found) -> FsResult<Filestat> {
        let upper = match (&found.upper, self.upper(false)?) {
            (Some(node), Some(dir)) => Some(node_stat(&*dir, name, node)?),
            _ => None,
        };
        let lower = match (&found.lower, &self.lower) {
            (Some(node), Some(dir)) => Some(node_stat(&**dir, name, node)?),
            _ => None,
        };
        self.st.merge_stat(upper, lower)
    }

    /// Our merged inode number (stable: the lower one if we exist below).
    fn ino(&self) -> FsResult<u64> {
        if let Some(ino) = self.ino.get() {
            return Ok(*ino);
        }
        let ino = self.stat()?.ino;
        Ok(*self.ino.get_or_init(|| ino))
    }

    /// Copies the lower non-directory `name` up (no-op if it is already up).
    fn copy_up(&self, name: &str, found: &Found, contents: Contents) -> FsResult<()> {
        match (&found.upper, &self.lower) {
            (None, Some(lower)) => self.st.copy_up(&self.path, &**lower, name, contents),
            _ => Ok(()),
        }
    }

    /// The other side of a two-path operation: a directory of this same overlay.
    /// Errors: ReadOnly (a read-only wrapper around it), CrossDevice.
    fn peer<'a>(&self, other: &'a dyn Dir) -> FsResult<&'a OverlayDir> {
        // Another overlay (or this one's layers) is another device: its whiteouts and
        // copy-ups are its own, so a link or rename across is EXDEV, as between mounts.
        if other.is_read_only() {
            return Err(FsError::ReadOnly);
        }
        match other.as_any().downcast_ref::<OverlayDir>() {
            Some(d) if Arc::ptr_eq(&d.st, &self.st) => Ok(d),
            _ => Err(FsError::CrossDevice),
        }
    }

    /// Merged entries (without `.` and `..`), sorted by name, with merged inode numbers.
    /// Lower first, then the upper layer over it: an upper entry wins its name (a copy, or a
    /// new object over a whiteout), and a merged directory keeps the lower inode number, as
    /// `merge_stat` gives it, so readdir and stat agree before and after a copy-up.
    fn merged_entries(&self) -> FsResult<Vec<DirEntry>> {
        let mut names: BTreeMap<String, (u64, FileType)> = BTreeMap::new();
        if let Some(lower) = &self.lower {
            self.live()?;
            for e in lower.read_dir(0, usize::MAX)? {
                if e.name == "." || e.name == ".." || self.st.is_whiteout(&self.child(&e.name)) {
                    continue;
                }
                names.insert(e.name, (e.ino & !UPPER_INO, e.filetype));
            }
        }
        if let Some(upper) = self.upper(false)? {
            for e in upper.read_dir(0, usize::MAX)? {
                // A copy being made is listed as the lower file it still is.
                let copying = self.lower.is_some() && self.st.is_copying(&self.child(&e.name));
                if e.name == "." || e.name == ".." || copying {
                    continue;
                }
                let merged_dir = e.filetype == FileType::Directory
                    && matches!(names.get(&e.name), Some((_, FileType::Directory)));
                let ino = match names.get(&e.name) {
                    Some((lower_ino, _)) if merged_dir => *lower_ino,
                    _ => e.ino | UPPER_INO,
                };
                names.insert(e.name, (ino, e.filetype));
            }
        }
        Ok(names
            .into_iter()
            .map(|(name, (ino, filetype))| DirEntry {
                next_cookie: 0,
                ino,
                filetype,
                name,
            })
            .collect())
    }

    /// The listing to serve `cookie` from: a new one on rewind or when none was taken yet.
    /// A snapshot, as the host backend's: merging two layers has no order that survives
    /// changes, so cookies index a sorted list that only a rewind replaces.
    fn listing(&self, cookie: u64) -> FsResult<Arc<Vec<DirEntry>>> {
        let mut cached = self.listing.lock().unwrap_or_else(|e| e.into_inner());
        match &*cached {
            Some(listing) if cookie != 0 => Ok(Arc::clone(listing)),
            _ => {
                let listing = Arc::new(self.merged_entries()?);
                *cached = Some(Arc::clone(&listing));
                Ok(listing)
            }
        }
    }
}

impl Dir for OverlayDir {
    fn lookup(&self, name: &str) -> FsResult<Node> {
        // Before the find: a copy-up published after this makes a lower handle look again.
        let seen = self.st.copies();
        let found = self.find(name)?;
        self.to_node(name, found, seen)
    }

    fn open_file(&self, name: &str, options: OpenOptions) -> FsResult<Arc<dyn File>> {
        let _lock = self.st.mutate()?;
        let found = self.find(name)?;
        // Under the lock: what `find` saw stays true until the open is done, so a copy-up
        // here cannot race another one of the same file.
        match found.merged() {
            None if !options.create => return Err(FsError::NotFound),
            // A new file (possibly over a whiteout, which keeps the lower one hidden).
            None => {
                let file = self.upper_mut()?.open_file(name, options)?;
                return Ok(Arc::new(OverlayFile::upper(Arc::clone(&self.st), file)));
            }
            Some(_) if options.create && options.exclusive => return Err(FsError::Exists),
            Some(Node::Dir(_)) => return Err(FsError::IsDir),
            Some(Node::Symlink(_)) => return Err(FsError::Loop),
            Some(Node::File(_)) => {}
        }
        if found.upper.is_none() && !(options.write || options.truncate) {
            // Reading a lower file needs no copy: it is copied when first changed, through
            // any of its handles. No copy-up can run while we hold the lock, so the count
            // read now is current.
            let lower = self.lower.as_ref().ok_or(FsError::NotFound)?;
            let file = lower.open_file(name, OpenOptions::default())?;
            let seen = self.st.copies();
            let file = self.st.lower_file(file, lower, &self.path, name, seen)?;
            return Ok(Arc::new(file));
        }
        // An open that truncates copies no data only to drop it (overlayfs neither).
        let contents = if options.truncate {
            Contents::Empty
        } else {
            Contents::Data
        };
        self.copy_up(name, &found, contents)?;
        // The name exists (as the copy, if not before): the upper open must not refuse it
        // as exclusive; TRUNC then truncates the copy.
        let options = OpenOptions {
            exclusive: false,
            ..options
        };
        let file = self.upper_mut()?.open_file(name, options)?;
        Ok(Arc::new(OverlayFile::upper(Arc::clone(&self.st), file)))
    }

    fn create_dir(&self, name: &str) -> FsResult<()> {
        let _lock = self.st.mutate()?;
        // The merged view decides EEXIST: a lower name not whited out exists, though the
        // upper layer would let us create it.
        if self.find(name)?.exists() {
            return Err(FsError::Exists);
        }
        // A whiteout left at this path keeps hiding the lower subtree: the new directory is
        // opaque, as in overlayfs.
        self.upper_mut()?.create_dir(name)
    }

    fn remove_dir(&self, name: &str) -> FsResult<()> {
        let _lock = self.st.mutate()?;
        let found = self.find(name)?;
        match found.merged() {
            None => return Err(FsError::NotFound),
            Some(Node::File(_) | Node::Symlink(_)) => return Err(FsError::NotDir),
            Some(Node::Dir(_)) if !self.is_empty_dir(name, &found)? => {
                return Err(FsError::NotEmpty);
            }
            Some(Node::Dir(_)) => {}
        }
        // Merged-empty means upper-empty: every upper entry is visible.
        if found.upper.is_some() {
            let moving = found.moving_ino()?;
            self.upper_mut()?.remove_dir(name)?;
            // Handles still open on a removed upper-only directory lead nowhere.
            if let Some(ino) = moving {
                self.st.removed(ino);
            }
        }
        if found.lower.is_some() {
            self.st.add_whiteout(&self.child(name));
        }
        Ok(())
    }

    fn unlink(&self, name: &str) -> FsResult<()> {
        let _lock = self.st.mutate()?;
        let found = self.find(name)?;
        match found.merged() {
            None => return Err(FsError::NotFound),
            Some(Node::Dir(_)) => return Err(FsError::IsDir),
            Some(_) => {}
        }
        // The upper entry (a copy or the guest's own) goes, and the lower one is hidden.
        // Handles on the lower file that were never copied up keep reading it, as an
        // unlinked file's descriptors do; they can no longer change it (see `writable`).
        if found.upper.is_some() {
            self.upper_mut()?.unlink(name)?;
        }
        if found.lower.is_some() {
            self.st.add_whiteout(&self.child(name));
        }
        Ok(())
    }

    fn symlink(&self, name: &str, target: &str) -> FsResult<()> {
        // Confined before the lock: the upper layer (memory) stores any valid target
        // verbatim, for copy-ups of lower links, so refusing absolute ones is ours to do.
        check_confined_target(target)?;
        let _lock = self.st.mutate()?;
        if self.find(name)?.exists() {
            return Err(FsError::Exists);
        }
        self.upper_mut()?.symlink(name, target)
    }

    fn read_link(&self, name: &str) -> FsResult<String> {
        // From the merged view: a whited-out lower link is gone, a replaced one is the new.
        match self.find(name)?.merged() {
            Some(Node::Symlink(target)) => Ok(target.clone()),
            Some(_) => Err(FsError::Invalid),
            None => Err(FsError::NotFound),
        }
    }

    fn stat_at(&self, name: &str) -> FsResult<Filestat> {
        // No lock, no copy-up: a stat reads whichever layer holds the merged object.
        let found = self.find(name)?;
        self.found_stat(name, &found)
    }

    fn set_times_at(&self, name: &str, atime: SetTime, mtime: SetTime) -> FsResult<()> {
        let _lock = self.st.mutate()?;
        let found = self.find(name)?;
        match (&found.upper, &found.lower) {
            (None, None) => Err(FsError::NotFound),
            // A lower directory: copied up (its entries stay below), its times set there.
            (None, Some(Node::Dir(_))) => {
                let dir = self.st.upper_dir(&self.child(name), true)?;
                dir.ok_or(FsError::NotFound)?.set_times(atime, mtime)
            }
            _ => {
                self.copy_up(name, &found, Contents::Data)?;
                self.upper_mut()?.set_times_at(name, atime, mtime)
            }
        }
    }

    fn link(&self, name: &str, new_dir: &dyn Dir, new_name: &str) -> FsResult<()> {
        // The peer before the lock: refusing another device or a read-only side needs no
        // state, and must not wait behind someone's copy-up.
        let dst = self.peer(new_dir)?;
        let _lock = self.st.mutate()?;
        let found = self.find(name)?;
        if !found.exists() {
            return Err(FsError::NotFound);
        }
        // Linux order: an existing new name (EEXIST) before a directory source (EPERM).
        if dst.find(new_name)?.exists() {
            return Err(FsError::Exists);
        }
        if found.is_dir() {
            return Err(FsError::NotPermitted);
        }
        // The link is made between upper copies: a lower file linked gets copied up first.
        self.copy_up(name, &found, Contents::Data)?;
        let src_upper = self.upper_mut()?;
        src_upper.link(name, &*dst.upper_mut()?, new_name)
    }

    fn rename(&self, name: &str, new_dir: &dyn Dir, new_name: &str) -> FsResult<()> {
        let dst = self.peer(new_dir)?;
        self.rename_within(name, dst, new_name)
    }

    fn stat(&self) -> FsResult<Filestat> {
        // Times and link count from the upper part if any (changes land there), the inode
        // number from the lower part if any (stable across the directory's copy-up).
        let upper = match self.upper(false)? {
            Some(u) => Some(u.stat()?),
            None => None,
        };
        let lower = match &self.lower {
            Some(l) => Some(l.stat()?),
            None => None,
        };
        self.st.merge_stat(upper, lower)
    }

    fn set_times(&self, atime: SetTime, mtime: SetTime) -> FsResult<()> {
        // Copies the directory up: its times live in the upper part from now on.
        let _lock = self.st.mutate()?;
        self.upper_mut()?.set_times(atime, mtime)
    }

    fn read_dir(&self, cookie: u64, max: usize) -> FsResult<Vec<DirEntry>> {
        let listing = self.listing(cookie)?;
        let ino = self.ino()?;
        // `..` is the directory we were looked up from (the root is its own parent, so the
        // listing never reveals what lies above the mount).
        let dots = [ino, self.parent_ino.unwrap_or(ino)];
        Ok(crate::vfs::page_listing(dots, &listing, cookie, max, |e| {
            (e.name.clone(), e.ino, e.filetype)
        }))
    }

    fn sync(&self) -> FsResult<()> {
        // The upper layer is memory and the lower one is never written: nothing to flush.
        Ok(())
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}
