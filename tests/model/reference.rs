//! The reference model: a POSIX-ish filesystem and descriptor table written for clarity, not
//! speed. Inodes in a map, names in sorted maps, one obvious resolver. Each op answers what
//! preview1 under wasi-warden must answer (errno precedence as the syscall layer documents it),
//! so a model-based test can compare results, the final tree, usage and the fd count.
#![allow(dead_code)]

#[path = "calls.rs"]
mod calls;

use super::ops::{RightsSel, TimeSel};
use super::outcome::Stat;
use std::collections::BTreeMap;
use wasi_warden::types::{Errno, Rights};
use wasi_warden::vfs::TreeEntry;

type Ino = u64;
const ROOT: Ino = 1;
const MAX_EXPANSIONS: u32 = 40;

enum Kind {
    Dir(BTreeMap<String, Ino>),
    File(Vec<u8>),
    Symlink(String),
}

struct Inode {
    kind: Kind,
    /// Names pointing here (a directory: 1 while linked, 0 once removed).
    names: u64,
    /// The parent of a directory (for subtree checks).
    parent: Ino,
    /// The mtime, when the model knows it exactly (set by set_times).
    mtim: Option<u64>,
    /// A directory of the overlay's lower tree (cannot be renamed: EXDEV).
    lower_dir: bool,
}

#[derive(Clone, Copy)]
enum DescKind {
    Stdio,
    Dir(Ino),
    File { ino: Ino, pos: u64 },
}

#[derive(Clone, Copy)]
struct Desc {
    kind: DescKind,
    base: Rights,
    inheriting: Rights,
    append: bool,
}

/// Rights a preopen holds and passes on (wasi-warden's `rights.rs`, restated).
fn dir_base() -> Rights {
    Rights::PATH_CREATE_DIRECTORY
        | Rights::PATH_FILESTAT_SET_SIZE
        | Rights::PATH_CREATE_FILE
        | Rights::PATH_LINK_SOURCE
        | Rights::PATH_LINK_TARGET
        | Rights::PATH_OPEN
        | Rights::FD_READDIR
        | Rights::PATH_READLINK
        | Rights::PATH_RENAME_SOURCE
        | Rights::PATH_RENAME_TARGET
        | Rights::PATH_SYMLINK
        | Rights::PATH_REMOVE_DIRECTORY
        | Rights::PATH_UNLINK_FILE
        | Rights::PATH_FILESTAT_GET
        | Rights::PATH_FILESTAT_SET_TIMES
        | Rights::FD_FILESTAT_GET
        | Rights::FD_FILESTAT_SET_TIMES
}

fn file_all() -> Rights {
    Rights::FD_DATASYNC
        | Rights::FD_READ
        | Rights::FD_SEEK
        | Rights::FD_FDSTAT_SET_FLAGS
        | Rights::FD_SYNC
        | Rights::FD_TELL
        | Rights::FD_WRITE
        | Rights::FD_ADVISE
        | Rights::FD_ALLOCATE
        | Rights::FD_FILESTAT_GET
        | Rights::FD_FILESTAT_SET_SIZE
        | Rights::FD_FILESTAT_SET_TIMES
        | Rights::POLL_FD_READWRITE
}

/// The rights a preset asks for.
pub fn rights_of(sel: RightsSel) -> Rights {
    match sel {
        RightsSel::All => Rights::all(),
        RightsSel::Read => {
            Rights::FD_READ
                | Rights::FD_SEEK
                | Rights::FD_TELL
                | Rights::FD_FILESTAT_GET
                | Rights::FD_READDIR
                | Rights::PATH_OPEN
        }
        RightsSel::Write => {
            Rights::FD_WRITE
                | Rights::FD_SEEK
                | Rights::FD_TELL
                | Rights::FD_FILESTAT_SET_SIZE
                | Rights::FD_FILESTAT_SET_TIMES
        }
        RightsSel::ReadWrite => Rights::FD_READ | Rights::FD_WRITE,
        RightsSel::None => Rights::empty(),
        RightsSel::Dir => Rights::all().difference(Rights::FD_WRITE),
    }
}

/// `Descriptor::require`'s errno for a missing right: "not open for reading/writing" is
/// EBADF, "not open for writing" to ftruncate is EINVAL, anything else ENOTCAPABLE.
fn require(d: &Desc, needed: Rights) -> Result<(), Errno> {
    let missing = needed.difference(d.base);
    if missing.is_empty() {
        Ok(())
    } else if missing.intersects(Rights::FD_READ | Rights::FD_WRITE) {
        Err(Errno::Badf)
    } else if missing.contains(Rights::FD_FILESTAT_SET_SIZE) {
        Err(Errno::Inval)
    } else {
        Err(Errno::Notcapable)
    }
}

/// What a resolved path's final step is.
enum Last {
    /// The path names the directory itself (`.`, `a/..`).
    Dir,
    /// A name in the directory, and what it is (unfollowed), if it exists.
    Entry(String, Option<Ino>),
}

struct Resolved {
    dir: Ino,
    last: Last,
    trailing: bool,
}

#[derive(Clone, Copy, PartialEq)]
enum Follow {
    Yes,
    No,
    Never,
}

/// The model filesystem plus descriptor table.
pub struct Model {
    inodes: BTreeMap<Ino, Inode>,
    next: Ino,
    fds: BTreeMap<u32, Desc>,
    /// Model the overlay backend's one deliberate difference (lower dirs cannot be renamed).
    overlay: bool,
}

type R<T> = Result<T, Errno>;

impl Model {
    /// A model holding `seed` (in snapshot format) below the root, mounted at fd 3.
    pub fn new(seed: &[(String, TreeEntry)], overlay: bool) -> Model {
        let mut m = Model {
            inodes: BTreeMap::new(),
            next: ROOT + 1,
            fds: BTreeMap::new(),
            overlay,
        };
        m.inodes.insert(ROOT, Inode::dir(ROOT));
        for (path, entry) in seed {
            let (parent, name) = match path.rsplit_once('/') {
                Some((p, n)) => (m.seed_lookup(p), n),
                None => (ROOT, path.as_str()),
            };
            let kind = match entry {
                TreeEntry::Dir => Kind::Dir(BTreeMap::new()),
                TreeEntry::File(b) => Kind::File(b.clone()),
                TreeEntry::Symlink(t) => Kind::Symlink(t.clone()),
            };
            let ino = m.add(parent, name, kind);
            m.node_mut(ino).lower_dir = overlay;
        }
        for fd in 0..3 {
            m.fds.insert(fd, Desc::stdio());
        }
        m.fds.insert(
            3,
            Desc {
                kind: DescKind::Dir(ROOT),
                base: dir_base(),
                inheriting: dir_base() | file_all(),
                append: false,
            },
        );
        m
    }

    fn seed_lookup(&self, path: &str) -> Ino {
        path.split('/').fold(ROOT, |dir, name| {
            self.entries(dir).get(name).copied().unwrap()
        })
    }

    fn node(&self, ino: Ino) -> &Inode {
        &self.inodes[&ino]
    }

    fn node_mut(&mut self, ino: Ino) -> &mut Inode {
        self.inodes.get_mut(&ino).unwrap()
    }

    fn entries(&self, dir: Ino) -> &BTreeMap<String, Ino> {
        match &self.node(dir).kind {
            Kind::Dir(e) => e,
            _ => panic!("model: {dir} is not a directory"),
        }
    }

    fn entries_mut(&mut self, dir: Ino) -> &mut BTreeMap<String, Ino> {
        match &mut self.node_mut(dir).kind {
            Kind::Dir(e) => e,
            _ => panic!("model: {dir} is not a directory"),
        }
    }

    fn is_dir(&self, ino: Ino) -> bool {
        matches!(self.node(ino).kind, Kind::Dir(_))
    }

    /// A directory that was removed: it holds nothing and nothing can be made in it.
    fn removed(&self, dir: Ino) -> bool {
        dir != ROOT && self.node(dir).names == 0
    }

    /// Creates `name` in `dir` (which must be live and not hold it).
    fn add(&mut self, dir: Ino, name: &str, kind: Kind) -> Ino {
        let ino = self.next;
        self.next += 1;
        let node = match kind {
            Kind::Dir(_) => Inode::dir(dir),
            kind => Inode::new(kind, dir),
        };
        self.inodes.insert(ino, node);
        self.entries_mut(dir).insert(name.to_owned(), ino);
        self.node_mut(ino).names = 1;
        self.node_mut(dir).mtim = None;
        ino
    }

    /// Removes the name `name` from `dir`; the inode goes when nothing holds it.
    fn detach(&mut self, dir: Ino, name: &str) {
        let ino = self.entries_mut(dir).remove(name).unwrap();
        self.node_mut(dir).mtim = None;
        let node = self.node_mut(ino);
        node.names -= 1;
        self.collect(ino);
    }

    /// Frees `ino` if no name and no descriptor holds it.
    fn collect(&mut self, ino: Ino) {
        let held = self.fds.values().any(|d| d.ino() == Some(ino));
        if ino != ROOT && self.node(ino).names == 0 && !held {
            self.inodes.remove(&ino);
        }
    }

    // ---- resolution ----------------------------------------------------------------------

    fn lookup(&self, dir: Ino, name: &str) -> Option<Ino> {
        if self.removed(dir) {
            return None;
        }
        self.entries(dir).get(name).copied()
    }

    /// Walks `path` from `start`, one component at a time; `..` never climbs above `start`.
    fn resolve(&self, start: Ino, path: &str, follow: Follow) -> R<Resolved> {
        if path.is_empty() {
            return Err(Errno::Noent);
        }
        if path.starts_with('/') {
            return Err(Errno::Perm);
        }
        let mut stack: Vec<Ino> = Vec::new();
        let mut work: Vec<String> = split(path);
        let mut trailing = path.ends_with('/');
        let mut expansions = 0;
        while let Some(c) = work.pop() {
            let top = *stack.last().unwrap_or(&start);
            if c == "." {
                continue;
            }
            if c == ".." {
                stack.pop().ok_or(Errno::Perm)?;
                continue;
            }
            let found = self.lookup(top, &c);
            let is_last = work.is_empty();
            if let Some(Kind::Symlink(target)) = found.map(|i| &self.node(i).kind) {
                let follow_it = !is_last
                    || match follow {
                        Follow::Yes => true,
                        Follow::No => trailing,
                        Follow::Never => false,
                    };
                if follow_it {
                    if expansions >= MAX_EXPANSIONS {
                        return Err(Errno::Loop);
                    }
                    expansions += 1;
                    if target.is_empty() {
                        return Err(Errno::Noent);
                    }
                    if target.starts_with('/') {
                        return Err(Errno::Perm);
                    }
                    if is_last && target.ends_with('/') {
                        trailing = true;
                    }
                    work.extend(split(target));
                    continue;
                }
            }
            if is_last {
                return Ok(Resolved {
                    dir: top,
                    last: Last::Entry(c, found),
                    trailing,
                });
            }
            match found {
                None => return Err(Errno::Noent),
                Some(i) if self.is_dir(i) => stack.push(i),
                Some(_) => return Err(Errno::Notdir),
            }
        }
        Ok(Resolved {
            dir: *stack.last().unwrap_or(&start),
            last: Last::Dir,
            trailing,
        })
    }

    /// The existing object a resolved path names, with the trailing-slash rule.
    fn existing(&self, r: &Resolved) -> R<Ino> {
        match &r.last {
            Last::Dir => Ok(r.dir),
            Last::Entry(_, None) => Err(Errno::Noent),
            Last::Entry(_, Some(i)) if self.is_dir(*i) => Ok(*i),
            Last::Entry(_, Some(_)) if r.trailing => Err(Errno::Notdir),
            Last::Entry(_, Some(i)) => Ok(*i),
        }
    }

    /// The name a creating op makes: EEXIST for anything there, ENOENT for "new/" unless
    /// `slash_ok` (mkdir), ENOENT in a removed directory.
    fn new_entry(&self, r: &Resolved, slash_ok: bool) -> R<String> {
        match &r.last {
            Last::Dir | Last::Entry(_, Some(_)) => Err(Errno::Exist),
            Last::Entry(_, None) if r.trailing && !slash_ok => Err(Errno::Noent),
            Last::Entry(_, None) if self.removed(r.dir) => Err(Errno::Noent),
            Last::Entry(name, None) => Ok(name.clone()),
        }
    }

    // ---- descriptors ---------------------------------------------------------------------

    fn desc(&self, fd: u32) -> R<Desc> {
        self.fds.get(&fd).copied().ok_or(Errno::Badf)
    }

    /// A directory fd holding `needed` (table.rs: EBADF for non-directories).
    fn dir_fd(&self, fd: u32, needed: Rights) -> R<(Ino, Desc)> {
        let d = self.desc(fd)?;
        let DescKind::Dir(ino) = d.kind else {
            return Err(Errno::Badf);
        };
        if !d.base.contains(needed) {
            return Err(Errno::Notcapable);
        }
        Ok((ino, d))
    }

    /// A regular-file fd holding `needed` (fd_meta.rs: EBADF for anything else).
    fn file_fd(&self, fd: u32, needed: Rights) -> R<Ino> {
        let d = self.desc(fd)?;
        let DescKind::File { ino, .. } = d.kind else {
            return Err(Errno::Badf);
        };
        require(&d, needed)?;
        Ok(ino)
    }

    fn insert(&mut self, d: Desc) -> u32 {
        let fd = (0..).find(|n| !self.fds.contains_key(n)).unwrap();
        self.fds.insert(fd, d);
        fd
    }

    fn remove_fd(&mut self, fd: u32) {
        if let Some(d) = self.fds.remove(&fd)
            && let Some(ino) = d.ino()
        {
            self.collect(ino);
        }
    }

    fn set_pos(&mut self, fd: u32, new: u64) {
        if let Some(Desc {
            kind: DescKind::File { pos, .. },
            ..
        }) = self.fds.get_mut(&fd)
        {
            *pos = new;
        }
    }

    fn data(&mut self, ino: Ino) -> &mut Vec<u8> {
        let node = self.node_mut(ino);
        node.mtim = None;
        match &mut node.kind {
            Kind::File(d) => d,
            _ => panic!("model: {ino} is not a file"),
        }
    }

    fn stat(&self, ino: Ino) -> Stat {
        let n = self.node(ino);
        let (filetype, size, nlink) = match &n.kind {
            Kind::Dir(_) => (3, None, None),
            Kind::File(d) => (4, Some(d.len() as u64), Some(n.names)),
            Kind::Symlink(t) => (7, Some(t.len() as u64), Some(n.names)),
        };
        Stat {
            filetype,
            size,
            nlink,
            mtim: n.mtim,
        }
    }

    fn set_times(&mut self, ino: Ino, mtim: TimeSel) {
        self.node_mut(ino).mtim = match mtim {
            TimeSel::At(secs) => Some(u64::from(secs) * 1_000_000_000),
            TimeSel::Keep => self.node(ino).mtim,
            TimeSel::Now | TimeSel::Both => None,
        };
    }

    fn ancestor_or_self(&self, ancestor: Ino, mut ino: Ino) -> bool {
        loop {
            if ino == ancestor {
                return true;
            }
            if ino == ROOT || self.removed(ino) {
                return false;
            }
            ino = self.node(ino).parent;
        }
    }

    // ---- observations --------------------------------------------------------------------

    /// Everything below the root in `MemFs::snapshot`'s format.
    pub fn tree(&self) -> Vec<(String, TreeEntry)> {
        let mut out = Vec::new();
        let mut stack = vec![(String::new(), ROOT)];
        while let Some((prefix, dir)) = stack.pop() {
            for (name, ino) in self.entries(dir) {
                let path = format!("{prefix}{name}");
                let entry = match &self.node(*ino).kind {
                    Kind::Dir(_) => {
                        stack.push((format!("{path}/"), *ino));
                        TreeEntry::Dir
                    }
                    Kind::File(d) => TreeEntry::File(d.clone()),
                    Kind::Symlink(t) => TreeEntry::Symlink(t.clone()),
                };
                out.push((path, entry));
            }
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    /// Open descriptors, stdio included.
    pub fn open_fds(&self) -> u32 {
        self.fds.len() as u32
    }

    /// Live inodes: named or held open, the root included (what `MemUsage::inodes` counts).
    pub fn live_inodes(&self) -> u64 {
        self.inodes.len() as u64
    }

    /// (bytes that must be stored, bytes that may be): file bytes that are not zero must be
    /// held and sparse gaps need not be, so a file counts between its non-zero bytes and its
    /// size; a symlink counts its target exactly.
    pub fn byte_bounds(&self) -> (u64, u64) {
        self.inodes
            .values()
            .fold((0, 0), |(lo, hi), n| match &n.kind {
                Kind::File(d) => {
                    let nonzero = d.iter().filter(|b| **b != 0).count() as u64;
                    (lo + nonzero, hi + d.len() as u64)
                }
                Kind::Symlink(t) => (lo + t.len() as u64, hi + t.len() as u64),
                Kind::Dir(_) => (lo, hi),
            })
    }

    /// Names of non-directories beyond their first (what `MemUsage::extra_links` counts).
    pub fn extra_links(&self) -> u64 {
        let extra = self
            .inodes
            .values()
            .filter(|n| !matches!(n.kind, Kind::Dir(_)));
        extra.map(|n| n.names.saturating_sub(1)).sum()
    }

    /// The listing `Op::Readdir` of the root gives (for invariant checks).
    pub fn root_listing(&self) -> Vec<(String, u8)> {
        let mut list: Vec<(String, u8)> = vec![(".".into(), 3), ("..".into(), 3)];
        for (name, i) in self.entries(ROOT) {
            list.push((name.clone(), self.stat(*i).filetype));
        }
        list.sort();
        list
    }

    /// Whether fd 3 is still the preopened root.
    pub fn root_fd_open(&self) -> bool {
        matches!(
            self.fds.get(&3),
            Some(Desc {
                kind: DescKind::Dir(ROOT),
                base,
                ..
            }) if base.contains(Rights::FD_READDIR)
        )
    }
}

impl Inode {
    fn new(kind: Kind, parent: Ino) -> Inode {
        Inode {
            kind,
            names: 0,
            parent,
            mtim: None,
            lower_dir: false,
        }
    }

    fn dir(parent: Ino) -> Inode {
        Inode::new(Kind::Dir(BTreeMap::new()), parent)
    }
}

impl Desc {
    fn stdio() -> Desc {
        Desc {
            kind: DescKind::Stdio,
            base: Rights::empty(),
            inheriting: Rights::empty(),
            append: false,
        }
    }

    fn ino(&self) -> Option<Ino> {
        match self.kind {
            DescKind::Stdio => None,
            DescKind::Dir(i) | DescKind::File { ino: i, .. } => Some(i),
        }
    }
}

/// Components of `path` to walk, the first one last (a stack).
fn split(path: &str) -> Vec<String> {
    path.rsplit('/')
        .filter(|c| !c.is_empty())
        .map(str::to_owned)
        .collect()
}
