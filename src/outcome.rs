//! How a guest's run ended, whatever the frontend that ran it: an exit status, or a trap and
//! the limit behind it. Frontend-neutral (no wasmtime runtime): the errors are the ones the
//! imports answer and wasmtime carries, the same `Error` type on both sides.

use crate::errno::I32Exit;
use crate::limits::{FuelExhausted, MemoryLimitExceeded, TimeLimitExceeded};
use crate::stdio::OutputLimitExceeded;
use std::fmt;
use wiggle::error::Error;

/// How a command module's run ended.
#[derive(Debug)]
pub enum Outcome {
    /// `_start` returned, or the guest called `proc_exit`: the exit status.
    Exited(i32),
    /// The guest trapped or was stopped (a limit, a policy): the reason.
    Trapped(Error),
}

/// Which limit stopped a guest (see [`Outcome::limit`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LimitStop {
    /// It wrote past an output stream's budget (action `Trap`).
    Output(OutputLimitExceeded),
    /// Its run's time limit passed.
    Time(TimeLimitExceeded),
    /// It tried to grow its memory (or a table) past the limit.
    Memory(MemoryLimitExceeded),
    /// It used up its fuel.
    Fuel(FuelExhausted),
}

impl fmt::Display for LimitStop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LimitStop::Output(e) => e.fmt(f),
            LimitStop::Time(e) => e.fmt(f),
            LimitStop::Memory(e) => e.fmt(f),
            LimitStop::Fuel(e) => e.fmt(f),
        }
    }
}

impl LimitStop {
    /// The limit that stopped the run whose error is `error`, if a limit did.
    pub fn of(error: &Error) -> Option<LimitStop> {
        // `downcast_ref` finds context too, so the errors `name_stop` attaches are found as
        // well as those the syscalls return.
        if let Some(e) = error.downcast_ref::<OutputLimitExceeded>() {
            return Some(LimitStop::Output(e.clone()));
        }
        if let Some(e) = error.downcast_ref::<TimeLimitExceeded>() {
            return Some(LimitStop::Time(*e));
        }
        if let Some(e) = error.downcast_ref::<MemoryLimitExceeded>() {
            return Some(LimitStop::Memory(*e));
        }
        if let Some(e) = error.downcast_ref::<FuelExhausted>() {
            return Some(LimitStop::Fuel(*e));
        }
        None
    }
}

impl Outcome {
    /// The exit status a shell would report: the guest's, or 1 for a trap... callers that want
    /// finer statuses match on the outcome (or [`Outcome::limit`]).
    pub fn exit_code(&self) -> i32 {
        match self {
            Outcome::Exited(code) => *code,
            Outcome::Trapped(_) => 1,
        }
    }

    /// Classifies the result of calling `_start`.
    pub fn from_call(result: wiggle::error::Result<()>) -> Outcome {
        match result {
            Ok(()) => Outcome::Exited(0),
            Err(error) => match error.downcast_ref::<I32Exit>() {
                // `proc_exit` arrives as an error (it unwinds the guest's stack); it is an exit all
                // the same.
                Some(exit) => Outcome::Exited(exit.0),
                None => Outcome::Trapped(error),
            },
        }
    }

    /// The limit that stopped the guest, if one did.
    pub fn limit(&self) -> Option<LimitStop> {
        match self {
            Outcome::Exited(_) => None,
            Outcome::Trapped(error) => LimitStop::of(error),
        }
    }
}
