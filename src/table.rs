//! The descriptor table: guest fd numbers → what they grant. Allocation is lowest-free, the
//! table has a cap, and every lookup checks the rights the operation needs (`rights.rs` says
//! which) before the caller may touch anything. fd numbers are guest-controlled keys: all
//! arithmetic on them is checked, and no lookup can panic.

use crate::abi::types::{Errno, Fdflags, Rights};
use crate::stdio::{Input, Output};
use crate::vfs::{Dir, File};
use std::sync::Arc;

/// The default cap on open descriptors (preopens and stdio included).
pub const DEFAULT_MAX_FDS: u32 = 1024;

/// An open regular file: the shared file object plus this descriptor's own position.
pub struct OpenFile {
    /// The backend's file.
    pub file: Arc<dyn File>,
    /// The current offset for fd_read/fd_write/fd_seek.
    pub position: u64,
    /// The guest path it was opened with (for audit and messages only).
    pub guest_path: String,
}

/// An open directory: a capability root for paths relative to it.
pub struct OpenDir {
    /// The backend's directory.
    pub dir: Arc<dyn Dir>,
    /// `Some(name)` for preopens: the name `fd_prestat_dir_name` reports.
    pub preopen: Option<String>,
    /// The guest path of this directory, from its preopen (for audit and messages only).
    pub guest_path: String,
}

/// What a descriptor refers to.
pub enum Kind {
    /// The guest's stdin.
    Stdin(Input),
    /// An output stream (stdout or stderr).
    Output(Output),
    /// A regular file.
    File(OpenFile),
    /// A directory.
    Dir(OpenDir),
}

/// One table entry: the object, the rights it grants, and its fd flags.
pub struct Descriptor {
    /// What the descriptor refers to.
    pub kind: Kind,
    /// Rights for operations on this descriptor.
    pub base: Rights,
    /// Rights that descriptors opened through this one may have.
    pub inheriting: Rights,
    /// APPEND, NONBLOCK and the sync flags.
    pub flags: Fdflags,
}

/// The per-guest descriptor table.
pub struct Table {
    slots: Vec<Option<Descriptor>>,
    open: u32,
    max: u32,
}

impl Table {
    /// An empty table that holds at most `max` descriptors.
    pub fn new(max: u32) -> Self {
        Table {
            slots: Vec::new(),
            open: 0,
            max,
        }
    }

    /// How many descriptors are open.
    pub fn len(&self) -> u32 {
        self.open
    }

    /// Whether no descriptor is open.
    pub fn is_empty(&self) -> bool {
        self.open == 0
    }

    /// Inserts at the lowest free number. Errors: EMFILE at the cap.
    pub fn insert(&mut self, desc: Descriptor) -> Result<u32, Errno> {
        if self.open >= self.max {
            return Err(Errno::Mfile);
        }
        let fd = match self.slots.iter().position(Option::is_none) {
            Some(free) => free,
            None => {
                self.slots.push(None);
                self.slots.len() - 1
            }
        };
        self.slots[fd] = Some(desc);
        self.open += 1;
        // `fd < max <= u32::MAX`, so the conversion cannot fail.
        Ok(fd as u32)
    }

    /// The descriptor at `fd`, unchecked rights. Errors: EBADF.
    pub fn get(&self, fd: u32) -> Result<&Descriptor, Errno> {
        self.slots
            .get(fd as usize)
            .and_then(Option::as_ref)
            .ok_or(Errno::Badf)
    }

    /// The descriptor at `fd`, mutably, unchecked rights. Errors: EBADF.
    pub fn get_mut(&mut self, fd: u32) -> Result<&mut Descriptor, Errno> {
        self.slots
            .get_mut(fd as usize)
            .and_then(Option::as_mut)
            .ok_or(Errno::Badf)
    }

    /// The descriptor at `fd` if it holds all of `needed`. Errors: EBADF, ENOTCAPABLE.
    pub fn checked(&self, fd: u32, needed: Rights) -> Result<&Descriptor, Errno> {
        let desc = self.get(fd)?;
        if desc.base.contains(needed) {
            Ok(desc)
        } else {
            Err(Errno::Notcapable)
        }
    }

    /// Mutable form of [`Table::checked`].
    pub fn checked_mut(&mut self, fd: u32, needed: Rights) -> Result<&mut Descriptor, Errno> {
        let desc = self.get_mut(fd)?;
        if desc.base.contains(needed) {
            Ok(desc)
        } else {
            Err(Errno::Notcapable)
        }
    }

    /// A directory descriptor holding `needed`. Errors: EBADF, ENOTDIR, ENOTCAPABLE.
    pub fn dir(&self, fd: u32, needed: Rights) -> Result<&OpenDir, Errno> {
        let desc = self.get(fd)?;
        let Kind::Dir(dir) = &desc.kind else {
            return Err(Errno::Notdir);
        };
        if !desc.base.contains(needed) {
            return Err(Errno::Notcapable);
        }
        Ok(dir)
    }

    /// A regular-file descriptor holding `needed`. Errors: EBADF, EISDIR (a directory),
    /// ENOTCAPABLE. Streams answer EBADF here: they are not seekable files.
    pub fn file_mut(&mut self, fd: u32, needed: Rights) -> Result<&mut OpenFile, Errno> {
        let desc = self.get_mut(fd)?;
        if !desc.base.contains(needed) {
            return Err(Errno::Notcapable);
        }
        match &mut desc.kind {
            Kind::File(file) => Ok(file),
            Kind::Dir(_) => Err(Errno::Isdir),
            Kind::Stdin(_) | Kind::Output(_) => Err(Errno::Badf),
        }
    }

    /// Removes and returns the descriptor. Errors: EBADF.
    pub fn remove(&mut self, fd: u32) -> Result<Descriptor, Errno> {
        let desc = self
            .slots
            .get_mut(fd as usize)
            .and_then(Option::take)
            .ok_or(Errno::Badf)?;
        self.open -= 1;
        // Keep the vector short so the lowest-free scan stays cheap after bursts.
        while matches!(self.slots.last(), Some(None)) {
            self.slots.pop();
        }
        Ok(desc)
    }

    /// fd_renumber: moves `from` onto `to`, closing what `to` held. Both must be open
    /// (EBADF otherwise, as wasmtime); renumbering onto itself is a no-op.
    pub fn renumber(&mut self, from: u32, to: u32) -> Result<(), Errno> {
        self.get(from)?;
        self.get(to)?;
        if from == to {
            return Ok(());
        }
        let desc = self.remove(from)?;
        // `to` is open, so its slot exists and stays in the vector.
        let slot = self.slots.get_mut(to as usize).ok_or(Errno::Badf)?;
        let _closed = slot.replace(desc);
        Ok(())
    }

    /// Iterates over open descriptors in fd order.
    pub fn iter(&self) -> impl Iterator<Item = (u32, &Descriptor)> {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(fd, d)| d.as_ref().map(|d| (fd as u32, d)))
    }
}
