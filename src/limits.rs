//! Every budget in one place: the per-call caps that keep a guest-chosen length from ever
//! becoming a host allocation, the filesystem budgets of a `MemFs` ([`FsLimits`]), and the
//! errors a run stops with when a run-wide limit (time, memory, fuel) is reached.
//! Budgets are charged *before* anything is allocated or copied. This module holds numbers and
//! error types only; the checks live where the resource is spent (see each constant's doc).

use std::fmt;
use std::time::Duration;

// ---- Per-call budgets (guest-sized lengths) -------------------------------------------------

/// Longest path accepted from a guest, in bytes (Linux's PATH_MAX). Longer → ENAMETOOLONG.
/// Checked in `guest::read_path` before the path is copied.
pub const MAX_PATH_LEN: u32 = 4096;

/// Longest single path component (a file name), in bytes: Linux's NAME_MAX, what cap-std and
/// every Linux filesystem allow. Longer → ENAMETOOLONG. Checked by `vfs::names::check_name`,
/// which the resolver and every backend call.
pub const MAX_NAME_LEN: usize = 255;

/// Longest symlink target, in bytes: PATH_MAX − 1, because Linux counts the terminating NUL
/// in PATH_MAX and `symlink(2)` refuses a 4096-byte target. Longer → ENAMETOOLONG, both when a
/// link is created and when one is followed. Checked by `vfs::names::check_target`; with the
/// expansion budget it bounds the components one resolution walks to
/// `MAX_PATH_LEN + MAX_SYMLINK_EXPANSIONS * MAX_TARGET_LEN` bytes.
pub const MAX_TARGET_LEN: usize = MAX_PATH_LEN as usize - 1;

/// Most iovecs one read or write uses (Linux's IOV_MAX); entries past it are bounds-checked but
/// not transferred, so the call reports a short count.
pub const MAX_IOVS: u32 = 1024;

/// Most bytes one read or write transfers (Linux's MAX_RW_COUNT); beyond it a short count.
/// Iovec lengths are summed in u64, so aliased buffers (44 GB asked from 640 KiB) cannot wrap.
pub const MAX_TRANSFER: u64 = 0x7fff_f000;

/// Most `poll_oneoff` subscriptions per call; more → EINVAL (as poll(2) for a huge `nfds`).
/// Subscriptions are re-read from guest memory, never copied, so this bounds time, not memory.
pub const MAX_POLL_SUBSCRIPTIONS: u32 = 1 << 16;

/// Most directory entries `fd_readdir` asks a backend for at once, whatever `buf_len` says.
pub const READDIR_BATCH: usize = 128;

/// Bytes `random_get` asks the source for at a time; the guest buffer is filled in place.
pub const RANDOM_CHUNK: usize = 64 * 1024;

/// Symlinks followed while resolving one path; more → ELOOP (Linux's MAXSYMLINKS).
pub const MAX_SYMLINK_EXPANSIONS: u32 = crate::vfs::resolve::MAX_SYMLINK_EXPANSIONS;

/// Default cap on open descriptors (stdio and preopens included); more → EMFILE.
pub const DEFAULT_MAX_FDS: u32 = crate::table::DEFAULT_MAX_FDS;

// ---- Filesystem budgets --------------------------------------------------------------------

/// Longest path of any object below a `MemFs` root, in bytes (`a/b` is 3), by default: one less
/// than PATH_MAX, so every saved image and every host copy can name each object.
pub const DEFAULT_MAX_FS_PATH: u32 = 4095;

/// Deepest nesting below a `MemFs` root by default (a file directly in the root has depth 1).
pub const DEFAULT_MAX_FS_DEPTH: u32 = 512;

/// The largest file size POSIX's signed `off_t` allows; the default `max_file_size`.
pub const MAX_FILE_SIZE: u64 = i64::MAX as u64;

/// What a `MemFs` charges its byte budget for the memory behind one inode (its slot in the
/// inode table and the boxed inode itself), on top of what the inode stores. Every inode but
/// the root pays it. Sized for the worst case: the table is given back once it is a third full.
pub const FS_INODE_COST: u64 = 256;

/// What a directory is charged on top of [`FS_INODE_COST`]: the smallest tables (name index and
/// readdir order) its first entry allocates.
pub const FS_DIR_COST: u64 = 576;

/// What each directory entry (a file's name, every hard link, a directory's name) is charged on
/// top of the name's own bytes: its share of the directory's two tables and the shared name's
/// header. Sized for the worst case of a table shrunk at a third full and a B-tree of 5-entry
/// nodes.
pub const FS_NAME_COST: u64 = 320;

/// What each page of a file past its first (64 KiB of file offsets, stored in a window of the
/// bytes written in it) is charged on top of its window's capacity: its share of the file's
/// page table.
pub const FS_PAGE_COST: u64 = 160;

/// What a file is charged once it has any page past its first: the page table's first node.
pub const FS_PAGE_TABLE_COST: u64 = 512;

/// The fixed part of the memory bound: a `MemFs` whose byte budget is `Q` holds at most
/// `Q + Q / 4 + FS_MEMORY_SLACK` bytes of host memory (the empty filesystem, its root and its
/// smallest tables; the quarter covers allocator rounding). `tests/memory_bound.rs` checks it.
pub const FS_MEMORY_SLACK: u64 = 64 << 10;

/// Archive bytes an image may spend on one entry besides its path and link target: a ustar
/// header, a PAX header and the rest of its records block (mtime, size, sparse records), and
/// the padding of a sparse map and of the data. Part of `vfs::image::ImageBudget::of`.
pub const IMAGE_ENTRY_OVERHEAD: u64 = 3072;

/// Budgets of one in-memory filesystem (see `MemFs::with_limits`). Each is charged before the
/// memory is allocated, and a refused operation changes nothing.
///
/// | budget | counts | refused with |
/// |---|---|---|
/// | `bytes` | the host memory the tree holds: file windows (what was written, in 16-byte granules, with room for appends while open) and symlink targets, plus a fixed cost per inode, directory, name (and the name's bytes) and page (`FS_*_COST`); sparse gaps are free until written; hard links count their bytes once; an unlinked file's bytes are freed when its last handle closes | ENOSPC |
/// | `inodes` | files, directories, symlinks (root included) and every extra hard link (as tmpfs, so names cannot grow without bound) | EDQUOT |
/// | `max_file_size` | the logical size of one file (`set_size`, writes, `allocate`) | EFBIG |
/// | `max_path_len` | bytes of an object's path from the root | ENAMETOOLONG |
/// | `max_depth` | components of an object's path from the root | ENAMETOOLONG |
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct FsLimits {
    /// Byte budget; `None` is unlimited.
    pub bytes: Option<u64>,
    /// Inode budget; `None` is unlimited.
    pub inodes: Option<u64>,
    /// Largest logical file size.
    pub max_file_size: u64,
    /// Longest path from the root, in bytes.
    pub max_path_len: u32,
    /// Deepest path from the root, in components.
    pub max_depth: u32,
}

impl Default for FsLimits {
    /// No byte or inode budget; POSIX's file size; the default path length and depth.
    fn default() -> Self {
        FsLimits {
            bytes: None,
            inodes: None,
            max_file_size: MAX_FILE_SIZE,
            max_path_len: DEFAULT_MAX_FS_PATH,
            max_depth: DEFAULT_MAX_FS_DEPTH,
        }
    }
}

impl FsLimits {
    /// The default limits with a byte budget.
    pub fn quota(bytes: u64) -> Self {
        FsLimits::default().bytes(Some(bytes))
    }

    /// Sets the byte budget (`None`: unlimited).
    pub fn bytes(mut self, bytes: Option<u64>) -> Self {
        self.bytes = bytes;
        self
    }

    /// Sets the inode budget (`None`: unlimited).
    pub fn inodes(mut self, inodes: Option<u64>) -> Self {
        self.inodes = inodes;
        self
    }

    /// Sets the largest logical file size.
    pub fn max_file_size(mut self, bytes: u64) -> Self {
        self.max_file_size = bytes;
        self
    }

    /// Sets the longest path from the root, in bytes.
    pub fn max_path_len(mut self, bytes: u32) -> Self {
        self.max_path_len = bytes;
        self
    }

    /// Sets the deepest path from the root, in components.
    pub fn max_depth(mut self, components: u32) -> Self {
        self.max_depth = components;
        self
    }
}

// ---- Run-wide limits -----------------------------------------------------------------------

/// The error a guest stops with when its run's time limit passes: while it computes (epoch
/// interruption), sleeps in `poll_oneoff` or waits for stdin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeLimitExceeded {
    /// The limit, when the stopping code knows it (the waits only know the instant).
    pub limit: Option<Duration>,
}

impl fmt::Display for TimeLimitExceeded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.limit {
            Some(limit) => write!(f, "guest ran longer than its time limit of {limit:?}"),
            None => f.write_str("guest ran longer than its time limit"),
        }
    }
}

impl std::error::Error for TimeLimitExceeded {}

/// The error a guest stops with when a linear memory or table would grow past its limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryLimitExceeded {
    /// The limit, in bytes of memories and tables together.
    pub limit: u64,
    /// What the guest's memories and tables would have held together after the growth, in
    /// bytes.
    pub desired: u64,
    /// `true` if a table grew, `false` for a linear memory.
    pub table: bool,
}

impl fmt::Display for MemoryLimitExceeded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.table {
            write!(
                f,
                "guest tried to grow a table to a total of {} bytes of memories and tables, \
                 more than its limit of {} bytes",
                self.desired, self.limit
            )
        } else {
            write!(
                f,
                "guest tried to grow its memory to {} bytes, more than its limit of {} bytes",
                self.desired, self.limit
            )
        }
    }
}

impl std::error::Error for MemoryLimitExceeded {}

/// The error a guest stops with when it burned all the fuel it was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FuelExhausted {
    /// The fuel it was given.
    pub fuel: u64,
}

impl fmt::Display for FuelExhausted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "guest used up its fuel ({} units)", self.fuel)
    }
}

impl std::error::Error for FuelExhausted {}
