//! `MemFs::from_host_dir`: copies a host tree into a fresh arena with plain `std::fs` reads.
//! Never follows a host symlink (`symlink_metadata` throughout; targets are copied verbatim)
//! and never writes to the host. Files keep their sparseness: all-zero pages are not stored.
//! The filesystem's budgets apply: a file is checked against them before it is read.

use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use super::data::{PAGE_SIZE, SparseData};
use super::node::{DirData, Kind, ROOT, State};
use crate::vfs::names::{check_name, check_target};
use crate::vfs::{FsError, SetTime};

/// Copies the directory `host` into the (empty) arena `st`, as its root. Every name and
/// target goes through the same checks as a guest's (`vfs::names`), so an imported tree is
/// one the guest could have made: nothing in it is unreachable or unsavable. Absolute link
/// targets are kept (they are valid links); the resolver refuses to follow them, exactly as
/// on a host mount of the same tree.
pub(super) fn copy_tree(st: &mut State, host: &Path, now: u64) -> io::Result<()> {
    let meta = fs::symlink_metadata(host)?;
    if !meta.is_dir() {
        return Err(io::Error::new(
            io::ErrorKind::NotADirectory,
            format!("{} is not a directory", host.display()),
        ));
    }
    // Directory times are applied last: adding entries stamps them with `now`.
    let mut dir_times = vec![(ROOT, times(&meta))];
    // An explicit stack rather than recursion: a deep host tree must not overflow ours.
    let mut stack: Vec<(PathBuf, u64)> = vec![(host.to_path_buf(), ROOT)];
    while let Some((path, dir)) = stack.pop() {
        for entry in fs::read_dir(&path)? {
            let entry = entry?;
            let child_path = entry.path();
            // Preview1 paths are UTF-8: a guest could never name such an entry. Refused, not
            // skipped, so a copy is never silently partial.
            let name = entry
                .file_name()
                .into_string()
                .map_err(|n| invalid(format!("name {n:?} is not UTF-8")))?;
            check_name(&name).map_err(|e| invalid(format!("name {name:?}: {e}")))?;
            let meta = fs::symlink_metadata(&child_path)?;
            let kind = meta.file_type();
            let ino = if kind.is_dir() {
                let ino = add(st, dir, &name, Kind::Dir(DirData::new(dir)), now)?;
                stack.push((child_path, ino));
                dir_times.push((ino, times(&meta)));
                continue;
            } else if kind.is_file() {
                // Charge before reading: the declared size must fit the budgets, and no more
                // than it is read, so a host file that grows meanwhile cannot make us hold
                // more than was checked (`add` then charges what the pages really cost).
                let budget = st.budget();
                budget
                    .size(meta.len())
                    .and_then(|()| budget.bytes(meta.len()))
                    .map_err(|e| invalid(format!("{name:?}: {e}")))?;
                let data = read_file(&child_path, meta.len())?;
                add(st, dir, &name, Kind::File(data), now)?
            } else if kind.is_symlink() {
                let target = fs::read_link(&child_path)?
                    .into_os_string()
                    .into_string()
                    .map_err(|t| invalid(format!("symlink target {t:?} is not UTF-8")))?;
                check_target(&target).map_err(|e| invalid(format!("target {target:?}: {e}")))?;
                add(st, dir, &name, Kind::Symlink(target), now)?
            } else {
                // Fifos, sockets and devices have no in-memory counterpart.
                continue;
            };
            set_times(st, ino, times(&meta), now);
        }
    }
    for (ino, t) in dir_times {
        set_times(st, ino, t, now);
    }
    Ok(())
}

/// Reads at most `len` bytes of a host file into pages, leaving all-zero pages out so sparse
/// files stay sparse (the copy costs the data, not the size). A file that shrank meanwhile
/// is copied as it is now.
fn read_file(path: &Path, len: u64) -> io::Result<SparseData> {
    let mut file = fs::File::open(path)?.take(len);
    let mut data = SparseData::default();
    // One page at a time: the import's memory is the tree's, never a whole file more.
    let mut page = vec![0u8; PAGE_SIZE];
    let mut offset = 0u64;
    loop {
        let n = read_full(&mut file, &mut page)?;
        let chunk = page.get(..n).unwrap_or(&[]);
        if chunk.iter().any(|b| *b != 0) {
            data.write_at(chunk, offset, false)
                .map_err(|e| invalid(e.to_string()))?;
        }
        offset += n as u64;
        if n < PAGE_SIZE {
            break;
        }
    }
    data.set_size(offset).map_err(|e| invalid(e.to_string()))?;
    Ok(data)
}

/// Fills `buf` as far as the file allows; fewer bytes only at the end of the file (a short
/// read mid-file would otherwise misplace every later page).
fn read_full(file: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while let Some(rest) = buf.get_mut(filled..).filter(|r| !r.is_empty()) {
        match file.read(rest) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// Adds one object (the arena charges its budgets), turning a refusal into an I/O error
/// naming it.
fn add(st: &mut State, dir: u64, name: &str, kind: Kind, now: u64) -> io::Result<u64> {
    st.add_child(dir, name, kind, now)
        .map_err(|e: FsError| invalid(format!("{name:?}: {e}")))
}

/// (atime, mtime) of a host object, `None` where the platform does not report one.
fn times(meta: &fs::Metadata) -> (Option<u64>, Option<u64>) {
    let ns = |t: io::Result<SystemTime>| {
        let d = t.ok()?.duration_since(UNIX_EPOCH).ok()?;
        u64::try_from(d.as_nanos()).ok()
    };
    (ns(meta.accessed()), ns(meta.modified()))
}

/// Applies host times; ctime stays the import time (it cannot be set, as on a real copy).
fn set_times(st: &mut State, ino: u64, (atim, mtim): (Option<u64>, Option<u64>), now: u64) {
    let as_set = |t: Option<u64>| t.map_or(SetTime::Keep, SetTime::At);
    if let Ok(inode) = st.get_mut(ino) {
        inode.set_times(as_set(atim), as_set(mtim), now);
    }
}

/// The import's refusals: the host tree is fine as a host tree, it just is not one this
/// filesystem may hold (bad name, too big, not UTF-8), so `InvalidData`, not the host's error.
fn invalid(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg)
}
