//! Unit tests of the overlay over a host temp dir: the guest sees one read-write tree, copy-up
//! happens on the first change, deletions are whiteouts, readdir merges with stable cookies,
//! and after everything the host tree is byte-identical to before.

use std::fs;
use std::os::unix::fs::{FileExt, symlink};
use std::path::Path;
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use super::Overlay;
use crate::deadline::Deadline;
use crate::vfs::{
    Dir, FileType, FsError, FsResult, HostDir, MemFs, Node, OpenOptions, SetTime, TreeEntry,
};

const CREATE: OpenOptions = OpenOptions {
    create: true,
    exclusive: false,
    truncate: false,
    write: true,
};
const WRITE: OpenOptions = OpenOptions {
    create: false,
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

fn read(dir: &Arc<dyn Dir>, name: &str) -> Vec<u8> {
    let f = dir.open_file(name, OpenOptions::default()).unwrap();
    let mut buf = vec![0u8; f.stat().unwrap().size as usize];
    assert_eq!(f.read_at(&mut buf, 0).unwrap(), buf.len());
    buf
}

/// The lower tree: a file, a directory with children, a symlink.
fn lower() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path();
    fs::write(p.join("a.txt"), "lower a").unwrap();
    fs::create_dir_all(p.join("d/e")).unwrap();
    fs::write(p.join("d/x"), "x").unwrap();
    fs::write(p.join("d/e/y"), "y").unwrap();
    symlink("a.txt", p.join("link")).unwrap();
    tmp
}

/// Every path below `root` with kind, contents or target, mode and mtime.
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
fn writes_copy_up_and_never_touch_the_host() {
    let tmp = lower();
    let before = tree(tmp.path());
    let ov = Overlay::new(tmp.path()).unwrap();
    let root = ov.root();
    assert_eq!(read(&root, "a.txt"), b"lower a");
    let f = root.open_file("a.txt", WRITE).unwrap();
    f.write_at(b"UPPER", 0).unwrap();
    assert_eq!(read(&root, "a.txt"), b"UPPER a");
    let d = subdir(&root, "d");
    let e = subdir(&d, "e");
    e.open_file("y", WRITE).unwrap().append(b"!").unwrap();
    assert_eq!(read(&e, "y"), b"y!");
    root.open_file("new", CREATE)
        .unwrap()
        .write_at(b"n", 0)
        .unwrap();
    assert_eq!(tree(tmp.path()), before);
    let upper = ov.upper().snapshot();
    let paths: Vec<&str> = upper.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(paths, ["a.txt", "d", "d/e", "d/e/y", "new"]);
    assert!(ov.whiteouts().is_empty());
}

#[test]
fn reading_never_copies_up() {
    let tmp = lower();
    let ov = Overlay::new(tmp.path()).unwrap();
    let root = ov.root();
    let _ = read(&root, "a.txt");
    let _ = names(&subdir(&subdir(&root, "d"), "e"));
    let _ = root.stat_at("link").unwrap();
    assert!(ov.upper().snapshot().is_empty());
}

#[test]
fn deletions_are_whiteouts_and_readdir_merges() {
    let tmp = lower();
    let before = tree(tmp.path());
    let ov = Overlay::new(tmp.path()).unwrap();
    let root = ov.root();
    root.open_file("b", CREATE).unwrap();
    root.unlink("a.txt").unwrap();
    assert_eq!(err(root.lookup("a.txt")), FsError::NotFound);
    assert_eq!(names(&root), [".", "..", "b", "d", "link"]);
    assert_eq!(err(root.remove_dir("d")), FsError::NotEmpty);
    let d = subdir(&root, "d");
    assert_eq!(err(d.remove_dir("e")), FsError::NotEmpty);
    subdir(&d, "e").unlink("y").unwrap();
    d.remove_dir("e").unwrap();
    d.unlink("x").unwrap();
    root.remove_dir("d").unwrap();
    assert_eq!(names(&root), [".", "..", "b", "link"]);
    // A stale handle on the removed directory sees nothing.
    assert_eq!(err(d.lookup("x")), FsError::NotFound);
    // Recreated: opaque, the lower children stay hidden.
    root.create_dir("d").unwrap();
    assert_eq!(names(&subdir(&root, "d")), [".", ".."]);
    root.open_file("a.txt", CREATE).unwrap();
    assert_eq!(read(&root, "a.txt"), b"");
    assert_eq!(ov.whiteouts(), ["a.txt", "d", "d/e", "d/e/y", "d/x"]);
    assert_eq!(tree(tmp.path()), before);
}

#[test]
fn readdir_cookies_are_stable_and_inos_match_stat() {
    let tmp = lower();
    let ov = Overlay::new(tmp.path()).unwrap();
    let root = ov.root();
    root.open_file("c", CREATE).unwrap();
    let all = root.read_dir(0, usize::MAX).unwrap();
    for (i, e) in all.iter().enumerate() {
        assert_eq!(
            root.read_dir(e.next_cookie, usize::MAX).unwrap(),
            all[i + 1..]
        );
        if e.name != "." && e.name != ".." {
            assert_eq!(root.stat_at(&e.name).unwrap().ino, e.ino, "{}", e.name);
        }
    }
    assert_eq!(all[0].ino, root.stat().unwrap().ino);
    let d = subdir(&root, "d");
    let dots = d.read_dir(0, 2).unwrap();
    assert_eq!(dots[1].ino, all[0].ino);
    // A merged directory keeps its inode number when copied up.
    let ino = d.stat().unwrap().ino;
    d.create_dir("new").unwrap();
    assert_eq!(d.stat().unwrap().ino, ino);
    assert_eq!(subdir(&root, "d").stat().unwrap().ino, ino);
}

#[test]
fn renames_copy_up_and_lower_directories_are_exdev() {
    let tmp = lower();
    let before = tree(tmp.path());
    let ov = Overlay::new(tmp.path()).unwrap();
    let root = ov.root();
    let d = subdir(&root, "d");
    root.rename("a.txt", &*d, "a2").unwrap();
    assert_eq!(read(&d, "a2"), b"lower a");
    assert_eq!(err(root.lookup("a.txt")), FsError::NotFound);
    assert_eq!(err(root.rename("d", &*root, "d2")), FsError::CrossDevice);
    // Onto a lower file: replaced, and the lower one stays hidden.
    d.rename("a2", &*d, "x").unwrap();
    assert_eq!(read(&d, "x"), b"lower a");
    // Upper-only directories move freely, also onto an empty lower directory.
    root.create_dir("u").unwrap();
    subdir(&root, "u").open_file("f", CREATE).unwrap();
    assert_eq!(err(root.rename("u", &*d, "e")), FsError::NotEmpty);
    subdir(&d, "e").unlink("y").unwrap();
    root.rename("u", &*d, "e").unwrap();
    assert_eq!(names(&subdir(&d, "e")), [".", "..", "f"]);
    assert_eq!(err(root.rename("link", &*d, "e")), FsError::IsDir);
    root.rename("link", &*root, "link2").unwrap();
    assert!(matches!(root.lookup("link2").unwrap(), Node::Symlink(t) if t == "a.txt"));
    // Into its own subtree.
    root.create_dir("p").unwrap();
    let p = subdir(&root, "p");
    p.create_dir("q").unwrap();
    assert_eq!(
        err(root.rename("p", &*subdir(&p, "q"), "r")),
        FsError::Invalid
    );
    assert_eq!(tree(tmp.path()), before);
}

#[test]
fn links_and_times_copy_up() {
    let tmp = lower();
    let before = tree(tmp.path());
    let ov = Overlay::new(tmp.path()).unwrap();
    let root = ov.root();
    root.link("a.txt", &*root, "hard").unwrap();
    assert_eq!(root.stat_at("hard").unwrap().nlink, 2);
    assert_eq!(err(root.link("d", &*root, "d2")), FsError::NotPermitted);
    assert_eq!(err(root.link("a.txt", &*root, "d")), FsError::Exists);
    let Node::File(f) = subdir(&root, "d").lookup("x").unwrap() else {
        panic!("not a file")
    };
    f.set_times(SetTime::At(1_000_000_000), SetTime::At(2_000_000_000))
        .unwrap();
    assert_eq!(subdir(&root, "d").stat_at("x").unwrap().mtim, 2_000_000_000);
    root.set_times_at("link", SetTime::Keep, SetTime::At(3_000_000_000))
        .unwrap();
    assert_eq!(root.stat_at("link").unwrap().mtim, 3_000_000_000);
    subdir(&root, "d")
        .set_times(SetTime::Keep, SetTime::At(4_000_000_000))
        .unwrap();
    assert_eq!(root.stat_at("d").unwrap().mtim, 4_000_000_000);
    assert_eq!(tree(tmp.path()), before);
}

#[test]
fn copy_up_keeps_holes_and_times() {
    let tmp = lower();
    let big = fs::File::create(tmp.path().join("sparse")).unwrap();
    big.set_len(1 << 26).unwrap();
    drop(big);
    let ov = Overlay::new(tmp.path()).unwrap();
    let root = ov.root();
    let lower_mtim = root.stat_at("sparse").unwrap().mtim;
    let f = root.open_file("sparse", WRITE).unwrap();
    assert_eq!(f.stat().unwrap().size, 1 << 26);
    assert_eq!(f.stat().unwrap().mtim, lower_mtim);
    assert!(ov.upper().usage().bytes < 1 << 20);
}

#[test]
fn descriptors_opened_before_a_copy_up_see_the_upper_copy() {
    let tmp = lower();
    fs::hard_link(tmp.path().join("d/x"), tmp.path().join("d/x2")).unwrap();
    let ov = Overlay::new(tmp.path()).unwrap();
    let root = ov.root();
    let reader = root.open_file("a.txt", OpenOptions::default()).unwrap();
    let Node::File(looked_up) = root.lookup("a.txt").unwrap() else {
        panic!("not a file")
    };
    // Another descriptor copies the file up and truncates it: every descriptor of the file
    // sees the same (upper) file from then on, its data, size and inode number.
    let trunc = OpenOptions {
        truncate: true,
        ..WRITE
    };
    let writer = root.open_file("a.txt", trunc).unwrap();
    let mut buf = [0u8; 16];
    assert_eq!(reader.read_at(&mut buf, 0).unwrap(), 0);
    assert_eq!(reader.stat().unwrap().size, 0);
    writer.write_at(b"new", 0).unwrap();
    for handle in [&reader, &looked_up] {
        assert_eq!(handle.read_at(&mut buf, 0).unwrap(), 3);
        assert_eq!(&buf[..3], b"new");
        assert_eq!(handle.stat().unwrap(), root.stat_at("a.txt").unwrap());
    }
    // Changing it through an old handle changes that same file.
    reader.set_size(2).unwrap();
    assert_eq!(read(&root, "a.txt"), b"ne");
    // Renamed, the copy is still the file of every descriptor.
    root.rename("a.txt", &*root, "moved").unwrap();
    writer.write_at(b"W", 0).unwrap();
    assert_eq!(looked_up.read_at(&mut buf, 0).unwrap(), 2);
    assert_eq!(&buf[..2], b"We");
    // Host hard links become separate files once one name is copied up (RATIONALE.md): a
    // descriptor of the other name keeps the lower file.
    let d = subdir(&root, "d");
    let other = d.open_file("x2", OpenOptions::default()).unwrap();
    d.open_file("x", WRITE).unwrap().write_at(b"X", 0).unwrap();
    assert_eq!(other.read_at(&mut buf, 0).unwrap(), 1);
    assert_eq!(&buf[..1], b"x");
    // A descriptor of a lower file whose name was removed keeps reading it; a new file made
    // under that name is another file, which it never sees, and it cannot be changed.
    let stale = subdir(&d, "e")
        .open_file("y", OpenOptions::default())
        .unwrap();
    let e = subdir(&d, "e");
    e.unlink("y").unwrap();
    e.open_file("y", CREATE)
        .unwrap()
        .write_at(b"another", 0)
        .unwrap();
    assert_eq!(stale.read_at(&mut buf, 0).unwrap(), 1);
    assert_eq!(&buf[..1], b"y");
    assert_eq!(err(stale.set_size(0)), FsError::NotSupported);
    assert_eq!(read(&e, "y"), b"another");
}

#[test]
fn rename_onto_an_ancestor_is_enotempty_and_into_its_own_subtree_einval() {
    let tmp = lower();
    let ov = Overlay::new(tmp.path()).unwrap();
    let root = ov.root();
    let d = subdir(&root, "d");
    let e = subdir(&d, "e");
    // A file onto its parent or a further ancestor: that directory is not empty, and Linux
    // says so before the type rules (which would say EISDIR).
    assert_eq!(err(e.rename("y", &*d, "e")), FsError::NotEmpty);
    assert_eq!(err(e.rename("y", &*root, "d")), FsError::NotEmpty);
    assert_eq!(err(root.rename("a.txt", &*d, "e")), FsError::IsDir);
    // Upper-only directories, moved after handles on them were taken: ancestry follows.
    root.create_dir("u").unwrap();
    let u = subdir(&root, "u");
    u.create_dir("v").unwrap();
    let v = subdir(&u, "v");
    v.open_file("f", CREATE).unwrap();
    root.rename("u", &*d, "w").unwrap();
    assert_eq!(err(v.rename("f", &*d, "w")), FsError::NotEmpty);
    assert_eq!(err(v.rename("f", &*root, "d")), FsError::NotEmpty);
    // A directory into its own subtree: EINVAL, before the type rules (the victim `f` is a
    // file: ENOTDIR otherwise) and, for a lower directory, before EXDEV (as the Linux VFS
    // checks it before asking overlayfs).
    assert_eq!(err(d.rename("w", &*v, "f")), FsError::Invalid);
    assert_eq!(err(d.rename("w", &*u, "z")), FsError::Invalid);
    assert_eq!(err(root.rename("d", &*v, "g")), FsError::Invalid);
    assert_eq!(err(root.rename("d", &*e, "g")), FsError::Invalid);
    assert_eq!(err(d.rename("e", &*root, "e2")), FsError::CrossDevice);
    // Moved back out, it is nobody's ancestor any more.
    d.rename("w", &*root, "u2").unwrap();
    v.rename("f", &*root, "f").unwrap();
    assert_eq!(names(&v), [".", ".."]);
    // Into a removed directory: ENOENT first, whatever the ancestry was.
    root.create_dir("gone").unwrap();
    let gone = subdir(&root, "gone");
    root.remove_dir("gone").unwrap();
    assert_eq!(err(root.rename("u2", &*gone, "x")), FsError::NotFound);
}

/// Runs `f` on a thread of its own and fails after `secs`: a regression to an unbounded
/// copy-up must fail the test, not hang it (the thread is left behind).
fn within<T: Send + 'static>(secs: u64, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    match rx.recv_timeout(Duration::from_secs(secs)) {
        Ok(value) => value,
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("still running after {secs} s"),
        Err(mpsc::RecvTimeoutError::Disconnected) => panic!("the test thread panicked"),
    }
}

/// A deadline `at`, current on this thread while the returned guard lives.
fn deadline_at(at: Instant) -> (Deadline, crate::deadline::Scope) {
    let d = Deadline::new();
    d.set(Some(at));
    let scope = d.enter();
    (d, scope)
}

const MIB: u64 = 1 << 20;
const TIB: u64 = 1 << 40;

/// Bytes no all-zero block hides: `len` of them, none zero.
fn pattern(len: u64) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8 + 1).collect()
}

#[test]
fn copy_up_of_a_huge_sparse_file_copies_only_its_data() {
    let tmp = lower();
    let f = fs::File::create(tmp.path().join("huge")).unwrap();
    f.set_len(TIB).unwrap();
    f.write_all_at(&pattern(MIB), TIB / 2).unwrap();
    f.write_all_at(b"tail!", TIB - 5).unwrap();
    drop(f);
    let lower: Arc<dyn Dir> = Arc::new(HostDir::open(tmp.path()).unwrap());
    let ov = Overlay::with_upper(lower, MemFs::builder().quota(2 * MIB));
    let upper = ov.upper();
    let root = ov.root();
    let before = upper.usage();
    let (took, file) = within(60, move || {
        let _d = deadline_at(Instant::now() + Duration::from_secs(60));
        let start = Instant::now();
        let file = root.open_file("huge", WRITE).unwrap();
        (start.elapsed(), file)
    });
    eprintln!("copy-up of a 1 TiB sparse file holding 1 MiB of data: {took:?}");
    assert!(took < Duration::from_secs(5), "{took:?}");
    assert_eq!(file.stat().unwrap().size, TIB);
    // The quota is charged for the data copied (in whole pages), not for the size.
    let used = upper.usage().bytes - before.bytes;
    assert!((MIB..=MIB + (256 << 10)).contains(&used), "{used}");
    let mut buf = vec![0u8; MIB as usize + 8];
    assert_eq!(file.read_at(&mut buf, TIB / 2 - 4).unwrap(), buf.len());
    assert_eq!(buf[..4], [0; 4]);
    assert_eq!(buf[4..4 + MIB as usize], pattern(MIB)[..]);
    assert_eq!(buf[4 + MIB as usize..], [0; 4]);
    assert_eq!(file.read_at(&mut buf[..8], TIB - 8).unwrap(), 8);
    assert_eq!(&buf[..8], b"\0\0\0tail!");
    assert_eq!(file.read_at(&mut buf[..8], 0).unwrap(), 8);
    assert_eq!(buf[..8], [0; 8]);
}

#[test]
fn an_abandoned_copy_up_leaves_the_lower_file_and_the_quota_as_they_were() {
    let tmp = lower();
    let f = fs::File::create(tmp.path().join("big")).unwrap();
    f.set_len(256 * MIB).unwrap();
    f.write_all_at(&pattern(3 * MIB), 0).unwrap();
    drop(f);
    let lower_view = |root: &Arc<dyn Dir>| {
        let st = root.stat_at("big").unwrap();
        assert_eq!((st.size, st.ino >> 63), (256 * MIB, 0));
        let mut buf = vec![0u8; 3 * MIB as usize];
        let f = root.open_file("big", OpenOptions::default()).unwrap();
        assert_eq!(f.read_at(&mut buf, 0).unwrap(), buf.len());
        assert_eq!(buf, pattern(3 * MIB));
    };
    // The deadline has passed: every operation that would copy up stops before any change.
    let ov = Overlay::new(tmp.path()).unwrap();
    let root = ov.root();
    let reader = root.open_file("big", OpenOptions::default()).unwrap();
    let usage = ov.upper().usage();
    {
        let _d = deadline_at(Instant::now());
        assert_eq!(err(root.open_file("big", WRITE)), FsError::TimedOut);
        assert_eq!(err(reader.set_size(1)), FsError::TimedOut);
        assert_eq!(err(reader.write_at(b"w", 0)), FsError::TimedOut);
        let times = root.set_times_at("big", SetTime::Now, SetTime::Now);
        assert_eq!(err(times), FsError::TimedOut);
        assert_eq!(err(root.link("big", &*root, "big2")), FsError::TimedOut);
        assert_eq!(err(root.rename("big", &*root, "big3")), FsError::TimedOut);
    }
    assert_eq!(ov.upper().usage(), usage);
    assert!(ov.upper().snapshot().is_empty());
    assert!(ov.whiteouts().is_empty());
    assert_eq!(names(&root), [".", "..", "a.txt", "big", "d", "link"]);
    lower_view(&root);
    // Without a deadline the same copy-up completes, and the old descriptor follows it.
    root.open_file("big", WRITE).unwrap();
    assert_eq!(reader.stat().unwrap().ino >> 63, 1);

    // The upper quota is too small: ENOSPC, and the partial copy's bytes are given back.
    let lower: Arc<dyn Dir> = Arc::new(HostDir::open(tmp.path()).unwrap());
    let ov = Overlay::with_upper(lower, MemFs::builder().quota(2 * MIB));
    let root = ov.root();
    let usage = ov.upper().usage();
    assert_eq!(err(root.open_file("big", WRITE)), FsError::NoSpace);
    assert_eq!(ov.upper().usage(), usage);
    assert!(ov.upper().snapshot().is_empty());
    lower_view(&root);

    // A lower that cannot tell data from holes (here memory, behind the read-only wrapper) is
    // read whole, so a 1 TiB file takes long: the deadline stops it in the middle.
    let mem = MemFs::new();
    let f = mem.root().open_file("m", CREATE).unwrap();
    f.set_size(TIB).unwrap();
    f.write_at(b"data", 0).unwrap();
    let ov = Overlay::over(mem.root());
    let root = ov.root();
    let usage = ov.upper().usage();
    let (late, result) = within(60, move || {
        let at = Instant::now() + Duration::from_millis(200);
        let _d = deadline_at(at);
        let result = root.open_file("m", WRITE).map(|_| ());
        (Instant::now().saturating_duration_since(at), result)
    });
    eprintln!("a copy-up read whole stopped {late:?} after the deadline");
    assert_eq!(result, Err(FsError::TimedOut));
    assert!(late < Duration::from_secs(2), "{late:?}");
    assert_eq!(ov.upper().usage(), usage);
    assert!(ov.upper().snapshot().is_empty());
    let st = ov.root().stat_at("m").unwrap();
    assert_eq!((st.size, st.ino >> 63), (TIB, 0));
}

#[test]
fn snapshot_is_the_merged_view() {
    let tmp = lower();
    let ov = Overlay::new(tmp.path()).unwrap();
    let root = ov.root();
    root.unlink("link").unwrap();
    subdir(&root, "d")
        .open_file("x", WRITE)
        .unwrap()
        .write_at(b"X", 0)
        .unwrap();
    let snap = ov.snapshot();
    let want = [
        ("a.txt", TreeEntry::File(b"lower a".to_vec())),
        ("d", TreeEntry::Dir),
        ("d/e", TreeEntry::Dir),
        ("d/e/y", TreeEntry::File(b"y".to_vec())),
        ("d/x", TreeEntry::File(b"X".to_vec())),
    ];
    let want: Vec<(String, TreeEntry)> = want.into_iter().map(|(p, e)| (p.into(), e)).collect();
    assert_eq!(snap, want);
}

#[test]
fn overlay_over_memory_and_cross_device_refusals() {
    let lower = crate::vfs::MemFs::new();
    lower.root().create_dir("m").unwrap();
    let ov = Overlay::over(lower.root());
    let root = ov.root();
    subdir(&root, "m").open_file("f", CREATE).unwrap();
    assert!(lower.snapshot().iter().all(|(p, _)| p == "m"));
    let other = crate::vfs::MemFs::new().root();
    assert_eq!(err(root.rename("m", &*other, "m")), FsError::CrossDevice);
    let ro = crate::vfs::read_only(Overlay::over(crate::vfs::MemFs::new().root()).root());
    assert_eq!(err(root.link("m", &*ro, "m")), FsError::ReadOnly);
    assert_eq!(root.stat().unwrap().filetype, FileType::Directory);
}

#[test]
fn a_truncating_open_copies_no_data() {
    let tmp = lower();
    let f = fs::File::create(tmp.path().join("big")).unwrap();
    f.write_all_at(&pattern(3 * MIB), 0).unwrap();
    drop(f);
    let lower: Arc<dyn Dir> = Arc::new(HostDir::open(tmp.path()).unwrap());
    let ov = Overlay::with_upper(lower, MemFs::builder().quota(MIB));
    let root = ov.root();
    let reader = root.open_file("big", OpenOptions::default()).unwrap();
    // 3 MiB do not fit a 1 MiB quota; replacing them needs none of them.
    assert_eq!(err(root.open_file("big", WRITE)), FsError::NoSpace);
    let trunc = OpenOptions {
        truncate: true,
        ..WRITE
    };
    let f = root.open_file("big", trunc).unwrap();
    assert_eq!(ov.upper().usage().bytes, 0);
    assert_eq!(reader.stat().unwrap().size, 0);
    f.write_at(b"small", 0).unwrap();
    assert_eq!(read(&root, "big"), b"small");
}

#[test]
fn handles_taken_while_a_copy_up_runs_follow_it_and_never_see_half_a_copy() {
    const FILES: usize = 32;
    const SIZE: u64 = 2 * MIB;
    // A half-made copy has no lower times yet: it is told apart by its mtime.
    const MTIME: u64 = 1_000_000_000;
    let tmp = lower();
    for i in 0..FILES {
        let f = fs::File::create(tmp.path().join(format!("f{i}"))).unwrap();
        f.write_all_at(&pattern(SIZE), 0).unwrap();
        f.set_modified(std::time::UNIX_EPOCH + Duration::from_secs(MTIME))
            .unwrap();
    }
    let ov = Overlay::new(tmp.path()).unwrap();
    let root = ov.root();
    let writer_root = Arc::clone(&root);
    // One thread copies every file up, by opening it for writing.
    let writer = std::thread::spawn(move || {
        for i in 0..FILES {
            writer_root.open_file(&format!("f{i}"), WRITE).unwrap();
        }
    });
    // Meanwhile lookups and stats, which take no lock, race the copy-ups: they see the lower
    // file or the complete copy, never one being made.
    let mut handles = Vec::new();
    while !writer.is_finished() {
        for i in 0..FILES {
            let name = format!("f{i}");
            let st = root.stat_at(&name).unwrap();
            assert_eq!((st.size, st.mtim), (SIZE, MTIME * 1_000_000_000), "{name}");
            let Node::File(f) = root.lookup(&name).unwrap() else {
                panic!("{name} is not a file")
            };
            handles.push((i, f));
        }
    }
    writer.join().unwrap();
    let opened: Vec<_> = (0..FILES)
        .map(|i| root.open_file(&format!("f{i}"), WRITE).unwrap())
        .collect();
    for (i, f) in opened.iter().enumerate() {
        f.write_at(&[0], 0).unwrap();
        assert_eq!(read(&root, &format!("f{i}"))[1..], pattern(SIZE)[1..]);
    }
    // Every handle, whenever it was taken, is on the copy now.
    eprintln!("{} handles taken during the copy-ups", handles.len());
    for (i, f) in handles {
        assert_eq!(f.stat().unwrap(), opened[i].stat().unwrap(), "f{i}");
    }
}

#[test]
fn a_change_waiting_for_another_threads_copy_up_stops_at_its_own_deadline() {
    // A copy-up read whole (a memory lower) that only its own, later deadline stops.
    let mem = MemFs::new();
    let f = mem.root().open_file("m", CREATE).unwrap();
    f.set_size(TIB).unwrap();
    let ov = Overlay::over(mem.root());
    let root = ov.root();
    let copier_root = Arc::clone(&root);
    let (started_tx, started) = mpsc::channel();
    let copier = std::thread::spawn(move || {
        let _d = deadline_at(Instant::now() + Duration::from_secs(3));
        started_tx.send(()).unwrap();
        copier_root.open_file("m", WRITE).map(|_| ())
    });
    started.recv().unwrap();
    std::thread::sleep(Duration::from_millis(100));
    let (late, result) = within(30, move || {
        let at = Instant::now() + Duration::from_millis(200);
        let _d = deadline_at(at);
        let result = root.create_dir("x");
        (Instant::now().saturating_duration_since(at), result)
    });
    eprintln!("a waiter stopped {late:?} after its deadline");
    assert_eq!(result, Err(FsError::TimedOut));
    assert!(late < Duration::from_secs(1), "{late:?}");
    assert_eq!(copier.join().unwrap(), Err(FsError::TimedOut));
    assert!(ov.upper().snapshot().is_empty());
}

#[test]
fn a_copy_up_deep_in_the_tree_moves_no_directory_times() {
    let tmp = lower();
    let ov = Overlay::new(tmp.path()).unwrap();
    let root = ov.root();
    let times = |root: &Arc<dyn Dir>| {
        let d = subdir(root, "d");
        let e = subdir(&d, "e");
        [root.stat().unwrap(), d.stat().unwrap(), e.stat().unwrap()].map(|s| (s.atim, s.mtim))
    };
    let before = times(&root);
    std::thread::sleep(Duration::from_millis(20));
    // Copies up d and d/e (the directories) and d/e/y: no merged entry changes, so no
    // directory's times may either, the root's included.
    let e = subdir(&subdir(&root, "d"), "e");
    e.open_file("y", WRITE).unwrap();
    assert_eq!(times(&root), before);
}

/// The upper layer is built by the overlay from the builder it is given, so it starts empty
/// and nobody else holds it while the guest changes it; its budgets are the builder's.
#[test]
fn an_overlay_builds_its_own_empty_upper_layer() {
    let tmp = tempfile::tempdir().unwrap();
    fs::write(tmp.path().join("f"), "lower").unwrap();
    let lower: Arc<dyn Dir> = Arc::new(HostDir::open(tmp.path()).unwrap());
    let ov = Overlay::with_upper(lower, MemFs::builder().quota(MIB));
    let upper = ov.upper();
    assert_eq!(upper.limits().bytes, Some(MIB));
    assert_eq!(upper.usage().inodes, 1);
    assert!(upper.snapshot().is_empty());
    // The lower host directory was opened read-write, yet the overlay never writes it.
    let f = ov.root().open_file("f", WRITE).unwrap();
    f.write_at(b"UPPER", 0).unwrap();
    assert_eq!(fs::read(tmp.path().join("f")).unwrap(), b"lower");
    assert_eq!(
        upper.snapshot(),
        vec![("f".into(), TreeEntry::File(b"UPPER".to_vec()))]
    );
}
