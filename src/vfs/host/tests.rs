//! Unit tests of the host backend on temp dirs: no symlink is ever followed, read-only mounts
//! (the `read_only` wrapper around it) refuse every mutation before the backend is asked, so
//! no mutating host call is ever made; errors map as the memory backend's, and readdir
//! cookies are stable indices into a sorted snapshot.

use std::any::Any;
use std::fs;
use std::os::unix::fs::{MetadataExt, symlink};
use std::path::Path;
use std::sync::{Arc, Mutex};

use super::HostDir;
use crate::vfs::Mount;
use crate::vfs::{
    Dir, DirEntry, File, FileType, Filestat, FsError, FsResult, Node, OpenOptions, SetTime,
    read_only,
};

const CREATE: OpenOptions = OpenOptions {
    create: true,
    exclusive: false,
    truncate: false,
    write: true,
};

fn err<T>(r: FsResult<T>) -> FsError {
    match r {
        Ok(_) => panic!("expected an error"),
        Err(e) => e,
    }
}

fn subdir(dir: &Arc<dyn Dir>, name: &str) -> Arc<dyn Dir> {
    match dir.lookup(name).unwrap() {
        Node::Dir(d) => d,
        other => panic!("{name} is {other:?}"),
    }
}

fn names(dir: &Arc<dyn Dir>) -> Vec<String> {
    let entries = dir.read_dir(0, usize::MAX).unwrap();
    entries.into_iter().map(|e| e.name).collect()
}

/// A temp dir holding `mount/` (what the guest gets) and `outside/` next to it.
fn fixture() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    let m = tmp.path().join("mount");
    fs::create_dir_all(m.join("sub")).unwrap();
    fs::write(m.join("file.txt"), "hello").unwrap();
    fs::write(m.join("sub/inner.txt"), "inner").unwrap();
    fs::create_dir(tmp.path().join("outside")).unwrap();
    fs::write(tmp.path().join("outside/secret"), "secret").unwrap();
    symlink("../outside/secret", m.join("rel_out")).unwrap();
    symlink(tmp.path().join("outside"), m.join("abs_out")).unwrap();
    tmp
}

/// `tmp/mount`, read-write or (through the one read-only wrapper) read-only.
fn mount(tmp: &tempfile::TempDir, read_only: bool) -> Arc<dyn Dir> {
    let host = HostDir::open(tmp.path().join("mount")).unwrap();
    let mount = if read_only {
        Mount::read_only(host)
    } else {
        Mount::from(host)
    };
    mount.dir().clone()
}

/// Every path below `root` with its kind, contents or target, mode, mtime and ctime (not
/// atime: reads may change it). Any change the host accepted moves the ctime.
fn tree(root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let meta = fs::symlink_metadata(&path).unwrap();
            let what = if meta.is_dir() {
                stack.push(path.clone());
                "dir".to_owned()
            } else if meta.is_symlink() {
                format!("link {:?}", fs::read_link(&path).unwrap())
            } else {
                format!("file {:?}", fs::read(&path).unwrap())
            };
            out.push(format!(
                "{} {what} {:o} {:?} {}.{}",
                path.display(),
                meta.mode(),
                meta.modified().ok(),
                meta.ctime(),
                meta.ctime_nsec()
            ));
        }
    }
    out.sort();
    out
}

#[test]
fn symlinks_are_reported_never_followed() {
    let tmp = fixture();
    let root = mount(&tmp, false);
    assert!(
        matches!(root.lookup("rel_out").unwrap(), Node::Symlink(t) if t == "../outside/secret")
    );
    assert!(matches!(root.lookup("abs_out").unwrap(), Node::Symlink(t) if t.starts_with('/')));
    // Opening a symlink by name is O_NOFOLLOW: ELOOP, even with create.
    assert_eq!(
        err(root.open_file("rel_out", OpenOptions::default())),
        FsError::Loop
    );
    assert_eq!(err(root.open_file("abs_out", CREATE)), FsError::Loop);
    assert_eq!(err(root.remove_dir("abs_out")), FsError::NotDir);
    assert_eq!(root.stat_at("abs_out").unwrap().filetype, FileType::Symlink);
    root.unlink("abs_out").unwrap();
    assert!(tmp.path().join("outside/secret").exists());
}

#[test]
fn names_with_separators_never_reach_the_host() {
    let tmp = fixture();
    let root = mount(&tmp, false);
    for bad in ["..", ".", "", "sub/inner.txt", "../outside", "a\0b"] {
        assert_eq!(err(root.lookup(bad)), FsError::Invalid, "{bad:?}");
        assert_eq!(err(root.create_dir(bad)), FsError::Invalid, "{bad:?}");
    }
    assert_eq!(err(root.lookup(&"x".repeat(256))), FsError::NameTooLong);
    assert_eq!(err(root.symlink("l", "/etc")), FsError::Escape);
}

#[test]
fn files_read_write_append_and_grow_sparsely() {
    let tmp = fixture();
    let root = mount(&tmp, false);
    let f = root.open_file("new", CREATE).unwrap();
    assert_eq!(f.write_at(b"abc", 0).unwrap(), 3);
    assert_eq!(f.append(b"def").unwrap(), (3, 6));
    assert_eq!(f.write_at(b"z", 1 << 33).unwrap(), 1);
    assert_eq!(f.stat().unwrap().size, (1 << 33) + 1);
    let mut buf = [0xAA; 8];
    assert_eq!(f.read_at(&mut buf, 0).unwrap(), 8);
    assert_eq!(&buf, b"abcdef\0\0");
    f.set_size(2).unwrap();
    f.allocate(10, 5).unwrap();
    assert_eq!(f.stat().unwrap().size, 15);
    f.allocate(0, 1).unwrap();
    assert_eq!(f.stat().unwrap().size, 15);
    assert_eq!(err(f.write_at(b"x", u64::MAX - 1)), FsError::FileTooBig);
    assert_eq!(f.read_at(&mut buf, u64::MAX).unwrap(), 0);
    let ro = root.open_file("file.txt", OpenOptions::default()).unwrap();
    assert_eq!(err(ro.write_at(b"x", 0)), FsError::Access);
}

#[test]
fn errors_map_like_the_memory_backend() {
    let tmp = fixture();
    let root = mount(&tmp, false);
    assert_eq!(err(root.lookup("missing")), FsError::NotFound);
    assert_eq!(err(root.create_dir("sub")), FsError::Exists);
    assert_eq!(err(root.remove_dir("sub")), FsError::NotEmpty);
    assert_eq!(err(root.remove_dir("file.txt")), FsError::NotDir);
    assert_eq!(err(root.unlink("sub")), FsError::IsDir);
    assert_eq!(err(root.open_file("sub", CREATE)), FsError::IsDir);
    assert_eq!(
        err(root.open_file("sub", OpenOptions::default())),
        FsError::IsDir
    );
    let excl = OpenOptions {
        exclusive: true,
        ..CREATE
    };
    assert_eq!(err(root.open_file("file.txt", excl)), FsError::Exists);
    assert_eq!(err(root.read_link("file.txt")), FsError::Invalid);
    let sub = subdir(&root, "sub");
    assert_eq!(err(root.rename("sub", &*sub, "x")), FsError::Invalid);
    assert_eq!(err(root.link("sub", &*root, "sub2")), FsError::NotPermitted);
    assert_eq!(err(root.link("file.txt", &*root, "sub")), FsError::Exists);
    root.link("file.txt", &*sub, "hard").unwrap();
    assert_eq!(root.stat_at("file.txt").unwrap().nlink, 2);
    root.rename("file.txt", &*sub, "moved").unwrap();
    assert_eq!(
        fs::read(tmp.path().join("mount/sub/moved")).unwrap(),
        b"hello"
    );
}

#[test]
fn stat_and_times_come_from_the_host() {
    let tmp = fixture();
    let root = mount(&tmp, false);
    let st = root.stat_at("file.txt").unwrap();
    assert_eq!(
        (st.filetype, st.size, st.nlink),
        (FileType::RegularFile, 5, 1)
    );
    // A lookup handle is O_PATH: stat and set_times work without opening for I/O.
    let Node::File(f) = root.lookup("file.txt").unwrap() else {
        panic!("not a file")
    };
    assert_eq!(f.stat().unwrap().ino, st.ino);
    f.set_times(SetTime::At(5_000_000_007), SetTime::At(7_000_000_005))
        .unwrap();
    let st = root.stat_at("file.txt").unwrap();
    assert_eq!((st.atim, st.mtim), (5_000_000_007, 7_000_000_005));
    root.set_times_at("rel_out", SetTime::Keep, SetTime::At(1_000_000_000))
        .unwrap();
    assert_eq!(root.stat_at("rel_out").unwrap().mtim, 1_000_000_000);
    subdir(&root, "sub")
        .set_times(SetTime::Now, SetTime::At(3_000_000_000))
        .unwrap();
    assert_eq!(root.stat_at("sub").unwrap().mtim, 3_000_000_000);
}

#[test]
fn read_dir_is_sorted_dots_first_and_cookies_are_stable() {
    let tmp = fixture();
    let root = mount(&tmp, false);
    let all = root.read_dir(0, usize::MAX).unwrap();
    let got: Vec<&str> = all.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(got, [".", "..", "abs_out", "file.txt", "rel_out", "sub"]);
    // The root's `..` is itself: nothing above the mount is revealed.
    assert_eq!(all[1].ino, all[0].ino);
    assert_eq!(all[2].filetype, FileType::Symlink);
    for (i, e) in all.iter().enumerate() {
        let tail = root.read_dir(e.next_cookie, usize::MAX).unwrap();
        assert_eq!(tail, all[i + 1..].to_vec());
    }
    // Added after the snapshot: seen only after a rewind. Removed: still listed until then.
    fs::write(tmp.path().join("mount/aaa"), "").unwrap();
    root.unlink("file.txt").unwrap();
    let page = root.read_dir(3, 1).unwrap();
    assert_eq!(page[0].name, "file.txt");
    assert!(root.read_dir(u64::MAX, 10).unwrap().is_empty());
    assert_eq!(
        names(&root),
        [".", "..", "aaa", "abs_out", "rel_out", "sub"]
    );
    let sub = subdir(&root, "sub");
    let dots = sub.read_dir(0, 2).unwrap();
    assert_eq!(dots[1].ino, all[0].ino);
}

#[test]
fn read_only_mount_refuses_every_mutation_before_the_host() {
    let tmp = fixture();
    let before = tree(tmp.path());
    let root = mount(&tmp, true);
    let rw = mount(&tmp, false);
    let trunc = OpenOptions {
        truncate: true,
        ..OpenOptions::default()
    };
    let create_only = OpenOptions {
        create: true,
        ..OpenOptions::default()
    };
    assert_eq!(err(root.open_file("file.txt", trunc)), FsError::ReadOnly);
    assert_eq!(
        err(root.open_file("file.txt", create_only)),
        FsError::ReadOnly
    );
    assert_eq!(err(root.open_file("file.txt", CREATE)), FsError::ReadOnly);
    assert_eq!(err(root.create_dir("d")), FsError::ReadOnly);
    assert_eq!(err(root.remove_dir("sub")), FsError::ReadOnly);
    assert_eq!(err(root.unlink("file.txt")), FsError::ReadOnly);
    assert_eq!(err(root.symlink("l", "file.txt")), FsError::ReadOnly);
    assert_eq!(err(root.set_times_at("file.txt", T, T)), FsError::ReadOnly);
    assert_eq!(err(root.set_times(T, T)), FsError::ReadOnly);
    // Both sides of two-path operations: out of, and into, the read-only mount.
    assert_eq!(err(root.link("file.txt", &*rw, "l2")), FsError::ReadOnly);
    assert_eq!(err(root.rename("file.txt", &*rw, "r2")), FsError::ReadOnly);
    assert_eq!(err(rw.link("file.txt", &*root, "l3")), FsError::ReadOnly);
    assert_eq!(err(rw.rename("file.txt", &*root, "r3")), FsError::ReadOnly);
    let wrapped = crate::vfs::read_only(Arc::clone(&rw));
    assert_eq!(
        err(rw.rename("file.txt", &*wrapped, "r4")),
        FsError::ReadOnly
    );
    // Through handles: a lookup handle, a read handle, a directory handle.
    let Node::File(f) = root.lookup("file.txt").unwrap() else {
        panic!("not a file")
    };
    assert_eq!(err(f.set_times(T, T)), FsError::ReadOnly);
    let f = root.open_file("file.txt", OpenOptions::default()).unwrap();
    assert_eq!(err(f.set_size(0)), FsError::ReadOnly);
    assert_eq!(err(f.allocate(0, 100)), FsError::ReadOnly);
    assert_eq!(err(f.write_at(b"x", 0)), FsError::ReadOnly);
    assert_eq!(err(f.append(b"x")), FsError::ReadOnly);
    let sub = subdir(&root, "sub");
    assert_eq!(err(sub.unlink("inner.txt")), FsError::ReadOnly);
    // Reads still work.
    let mut buf = [0u8; 5];
    assert_eq!(f.read_at(&mut buf, 0).unwrap(), 5);
    assert_eq!(tree(tmp.path()), before);
}

#[test]
fn mount_root_must_be_a_directory() {
    let tmp = fixture();
    assert!(HostDir::open(tmp.path().join("mount/file.txt")).is_err());
    assert!(HostDir::open(tmp.path().join("nope")).is_err());
}

#[test]
fn fifos_are_not_opened_for_io() {
    let tmp = fixture();
    let path = tmp.path().join("mount/fifo");
    let made = std::process::Command::new("mkfifo").arg(&path).status();
    if !made.is_ok_and(|s| s.success()) {
        return;
    }
    let root = mount(&tmp, false);
    assert!(matches!(root.lookup("fifo").unwrap(), Node::File(_)));
    assert_eq!(root.stat_at("fifo").unwrap().filetype, FileType::Unknown);
    // Would block forever without O_NONBLOCK; refused instead.
    assert_eq!(
        err(root.open_file("fifo", OpenOptions::default())),
        FsError::NotSupported
    );
}

/// What a [`Spy`] saw: every call that reached the backend below it, by method name (with the
/// options for `open_file`, whose read-only form is not a change).
type Calls = Arc<Mutex<Vec<String>>>;

/// A pass-through backend that records every call, and wraps every handle it hands out so
/// calls through those are recorded too: put between `read_only()` and a host directory, it
/// shows exactly which calls the wrapper let through to the host backend.
struct Spy {
    dir: Arc<dyn Dir>,
    calls: Calls,
}

struct SpyFile {
    file: Arc<dyn File>,
    calls: Calls,
}

fn note(calls: &Calls, call: impl Into<String>) {
    calls.lock().unwrap().push(call.into());
}

impl Spy {
    fn node(&self, node: Node) -> Node {
        let calls = Arc::clone(&self.calls);
        match node {
            Node::Dir(dir) => Node::Dir(Arc::new(Spy { dir, calls })),
            Node::File(file) => Node::File(Arc::new(SpyFile { file, calls })),
            Node::Symlink(t) => Node::Symlink(t),
        }
    }
}

impl Dir for Spy {
    fn lookup(&self, name: &str) -> FsResult<Node> {
        note(&self.calls, "lookup");
        self.dir.lookup(name).map(|n| self.node(n))
    }
    fn open_file(&self, name: &str, options: OpenOptions) -> FsResult<Arc<dyn File>> {
        note(&self.calls, format!("open_file {options:?}"));
        let file = self.dir.open_file(name, options)?;
        let calls = Arc::clone(&self.calls);
        Ok(Arc::new(SpyFile { file, calls }))
    }
    fn create_dir(&self, name: &str) -> FsResult<()> {
        note(&self.calls, "create_dir");
        self.dir.create_dir(name)
    }
    fn remove_dir(&self, name: &str) -> FsResult<()> {
        note(&self.calls, "remove_dir");
        self.dir.remove_dir(name)
    }
    fn unlink(&self, name: &str) -> FsResult<()> {
        note(&self.calls, "unlink");
        self.dir.unlink(name)
    }
    fn symlink(&self, name: &str, target: &str) -> FsResult<()> {
        note(&self.calls, "symlink");
        self.dir.symlink(name, target)
    }
    fn read_link(&self, name: &str) -> FsResult<String> {
        note(&self.calls, "read_link");
        self.dir.read_link(name)
    }
    fn stat_at(&self, name: &str) -> FsResult<Filestat> {
        note(&self.calls, "stat_at");
        self.dir.stat_at(name)
    }
    fn set_times_at(&self, name: &str, atime: SetTime, mtime: SetTime) -> FsResult<()> {
        note(&self.calls, "set_times_at");
        self.dir.set_times_at(name, atime, mtime)
    }
    fn link(&self, name: &str, new_dir: &dyn Dir, new_name: &str) -> FsResult<()> {
        note(&self.calls, "link");
        self.dir.link(name, new_dir, new_name)
    }
    fn rename(&self, name: &str, new_dir: &dyn Dir, new_name: &str) -> FsResult<()> {
        note(&self.calls, "rename");
        self.dir.rename(name, new_dir, new_name)
    }
    fn stat(&self) -> FsResult<Filestat> {
        note(&self.calls, "stat");
        self.dir.stat()
    }
    fn set_times(&self, atime: SetTime, mtime: SetTime) -> FsResult<()> {
        note(&self.calls, "set_times");
        self.dir.set_times(atime, mtime)
    }
    fn read_dir(&self, cookie: u64, max: usize) -> FsResult<Vec<DirEntry>> {
        note(&self.calls, "read_dir");
        self.dir.read_dir(cookie, max)
    }
    fn sync(&self) -> FsResult<()> {
        note(&self.calls, "sync");
        self.dir.sync()
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

impl File for SpyFile {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> FsResult<usize> {
        note(&self.calls, "file.read_at");
        self.file.read_at(buf, offset)
    }
    fn write_at(&self, buf: &[u8], offset: u64) -> FsResult<usize> {
        note(&self.calls, "file.write_at");
        self.file.write_at(buf, offset)
    }
    fn append(&self, buf: &[u8]) -> FsResult<(usize, u64)> {
        note(&self.calls, "file.append");
        self.file.append(buf)
    }
    fn stat(&self) -> FsResult<Filestat> {
        note(&self.calls, "file.stat");
        self.file.stat()
    }
    fn set_size(&self, size: u64) -> FsResult<()> {
        note(&self.calls, "file.set_size");
        self.file.set_size(size)
    }
    fn set_times(&self, atime: SetTime, mtime: SetTime) -> FsResult<()> {
        note(&self.calls, "file.set_times");
        self.file.set_times(atime, mtime)
    }
    fn allocate(&self, offset: u64, len: u64) -> FsResult<()> {
        note(&self.calls, "file.allocate");
        self.file.allocate(offset, len)
    }
    fn sync(&self) -> FsResult<()> {
        note(&self.calls, "file.sync");
        self.file.sync()
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// One change per row, each of which the host accepts on the fixture (the control run below
/// proves it): run on `root` and, for the file rows, on `file` (a handle on `file.txt`).
type Change = (
    &'static str,
    fn(&Arc<dyn Dir>, &Arc<dyn File>) -> FsResult<()>,
);

/// A time every row sets.
const T: SetTime = SetTime::At(1_000_000_000);

const CHANGES: [Change; 19] = [
    ("create", |r, _| r.open_file("new", CREATE).map(drop)),
    ("create only", |r, _| {
        let o = OpenOptions {
            create: true,
            ..OpenOptions::default()
        };
        r.open_file("new2", o).map(drop)
    }),
    ("truncate only", |r, _| {
        let o = OpenOptions {
            truncate: true,
            ..OpenOptions::default()
        };
        r.open_file("file.txt", o).map(drop)
    }),
    ("write open", |r, _| {
        let o = OpenOptions {
            write: true,
            ..OpenOptions::default()
        };
        r.open_file("file.txt", o).map(drop)
    }),
    ("mkdir", |r, _| r.create_dir("d")),
    ("rmdir", |r, _| r.remove_dir("empty")),
    ("unlink", |r, _| r.unlink("rel_out")),
    ("symlink", |r, _| r.symlink("l", "file.txt")),
    ("set_times_at", |r, _| r.set_times_at("file.txt", T, T)),
    ("dir set_times", |r, _| r.set_times(T, T)),
    ("link", |r, _| r.link("file.txt", &**r, "hard")),
    ("rename", |r, _| r.rename("file.txt", &**r, "moved")),
    ("subdir unlink", |r, _| match r.lookup("sub")? {
        Node::Dir(sub) => sub.unlink("inner.txt"),
        _ => Err(FsError::NotDir),
    }),
    ("lookup handle set_times", |r, _| {
        match r.lookup("file.txt")? {
            Node::File(f) => f.set_times(T, T),
            _ => Err(FsError::IsDir),
        }
    }),
    ("write_at", |_, f| f.write_at(b"x", 0).map(drop)),
    ("append", |_, f| f.append(b"x").map(drop)),
    ("set_size", |_, f| f.set_size(0)),
    ("file set_times", |_, f| f.set_times(T, T)),
    ("allocate", |_, f| f.allocate(0, 100)),
];

/// The calls that change something: none of them may reach the host backend under
/// `read_only`. An `open_file` that reaches it must carry no intent to create, truncate or
/// write.
fn is_change(call: &str) -> bool {
    let reads = [
        "lookup",
        "read_link",
        "stat_at",
        "stat",
        "read_dir",
        "sync",
        "file.read_at",
        "file.stat",
        "file.sync",
    ];
    if let Some(options) = call.strip_prefix("open_file ") {
        return options != format!("{:?}", OpenOptions::default());
    }
    !reads.contains(&call)
}

#[test]
fn host_backend_under_read_only_is_never_asked_to_change_anything() {
    // The control: on a bare host backend every change succeeds (the host allows them all).
    let tmp = fixture();
    fs::create_dir(tmp.path().join("mount/empty")).unwrap();
    let rw: Arc<dyn Dir> = Arc::new(HostDir::open(tmp.path().join("mount")).unwrap());
    for (what, change) in CHANGES {
        let opts = OpenOptions {
            write: true,
            ..OpenOptions::default()
        };
        // A fresh file each time: earlier rows rename and unlink `file.txt`.
        fs::write(tmp.path().join("mount/file.txt"), "hello").unwrap();
        fs::create_dir_all(tmp.path().join("mount/empty")).unwrap();
        fs::write(tmp.path().join("mount/sub/inner.txt"), "inner").unwrap();
        let _ = fs::remove_file(tmp.path().join("mount/moved"));
        let file = rw.open_file("file.txt", opts).unwrap();
        assert_eq!(change(&rw, &file), Ok(()), "control: {what}");
    }

    // The same changes through `read_only`: each is ReadOnly, the backend below saw reads
    // only, and the host tree (ctimes included) is exactly as before.
    let tmp = fixture();
    fs::create_dir(tmp.path().join("mount/empty")).unwrap();
    let before = tree(tmp.path());
    let calls: Calls = Arc::default();
    let host: Arc<dyn Dir> = Arc::new(HostDir::open(tmp.path().join("mount")).unwrap());
    let spy: Arc<dyn Dir> = Arc::new(Spy {
        dir: host,
        calls: Arc::clone(&calls),
    });
    let root = read_only(spy);
    let file = root.open_file("file.txt", OpenOptions::default()).unwrap();
    for (what, change) in CHANGES {
        assert_eq!(change(&root, &file), Err(FsError::ReadOnly), "{what}");
    }
    let calls = calls.lock().unwrap().clone();
    let changes: Vec<&String> = calls.iter().filter(|c| is_change(c)).collect();
    assert!(changes.is_empty(), "reached the host backend: {changes:?}");
    // The wrapper did pass the reads through (the spy is really in the path).
    assert!(calls.iter().any(|c| c == "lookup"), "{calls:?}");
    assert_eq!(tree(tmp.path()), before);
}
