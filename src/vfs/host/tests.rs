//! Unit tests of the host backend on temp dirs: no symlink is ever followed, read-only mounts
//! refuse every mutation before touching the host, errors map as the memory backend's, and
//! readdir cookies are stable indices into a sorted snapshot.

use std::fs;
use std::os::unix::fs::symlink;
use std::path::Path;
use std::sync::Arc;

use super::{HostDir, Perms, open};
use crate::vfs::{Dir, FileType, FsError, FsResult, Node, OpenOptions, SetTime};

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

fn mount(tmp: &tempfile::TempDir, perms: Perms) -> Arc<dyn Dir> {
    open(tmp.path().join("mount"), perms).unwrap()
}

/// Every path below `root` with its kind, contents or target, and mtime (not atime: reads
/// may change it).
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
                "{} {what} {:?}",
                path.display(),
                meta.modified().ok()
            ));
        }
    }
    out.sort();
    out
}

#[test]
fn symlinks_are_reported_never_followed() {
    let tmp = fixture();
    let root = mount(&tmp, Perms::READ_WRITE);
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
    let root = mount(&tmp, Perms::READ_WRITE);
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
    let root = mount(&tmp, Perms::READ_WRITE);
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
    let root = mount(&tmp, Perms::READ_WRITE);
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
    let root = mount(&tmp, Perms::READ_WRITE);
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
    let root = mount(&tmp, Perms::READ_WRITE);
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
    let root = mount(&tmp, Perms::READ_ONLY);
    let rw = mount(&tmp, Perms::READ_WRITE);
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
    let t = SetTime::At(1);
    assert_eq!(err(root.set_times_at("file.txt", t, t)), FsError::ReadOnly);
    assert_eq!(err(root.set_times(t, t)), FsError::ReadOnly);
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
    assert_eq!(err(f.set_times(t, t)), FsError::ReadOnly);
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
    assert!(HostDir::open(&tmp.path().join("mount/file.txt"), Perms::READ_ONLY).is_err());
    assert!(open(tmp.path().join("nope"), Perms::READ_ONLY).is_err());
}

#[test]
fn fifos_are_not_opened_for_io() {
    let tmp = fixture();
    let path = tmp.path().join("mount/fifo");
    let made = std::process::Command::new("mkfifo").arg(&path).status();
    if !made.is_ok_and(|s| s.success()) {
        return;
    }
    let root = mount(&tmp, Perms::READ_WRITE);
    assert!(matches!(root.lookup("fifo").unwrap(), Node::File(_)));
    assert_eq!(root.stat_at("fifo").unwrap().filetype, FileType::Unknown);
    // Would block forever without O_NONBLOCK; refused instead.
    assert_eq!(
        err(root.open_file("fifo", OpenOptions::default())),
        FsError::NotSupported
    );
}
