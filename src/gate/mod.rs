//! The per-guest way through the policy: each syscall's `Gate` calls (begin, one check, end),
//! which cost one atomic load and a branch when nothing restricts or audits the call, and
//! otherwise ask the [`PolicyHandle`] and hand the audit sink its record. The gate is where the
//! policy (`crate::policy`) and the audit (`crate::audit`) meet, so that neither depends on the
//! other. It never touches guest memory or descriptors; syscalls hand it a `Request`.

mod handle;
#[cfg(test)]
mod tests;

pub use handle::PolicyHandle;

use crate::abi::types::Error;
use crate::audit::{AuditRecord, AuditValue, CallResult};
use crate::deadline::Deadline;
use crate::policy::{DecidedBy, Request, RequestBuf, Syscall, Verdict};
use crate::suspend::{Resumable, Suspend};
use handle::Decided;
use std::time::Instant;

/// A call being audited: what `begin` saw, and the verdict once `check` ran.
struct Call {
    syscall: Syscall,
    start: Instant,
    verdict: Option<(Verdict, DecidedBy)>,
}

/// One guest's way through the policy: lives in the guest's context next to its descriptor
/// table. Per call, the dispatcher brackets the syscall with [`Gate::begin`] / [`Gate::end`]
/// (audit timing and result), and the syscall calls [`Gate::check`] once, after decoding and
/// before acting. With no policy restrictions and no audit sink, each of the three is one
/// atomic load and a branch, and nothing allocates.
pub struct Gate {
    handle: PolicyHandle,
    /// The run's deadline, postponed by the time a person spends answering a prompt.
    deadline: Option<Deadline>,
    /// The call being audited, in a box made at the first audited call: a guest without an
    /// audit sink does not carry its few hundred bytes.
    audit: Option<Box<Audited>>,
    /// `Some` while an async frontend runs a call (`suspend.rs`): waits suspend instead.
    resumable: Option<Resumable>,
    /// The current attempt ended in a suspension: not a result to audit.
    suspended: bool,
}

/// What an audited call collects between `begin` and `end`.
struct Audited {
    call: Option<Call>,
    /// The audited request, copied here so it outlives the syscall's borrowed strings.
    request: RequestBuf,
}

impl std::fmt::Debug for Gate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gate")
            .field("handle", &self.handle)
            .finish_non_exhaustive()
    }
}

impl Default for Gate {
    fn default() -> Gate {
        Gate::new(PolicyHandle::default())
    }
}

impl Gate {
    /// A gate for one guest, controlled through `handle` (and its clones).
    pub fn new(handle: PolicyHandle) -> Gate {
        Gate {
            handle,
            deadline: None,
            audit: None,
            resumable: None,
            suspended: false,
        }
    }

    /// Shares the run's deadline with the gate, which postpones it while a prompt waits for
    /// a person (the guest is not running then; a slow answer must not stop it right after).
    pub(crate) fn share_deadline(&mut self, deadline: Deadline) {
        self.deadline = Some(deadline);
    }

    /// The handle controlling this gate.
    pub fn handle(&self) -> &PolicyHandle {
        &self.handle
    }

    /// Whether `syscall` needs its request built (a policy may restrict it, or an audit sink
    /// records it): syscalls test this before preparing anything costly, such as a joined path.
    #[inline]
    pub fn wants(&self, syscall: Syscall) -> bool {
        self.handle.needs_check(syscall)
    }

    /// Whether waits suspend (an async frontend runs this call) rather than block.
    #[inline]
    pub(crate) fn suspending(&self) -> bool {
        self.resumable.is_some()
    }

    /// Ends this attempt of the call with a suspension: the frontend awaits `what`, then runs
    /// the call again. The attempt is not audited (the re-run is).
    #[cold]
    pub(crate) fn suspend(&mut self, what: Suspend) -> Error {
        self.suspended = true;
        Error::trap(what.into())
    }

    /// The first attempt's start instant of a call that may be re-run (`now` if this is it).
    pub(crate) fn call_started(&mut self, now: Instant) -> Instant {
        match &mut self.resumable {
            Some(resumable) => *resumable.started.get_or_insert(now),
            None => now,
        }
    }

    /// An async frontend starts an attempt of a call, with what earlier attempts left: waits
    /// suspend until [`Gate::leave_async`].
    #[cfg_attr(not(feature = "async"), allow(dead_code))]
    pub(crate) fn enter_async(&mut self, state: Resumable) {
        self.resumable = Some(state);
    }

    /// The attempt is over: its state goes back to the frontend (which keeps it while it waits,
    /// so that a dropped call leaves nothing here).
    #[cfg_attr(not(feature = "async"), allow(dead_code))]
    pub(crate) fn leave_async(&mut self) -> Resumable {
        self.resumable.take().unwrap_or_default()
    }

    /// Starts a call: while auditing, notes the syscall and the time.
    #[inline]
    pub fn begin(&mut self, syscall: Syscall) {
        self.suspended = false;
        if let Some(audited) = &mut self.audit {
            // A sink removed since the last call leaves nothing behind to report.
            audited.call = None;
        }
        if self.handle.auditing() {
            self.begin_audit(syscall);
        }
    }

    #[cold]
    fn begin_audit(&mut self, syscall: Syscall) {
        let audited = self.audit.get_or_insert_with(|| {
            Box::new(Audited {
                call: None,
                request: RequestBuf::new(syscall),
            })
        });
        audited.request.reset(syscall);
        audited.call = Some(Call {
            syscall,
            start: Instant::now(),
            verdict: None,
        });
    }

    /// The one policy call of a syscall: `Ok(())` to proceed, else the errno or the trap to
    /// return. `build` runs only if the syscall needs a check; the request it returns is shown
    /// to the policy, the prompter and the audit sink.
    #[inline]
    pub fn check<'a>(
        &mut self,
        syscall: Syscall,
        build: impl FnOnce() -> Request<'a>,
    ) -> Result<(), Error> {
        if !self.handle.needs_check(syscall) {
            return Ok(());
        }
        self.check_slow(&build())
    }

    #[cold]
    fn check_slow(&mut self, request: &Request<'_>) -> Result<(), Error> {
        let answers = self.resumable.as_ref().map(|r| r.answers.as_slice());
        let (verdict, by, prompting) = match self.handle.decide_with(request, answers) {
            Decided::Verdict(verdict, by, waited) => (verdict, by, waited),
            Decided::Ask(prompt) => return Err(self.suspend(Suspend::Prompt(prompt))),
        };
        if let Some(deadline) = &self.deadline {
            deadline.postpone(prompting);
        }
        if let Some(audited) = &mut self.audit
            && let Audited {
                call: Some(call),
                request: copy,
            } = &mut **audited
        {
            copy.set(request);
            call.verdict = Some((verdict.clone(), by));
        }
        verdict.into_result(request.syscall)
    }

    /// Ends a call: while auditing, sends the record (request, verdict, result, duration).
    #[inline]
    pub fn end<T: AuditValue>(&mut self, result: &Result<T, Error>) {
        if self.audit.as_ref().is_some_and(|a| a.call.is_some()) {
            self.end_with(CallResult::of(result));
        }
    }

    /// Ends a call whose result is not a `Result` (`proc_exit`).
    pub fn end_with(&mut self, result: CallResult) {
        let Some(audited) = &mut self.audit else {
            return;
        };
        if self.suspended {
            // A suspended attempt: the re-run is the call to record.
            audited.call = None;
            return;
        }
        let Some(call) = audited.call.take() else {
            return;
        };
        let Some(sink) = self.handle.audit_sink() else {
            return;
        };
        let mut request = audited.request.get();
        // A call that failed before its check still names its syscall.
        request.syscall = call.syscall;
        sink.record(&AuditRecord {
            request,
            verdict: call.verdict.as_ref().map(|(v, by)| (v, *by)),
            result,
            duration: call.start.elapsed(),
        });
    }
}
