//! Every error mapping of the crate, in exhaustive matches: backend `FsError`, stream errors and
//! guest-memory errors become a preview1 errno or a trap here and nowhere else.

use crate::abi::types::{Errno, Error};
use crate::stdio::{OutputLimitExceeded, StreamError};
use crate::vfs::FsError;
use wiggle::GuestError;

impl From<FsError> for Errno {
    fn from(error: FsError) -> Errno {
        match error {
            FsError::NotFound => Errno::Noent,
            FsError::Exists => Errno::Exist,
            FsError::NotDir => Errno::Notdir,
            FsError::IsDir => Errno::Isdir,
            FsError::NotEmpty => Errno::Notempty,
            FsError::Loop => Errno::Loop,
            FsError::NameTooLong => Errno::Nametoolong,
            FsError::Invalid => Errno::Inval,
            FsError::Escape => Errno::Perm,
            FsError::NotPermitted => Errno::Perm,
            FsError::Access => Errno::Acces,
            // wasmtime answers EPERM for any change on a read-only preopen; guests see the same.
            FsError::ReadOnly => Errno::Perm,
            FsError::NoSpace => Errno::Nospc,
            FsError::Quota => Errno::Dquot,
            FsError::FileTooBig => Errno::Fbig,
            FsError::CrossDevice => Errno::Xdev,
            FsError::Busy => Errno::Busy,
            FsError::Overflow => Errno::Overflow,
            FsError::IllegalSequence => Errno::Ilseq,
            FsError::NotSupported => Errno::Notsup,
            FsError::TimedOut => Errno::Timedout,
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
            GuestError::InvalidFlagValue(_) | GuestError::InvalidEnumValue(_) => {
                Errno::Inval.into()
            }
            GuestError::InvalidUtf8(_) => Errno::Ilseq.into(),
            GuestError::TryFromIntError(_) => Errno::Overflow.into(),
            GuestError::SliceLengthsDiffer => Errno::Fault.into(),
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
            StreamError::LimitTrap { stream, limit } => {
                Error::trap(OutputLimitExceeded { stream, limit }.into())
            }
            StreamError::LimitReached => Errno::Fbig.into(),
            StreamError::Io(_) => Errno::Io.into(),
            StreamError::WouldBlock => Errno::Again.into(),
            StreamError::Timeout => {
                Error::trap(crate::limits::TimeLimitExceeded { limit: None }.into())
            }
        }
    }
}
