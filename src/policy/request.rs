//! What a policy is asked about: a `Request`, the typed, decoded description of one import
//! call (syscall, fds, resolved guest paths, access kinds, byte counts, flags). Requests borrow
//! everything, so building one never allocates; `RequestBuf` is the owned copy audit keeps.
//! Nothing here decides anything or touches guest memory.

use super::Syscall;
use crate::abi::types::{Clockid, Fdflags, Fstflags, Lookupflags, Oflags, Rights};
use std::borrow::Cow;

bitflags::bitflags! {
    /// The kinds of access a call wants. A `path_open` may want several at once.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub struct Access: u16 {
        /// Read file contents or a symlink's target (fd_read, path_open for reading, readlink).
        const READ = 1 << 0;
        /// Write file contents (fd_write, path_open for writing, fd_allocate).
        const WRITE = 1 << 1;
        /// Create a new entry (O_CREAT, mkdir).
        const CREATE = 1 << 2;
        /// Shorten or resize a file (O_TRUNC, ftruncate).
        const TRUNCATE = 1 << 3;
        /// Remove an entry (unlink, rmdir).
        const REMOVE = 1 << 4;
        /// Rename an entry (both paths of the request).
        const RENAME = 1 << 5;
        /// Make a hard link (both paths of the request).
        const LINK = 1 << 6;
        /// Make a symbolic link at the request's path.
        const SYMLINK = 1 << 7;
        /// Change timestamps.
        const SET_TIMES = 1 << 8;
        /// List a directory.
        const READDIR = 1 << 9;
        /// Read metadata.
        const STAT = 1 << 10;
    }
}

/// Access names as policy files and audit records spell them, in bit order.
const ACCESS_NAMES: [(Access, &str); 11] = [
    (Access::READ, "read"),
    (Access::WRITE, "write"),
    (Access::CREATE, "create"),
    (Access::TRUNCATE, "truncate"),
    (Access::REMOVE, "remove"),
    (Access::RENAME, "rename"),
    (Access::LINK, "link"),
    (Access::SYMLINK, "symlink"),
    (Access::SET_TIMES, "set-times"),
    (Access::READDIR, "readdir"),
    (Access::STAT, "stat"),
];

impl Access {
    /// Parses one access name (`"write"`, `"set-times"`…).
    pub fn parse_name(name: &str) -> Option<Access> {
        ACCESS_NAMES
            .iter()
            .find(|(_, n)| *n == name)
            .map(|(a, _)| *a)
    }

    /// What a `path_open` wants, derived from all of its arguments (a write is WRITE, APPEND,
    /// or any right that changes the file's contents or size; CREAT is CREATE; TRUNC is
    /// TRUNCATE; a directory opened for listing is READDIR). An open that asks for none of
    /// these is a STAT. FD_FILESTAT_SET_TIMES is not a write here: wasi-libc asks for it on
    /// every read-only open, and `fd_filestat_set_times` is checked (SET_TIMES) when called.
    pub fn for_open(oflags: Oflags, rights: Rights, fdflags: Fdflags) -> Access {
        let writes = Rights::FD_WRITE
            .union(Rights::FD_ALLOCATE)
            .union(Rights::FD_FILESTAT_SET_SIZE);
        let mut access = Access::empty();
        access.set(Access::READ, rights.contains(Rights::FD_READ));
        access.set(
            Access::WRITE,
            rights.intersects(writes) || fdflags.contains(Fdflags::APPEND),
        );
        access.set(Access::CREATE, oflags.contains(Oflags::CREAT));
        access.set(Access::TRUNCATE, oflags.contains(Oflags::TRUNC));
        access.set(Access::READDIR, rights.contains(Rights::FD_READDIR));
        if access.is_empty() {
            Access::STAT
        } else {
            access
        }
    }

    /// The names of the kinds in this set, in bit order.
    pub fn names(self) -> impl Iterator<Item = &'static str> {
        ACCESS_NAMES
            .into_iter()
            .filter(move |(a, _)| self.contains(*a))
            .map(|(_, n)| n)
    }
}

/// A guest path as the policy sees it: the preopen it is under and the resolved absolute path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GuestPath<'a> {
    /// The guest name of the mount (preopen) the path is under, e.g. `"/data"`.
    pub mount: &'a str,
    /// The resolved guest path, mount prefix included (`"/data/out.txt"`). Rules normalise it
    /// again (see [`normalize`]) so a caller's `..` can never dodge a rule.
    pub path: &'a str,
}

/// The flag arguments of a call, kept typed so audit can print them by name. Unused ones stay
/// empty.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Flags {
    /// `path_open`'s oflags.
    pub oflags: Oflags,
    /// fdflags of `path_open`, `fd_fdstat_set_flags`, `sock_accept`.
    pub fdflags: Fdflags,
    /// Lookup flags of the `path_*` calls.
    pub lookup: Lookupflags,
    /// `*_set_times` flags.
    pub fst: Fstflags,
    /// Rights asked for (`path_open`'s base rights, `fd_fdstat_set_rights`).
    pub rights: Rights,
}

impl Flags {
    /// No flags.
    pub const NONE: Flags = Flags {
        oflags: Oflags::empty(),
        fdflags: Fdflags::empty(),
        lookup: Lookupflags::empty(),
        fst: Fstflags::empty(),
        rights: Rights::empty(),
    };
}

impl Default for Flags {
    fn default() -> Flags {
        Flags::NONE
    }
}

/// One import call, decoded. Build it with [`Request::new`] and the chained setters; it only
/// borrows, so building it is free of allocation.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct Request<'a> {
    /// The import being called.
    pub syscall: Syscall,
    /// The descriptor the call acts on (the directory for `path_*` calls).
    pub fd: Option<u32>,
    /// A second descriptor: `fd_renumber`'s target, the new directory of rename/link.
    pub fd2: Option<u32>,
    /// What the call wants to do; empty for calls without a filesystem effect.
    pub access: Access,
    /// The (first) path: the file acted on; rename/link's source; symlink's new link.
    pub path: Option<GuestPath<'a>>,
    /// The second path: rename/link's destination.
    pub path2: Option<GuestPath<'a>>,
    /// `path_symlink`'s link contents (not a path the call touches).
    pub contents: Option<&'a str>,
    /// A directory rename: `path` and `path2` stand for whole subtrees, since everything
    /// below the directory gets a new name too (see [`Request::gives_new_names`]).
    pub subtree: bool,
    /// Bytes asked for: the iovec total of reads/writes, `random_get`'s length.
    pub bytes: Option<u64>,
    /// An offset: pread/pwrite/allocate offset, readdir cookie.
    pub offset: Option<u64>,
    /// A small code: `proc_exit`'s status, `proc_raise`'s signal.
    pub code: Option<u32>,
    /// The clock of `clock_*` calls.
    pub clock: Option<Clockid>,
    /// Flag arguments.
    pub flags: Flags,
}

impl<'a> Request<'a> {
    /// A request for `syscall` with nothing else set.
    pub const fn new(syscall: Syscall) -> Request<'a> {
        Request {
            syscall,
            fd: None,
            fd2: None,
            access: Access::empty(),
            path: None,
            path2: None,
            contents: None,
            subtree: false,
            bytes: None,
            offset: None,
            code: None,
            clock: None,
            flags: Flags::NONE,
        }
    }

    /// Sets the descriptor.
    pub const fn fd(mut self, fd: u32) -> Self {
        self.fd = Some(fd);
        self
    }

    /// Sets the second descriptor.
    pub const fn fd2(mut self, fd: u32) -> Self {
        self.fd2 = Some(fd);
        self
    }

    /// Adds access kinds.
    pub const fn access(mut self, access: Access) -> Self {
        self.access = self.access.union(access);
        self
    }

    /// Sets the (first) path: the mount's guest name and the resolved guest path.
    pub const fn path(mut self, mount: &'a str, path: &'a str) -> Self {
        self.path = Some(GuestPath { mount, path });
        self
    }

    /// Sets the second path (rename/link destination).
    pub const fn path2(mut self, mount: &'a str, path: &'a str) -> Self {
        self.path2 = Some(GuestPath { mount, path });
        self
    }

    /// Sets a symlink's contents.
    pub const fn contents(mut self, contents: &'a str) -> Self {
        self.contents = Some(contents);
        self
    }

    /// Sets the byte count.
    pub const fn bytes(mut self, bytes: u64) -> Self {
        self.bytes = Some(bytes);
        self
    }

    /// Sets the offset.
    pub const fn offset(mut self, offset: u64) -> Self {
        self.offset = Some(offset);
        self
    }

    /// Sets the exit status or signal.
    pub const fn code(mut self, code: u32) -> Self {
        self.code = Some(code);
        self
    }

    /// Sets the clock.
    pub const fn clock(mut self, clock: Clockid) -> Self {
        self.clock = Some(clock);
        self
    }

    /// Sets all flag arguments at once.
    pub const fn flags(mut self, flags: Flags) -> Self {
        self.flags = flags;
        self
    }

    /// Marks `path` and `path2` as whole subtrees (a directory rename).
    pub const fn subtree(mut self, subtree: bool) -> Self {
        self.subtree = subtree;
        self
    }

    /// The paths of the request (zero, one or two).
    pub fn paths(&self) -> impl Iterator<Item = GuestPath<'a>> {
        self.path.into_iter().chain(self.path2)
    }

    /// Whether the call gives contents a new name: `path_rename` (the contents at `path` —
    /// with [`Request::subtree`], everything below it — are then reached as `path2`) and
    /// `path_link` (the file at `path` is also `path2`). A policy that protects contents by
    /// path must judge such a call as an access of every kind to every path it moves, on both
    /// sides: afterwards the same bytes answer to the other name. [`PolicyTable`] does.
    ///
    /// [`PolicyTable`]: super::PolicyTable
    pub fn gives_new_names(&self) -> bool {
        matches!(self.syscall, Syscall::PathRename | Syscall::PathLink)
    }
}

/// An owned copy of a [`Request`], whose strings are reused from call to call: copying into it
/// allocates only when a path is longer than any before.
#[derive(Debug, Clone)]
pub struct RequestBuf {
    request: Request<'static>,
    strings: [String; 5],
    present: [bool; 5],
}

impl RequestBuf {
    /// An empty buffer, holding `Request::new(syscall)`.
    pub fn new(syscall: Syscall) -> RequestBuf {
        RequestBuf {
            request: Request::new(syscall),
            strings: Default::default(),
            present: [false; 5],
        }
    }

    /// Replaces the contents with a copy of `req`.
    pub fn set(&mut self, req: &Request<'_>) {
        let texts = [
            req.path.map(|p| p.mount),
            req.path.map(|p| p.path),
            req.path2.map(|p| p.mount),
            req.path2.map(|p| p.path),
            req.contents,
        ];
        for ((text, buf), present) in texts
            .iter()
            .zip(self.strings.iter_mut())
            .zip(self.present.iter_mut())
        {
            buf.clear();
            buf.push_str(text.unwrap_or(""));
            *present = text.is_some();
        }
        self.request = Request {
            path: None,
            path2: None,
            contents: None,
            ..*req
        };
    }

    /// Resets to `Request::new(syscall)`, keeping the string capacity.
    pub fn reset(&mut self, syscall: Syscall) {
        self.request = Request::new(syscall);
        self.present = [false; 5];
    }

    /// The request, borrowing the buffer's strings.
    pub fn get(&self) -> Request<'_> {
        let [mount, path, mount2, path2, contents] = &self.strings;
        let [has_path, _, has_path2, _, has_contents] = self.present;
        Request {
            path: has_path.then(|| GuestPath { mount, path }),
            path2: has_path2.then(|| GuestPath {
                mount: mount2,
                path: path2,
            }),
            contents: has_contents.then_some(contents.as_str()),
            ..self.request
        }
    }
}

/// Lexically normalises a guest path: absolute, no empty, `.` or `..` components (`..` stops at
/// `/`), no trailing slash. A relative path is taken as relative to `/`. Borrows when the path
/// is already normal, which is the common case for paths the resolver produced.
pub fn normalize(path: &str) -> Cow<'_, str> {
    if is_normal(path) {
        return Cow::Borrowed(path);
    }
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            name => parts.push(name),
        }
    }
    let mut out = String::with_capacity(path.len() + 1);
    for part in &parts {
        out.push('/');
        out.push_str(part);
    }
    if out.is_empty() {
        out.push('/');
    }
    Cow::Owned(out)
}

/// Joins a directory's guest path and a path relative to it, then normalises the result.
/// Lexical only: callers that can follow symlinks must pass the path the resolver walked.
pub fn join(dir: &str, relative: &str) -> String {
    normalize(&format!("{dir}/{relative}")).into_owned()
}

fn is_normal(path: &str) -> bool {
    if path == "/" {
        return true;
    }
    match path.strip_prefix('/') {
        Some(rest) => rest.split('/').all(|part| !matches!(part, "" | "." | "..")),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_removes_dots_and_clamps_at_root() {
        for (input, want) in [
            ("/data/out.txt", "/data/out.txt"),
            ("/", "/"),
            ("", "/"),
            ("/data/../etc", "/etc"),
            ("/data/./x//y/", "/data/x/y"),
            ("/../../etc/passwd", "/etc/passwd"),
            ("data/x", "/data/x"),
            ("./x", "/x"),
            ("/data/..", "/"),
            ("/a/b/../../..", "/"),
            ("/data/...", "/data/..."),
        ] {
            assert_eq!(normalize(input), want, "{input:?}");
        }
        assert!(matches!(normalize("/data/x"), Cow::Borrowed(_)));
        assert_eq!(join("/data", "a/../b"), "/data/b");
        assert_eq!(join("/", "../x"), "/x");
    }

    #[test]
    fn access_names_round_trip() {
        for (access, name) in ACCESS_NAMES {
            assert_eq!(Access::parse_name(name), Some(access));
        }
        let both = Access::WRITE | Access::SET_TIMES;
        assert_eq!(both.names().collect::<Vec<_>>(), ["write", "set-times"]);
        assert_eq!(Access::parse_name("exec"), None);
    }

    #[test]
    fn open_access_counts_every_argument() {
        let none = Rights::empty();
        assert_eq!(
            Access::for_open(Oflags::TRUNC, Rights::FD_READ, Fdflags::empty()),
            Access::READ | Access::TRUNCATE
        );
        assert_eq!(
            Access::for_open(Oflags::empty(), none, Fdflags::APPEND),
            Access::WRITE
        );
        assert_eq!(
            Access::for_open(
                Oflags::CREAT,
                Rights::FD_FILESTAT_SET_SIZE,
                Fdflags::empty()
            ),
            Access::CREATE | Access::WRITE
        );
        assert_eq!(
            Access::for_open(Oflags::DIRECTORY, Rights::FD_READDIR, Fdflags::empty()),
            Access::READDIR
        );
        assert_eq!(
            Access::for_open(Oflags::empty(), none, Fdflags::empty()),
            Access::STAT
        );
    }

    #[test]
    fn request_buf_copies_and_gives_back_the_request() {
        let req = Request::new(Syscall::PathRename)
            .fd(3)
            .fd2(4)
            .access(Access::RENAME)
            .path("/data", "/data/a")
            .path2("/tmp", "/tmp/b");
        let mut buf = RequestBuf::new(Syscall::FdRead);
        buf.set(&req);
        assert_eq!(buf.get(), req);
        let short = Request::new(Syscall::RandomGet).bytes(16);
        buf.set(&short);
        assert_eq!(buf.get(), short);
        buf.reset(Syscall::FdClose);
        assert_eq!(buf.get(), Request::new(Syscall::FdClose));
    }
}
