//! Every error mapping of the crate, in exhaustive matches: backend `FsError`, stream errors,
//! host socket errors, missing rights and guest-memory errors become a preview1 errno or a trap
//! here and nowhere else. Also the errnos' names (for policy files, audit and messages) and
//! `I32Exit`, the "error" `proc_exit` stops a guest with.

use crate::abi::types::{Errno, Error, Rights};
use crate::stdio::{OutputLimitExceeded, StreamError};
use crate::vfs::FsError;
use std::io;
use wiggle::GuestError;

impl From<FsError> for Errno {
    fn from(error: FsError) -> Errno {
        // Exhaustive, no `_ =>`: a variant added to `FsError` does not compile until it is given
        // its errno here.
        match error {
            FsError::NotFound => Errno::Noent,
            FsError::Exists => Errno::Exist,
            FsError::NotDir => Errno::Notdir,
            FsError::IsDir => Errno::Isdir,
            FsError::NotEmpty => Errno::Notempty,
            FsError::Loop => Errno::Loop,
            FsError::NameTooLong => Errno::Nametoolong,
            FsError::Invalid => Errno::Inval,
            // An escape is cap-std's (and so wasmtime's) EPERM: guests see the same answer under
            // both (SECURITY.md).
            FsError::Escape => Errno::Perm,
            FsError::NotPermitted => Errno::Perm,
            // What the object itself refuses (a host file not open for that access); a read-only
            // mount is EPERM below, as in wasmtime.
            FsError::Access => Errno::Acces,
            // wasmtime answers EPERM for any change on a read-only preopen; guests see the same.
            FsError::ReadOnly => Errno::Perm,
            // The byte budget is ENOSPC and the inode budget EDQUOT (`FsLimits`): a guest can tell
            // which ran out.
            FsError::NoSpace => Errno::Nospc,
            FsError::Quota => Errno::Dquot,
            FsError::FileTooBig => Errno::Fbig,
            FsError::CrossDevice => Errno::Xdev,
            FsError::Busy => Errno::Busy,
            FsError::Overflow => Errno::Overflow,
            FsError::IllegalSequence => Errno::Ilseq,
            FsError::NotSupported => Errno::Notsup,
            // Only where no trap can be raised: as an `Error` (below) it stops the run instead.
            FsError::TimedOut => Errno::Timedout,
            // The message stays on the host side: the guest learns only that the host failed.
            FsError::Io(_) => Errno::Io,
        }
    }
}

impl From<FsError> for Error {
    fn from(error: FsError) -> Error {
        match error {
            // A deadline reached inside a backend stops the guest, as one reached in a wait.
            FsError::TimedOut => {
                Error::trap(crate::limits::TimeLimitExceeded { limit: None }.into())
            }
            error => Errno::from(error).into(),
        }
    }
}

/// Guest-memory errors: out-of-bounds or misaligned pointers trap (as wasmtime does); bad
/// strings and bad enum values are ordinary errnos.
impl From<GuestError> for Error {
    fn from(error: GuestError) -> Error {
        match error {
            // A bad value met inside a body (a `poll_oneoff` subscription's tag, read from memory):
            // EINVAL, as wasmtime.
            GuestError::InvalidFlagValue(_) | GuestError::InvalidEnumValue(_) => {
                Errno::Inval.into()
            }
            // As wasmtime and SECURITY.md: invalid UTF-8 is EILSEQ, not a trap.
            GuestError::InvalidUtf8(_) => Errno::Ilseq.into(),
            GuestError::TryFromIntError(_) => Errno::Overflow.into(),
            GuestError::SliceLengthsDiffer => Errno::Fault.into(),
            // The context is dropped: the inner error alone decides errno or trap.
            GuestError::InFunc { err, .. } => Error::from(*err),
            error @ (GuestError::PtrOutOfBounds(_)
            | GuestError::PtrNotAligned(..)
            | GuestError::PtrOverflow) => Error::trap(error.into()),
        }
    }
}

impl From<StreamError> for Error {
    fn from(error: StreamError) -> Error {
        match error {
            // A trap whose error names the stream and its budget (`run::LimitStop::Output`), so
            // the host can tell a full stdout from a crash.
            StreamError::LimitTrap { stream, limit } => {
                Error::trap(OutputLimitExceeded { stream, limit }.into())
            }
            // `Truncate` once nothing fits: EFBIG, as write(2) past the process's file size limit.
            StreamError::LimitReached => Errno::Fbig.into(),
            // The host's message is not the guest's business (as for `FsError::Io`).
            StreamError::Io(_) => Errno::Io.into(),
            StreamError::WouldBlock => Errno::Again.into(),
            // A wait that reached the run's deadline ends the run, as a wait in `poll_oneoff` does.
            StreamError::Timeout => {
                Error::trap(crate::limits::TimeLimitExceeded { limit: None }.into())
            }
        }
    }
}

/// What wiggle's decoder answered for one call, as the guest gets it: bad enum or flag values
/// in arguments are EINVAL (as SECURITY.md and the spec ask, where wasmtime traps);
/// everything else — an errno, a trap — passes through.
pub(crate) fn decoded(result: wiggle::error::Result<i32>) -> wiggle::error::Result<i32> {
    match result {
        Ok(errno) => Ok(errno),
        Err(error) => match error.downcast_ref::<GuestError>() {
            Some(guest) if is_bad_value(guest) => Ok(Errno::Inval as i32),
            // Traps (bad pointers, limits, a policy's trap, an exit) stay traps.
            _ => Err(error),
        },
    }
}

/// Whether the decoder refused a value (possibly wrapped in the function it was decoding for).
fn is_bad_value(error: &GuestError) -> bool {
    // Exhaustive, as the conversions above: a new `GuestError` must be classified here.
    match error {
        GuestError::InvalidFlagValue(_) | GuestError::InvalidEnumValue(_) => true,
        GuestError::InFunc { err, .. } => is_bad_value(err),
        GuestError::InvalidUtf8(_)
        | GuestError::TryFromIntError(_)
        | GuestError::SliceLengthsDiffer
        | GuestError::PtrOutOfBounds(_)
        | GuestError::PtrNotAligned(..)
        | GuestError::PtrOverflow => false,
    }
}

/// The errno of a call whose descriptor lacks `missing` rights, as POSIX programs expect it
/// (wasi-libc and Rust's std derive rights from the open mode): lacking FD_READ or FD_WRITE
/// means "not open for reading/writing", EBADF (as read(2)/write(2) and wasmtime); lacking
/// FD_FILESTAT_SET_SIZE means "not open for writing" to ftruncate(2), EINVAL (as wasmtime);
/// any other right, ENOTCAPABLE.
pub(crate) fn missing_rights(missing: Rights) -> Errno {
    // First: a call that lacks FD_WRITE and something else is still "not open for writing"
    // to the guest.
    if missing.intersects(Rights::FD_READ.union(Rights::FD_WRITE)) {
        Errno::Badf
    } else if missing.contains(Rights::FD_FILESTAT_SET_SIZE) {
        Errno::Inval
    } else {
        Errno::Notcapable
    }
}

/// The errno of a failed host socket call. The host's error kinds are an open set
/// (`io::ErrorKind` is non-exhaustive): what has no closer meaning is EIO.
pub(crate) fn net_errno(error: &io::Error) -> Errno {
    match error.kind() {
        io::ErrorKind::WouldBlock => Errno::Again,
        io::ErrorKind::Interrupted => Errno::Intr,
        io::ErrorKind::ConnectionReset => Errno::Connreset,
        io::ErrorKind::ConnectionAborted => Errno::Connaborted,
        io::ErrorKind::NotConnected => Errno::Notconn,
        io::ErrorKind::BrokenPipe => Errno::Pipe,
        io::ErrorKind::TimedOut => Errno::Timedout,
        io::ErrorKind::InvalidInput => Errno::Inval,
        io::ErrorKind::OutOfMemory => Errno::Nomem,
        // Every other kind (the set is open): by the OS's code where that means more. The
        // host's EMFILE is the guest's ENFILE on purpose: the guest's own table (EMFILE, ours)
        // has room; it is the host process that ran out, a system-wide limit to the guest.
        _ => match error.raw_os_error() {
            Some(code) if host_out_of_descriptors(code) => Errno::Nfile,
            _ => Errno::Io,
        },
    }
}

/// Whether a host error code says the process (EMFILE) or system (ENFILE) ran out of
/// descriptors; Windows' one code for it is ERROR_TOO_MANY_OPEN_FILES.
fn host_out_of_descriptors(code: i32) -> bool {
    #[cfg(unix)]
    return code == rustix::io::Errno::MFILE.raw_os_error()
        || code == rustix::io::Errno::NFILE.raw_os_error();
    #[cfg(windows)]
    return code == windows_sys::Win32::Foundation::ERROR_TOO_MANY_OPEN_FILES as i32;
}

/// Errno names in witx order, POSIX spelling (`Errno as usize` indexes it).
const ERRNO_NAMES: [&str; 77] = [
    "SUCCESS",
    "E2BIG",
    "EACCES",
    "EADDRINUSE",
    "EADDRNOTAVAIL",
    "EAFNOSUPPORT",
    "EAGAIN",
    "EALREADY",
    "EBADF",
    "EBADMSG",
    "EBUSY",
    "ECANCELED",
    "ECHILD",
    "ECONNABORTED",
    "ECONNREFUSED",
    "ECONNRESET",
    "EDEADLK",
    "EDESTADDRREQ",
    "EDOM",
    "EDQUOT",
    "EEXIST",
    "EFAULT",
    "EFBIG",
    "EHOSTUNREACH",
    "EIDRM",
    "EILSEQ",
    "EINPROGRESS",
    "EINTR",
    "EINVAL",
    "EIO",
    "EISCONN",
    "EISDIR",
    "ELOOP",
    "EMFILE",
    "EMLINK",
    "EMSGSIZE",
    "EMULTIHOP",
    "ENAMETOOLONG",
    "ENETDOWN",
    "ENETRESET",
    "ENETUNREACH",
    "ENFILE",
    "ENOBUFS",
    "ENODEV",
    "ENOENT",
    "ENOEXEC",
    "ENOLCK",
    "ENOLINK",
    "ENOMEM",
    "ENOMSG",
    "ENOPROTOOPT",
    "ENOSPC",
    "ENOSYS",
    "ENOTCONN",
    "ENOTDIR",
    "ENOTEMPTY",
    "ENOTRECOVERABLE",
    "ENOTSOCK",
    "ENOTSUP",
    "ENOTTY",
    "ENXIO",
    "EOVERFLOW",
    "EOWNERDEAD",
    "EPERM",
    "EPIPE",
    "EPROTO",
    "EPROTONOSUPPORT",
    "EPROTOTYPE",
    "ERANGE",
    "EROFS",
    "ESPIPE",
    "ESRCH",
    "ESTALE",
    "ETIMEDOUT",
    "ETXTBSY",
    "EXDEV",
    "ENOTCAPABLE",
];

/// The POSIX-style name of an errno (`"EACCES"`, `"ENOTCAPABLE"`; `"SUCCESS"` for 0).
pub fn errno_name(errno: Errno) -> &'static str {
    // The table covers every code (the test below checks it); a name is never worth a panic.
    ERRNO_NAMES.get(errno as usize).copied().unwrap_or("E?")
}

/// Parses an errno name, case-insensitively, with or without the leading `E`
/// (`"EACCES"`, `"acces"`, `"notcapable"`).
pub fn parse_errno(name: &str) -> Option<Errno> {
    // Policy files are written by people: case, spaces and the leading `E` are forgiven,
    // nothing else.
    let upper = name.trim().to_ascii_uppercase();
    let position = ERRNO_NAMES
        .iter()
        .position(|n| *n == upper || n.strip_prefix('E').is_some_and(|bare| bare == upper))?;
    let code = u16::try_from(position).ok()?;
    // A name's position is its code: the table's one invariant.
    Errno::try_from(code).ok()
}

/// The error `proc_exit` stops the guest with; downcast a call's error to read the code.
/// An error rather than a host exit: the embedder keeps running and reads the status
/// (`Outcome::Exited`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct I32Exit(pub i32);

impl std::fmt::Display for I32Exit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "guest exited with status {}", self.0)
    }
}

impl std::error::Error for I32Exit {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errno_names_follow_the_witx_order() {
        for code in 0u16..77 {
            let errno = Errno::try_from(code).unwrap();
            let name = errno_name(errno);
            assert_eq!(parse_errno(name), Some(errno), "{name}");
            let debug = format!("{errno:?}").to_ascii_uppercase();
            match errno {
                Errno::Success => assert_eq!(name, "SUCCESS"),
                Errno::TooBig => assert_eq!(name, "E2BIG"),
                _ => assert_eq!(name, format!("E{debug}")),
            }
        }
        assert_eq!(parse_errno("eperm"), Some(Errno::Perm));
        assert_eq!(parse_errno("notcapable"), Some(Errno::Notcapable));
        assert_eq!(parse_errno("EWHAT"), None);
    }
}
