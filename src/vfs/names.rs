//! The one rule for what a name and a symlink target may be, shared by the resolver and every
//! backend (memory, host, overlay), so they cannot disagree on a boundary. The numbers live in
//! `limits.rs`; this file only applies them. Backends call these as defence in depth: the
//! resolver already guarantees them, but a bug above must never hand the OS a `/`, `..` or NUL.

use super::{FsError, FsResult};
use crate::limits::{MAX_NAME_LEN, MAX_TARGET_LEN};

/// Refuses what a single-name backend call must never see: empty, `.`, `..`, a `/` or a NUL
/// (Invalid: no such name can exist in a directory), and more than [`MAX_NAME_LEN`] bytes
/// (NameTooLong, as Linux says for a name past NAME_MAX).
pub fn check_name(name: &str) -> FsResult<()> {
    if name.is_empty() || name == "." || name == ".." || name.contains(['/', '\0']) {
        return Err(FsError::Invalid);
    }
    if name.len() > MAX_NAME_LEN {
        return Err(FsError::NameTooLong);
    }
    Ok(())
}

/// Refuses what no symlink can hold: empty (NotFound, as Linux answers both creating and
/// following an empty link), a NUL (Invalid: what rustix's
/// C-string conversion gives wasmtime), more than [`MAX_TARGET_LEN`] bytes (NameTooLong).
/// An absolute target is *valid* here: host trees hold them, and copies (an overlay's
/// copy-up, `MemFs::from_host_dir`) keep them verbatim. Following or creating one is a
/// confinement question, answered by [`check_confined_target`].
pub fn check_target(target: &str) -> FsResult<()> {
    if target.is_empty() {
        return Err(FsError::NotFound);
    }
    if target.contains('\0') {
        return Err(FsError::Invalid);
    }
    if target.len() > MAX_TARGET_LEN {
        return Err(FsError::NameTooLong);
    }
    Ok(())
}

/// [`check_target`], after refusing an absolute target (Escape, EPERM as cap-std): what the
/// resolver may follow, and what a guest may create. Absolute first, as the syscall layer and
/// cap-std check it, so an absolute target is EPERM whatever else is wrong with it.
pub fn check_confined_target(target: &str) -> FsResult<()> {
    if target.starts_with('/') {
        return Err(FsError::Escape);
    }
    check_target(target)
}

#[cfg(test)]
#[path = "names_tests.rs"]
mod tests;
