//! The host's handle on a running guest's policy: the policy, prompter, audit sink and
//! remembered answers behind locks, plus an atomic bitmask of the syscalls that need any of
//! them, so that the gate returns after one atomic load, building no request, when a bit is
//! clear. Swaps take effect between calls. Deciding a request here — the policy, then for Ask
//! the remembered answers, then the prompter — is the only place a [`Verdict`] is made.

use crate::audit::AuditSink;
use crate::policy::{
    Access, Answer, AsyncPrompter, DecidedBy, Decision, PathPattern, Policy, Prompt, Prompter,
    Request, Scope, Syscall, SyscallSet, Verdict,
};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant};

/// Set in the mask while an audit sink is installed: far above the 46 syscall bits, so that
/// one load answers both "must this call be checked" and "is anyone auditing".
const AUDIT_BIT: u64 = 1 << 63;

/// What a swap replaces, read under one lock so a call sees a consistent set.
struct State {
    policy: Arc<dyn Policy>,
    /// `policy.checks()`, computed once per swap.
    policy_checks: SyscallSet,
    prompter: Option<Arc<dyn Prompter>>,
    /// Asked instead of `prompter` under the async linker.
    async_prompter: Option<Arc<dyn AsyncPrompter>>,
    audit: Option<Arc<dyn AuditSink>>,
}

/// The installed async and sync prompters.
pub(crate) type Prompters = (Option<Arc<dyn AsyncPrompter>>, Option<Arc<dyn Prompter>>);

/// What deciding a request came to: a verdict, or (under the async linker) a prompt that must
/// be answered first, by the frontend, after which the call runs again.
pub(crate) enum Decided {
    Verdict(Verdict, DecidedBy, Duration),
    Ask(Prompt),
}

struct Shared {
    /// Syscalls needing the slow path (`policy_checks`, or all while auditing), and AUDIT_BIT.
    mask: AtomicU64,
    state: RwLock<State>,
    /// Remembered answers, under their own lock: recording one never waits for a swap.
    memory: Mutex<Vec<Remembered>>,
}

/// The most answers one handle remembers (a few hundred KiB of paths at most).
pub(crate) const MAX_REMEMBERED: usize = 4096;

/// A remembered "always" or "never" answer.
#[derive(Debug, Clone)]
struct Remembered {
    /// For requests without a path, the syscall it answers for; `None` for path requests.
    syscall: Option<Syscall>,
    access: Access,
    /// Empty: any path.
    paths: Vec<PathPattern>,
    allow: bool,
}

impl Remembered {
    fn from_answer(request: &Request<'_>, scope: &Scope, allow: bool) -> Remembered {
        let has_path = request.path.is_some();
        let paths = match scope {
            // No path to scope: the answer is kept for the syscall, whatever scope was picked.
            _ if !has_path => Vec::new(),
            // Every path the request names (both sides of a rename): exactly these names.
            Scope::Path => request
                .paths()
                .map(|p| PathPattern::exact(p.path))
                .collect(),
            Scope::Subtree(dir) => vec![PathPattern::subtree(dir)],
            // Every path, but still only for the access kinds that were asked about.
            Scope::Any => Vec::new(),
        };
        Remembered {
            // Path answers hold for the path and the access, whatever syscall asks next.
            syscall: (!has_path).then_some(request.syscall),
            access: request.access,
            paths,
            allow,
        }
    }

    /// An allow covers a request only if it covers all of it (every access kind, every path);
    /// a deny applies if it touches any part of it.
    fn applies(&self, request: &Request<'_>) -> bool {
        let has_path = request.path.is_some();
        // Path answers for path requests only; syscall answers for path-less calls of that
        // syscall only.
        if has_path != self.syscall.is_none() || self.syscall.is_some_and(|s| s != request.syscall)
        {
            return false;
        }
        // A directory rename stands for its whole subtree: an "always" must cover all of it,
        // a "never" applies if it touches any of it.
        let subtree = request.subtree;
        let covered = |p: crate::policy::GuestPath<'_>| {
            self.paths.iter().any(|pat| pat.covers(p.path, subtree))
        };
        let touched = |p: crate::policy::GuestPath<'_>| {
            self.paths.iter().any(|pat| pat.overlaps(p.path, subtree))
        };
        if self.allow {
            // Every access kind asked must be covered: "always read" never lets a write through.
            self.access.contains(request.access)
                && (self.paths.is_empty() || request.paths().all(covered))
        } else {
            // Any shared access kind; the equality catches requests with none at all, which
            // intersect nothing.
            (self.access.intersects(request.access) || request.access == self.access)
                && (self.paths.is_empty() || request.paths().any(touched))
        }
    }
}

/// The host's handle: cloneable, `Send + Sync`; every clone controls the same guest(s).
/// Replace the policy, prompter or audit sink at any time, from any thread.
#[derive(Clone)]
pub struct PolicyHandle {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for PolicyHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PolicyHandle")
            .field("checks", &SyscallSet::from_bits_truncate(self.mask()))
            .field("auditing", &self.auditing())
            .finish_non_exhaustive()
    }
}

impl Default for PolicyHandle {
    /// Allows everything, asks nothing, audits nothing.
    fn default() -> PolicyHandle {
        // One allow-everything policy shared by every default handle (policies are immutable).
        static ALLOW: std::sync::LazyLock<Arc<dyn Policy>> =
            std::sync::LazyLock::new(|| Arc::new(Decision::Allow));
        PolicyHandle::from_arc(Arc::clone(&ALLOW))
    }
}

impl PolicyHandle {
    /// A handle installing `policy`, with no prompter and no audit sink.
    pub fn new(policy: impl Policy + 'static) -> PolicyHandle {
        PolicyHandle::from_arc(Arc::new(policy))
    }

    fn from_arc(policy: Arc<dyn Policy>) -> PolicyHandle {
        let policy_checks = policy.checks();
        PolicyHandle {
            shared: Arc::new(Shared {
                mask: AtomicU64::new(policy_checks.bits()),
                state: RwLock::new(State {
                    policy,
                    policy_checks,
                    prompter: None,
                    async_prompter: None,
                    audit: None,
                }),
                memory: Mutex::new(Vec::new()),
            }),
        }
    }

    /// Replaces the policy; calls that start after this see it. Remembered answers stay.
    pub fn set_policy(&self, policy: impl Policy + 'static) {
        self.set_policy_arc(Arc::new(policy));
    }

    /// Replaces the policy with a shared one.
    pub fn set_policy_arc(&self, policy: Arc<dyn Policy>) {
        self.update(|state| {
            // Once per swap, not per call: a policy's `checks` may cost more than the one load.
            state.policy_checks = policy.checks();
            state.policy = policy;
        });
    }

    /// Installs the prompter that answers `Ask` (without one, `Ask` denies).
    pub fn set_prompter(&self, prompter: impl Prompter + 'static) {
        self.set_prompter_arc(Arc::new(prompter));
    }

    /// Installs a shared prompter.
    pub fn set_prompter_arc(&self, prompter: Arc<dyn Prompter>) {
        self.update(|state| state.prompter = Some(prompter));
    }

    /// Installs the prompter the async linker asks (`add_to_linker_async`): it answers later,
    /// without a thread per waiting guest. Without one, the async linker asks the sync
    /// prompter on a blocking thread.
    pub fn set_async_prompter(&self, prompter: impl AsyncPrompter + 'static) {
        self.set_async_prompter_arc(Arc::new(prompter));
    }

    /// Installs a shared async prompter.
    pub fn set_async_prompter_arc(&self, prompter: Arc<dyn AsyncPrompter>) {
        self.update(|state| state.async_prompter = Some(prompter));
    }

    /// The prompters an async frontend may ask: the async one, else the sync one.
    #[cfg_attr(not(feature = "async"), allow(dead_code))]
    pub(crate) fn prompters(&self) -> Prompters {
        let state = self.state();
        (state.async_prompter.clone(), state.prompter.clone())
    }

    /// Removes the prompter (and the async one).
    pub fn clear_prompter(&self) {
        self.update(|state| {
            state.prompter = None;
            state.async_prompter = None;
        });
    }

    /// Installs an audit sink: from the next call on, every call is recorded.
    pub fn set_audit(&self, sink: impl AuditSink + 'static) {
        self.set_audit_arc(Arc::new(sink));
    }

    /// Installs a shared audit sink.
    pub fn set_audit_arc(&self, sink: Arc<dyn AuditSink>) {
        self.update(|state| state.audit = Some(sink));
    }

    /// Removes the audit sink.
    pub fn clear_audit(&self) {
        self.update(|state| state.audit = None);
    }

    /// Forgets every remembered answer.
    pub fn forget_answers(&self) {
        self.memory().clear();
    }

    /// How many answers are remembered.
    pub fn remembered_answers(&self) -> usize {
        self.memory().len()
    }

    /// Whether `syscall` must go through [`PolicyHandle::decide`]: one atomic load and a bit
    /// test, the whole cost of an unchecked call.
    #[inline]
    pub fn needs_check(&self, syscall: Syscall) -> bool {
        self.mask() & (1u64 << syscall.index()) != 0
    }

    /// Whether an audit sink is installed.
    #[inline]
    pub fn auditing(&self) -> bool {
        self.mask() & AUDIT_BIT != 0
    }

    #[inline]
    fn mask(&self) -> u64 {
        // Pairs with `update`'s Release: a call that sees a bit also sees the state that set it.
        self.shared.mask.load(Ordering::Acquire)
    }

    /// Decides `request` fully: the policy, then for `Ask` the remembered answers, then the
    /// prompter (none, a panic or a failure: deny with EACCES). Blocks while the prompter does.
    pub fn decide(&self, request: &Request<'_>) -> (Verdict, DecidedBy) {
        let (verdict, by, _) = self.decide_timed(request);
        (verdict, by)
    }

    /// [`PolicyHandle::decide`], and how long the prompter took (zero when none was asked):
    /// the time a person spent, which the run's deadline does not count.
    pub(crate) fn decide_timed(&self, request: &Request<'_>) -> (Verdict, DecidedBy, Duration) {
        match self.decide_with(request, None) {
            Decided::Verdict(verdict, by, waited) => (verdict, by, waited),
            // Only an async frontend's call gets a prompt back.
            Decided::Ask(_) => (allow_or_deny(false), DecidedBy::Prompter, Duration::ZERO),
        }
    }

    /// Decides `request`. `answers` is `Some` under the async linker: the answers a person
    /// already gave during this call; a prompt not among them comes back as `Decided::Ask`
    /// instead of blocking on the prompter.
    pub(crate) fn decide_with(
        &self,
        request: &Request<'_>,
        answers: Option<&[(Prompt, Answer)]>,
    ) -> Decided {
        let (policy, prompter, can_ask_async) = {
            let state = self.state();
            // Audited but unrestricted (the mask has every bit while auditing): allowed without
            // asking the policy.
            if !state.policy_checks.contains(request.syscall) {
                return Decided::Verdict(Verdict::Allow, DecidedBy::Policy, Duration::ZERO);
            }
            let can_ask_async = state.async_prompter.is_some() || state.prompter.is_some();
            (
                Arc::clone(&state.policy),
                state.prompter.clone(),
                can_ask_async,
            )
        };
        // No lock is held from here on: the policy and the prompter may take their time, and
        // the host may swap policies meanwhile without waiting for them.
        let decided = |verdict| Decided::Verdict(verdict, DecidedBy::Policy, Duration::ZERO);
        match policy.decide(request) {
            Decision::Allow => decided(Verdict::Allow),
            Decision::Deny(errno) => decided(Verdict::Deny(errno)),
            Decision::Trap(message) => decided(Verdict::Trap(message)),
            Decision::Ask => match answers {
                None => {
                    let (verdict, by, waited) = self.ask(request, prompter);
                    Decided::Verdict(verdict, by, waited)
                }
                Some(answers) => self.ask_async(request, answers, can_ask_async),
            },
        }
    }

    /// An Ask under the async linker: a remembered answer, an answer given earlier in this
    /// call, or the prompt to put to a person.
    fn ask_async(
        &self,
        request: &Request<'_>,
        answers: &[(Prompt, Answer)],
        can_ask: bool,
    ) -> Decided {
        if let Some(allow) = self.recall(request) {
            return Decided::Verdict(allow_or_deny(allow), DecidedBy::Remembered, Duration::ZERO);
        }
        if !can_ask {
            return Decided::Verdict(allow_or_deny(false), DecidedBy::Prompter, Duration::ZERO);
        }
        let prompt = Prompt::new(request);
        match answers.iter().find(|(asked, _)| *asked == prompt) {
            Some((_, answer)) => {
                let allow = self.settle(request, answer.clone());
                // The frontend measured and postponed the person's time already.
                Decided::Verdict(allow_or_deny(allow), DecidedBy::Prompter, Duration::ZERO)
            }
            None => Decided::Ask(prompt),
        }
    }

    fn ask(
        &self,
        request: &Request<'_>,
        prompter: Option<Arc<dyn Prompter>>,
    ) -> (Verdict, DecidedBy, Duration) {
        // Remembered answers settle an `Ask` only: a policy's allow or deny is never overridden.
        if let Some(allow) = self.recall(request) {
            return (allow_or_deny(allow), DecidedBy::Remembered, Duration::ZERO);
        }
        // No one to ask is a no (EACCES), never an allow.
        let Some(prompter) = prompter else {
            return (allow_or_deny(false), DecidedBy::Prompter, Duration::ZERO);
        };
        let prompt = Prompt::new(request);
        // Timed, so that the run's deadline is postponed by a person's thinking time.
        let asked = Instant::now();
        // A panicking prompter must not unwind through the guest's call: it means deny.
        let answer =
            catch_unwind(AssertUnwindSafe(|| prompter.ask(&prompt))).unwrap_or(Answer::DenyOnce);
        let waited = asked.elapsed();
        (
            allow_or_deny(self.settle(request, answer)),
            DecidedBy::Prompter,
            waited,
        )
    }

    /// What `answer` allows, remembering it when it says "always" or "never".
    fn settle(&self, request: &Request<'_>, answer: Answer) -> bool {
        match answer {
            Answer::AllowOnce => true,
            Answer::DenyOnce => false,
            Answer::AllowAlways(scope) => {
                self.remember(Remembered::from_answer(request, &scope, true));
                true
            }
            Answer::DenyAlways(scope) => {
                self.remember(Remembered::from_answer(request, &scope, false));
                false
            }
        }
    }

    /// A remembered answer for `request`; "never" answers are consulted before "always" ones.
    fn recall(&self, request: &Request<'_>) -> Option<bool> {
        let memory = self.memory();
        // "Never" first, so that it is not shadowed by a broader "always" given earlier.
        let denied = memory.iter().any(|r| !r.allow && r.applies(request));
        if denied {
            return Some(false);
        }
        memory
            .iter()
            .any(|r| r.allow && r.applies(request))
            .then_some(true)
    }

    fn remember(&self, entry: Remembered) {
        // One entry per "always" or "never", up to a bound: a prompter that answers by itself
        // could otherwise be made to remember one entry per path the guest invents (host
        // memory, and a longer scan on every Ask). Past it the prompter is asked again next
        // time, which is always safe.
        let mut memory = self.memory();
        if memory.len() < MAX_REMEMBERED {
            memory.push(entry);
        }
    }

    /// The installed audit sink, if any.
    pub(crate) fn audit_sink(&self) -> Option<Arc<dyn AuditSink>> {
        self.state().audit.clone()
    }

    fn update(&self, change: impl FnOnce(&mut State)) {
        // Poison is ignored: a panic under the lock (in a policy's `checks`) comes before any
        // field is assigned, and must not wedge every later call.
        let mut state = self
            .shared
            .state
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        change(&mut state);
        let mask = match state.audit {
            // While auditing every call takes the slow path to be recorded; the policy still
            // decides only those in `policy_checks`.
            Some(_) => SyscallSet::ALL.bits() | AUDIT_BIT,
            None => state.policy_checks.bits(),
        };
        // Stored under the write lock, so masks and states are published in the same order.
        self.shared.mask.store(mask, Ordering::Release);
    }

    fn state(&self) -> std::sync::RwLockReadGuard<'_, State> {
        self.shared
            .state
            .read()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn memory(&self) -> std::sync::MutexGuard<'_, Vec<Remembered>> {
        self.shared
            .memory
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

fn allow_or_deny(allow: bool) -> Verdict {
    if allow {
        Verdict::Allow
    } else {
        // A person's "no" is EACCES, as a plain `deny` rule.
        Verdict::Deny(Decision::DEFAULT_DENY)
    }
}
