//! `PolicyTable`, the configurable policy: an ordered list of rules (syscalls × access kinds ×
//! path patterns → decision), first match wins, then a default. It also computes, once, which
//! syscalls can get anything but Allow, so every other call skips the policy. Pure data: the
//! table neither prompts nor remembers (that is `handle.rs`).

use super::pattern::PathPattern;
use super::{Access, Decision, Policy, Request, Syscall, SyscallSet};
use std::fmt;
use std::sync::Arc;

/// What a matching rule does: a fixed decision, or hand the request to another policy.
#[derive(Clone)]
pub enum Action {
    /// Answer this decision.
    Decide(Decision),
    /// Ask this policy (its answer is final, even `Allow`).
    Delegate(Arc<dyn Policy>),
}

impl fmt::Debug for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Action::Decide(d) => f.debug_tuple("Decide").field(d).finish(),
            Action::Delegate(_) => f.write_str("Delegate(..)"),
        }
    }
}

/// One rule. It matches a request when the syscall is in `syscalls`, the request wants any of
/// `access` (if set), and the request's path — or, for rename/link, either path — matches any
/// of `paths` (if set). A rule with paths never matches a request without one.
#[derive(Debug, Clone)]
pub struct Rule {
    /// Which syscalls the rule covers.
    pub syscalls: SyscallSet,
    /// Access kinds, any of which makes the rule match; `None` matches every request.
    pub access: Option<Access>,
    /// Path patterns, any of which makes the rule match; empty matches every request.
    pub paths: Vec<PathPattern>,
    /// What happens on a match.
    pub action: Action,
}

impl Rule {
    /// A rule covering every call, answering `decision`; narrow it with the setters.
    pub fn new(decision: Decision) -> Rule {
        Rule {
            syscalls: SyscallSet::ALL,
            access: None,
            paths: Vec::new(),
            action: Action::Decide(decision),
        }
    }

    /// A rule covering every call that hands requests to `policy`.
    pub fn delegate(policy: impl Policy + 'static) -> Rule {
        Rule {
            action: Action::Delegate(Arc::new(policy)),
            ..Rule::new(Decision::Allow)
        }
    }

    /// Restricts the rule to these syscalls.
    pub fn syscalls(mut self, syscalls: impl Into<SyscallSet>) -> Rule {
        self.syscalls = syscalls.into();
        self
    }

    /// Restricts the rule to requests wanting any of `access`.
    pub fn access(mut self, access: Access) -> Rule {
        self.access = Some(access);
        self
    }

    /// Adds a path pattern (the rule then needs a matching path).
    pub fn path(mut self, pattern: PathPattern) -> Rule {
        self.paths.push(pattern);
        self
    }

    /// Whether the rule covers `request`.
    pub fn matches(&self, request: &Request<'_>) -> bool {
        if !self.syscalls.contains(request.syscall) {
            return false;
        }
        if let Some(access) = self.access
            && !request.access.intersects(access)
        {
            return false;
        }
        self.paths.is_empty()
            || request
                .paths()
                .any(|p| self.paths.iter().any(|pat| pat.matches(p.path)))
    }

    /// Whether the rule matches every request of its syscalls (no access or path filter).
    fn unconditional(&self) -> bool {
        self.access.is_none() && self.paths.is_empty()
    }

    /// The syscalls for which this rule may answer something other than Allow.
    fn may_restrict(&self) -> SyscallSet {
        let restricted = match &self.action {
            Action::Decide(Decision::Allow) => SyscallSet::EMPTY,
            Action::Decide(_) => SyscallSet::ALL,
            Action::Delegate(policy) => policy.checks(),
        };
        restricted.intersection(self.syscalls)
    }
}

/// An ordered rule list and a default. The first rule that matches decides; when none does,
/// the default does.
#[derive(Debug, Clone)]
pub struct PolicyTable {
    rules: Vec<Rule>,
    default: Decision,
    checks: SyscallSet,
}

impl PolicyTable {
    /// A table with no rules and this default.
    pub fn new(default: Decision) -> PolicyTable {
        let mut table = PolicyTable {
            rules: Vec::new(),
            default,
            checks: SyscallSet::EMPTY,
        };
        table.checks = table.compute_checks();
        table
    }

    /// Allows everything until rules say otherwise; checks nothing while it has no rules.
    pub fn allow_all() -> PolicyTable {
        PolicyTable::new(Decision::Allow)
    }

    /// Denies everything with EACCES until rules say otherwise.
    pub fn deny_all() -> PolicyTable {
        PolicyTable::new(Decision::deny())
    }

    /// Appends a rule (after every earlier one: first match wins).
    pub fn rule(mut self, rule: Rule) -> PolicyTable {
        self.rules.push(rule);
        self.checks = self.compute_checks();
        self
    }

    /// Appends a rule that sends every `syscall` request to `policy` (a [`Decision`] is a
    /// policy too: `.on(Syscall::RandomGet, Decision::deny())`).
    pub fn on(self, syscall: Syscall, policy: impl Policy + 'static) -> PolicyTable {
        self.rule(Rule::delegate(policy).syscalls(syscall))
    }

    /// The rules, in order.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// The decision when no rule matches.
    pub fn default_decision(&self) -> &Decision {
        &self.default
    }

    /// Per syscall, walks the rules as a request would: it needs a check if a rule that may
    /// restrict comes before any unconditional Allow, or if the default restricts.
    fn compute_checks(&self) -> SyscallSet {
        let mut checks = SyscallSet::EMPTY;
        for syscall in Syscall::ALL {
            let mut needs = self.default != Decision::Allow;
            for rule in self.rules.iter().filter(|r| r.syscalls.contains(syscall)) {
                if rule.may_restrict().contains(syscall) {
                    needs = true;
                    break;
                }
                if rule.unconditional() {
                    // Every request of this syscall stops here, with Allow.
                    needs = false;
                    break;
                }
            }
            if needs {
                checks = checks.with(syscall);
            }
        }
        checks
    }
}

impl Default for PolicyTable {
    fn default() -> PolicyTable {
        PolicyTable::allow_all()
    }
}

impl Policy for PolicyTable {
    fn decide(&self, request: &Request<'_>) -> Decision {
        for rule in &self.rules {
            if rule.matches(request) {
                return match &rule.action {
                    Action::Decide(decision) => decision.clone(),
                    Action::Delegate(policy) => policy.decide(request),
                };
            }
        }
        self.default.clone()
    }

    fn checks(&self) -> SyscallSet {
        self.checks
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::abi::types::Errno;

    fn open<'a>(path: &'a str, access: Access) -> Request<'a> {
        Request::new(Syscall::PathOpen)
            .fd(3)
            .path("/data", path)
            .access(access)
    }

    fn example() -> PolicyTable {
        PolicyTable::allow_all()
            .rule(
                Rule::new(Decision::Ask)
                    .syscalls(Syscall::PathOpen)
                    .access(Access::WRITE | Access::CREATE | Access::TRUNCATE)
                    .path(PathPattern::subtree("/data")),
            )
            .on(Syscall::RandomGet, Decision::Deny(Errno::Notcapable))
    }

    #[test]
    fn the_issue_example_decides_as_described() {
        let t = example();
        assert_eq!(
            t.decide(&open("/data/out.txt", Access::WRITE)),
            Decision::Ask
        );
        assert_eq!(
            t.decide(&open("/data/out.txt", Access::READ | Access::CREATE)),
            Decision::Ask
        );
        assert_eq!(
            t.decide(&open("/data/out.txt", Access::READ)),
            Decision::Allow
        );
        assert_eq!(t.decide(&open("/data2/x", Access::WRITE)), Decision::Allow);
        assert_eq!(
            t.decide(&open("/data/../etc/x", Access::WRITE)),
            Decision::Allow
        );
        assert_eq!(
            t.decide(&Request::new(Syscall::RandomGet).bytes(8)),
            Decision::Deny(Errno::Notcapable)
        );
        assert_eq!(
            t.decide(&Request::new(Syscall::FdWrite).fd(1)),
            Decision::Allow
        );
        assert_eq!(
            t.checks(),
            SyscallSet::one(Syscall::PathOpen).with(Syscall::RandomGet)
        );
    }

    #[test]
    fn first_match_wins() {
        let t = PolicyTable::deny_all()
            .rule(Rule::new(Decision::Allow).path(PathPattern::exact("/data/public.txt")))
            .rule(Rule::new(Decision::trap("no secrets")).path(PathPattern::subtree("/data")))
            .rule(Rule::new(Decision::Allow).path(PathPattern::subtree("/")));
        assert_eq!(
            t.decide(&open("/data/public.txt", Access::READ)),
            Decision::Allow
        );
        assert_eq!(
            t.decide(&open("/data/secret", Access::READ)),
            Decision::trap("no secrets")
        );
        assert_eq!(t.decide(&open("/tmp/x", Access::READ)), Decision::Allow);
        // No path: only the default can match.
        assert_eq!(t.decide(&Request::new(Syscall::FdWrite)), Decision::deny());
    }

    #[test]
    fn two_path_requests_match_on_either_side() {
        let t = PolicyTable::allow_all().rule(
            Rule::new(Decision::deny())
                .access(Access::RENAME | Access::LINK)
                .path(PathPattern::subtree("/etc")),
        );
        let into_etc = Request::new(Syscall::PathRename)
            .access(Access::RENAME)
            .path("/", "/tmp/x")
            .path2("/", "/etc/passwd");
        let out_of_etc = Request::new(Syscall::PathLink)
            .access(Access::LINK)
            .path("/", "/etc/shadow")
            .path2("/", "/tmp/copy");
        assert_eq!(t.decide(&into_etc), Decision::deny());
        assert_eq!(t.decide(&out_of_etc), Decision::deny());
    }

    #[test]
    fn access_kinds_filter_and_empty_access_never_matches_a_filter() {
        let t = PolicyTable::allow_all().rule(Rule::new(Decision::deny()).access(Access::REMOVE));
        let unlink = Request::new(Syscall::PathUnlinkFile)
            .access(Access::REMOVE)
            .path("/", "/x");
        assert_eq!(t.decide(&unlink), Decision::deny());
        assert_eq!(t.decide(&open("/x", Access::WRITE)), Decision::Allow);
        assert_eq!(t.decide(&Request::new(Syscall::FdClose)), Decision::Allow);
    }

    #[test]
    fn checks_stop_at_an_unconditional_allow() {
        let t = PolicyTable::deny_all()
            .rule(Rule::new(Decision::Allow).syscalls(SyscallSet::group("fd").unwrap()))
            .rule(Rule::new(Decision::deny()).syscalls(Syscall::FdWrite));
        assert!(!t.checks().contains(Syscall::FdWrite));
        assert!(t.checks().contains(Syscall::PathOpen));
        assert_eq!(PolicyTable::allow_all().checks(), SyscallSet::EMPTY);
        let conditional = PolicyTable::allow_all().rule(
            Rule::new(Decision::Allow)
                .syscalls(Syscall::FdRead)
                .access(Access::READ),
        );
        assert_eq!(conditional.checks(), SyscallSet::EMPTY);
    }
}
