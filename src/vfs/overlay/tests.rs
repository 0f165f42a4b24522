//! Unit tests of the overlay over a host temp dir: the guest sees one read-write tree, copy-up
//! happens on the first change, deletions are whiteouts, readdir merges with stable cookies,
//! and after everything the host tree is byte-identical to before.

use std::fs;
use std::os::unix::fs::symlink;
use std::path::Path;
use std::sync::Arc;

use super::Overlay;
use crate::vfs::{Dir, FileType, FsError, FsResult, Node, OpenOptions, SetTime, TreeEntry};

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
fn an_open_lower_handle_copies_up_when_changed() {
    let tmp = lower();
    let ov = Overlay::new(tmp.path()).unwrap();
    let root = ov.root();
    let reader = root.open_file("a.txt", OpenOptions::default()).unwrap();
    let writer = root.open_file("a.txt", WRITE).unwrap();
    writer.write_at(b"W", 0).unwrap();
    let mut buf = [0u8; 7];
    // Still reading the lower file (overlayfs before 4.19 did the same).
    reader.read_at(&mut buf, 0).unwrap();
    assert_eq!(&buf, b"lower a");
    // Changing it through the old handle finds the existing copy.
    reader.set_size(3).unwrap();
    assert_eq!(read(&root, "a.txt"), b"Wow");
    root.unlink("a.txt").unwrap();
    let stale = subdir(&root, "d")
        .open_file("x", OpenOptions::default())
        .unwrap();
    subdir(&root, "d").unlink("x").unwrap();
    assert_eq!(err(stale.set_size(0)), FsError::NotSupported);
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
