//! `rename` for the overlay, in Linux's order of checks: ancestry (ENOENT into a removed
//! directory, EINVAL into its own subtree, ENOTEMPTY onto an ancestor of the source), then
//! "two names of one object", then the type rules, then overlayfs's EXDEV for a directory with
//! a lower part. Then the source is copied up, moved in the upper layer, and the whiteouts and
//! places that the move changes are recorded. It never touches the lower layer.

use super::{Found, OverlayDir};
use crate::vfs::overlay::copy::Contents;
use crate::vfs::overlay::place::is_within;
use crate::vfs::{FsError, FsResult, Node};

impl Found {
    /// The upper inode number of what `find` saw, if it is a directory only the upper layer
    /// has (whose place renames move and removals end). A merged directory has a fixed place.
    pub(super) fn moving_ino(&self) -> FsResult<Option<u64>> {
        match (&self.upper, &self.lower) {
            (Some(Node::Dir(_)), Some(Node::Dir(_))) => Ok(None),
            (Some(Node::Dir(upper)), _) => Ok(Some(upper.stat()?.ino)),
            (Some(Node::File(_) | Node::Symlink(_)) | None, _) => Ok(None),
        }
    }
}

impl OverlayDir {
    /// renameat of `name` here to `new_name` in `dst`, both of this overlay. Errors: NotFound,
    /// Invalid (into its own subtree), NotEmpty, NotDir, IsDir, CrossDevice (a directory with
    /// a lower part), TimedOut/NoSpace (the copy-up of a lower file), the upper layer's.
    pub(super) fn rename_within(
        &self,
        name: &str,
        dst: &OverlayDir,
        new_name: &str,
    ) -> FsResult<()> {
        // One step for the whole rename: nothing below can change between a check and the
        // move, and no lookup sees the whiteouts without the move.
        let _lock = self.st.mutate()?;
        let found = self.find(name)?;
        if !found.exists() {
            return Err(FsError::NotFound);
        }
        let dst_found = dst.find(new_name)?;
        self.check_ancestry(name, &found, dst, new_name, &dst_found)?;
        if dst_found.exists() {
            // Two names of one object (or a name onto itself): POSIX says do nothing.
            if self.found_stat(name, &found)? == dst.found_stat(new_name, &dst_found)? {
                return Ok(());
            }
            check_replace(&found, dst, new_name, &dst_found)?;
        }
        // Moving a directory that exists below would need redirects: EXDEV, as overlayfs
        // without redirect_dir (`mv` then copies). Linux's VFS checks ancestry first, so a
        // lower directory moved into its own subtree is EINVAL above, not EXDEV.
        if found.is_lower_dir() {
            return Err(FsError::CrossDevice);
        }
        // Inode numbers survive the upper rename: taken now, while both names resolve.
        let moved = found.moving_ino()?;
        let replaced = dst_found.moving_ino()?;
        // A lower file moves as its copy; every handle on it follows the copy (`publish`).
        self.copy_up(name, &found, Contents::Data)?;
        let src_upper = self.upper_mut()?;
        let dst_upper = dst.upper_mut()?;
        // The whiteout goes first so that no lookup sees the lower object at the new name
        // once the upper one is there; it is taken back if the upper rename fails.
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
        // A replaced upper-only directory is gone (handles on it lead nowhere); a moved one
        // is at its new place, and so is everything below it, whose places hang from it.
        if let Some(ino) = replaced {
            self.st.removed(ino);
        }
        if let Some(ino) = moved {
            self.st.moved(ino, &dst.place, new_name);
        }
        Ok(())
    }

    /// The rename rules that depend on where directories are now, checked before all others
    /// as Linux and the memory backend do: ENOENT into a removed directory; EINVAL for a
    /// directory moved into its own subtree; ENOTEMPTY onto the source's parent or an
    /// ancestor of it (it holds the source, so it is not empty), even for a file, which the
    /// type rules would answer EISDIR. Paths come from places, which follow renames of
    /// upper-only directories, so handles taken before such a move still answer right.
    fn check_ancestry(
        &self,
        name: &str,
        found: &Found,
        dst: &OverlayDir,
        new_name: &str,
        dst_found: &Found,
    ) -> FsResult<()> {
        let dst_path = dst.place.path()?;
        if found.is_dir() && is_within(&dst_path, &self.child_path(name, found)?) {
            return Err(FsError::Invalid);
        }
        if dst_found.is_dir()
            && is_within(&self.place.path()?, &dst.child_path(new_name, dst_found)?)
        {
            return Err(FsError::NotEmpty);
        }
        Ok(())
    }
}

/// POSIX replace rules for renaming `src` onto the existing `new_name` of `dst` (whose merged
/// emptiness counts: lower entries not whited out keep a directory non-empty).
fn check_replace(src: &Found, dst: &OverlayDir, new_name: &str, found: &Found) -> FsResult<()> {
    match (src.is_dir(), found.is_dir()) {
        (true, false) => Err(FsError::NotDir),
        (false, true) => Err(FsError::IsDir),
        (true, true) if !dst.is_empty_dir(new_name, found)? => Err(FsError::NotEmpty),
        (true, true) | (false, false) => Ok(()),
    }
}
