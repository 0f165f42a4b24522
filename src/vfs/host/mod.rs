//! The confined host-directory backend: `Dir` / `File` over host descriptors we hold open.
//! Every host call is a single-name `*at` call relative to a held directory fd, with
//! `O_NOFOLLOW` / `AT_SYMLINK_NOFOLLOW`: the shared resolver walks paths, so the OS never
//! follows a symlink and never sees a `/` or `..` from the guest. Host paths are never joined
//! as strings. Linux only (uses `O_PATH`). Errors leave here as `FsError`, mapped in `fs_err`.

mod dir;
mod file;
#[cfg(test)]
mod tests;

use rustix::fs::{FileType as HostType, Mode, OFlags, Stat, Timespec, Timestamps};
use rustix::io::Errno;

use super::{FileType, Filestat, FsError, FsResult, SetTime};
pub use dir::HostDir;

/// Maps a host errno to the backend error set. The single place host errors are interpreted;
/// anything unexpected becomes `Io` (EIO) with the host's message for the logs.
pub(crate) fn fs_err(errno: Errno) -> FsError {
    match errno {
        Errno::NOENT => FsError::NotFound,
        Errno::EXIST => FsError::Exists,
        Errno::NOTDIR => FsError::NotDir,
        Errno::ISDIR => FsError::IsDir,
        Errno::NOTEMPTY => FsError::NotEmpty,
        Errno::LOOP => FsError::Loop,
        Errno::NAMETOOLONG => FsError::NameTooLong,
        Errno::INVAL => FsError::Invalid,
        Errno::PERM => FsError::NotPermitted,
        Errno::ACCESS => FsError::Access,
        Errno::ROFS => FsError::ReadOnly,
        Errno::NOSPC => FsError::NoSpace,
        Errno::DQUOT => FsError::Quota,
        Errno::FBIG => FsError::FileTooBig,
        Errno::XDEV => FsError::CrossDevice,
        Errno::BUSY | Errno::TXTBSY => FsError::Busy,
        Errno::OVERFLOW => FsError::Overflow,
        Errno::ILSEQ => FsError::IllegalSequence,
        // ENOTSUP and EOPNOTSUPP are one value on Linux.
        Errno::OPNOTSUPP => FsError::NotSupported,
        other => FsError::Io(format!("host error: {other}")),
    }
}

/// Flags of every open: never follow, never leak the fd into a child, never become our tty.
/// How an object is opened for stat and set_times only: `O_PATH` where the OS has it (no
/// side effects on fifos and devices, no read permission needed); elsewhere (macOS) a
/// non-blocking read-only open, which needs read permission.
pub(crate) fn object_flags() -> OFlags {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    return OFlags::PATH;
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    return OFlags::RDONLY | OFlags::NONBLOCK;
}

/// Sets the times of the object `fd`: `AT_EMPTY_PATH` where the OS has it (it works on
/// `O_PATH` handles too, where futimens answers EBADF), futimens elsewhere.
pub(crate) fn set_fd_times(fd: &std::os::fd::OwnedFd, times: &Timestamps) -> FsResult<()> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    return rustix::fs::utimensat(fd, "", times, rustix::fs::AtFlags::EMPTY_PATH).map_err(fs_err);
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    return rustix::fs::futimens(fd, times).map_err(fs_err);
}

pub(crate) fn base_flags() -> OFlags {
    OFlags::NOFOLLOW | OFlags::CLOEXEC | OFlags::NOCTTY
}

/// Mode bits of new objects (the process umask still applies, as for any host program).
pub(crate) const FILE_MODE: u32 = 0o666;
/// Mode bits of new directories.
pub(crate) const DIR_MODE: u32 = 0o777;

// `mode_t` is 16 bits on Apple's systems, 32 on Linux: the casts are no-ops on Linux.
#[allow(clippy::unnecessary_cast)]
pub(crate) fn mode(bits: u32) -> Mode {
    Mode::from_bits_truncate(bits as rustix::fs::RawMode)
}

/// The guest-visible type of a host object, from its `st_mode` (16 or 32 bits).
#[allow(clippy::unnecessary_cast)]
pub(crate) fn filetype(mode: impl Into<u32>) -> FileType {
    match HostType::from_raw_mode(mode.into() as rustix::fs::RawMode) {
        HostType::RegularFile => FileType::RegularFile,
        HostType::Directory => FileType::Directory,
        HostType::Symlink => FileType::Symlink,
        HostType::CharacterDevice => FileType::CharacterDevice,
        HostType::Fifo | HostType::Socket | HostType::BlockDevice | HostType::Unknown => {
            FileType::Unknown
        }
    }
}

/// Host `struct stat` → `Filestat`; times as nanoseconds, clamped to `0..=u64::MAX`.
// Field widths differ per architecture; on x86_64 some casts are identities.
#[allow(clippy::unnecessary_cast)]
pub(crate) fn filestat(st: &Stat) -> Filestat {
    let ns = |sec: i64, nsec: u64| -> u64 {
        u64::try_from(sec)
            .unwrap_or(0)
            .saturating_mul(1_000_000_000)
            .saturating_add(nsec)
    };
    Filestat {
        dev: st.st_dev as u64,
        ino: st.st_ino as u64,
        filetype: filetype(st.st_mode as u32),
        nlink: st.st_nlink as u64,
        size: u64::try_from(st.st_size).unwrap_or(0),
        atim: ns(st.st_atime as i64, st.st_atime_nsec as u64),
        mtim: ns(st.st_mtime as i64, st.st_mtime_nsec as u64),
        ctim: ns(st.st_ctime as i64, st.st_ctime_nsec as u64),
    }
}

/// `SetTime` pair → `utimensat` timestamps (`UTIME_OMIT` / `UTIME_NOW` / a value).
pub(crate) fn timestamps(atime: SetTime, mtime: SetTime) -> FsResult<Timestamps> {
    let one = |t: SetTime| -> FsResult<Timespec> {
        Ok(match t {
            SetTime::Keep => Timespec {
                tv_sec: 0,
                tv_nsec: rustix::fs::UTIME_OMIT,
            },
            SetTime::Now => Timespec {
                tv_sec: 0,
                tv_nsec: rustix::fs::UTIME_NOW,
            },
            SetTime::At(ns) => Timespec {
                tv_sec: i64::try_from(ns / 1_000_000_000).map_err(|_| FsError::Overflow)?,
                // Below 10^9, so it fits any Nsecs width.
                tv_nsec: (ns % 1_000_000_000) as _,
            },
        })
    };
    Ok(Timestamps {
        last_access: one(atime)?,
        last_modification: one(mtime)?,
    })
}
