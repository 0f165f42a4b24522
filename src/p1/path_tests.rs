//! Syscall-level tests of the path group (and fd_readdir) on an in-memory mount, calling the
//! functions directly with a host buffer as guest memory: errno by errno, no wasm needed.

use super::*;
use crate::p1::fd_readdir::fd_readdir;
use crate::table::Kind;
use crate::vfs::MemFs;

/// The preopen's fd: stdio takes 0–2.
const ROOT: u32 = 3;
/// Where the test writes path strings in guest memory.
const STRINGS: u32 = 1024;
/// Where output buffers start.
const OUT: u32 = 32 * 1024;

struct T {
    ctx: WasiCtx,
    mem: Vec<u8>,
}

type R<X> = Result<X, Errno>;

fn errno<X>(r: Result<X, Error>) -> R<X> {
    r.map_err(|e| e.downcast().expect("an errno, not a trap"))
}

impl T {
    fn new() -> T {
        T::with(WasiCtx::builder().mount("/", MemFs::new()))
    }

    fn with(builder: crate::WasiCtxBuilder) -> T {
        T {
            ctx: builder.build(),
            mem: vec![0; 64 * 1024],
        }
    }

    /// Runs `f` with the given strings placed in guest memory.
    fn call<X>(
        &mut self,
        strings: &[&str],
        f: impl FnOnce(&mut WasiCtx, &mut GuestMemory<'_>, &[GuestPtr<str>]) -> X,
    ) -> X {
        let mut ptrs = Vec::new();
        let mut at = STRINGS;
        for s in strings {
            let start = at as usize;
            self.mem[start..start + s.len()].copy_from_slice(s.as_bytes());
            ptrs.push(GuestPtr::new((at, s.len() as u32)));
            at += s.len() as u32 + 1;
        }
        let mut mem = GuestMemory::Unshared(&mut self.mem);
        f(&mut self.ctx, &mut mem, &ptrs)
    }

    fn mkdir(&mut self, fd: u32, path: &str) -> R<()> {
        errno(self.call(&[path], |c, m, p| {
            path_create_directory(c, m, fd.into(), p[0])
        }))
    }

    fn open(&mut self, fd: u32, path: &str, o: Oflags, base: Rights, fl: Fdflags) -> R<u32> {
        self.open_follow(fd, path, Lookupflags::empty(), o, base, fl)
    }

    fn open_follow(
        &mut self,
        fd: u32,
        path: &str,
        look: Lookupflags,
        o: Oflags,
        base: Rights,
        fl: Fdflags,
    ) -> R<u32> {
        errno(self.call(&[path], |c, m, p| {
            path_open(c, m, fd.into(), look, p[0], o, base, Rights::all(), fl)
        }))
        .map(u32::from)
    }

    fn create(&mut self, path: &str) -> R<u32> {
        let rw = Rights::FD_READ | Rights::FD_WRITE;
        self.open(ROOT, path, Oflags::CREAT, rw, Fdflags::empty())
    }

    fn stat(&mut self, path: &str, follow: bool) -> R<Filestat> {
        let flags = if follow {
            Lookupflags::SYMLINK_FOLLOW
        } else {
            Lookupflags::empty()
        };
        errno(self.call(&[path], |c, m, p| {
            path_filestat_get(c, m, ROOT.into(), flags, p[0])
        }))
    }

    fn symlink(&mut self, target: &str, path: &str) -> R<()> {
        errno(self.call(&[target, path], |c, m, p| {
            path_symlink(c, m, p[0], ROOT.into(), p[1])
        }))
    }

    fn unlink(&mut self, path: &str) -> R<()> {
        errno(self.call(&[path], |c, m, p| path_unlink_file(c, m, ROOT.into(), p[0])))
    }

    fn rmdir(&mut self, path: &str) -> R<()> {
        errno(self.call(&[path], |c, m, p| {
            path_remove_directory(c, m, ROOT.into(), p[0])
        }))
    }

    fn rename(&mut self, old: &str, new: &str) -> R<()> {
        errno(self.call(&[old, new], |c, m, p| {
            path_rename(c, m, ROOT.into(), p[0], ROOT.into(), p[1])
        }))
    }

    fn link(&mut self, flags: Lookupflags, old: &str, new: &str) -> R<()> {
        errno(self.call(&[old, new], |c, m, p| {
            path_link(c, m, ROOT.into(), flags, p[0], ROOT.into(), p[1])
        }))
    }

    fn readlink(&mut self, path: &str, cap: u32) -> R<String> {
        let n = errno(self.call(&[path], |c, m, p| {
            path_readlink(c, m, ROOT.into(), p[0], GuestPtr::new(OUT), cap)
        }))?;
        let bytes = &self.mem[OUT as usize..(OUT + n) as usize];
        Ok(String::from_utf8_lossy(bytes).into_owned())
    }

    fn readdir(&mut self, fd: u32, cap: u32, cookie: u64) -> R<Vec<u8>> {
        let n = errno(self.call(&[], |c, m, _| {
            fd_readdir(c, m, fd.into(), GuestPtr::new(OUT), cap, cookie)
        }))?;
        Ok(self.mem[OUT as usize..(OUT + n) as usize].to_vec())
    }
}

use Errno::*;

#[test]
fn create_directory_errnos() {
    let mut t = T::new();
    assert_eq!(t.mkdir(ROOT, "d"), Ok(()));
    assert_eq!(t.mkdir(ROOT, "d"), Err(Exist));
    assert_eq!(t.mkdir(ROOT, "."), Err(Exist));
    assert_eq!(t.mkdir(ROOT, "d/.."), Err(Exist));
    assert_eq!(t.mkdir(ROOT, "new/"), Ok(()));
    assert_eq!(t.mkdir(ROOT, "d/e//"), Ok(()));
    assert_eq!(t.mkdir(ROOT, ".."), Err(Perm));
    assert_eq!(t.mkdir(ROOT, "../x"), Err(Perm));
    assert_eq!(t.mkdir(ROOT, "d/../../x"), Err(Perm));
    assert_eq!(t.mkdir(ROOT, "/abs"), Err(Perm));
    assert_eq!(t.mkdir(ROOT, ""), Err(Noent));
    assert_eq!(t.mkdir(ROOT, "a\0b"), Err(Inval));
    assert_eq!(t.mkdir(ROOT, &"n".repeat(256)), Err(Nametoolong));
    assert_eq!(t.mkdir(ROOT, &"n".repeat(255)), Ok(()));
    assert_eq!(t.mkdir(ROOT, "missing/x"), Err(Noent));
    t.symlink("nowhere", "dangling").unwrap();
    assert_eq!(t.mkdir(ROOT, "dangling"), Err(Exist));
    assert_eq!(t.mkdir(ROOT, "dangling/"), Err(Exist));
}

#[test]
fn descriptor_checks_come_from_the_table() {
    let mut t = T::new();
    assert_eq!(t.mkdir(99, "d"), Err(Badf));
    assert_eq!(t.mkdir(1, "d"), Err(Badf), "stdout is not a directory");
    t.mkdir(ROOT, "d").unwrap();
    // A directory opened with only PATH_OPEN cannot create anything.
    let dir_fd = t
        .open(
            ROOT,
            "d",
            Oflags::DIRECTORY,
            Rights::PATH_OPEN,
            Fdflags::empty(),
        )
        .unwrap();
    assert_eq!(t.mkdir(dir_fd, "x"), Err(Notcapable));
    let file = t.create("f").unwrap();
    assert_eq!(t.mkdir(file, "x"), Err(Badf));
}

#[test]
fn path_open_needs_the_right_each_flag_names() {
    let mut t = T::new();
    t.mkdir(ROOT, "d").unwrap();
    let f = t.create("d/f").unwrap();
    if let Ok(crate::table::Kind::File(open)) = t.ctx.table.get(f).map(|d| &d.kind) {
        open.file.write_at(b"xyz", 0).unwrap();
    }
    let none = Fdflags::empty();
    let r = Rights::FD_READ;
    // (right the directory lacks, oflags, answer): each flag needs its own right, as the spec
    // lists them; O_TRUNC needs PATH_FILESTAT_SET_SIZE even with read rights only.
    let rows = [
        (Rights::PATH_OPEN, Oflags::empty(), Err(Notcapable)),
        (Rights::PATH_CREATE_FILE, Oflags::CREAT, Err(Notcapable)),
        (Rights::PATH_CREATE_FILE, Oflags::empty(), Ok(())),
        (
            Rights::PATH_FILESTAT_SET_SIZE,
            Oflags::TRUNC,
            Err(Notcapable),
        ),
        (
            Rights::PATH_FILESTAT_SET_SIZE,
            Oflags::CREAT | Oflags::TRUNC,
            Err(Notcapable),
        ),
        (Rights::PATH_FILESTAT_SET_SIZE, Oflags::CREAT, Ok(())),
        (Rights::PATH_FILESTAT_SET_SIZE, Oflags::empty(), Ok(())),
    ];
    for (missing, oflags, want) in rows {
        let dir_rights = Rights::all()
            .difference(missing)
            .difference(Rights::FD_WRITE);
        let d = errno(t.call(&["d"], |c, m, p| {
            path_open(
                c,
                m,
                ROOT.into(),
                Lookupflags::empty(),
                p[0],
                Oflags::DIRECTORY,
                dir_rights,
                dir_rights,
                none,
            )
        }))
        .map(u32::from)
        .unwrap();
        let got = t.open(d, "f", oflags, r, none).map(|_| ());
        assert_eq!(got, want, "without {missing:?}, {oflags:?}");
    }
    // Nothing was truncated on the way.
    assert_eq!(t.stat("d/f", false).map(|s| s.size), Ok(3));
    // The preopen holds every one of them.
    assert!(t.open(ROOT, "d/f", Oflags::TRUNC, r, none).is_ok());
}

#[test]
fn path_open_flags_and_kinds() {
    let mut t = T::new();
    let none = Fdflags::empty();
    let r = Rights::FD_READ;
    t.mkdir(ROOT, "d").unwrap();
    let f = t.create("f").unwrap();
    assert!(f > ROOT);
    assert_eq!(
        t.open(ROOT, "f", Oflags::CREAT | Oflags::EXCL, r, none),
        Err(Exist)
    );
    assert_eq!(t.open(ROOT, "f", Oflags::DIRECTORY, r, none), Err(Notdir));
    assert_eq!(t.open(ROOT, "f/", Oflags::empty(), r, none), Err(Notdir));
    assert_eq!(
        t.open(ROOT, "missing", Oflags::empty(), r, none),
        Err(Noent)
    );
    assert_eq!(t.open(ROOT, "new/", Oflags::CREAT, r, none), Err(Isdir));
    let bad = Oflags::DIRECTORY | Oflags::CREAT;
    assert_eq!(t.open(ROOT, "x", bad, r, none), Err(Inval));
    let trunc_dir = Oflags::DIRECTORY | Oflags::TRUNC;
    assert_eq!(t.open(ROOT, "d", trunc_dir, r, none), Err(Inval));
    assert_eq!(t.open(ROOT, "d", Oflags::TRUNC, r, none), Err(Isdir));
    assert_eq!(
        t.open(ROOT, "d", Oflags::empty(), Rights::FD_WRITE, none),
        Err(Isdir)
    );
    assert_eq!(t.open(ROOT, "d", Oflags::CREAT, r, none), Err(Isdir));
    assert_eq!(
        t.open(ROOT, "f", Oflags::empty(), r, Fdflags::SYNC),
        Err(Notsup)
    );
    assert_eq!(t.open(ROOT, "../f", Oflags::empty(), r, none), Err(Perm));
    // Directories open as directory descriptors, with only directory rights.
    let all_but_write = Rights::all() - Rights::FD_WRITE;
    let d = t
        .open(ROOT, "d", Oflags::empty(), all_but_write, none)
        .unwrap();
    let desc = t.ctx.table.get(d).unwrap();
    assert!(matches!(desc.kind, Kind::Dir(_)));
    assert!(!desc.base.contains(Rights::FD_READ));
    assert!(desc.base.contains(Rights::PATH_OPEN | Rights::FD_READDIR));
    let dot = t.open(ROOT, ".", Oflags::DIRECTORY, r, none).unwrap();
    assert!(matches!(t.ctx.table.get(dot).unwrap().kind, Kind::Dir(_)));
    // Files get file rights only, narrowed by the directory's inheriting rights.
    let desc = t.ctx.table.get(f).unwrap();
    assert!(matches!(desc.kind, Kind::File(_)));
    assert_eq!(desc.base, Rights::FD_READ | Rights::FD_WRITE);
    // Symlinks: ELOOP without SYMLINK_FOLLOW, the target with it, EEXIST under O_EXCL.
    t.symlink("f", "lf").unwrap();
    assert_eq!(t.open(ROOT, "lf", Oflags::empty(), r, none), Err(Loop));
    assert_eq!(t.open(ROOT, "lf", Oflags::DIRECTORY, r, none), Err(Loop));
    let follow = Lookupflags::SYMLINK_FOLLOW;
    assert!(
        t.open_follow(ROOT, "lf", follow, Oflags::empty(), r, none)
            .is_ok()
    );
    let excl = Oflags::CREAT | Oflags::EXCL;
    assert_eq!(t.open_follow(ROOT, "lf", follow, excl, r, none), Err(Exist));
    // A dangling symlink followed with CREAT creates its target, inside the mount only.
    t.symlink("made", "to_made").unwrap();
    assert!(
        t.open_follow(ROOT, "to_made", follow, Oflags::CREAT, r, none)
            .is_ok()
    );
    assert_eq!(
        t.stat("made", false).map(|s| s.filetype),
        Ok(Filetype::RegularFile)
    );
    t.symlink("../out", "escape").unwrap();
    let escape = t.open_follow(ROOT, "escape", follow, Oflags::CREAT, r, none);
    assert_eq!(escape, Err(Perm));
}

#[test]
fn path_open_respects_the_fd_cap() {
    let mut t = T::with(WasiCtx::builder().mount("/", MemFs::new()).max_fds(5));
    t.create("f").unwrap();
    let r = Rights::FD_READ;
    assert_eq!(
        t.open(ROOT, "f", Oflags::empty(), r, Fdflags::empty()),
        Err(Mfile)
    );
}

#[test]
fn filestat_get_and_set_times() {
    let mut t = T::new();
    t.mkdir(ROOT, "d").unwrap();
    t.create("f").unwrap();
    t.symlink("f", "lf").unwrap();
    assert_eq!(t.stat("d", false).unwrap().filetype, Filetype::Directory);
    assert_eq!(t.stat(".", false).unwrap().filetype, Filetype::Directory);
    assert_eq!(t.stat("d/..", false).unwrap().filetype, Filetype::Directory);
    assert_eq!(t.stat("f", false).unwrap().filetype, Filetype::RegularFile);
    assert_eq!(
        t.stat("lf", false).unwrap().filetype,
        Filetype::SymbolicLink
    );
    assert_eq!(t.stat("lf", true).unwrap().filetype, Filetype::RegularFile);
    assert_eq!(t.stat("f/", false), Err(Notdir));
    assert_eq!(t.stat("missing", false), Err(Noent));
    assert_eq!(t.stat("..", false), Err(Perm));
    let set = |t: &mut T, path: &str, flags: Fstflags| {
        errno(t.call(&[path], |c, m, p| {
            let look = Lookupflags::empty();
            path_filestat_set_times(c, m, ROOT.into(), look, p[0], 5, 7_000_000_000, flags)
        }))
    };
    let both = Fstflags::ATIM | Fstflags::ATIM_NOW;
    assert_eq!(set(&mut t, "f", both), Err(Inval));
    assert_eq!(
        set(&mut t, "..", both),
        Err(Inval),
        "flags are checked first"
    );
    assert_eq!(set(&mut t, "f", Fstflags::ATIM | Fstflags::MTIM), Ok(()));
    let st = t.stat("f", false).unwrap();
    assert_eq!((st.atim, st.mtim), (5, 7_000_000_000));
    assert_eq!(set(&mut t, "missing", Fstflags::MTIM), Err(Noent));
}

#[test]
fn readlink_and_symlink() {
    let mut t = T::new();
    t.mkdir(ROOT, "d").unwrap();
    t.create("f").unwrap();
    assert_eq!(t.symlink("d/target", "l"), Ok(()));
    assert_eq!(t.readlink("l", 100).as_deref(), Ok("d/target"));
    assert_eq!(
        t.readlink("l", 3).as_deref(),
        Ok("d/t"),
        "truncated like wasmtime"
    );
    assert_eq!(t.readlink("l", 0).as_deref(), Ok(""));
    assert_eq!(t.readlink("f", 100), Err(Inval));
    assert_eq!(t.readlink(".", 100), Err(Inval));
    assert_eq!(t.readlink("missing", 100), Err(Noent));
    assert_eq!(t.symlink("/etc/passwd", "abs"), Err(Perm));
    assert_eq!(t.symlink("", "empty"), Err(Noent));
    assert_eq!(t.symlink("f", "l"), Err(Exist));
    assert_eq!(t.symlink("f", "."), Err(Exist));
    assert_eq!(t.symlink("f", "new/"), Err(Noent));
    assert_eq!(t.symlink("f", "../x"), Err(Perm));
    // A relative target that would escape is stored, and refused when followed.
    assert_eq!(t.symlink("../../up", "up"), Ok(()));
    assert_eq!(t.stat("up", true), Err(Perm));
}

#[test]
fn unlink_and_remove_directory() {
    let mut t = T::new();
    t.mkdir(ROOT, "d").unwrap();
    t.mkdir(ROOT, "full").unwrap();
    t.create("f").unwrap();
    t.create("full/x").unwrap();
    t.symlink("d", "ld").unwrap();
    assert_eq!(t.unlink("d"), Err(Isdir));
    assert_eq!(t.unlink("."), Err(Isdir));
    assert_eq!(t.unlink("d/"), Err(Isdir));
    assert_eq!(t.unlink("f/"), Err(Notdir));
    assert_eq!(t.unlink("missing"), Err(Noent));
    assert_eq!(t.unlink("ld/"), Err(Notdir));
    assert_eq!(
        t.unlink("ld"),
        Ok(()),
        "removes the link, not the directory"
    );
    assert_eq!(
        t.stat("d", false).map(|s| s.filetype),
        Ok(Filetype::Directory)
    );
    assert_eq!(t.unlink("f"), Ok(()));
    assert_eq!(t.stat("f", false), Err(Noent));
    assert_eq!(t.rmdir("."), Err(Inval));
    assert_eq!(t.rmdir("d/.."), Err(Inval));
    assert_eq!(t.rmdir(".."), Err(Perm));
    assert_eq!(t.rmdir("full"), Err(Notempty));
    assert_eq!(t.rmdir("full/x"), Err(Notdir));
    assert_eq!(t.rmdir("missing"), Err(Noent));
    assert_eq!(t.rmdir("d/"), Ok(()));
    assert_eq!(t.stat("d", false), Err(Noent));
}

#[test]
fn rename_and_link() {
    let mut t = T::new();
    t.mkdir(ROOT, "d").unwrap();
    t.create("f").unwrap();
    assert_eq!(t.rename("f", "g"), Ok(()));
    assert_eq!(t.stat("f", false), Err(Noent));
    assert_eq!(t.rename("missing", "x"), Err(Noent));
    assert_eq!(t.rename(".", "x"), Err(Busy));
    assert_eq!(t.rename("g", "."), Err(Busy));
    assert_eq!(t.rename("g", "x/"), Err(Notdir));
    assert_eq!(t.rename("g/", "x"), Err(Notdir));
    assert_eq!(t.rename("g", "../x"), Err(Perm));
    assert_eq!(t.rename("d", "d/sub"), Err(Inval));
    assert_eq!(t.rename("d/", "e/"), Ok(()));
    assert_eq!(t.link(Lookupflags::empty(), "g", "h"), Ok(()));
    assert_eq!(t.stat("g", false).unwrap().nlink, 2);
    assert_eq!(t.link(Lookupflags::SYMLINK_FOLLOW, "g", "i"), Err(Inval));
    assert_eq!(t.link(Lookupflags::empty(), "e", "i"), Err(Perm));
    assert_eq!(t.link(Lookupflags::empty(), ".", "i"), Err(Perm));
    assert_eq!(t.link(Lookupflags::empty(), "g", "h"), Err(Exist));
    assert_eq!(t.link(Lookupflags::empty(), "g/", "i"), Err(Notdir));
    assert_eq!(t.link(Lookupflags::empty(), "missing", "i"), Err(Noent));
    assert_eq!(t.link(Lookupflags::empty(), "g", "../i"), Err(Perm));
}

/// Parses fd_readdir output into (d_next, d_namlen, d_type, name) tuples.
fn parse_dirents(mut buf: &[u8]) -> Vec<(u64, u32, u8, String)> {
    let mut out = Vec::new();
    while buf.len() >= 24 {
        let next = u64::from_le_bytes(buf[0..8].try_into().unwrap());
        let namlen = u32::from_le_bytes(buf[16..20].try_into().unwrap());
        assert_eq!(&buf[21..24], &[0, 0, 0], "padding must be zero");
        let end = (24 + namlen as usize).min(buf.len());
        let name = String::from_utf8_lossy(&buf[24..end]).into_owned();
        out.push((next, namlen, buf[20], name));
        buf = &buf[end..];
    }
    out
}

#[test]
fn readdir_lists_truncates_and_resumes() {
    let mut t = T::new();
    t.mkdir(ROOT, "sub").unwrap();
    t.create("file").unwrap();
    let all = parse_dirents(&t.readdir(ROOT, 4096, 0).unwrap());
    let names: Vec<&str> = all.iter().map(|e| e.3.as_str()).collect();
    assert_eq!(&names[..2], &[".", ".."]);
    let mut rest = names[2..].to_vec();
    rest.sort_unstable();
    assert_eq!(rest, ["file", "sub"]);
    let types: Vec<u8> = all.iter().map(|e| e.2).collect();
    assert_eq!(types[0], Filetype::Directory as u8);
    // Resuming from the cookie after `..` skips `.` and `..`.
    let resumed = parse_dirents(&t.readdir(ROOT, 4096, all[1].0).unwrap());
    assert_eq!(resumed.len(), 2);
    assert_eq!(resumed[0].3, names[2]);
    // A buffer that ends mid-entry is filled exactly: the caller retries bigger.
    let full = t.readdir(ROOT, 30, 0).unwrap();
    assert_eq!(full.len(), 30);
    assert_eq!(t.readdir(ROOT, 0, 0).unwrap().len(), 0);
    // Past the end: nothing.
    let end = all.last().unwrap().0;
    assert_eq!(t.readdir(ROOT, 4096, end).unwrap().len(), 0);
    // Rights and kinds.
    assert_eq!(t.readdir(1, 100, 0), Err(Badf));
    let no_readdir = t
        .open(
            ROOT,
            "sub",
            Oflags::DIRECTORY,
            Rights::PATH_OPEN,
            Fdflags::empty(),
        )
        .unwrap();
    assert_eq!(t.readdir(no_readdir, 100, 0), Err(Notcapable));
}

#[test]
fn readdir_handles_many_entries_in_batches() {
    let mut t = T::new();
    for i in 0..300 {
        t.create(&format!("f{i:03}")).unwrap();
    }
    let buf = t.readdir(ROOT, 30_000, 0).unwrap();
    assert!(buf.len() < 30_000);
    let entries = parse_dirents(&buf);
    assert_eq!(entries.len(), 302);
    // Every entry's cookie resumes right after it.
    let from = parse_dirents(&t.readdir(ROOT, 30_000, entries[150].0).unwrap());
    assert_eq!(from.len(), 302 - 151);
    assert_eq!(from[0].3, entries[151].3);
}

/// Allows everything but checks every call, so path_open and path_filestat_get take their
/// full (resolve-first) path instead of the policy-less fast path.
struct AllowChecked;

impl crate::policy::Policy for AllowChecked {
    fn decide(&self, _: &crate::policy::Request<'_>) -> crate::policy::Decision {
        crate::policy::Decision::Allow
    }
}

/// The fast paths (no policy: one backend call on the final name, falling back on failure)
/// answer exactly what the full paths answer, case by case.
#[test]
fn fast_paths_agree_with_the_full_paths() {
    let setup = |t: &mut T| {
        t.mkdir(ROOT, "d").unwrap();
        t.create("d/f").unwrap();
        t.create("f").unwrap();
        for (target, link) in [("f", "lf"), ("d", "ld"), ("d/", "lds"), ("nowhere", "dang")] {
            t.symlink(target, link).unwrap();
        }
        t.symlink("../..", "d/esc").unwrap();
    };
    let mut fast = T::new();
    let mut full = T::with(
        WasiCtx::builder()
            .mount("/", MemFs::new())
            .policy(AllowChecked),
    );
    setup(&mut fast);
    setup(&mut full);
    let paths = [
        "f",
        "d",
        "d/f",
        "d/./f",
        "d/../f",
        "ld/f",
        "lds/f",
        "lf",
        "ld",
        "lds",
        "dang",
        "missing",
        "d/missing",
        "f/x",
        "d/esc/f",
        "d/esc",
        "..",
        ".",
        "d/",
        "f/",
        "new",
        "d/new",
        "dang/x",
    ];
    let none = Fdflags::empty();
    let r = Rights::FD_READ;
    let rw = Rights::FD_READ | Rights::FD_WRITE;
    let excl = Oflags::CREAT | Oflags::EXCL;
    let oflags = [
        (Oflags::empty(), r),
        (Oflags::empty(), rw),
        (Oflags::TRUNC, rw),
        (Oflags::CREAT, rw),
        (excl, rw),
        (Oflags::DIRECTORY, r),
    ];
    for path in paths {
        for follow in [false, true] {
            let look = if follow {
                Lookupflags::SYMLINK_FOLLOW
            } else {
                Lookupflags::empty()
            };
            let stat = |t: &mut T| t.stat(path, follow).map(|s| (s.filetype, s.ino, s.size));
            assert_eq!(stat(&mut fast), stat(&mut full), "stat {path:?} {follow}");
            for (o, base) in oflags {
                let a = fast.open_follow(ROOT, path, look, o, base, none);
                let b = full.open_follow(ROOT, path, look, o, base, none);
                assert_eq!(
                    a.is_ok(),
                    b.is_ok(),
                    "open {path:?} {o:?} {follow}: {a:?} {b:?}"
                );
                assert_eq!(a.err(), b.err(), "open {path:?} {o:?} {follow}");
                if let (Ok(a), Ok(b)) = (a, b) {
                    // Times differ between the two filesystems; what was opened does not.
                    let brief = |s: crate::vfs::Filestat| (s.filetype, s.ino, s.size);
                    let kind = |t: &T, fd: u32| match &t.ctx.table.get(fd).unwrap().kind {
                        Kind::File(f) => {
                            format!("file {} {:?}", f.guest_path, f.file.stat().map(brief))
                        }
                        Kind::Dir(d) => {
                            format!("dir {} {:?}", d.guest_path, d.dir.stat().map(brief))
                        }
                        _ => "other".to_owned(),
                    };
                    assert_eq!(kind(&fast, a), kind(&full, b), "open {path:?} {o:?}");
                    let rights = |t: &T, fd: u32| t.ctx.table.get(fd).map(|d| (d.base, d.flags));
                    assert_eq!(rights(&fast, a).ok(), rights(&full, b).ok());
                    fast.ctx.table.remove(a).unwrap();
                    full.ctx.table.remove(b).unwrap();
                }
            }
        }
    }
}
