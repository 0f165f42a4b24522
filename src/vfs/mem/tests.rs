//! Unit tests of the memory backend: sparseness, page boundaries, handle lifetimes, POSIX
//! rename/link rules, stable readdir cookies and the host import/snapshot round trip.

use std::sync::Arc;

use super::data::PAGE_SIZE;
use super::{MemFs, TreeEntry};
use crate::vfs::{Dir, File, FileType, FsError, FsResult, Node, OpenOptions, SetTime};

const CREATE: OpenOptions = OpenOptions {
    create: true,
    exclusive: false,
    truncate: false,
    write: true,
};
const PAGE: u64 = PAGE_SIZE as u64;

fn create(dir: &Arc<dyn Dir>, name: &str) -> Arc<dyn File> {
    dir.open_file(name, CREATE).unwrap()
}

fn subdir(dir: &Arc<dyn Dir>, name: &str) -> Arc<dyn Dir> {
    match dir.lookup(name).unwrap() {
        Node::Dir(d) => d,
        other => panic!("{name} is {other:?}"),
    }
}

/// The error of a result whose Ok side (a handle) has no Debug.
fn err<T>(r: FsResult<T>) -> FsError {
    match r {
        Ok(_) => panic!("expected an error"),
        Err(e) => e,
    }
}

fn read_all(file: &dyn File) -> Vec<u8> {
    let mut buf = vec![0xAA; file.stat().unwrap().size as usize];
    assert_eq!(file.read_at(&mut buf, 0).unwrap(), buf.len());
    buf
}

fn names(dir: &Arc<dyn Dir>) -> Vec<String> {
    dir.read_dir(0, usize::MAX)
        .unwrap()
        .into_iter()
        .map(|e| e.name)
        .collect()
}

#[test]
fn pwrite_at_two_pow_40_is_sparse() {
    let fs = MemFs::new();
    let f = create(&fs.root(), "big");
    assert_eq!(f.write_at(b"xyz", 1 << 40).unwrap(), 3);
    assert_eq!(f.stat().unwrap().size, (1 << 40) + 3);
    assert_eq!(fs.page_count(), 1);
    assert_eq!(fs.usage().bytes, 3);
    let mut buf = [0xAA; 8];
    assert_eq!(f.read_at(&mut buf, (1 << 40) - 5).unwrap(), 8);
    assert_eq!(&buf, b"\0\0\0\0\0xyz");
}

#[test]
fn write_past_max_file_size_is_too_big() {
    let f = create(&MemFs::new().root(), "f");
    assert_eq!(f.write_at(b"x", i64::MAX as u64), Err(FsError::FileTooBig));
    assert_eq!(f.write_at(b"x", u64::MAX), Err(FsError::FileTooBig));
    assert_eq!(f.set_size(i64::MAX as u64 + 1), Err(FsError::FileTooBig));
    assert_eq!(f.allocate(u64::MAX, 2), Err(FsError::FileTooBig));
    assert_eq!(f.write_at(b"x", i64::MAX as u64 - 1), Ok(1));
    assert_eq!(f.stat().unwrap().size, i64::MAX as u64);
    assert_eq!(f.write_at(b"", u64::MAX), Ok(0));
}

#[test]
fn read_across_page_boundaries_and_gaps() {
    let fs = MemFs::new();
    let f = create(&fs.root(), "f");
    let data: Vec<u8> = (0..3 * PAGE_SIZE + 100)
        .map(|i| (i % 251) as u8 + 1)
        .collect();
    // Write page 0 and page 2 (+ tail), leave page 1 a gap.
    f.write_at(&data[..PAGE_SIZE], 0).unwrap();
    f.write_at(&data[2 * PAGE_SIZE..], 2 * PAGE).unwrap();
    assert_eq!(fs.page_count(), 3);
    let mut expect = data.clone();
    expect[PAGE_SIZE..2 * PAGE_SIZE].fill(0);
    assert_eq!(read_all(&*f), expect);
    // A read straddling page 0 → gap → page 2 at odd offsets.
    let mut buf = vec![0xAA; PAGE_SIZE + 20];
    let start = PAGE_SIZE - 10;
    assert_eq!(f.read_at(&mut buf, start as u64).unwrap(), buf.len());
    assert_eq!(buf, expect[start..start + PAGE_SIZE + 20]);
    // Short read at the end, zero past it.
    let mut buf = vec![0xAA; 200];
    let end = expect.len() as u64;
    assert_eq!(f.read_at(&mut buf, end - 50).unwrap(), 50);
    assert_eq!(f.read_at(&mut buf, end).unwrap(), 0);
    assert_eq!(f.read_at(&mut buf, u64::MAX).unwrap(), 0);
    // A write straddling a boundary into the gap.
    f.write_at(b"abcd", 2 * PAGE - 2).unwrap();
    let mut buf = [0; 4];
    f.read_at(&mut buf, 2 * PAGE - 2).unwrap();
    assert_eq!(&buf, b"abcd");
}

#[test]
fn truncate_shrinks_and_grows_with_zeros() {
    let fs = MemFs::new();
    let f = create(&fs.root(), "f");
    f.write_at(&vec![7; 2 * PAGE_SIZE + 10], 0).unwrap();
    f.set_size(PAGE + 5).unwrap();
    assert_eq!(fs.page_count(), 2);
    assert_eq!(fs.usage().bytes, PAGE + 5);
    f.set_size(3 * PAGE).unwrap();
    assert_eq!(fs.page_count(), 2);
    let all = read_all(&*f);
    assert_eq!(all.len(), 3 * PAGE_SIZE);
    assert!(all[..PAGE_SIZE + 5].iter().all(|b| *b == 7));
    assert!(all[PAGE_SIZE + 5..].iter().all(|b| *b == 0));
    f.set_size(PAGE).unwrap();
    assert_eq!(fs.page_count(), 1);
    f.set_size(0).unwrap();
    assert_eq!((fs.page_count(), fs.usage().bytes), (0, 0));
    // O_TRUNC through open_file.
    f.write_at(b"hello", 0).unwrap();
    let opts = OpenOptions {
        truncate: true,
        ..CREATE
    };
    let g = fs.root().open_file("f", opts).unwrap();
    assert_eq!(g.stat().unwrap().size, 0);
    assert_eq!(fs.usage().bytes, 0);
}

#[test]
fn append_and_allocate() {
    let f = create(&MemFs::new().root(), "f");
    assert_eq!(f.append(b"ab").unwrap(), (2, 2));
    assert_eq!(f.append(b"cde").unwrap(), (3, 5));
    assert_eq!(read_all(&*f), b"abcde");
    f.allocate(10, 10).unwrap();
    assert_eq!(f.stat().unwrap().size, 20);
    f.allocate(0, 4).unwrap();
    assert_eq!(f.stat().unwrap().size, 20);
    assert!(f.sync().is_ok());
}

#[test]
fn unlink_while_open_keeps_data_until_last_close() {
    let fs = MemFs::new();
    let root = fs.root();
    let f = create(&root, "f");
    f.write_at(b"data", 0).unwrap();
    let inodes = fs.usage().inodes;
    root.unlink("f").unwrap();
    assert_eq!(err(root.lookup("f")), FsError::NotFound);
    assert_eq!(f.stat().unwrap().nlink, 0);
    f.write_at(b"more", 4).unwrap();
    assert_eq!(read_all(&*f), b"datamore");
    assert_eq!(fs.usage().inodes, inodes);
    drop(f);
    assert_eq!(
        fs.usage(),
        super::MemUsage {
            bytes: 0,
            charged: 0,
            inodes: inodes - 1,
            extra_links: 0,
        }
    );
}

#[test]
fn removed_directory_refuses_lookups_and_creates() {
    let fs = MemFs::new();
    let root = fs.root();
    root.create_dir("d").unwrap();
    let d = subdir(&root, "d");
    root.remove_dir("d").unwrap();
    assert_eq!(d.stat().unwrap().nlink, 0);
    assert_eq!(err(d.open_file("x", CREATE)), FsError::NotFound);
    assert_eq!(d.create_dir("x"), Err(FsError::NotFound));
    assert_eq!(err(d.lookup("x")), FsError::NotFound);
    assert_eq!(d.read_dir(0, 10), Err(FsError::NotFound));
    let inodes = fs.usage().inodes;
    drop(d);
    assert_eq!(fs.usage().inodes, inodes - 1);
}

#[test]
fn open_file_errors() {
    let root = MemFs::new().root();
    let none = OpenOptions::default();
    assert_eq!(err(root.open_file("f", none)), FsError::NotFound);
    create(&root, "f");
    let excl = OpenOptions {
        exclusive: true,
        ..CREATE
    };
    assert_eq!(err(root.open_file("f", excl)), FsError::Exists);
    root.create_dir("d").unwrap();
    assert_eq!(err(root.open_file("d", none)), FsError::IsDir);
    assert_eq!(err(root.open_file("d", excl)), FsError::Exists);
    root.symlink("l", "f").unwrap();
    assert_eq!(err(root.open_file("l", CREATE)), FsError::Loop);
    for bad in ["", ".", "..", "a/b", "a\0b"] {
        assert_eq!(err(root.open_file(bad, CREATE)), FsError::Invalid);
        assert_eq!(err(root.lookup(bad)), FsError::Invalid);
    }
    let long = "x".repeat(256);
    assert_eq!(root.create_dir(&long), Err(FsError::NameTooLong));
    assert!(root.create_dir(&long[..255]).is_ok());
}

#[test]
fn remove_unlink_and_readlink_errors() {
    let root = MemFs::new().root();
    root.create_dir("d").unwrap();
    create(&subdir(&root, "d"), "inner");
    create(&root, "f");
    root.symlink("l", "../escape").unwrap();
    assert_eq!(root.remove_dir("d"), Err(FsError::NotEmpty));
    assert_eq!(root.remove_dir("f"), Err(FsError::NotDir));
    assert_eq!(root.remove_dir("nope"), Err(FsError::NotFound));
    assert_eq!(root.unlink("d"), Err(FsError::IsDir));
    assert_eq!(root.unlink("nope"), Err(FsError::NotFound));
    assert_eq!(root.read_link("l").unwrap(), "../escape");
    assert_eq!(root.read_link("f"), Err(FsError::Invalid));
    assert_eq!(root.read_link("nope"), Err(FsError::NotFound));
    assert_eq!(root.symlink("f", "x"), Err(FsError::Exists));
    assert_eq!(root.create_dir("f"), Err(FsError::Exists));
    assert_eq!(root.stat_at("l").unwrap().filetype, FileType::Symlink);
    root.unlink("l").unwrap();
}

#[test]
fn link_counts_and_refusals() {
    let fs = MemFs::new();
    let root = fs.root();
    root.create_dir("d").unwrap();
    let d = subdir(&root, "d");
    let f = create(&root, "f");
    root.link("f", &*d, "g").unwrap();
    assert_eq!(f.stat().unwrap().nlink, 2);
    assert_eq!(d.stat_at("g").unwrap().ino, f.stat().unwrap().ino);
    assert_eq!(root.link("d", &*root, "d2"), Err(FsError::NotPermitted));
    assert_eq!(root.link("f", &*d, "g"), Err(FsError::Exists));
    assert_eq!(root.link("nope", &*d, "h"), Err(FsError::NotFound));
    let other = MemFs::new().root();
    assert_eq!(root.link("f", &*other, "g"), Err(FsError::CrossDevice));
    root.unlink("f").unwrap();
    assert_eq!(f.stat().unwrap().nlink, 1);
    // Directory link counts: 2 + subdirectories.
    assert_eq!(root.stat().unwrap().nlink, 3);
    d.create_dir("e").unwrap();
    assert_eq!(d.stat().unwrap().nlink, 3);
}

#[test]
fn rename_replace_rules() {
    let fs = MemFs::new();
    let r = fs.root();
    for d in ["d1", "d2", "full"] {
        r.create_dir(d).unwrap();
    }
    create(&subdir(&r, "full"), "x");
    let f1 = create(&r, "f1");
    let f2 = create(&r, "f2");
    // file over file: the victim loses its name and link.
    r.rename("f1", &*r, "f2").unwrap();
    assert_eq!(f2.stat().unwrap().nlink, 0);
    assert_eq!(r.stat_at("f2").unwrap().ino, f1.stat().unwrap().ino);
    assert_eq!(r.stat_at("f1"), Err(FsError::NotFound));
    // dir over empty dir, dir over non-empty dir, file over dir, dir over file.
    r.rename("d1", &*r, "d2").unwrap();
    assert_eq!(r.rename("d2", &*r, "full"), Err(FsError::NotEmpty));
    assert_eq!(r.rename("f2", &*r, "d2"), Err(FsError::IsDir));
    assert_eq!(r.rename("d2", &*r, "f2"), Err(FsError::NotDir));
    assert_eq!(r.rename("nope", &*r, "x"), Err(FsError::NotFound));
    // onto itself, and between two hard links of one inode: no-op.
    r.rename("f2", &*r, "f2").unwrap();
    r.link("f2", &*r, "f3").unwrap();
    r.rename("f2", &*r, "f3").unwrap();
    assert_eq!(r.stat_at("f2").unwrap().nlink, 2);
    // cross filesystem.
    let other = MemFs::new().root();
    assert_eq!(r.rename("f2", &*other, "f2"), Err(FsError::CrossDevice));
    assert_eq!(names(&r), [".", "..", "full", "f2", "d2", "f3"]);
}

#[test]
fn rename_into_own_subtree_is_invalid() {
    let r = MemFs::new().root();
    r.create_dir("a").unwrap();
    let a = subdir(&r, "a");
    a.create_dir("b").unwrap();
    let b = subdir(&a, "b");
    assert_eq!(r.rename("a", &*b, "x"), Err(FsError::Invalid));
    assert_eq!(r.rename("a", &*a, "x"), Err(FsError::Invalid));
    // Renaming a parent over its (non-empty) ancestor: the victim is not empty.
    assert_eq!(a.rename("b", &*r, "a"), Err(FsError::NotEmpty));
    // Moving b up works and fixes link counts and `..`.
    a.rename("b", &*r, "b").unwrap();
    assert_eq!(a.stat().unwrap().nlink, 2);
    assert_eq!(r.stat().unwrap().nlink, 4);
    let dotdot = &b.read_dir(1, 1).unwrap()[0];
    assert_eq!(
        (dotdot.name.as_str(), dotdot.ino),
        ("..", r.stat().unwrap().ino)
    );
    // Now a may go into b.
    r.rename("a", &*b, "a").unwrap();
    assert_eq!(names(&b), [".", "..", "a"]);
}

#[test]
fn readdir_cookies_stay_stable() {
    let fs = MemFs::new();
    let r = fs.root();
    for n in ["a", "b", "c", "d"] {
        create(&r, n);
    }
    let all = r.read_dir(0, usize::MAX).unwrap();
    let root_ino = r.stat().unwrap().ino;
    assert_eq!(
        (all[0].name.as_str(), all[0].next_cookie, all[0].ino),
        (".", 1, root_ino)
    );
    assert_eq!(
        (all[1].name.as_str(), all[1].next_cookie, all[1].ino),
        ("..", 2, root_ino)
    );
    // Read two, then mutate, then resume from the cookie.
    let first = r.read_dir(0, 3).unwrap();
    assert_eq!(first.last().unwrap().name, "a");
    let resume = first.last().unwrap().next_cookie;
    r.unlink("b").unwrap();
    create(&r, "e");
    r.unlink("a").unwrap();
    let rest: Vec<_> = r
        .read_dir(resume, usize::MAX)
        .unwrap()
        .into_iter()
        .map(|e| e.name)
        .collect();
    assert_eq!(rest, ["c", "d", "e"]);
    let cookie_c = r.read_dir(resume, 1).unwrap()[0].next_cookie;
    create(&r, "b");
    let tail: Vec<_> = r
        .read_dir(cookie_c, 10)
        .unwrap()
        .into_iter()
        .map(|e| e.name)
        .collect();
    assert_eq!(tail, ["d", "e", "b"]);
    assert!(r.read_dir(u64::MAX, 10).unwrap().is_empty());
    assert!(r.read_dir(0, 0).unwrap().is_empty());
}

#[test]
fn timestamps_follow_changes() {
    let r = MemFs::new().root();
    let f = create(&r, "f");
    let s0 = f.stat().unwrap();
    assert!(s0.atim == s0.mtim && s0.mtim == s0.ctim && s0.ctim > 0);
    f.set_times(SetTime::At(5), SetTime::At(7)).unwrap();
    let s1 = f.stat().unwrap();
    assert_eq!((s1.atim, s1.mtim), (5, 7));
    assert!(s1.ctim >= s0.ctim);
    f.write_at(b"x", 0).unwrap();
    assert!(f.stat().unwrap().mtim >= s1.ctim);
    r.set_times_at("f", SetTime::Keep, SetTime::At(9)).unwrap();
    assert_eq!(f.stat().unwrap().mtim, 9);
    r.set_times(SetTime::At(1), SetTime::At(2)).unwrap();
    create(&r, "g");
    assert!(r.stat().unwrap().mtim > 2);
}

#[test]
fn from_host_dir_and_snapshot_round_trip() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path();
    std::fs::create_dir_all(p.join("sub/deeper")).unwrap();
    std::fs::write(p.join("a.txt"), b"alpha").unwrap();
    std::fs::write(p.join("sub/zeros"), vec![0u8; 3 * PAGE_SIZE]).unwrap();
    std::fs::write(p.join("sub/deeper/b"), b"beta").unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink("../a.txt", p.join("sub/link")).unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink("/etc/passwd", p.join("abs")).unwrap();
    let mtime = std::fs::metadata(p.join("a.txt"))
        .unwrap()
        .modified()
        .unwrap();

    let fs = MemFs::from_host_dir(p).unwrap();
    #[cfg_attr(not(unix), allow(unused_mut))]
    let mut want = vec![
        ("a.txt".to_owned(), TreeEntry::File(b"alpha".to_vec())),
        ("sub".to_owned(), TreeEntry::Dir),
        ("sub/deeper".to_owned(), TreeEntry::Dir),
        ("sub/deeper/b".to_owned(), TreeEntry::File(b"beta".to_vec())),
        (
            "sub/zeros".to_owned(),
            TreeEntry::File(vec![0; 3 * PAGE_SIZE]),
        ),
    ];
    #[cfg(unix)]
    {
        want.push(("abs".to_owned(), TreeEntry::Symlink("/etc/passwd".into())));
        want.push(("sub/link".to_owned(), TreeEntry::Symlink("../a.txt".into())));
        want.sort_by(|a, b| a.0.cmp(&b.0));
    }
    assert_eq!(fs.snapshot(), want);
    // All-zero host pages are not stored (one page each for `a.txt` and `b`); mtimes survive.
    assert_eq!(fs.page_count(), 2);
    let ns = mtime
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    assert_eq!(fs.root().stat_at("a.txt").unwrap().mtim, ns);
    assert!(MemFs::from_host_dir(&p.join("a.txt")).is_err());
}
