//! `FsError`: the small POSIX error subset every backend speaks.
//! Backends and the resolver return it; only `crate::errno` turns it into a WASI errno,
//! so a backend never needs to know the ABI exists.

use std::fmt;

/// What a filesystem operation can fail with. Each variant names the POSIX errno it maps to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FsError {
    /// ENOENT: a component or the target does not exist.
    NotFound,
    /// EEXIST: the target exists and the operation would create it.
    Exists,
    /// ENOTDIR: a directory was needed (a middle component, a trailing slash, a dir-only op).
    NotDir,
    /// EISDIR: a non-directory was needed (open for write, unlink of a directory).
    IsDir,
    /// ENOTEMPTY: removing or replacing a directory that still has entries.
    NotEmpty,
    /// ELOOP: too many symlinks, or a symlink met where following is forbidden.
    Loop,
    /// ENAMETOOLONG: a component or a whole path is longer than allowed.
    NameTooLong,
    /// EINVAL: an argument makes no sense (rename into own subtree, bad offset...).
    Invalid,
    /// EPERM: the path leaves the sandbox (`..` above the root, absolute path or link).
    Escape,
    /// EPERM: the operation is never permitted on this object (e.g. hard link to a directory).
    NotPermitted,
    /// EACCES: the mount's permissions forbid the access.
    Access,
    /// EPERM (as wasmtime): the mount is read-only.
    ReadOnly,
    /// ENOSPC: the filesystem's byte budget (`FsLimits`' quota) is exhausted.
    NoSpace,
    /// EDQUOT: the filesystem's inode budget is exhausted (bytes are ENOSPC, as `limits.rs`
    /// says: the two tell a guest which one ran out).
    Quota,
    /// EFBIG: the file would grow past the maximum file size.
    FileTooBig,
    /// EXDEV: a two-path operation across different filesystems.
    CrossDevice,
    /// EBUSY: the object is in use (e.g. removing a mount root).
    Busy,
    /// EOVERFLOW: a size or offset does not fit.
    Overflow,
    /// EILSEQ: a name is not valid UTF-8 or contains a NUL byte.
    IllegalSequence,
    /// ENOTSUP: the backend cannot do this.
    NotSupported,
    /// The run's deadline passed during a long operation (`crate::deadline::check`): the
    /// guest stops as its time limit says (ETIMEDOUT only where no trap can be raised).
    TimedOut,
    /// EIO: the host failed; the message is for logs only, never shown to the guest.
    Io(String),
}

impl fmt::Display for FsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self:?}")
    }
}

impl std::error::Error for FsError {}

/// The result type of every backend operation.
pub type FsResult<T> = Result<T, FsError>;
