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

/// Refuses, on top of [`check_name`], the names a Windows host directory cannot hold as
/// themselves: characters Windows forbids in names (`\`, which would be a separator to the
/// OS though it is not one to the guest; `:`, which names an alternate data stream or a
/// drive; `* ? " < > |` and control characters) and names Win32 rewrites (trailing dots and
/// spaces are stripped, so `a.txt.` is `a.txt` to every other program): Invalid (EINVAL).
/// Reserved device names (`CON`, `PRN`, `AUX`, `NUL`, `COM0`–`COM9`, `LPT0`–`LPT9`, also with
/// superscript digits, `CONIN$`, `CONOUT$`), in any case and with any extension, are NotFound
/// (ENOENT), as cap-std (hence wasmtime) answers them. Compiled everywhere so that the rule
/// is tested everywhere; only the Windows host backend applies it.
#[cfg_attr(not(windows), allow(dead_code))]
pub fn check_windows_name(name: &str) -> FsResult<()> {
    let forbidden =
        |c: char| matches!(c, '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|') || c < ' ';
    if name.contains(forbidden) || name.ends_with(['.', ' ']) {
        return Err(FsError::Invalid);
    }
    // Win32 maps a device name whatever follows its first dot, and ignores spaces before it.
    let stem = name.split('.').next().unwrap_or(name).trim_end_matches(' ');
    let upper = stem.to_uppercase();
    let device = match upper.as_str() {
        "CON" | "PRN" | "AUX" | "NUL" | "CONIN$" | "CONOUT$" => true,
        other => {
            let mut chars = other.chars();
            let prefix: String = chars.by_ref().take(3).collect();
            let digit: Vec<char> = chars.collect();
            (prefix == "COM" || prefix == "LPT")
                && matches!(
                    digit.as_slice(),
                    ['0'..='9' | '\u{b9}' | '\u{b2}' | '\u{b3}']
                )
        }
    };
    if device {
        return Err(FsError::NotFound);
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
