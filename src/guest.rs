//! Guest-memory helpers shared by the syscall groups: paths, iovecs and bounded copies.
//! Every length is checked with overflow-safe arithmetic before anything is allocated.

use crate::abi::types::{Errno, Error};
use wiggle::{GuestMemory, GuestPtr};

/// Longest path accepted from a guest, in bytes (Linux's PATH_MAX). Longer → ENAMETOOLONG.
pub(crate) const MAX_PATH_LEN: u32 = 4096;

/// Reads a guest path: bounds-checked (out of bounds traps, as wasmtime), length-capped
/// (ENAMETOOLONG), valid UTF-8 (EILSEQ). NUL bytes are left for the resolver to refuse.
pub(crate) fn read_path(mem: &GuestMemory<'_>, path: GuestPtr<str>) -> Result<String, Error> {
    // Bounds first: a too-long path that is also out of bounds is a trap, as in wasmtime.
    let bytes = mem.as_cow(path.as_bytes())?;
    if path.len() > MAX_PATH_LEN {
        return Err(Errno::Nametoolong.into());
    }
    match std::str::from_utf8(&bytes) {
        Ok(s) => Ok(s.to_owned()),
        Err(_) => Err(Errno::Ilseq.into()),
    }
}
