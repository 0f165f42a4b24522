//! The model's answer to each op, in the order the syscall layer checks things (descriptor,
//! rights, flags, resolution, then the change), as a second `impl Model` block so that
//! `reference.rs` stays the state and the resolver.

use super::super::ops::{FDS, Op, RightsSel, TARGETS, TimeSel, Whence};
use super::super::outcome::{Outcome, Value, errno};
use super::{
    Desc, DescKind, Follow, Ino, Kind, Last, Model, R, dir_base, file_all, require, rights_of,
};
use std::collections::BTreeMap;
use wasi_warden::types::{Errno, Rights};

impl Model {
    // ---- ops -----------------------------------------------------------------------------

    /// Applies one op and returns what the syscall must answer.
    pub fn apply(&mut self, op: &Op) -> Outcome {
        self.run(op).map_err(errno)
    }

    fn run(&mut self, op: &Op) -> R<Value> {
        let fd = |i: &u8| FDS[*i as usize % FDS.len()];
        match op {
            Op::Open {
                dir,
                follow,
                path,
                oflags,
                rights,
                fdflags,
            } => self.open(fd(dir), *follow, &path.render(), *oflags, *rights, *fdflags),
            Op::Read { fd: f, len } => self.read(fd(f), *len as usize),
            Op::Write { fd: f, data } => self.write(fd(f), data),
            Op::Pread { fd: f, len, offset } => {
                let d = self.desc(fd(f))?;
                let DescKind::File { ino, .. } = d.kind else {
                    return Err(Errno::Badf);
                };
                require(&d, Rights::FD_READ | Rights::FD_SEEK)?;
                Ok(Value::Bytes(self.read_at(ino, u64::from(*offset), *len)))
            }
            Op::Pwrite {
                fd: f,
                data,
                offset,
            } => {
                let d = self.desc(fd(f))?;
                let DescKind::File { ino, .. } = d.kind else {
                    return Err(Errno::Badf);
                };
                require(&d, Rights::FD_WRITE | Rights::FD_SEEK)?;
                let at = if d.append {
                    self.data(ino).len()
                } else {
                    *offset as usize
                };
                self.write_at(ino, at, data);
                Ok(Value::Size(data.len() as u64))
            }
            Op::Seek {
                fd: f,
                offset,
                whence,
            } => self.seek(fd(f), i64::from(*offset), *whence),
            Op::Tell { fd: f } => {
                let d = self.desc(fd(f))?;
                let DescKind::File { pos, .. } = d.kind else {
                    return Err(Errno::Badf);
                };
                require(&d, Rights::FD_TELL).or_else(|_| require(&d, Rights::FD_SEEK))?;
                Ok(Value::Size(pos))
            }
            Op::SetSize { fd: f, size } => {
                let ino = self.file_fd(fd(f), Rights::FD_FILESTAT_SET_SIZE)?;
                self.data(ino).resize(*size as usize, 0);
                Ok(Value::Unit)
            }
            Op::SetAppend { fd: f, append } => {
                let d = self.desc(fd(f))?;
                if let DescKind::Dir(_) = d.kind {
                    return Err(Errno::Badf);
                }
                require(&d, Rights::FD_FDSTAT_SET_FLAGS)?;
                self.fds.get_mut(&fd(f)).unwrap().append = *append;
                Ok(Value::Unit)
            }
            Op::FdStat { fd: f } => {
                let d = self.desc(fd(f))?;
                let ino = d.ino().ok_or(Errno::Badf)?;
                require(&d, Rights::FD_FILESTAT_GET)?;
                Ok(Value::Stat(self.stat(ino)))
            }
            Op::FdSetTimes { fd: f, atim, mtim } => {
                check_times(*atim, *mtim)?;
                let d = self.desc(fd(f))?;
                let ino = d.ino().ok_or(Errno::Badf)?;
                require(&d, Rights::FD_FILESTAT_SET_TIMES)?;
                self.set_times(ino, *mtim);
                Ok(Value::Unit)
            }
            Op::Stat { dir, follow, path } => {
                let (start, _) = self.dir_fd(fd(dir), Rights::PATH_FILESTAT_GET)?;
                let r = self.resolve(start, &path.render(), follow_of(*follow))?;
                Ok(Value::Stat(self.stat(self.existing(&r)?)))
            }
            Op::SetTimes {
                dir,
                follow,
                path,
                atim,
                mtim,
            } => {
                check_times(*atim, *mtim)?;
                let (start, _) = self.dir_fd(fd(dir), Rights::PATH_FILESTAT_SET_TIMES)?;
                let r = self.resolve(start, &path.render(), follow_of(*follow))?;
                let ino = self.existing(&r)?;
                self.set_times(ino, *mtim);
                Ok(Value::Unit)
            }
            Op::Mkdir { dir, path } => {
                let (start, _) = self.dir_fd(fd(dir), Rights::PATH_CREATE_DIRECTORY)?;
                let r = self.resolve(start, &path.render(), Follow::Never)?;
                let name = self.new_entry(&r, true)?;
                self.add(r.dir, &name, Kind::Dir(BTreeMap::new()));
                Ok(Value::Unit)
            }
            Op::Rmdir { dir, path } => {
                let (start, _) = self.dir_fd(fd(dir), Rights::PATH_REMOVE_DIRECTORY)?;
                let r = self.resolve(start, &path.render(), Follow::Never)?;
                match &r.last {
                    Last::Dir => Err(Errno::Inval),
                    Last::Entry(_, None) => Err(Errno::Noent),
                    Last::Entry(_, Some(i)) if !self.is_dir(*i) => Err(Errno::Notdir),
                    Last::Entry(_, Some(i)) if !self.entries(*i).is_empty() => Err(Errno::Notempty),
                    Last::Entry(name, Some(_)) => {
                        self.detach(r.dir, name);
                        Ok(Value::Unit)
                    }
                }
            }
            Op::Unlink { dir, path } => {
                let (start, _) = self.dir_fd(fd(dir), Rights::PATH_UNLINK_FILE)?;
                let r = self.resolve(start, &path.render(), Follow::Never)?;
                match &r.last {
                    Last::Dir => Err(Errno::Isdir),
                    Last::Entry(_, Some(i)) if self.is_dir(*i) => Err(Errno::Isdir),
                    Last::Entry(_, None) => Err(Errno::Noent),
                    Last::Entry(_, Some(_)) if r.trailing => Err(Errno::Notdir),
                    Last::Entry(name, Some(_)) => {
                        self.detach(r.dir, name);
                        Ok(Value::Unit)
                    }
                }
            }
            Op::Symlink { target, dir, path } => {
                let target = TARGETS[*target as usize % TARGETS.len()];
                let (start, _) = self.dir_fd(fd(dir), Rights::PATH_SYMLINK)?;
                if target.starts_with('/') {
                    return Err(Errno::Perm);
                }
                if target.is_empty() {
                    return Err(Errno::Noent);
                }
                let r = self.resolve(start, &path.render(), Follow::Never)?;
                let name = self.new_entry(&r, false)?;
                self.add(r.dir, &name, Kind::Symlink(target.to_owned()));
                Ok(Value::Unit)
            }
            Op::Readlink { dir, path, cap } => {
                let (start, _) = self.dir_fd(fd(dir), Rights::PATH_READLINK)?;
                let r = self.resolve(start, &path.render(), Follow::No)?;
                match &self.node(self.existing(&r)?).kind {
                    Kind::Symlink(t) => {
                        let n = t.len().min(*cap as usize);
                        Ok(Value::Bytes(t.as_bytes()[..n].to_vec()))
                    }
                    _ => Err(Errno::Inval),
                }
            }
            Op::Link {
                dir,
                follow,
                old,
                new_dir,
                new,
            } => self.link(fd(dir), *follow, &old.render(), fd(new_dir), &new.render()),
            Op::Rename {
                dir,
                old,
                new_dir,
                new,
            } => self.rename(fd(dir), &old.render(), fd(new_dir), &new.render()),
            Op::Readdir { fd: f, .. } => {
                let (ino, _) = self.dir_fd(fd(f), Rights::FD_READDIR)?;
                if self.removed(ino) {
                    return Err(Errno::Noent);
                }
                let mut list: Vec<(String, u8)> = vec![(".".into(), 3), ("..".into(), 3)];
                for (name, i) in self.entries(ino) {
                    list.push((name.clone(), self.stat(*i).filetype));
                }
                list.sort();
                Ok(Value::Listing(list))
            }
            Op::Renumber { from, to } => {
                let d = self.desc(fd(from))?;
                self.desc(fd(to))?;
                if fd(from) != fd(to) {
                    self.fds.remove(&fd(from));
                    // The moved descriptor is in place before the replaced one's inode may go.
                    if let Some(ino) = self.fds.insert(fd(to), d).and_then(|old| old.ino()) {
                        self.collect(ino);
                    }
                }
                Ok(Value::Unit)
            }
            Op::Close { fd: f } => {
                self.desc(fd(f))?;
                self.remove_fd(fd(f));
                Ok(Value::Unit)
            }
        }
    }

    fn open(
        &mut self,
        fd: u32,
        follow: bool,
        path: &str,
        oflags: u8,
        rights: RightsSel,
        fdflags: u8,
    ) -> R<Value> {
        let (creat, directory, excl, trunc) = (
            oflags & 1 != 0,
            oflags & 2 != 0,
            oflags & 4 != 0,
            oflags & 8 != 0,
        );
        let mut needed = Rights::PATH_OPEN;
        if creat {
            needed |= Rights::PATH_CREATE_FILE;
        }
        if trunc {
            needed |= Rights::PATH_FILESTAT_SET_SIZE;
        }
        // path_open alone answers ENOTDIR for a regular file as its base (as wasmtime).
        if let Ok(Desc {
            kind: DescKind::File { .. },
            ..
        }) = self.desc(fd)
        {
            return Err(Errno::Notdir);
        }
        let (start, d) = self.dir_fd(fd, needed)?;
        if fdflags & 0x1a != 0 {
            return Err(Errno::Notsup);
        }
        if directory && (creat || excl || trunc) {
            return Err(Errno::Inval);
        }
        let base = rights_of(rights) & d.inheriting;
        let inheriting = rights_of(rights) & d.inheriting;
        let exclusive = creat && excl;
        let follow = if exclusive || !follow {
            Follow::No
        } else {
            Follow::Yes
        };
        let r = self.resolve(start, path, follow)?;
        let as_dir = |ino: Ino| {
            if exclusive {
                Err(Errno::Exist)
            } else if creat || trunc || base.contains(Rights::FD_WRITE) {
                Err(Errno::Isdir)
            } else {
                Ok(ino)
            }
        };
        let dir_fits = dir_base() | Rights::FD_SYNC | Rights::FD_DATASYNC;
        let dir_fits = dir_fits | Rights::FD_FDSTAT_SET_FLAGS;
        let ino = match &r.last {
            Last::Dir => {
                let ino = as_dir(r.dir)?;
                return Ok(self.open_dir(ino, base & dir_fits, inheriting));
            }
            Last::Entry(_, Some(i)) if self.is_dir(*i) => {
                let ino = as_dir(*i)?;
                return Ok(self.open_dir(ino, base & dir_fits, inheriting));
            }
            Last::Entry(_, Some(i)) if matches!(self.node(*i).kind, Kind::Symlink(_)) => {
                // O_NOFOLLOW on a link is ELOOP, with O_DIRECTORY too (as wasmtime).
                return Err(if exclusive { Errno::Exist } else { Errno::Loop });
            }
            Last::Entry(_, Some(i)) => {
                if exclusive {
                    return Err(Errno::Exist);
                }
                if directory || r.trailing {
                    return Err(Errno::Notdir);
                }
                if trunc {
                    self.data(*i).clear();
                }
                *i
            }
            Last::Entry(name, None) => {
                if !creat {
                    return Err(Errno::Noent);
                }
                if r.trailing {
                    return Err(Errno::Isdir);
                }
                if self.removed(r.dir) {
                    return Err(Errno::Noent);
                }
                let name = name.clone();
                self.add(r.dir, &name, Kind::File(Vec::new()))
            }
        };
        let fd = self.insert(Desc {
            kind: DescKind::File { ino, pos: 0 },
            base: base & file_all(),
            inheriting,
            append: fdflags & 1 != 0,
        });
        Ok(Value::Fd(fd))
    }

    fn open_dir(&mut self, ino: Ino, base: Rights, inheriting: Rights) -> Value {
        Value::Fd(self.insert(Desc {
            kind: DescKind::Dir(ino),
            base,
            inheriting,
            append: false,
        }))
    }

    fn read_at(&self, ino: Ino, at: u64, len: u8) -> Vec<u8> {
        let Kind::File(data) = &self.node(ino).kind else {
            panic!("model: {ino} is not a file")
        };
        let start = (at as usize).min(data.len());
        let end = start.saturating_add(len as usize).min(data.len());
        data[start..end].to_vec()
    }

    fn write_at(&mut self, ino: Ino, at: usize, bytes: &[u8]) {
        let data = self.data(ino);
        if bytes.is_empty() {
            return;
        }
        if data.len() < at + bytes.len() {
            data.resize(at + bytes.len(), 0);
        }
        data[at..at + bytes.len()].copy_from_slice(bytes);
    }

    fn read(&mut self, fd: u32, len: usize) -> R<Value> {
        let d = self.desc(fd)?;
        let DescKind::File { ino, pos } = d.kind else {
            return Err(Errno::Badf);
        };
        require(&d, Rights::FD_READ)?;
        let bytes = self.read_at(ino, pos, len as u8);
        self.set_pos(fd, pos + bytes.len() as u64);
        Ok(Value::Bytes(bytes))
    }

    fn write(&mut self, fd: u32, bytes: &[u8]) -> R<Value> {
        let d = self.desc(fd)?;
        let DescKind::File { ino, pos } = d.kind else {
            return Err(Errno::Badf);
        };
        require(&d, Rights::FD_WRITE)?;
        if d.append {
            let end = self.data(ino).len();
            self.write_at(ino, end, bytes);
            let end = self.data(ino).len() as u64;
            self.set_pos(fd, end);
        } else {
            self.write_at(ino, pos as usize, bytes);
            self.set_pos(fd, pos + bytes.len() as u64);
        }
        Ok(Value::Size(bytes.len() as u64))
    }

    fn seek(&mut self, fd: u32, offset: i64, whence: Whence) -> R<Value> {
        if whence == Whence::Bad {
            return Err(Errno::Inval);
        }
        let d = self.desc(fd)?;
        let query = offset == 0 && whence == Whence::Cur;
        let allowed = match require(&d, Rights::FD_SEEK) {
            Err(_) if query => require(&d, Rights::FD_TELL),
            other => other,
        };
        let DescKind::File { ino, pos } = d.kind else {
            return Err(Errno::Badf);
        };
        allowed?;
        let base = match whence {
            Whence::Set => 0,
            Whence::Cur => pos as i64,
            _ => self.stat(ino).size.unwrap() as i64,
        };
        let new = u64::try_from(base + offset).map_err(|_| Errno::Inval)?;
        self.set_pos(fd, new);
        Ok(Value::Size(new))
    }

    fn link(&mut self, fd: u32, follow: bool, old: &str, new_fd: u32, new: &str) -> R<Value> {
        let (old_start, _) = self.dir_fd(fd, Rights::PATH_LINK_SOURCE)?;
        let (new_start, _) = self.dir_fd(new_fd, Rights::PATH_LINK_TARGET)?;
        if follow {
            return Err(Errno::Inval);
        }
        let o = self.resolve(old_start, old, Follow::Never)?;
        let src = match &o.last {
            Last::Dir => return Err(Errno::Perm),
            Last::Entry(_, Some(i)) if self.is_dir(*i) => return Err(Errno::Perm),
            Last::Entry(_, None) => return Err(Errno::Noent),
            Last::Entry(_, Some(_)) if o.trailing => return Err(Errno::Notdir),
            Last::Entry(_, Some(i)) => *i,
        };
        let n = self.resolve(new_start, new, Follow::Never)?;
        let name = self.new_entry(&n, false)?;
        self.entries_mut(n.dir).insert(name, src);
        self.node_mut(n.dir).mtim = None;
        self.node_mut(src).names += 1;
        Ok(Value::Unit)
    }

    fn rename(&mut self, fd: u32, old: &str, new_fd: u32, new: &str) -> R<Value> {
        let (old_start, _) = self.dir_fd(fd, Rights::PATH_RENAME_SOURCE)?;
        let (new_start, _) = self.dir_fd(new_fd, Rights::PATH_RENAME_TARGET)?;
        let o = self.resolve(old_start, old, Follow::Never)?;
        let (old_name, src) = match &o.last {
            Last::Dir => return Err(Errno::Busy),
            Last::Entry(_, None) => return Err(Errno::Noent),
            Last::Entry(name, Some(i)) => (name.clone(), *i),
        };
        let n = self.resolve(new_start, new, Follow::Never)?;
        let (new_name, victim) = match &n.last {
            Last::Dir => return Err(Errno::Busy),
            Last::Entry(name, v) => (name.clone(), *v),
        };
        let src_dir = self.is_dir(src);
        if !src_dir && (o.trailing || n.trailing) {
            return Err(Errno::Notdir);
        }
        if self.removed(n.dir) {
            return Err(Errno::Noent);
        }
        // Into its own subtree: EINVAL, first (the overlay too: Linux checks it in the VFS,
        // before overlayfs could refuse to move a lower directory with EXDEV).
        let lower_move = self.overlay && src_dir && self.node(src).lower_dir;
        if src_dir && self.ancestor_or_self(src, n.dir) {
            return Err(Errno::Inval);
        }
        // Onto the source's parent or an ancestor of it: not empty, before the type rules
        // (Linux's order).
        if let Some(v) = victim
            && self.is_dir(v)
            && self.ancestor_or_self(v, o.dir)
        {
            return Err(Errno::Notempty);
        }
        if victim == Some(src) {
            return Ok(Value::Unit);
        }
        if let Some(v) = victim {
            match (src_dir, self.is_dir(v)) {
                (true, true) if !self.entries(v).is_empty() => return Err(Errno::Notempty),
                (true, false) => return Err(Errno::Notdir),
                (false, true) => return Err(Errno::Isdir),
                _ => {}
            }
        }
        if lower_move {
            return Err(Errno::Xdev);
        }
        if victim.is_some() {
            self.detach(n.dir, &new_name);
        }
        self.entries_mut(o.dir).remove(&old_name);
        self.entries_mut(n.dir).insert(new_name, src);
        self.node_mut(o.dir).mtim = None;
        self.node_mut(n.dir).mtim = None;
        // A moved directory's `..` changes; some filesystems count that as a change of it.
        self.node_mut(src).mtim = None;
        self.node_mut(src).parent = n.dir;
        Ok(Value::Unit)
    }
}

fn follow_of(follow: bool) -> Follow {
    if follow { Follow::Yes } else { Follow::No }
}

/// A time both given and NOW is EINVAL, before anything else.
fn check_times(atim: TimeSel, mtim: TimeSel) -> R<()> {
    if atim == TimeSel::Both || mtim == TimeSel::Both {
        Err(Errno::Inval)
    } else {
        Ok(())
    }
}
