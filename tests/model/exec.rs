//! Runs plan ops through the real syscall layer: each op becomes the preview1 call(s) a guest
//! would make, with paths, iovecs and buffers laid out in the driver's guest memory, and the
//! answer is read back as an `Outcome`. Also lays out the host temp dir a plan's mount is made
//! over (`tests/support/backend.rs` mounts it) and the checks made after every step.
#![allow(dead_code)]

use super::backend::Mounted;
pub use super::backend::{Backend, host_tree};
use super::driver::Driver;
use super::ops::{FDS, Op, TARGETS, TimeSel, Whence};
use super::outcome::{Outcome, Stat, Value};
use super::reference::rights_of;
use std::fs;
use std::path::{Path, PathBuf};
use wasi_warden::vfs::TreeEntry;
use wasi_warden::{WasiCtx, WasiCtxBuilder};

// Guest memory layout of one call.
const PATH1: u32 = 0;
const PATH2: u32 = 1024;
const OUT: u32 = 2048;
const IOVS: u32 = 3072;
const DATA: u32 = 4096;
const DIRBUF: u32 = 16384;
/// Largest readdir buffer the pager grows to.
const DIRBUF_MAX: u32 = 32768;

/// The seed tree every plan starts from: a directory holding a file and a symlink that goes
/// back up through `..` to a name that does not exist yet, and a symlink to the directory.
/// `b` is left free at the top so plans can create it.
pub fn seed() -> Vec<(String, TreeEntry)> {
    without_links_where_unsupported(vec![
        ("a".into(), TreeEntry::Dir),
        ("a/b".into(), TreeEntry::File(b"hi".to_vec())),
        ("a/s".into(), TreeEntry::Symlink("../b".into())),
        ("s".into(), TreeEntry::Symlink("a".into())),
    ])
}

/// `tree` as is, or without its symlinks where the host cannot hold them (Windows under
/// Wine; and Windows host mounts refuse guest-made links, so plans make none there either).
pub fn without_links_where_unsupported(tree: Vec<(String, TreeEntry)>) -> Vec<(String, TreeEntry)> {
    if cfg!(unix) {
        return tree;
    }
    tree.into_iter()
        .filter(|(_, e)| !matches!(e, TreeEntry::Symlink(_)))
        .collect()
}

/// Writes a tree (snapshot format, parents first) below `root` on the host.
pub fn write_tree(root: &Path, tree: &[(String, TreeEntry)]) {
    for (path, entry) in tree {
        let p = root.join(path);
        match entry {
            TreeEntry::Dir => fs::create_dir(&p).unwrap(),
            TreeEntry::File(bytes) => fs::write(&p, bytes).unwrap(),
            TreeEntry::Symlink(target) => assert!(super::backend::host_symlink(target, &p)),
        }
    }
}

/// One plan's running system: the driver over a mount of the seed, and what is needed to read
/// its tree back and to check nothing outside it changed.
pub struct Rig {
    pub backend: Backend,
    pub driver: Driver,
    mounted: Mounted,
    /// The host temp dir: `mnt/` (the seed, which the backend is mounted over) and
    /// `outside/` beside it.
    temp: tempfile::TempDir,
    outside_before: Vec<(String, TreeEntry)>,
}

impl Rig {
    /// Mounts the seed on `backend` as the preopen `/` (fd 3).
    pub fn new(backend: Backend, seed: &[(String, TreeEntry)]) -> Rig {
        Rig::configured(backend, seed, |builder| builder)
    }

    /// [`Rig::new`], with `configure` adding grants (a policy, say) to the context.
    pub fn configured(
        backend: Backend,
        seed: &[(String, TreeEntry)],
        configure: impl FnOnce(WasiCtxBuilder) -> WasiCtxBuilder,
    ) -> Rig {
        let temp = tempfile::Builder::new()
            .prefix("warden-model-")
            .tempdir()
            .unwrap();
        fs::create_dir(temp.path().join("mnt")).unwrap();
        write_tree(&temp.path().join("mnt"), seed);
        // Things a confined guest must never reach: a canary and a link back in.
        fs::create_dir(temp.path().join("outside")).unwrap();
        fs::write(temp.path().join("outside/canary"), "keep").unwrap();
        // Best effort: where the host cannot hold links, there is no link back to follow.
        super::backend::host_symlink("../mnt", temp.path().join("outside/back"));
        let mnt = temp.path().join("mnt");
        let (builder, mounted) = backend.mount(configure(WasiCtx::builder()), "/", &mnt);
        let mut rig = Rig {
            backend,
            driver: Driver::new(builder.build()),
            mounted,
            temp,
            outside_before: Vec::new(),
        };
        rig.outside_before = rig.outside();
        rig
    }

    fn root(&self) -> PathBuf {
        self.temp.path().to_path_buf()
    }

    /// Everything on the host the guest must not change: all of the temp dir for an overlay
    /// (its lower layer included), everything but `mnt/` for a host mount. Nothing for memory,
    /// which copied the seed before the guest started (walking the temp dir after every step
    /// would only slow the plans down).
    fn outside(&self) -> Vec<(String, TreeEntry)> {
        if self.backend == Backend::Mem {
            return Vec::new();
        }
        let all = host_tree(&self.root());
        if self.backend.writes_host() {
            all.into_iter()
                .filter(|(p, _)| p != "mnt" && !p.starts_with("mnt/"))
                .collect()
        } else {
            all
        }
    }

    /// Whether the host outside the mount is exactly as it was.
    pub fn outside_unchanged(&self) -> Result<(), String> {
        let now = self.outside();
        if now == self.outside_before {
            Ok(())
        } else {
            Err(format!(
                "the host outside the mount changed:\nbefore {:?}\nafter  {:?}",
                self.outside_before, now
            ))
        }
    }

    /// The tree below the mount as the guest sees it.
    pub fn tree(&self) -> Vec<(String, TreeEntry)> {
        self.mounted.tree()
    }

    /// Bytes and inodes the in-memory filesystem holds (Mem only).
    pub fn usage(&self) -> Option<wasi_warden::vfs::MemUsage> {
        self.mounted.mem().map(|m| m.usage())
    }

    /// Applies one op through the syscall layer.
    pub fn apply(&mut self, op: &Op) -> Outcome {
        apply(&mut self.driver, op)
    }
}

fn fd(i: u8) -> u64 {
    u64::from(FDS[i as usize % FDS.len()])
}

/// Places `s` at `addr`; returns (ptr, len) as call arguments.
fn put(d: &mut Driver, addr: u32, s: &str) -> [u64; 2] {
    d.write(addr, s.as_bytes());
    [u64::from(addr), s.len() as u64]
}

/// An errno answer as an Outcome, or `ok()` on success.
fn answer(d: &mut Driver, name: &str, args: &[u64], ok: impl FnOnce(&Driver) -> Value) -> Outcome {
    match d.errno(name, args) {
        0 => Ok(ok(d)),
        e => Err(e),
    }
}

/// Lays out iovecs over `lens` consecutive buffers starting at DATA (100 bytes apart).
fn iovecs(d: &mut Driver, lens: &[u32]) -> [u64; 2] {
    for (i, len) in lens.iter().enumerate() {
        let at = IOVS + 8 * i as u32;
        d.write(at, &(DATA + 100 * i as u32).to_le_bytes());
        d.write(at + 4, &len.to_le_bytes());
    }
    [u64::from(IOVS), lens.len() as u64]
}

/// Splits a length in two iovecs when it is long enough to make that interesting.
fn split_len(len: usize) -> Vec<u32> {
    if len > 4 {
        vec![4, len as u32 - 4]
    } else {
        vec![len as u32]
    }
}

/// Reads `n` bytes back from the iovec buffers `lens` describes.
fn gather(d: &Driver, lens: &[u32], mut n: u32) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, len) in lens.iter().enumerate() {
        let k = n.min(*len);
        out.extend(d.read(DATA + 100 * i as u32, k));
        n -= k;
    }
    out
}

fn stat_at(d: &Driver, addr: u32) -> Value {
    let filetype = d.read(addr + 16, 1)[0];
    let dir = filetype == 3;
    Value::Stat(Stat {
        filetype,
        size: (!dir).then(|| d.u64_at(addr + 32)),
        nlink: (!dir).then(|| d.u64_at(addr + 24)),
        mtim: Some(d.u64_at(addr + 48)),
    })
}

/// (value, flags) of one time of a set_times call: ATIM/MTIM = `set`, *_NOW = `now`.
fn time(t: TimeSel, set: u64, now: u64) -> (u64, u64) {
    match t {
        TimeSel::Keep => (0, 0),
        TimeSel::Now => (0, now),
        TimeSel::At(secs) => (u64::from(secs) * 1_000_000_000, set),
        TimeSel::Both => (0, set | now),
    }
}

fn times(atim: TimeSel, mtim: TimeSel) -> [u64; 3] {
    let (a, af) = time(atim, 1, 2);
    let (m, mf) = time(mtim, 4, 8);
    [a, m, af | mf]
}

/// Applies `op` through the driver; what the syscall(s) answered.
pub fn apply(d: &mut Driver, op: &Op) -> Outcome {
    match op {
        Op::Open {
            dir,
            follow,
            path,
            oflags,
            rights,
            fdflags,
        } => {
            let [p, l] = put(d, PATH1, &path.render());
            let r = rights_of(*rights).bits();
            let args = [
                fd(*dir),
                u64::from(*follow),
                p,
                l,
                u64::from(*oflags),
                r,
                r,
                u64::from(*fdflags),
                u64::from(OUT),
            ];
            answer(d, "path_open", &args, |d| Value::Fd(d.u32_at(OUT)))
        }
        Op::Read { fd: f, len } => {
            let lens = split_len(*len as usize);
            let [iov, n] = iovecs(d, &lens);
            let args = [fd(*f), iov, n, u64::from(OUT)];
            answer(d, "fd_read", &args, |d| {
                Value::Bytes(gather(d, &lens, d.u32_at(OUT)))
            })
        }
        Op::Pread { fd: f, len, offset } => {
            let lens = split_len(*len as usize);
            let [iov, n] = iovecs(d, &lens);
            let args = [fd(*f), iov, n, u64::from(*offset), u64::from(OUT)];
            answer(d, "fd_pread", &args, |d| {
                Value::Bytes(gather(d, &lens, d.u32_at(OUT)))
            })
        }
        Op::Write { fd: f, data } | Op::Pwrite { fd: f, data, .. } => {
            let lens = split_len(data.len());
            let [iov, n] = iovecs(d, &lens);
            d.write(DATA, &data[..data.len().min(4)]);
            if data.len() > 4 {
                d.write(DATA + 100, &data[4..]);
            }
            let out = u64::from(OUT);
            match op {
                Op::Pwrite { offset, .. } => {
                    let args = [fd(*f), iov, n, u64::from(*offset), out];
                    answer(d, "fd_pwrite", &args, |d| Value::Size(d.u32_at(OUT).into()))
                }
                _ => answer(d, "fd_write", &[fd(*f), iov, n, out], |d| {
                    Value::Size(d.u32_at(OUT).into())
                }),
            }
        }
        Op::Seek {
            fd: f,
            offset,
            whence,
        } => {
            let w = match whence {
                Whence::Set => 0,
                Whence::Cur => 1,
                Whence::End => 2,
                Whence::Bad => 3,
            };
            let args = [fd(*f), *offset as i64 as u64, w, u64::from(OUT)];
            answer(d, "fd_seek", &args, |d| Value::Size(d.u64_at(OUT)))
        }
        Op::Tell { fd: f } => answer(d, "fd_tell", &[fd(*f), u64::from(OUT)], |d| {
            Value::Size(d.u64_at(OUT))
        }),
        Op::SetSize { fd: f, size } => answer(
            d,
            "fd_filestat_set_size",
            &[fd(*f), u64::from(*size)],
            |_| Value::Unit,
        ),
        Op::SetAppend { fd: f, append } => answer(
            d,
            "fd_fdstat_set_flags",
            &[fd(*f), u64::from(*append)],
            |_| Value::Unit,
        ),
        Op::FdStat { fd: f } => answer(d, "fd_filestat_get", &[fd(*f), u64::from(OUT)], |d| {
            stat_at(d, OUT)
        }),
        Op::FdSetTimes { fd: f, atim, mtim } => {
            let [a, m, flags] = times(*atim, *mtim);
            answer(d, "fd_filestat_set_times", &[fd(*f), a, m, flags], |_| {
                Value::Unit
            })
        }
        Op::Stat { dir, follow, path } => {
            let [p, l] = put(d, PATH1, &path.render());
            let args = [fd(*dir), u64::from(*follow), p, l, u64::from(OUT)];
            answer(d, "path_filestat_get", &args, |d| stat_at(d, OUT))
        }
        Op::SetTimes {
            dir,
            follow,
            path,
            atim,
            mtim,
        } => {
            let [p, l] = put(d, PATH1, &path.render());
            let [a, m, flags] = times(*atim, *mtim);
            let args = [fd(*dir), u64::from(*follow), p, l, a, m, flags];
            answer(d, "path_filestat_set_times", &args, |_| Value::Unit)
        }
        Op::Mkdir { dir, path } => path_call(d, "path_create_directory", *dir, &path.render()),
        Op::Rmdir { dir, path } => path_call(d, "path_remove_directory", *dir, &path.render()),
        Op::Unlink { dir, path } => path_call(d, "path_unlink_file", *dir, &path.render()),
        Op::Symlink { target, dir, path } => {
            let target = TARGETS[*target as usize % TARGETS.len()];
            let [tp, tl] = put(d, PATH2, target);
            let [p, l] = put(d, PATH1, &path.render());
            answer(d, "path_symlink", &[tp, tl, fd(*dir), p, l], |_| {
                Value::Unit
            })
        }
        Op::Readlink { dir, path, cap } => {
            let [p, l] = put(d, PATH1, &path.render());
            let args = [
                fd(*dir),
                p,
                l,
                u64::from(DATA),
                u64::from(*cap),
                u64::from(OUT),
            ];
            answer(d, "path_readlink", &args, |d| {
                Value::Bytes(d.read(DATA, d.u32_at(OUT)))
            })
        }
        Op::Link {
            dir,
            follow,
            old,
            new_dir,
            new,
        } => {
            let [op, ol] = put(d, PATH1, &old.render());
            let [np, nl] = put(d, PATH2, &new.render());
            let args = [fd(*dir), u64::from(*follow), op, ol, fd(*new_dir), np, nl];
            answer(d, "path_link", &args, |_| Value::Unit)
        }
        Op::Rename {
            dir,
            old,
            new_dir,
            new,
        } => {
            let [op, ol] = put(d, PATH1, &old.render());
            let [np, nl] = put(d, PATH2, &new.render());
            let args = [fd(*dir), op, ol, fd(*new_dir), np, nl];
            answer(d, "path_rename", &args, |_| Value::Unit)
        }
        Op::Readdir { fd: f, buf } => readdir(d, fd(*f), u32::from(*buf)),
        Op::Renumber { from, to } => {
            answer(d, "fd_renumber", &[fd(*from), fd(*to)], |_| Value::Unit)
        }
        Op::Close { fd: f } => answer(d, "fd_close", &[fd(*f)], |_| Value::Unit),
    }
}

fn path_call(d: &mut Driver, name: &str, dir: u8, path: &str) -> Outcome {
    let [p, l] = put(d, PATH1, path);
    answer(d, name, &[fd(dir), p, l], |_| Value::Unit)
}

/// A whole listing through fd_readdir, paged as wasi-libc does: resume from the last whole
/// entry's cookie; a buffer too small for one entry is doubled. Panics if paging never ends,
/// if a short read ends in a partial entry, or if cookies go backwards.
pub fn readdir(d: &mut Driver, fd: u64, buf: u32) -> Outcome {
    let mut size = buf.max(1);
    let mut cookie = 0u64;
    let mut list = Vec::new();
    for _ in 0..1000 {
        let args = [
            fd,
            u64::from(DIRBUF),
            u64::from(size),
            cookie,
            u64::from(OUT),
        ];
        match d.errno("fd_readdir", &args) {
            0 => {}
            e => return Err(e),
        }
        let n = d.u32_at(OUT);
        assert!(n <= size, "fd_readdir wrote {n} bytes into {size}");
        let bytes = d.read(DIRBUF, n);
        let mut at = 0usize;
        let mut whole = 0;
        while at + 24 <= bytes.len() {
            let next = u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap());
            let namlen = u32::from_le_bytes(bytes[at + 16..at + 20].try_into().unwrap()) as usize;
            let filetype = bytes[at + 20];
            assert_eq!(
                &bytes[at + 21..at + 24],
                &[0, 0, 0],
                "dirent padding not zeroed"
            );
            if at + 24 + namlen > bytes.len() {
                break;
            }
            let name = String::from_utf8_lossy(&bytes[at + 24..at + 24 + namlen]).into_owned();
            assert!(
                next > cookie,
                "fd_readdir cookie went from {cookie} to {next}"
            );
            list.push((name, filetype));
            cookie = next;
            at += 24 + namlen;
            whole += 1;
        }
        if n < size {
            assert_eq!(
                at,
                bytes.len(),
                "a short fd_readdir ended in a partial entry"
            );
            list.sort();
            return Ok(Value::Listing(list));
        }
        if whole == 0 {
            size = (size * 2).min(DIRBUF_MAX);
        }
    }
    panic!("fd_readdir paging did not end after 1000 calls");
}
