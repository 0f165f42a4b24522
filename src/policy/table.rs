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
#[non_exhaustive]
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

    /// Whether some call that carries a path at or (with `subtree`) below `path` could match
    /// this rule — whatever the call, whatever it wants: the question a rename or link that
    /// moves `path` asks of every rule (see [`PolicyTable::decide`]).
    fn may_match_below(&self, path: &str, subtree: bool) -> bool {
        !self.syscalls.intersection(path_syscalls()).is_empty()
            && (self.paths.is_empty() || self.paths.iter().any(|p| p.overlaps(path, subtree)))
    }

    /// Whether every call that carries a path at or (with `subtree`) below `path` matches
    /// this rule: it has no access filter, covers every call with a path, and a pattern
    /// covers the whole subtree.
    fn matches_all_below(&self, path: &str, subtree: bool) -> bool {
        self.access.is_none()
            && self.syscalls.intersection(path_syscalls()) == path_syscalls()
            && (self.paths.is_empty() || self.paths.iter().any(|p| p.covers(path, subtree)))
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

/// The syscalls whose requests can carry a path: every `fd_*` and `path_*` call.
fn path_syscalls() -> SyscallSet {
    SyscallSet::group("fs").unwrap_or(SyscallSet::ALL)
}

/// How strict a decision is, for combining two: trap, then deny, then ask, then allow.
fn severity(decision: &Decision) -> u8 {
    match decision {
        Decision::Allow => 0,
        Decision::Ask => 1,
        Decision::Deny(_) => 2,
        Decision::Trap(_) => 3,
    }
}

/// The stricter of two decisions (the first on a tie).
fn stricter(a: Decision, b: Decision) -> Decision {
    if severity(&b) > severity(&a) { b } else { a }
}

/// An ordered rule list and a default. The first rule that matches decides; when none does,
/// the default does.
///
/// A rename or link gives contents a new name ([`Request::gives_new_names`]), so it is also
/// judged by what it moves: for each side (the source and the destination; with
/// [`Request::subtree`], each whole subtree) the rules are walked in order as if every call
/// on every path of that side were asked at once, ignoring their access and syscall filters.
/// The first rule that could match any of them and does not allow decides; a rule that allows
/// *all* of them (no access filter, every call with a path, a pattern covering the side) ends
/// the walk with Allow; otherwise the default decides. The call gets the strictest of these
/// answers and its own. This is an over-approximation by pattern overlap — the tree is never
/// walked — so a rename may be refused although no protected name exists below it yet.
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

    /// The first-match decision for `request`, as if it were any call on any path at or below
    /// `path` (a side of a rename or link).
    fn decide_moved(&self, request: &Request<'_>, path: &str, subtree: bool) -> Decision {
        for rule in &self.rules {
            if !rule.may_match_below(path, subtree) {
                continue;
            }
            match &rule.action {
                Action::Decide(Decision::Allow) => {}
                Action::Decide(decision) => return decision.clone(),
                // The delegate sees the rename itself: it is the one to judge it.
                Action::Delegate(policy) => match policy.decide(request) {
                    Decision::Allow => {}
                    decision => return decision,
                },
            }
            if rule.matches_all_below(path, subtree) {
                return Decision::Allow;
            }
        }
        self.default.clone()
    }

    /// The first matching rule's decision, or the default.
    fn first_match(&self, request: &Request<'_>) -> Decision {
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

    /// Per syscall, walks the rules as a request would: it needs a check if a rule that may
    /// restrict comes before any unconditional Allow, or if the default restricts. Renames
    /// and links also need one when any rule may restrict any call with a path, since they
    /// are judged by every call on what they move.
    fn compute_checks(&self) -> SyscallSet {
        let mut checks = SyscallSet::EMPTY;
        let restricts_paths = self.default != Decision::Allow
            || self
                .rules
                .iter()
                .any(|r| !r.may_restrict().intersection(path_syscalls()).is_empty());
        if restricts_paths {
            checks = checks.with(Syscall::PathRename).with(Syscall::PathLink);
        }
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
        let mut decision = self.first_match(request);
        if request.gives_new_names() {
            for side in request.paths() {
                let moved = self.decide_moved(request, side.path, request.subtree);
                decision = stricter(decision, moved);
            }
        }
        decision
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
        // Renames and links are checked too: they could move what the path_open rule guards.
        let checked = SyscallSet::one(Syscall::PathOpen)
            .with(Syscall::RandomGet)
            .with(Syscall::PathRename)
            .with(Syscall::PathLink);
        assert_eq!(t.checks(), checked);
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

    fn rename<'a>(from: &'a str, to: &'a str, subtree: bool) -> Request<'a> {
        Request::new(Syscall::PathRename)
            .access(Access::RENAME)
            .path("/", from)
            .path2("/", to)
            .subtree(subtree)
    }

    #[test]
    fn renames_are_judged_by_everything_they_move_whatever_the_filters() {
        // A rule on reads by path_open alone still protects the subtree from being renamed.
        let t = PolicyTable::allow_all().rule(
            Rule::new(Decision::trap("secret"))
                .syscalls(Syscall::PathOpen)
                .access(Access::READ)
                .path(PathPattern::subtree("/a/secret")),
        );
        assert!(t.checks().contains(Syscall::PathRename));
        assert!(t.checks().contains(Syscall::PathLink));
        let trap = Decision::trap("secret");
        assert_eq!(t.decide(&rename("/a", "/b", true)), trap);
        assert_eq!(t.decide(&rename("/a/secret/f", "/b", false)), trap);
        assert_eq!(t.decide(&rename("/b", "/a/secret", true)), trap);
        assert_eq!(t.decide(&rename("/b", "/a", true)), trap);
        assert_eq!(t.decide(&rename("/b", "/a", false)), Decision::Allow);
        assert_eq!(t.decide(&rename("/a/pub", "/c", true)), Decision::Allow);
        let link = Request::new(Syscall::PathLink)
            .access(Access::LINK)
            .path("/", "/a/secret/f")
            .path2("/", "/pub/f");
        assert_eq!(t.decide(&link), trap);
        // The moved sides get the strictest answer of all: a deny on one side, a trap on the
        // other.
        let both = t
            .clone()
            .rule(Rule::new(Decision::deny()).path(PathPattern::subtree("/z")));
        assert_eq!(both.decide(&rename("/z/x", "/a/secret/y", false)), trap);
        // Calls that give nothing a new name are judged as before.
        let unlink = Request::new(Syscall::PathUnlinkFile)
            .access(Access::REMOVE)
            .path("/", "/a/secret/f");
        assert_eq!(t.decide(&unlink), Decision::Allow);
    }

    #[test]
    fn an_allow_covering_a_moved_side_ends_its_walk() {
        let t = PolicyTable::deny_all()
            .rule(Rule::new(Decision::Allow).path(PathPattern::subtree("/pub")))
            .rule(
                Rule::new(Decision::Allow)
                    .access(Access::READ)
                    .path(PathPattern::subtree("/ro")),
            );
        assert_eq!(t.decide(&rename("/pub/a", "/pub/b", true)), Decision::Allow);
        assert_eq!(t.decide(&rename("/pub", "/pub2", true)), Decision::deny());
        // A conditional allow covers only some calls: the default decides the rest.
        assert_eq!(
            t.decide(&rename("/ro/a", "/pub/a", false)),
            Decision::deny()
        );
        // Rules about other syscalls are not about contents.
        let random = PolicyTable::allow_all().on(Syscall::RandomGet, Decision::deny());
        assert!(!random.checks().contains(Syscall::PathRename));
        assert_eq!(random.decide(&rename("/a", "/b", true)), Decision::Allow);
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
