//! Per-syscall policy: before an import acts, a [`Policy`] sees a typed [`Request`] and answers
//! with a [`Decision`] — Allow, Deny(errno), Trap(message) or Ask. Ask goes to a [`Prompter`],
//! whose [`Answer`] (once, always, never) settles it; what the call finally gets is its
//! [`Verdict`], and [`DecidedBy`] says who settled it. The host's
//! [`PolicyHandle`](crate::PolicyHandle) holds the policy, the prompter and remembered answers
//! (see `crate::gate`). This layer decides only: it never touches guest memory, descriptors,
//! backends or the audit.

use crate::abi::types::{Errno, Error};
use std::fmt;
use std::sync::Arc;

mod ask;
#[cfg(windows)]
mod console_windows;
mod file;
mod pattern;
mod prompt;
mod request;
mod syscall;
mod table;

pub use crate::escape::escape;
pub use ask::AskFirst;
pub use file::PolicyFileError;
pub(crate) use pattern::is_under;
pub use pattern::{PathPattern, PatternError};
pub use prompt::{
    Answer, AsyncPrompter, ChannelPrompter, Prompt, PromptReply, Prompter, Scope, TerminalPrompter,
};
pub use request::{Access, Flags, GuestPath, Request, normalize};
pub(crate) use request::{RequestBuf, join};
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

/// What a call finally got, once its [`Decision`] was settled (an Ask by a remembered answer or
/// by the prompter): never Ask. Audit records carry it.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// The call proceeds.
    Allow,
    /// The call fails with this errno.
    Deny(Errno),
    /// The guest stops with this message.
    Trap(Arc<str>),
}

/// Who settled a [`Verdict`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecidedBy {
    /// The policy answered directly.
    Policy,
    /// The policy asked, and a remembered answer settled it.
    Remembered,
    /// The policy asked, and the prompter answered (or failed, or timed out: then Deny).
    Prompter,
}

impl DecidedBy {
    /// `"policy"`, `"remembered"` or `"prompt"`.
    pub fn as_str(self) -> &'static str {
        match self {
            DecidedBy::Policy => "policy",
            DecidedBy::Remembered => "remembered",
            DecidedBy::Prompter => "prompt",
        }
    }
}

impl Verdict {
    /// `Ok(())` to proceed, the errno to deny, a [`PolicyTrap`] to stop the guest.
    pub(crate) fn into_result(self, syscall: Syscall) -> Result<(), Error> {
        match self {
            Verdict::Allow => Ok(()),
            Verdict::Deny(errno) => Err(errno.into()),
            Verdict::Trap(message) => Err(Error::trap(PolicyTrap { syscall, message }.into())),
        }
    }

    /// `"allow"`, `"deny"` or `"trap"`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Verdict::Allow => "allow",
            Verdict::Deny(_) => "deny",
            Verdict::Trap(_) => "trap",
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
