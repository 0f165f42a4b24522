//! Filesystem images: a tar archive loaded into a directory tree, and a tree saved as a tar.
//! Works over the `Dir` / `File` traits, so loading goes through the same name checks and
//! budgets as a guest's own writes (a `MemFs` quota bounds what an archive can fill), and saving
//! works for any backend, within an image budget. Sparse files use the PAX sparse format 1.0
//! (`sparse.rs`) both ways. Archives are hostile input: absolute or `..` names, links that leave
//! the tree, entries through symlinks, oversized metadata, hostile sparse maps and truncated
//! data are refused with an error naming the entry. Nothing here touches the host filesystem;
//! readers and writers are the caller's.

mod save;
mod sparse;

pub use save::{ImageBudget, save};

use std::cell::Cell;
use std::collections::HashSet;
use std::fmt;
use std::io::{self, Read, Write};
use std::rc::Rc;
use std::sync::Arc;

use super::{Dir, File, FsError, MemFs, Node, OpenOptions, SetTime};
use sparse::SparseRecords;

/// Bytes of archive metadata (headers, long names, PAX records, skipped padding) accepted
/// between two entries: far more than any real name needs, little enough to hold in memory.
const METADATA_BUDGET: u64 = 1 << 20;

/// Bytes copied per step.
const CHUNK: usize = 64 * 1024;

/// Why an image could not be loaded or saved.
#[derive(Debug)]
pub enum ImageError {
    /// Reading or writing the archive failed (also: malformed or truncated archives).
    Io(io::Error),
    /// The archive holds an entry this loader refuses (the entry's name, and why).
    Refused {
        /// The entry's name as the archive spells it.
        entry: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Saving: the image would pass its budget ([`ImageBudget`]); nothing was written.
    Budget {
        /// Which part of the budget.
        part: BudgetPart,
        /// Bytes past the limit.
        over: u64,
        /// The limit.
        limit: u64,
    },
    /// The tree refused an object (a budget, a name): the path and the backend's error.
    Fs {
        /// The object's path in the tree.
        path: String,
        /// The backend's refusal (NoSpace for a full quota, FileTooBig...).
        error: FsError,
    },
}

impl fmt::Display for ImageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ImageError::Io(e) => write!(f, "{e}"),
            ImageError::Refused { entry, reason } => write!(f, "entry {entry:?}: {reason}"),
            ImageError::Budget { part, over, limit } => write!(
                f,
                "image budget exhausted: {over} bytes of {} past the limit of {limit}",
                match part {
                    BudgetPart::Data => "file data",
                    BudgetPart::Metadata => "headers and names",
                }
            ),
            ImageError::Fs { path, error } => write!(f, "{path:?}: {}", describe(error)),
        }
    }
}

impl std::error::Error for ImageError {}

/// The part of an [`ImageBudget`] an image passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BudgetPart {
    /// File data and sparse maps.
    Data,
    /// Headers, PAX records, names and padding.
    Metadata,
}

impl From<io::Error> for ImageError {
    fn from(e: io::Error) -> Self {
        ImageError::Io(e)
    }
}

/// A budget refusal in words a CLI user understands.
fn describe(error: &FsError) -> String {
    match error {
        FsError::NoSpace => "the filesystem's byte budget (quota) is exhausted".into(),
        FsError::Quota => "the filesystem's inode budget is exhausted".into(),
        FsError::FileTooBig => "larger than the largest file allowed".into(),
        FsError::NameTooLong => "the path is longer or deeper than allowed".into(),
        other => format!("refused ({other:?})"),
    }
}

fn refused(entry: &str, reason: impl Into<String>) -> ImageError {
    ImageError::Refused {
        entry: entry.to_owned(),
        reason: reason.into(),
    }
}

pub(super) fn fs_error(path: &[&str], error: FsError) -> ImageError {
    ImageError::Fs {
        path: path.join("/"),
        error,
    }
}

impl MemFs {
    /// A new filesystem with `limits`, filled from the tar archive `reader` (see [`load`]).
    pub fn from_tar(reader: impl Read, limits: crate::FsLimits) -> Result<MemFs, ImageError> {
        let fs = MemFs::with_limits(limits);
        load(fs.root(), reader)?;
        Ok(fs)
    }

    /// Writes the whole tree as a tar archive (see [`save`]), within the image budget of this
    /// filesystem's limits ([`ImageBudget::of`]): a tree within its budgets always fits; one
    /// whose budgets were lowered below what it holds may not (`ImageError::Budget`).
    pub fn save_tar(&self, writer: impl Write) -> Result<(), ImageError> {
        save(self.root(), writer, ImageBudget::of(&self.limits()))
    }
}

// ---- Loading -------------------------------------------------------------------------------

/// A reader that refuses to hand out more than its allowance: the tar parser reads long names
/// and PAX records into memory, so between entries it may only read `METADATA_BUDGET` bytes.
struct Metered<R> {
    inner: R,
    allowance: Rc<Cell<u64>>,
}

impl<R: Read> Read for Metered<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self.allowance.get();
        if left == 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "archive metadata (a long name, PAX records, or data of a non-file entry) is \
                 larger than 1 MiB",
            ));
        }
        let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        let (head, _) = buf.split_at_mut(want);
        let n = self.inner.read(head)?;
        self.allowance.set(left - n as u64);
        Ok(n)
    }
}

/// Loads a tar archive into `root`: directories, regular files, symlinks and hard links, with
/// their modification times (PAX sub-second times included). Missing parent directories are
/// created; a later entry replaces an earlier non-directory of the same name, as tar does.
/// Refused: absolute names, `..` components, entries reached through a symlink or a file,
/// absolute symlink targets and targets that climb above the root, hard links to anything but
/// an earlier regular file of the archive, devices, fifos, old GNU sparse entries (type `S`)
/// and PAX sparse formats but 1.0, hostile sparse maps (see `sparse.rs`), more than 1 MiB of
/// metadata per entry, non-UTF-8 names, and truncated archives. Sparse 1.0 files load sparsely.
pub fn load(root: Arc<dyn Dir>, reader: impl Read) -> Result<(), ImageError> {
    let allowance = Rc::new(Cell::new(METADATA_BUDGET));
    let metered = Metered {
        inner: reader,
        allowance: allowance.clone(),
    };
    let mut archive = tar::Archive::new(metered);
    let mut loader = Loader {
        root: root.clone(),
        files: HashSet::new(),
        dir_times: Vec::new(),
    };
    for entry in archive.entries()? {
        let mut entry = entry?;
        // The entry's own data is read (and bounded) by the loader, not by the allowance.
        allowance.set(u64::MAX);
        loader.entry(&mut entry)?;
        allowance.set(METADATA_BUDGET);
    }
    // Directory times last: every entry added below a directory stamped it.
    for (path, mtime) in loader.dir_times.iter().rev() {
        let comps: Vec<&str> = path.iter().map(String::as_str).collect();
        let times = (SetTime::Keep, SetTime::At(*mtime));
        let result = match comps.split_last() {
            None => root.set_times(times.0, times.1),
            Some((name, parent)) => loader
                .dir(parent, "", false)?
                .set_times_at(name, times.0, times.1),
        };
        result.map_err(|e| fs_error(&comps, e))?;
    }
    Ok(())
}

/// State of one load.
struct Loader {
    root: Arc<dyn Dir>,
    /// Regular files this archive created (the only valid hard-link targets).
    files: HashSet<Vec<String>>,
    /// Directories with an explicit entry, and its mtime.
    dir_times: Vec<(Vec<String>, u64)>,
}

impl Loader {
    fn entry<R: Read>(&mut self, entry: &mut tar::Entry<'_, R>) -> Result<(), ImageError> {
        let (pax_mtime, sparse) = pax_info(entry)?;
        // A sparse entry's real name is a record; its header holds a placeholder.
        let raw = match &sparse.name {
            Some(real) if sparse.any() => real.as_bytes().to_vec(),
            Some(_) | None => entry.path_bytes().into_owned(),
        };
        let name = String::from_utf8_lossy(&raw).into_owned();
        let Ok(text) = std::str::from_utf8(&raw) else {
            return Err(refused(&name, "the name is not UTF-8"));
        };
        let comps = components(&name, text)?;
        let comps: Vec<&str> = comps.iter().map(String::as_str).collect();
        let mtime = match pax_mtime {
            Some(ns) => ns,
            None => entry.header().mtime()?.saturating_mul(1_000_000_000),
        };
        let kind = entry.header().entry_type();
        if sparse.any() {
            return match kind {
                tar::EntryType::Regular | tar::EntryType::Continuous => {
                    self.sparse_file(&name, &comps, entry, mtime, &sparse)
                }
                other => Err(refused(
                    &name,
                    format!("sparse records on a {other:?} entry"),
                )),
            };
        }
        match kind {
            tar::EntryType::Directory => {
                if let Some((last, parent)) = comps.split_last() {
                    let dir = self.dir(parent, &name, true)?;
                    match dir.lookup(last) {
                        Ok(Node::Dir(_)) => {}
                        Err(FsError::NotFound) => {
                            dir.create_dir(last).map_err(|e| fs_error(&comps, e))?
                        }
                        Ok(_) => return Err(refused(&name, "a non-directory has this name")),
                        Err(e) => return Err(fs_error(&comps, e)),
                    }
                }
                let owned = comps.iter().map(|c| (*c).to_owned()).collect();
                self.dir_times.push((owned, mtime));
                Ok(())
            }
            tar::EntryType::Regular | tar::EntryType::Continuous => {
                self.file(&name, &comps, entry, mtime)
            }
            tar::EntryType::Symlink => self.symlink(&name, &comps, entry, mtime),
            tar::EntryType::Link => self.hard_link(&name, &comps, entry),
            // Global PAX headers carry defaults this loader does not use.
            tar::EntryType::XGlobalHeader => Ok(()),
            other => Err(refused(&name, format!("unsupported entry type {other:?}"))),
        }
    }

    /// The directory `comps` (all of it), created with its missing parents when `create`.
    fn dir(&self, comps: &[&str], entry: &str, create: bool) -> Result<Arc<dyn Dir>, ImageError> {
        let mut here = self.root.clone();
        for (i, comp) in comps.iter().enumerate() {
            let found = match here.lookup(comp) {
                Err(FsError::NotFound) if create => {
                    here.create_dir(comp)
                        .map_err(|e| fs_error(comps.get(..=i).unwrap_or(comps), e))?;
                    here.lookup(comp)
                }
                other => other,
            };
            here = match found {
                Ok(Node::Dir(d)) => d,
                Ok(Node::Symlink(_)) => {
                    return Err(refused(entry, "its path goes through a symlink"));
                }
                Ok(Node::File(_)) => return Err(refused(entry, "its path goes through a file")),
                Err(e) => return Err(fs_error(comps.get(..=i).unwrap_or(comps), e)),
            };
        }
        Ok(here)
    }

    /// Makes room for a non-directory named `last` in `dir`: an earlier non-directory of the
    /// same name is replaced (tar's rule); a directory is not.
    fn replace(dir: &dyn Dir, last: &str, entry: &str) -> Result<(), ImageError> {
        match dir.lookup(last) {
            Err(FsError::NotFound) => Ok(()),
            Ok(Node::Dir(_)) => Err(refused(entry, "a directory has this name")),
            Ok(_) => dir.unlink(last).map_err(|e| refused(entry, describe(&e))),
            Err(e) => Err(refused(entry, describe(&e))),
        }
    }

    fn file<R: Read>(
        &mut self,
        name: &str,
        comps: &[&str],
        entry: &mut tar::Entry<'_, R>,
        mtime: u64,
    ) -> Result<(), ImageError> {
        let Some((last, parent)) = comps.split_last() else {
            return Err(refused(name, "a file cannot be the root"));
        };
        let declared = entry.size();
        let dir = self.dir(parent, name, true)?;
        Self::replace(&*dir, last, name)?;
        let options = OpenOptions {
            create: true,
            exclusive: true,
            truncate: false,
            write: true,
        };
        let file = dir
            .open_file(last, options)
            .map_err(|e| fs_error(comps, e))?;
        let copied = copy_in(entry, &*file, declared).map_err(|e| match e {
            CopyError::Io(e) => ImageError::Io(e),
            CopyError::Fs(e) => fs_error(comps, e),
        })?;
        if copied < declared {
            return Err(refused(
                name,
                format!("the archive is truncated: {copied} of {declared} bytes"),
            ));
        }
        file.set_times(SetTime::Keep, SetTime::At(mtime))
            .map_err(|e| fs_error(comps, e))?;
        self.files
            .insert(comps.iter().map(|c| (*c).to_owned()).collect());
        Ok(())
    }

    fn symlink<R: Read>(
        &mut self,
        name: &str,
        comps: &[&str],
        entry: &tar::Entry<'_, R>,
        mtime: u64,
    ) -> Result<(), ImageError> {
        let Some((last, parent)) = comps.split_last() else {
            return Err(refused(name, "a symlink cannot be the root"));
        };
        let target = link_target(name, entry)?;
        if target.starts_with('/') {
            return Err(refused(name, "the symlink target is absolute"));
        }
        // Lexically, from the link's directory: `..` may not climb above the root.
        let mut depth = parent.len();
        for comp in target.split('/') {
            match comp {
                "" | "." => {}
                ".." => {
                    depth = depth
                        .checked_sub(1)
                        .ok_or_else(|| refused(name, "the symlink target leaves the tree"))?;
                }
                _ => depth += 1,
            }
        }
        let dir = self.dir(parent, name, true)?;
        Self::replace(&*dir, last, name)?;
        dir.symlink(last, &target).map_err(|e| fs_error(comps, e))?;
        dir.set_times_at(last, SetTime::Keep, SetTime::At(mtime))
            .map_err(|e| fs_error(comps, e))
    }

    fn hard_link<R: Read>(
        &mut self,
        name: &str,
        comps: &[&str],
        entry: &tar::Entry<'_, R>,
    ) -> Result<(), ImageError> {
        let Some((last, parent)) = comps.split_last() else {
            return Err(refused(name, "a hard link cannot be the root"));
        };
        let target = link_target(name, entry)?;
        let target_comps = components(name, &target)?;
        if !self.files.contains(&target_comps) {
            return Err(refused(
                name,
                format!("the hard link target {target:?} is not an earlier file of the archive"),
            ));
        }
        let target_comps: Vec<&str> = target_comps.iter().map(String::as_str).collect();
        let Some((target_last, target_parent)) = target_comps.split_last() else {
            return Err(refused(name, "the hard link target is the root"));
        };
        let src = self.dir(target_parent, name, false)?;
        let dst = self.dir(parent, name, true)?;
        Self::replace(&*dst, last, name)?;
        src.link(target_last, &*dst, last)
            .map_err(|e| fs_error(comps, e))?;
        self.files
            .insert(comps.iter().map(|c| (*c).to_owned()).collect());
        Ok(())
    }
}

/// The components of an archive name: `./` prefixes and empty or `.` components dropped.
/// Errors: absolute names and `..` components (refused).
fn components(entry: &str, text: &str) -> Result<Vec<String>, ImageError> {
    if text.starts_with('/') {
        return Err(refused(entry, "the name is absolute"));
    }
    let mut out = Vec::new();
    for comp in text.split('/') {
        match comp {
            "" | "." => {}
            ".." => return Err(refused(entry, "the name contains `..`")),
            c => out.push(c.to_owned()),
        }
    }
    Ok(out)
}

/// A link entry's target, as UTF-8. Errors: missing or not UTF-8 (refused).
fn link_target<R: Read>(entry_name: &str, entry: &tar::Entry<'_, R>) -> Result<String, ImageError> {
    let bytes = entry
        .link_name_bytes()
        .ok_or_else(|| refused(entry_name, "the link has no target"))?;
    String::from_utf8(bytes.into_owned())
        .map_err(|_| refused(entry_name, "the link target is not UTF-8"))
}

/// What this loader reads from an entry's PAX records: its modification time in ns (the
/// `mtime` record, sub-second; times past u64 nanoseconds saturate) and its sparse records.
/// Errors: malformed headers, sparse records that are not UTF-8.
fn pax_info<R: Read>(
    entry: &mut tar::Entry<'_, R>,
) -> Result<(Option<u64>, SparseRecords), ImageError> {
    let (mut mtime, mut sparse) = (None, SparseRecords::default());
    let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
    if let Some(pax) = entry.pax_extensions()? {
        for ext in pax {
            let ext = ext?;
            let (Ok(key), value) = (ext.key(), ext.value()) else {
                continue;
            };
            if key == "mtime" {
                mtime = value.ok().and_then(parse_pax_time).or(mtime);
            } else if key.starts_with("GNU.sparse.") {
                let value =
                    value.map_err(|_| refused(&name, format!("the {key} record is not UTF-8")))?;
                sparse.take(key, value);
            }
        }
    }
    Ok((mtime, sparse))
}

/// Parses a PAX time (`secs[.fraction]`, non-negative) into ns; `None` if malformed.
fn parse_pax_time(value: &str) -> Option<u64> {
    let (secs, frac) = value.split_once('.').unwrap_or((value, ""));
    let secs: u64 = secs.parse().ok()?;
    if !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let digits = frac.get(..frac.len().min(9)).unwrap_or("");
    let nanos = format!("{digits:0<9}").parse::<u64>().ok()?;
    Some(secs.saturating_mul(1_000_000_000).saturating_add(nanos))
}

/// Why copying an entry's data stopped.
enum CopyError {
    Io(io::Error),
    Fs(FsError),
}

/// Streams up to `declared` bytes of `reader` into `file` from its start (see [`copy_range`])
/// and sets its size to what was read. Returns the bytes read.
fn copy_in(reader: &mut impl Read, file: &dyn File, declared: u64) -> Result<u64, CopyError> {
    let copied = copy_range(reader, file, 0, declared)?;
    // The size covers a trailing hole too (charged nothing, checked against the file size).
    file.set_size(copied).map_err(CopyError::Fs)?;
    Ok(copied)
}

/// Streams up to `len` bytes of `reader` into `file` at `offset` in bounded chunks, each cut
/// to the span from its first to its last non-zero byte: holes (and the zeros that pad sparse
/// regions) stay holes and cost no budget. Returns the bytes read (fewer only at the end of the
/// archive).
fn copy_range(
    reader: &mut impl Read,
    file: &dyn File,
    offset: u64,
    len: u64,
) -> Result<u64, CopyError> {
    let mut buf = vec![0u8; CHUNK];
    let mut done = 0u64;
    while done < len {
        let want = usize::try_from(len - done).map_or(CHUNK, |left| left.min(CHUNK));
        let chunk = buf.get_mut(..want).unwrap_or(&mut []);
        let n = match reader.read(chunk) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(CopyError::Io(e)),
        };
        let data = chunk.get(..n).unwrap_or(&[]);
        let first = data.iter().position(|b| *b != 0);
        let last = data.iter().rposition(|b| *b != 0);
        if let (Some(first), Some(last)) = (first, last) {
            let at = offset
                .checked_add(done + first as u64)
                .ok_or(CopyError::Fs(FsError::FileTooBig))?;
            let span = data.get(first..=last).unwrap_or(&[]);
            file.write_at(span, at).map_err(CopyError::Fs)?;
        }
        done += n as u64;
    }
    Ok(done)
}
