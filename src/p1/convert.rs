//! Conversions from backend (`vfs`) values to the generated ABI types, shared by the path and
//! fd syscall groups. Pure functions: no guest memory, no table, no error mapping (that is
//! `errno.rs`); the backend layer itself never sees wiggle types.

use crate::abi::types;
use crate::vfs;

/// The ABI file type of a backend file type.
pub(crate) fn filetype(filetype: vfs::FileType) -> types::Filetype {
    // Exhaustive on purpose: a file type a backend adds must be given its ABI answer here,
    // not fall into `Unknown` unnoticed.
    match filetype {
        vfs::FileType::RegularFile => types::Filetype::RegularFile,
        vfs::FileType::Directory => types::Filetype::Directory,
        vfs::FileType::Symlink => types::Filetype::SymbolicLink,
        vfs::FileType::CharacterDevice => types::Filetype::CharacterDevice,
        vfs::FileType::Unknown => types::Filetype::Unknown,
    }
}

/// The ABI `filestat` of a backend `Filestat`, field by field.
pub(crate) fn filestat(stat: &vfs::Filestat) -> types::Filestat {
    types::Filestat {
        dev: stat.dev,
        ino: stat.ino,
        filetype: filetype(stat.filetype),
        nlink: stat.nlink,
        size: stat.size,
        atim: stat.atim,
        mtim: stat.mtim,
        ctim: stat.ctim,
    }
}

/// One `set_times` timestamp from its value and its two `fstflags` bits; both bits → EINVAL,
/// as wasmtime's `systimespec`.
pub(crate) fn set_time(
    value: types::Timestamp,
    set: bool,
    now: bool,
) -> Result<vfs::SetTime, types::Errno> {
    match (set, now) {
        // "Set to this value" and "set to now" at once: no reading of it is the guest's intent,
        // so nothing is changed.
        (true, true) => Err(types::Errno::Inval),
        (true, false) => Ok(vfs::SetTime::At(value)),
        (false, true) => Ok(vfs::SetTime::Now),
        (false, false) => Ok(vfs::SetTime::Keep),
    }
}

/// The (atime, mtime) pair of a `*_set_times` call. Errors: EINVAL when a time is both given
/// and `NOW`.
pub(crate) fn set_times(
    atim: types::Timestamp,
    mtim: types::Timestamp,
    flags: types::Fstflags,
) -> Result<(vfs::SetTime, vfs::SetTime), types::Errno> {
    use types::Fstflags as F;
    let atime = set_time(atim, flags.contains(F::ATIM), flags.contains(F::ATIM_NOW))?;
    let mtime = set_time(mtim, flags.contains(F::MTIM), flags.contains(F::MTIM_NOW))?;
    Ok((atime, mtime))
}
