//! The descriptor table: guest fd numbers → what they grant. Allocation is lowest-free, the
//! table has a cap, and every lookup checks the rights the operation needs (`rights.rs` says
//! which) before the caller may touch anything. fd numbers are guest-controlled keys: all
//! arithmetic on them is checked, and no lookup can panic.

use crate::abi::types::{Errno, Fdflags, Rights};
use crate::rights::Need;
use crate::stdio::{Input, Output};
use crate::vfs::{Dir, File};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;

/// The default cap on open descriptors (preopens and stdio included).
pub const DEFAULT_MAX_FDS: u32 = 1024;

/// An open regular file: the shared file object plus this descriptor's own position.
pub struct OpenFile {
    /// The backend's file.
    pub file: Arc<dyn File>,
    /// The current offset for fd_read/fd_write/fd_seek.
    pub position: u64,
    /// The guest path it was opened with, resolved (for policies, audit and messages only).
    pub guest_path: String,
    /// The guest name of the mount it was opened under (for policies and audit only).
    pub mount: Arc<str>,
}

/// An open directory: a capability root for paths relative to it.
pub struct OpenDir {
    /// The backend's directory.
    pub dir: Arc<dyn Dir>,
    /// `Some(name)` for preopens: the name `fd_prestat_dir_name` reports (the mount's name,
    /// shared with `mount`).
    pub preopen: Option<Arc<str>>,
    /// The guest path of this directory, resolved (for policies, audit and messages only).
    pub guest_path: String,
    /// The guest name of the mount it is under (for policies and audit only).
    pub mount: Arc<str>,
}

/// A socket: one the embedder granted (a listener), or a connection accepted from it. The
/// guest can create none itself; host sockets are blocking unless the fd is NONBLOCK.
pub enum Socket {
    /// A listening TCP socket: `sock_accept` only.
    Listener(TcpListener),
    /// A connected TCP stream: read, write, `sock_recv`, `sock_send`, `sock_shutdown`.
    Stream(TcpStream),
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
    /// A socket.
    Socket(Socket),
}

impl Kind {
    /// Which kind of descriptor this is, for the checks of [`crate::rights::Need`].
    pub fn of(&self) -> KindOf {
        match self {
            Kind::Stdin(_) => KindOf::Stdin,
            Kind::Output(_) => KindOf::Output,
            Kind::File(_) => KindOf::File,
            Kind::Dir(_) => KindOf::Dir,
            Kind::Socket(Socket::Listener(_)) => KindOf::Listener,
            Kind::Socket(Socket::Stream(_)) => KindOf::Stream,
        }
    }
}

/// The kinds of descriptor a call can be asked about, as `rights.rs` tells them apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KindOf {
    /// stdin.
    Stdin,
    /// stdout or stderr.
    Output,
    /// A regular file.
    File,
    /// A directory.
    Dir,
    /// A listening socket.
    Listener,
    /// A connected socket.
    Stream,
}

impl KindOf {
    /// How many kinds there are.
    pub const COUNT: usize = 6;
    /// Every kind, in declaration order (`ALL[k as usize] == k`).
    pub const ALL: [KindOf; KindOf::COUNT] = [
        KindOf::Stdin,
        KindOf::Output,
        KindOf::File,
        KindOf::Dir,
        KindOf::Listener,
        KindOf::Stream,
    ];
}

/// What a directory call needs of its descriptor: the directory, what it passes on, and where
/// it is (for policies and for the guest paths of what is opened below it).
#[derive(Clone, Copy)]
pub struct DirRef<'a> {
    /// The backend's directory.
    pub dir: &'a Arc<dyn Dir>,
    /// Rights descriptors opened through it may have.
    pub inheriting: Rights,
    /// The guest name of its mount.
    pub mount: &'a Arc<str>,
    /// Its guest path.
    pub guest_path: &'a str,
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

    /// Whether one more descriptor fits under the cap.
    pub fn has_room(&self) -> bool {
        self.open < self.max
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

    /// The descriptor at `fd`, if the call whose needs are `need` may use it. The one order
    /// every call checks in: EBADF (not open), then its kind (the errno `need` gives that
    /// kind), then its rights (`need` says which; `errno::missing_rights` which errno).
    #[inline]
    pub fn check(&self, fd: u32, need: &Need) -> Result<&Descriptor, Errno> {
        let desc = self.get(fd)?;
        need.admit(desc.kind.of(), desc.base)?;
        Ok(desc)
    }

    /// Mutable form of [`Table::check`].
    #[inline]
    pub fn check_mut(&mut self, fd: u32, need: &Need) -> Result<&mut Descriptor, Errno> {
        let desc = self.get_mut(fd)?;
        need.admit(desc.kind.of(), desc.base)?;
        Ok(desc)
    }

    /// The directory behind `fd`, checked as [`Table::check`] does (`need` serves only
    /// directories, e.g. `rights::dir(..)`).
    pub fn dir(&self, fd: u32, need: &Need) -> Result<DirRef<'_>, Errno> {
        let desc = self.check(fd, need)?;
        match &desc.kind {
            Kind::Dir(open) => Ok(DirRef {
                dir: &open.dir,
                inheriting: desc.inheriting,
                mount: &open.mount,
                guest_path: &open.guest_path,
            }),
            // A `need` that serves other kinds too was passed: not a directory all the same.
            Kind::Stdin(_) | Kind::Output(_) | Kind::File(_) | Kind::Socket(_) => Err(Errno::Badf),
        }
    }

    /// The regular file behind `fd` and its descriptor's flags, checked as [`Table::check`]
    /// does (`need` serves only files, e.g. `rights::file_only(..)`).
    pub fn file(&self, fd: u32, need: &Need) -> Result<(&OpenFile, Fdflags), Errno> {
        let desc = self.check(fd, need)?;
        match &desc.kind {
            Kind::File(open) => Ok((open, desc.flags)),
            Kind::Stdin(_) | Kind::Output(_) | Kind::Dir(_) | Kind::Socket(_) => Err(Errno::Badf),
        }
    }

    /// Mutable form of [`Table::file`] (calls that move the position).
    pub fn file_mut(&mut self, fd: u32, need: &Need) -> Result<(&mut OpenFile, Fdflags), Errno> {
        let desc = self.check_mut(fd, need)?;
        let flags = desc.flags;
        match &mut desc.kind {
            Kind::File(open) => Ok((open, flags)),
            Kind::Stdin(_) | Kind::Output(_) | Kind::Dir(_) | Kind::Socket(_) => Err(Errno::Badf),
        }
    }

    /// The socket behind `fd` with its descriptor, checked as [`Table::check`] does (`need`
    /// serves only sockets, e.g. `rights::connection(..)`).
    pub fn socket(&self, fd: u32, need: &Need) -> Result<(&Socket, &Descriptor), Errno> {
        let desc = self.check(fd, need)?;
        match &desc.kind {
            Kind::Socket(socket) => Ok((socket, desc)),
            Kind::Stdin(_) | Kind::Output(_) | Kind::File(_) | Kind::Dir(_) => Err(Errno::Notsock),
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

    /// After a rename of `old` (in the mount named `old_mount`) to `new` (in `new_mount`):
    /// every file and directory descriptor at or below `old` gets the name it now has. Only
    /// names change (they are for policies, audit and messages); the objects are the same.
    /// Preopens are mount roots, which no rename moves.
    pub fn rename_paths(&mut self, old_mount: &str, old: &str, new_mount: &Arc<str>, new: &str) {
        for desc in self.slots.iter_mut().flatten() {
            let (mount, path) = match &mut desc.kind {
                Kind::File(f) => (&mut f.mount, &mut f.guest_path),
                Kind::Dir(d) if d.preopen.is_none() => (&mut d.mount, &mut d.guest_path),
                Kind::Dir(_) | Kind::Stdin(_) | Kind::Output(_) | Kind::Socket(_) => continue,
            };
            if **mount != *old_mount || !crate::policy::is_under(path, old) {
                continue;
            }
            // `is_under` held, so `old` is a prefix at a component boundary.
            let below = path.get(old.len()..).unwrap_or_default();
            *path = crate::policy::join(new, below);
            *mount = Arc::clone(new_mount);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stdin() -> Descriptor {
        Descriptor {
            kind: Kind::Stdin(Input::empty()),
            base: Rights::FD_READ,
            inheriting: Rights::empty(),
            flags: Fdflags::empty(),
        }
    }

    fn table(n: u32) -> Table {
        let mut t = Table::new(8);
        for _ in 0..n {
            t.insert(stdin()).unwrap();
        }
        t
    }

    #[test]
    fn renumber_needs_both_ends_open() {
        let mut t = table(3);
        assert_eq!(t.renumber(0, u32::MAX), Err(Errno::Badf));
        assert_eq!(t.renumber(u32::MAX, 0), Err(Errno::Badf));
        assert_eq!(t.renumber(1, 3), Err(Errno::Badf));
        assert_eq!(t.renumber(2, 2), Ok(()));
        assert_eq!(t.len(), 3);
    }

    #[test]
    fn renumber_closes_the_target_and_frees_the_source() {
        let mut t = table(4);
        t.get_mut(3).unwrap().flags = Fdflags::APPEND;
        assert_eq!(t.renumber(3, 1), Ok(()));
        assert_eq!(t.len(), 3);
        assert_eq!(t.get(1).unwrap().flags, Fdflags::APPEND);
        assert_eq!(t.get(3).err(), Some(Errno::Badf));
        // The freed number is the lowest free again.
        assert_eq!(t.insert(stdin()), Ok(3));
        // Renumbering downwards from the middle leaves a hole that is reused.
        assert_eq!(t.renumber(1, 0), Ok(()));
        assert_eq!(t.insert(stdin()), Ok(1));
        assert_eq!(t.len(), 4);
    }

    #[test]
    fn cap_and_lookups_of_any_number() {
        let mut t = table(8);
        assert_eq!(t.insert(stdin()), Err(Errno::Mfile));
        for fd in [8, 1 << 20, u32::MAX] {
            assert_eq!(t.get(fd).err(), Some(Errno::Badf));
            assert_eq!(t.remove(fd).err(), Some(Errno::Badf));
        }
        assert!(t.remove(7).is_ok());
        assert_eq!(t.remove(7).err(), Some(Errno::Badf));
        assert_eq!(t.insert(stdin()), Ok(7));
    }

    #[test]
    fn checks_run_in_one_order_open_then_kind_then_rights() {
        let mut t = table(1);
        t.get_mut(0).unwrap().base = Rights::FD_SEEK;
        // Not open: EBADF whatever the call.
        assert_eq!(t.check(9, &Need::ANY).err(), Some(Errno::Badf));
        // The wrong kind: the call's errno for it, before any rights are looked at.
        let pread = crate::rights::FD_PREAD;
        assert_eq!(t.check(0, &pread).err(), Some(Errno::Spipe));
        assert_eq!(t.file(0, &pread).err(), Some(Errno::Spipe));
        // The right kind, missing rights: `missing_rights` decides.
        assert_eq!(t.check(0, &crate::rights::FD_READ).err(), Some(Errno::Badf));
        let flags = crate::rights::FD_FDSTAT_SET_FLAGS;
        assert_eq!(t.check(0, &flags).err(), Some(Errno::Notcapable));
        t.get_mut(0).unwrap().base = Rights::FD_FDSTAT_SET_FLAGS;
        assert!(t.check(0, &flags).is_ok());
        assert!(t.check(0, &Need::ANY).is_ok());
    }
}
