//! The operations of a model-based test plan: filesystem calls over a tiny path alphabet
//! (`a`, `b`, `s` — the usual symlink name — `.`, `..`, and `/`), a handful of fd slots and
//! small buffers. Plain data, with a byte decoder so a fuzzer's input can become a plan too;
//! proptest strategies for the same types live in `strategy.rs` (tests only).
#![allow(dead_code)]

use std::fmt;

/// Path components a plan may use. `s` is the name the seed tree gives a symlink.
pub const COMPONENTS: [&str; 5] = ["a", "b", "s", ".", ".."];

/// Symlink targets a plan may create: relative and absolute, dangling, looping, with slashes.
pub const TARGETS: [&str; 12] = [
    "a", "b", "s", ".", "..", "a/b", "../a", "/a", "", "b/", "a/..", "s/s",
];

/// fd numbers a plan may name: stdio is left alone; 3 is the preopen; 9 is never open (unless
/// renumbered there), 4096 and u32::MAX never are.
pub const FDS: [u32; 9] = [3, 4, 5, 6, 7, 8, 9, 4096, u32::MAX];

/// A guest path over [`COMPONENTS`].
#[derive(Clone, PartialEq, Eq)]
pub struct Path {
    /// Indexes into [`COMPONENTS`].
    pub comps: Vec<u8>,
    /// Starts with `/` (an escape attempt).
    pub leading: bool,
    /// Ends with `/`.
    pub trailing: bool,
}

impl Path {
    /// The path as the guest passes it.
    pub fn render(&self) -> String {
        let names: Vec<&str> = self
            .comps
            .iter()
            .map(|c| COMPONENTS[*c as usize % COMPONENTS.len()])
            .collect();
        let mut s = String::new();
        if self.leading {
            s.push('/');
        }
        s.push_str(&names.join("/"));
        if self.trailing && !names.is_empty() {
            s.push('/');
        }
        s
    }
}

impl fmt::Debug for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.render())
    }
}

/// Rights a plan may request at open, as presets (`base` and `inheriting` alike).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RightsSel {
    /// Every bit.
    All,
    /// READ, SEEK, TELL, FILESTAT_GET, READDIR, PATH_OPEN.
    Read,
    /// WRITE, SEEK, TELL, FILESTAT_SET_SIZE, FILESTAT_SET_TIMES.
    Write,
    /// READ and WRITE only (no seek).
    ReadWrite,
    /// Nothing.
    None,
    /// Everything but FD_WRITE: what opening a directory takes.
    Dir,
}

impl RightsSel {
    /// Every preset.
    pub const ALL: [RightsSel; 6] = [
        RightsSel::All,
        RightsSel::Read,
        RightsSel::Write,
        RightsSel::ReadWrite,
        RightsSel::None,
        RightsSel::Dir,
    ];
}

/// fd_seek's whence: the three valid values and one invalid.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Whence {
    /// SEEK_SET (0).
    Set,
    /// SEEK_CUR (1).
    Cur,
    /// SEEK_END (2).
    End,
    /// 3: EINVAL.
    Bad,
}

/// A time change: keep, now, or a fixed time (seconds since the epoch).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeSel {
    /// Not changed.
    Keep,
    /// ATIM_NOW / MTIM_NOW.
    Now,
    /// A fixed time, in seconds.
    At(u32),
    /// Both the fixed flag and the NOW flag: EINVAL.
    Both,
}

/// One call of a plan. Fds are indexes into [`FDS`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Op {
    /// path_open.
    Open {
        dir: u8,
        follow: bool,
        path: Path,
        /// CREAT=1, DIRECTORY=2, EXCL=4, TRUNC=8 (as preview1).
        oflags: u8,
        rights: RightsSel,
        /// APPEND=1, DSYNC=2, NONBLOCK=4, RSYNC=8, SYNC=16 (as preview1).
        fdflags: u8,
    },
    /// fd_read of up to `len` bytes (two iovecs when `len > 4`).
    Read { fd: u8, len: u8 },
    /// fd_write.
    Write { fd: u8, data: Vec<u8> },
    /// fd_pread.
    Pread { fd: u8, len: u8, offset: u16 },
    /// fd_pwrite.
    Pwrite { fd: u8, data: Vec<u8>, offset: u16 },
    /// fd_seek.
    Seek { fd: u8, offset: i16, whence: Whence },
    /// fd_tell.
    Tell { fd: u8 },
    /// fd_filestat_set_size.
    SetSize { fd: u8, size: u16 },
    /// fd_fdstat_set_flags with APPEND on or off.
    SetAppend { fd: u8, append: bool },
    /// fd_filestat_get.
    FdStat { fd: u8 },
    /// fd_filestat_set_times.
    FdSetTimes {
        fd: u8,
        atim: TimeSel,
        mtim: TimeSel,
    },
    /// path_filestat_get.
    Stat { dir: u8, follow: bool, path: Path },
    /// path_filestat_set_times.
    SetTimes {
        dir: u8,
        follow: bool,
        path: Path,
        atim: TimeSel,
        mtim: TimeSel,
    },
    /// path_create_directory.
    Mkdir { dir: u8, path: Path },
    /// path_remove_directory.
    Rmdir { dir: u8, path: Path },
    /// path_unlink_file.
    Unlink { dir: u8, path: Path },
    /// path_symlink (target is an index into [`TARGETS`]).
    Symlink { target: u8, dir: u8, path: Path },
    /// path_readlink into a buffer of `cap` bytes.
    Readlink { dir: u8, path: Path, cap: u8 },
    /// path_link.
    Link {
        dir: u8,
        follow: bool,
        old: Path,
        new_dir: u8,
        new: Path,
    },
    /// path_rename.
    Rename {
        dir: u8,
        old: Path,
        new_dir: u8,
        new: Path,
    },
    /// A whole listing by fd_readdir, paged through a buffer of `buf` bytes.
    Readdir { fd: u8, buf: u16 },
    /// fd_renumber.
    Renumber { from: u8, to: u8 },
    /// fd_close.
    Close { fd: u8 },
}

/// A cursor over fuzzer bytes; past the end every read is 0.
pub struct Bytes<'a> {
    data: &'a [u8],
}

impl<'a> Bytes<'a> {
    /// A cursor at the start of `data`.
    pub fn new(data: &'a [u8]) -> Self {
        Bytes { data }
    }

    /// Whether every byte was used.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// The next byte.
    pub fn u8(&mut self) -> u8 {
        match self.data.split_first() {
            Some((b, rest)) => {
                self.data = rest;
                *b
            }
            None => 0,
        }
    }

    /// The next little-endian u16.
    pub fn u16(&mut self) -> u16 {
        u16::from_le_bytes([self.u8(), self.u8()])
    }

    /// The next little-endian u32.
    pub fn u32(&mut self) -> u32 {
        u32::from_le_bytes([self.u8(), self.u8(), self.u8(), self.u8()])
    }

    /// The next little-endian u64.
    pub fn u64(&mut self) -> u64 {
        u64::from(self.u32()) | (u64::from(self.u32()) << 32)
    }

    /// A number below `n` (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        self.u8() as usize % n
    }

    /// A boolean.
    pub fn bool(&mut self) -> bool {
        self.u8() & 1 == 1
    }

    /// Up to `max` bytes taken verbatim.
    pub fn take(&mut self, max: usize) -> Vec<u8> {
        let n = self.below(max + 1).min(self.data.len());
        let (head, rest) = self.data.split_at(n);
        self.data = rest;
        head.to_vec()
    }
}

impl Path {
    /// A path from fuzzer bytes: 0–3 components, leading and trailing slash flags.
    pub fn decode(b: &mut Bytes) -> Path {
        let head = b.u8();
        let n = (head & 3) as usize;
        Path {
            comps: (0..n).map(|_| b.below(COMPONENTS.len()) as u8).collect(),
            // Rarely absolute: most plans should get past the resolver.
            leading: head & 0x1c == 0x1c,
            trailing: head & 0x20 != 0,
        }
    }
}

impl TimeSel {
    fn decode(b: &mut Bytes) -> TimeSel {
        match b.below(5) {
            0 | 1 => TimeSel::Keep,
            2 => TimeSel::Now,
            3 => TimeSel::At(u32::from(b.u16()) * 1000),
            _ => TimeSel::Both,
        }
    }
}

/// Number of fd slots a decoded op may name (the last two are never open).
fn fd(b: &mut Bytes) -> u8 {
    b.below(FDS.len()) as u8
}

impl Op {
    /// One op from fuzzer bytes.
    pub fn decode(b: &mut Bytes) -> Op {
        match b.below(22) {
            0..=2 => Op::Open {
                dir: if b.bool() { 0 } else { fd(b) },
                follow: b.bool(),
                path: Path::decode(b),
                oflags: b.u8() & 0xf,
                rights: RightsSel::ALL[b.below(RightsSel::ALL.len())],
                // Mostly none or APPEND: the sync flags only ever give ENOTSUP.
                fdflags: match b.below(8) {
                    0..=4 => 0,
                    5 => 1,
                    6 => 4,
                    _ => b.u8() & 0x1f,
                },
            },
            3 => Op::Read {
                fd: fd(b),
                len: b.u8() % 16,
            },
            4 => Op::Write {
                fd: fd(b),
                data: b.take(12),
            },
            5 => Op::Pread {
                fd: fd(b),
                len: b.u8() % 16,
                offset: b.u16() % 40,
            },
            6 => Op::Pwrite {
                fd: fd(b),
                data: b.take(12),
                offset: b.u16() % 40,
            },
            7 => Op::Seek {
                fd: fd(b),
                offset: (b.u8() as i8) as i16,
                whence: [Whence::Set, Whence::Cur, Whence::End, Whence::Bad][b.below(4)],
            },
            8 => Op::Tell { fd: fd(b) },
            9 => Op::SetSize {
                fd: fd(b),
                size: b.u16() % 40,
            },
            10 => Op::SetAppend {
                fd: fd(b),
                append: b.bool(),
            },
            11 => Op::FdStat { fd: fd(b) },
            12 => Op::Stat {
                dir: fd(b),
                follow: b.bool(),
                path: Path::decode(b),
            },
            13 => Op::Mkdir {
                dir: fd(b),
                path: Path::decode(b),
            },
            14 => Op::Rmdir {
                dir: fd(b),
                path: Path::decode(b),
            },
            15 => Op::Unlink {
                dir: fd(b),
                path: Path::decode(b),
            },
            16 => Op::Symlink {
                target: b.below(TARGETS.len()) as u8,
                dir: fd(b),
                path: Path::decode(b),
            },
            17 => Op::Readlink {
                dir: fd(b),
                path: Path::decode(b),
                cap: b.u8() % 8,
            },
            18 => Op::Link {
                dir: fd(b),
                follow: b.u8().is_multiple_of(8),
                old: Path::decode(b),
                new_dir: fd(b),
                new: Path::decode(b),
            },
            19 => Op::Rename {
                dir: fd(b),
                old: Path::decode(b),
                new_dir: fd(b),
                new: Path::decode(b),
            },
            20 => match b.below(4) {
                0 => Op::Renumber {
                    from: fd(b),
                    to: fd(b),
                },
                1 => Op::Close { fd: fd(b) },
                2 => Op::FdSetTimes {
                    fd: fd(b),
                    atim: TimeSel::decode(b),
                    mtim: TimeSel::decode(b),
                },
                _ => Op::SetTimes {
                    dir: fd(b),
                    follow: b.bool(),
                    path: Path::decode(b),
                    atim: TimeSel::decode(b),
                    mtim: TimeSel::decode(b),
                },
            },
            _ => Op::Readdir {
                fd: fd(b),
                buf: 24 + b.u16() % 200,
            },
        }
    }

    /// A whole plan from fuzzer bytes: ops until the bytes run out (at most `max`).
    pub fn decode_plan(data: &[u8], max: usize) -> Vec<Op> {
        let mut b = Bytes::new(data);
        let mut plan = Vec::new();
        while !b.is_empty() && plan.len() < max {
            plan.push(Op::decode(&mut b));
        }
        plan
    }
}
