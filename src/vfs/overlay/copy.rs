//! Copy-up: the first change to a lower file copies it into the upper layer. The copy costs
//! the lower file's data, not its size (holes are found with `File::data_extent` and stay
//! holes), goes in steps of at most [`STEP`] bytes with the run's deadline checked between
//! them, and is all or nothing: until it is complete no lookup sees it, and an abandoned copy
//! (deadline, ENOSPC, host error) is removed again, its quota given back, the lower file still
//! the one the guest sees. It never writes the lower layer.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use super::{State, join};
use crate::deadline;
use crate::vfs::{Dir, File, FsError, FsResult, Node, OpenOptions, SetTime};

/// Most bytes read and written per step: the deadline is checked at least this often, so a
/// copy-up stops within one step (milliseconds) of the deadline.
const STEP: usize = 1 << 20;

/// Granularity of the zero check: an all-zero block of the lower data is left a hole in the
/// copy. Blocks are aligned on file offsets and as large as a memory page of the upper
/// `MemFs`, so a skipped block is a page never allocated nor charged.
const BLOCK: usize = 64 * 1024;

/// What all-zero blocks are compared with (a slice comparison: memcmp, fast in debug builds).
static ZEROS: [u8; BLOCK] = [0; BLOCK];

/// What a copy-up copies of a lower file's data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Contents {
    /// All of it: what every change needs, except an open that truncates.
    Data,
    /// None, with size 0: the open that asked truncates anyway (overlayfs skips the data for
    /// `O_TRUNC` too), so a huge lower file costs nothing to replace.
    Empty,
}

/// Exclusive creation of the copy: nothing else may have that upper name.
const CREATE_COPY: OpenOptions = OpenOptions {
    create: true,
    exclusive: true,
    truncate: false,
    write: true,
};

impl State {
    /// Copies the lower non-directory `name` of `lower_parent` (at `parent_path`) up. Must
    /// hold the mutation lock, and the upper layer must not have `name` yet. On success every
    /// handle already open on the lower file switches to the copy (`publish`); on failure
    /// nothing the guest can see has changed, except that the upper parents copied up on the
    /// way stay (complete copies of lower directories, looking exactly as before).
    pub(super) fn copy_up(
        &self,
        parent_path: &str,
        lower_parent: &dyn Dir,
        name: &str,
        contents: Contents,
    ) -> FsResult<()> {
        // Checked once before anything is created, so a call that starts past its deadline
        // changes nothing at all (not even the parents).
        deadline::check()?;
        let upper_parent = self
            .upper_dir(parent_path, true)?
            .ok_or(FsError::NotFound)?;
        let stat = lower_parent.stat_at(name)?;
        let times = (SetTime::At(stat.atim), SetTime::At(stat.mtim));
        // A copy-up changes no merged entry, so the parent's times must not move either
        // (overlayfs restores them too): keep them to put back afterwards.
        let parent = upper_parent.stat()?;
        let result = match lower_parent.lookup(name)? {
            Node::Symlink(target) => upper_parent
                .symlink(name, &target)
                .and_then(|()| upper_parent.set_times_at(name, times.0, times.1)),
            Node::File(_) => {
                let path = join(parent_path, name);
                let _hidden = Copying::start(self, &path);
                copy_file(lower_parent, &*upper_parent, name, times, contents)
                    .map(|copy| self.publish(&path, copy))
            }
            // Directories are copied up by `upper_dir`, never as a leaf.
            Node::Dir(_) => Err(FsError::Invalid),
        };
        upper_parent.set_times(SetTime::At(parent.atim), SetTime::At(parent.mtim))?;
        result
    }
}

/// While alive, lookups and listings ignore the upper entry at `path` (a copy being made): the
/// guest keeps seeing the lower file until the copy is complete and published, or removed.
/// Dropping it ends that, on every way out (errors included).
struct Copying<'a> {
    st: &'a State,
}

impl<'a> Copying<'a> {
    fn start(st: &'a State, path: &str) -> Copying<'a> {
        st.files().copying = Some(path.to_owned());
        // Set after the path: a reader that sees the flag also finds the path (or `None`,
        // which only makes it look again under the lock).
        st.copying.store(true, Ordering::Release);
        Copying { st }
    }
}

impl Drop for Copying<'_> {
    fn drop(&mut self) {
        // `publish` already cleared the path on success; clearing twice is harmless.
        self.st.copying.store(false, Ordering::Release);
        self.st.files().copying = None;
    }
}

/// Makes a complete copy of the lower file `name` as the upper `name` and returns a handle on
/// it. On any failure after the copy was created, the copy is removed again: its bytes and
/// inode go back to the quota once this (its only) handle is dropped, which happens here.
fn copy_file(
    lower_parent: &dyn Dir,
    upper_parent: &dyn Dir,
    name: &str,
    (atime, mtime): (SetTime, SetTime),
    contents: Contents,
) -> FsResult<Arc<dyn File>> {
    // Opened even for an empty copy: the lower file must still be readable (EACCES as for
    // any copy-up), and its size is read from the open file, not from a racing stat.
    let src = lower_parent.open_file(name, OpenOptions::default())?;
    let size = match contents {
        Contents::Data => src.stat()?.size,
        Contents::Empty => 0,
    };
    // Exclusive: an existing upper name is never ours to remove below.
    let dst = upper_parent.open_file(name, CREATE_COPY)?;
    // The logical size first: EFBIG before any data is copied, and holes cost nothing.
    let filled = dst
        .set_size(size)
        .and_then(|()| copy_data(&*src, &*dst, size))
        .and_then(|()| dst.set_times(atime, mtime));
    match filled {
        Ok(()) => Ok(dst),
        Err(e) => {
            // Drop the data now, then the name (then our handle, the last one): a copy that
            // cannot be removed must at least not hold the partial data.
            let _ = dst.set_size(0);
            drop(dst);
            let _ = upper_parent.unlink(name);
            Err(e)
        }
    }
}

/// Copies every run of data of `src` below `size` into `dst` (already `size` long), step by
/// step, checking the deadline before each. Errors: TimedOut, the backends' (NoSpace...).
fn copy_data(src: &dyn File, dst: &dyn File, size: u64) -> FsResult<()> {
    // Allocated on the first data: copying a file that is all hole allocates nothing.
    let mut buf = Vec::new();
    let mut at = 0u64;
    while at < size {
        deadline::check()?;
        let Some(run) = src.data_extent(at)? else {
            return Ok(());
        };
        // A backend's answer is clamped to what was asked. One that would not move us
        // forward is not trusted: the rest of the file is then copied as data, which is
        // always correct (holes read as zeros and all-zero blocks stay holes anyway).
        let (start, end) = match (run.start.max(at), run.end.min(size)) {
            (start, end) if start < end => (start, end),
            _ => (at, size),
        };
        if copy_range(src, dst, start, end, &mut buf)? {
            return Ok(());
        }
        at = end;
    }
    Ok(())
}

/// Copies `start..end` of `src` to the same offsets of `dst` in steps of at most [`STEP`]
/// bytes, the deadline checked before each. Returns true if `src` ended early (it shrank
/// under us): what is left reads as zeros, which the copy's size already gives.
fn copy_range(
    src: &dyn File,
    dst: &dyn File,
    start: u64,
    end: u64,
    buf: &mut Vec<u8>,
) -> FsResult<bool> {
    let mut pos = start;
    while pos < end {
        deadline::check()?;
        let want = usize::try_from(end - pos).map_or(STEP, |left| left.min(STEP));
        if buf.len() < want {
            buf.resize(want, 0);
        }
        let chunk = buf.get_mut(..want).ok_or(FsError::Overflow)?;
        let n = src.read_at(chunk, pos)?;
        if n == 0 {
            return Ok(true);
        }
        write_data(dst, chunk.get(..n).unwrap_or(&[]), pos)?;
        pos = pos.saturating_add(n as u64);
    }
    Ok(false)
}

/// Writes `chunk` at `offset` of `dst`, leaving out the [`BLOCK`]-aligned blocks that hold
/// only zeros (they stay holes); the blocks kept are written as runs, one call per run.
fn write_data(dst: &dyn File, chunk: &[u8], offset: u64) -> FsResult<()> {
    // Where the current run of non-zero blocks began, as an index into `chunk`.
    let mut run: Option<usize> = None;
    let mut i = 0usize;
    while i < chunk.len() {
        // The end of the block holding `offset + i`, on absolute block boundaries.
        let into = ((offset.wrapping_add(i as u64)) % BLOCK as u64) as usize;
        let next = i.saturating_add(BLOCK - into).min(chunk.len());
        let block = chunk.get(i..next).unwrap_or(&[]);
        let zero = ZEROS.get(..block.len()) == Some(block);
        match (zero, run) {
            (true, Some(from)) => {
                write_all(dst, chunk.get(from..i).unwrap_or(&[]), offset + from as u64)?;
                run = None;
            }
            (false, None) => run = Some(i),
            (true, None) | (false, Some(_)) => {}
        }
        i = next;
    }
    if let Some(from) = run {
        write_all(dst, chunk.get(from..).unwrap_or(&[]), offset + from as u64)?;
    }
    Ok(())
}

/// pwrite until all of `bytes` is written. Errors: the backend's; Io if it writes nothing.
fn write_all(dst: &dyn File, mut bytes: &[u8], mut offset: u64) -> FsResult<()> {
    while !bytes.is_empty() {
        let n = dst.write_at(bytes, offset)?;
        if n == 0 {
            return Err(FsError::Io("copy-up: the upper file took no bytes".into()));
        }
        bytes = bytes.get(n..).unwrap_or(&[]);
        offset = offset.saturating_add(n as u64);
    }
    Ok(())
}
