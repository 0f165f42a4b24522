//! What one op of a plan answered: a value or an errno, in a shape the model, every backend and
//! the fuzzer's differential can compare. Fields a backend may legitimately differ on (inode
//! numbers, times the model does not know, directory sizes and link counts) are left out or
//! optional; `agrees` treats an unknown time as a wildcard.
#![allow(dead_code)]

use wasi_warden::types::Errno;

/// The parts of a filestat every backend must agree on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stat {
    /// preview1 filetype (3 directory, 4 regular file, 7 symlink).
    pub filetype: u8,
    /// Size, except for directories (backends report different sizes for those).
    pub size: Option<u64>,
    /// Link count, except for directories.
    pub nlink: Option<u64>,
    /// The mtime, when it is known (the model knows it after a set_times with a fixed time).
    pub mtim: Option<u64>,
}

/// A successful call's result.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    /// Nothing but success.
    Unit,
    /// A new descriptor.
    Fd(u32),
    /// A byte count or a position.
    Size(u64),
    /// Bytes read (or a link's target).
    Bytes(Vec<u8>),
    /// A filestat.
    Stat(Stat),
    /// A whole directory listing: (name, filetype), sorted.
    Listing(Vec<(String, u8)>),
}

/// Ok(value) or the preview1 errno.
pub type Outcome = Result<Value, u16>;

/// The numeric errno.
pub fn errno(e: Errno) -> u16 {
    e as u16
}

/// Whether `actual` is what `expected` says, an unknown expected mtime matching any.
pub fn agrees(expected: &Outcome, actual: &Outcome) -> bool {
    match (expected, actual) {
        (Ok(Value::Stat(e)), Ok(Value::Stat(a))) => {
            e.filetype == a.filetype
                && e.size == a.size
                && e.nlink == a.nlink
                && (e.mtim.is_none() || e.mtim == a.mtim)
        }
        _ => expected == actual,
    }
}

/// `outcome` without the parts two backends may differ on when no model says what they are.
pub fn masked(outcome: &Outcome) -> Outcome {
    match outcome {
        Ok(Value::Stat(s)) => Ok(Value::Stat(Stat {
            mtim: None,
            ..s.clone()
        })),
        other => other.clone(),
    }
}
