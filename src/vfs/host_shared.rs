//! What the Unix and the Windows host backends share: the rules that do not depend on how
//! the OS is asked (append serialisation, size limits, the write check, the other side of a
//! two-path call, the readdir snapshot). Each backend's own calls live in `host/` and
//! `host_windows/`.

use std::any::Any;
use std::sync::{Arc, Mutex};

use super::{Dir, FsError, FsResult};

/// The largest host file (and offset) either backend serves: what `off_t` / `LARGE_INTEGER`
/// hold.
pub(crate) use crate::limits::MAX_FILE_SIZE;

/// Serialises `append` across every host file of the process: finding the end and writing
/// there must not interleave with another of our appends. Neither backend opens for append
/// (Linux then ignores the offset of every `pwrite` on that fd, which would break `write_at`
/// on descriptors that share the file). Appends by *other host processes* can still
/// interleave; a confined guest cannot rely on more than that anyway.
pub(super) static APPEND_LOCK: Mutex<()> = Mutex::new(());

/// `offset + len` if it stays within [`MAX_FILE_SIZE`]. Errors: FileTooBig.
pub(super) fn end_of(offset: u64, len: u64) -> FsResult<u64> {
    match offset.checked_add(len) {
        Some(end) if end <= MAX_FILE_SIZE => Ok(end),
        _ => Err(FsError::FileTooBig),
    }
}

/// Access (EACCES) unless the handle was opened for writing. Checked before the host is
/// asked, so a handle without write access never sees a write (the host would say EBADF,
/// which would read as "no such descriptor" to the guest).
pub(super) fn can_write(writable: bool) -> FsResult<()> {
    if writable {
        Ok(())
    } else {
        Err(FsError::Access)
    }
}

/// The other side of a two-path operation (link, rename), which must be a directory of the
/// same backend: the OS call needs both handles. A read-only side is refused with ReadOnly
/// (EPERM), not CrossDevice: SECURITY.md checks both sides of link/rename, and wasmtime
/// answers EPERM for a read-only destination. *This* side is never read-only: a read-only
/// mount is a wrapper that refuses before calling the backend.
pub(super) fn peer<D: Any>(other: &dyn Dir) -> FsResult<&D> {
    if other.is_read_only() {
        return Err(FsError::ReadOnly);
    }
    other
        .as_any()
        .downcast_ref::<D>()
        .ok_or(FsError::CrossDevice)
}

/// The listing readdir cookies index into: taken on rewind (cookie 0) or when there is
/// none yet, then served until the next rewind, so a directory changing between two
/// `fd_readdir` calls never makes a guest skip or repeat an entry.
#[derive(Debug)]
pub(super) struct Snapshot<T>(Mutex<Option<Arc<Vec<T>>>>);

impl<T> Snapshot<T> {
    pub(super) const fn new() -> Snapshot<T> {
        Snapshot(Mutex::new(None))
    }

    /// The listing to serve `cookie` from; `take` makes a new one.
    pub(super) fn serve(
        &self,
        cookie: u64,
        take: impl FnOnce() -> FsResult<Vec<T>>,
    ) -> FsResult<Arc<Vec<T>>> {
        // Poison is recovered: the cache is replaced whole, never left half-written.
        let mut cached = self.0.lock().unwrap_or_else(|e| e.into_inner());
        match &*cached {
            Some(listing) if cookie != 0 => Ok(Arc::clone(listing)),
            _ => {
                let listing = Arc::new(take()?);
                *cached = Some(Arc::clone(&listing));
                Ok(listing)
            }
        }
    }
}
