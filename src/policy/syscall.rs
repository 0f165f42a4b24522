//! The 46 preview1 imports as a plain enum, and sets of them as a 64-bit mask. Policies,
//! policy files and audit records all name syscalls through this one list; the mask is what
//! lets the fast path decide "no check needed" with a single bit test.

use std::fmt;
use std::str::FromStr;

/// Turns the syscall table (`crate::syscalls`) into the enum, in the table's (witx) order.
macro_rules! define_syscalls {
    ($($name:ident => $variant:ident, $group:ident, $kind:ident, $raw:tt, $typed:tt -> $ret:ty;)*) => {
        /// One `wasi_snapshot_preview1` import, in the witx order.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[allow(missing_docs)]
        pub enum Syscall {
            // Undocumented one by one (hence the `allow`): each is its witx name, which the spec
            // documents.
            $($variant,)*
        }

        impl Syscall {
            /// Every syscall, in the witx order (`Syscall::ALL[s.index()] == s`).
            pub const ALL: [Syscall; 46] = [$(Syscall::$variant,)*];

            /// The witx name, e.g. `"path_open"`.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Syscall::$variant => stringify!($name),)*
                }
            }
        }
    };
}

crate::syscalls::for_each_syscall!(define_syscalls);

impl Syscall {
    /// The position in [`Syscall::ALL`] (0..46), also the bit in a [`SyscallSet`].
    pub const fn index(self) -> usize {
        // The discriminant: the variants are declared in the table's order without explicit
        // values, so it is the position.
        self as usize
    }
}

impl fmt::Display for Syscall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error of parsing an unknown syscall name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownSyscall(pub String);

impl fmt::Display for UnknownSyscall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown syscall {:?}", self.0)
    }
}

impl std::error::Error for UnknownSyscall {}

impl FromStr for Syscall {
    type Err = UnknownSyscall;

    /// Parses a witx name (`"path_open"`).
    fn from_str(s: &str) -> Result<Syscall, UnknownSyscall> {
        // A linear search over 46 names: only policy files and the CLI parse names, never a call.
        Syscall::ALL
            .iter()
            .copied()
            .find(|sys| sys.as_str() == s)
            .ok_or_else(|| UnknownSyscall(s.to_owned()))
    }
}

/// A set of syscalls, one bit each. `Copy`, and cheap enough to test on every call: 46 bits
/// in one word, leaving room above them for the gate's audit bit in the same mask.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct SyscallSet(u64);

impl SyscallSet {
    /// No syscall.
    pub const EMPTY: SyscallSet = SyscallSet(0);
    /// All 46 syscalls: exactly their bits, so a set never carries one that names no syscall.
    pub const ALL: SyscallSet = SyscallSet((1u64 << 46) - 1);

    /// The raw mask: bit `s.index()` is set for each member.
    pub const fn bits(self) -> u64 {
        self.0
    }

    /// The set of the given raw bits (bits past the 46 syscalls are dropped).
    pub const fn from_bits_truncate(bits: u64) -> SyscallSet {
        // Truncating, not refusing: the gate's mask carries the audit bit too, and is read back
        // through this (`PolicyHandle`'s `Debug`).
        SyscallSet(bits & SyscallSet::ALL.0)
    }

    /// The set holding only `s`.
    pub const fn one(s: Syscall) -> SyscallSet {
        SyscallSet(1u64 << s.index())
    }

    /// Whether `s` is a member.
    pub const fn contains(self, s: Syscall) -> bool {
        self.0 & (1u64 << s.index()) != 0
    }

    /// This set plus `s`.
    pub const fn with(self, s: Syscall) -> SyscallSet {
        SyscallSet(self.0 | 1u64 << s.index())
    }

    /// The union of two sets.
    pub const fn union(self, other: SyscallSet) -> SyscallSet {
        SyscallSet(self.0 | other.0)
    }

    /// The intersection of two sets.
    pub const fn intersection(self, other: SyscallSet) -> SyscallSet {
        SyscallSet(self.0 & other.0)
    }

    /// Whether the set is empty.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The members, in witx order.
    pub fn iter(self) -> impl Iterator<Item = Syscall> {
        Syscall::ALL.into_iter().filter(move |s| self.contains(*s))
    }

    /// A named group, as policy files spell it: `"*"` (every syscall), `"args-env"`, `"clock"`,
    /// `"fd"` (every `fd_*`), `"path"` (every `path_*`), `"fs"` (fd + path), `"fs-read"`,
    /// `"fs-write"`, `"poll"`, `"proc"`, `"random"`, `"sock"`. `None` for anything else.
    pub fn group(name: &str) -> Option<SyscallSet> {
        use Syscall::*;
        let set = |list: &[Syscall]| list.iter().fold(SyscallSet::EMPTY, |acc, s| acc.with(*s));
        let prefixed = |prefix: &str| {
            Syscall::ALL
                .iter()
                .filter(|s| s.as_str().starts_with(prefix))
                .fold(SyscallSet::EMPTY, |acc, s| acc.with(*s))
        };
        Some(match name {
            "*" => SyscallSet::ALL,
            "args-env" => set(&[ArgsGet, ArgsSizesGet, EnvironGet, EnvironSizesGet]),
            "clock" => set(&[ClockResGet, ClockTimeGet]),
            // By prefix, from the table itself: a new `fd_*` call joins the group with no edit
            // here.
            "fd" => prefixed("fd_"),
            "path" => prefixed("path_"),
            "fs" => prefixed("fd_").union(prefixed("path_")),
            // The calls that can reveal file contents or metadata.
            "fs-read" => set(&[
                FdRead,
                FdPread,
                FdReaddir,
                FdFilestatGet,
                PathFilestatGet,
                PathOpen,
                PathReadlink,
            ]),
            // The calls that can change a filesystem (path_open through CREAT/TRUNC/write).
            // path_open is in both groups: whether an open reads or writes is its access kinds'
            // to say, call by call.
            "fs-write" => set(&[
                FdWrite,
                FdPwrite,
                FdAllocate,
                FdFilestatSetSize,
                FdFilestatSetTimes,
                PathCreateDirectory,
                PathFilestatSetTimes,
                PathLink,
                PathOpen,
                PathRemoveDirectory,
                PathRename,
                PathSymlink,
                PathUnlinkFile,
            ]),
            "poll" => set(&[PollOneoff]),
            "proc" => set(&[ProcExit, ProcRaise, SchedYield]),
            "random" => set(&[RandomGet]),
            "sock" => prefixed("sock_"),
            _ => return None,
        })
    }

    /// A syscall name or a group name (see [`SyscallSet::group`]).
    pub fn parse_name(name: &str) -> Option<SyscallSet> {
        match name.parse::<Syscall>() {
            // No group is named like a syscall, so trying names first decides nothing.
            Ok(s) => Some(SyscallSet::one(s)),
            Err(_) => SyscallSet::group(name),
        }
    }
}

impl From<Syscall> for SyscallSet {
    fn from(s: Syscall) -> SyscallSet {
        SyscallSet::one(s)
    }
}

impl FromIterator<Syscall> for SyscallSet {
    fn from_iter<I: IntoIterator<Item = Syscall>>(iter: I) -> SyscallSet {
        iter.into_iter().fold(SyscallSet::EMPTY, SyscallSet::with)
    }
}

impl fmt::Debug for SyscallSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set()
            .entries(self.iter().map(Syscall::as_str))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_indices_are_positions() {
        assert_eq!(Syscall::ALL.len(), 46);
        for (i, s) in Syscall::ALL.iter().enumerate() {
            assert_eq!(s.index(), i);
            assert_eq!(s.as_str().parse::<Syscall>(), Ok(*s));
        }
        assert!("path_opne".parse::<Syscall>().is_err());
    }

    #[test]
    fn syscall_names_match_the_witx() {
        let witx = include_str!("../../witx/wasi_snapshot_preview1.witx");
        let mut names = Vec::new();
        for line in witx.lines() {
            if let Some(rest) = line.trim().strip_prefix("(@interface func (export \"") {
                names.extend(rest.split('"').next());
            }
        }
        let ours: Vec<&str> = Syscall::ALL.iter().map(|s| s.as_str()).collect();
        assert_eq!(names, ours);
    }

    #[test]
    fn groups_are_what_they_say() {
        let fs = SyscallSet::group("fs").unwrap();
        assert!(fs.contains(Syscall::FdWrite) && fs.contains(Syscall::PathOpen));
        assert!(!fs.contains(Syscall::RandomGet));
        assert_eq!(SyscallSet::group("*"), Some(SyscallSet::ALL));
        assert_eq!(SyscallSet::ALL.iter().count(), 46);
        assert_eq!(SyscallSet::group("sock").unwrap().iter().count(), 4);
        assert!(SyscallSet::parse_name("fs-writ").is_none());
        let set: SyscallSet = [Syscall::FdRead, Syscall::FdRead].into_iter().collect();
        assert_eq!(set, SyscallSet::one(Syscall::FdRead));
    }
}
