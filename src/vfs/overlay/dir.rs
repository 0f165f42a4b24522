//! `Dir` for the overlay: a handle on one merged directory (its upper part, its lower part, or
//! both). Lookups merge the two (upper wins, whiteouts hide lower names); mutations take the
//! overlay's lock, copy up what they touch, act on the upper layer and record whiteouts.
//! The lower tree is only ever read (it is wrapped read-only besides).

use std::any::Any;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, OnceLock};

use super::file::OverlayFile;
use super::{State, UPPER_INO, join, node_stat, optional};
use crate::vfs::{
    Dir, DirEntry, File, FileType, Filestat, FsError, FsResult, Node, OpenOptions, SetTime,
};

/// One merged directory. A directory that exists in the lower tree (`lower` is set) is never
/// renamed, so its `path` stays true and its upper part can always be found by walking it.
pub(super) struct OverlayDir {
    st: Arc<State>,
    /// Relative path from the overlay root ("" for the root). Meaningful only with `lower`.
    path: String,
    /// The upper part, once known (always set for upper-only directories).
    upper: Mutex<Option<Arc<dyn Dir>>>,
    /// The lower part, unless the directory exists only in the upper layer.
    lower: Option<Arc<dyn Dir>>,
    /// Our merged inode number, computed once.
    ino: OnceLock<u64>,
    /// The merged inode number of the directory we were looked up from (`..`).
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

    /// The object the guest sees: the upper one if any.
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
        OverlayDir::new(st, String::new(), Some(upper), Some(lower), None)
    }

    fn new(
        st: Arc<State>,
        path: String,
        upper: Option<Arc<dyn Dir>>,
        lower: Option<Arc<dyn Dir>>,
        parent_ino: Option<u64>,
    ) -> OverlayDir {
        OverlayDir {
            st,
            path,
            upper: Mutex::new(upper),
            lower,
            ino: OnceLock::new(),
            parent_ino,
            listing: Mutex::new(None),
        }
    }

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
        let mut cached = self.upper.lock().unwrap_or_else(|e| e.into_inner());
        if cached.is_none() && self.lower.is_some() {
            *cached = self.st.upper_dir(&self.path, create)?;
        }
        Ok(cached.clone())
    }

    /// The upper part, created if needed.
    fn upper_mut(&self) -> FsResult<Arc<dyn Dir>> {
        self.upper(true)?.ok_or(FsError::NotFound)
    }

    /// Looks `name` up in both layers.
    fn find(&self, name: &str) -> FsResult<Found> {
        let upper = match self.upper(false)? {
            Some(u) => optional(u.lookup(name))?,
            None => None,
        };
        let lower = match &self.lower {
            Some(l) if !self.st.is_whiteout(&self.child(name)) => optional(l.lookup(name))?,
            _ => None,
        };
        Ok(Found { upper, lower })
    }

    /// The merged directory `name` as `find` saw it, if it is one.
    fn child_dir(&self, name: &str, found: &Found, parent: Option<u64>) -> Option<OverlayDir> {
        let upper = match &found.upper {
            Some(Node::Dir(u)) => Some(Arc::clone(u)),
            Some(Node::File(_) | Node::Symlink(_)) => return None,
            None => None,
        };
        let lower = match &found.lower {
            Some(Node::Dir(l)) => Some(Arc::clone(l)),
            _ => None,
        };
        if upper.is_none() && lower.is_none() {
            return None;
        }
        let st = Arc::clone(&self.st);
        Some(OverlayDir::new(st, self.child(name), upper, lower, parent))
    }

    /// Whether the merged directory `name` has no visible entries.
    fn is_empty_dir(&self, name: &str, found: &Found) -> FsResult<bool> {
        match self.child_dir(name, found, None) {
            Some(dir) => Ok(dir.merged_entries()?.is_empty()),
            None => Err(FsError::NotDir),
        }
    }

    /// Turns what `find` saw into the node the resolver gets.
    fn to_node(&self, name: &str, found: Found) -> FsResult<Node> {
        if found.is_dir() {
            let dir = self.child_dir(name, &found, Some(self.ino()?));
            return Ok(Node::Dir(Arc::new(dir.ok_or(FsError::NotFound)?)));
        }
        let st = Arc::clone(&self.st);
        Ok(match (found.upper, found.lower) {
            (Some(Node::File(f)), _) => Node::File(Arc::new(OverlayFile::upper(st, f))),
            (Some(Node::Symlink(t)), _) | (None, Some(Node::Symlink(t))) => Node::Symlink(t),
            (None, Some(Node::File(f))) => {
                let lower = self.lower.clone().ok_or(FsError::NotFound)?;
                Node::File(Arc::new(OverlayFile::lower(st, f, lower, &self.path, name)))
            }
            (Some(Node::Dir(_)), _) | (None, Some(Node::Dir(_))) | (None, None) => {
                return Err(FsError::NotFound);
            }
        })
    }

    /// Merged stat of the entry `name` as `find` saw it.
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
    fn copy_up(&self, name: &str, found: &Found) -> FsResult<()> {
        match (&found.upper, &self.lower) {
            (None, Some(lower)) => self.st.copy_up(&self.path, &**lower, name),
            _ => Ok(()),
        }
    }

    /// The other side of a two-path operation: a directory of this same overlay.
    /// Errors: ReadOnly (a read-only wrapper around it), CrossDevice.
    fn peer<'a>(&self, other: &'a dyn Dir) -> FsResult<&'a OverlayDir> {
        if crate::vfs::read_only::is_read_only(other) {
            return Err(FsError::ReadOnly);
        }
        match other.as_any().downcast_ref::<OverlayDir>() {
            Some(d) if Arc::ptr_eq(&d.st, &self.st) => Ok(d),
            _ => Err(FsError::CrossDevice),
        }
    }

    /// Merged entries (without `.` and `..`), sorted by name, with merged inode numbers.
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
                if e.name == "." || e.name == ".." {
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

    /// POSIX replace rules for renaming `src` onto the existing `new_name` of `dst`.
    fn check_replace(src: &Found, dst: &OverlayDir, new_name: &str, found: &Found) -> FsResult<()> {
        match (src.is_dir(), found.is_dir()) {
            (true, false) => Err(FsError::NotDir),
            (false, true) => Err(FsError::IsDir),
            (true, true) if !dst.is_empty_dir(new_name, found)? => Err(FsError::NotEmpty),
            (true, true) | (false, false) => Ok(()),
        }
    }
}

impl Dir for OverlayDir {
    fn lookup(&self, name: &str) -> FsResult<Node> {
        let found = self.find(name)?;
        self.to_node(name, found)
    }

    fn open_file(&self, name: &str, options: OpenOptions) -> FsResult<Arc<dyn File>> {
        let _lock = self.st.mutate();
        let found = self.find(name)?;
        match found.merged() {
            None if !options.create => return Err(FsError::NotFound),
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
            // Reading a lower file needs no copy: it is copied when first changed.
            let lower = self.lower.clone().ok_or(FsError::NotFound)?;
            let file = lower.open_file(name, OpenOptions::default())?;
            let st = Arc::clone(&self.st);
            return Ok(Arc::new(OverlayFile::lower(
                st, file, lower, &self.path, name,
            )));
        }
        self.copy_up(name, &found)?;
        let options = OpenOptions {
            exclusive: false,
            ..options
        };
        let file = self.upper_mut()?.open_file(name, options)?;
        Ok(Arc::new(OverlayFile::upper(Arc::clone(&self.st), file)))
    }

    fn create_dir(&self, name: &str) -> FsResult<()> {
        let _lock = self.st.mutate();
        if self.find(name)?.exists() {
            return Err(FsError::Exists);
        }
        // A whiteout left at this path keeps hiding the lower subtree: the new directory is
        // opaque, as in overlayfs.
        self.upper_mut()?.create_dir(name)
    }

    fn remove_dir(&self, name: &str) -> FsResult<()> {
        let _lock = self.st.mutate();
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
            self.upper_mut()?.remove_dir(name)?;
        }
        if found.lower.is_some() {
            self.st.add_whiteout(&self.child(name));
        }
        Ok(())
    }

    fn unlink(&self, name: &str) -> FsResult<()> {
        let _lock = self.st.mutate();
        let found = self.find(name)?;
        match found.merged() {
            None => return Err(FsError::NotFound),
            Some(Node::Dir(_)) => return Err(FsError::IsDir),
            Some(_) => {}
        }
        if found.upper.is_some() {
            self.upper_mut()?.unlink(name)?;
        }
        if found.lower.is_some() {
            self.st.add_whiteout(&self.child(name));
        }
        Ok(())
    }

    fn symlink(&self, name: &str, target: &str) -> FsResult<()> {
        if target.starts_with('/') {
            return Err(FsError::Escape);
        }
        let _lock = self.st.mutate();
        if self.find(name)?.exists() {
            return Err(FsError::Exists);
        }
        self.upper_mut()?.symlink(name, target)
    }

    fn read_link(&self, name: &str) -> FsResult<String> {
        match self.find(name)?.merged() {
            Some(Node::Symlink(target)) => Ok(target.clone()),
            Some(_) => Err(FsError::Invalid),
            None => Err(FsError::NotFound),
        }
    }

    fn stat_at(&self, name: &str) -> FsResult<Filestat> {
        let found = self.find(name)?;
        self.found_stat(name, &found)
    }

    fn set_times_at(&self, name: &str, atime: SetTime, mtime: SetTime) -> FsResult<()> {
        let _lock = self.st.mutate();
        let found = self.find(name)?;
        match (&found.upper, &found.lower) {
            (None, None) => Err(FsError::NotFound),
            (None, Some(Node::Dir(_))) => {
                let dir = self.st.upper_dir(&self.child(name), true)?;
                dir.ok_or(FsError::NotFound)?.set_times(atime, mtime)
            }
            _ => {
                self.copy_up(name, &found)?;
                self.upper_mut()?.set_times_at(name, atime, mtime)
            }
        }
    }

    fn link(&self, name: &str, new_dir: &dyn Dir, new_name: &str) -> FsResult<()> {
        let dst = self.peer(new_dir)?;
        let _lock = self.st.mutate();
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
        self.copy_up(name, &found)?;
        let src_upper = self.upper_mut()?;
        src_upper.link(name, &*dst.upper_mut()?, new_name)
    }

    fn rename(&self, name: &str, new_dir: &dyn Dir, new_name: &str) -> FsResult<()> {
        let dst = self.peer(new_dir)?;
        let _lock = self.st.mutate();
        let found = self.find(name)?;
        if !found.exists() {
            return Err(FsError::NotFound);
        }
        let dst_found = dst.find(new_name)?;
        if dst_found.exists() {
            // Two names of one object (or a name onto itself): POSIX says do nothing.
            if self.found_stat(name, &found)? == dst.found_stat(new_name, &dst_found)? {
                return Ok(());
            }
            Self::check_replace(&found, dst, new_name, &dst_found)?;
        }
        // Moving a directory that exists below would need redirects: EXDEV, as overlayfs
        // without redirect_dir (`mv` then copies).
        if found.is_lower_dir() {
            return Err(FsError::CrossDevice);
        }
        self.copy_up(name, &found)?;
        let src_upper = self.upper_mut()?;
        let dst_upper = dst.upper_mut()?;
        let dst_path = dst.child(new_name);
        let hid_dst = dst_found.lower.is_some() && self.st.add_whiteout(&dst_path);
        if let Err(e) = src_upper.rename(name, &*dst_upper, new_name) {
            if hid_dst {
                self.st.remove_whiteout(&dst_path);
            }
            return Err(e);
        }
        if found.lower.is_some() {
            self.st.add_whiteout(&self.child(name));
        }
        Ok(())
    }

    fn stat(&self) -> FsResult<Filestat> {
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
        let _lock = self.st.mutate();
        self.upper_mut()?.set_times(atime, mtime)
    }

    fn read_dir(&self, cookie: u64, max: usize) -> FsResult<Vec<DirEntry>> {
        let listing = self.listing(cookie)?;
        let ino = self.ino()?;
        let dots = [ino, self.parent_ino.unwrap_or(ino)];
        Ok(crate::vfs::page_listing(dots, &listing, cookie, max, |e| {
            (e.name.clone(), e.ino, e.filetype)
        }))
    }

    fn sync(&self) -> FsResult<()> {
        Ok(())
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}
