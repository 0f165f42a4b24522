//! `AskFirst`, the policy behind the CLI's `--ask`: another policy, except that whatever it
//! would allow under a guarded path (a host mount, say) must first be confirmed — its Allow
//! becomes Ask. Deny and Trap stay as they are. Pure decision logic, like `table.rs`.

use super::pattern::PathPattern;
use super::{Decision, Policy, Request, Syscall, SyscallSet};

/// Wraps a policy so that its `Allow`s on guarded paths become `Ask`.
///
/// Which calls are asked: every `path_*` call (path_open asks once for everything the new
/// descriptor may do — reads and writes through it are then not asked again, as Deno checks at
/// open), and the descriptor calls that act on a directory or file without an open having been
/// confirmed: `fd_readdir` (listing a preopen), `fd_filestat_set_size` and
/// `fd_filestat_set_times`.
pub struct AskFirst<P> {
    inner: P,
    guarded: Vec<PathPattern>,
    syscalls: SyscallSet,
}

impl<P: Policy> AskFirst<P> {
    /// Wraps `inner`; nothing is guarded until [`AskFirst::guard`] is called.
    pub fn new(inner: P) -> AskFirst<P> {
        let syscalls = SyscallSet::group("path")
            .unwrap_or(SyscallSet::EMPTY)
            .with(Syscall::FdReaddir)
            .with(Syscall::FdFilestatSetSize)
            .with(Syscall::FdFilestatSetTimes);
        AskFirst {
            inner,
            guarded: Vec::new(),
            syscalls,
        }
    }

    /// Guards `dir` and everything under it (e.g. a host mount's guest path).
    pub fn guard(mut self, dir: &str) -> AskFirst<P> {
        self.guarded.push(PathPattern::subtree(dir));
        self
    }

    /// Whether `request` touches a guarded path with a call that asks.
    fn guarded(&self, request: &Request<'_>) -> bool {
        self.syscalls.contains(request.syscall)
            && request.paths().any(|p| {
                self.guarded
                    .iter()
                    .any(|g| g.overlaps(p.path, request.subtree))
            })
    }
}

impl<P: Policy> Policy for AskFirst<P> {
    fn decide(&self, request: &Request<'_>) -> Decision {
        match self.inner.decide(request) {
            Decision::Allow if self.guarded(request) => Decision::Ask,
            other => other,
        }
    }

    fn checks(&self) -> SyscallSet {
        let asked = if self.guarded.is_empty() {
            SyscallSet::EMPTY
        } else {
            self.syscalls
        };
        self.inner.checks().union(asked)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::abi::types::Errno;
    use crate::policy::{Access, PolicyTable};

    #[test]
    fn allows_under_guarded_paths_become_asks() {
        let table = PolicyTable::allow_all().rule(
            crate::policy::Rule::new(Decision::Deny(Errno::Perm))
                .syscalls(Syscall::PathOpen)
                .path(PathPattern::subtree("/data/secret")),
        );
        let ask = AskFirst::new(table).guard("/data");
        let open = |path| {
            Request::new(Syscall::PathOpen)
                .path("/data", path)
                .access(Access::READ)
        };
        assert_eq!(ask.decide(&open("/data/x")), Decision::Ask);
        assert_eq!(
            ask.decide(&open("/data/secret/x")),
            Decision::Deny(Errno::Perm)
        );
        assert_eq!(ask.decide(&open("/tmp/x")), Decision::Allow);
        // Reads through an open descriptor were confirmed at open.
        let read = Request::new(Syscall::FdRead)
            .path("/data", "/data/x")
            .access(Access::READ);
        assert_eq!(ask.decide(&read), Decision::Allow);
        assert!(ask.checks().contains(Syscall::PathOpen));
        assert!(!ask.checks().contains(Syscall::FdRead));
        assert_eq!(
            AskFirst::new(PolicyTable::allow_all()).checks(),
            SyscallSet::EMPTY
        );
    }
}
