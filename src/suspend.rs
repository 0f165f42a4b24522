//! Calls that would wait, told to say so instead: under an async frontend (`linker_async.rs`)
//! a call that must wait for time to pass, for a descriptor, or for a person's answer returns a
//! [`Suspend`] before it has any effect; the frontend awaits what it names, without holding a
//! thread, then runs the same call again. The sync frontends never enter this mode, so for them
//! every wait stays where it is (and bounded by the run's deadline).
//!
//! What makes a re-run the same call: each wait point comes before the call's effects (a poll
//! pass only reads; a read that would block has read nothing; a prompt comes with the policy
//! check, before acting), the first attempt's start instant is kept for relative timers, and an
//! answer a person gave stays with the call until it ends.

use crate::policy::{Answer, Prompt};
use crate::stdio::Input;
use std::fmt;
use std::time::Instant;

/// What a call waits for before it can go on. Carried out of the call as its (trap) error.
/// Read by the async frontend only.
#[cfg_attr(not(feature = "async"), allow(dead_code))]
pub enum Suspend {
    /// Time: until this instant (`None`: no timer an `Instant` can name; look again later).
    Until(Option<Instant>),
    /// stdin with nothing to read, or the earliest timer of the same poll, whichever first.
    Input(Input, Option<Instant>),
    /// A socket (a duplicate of its descriptor): readable (`write == false`) or writable.
    Socket {
        fd: crate::p1::sock_host::HostSocket,
        write: bool,
        until: Option<Instant>,
    },
    /// A person's answer to this prompt.
    Prompt(Prompt),
}

impl fmt::Debug for Suspend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Suspend::Until(at) => write!(f, "Suspend::Until({at:?})"),
            Suspend::Input(_, at) => write!(f, "Suspend::Input({at:?})"),
            Suspend::Socket { write, until, .. } => {
                write!(f, "Suspend::Socket(write: {write}, until: {until:?})")
            }
            Suspend::Prompt(prompt) => write!(f, "Suspend::Prompt({:?})", prompt.message()),
        }
    }
}

impl fmt::Display for Suspend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Seen only if a frontend failed to handle it: name what the call waited for.
        write!(f, "a call suspended outside an async frontend ({self:?})")
    }
}

impl std::error::Error for Suspend {}

/// The async frontend's state for the call in progress, kept across its re-runs.
#[derive(Debug, Default)]
pub(crate) struct Resumable {
    /// The first attempt's start, for relative timeouts (`poll_oneoff`).
    pub started: Option<Instant>,
    /// Answers a person gave during this call, for the prompts they answer.
    pub answers: Vec<(Prompt, Answer)>,
}
