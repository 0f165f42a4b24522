//! Per-syscall policy: before an import acts, a [`Policy`] sees a typed [`Request`] and answers
//! Allow, Deny(errno), Trap(message) or Ask ([`Decision`]). A [`PolicyHandle`] (kept by the host,
//! swappable from any thread) holds the policy, the [`Prompter`] that answers Ask, remembered
//! answers and the [`AuditSink`](crate::audit::AuditSink); a per-guest [`Gate`] is the one call
//! each syscall makes. When nothing is installed a check is one atomic load and a bit test.
//! This layer decides only: it never touches guest memory, descriptors or backends.

use crate::abi::types::{Errno, Error};
use std::fmt;
use std::sync::Arc;

mod ask;
mod file;
mod handle;
mod pattern;
mod prompt;
mod request;
mod syscall;
mod table;
#[cfg(test)]
mod tests;

pub use crate::escape::escape;
pub use ask::AskFirst;
pub use file::PolicyFileError;
pub use handle::{Gate, PolicyHandle};
pub(crate) use pattern::is_under;
pub use pattern::{PathPattern, PatternError};
pub use prompt::{Answer, ChannelPrompter, Prompt, PromptReply, Prompter, Scope, TerminalPrompter};
pub use request::{Access, Flags, GuestPath, Request, RequestBuf, join, normalize};
pub use syscall::{Syscall, SyscallSet, UnknownSyscall};
pub use table::{Action, PolicyTable, Rule};

/// What a policy answers for one request.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// Let the call proceed.
    Allow,
    /// Fail the call with this errno, without acting.
    Deny(Errno),
    /// Stop the guest with a trap carrying this message.
    Trap(Arc<str>),
    /// Ask the installed [`Prompter`] (no prompter: deny).
    Ask,
}

impl Decision {
    /// The errno a plain `deny` uses: EACCES, which programs report as "Permission denied".
    pub const DEFAULT_DENY: Errno = Errno::Acces;

    /// `Deny(EACCES)`.
    pub fn deny() -> Decision {
        Decision::Deny(Decision::DEFAULT_DENY)
    }

    /// `Trap(message)`.
    pub fn trap(message: impl Into<Arc<str>>) -> Decision {
        Decision::Trap(message.into())
    }
}

/// A policy: decides each request. Implement it to write your own; [`PolicyTable`] is the
/// configurable one. `decide` runs on the guest's thread, during the call: keep it quick (to
/// wait for a human, answer [`Decision::Ask`] and install a [`Prompter`]).
pub trait Policy: Send + Sync {
    /// Decides one request.
    fn decide(&self, request: &Request<'_>) -> Decision;

    /// The syscalls for which `decide` may answer anything but `Allow`. Calls outside this set
    /// skip the policy entirely (no request is built). The default, every syscall, is always
    /// correct; a narrower set only makes the other calls cheaper.
    fn checks(&self) -> SyscallSet {
        SyscallSet::ALL
    }
}

/// A constant decision is a policy: `Allow` checks nothing, anything else every call.
impl Policy for Decision {
    fn decide(&self, _: &Request<'_>) -> Decision {
        self.clone()
    }

    fn checks(&self) -> SyscallSet {
        match self {
            Decision::Allow => SyscallSet::EMPTY,
            _ => SyscallSet::ALL,
        }
    }
}

impl<P: Policy + ?Sized> Policy for Arc<P> {
    fn decide(&self, request: &Request<'_>) -> Decision {
        (**self).decide(request)
    }

    fn checks(&self) -> SyscallSet {
        (**self).checks()
    }
}

impl<P: Policy + ?Sized> Policy for Box<P> {
    fn decide(&self, request: &Request<'_>) -> Decision {
        (**self).decide(request)
    }

    fn checks(&self) -> SyscallSet {
        (**self).checks()
    }
}

/// A closure as a policy: `FnPolicy(|req: &Request<'_>| Decision::Allow)`.
pub struct FnPolicy<F>(pub F);

impl<F: Fn(&Request<'_>) -> Decision + Send + Sync> Policy for FnPolicy<F> {
    fn decide(&self, request: &Request<'_>) -> Decision {
        (self.0)(request)
    }
}

/// A final decision: what happens to the call once Ask has been answered.
#[derive(Debug, Clone, PartialEq)]
pub enum Ruling {
    /// The call proceeds.
    Allow,
    /// The call fails with this errno.
    Deny(Errno),
    /// The guest stops with this message.
    Trap(Arc<str>),
}

/// Who made a [`Ruling`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The policy answered directly.
    Policy,
    /// The policy asked, and a remembered answer settled it.
    Remembered,
    /// The policy asked, and the prompter answered (or failed, or timed out: then Deny).
    Prompter,
}

impl Source {
    /// `"policy"`, `"remembered"` or `"prompt"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Policy => "policy",
            Source::Remembered => "remembered",
            Source::Prompter => "prompt",
        }
    }
}

/// The outcome of checking one request.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    /// What happens to the call.
    pub ruling: Ruling,
    /// Who decided.
    pub source: Source,
}

impl Verdict {
    /// `Ok(())` to proceed, the errno to deny, a [`PolicyTrap`] to stop the guest.
    pub fn into_result(self, syscall: Syscall) -> Result<(), Error> {
        match self.ruling {
            Ruling::Allow => Ok(()),
            Ruling::Deny(errno) => Err(errno.into()),
            Ruling::Trap(message) => Err(Error::trap(PolicyTrap { syscall, message }.into())),
        }
    }
}

/// The trap a policy's `Trap` decision raises; embedders can downcast the run's error to it.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyTrap {
    /// The call that was stopped.
    pub syscall: Syscall,
    /// The policy's message.
    pub message: Arc<str>,
}

impl fmt::Display for PolicyTrap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "policy stopped the guest in {}: {}",
            self.syscall, self.message
        )
    }
}

impl std::error::Error for PolicyTrap {}

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
    ERRNO_NAMES.get(errno as usize).copied().unwrap_or("E?")
}

/// Parses an errno name, case-insensitively, with or without the leading `E`
/// (`"EACCES"`, `"acces"`, `"notcapable"`).
pub fn parse_errno(name: &str) -> Option<Errno> {
    let upper = name.trim().to_ascii_uppercase();
    let position = ERRNO_NAMES
        .iter()
        .position(|n| *n == upper || n.strip_prefix('E').is_some_and(|bare| bare == upper))?;
    let code = u16::try_from(position).ok()?;
    Errno::try_from(code).ok()
}
