//! Unit tests of the Windows host backend on temp dirs: the same semantics as the Unix
//! backend (files, directories, rename and link rules, listings, times), names answered
//! only under their own spelling (case variants and 8.3 short names are not the entry), and
//! a read-only mount that refuses before the host is asked. The name traps themselves are in
//! `names_tests.rs`, with the rule they come from.

use std::fs;
use std::path::Path;
use std::sync::Arc;

use crate::vfs::{Dir, FileType, FsError, FsResult, HostDir, Mount, Node, OpenOptions, SetTime};

fn err<T>(r: FsResult<T>) -> FsError {
    match r {
        Ok(_) => panic!("expected an error"),
        Err(e) => e,
    }
}

fn mount(tmp: &tempfile::TempDir) -> Arc<dyn Dir> {
    Arc::new(HostDir::open(tmp.path()).unwrap())
}

const WRITE: OpenOptions = OpenOptions {
    create: true,
    exclusive: false,
    truncate: false,
    write: true,
};

fn names(dir: &Arc<dyn Dir>) -> Vec<String> {
    dir.read_dir(0, 1000)
        .unwrap()
        .into_iter()
        .map(|e| e.name)
        .collect()
}

fn host_names(path: &Path) -> Vec<String> {
    let mut out: Vec<String> = fs::read_dir(path)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    out.sort();
    out
}

#[test]
fn files_read_write_append_truncate_and_stat() {
    let tmp = tempfile::tempdir().unwrap();
    let root = mount(&tmp);
    let f = root.open_file("new.txt", WRITE).unwrap();
    assert_eq!(f.write_at(b"hello", 0).unwrap(), 5);
    assert_eq!(f.append(b" world").unwrap(), (6, 11));
    let mut buf = [0u8; 32];
    assert_eq!(f.read_at(&mut buf, 0).unwrap(), 11);
    assert_eq!(&buf[..11], b"hello world");
    assert_eq!(f.read_at(&mut buf, 100).unwrap(), 0);
    assert_eq!(
        fs::read(tmp.path().join("new.txt")).unwrap(),
        b"hello world"
    );
    let st = f.stat().unwrap();
    assert_eq!(
        (st.filetype, st.size, st.nlink),
        (FileType::RegularFile, 11, 1)
    );
    assert_eq!(root.stat_at("new.txt").unwrap().ino, st.ino);
    f.set_size(2).unwrap();
    assert_eq!(fs::read(tmp.path().join("new.txt")).unwrap(), b"he");
    // Exclusive creation of an existing name; truncation on open; a read-only handle.
    let excl = OpenOptions {
        exclusive: true,
        ..WRITE
    };
    assert_eq!(err(root.open_file("new.txt", excl)), FsError::Exists);
    let trunc = OpenOptions {
        truncate: true,
        ..WRITE
    };
    root.open_file("new.txt", trunc).unwrap();
    assert_eq!(fs::read(tmp.path().join("new.txt")).unwrap(), b"");
    let read = root.open_file("new.txt", OpenOptions::default()).unwrap();
    assert_eq!(err(read.write_at(b"x", 0)), FsError::Access);
    assert_eq!(
        err(root.open_file("missing", OpenOptions::default())),
        FsError::NotFound
    );
}

#[test]
fn directories_and_their_errors_map_like_the_memory_backend() {
    let tmp = tempfile::tempdir().unwrap();
    let root = mount(&tmp);
    root.create_dir("d").unwrap();
    assert_eq!(err(root.create_dir("d")), FsError::Exists);
    root.open_file("f", WRITE).unwrap();
    assert_eq!(err(root.open_file("d", WRITE)), FsError::IsDir);
    assert_eq!(err(root.unlink("d")), FsError::IsDir);
    assert_eq!(err(root.remove_dir("f")), FsError::NotDir);
    let Node::Dir(d) = root.lookup("d").unwrap() else {
        panic!("not a directory")
    };
    d.open_file("inner", WRITE).unwrap();
    assert_eq!(err(root.remove_dir("d")), FsError::NotEmpty);
    d.unlink("inner").unwrap();
    root.remove_dir("d").unwrap();
    assert_eq!(err(root.lookup("d")), FsError::NotFound);
    drop(d);
    // An open file can be unlinked, as on POSIX; its handle still reads.
    let f = root.open_file("f", WRITE).unwrap();
    f.write_at(b"kept", 0).unwrap();
    root.unlink("f").unwrap();
    // The name is gone at once, as on POSIX (where the OS deletes only on last close, the
    // file waits under a retired name no guest can see or spell), and can be used again.
    assert_eq!(err(root.stat_at("f")), FsError::NotFound);
    assert_eq!(names(&root), [".", ".."]);
    let mut buf = [0u8; 4];
    assert_eq!(f.read_at(&mut buf, 0).unwrap(), 4);
    assert_eq!(&buf, b"kept");
    root.open_file("f", WRITE)
        .unwrap()
        .write_at(b"new", 0)
        .unwrap();
    let retired: Vec<String> = host_names(tmp.path())
        .into_iter()
        .filter(|n| n != "f")
        .collect();
    for name in &retired {
        assert_eq!(err(root.stat_at(name)), FsError::NotFound, "{name}");
        assert_eq!(err(root.unlink(name)), FsError::NotFound, "{name}");
    }
    drop(f);
    assert_eq!(host_names(tmp.path()), ["f"]);
    // An open directory can be removed too.
    root.create_dir("open").unwrap();
    let Node::Dir(open) = root.lookup("open").unwrap() else {
        panic!("not a directory")
    };
    root.remove_dir("open").unwrap();
    assert_eq!(err(root.lookup("open")), FsError::NotFound);
    drop(open);
    assert_eq!(host_names(tmp.path()), ["f"]);
}

#[test]
fn rename_and_link_follow_posix_rules() {
    let tmp = tempfile::tempdir().unwrap();
    let root = mount(&tmp);
    fs::write(tmp.path().join("a"), "A").unwrap();
    fs::write(tmp.path().join("b"), "B").unwrap();
    fs::create_dir(tmp.path().join("d")).unwrap();
    fs::create_dir(tmp.path().join("e")).unwrap();
    fs::write(tmp.path().join("e/x"), "x").unwrap();
    fs::create_dir(tmp.path().join("empty")).unwrap();
    // A file over a file replaces it, even while the target is open.
    let open_b = root.open_file("b", OpenOptions::default()).unwrap();
    root.rename("a", &*root, "b").unwrap();
    drop(open_b);
    assert_eq!(fs::read(tmp.path().join("b")).unwrap(), b"A");
    assert!(!tmp.path().join("a").exists());
    assert_eq!(err(root.rename("b", &*root, "d")), FsError::IsDir);
    assert_eq!(err(root.rename("d", &*root, "b")), FsError::NotDir);
    assert_eq!(err(root.rename("d", &*root, "e")), FsError::NotEmpty);
    // A directory over an empty one replaces it.
    fs::write(tmp.path().join("d/in-d"), "d").unwrap();
    root.rename("d", &*root, "empty").unwrap();
    assert_eq!(fs::read(tmp.path().join("empty/in-d")).unwrap(), b"d");
    assert!(!tmp.path().join("d").exists());
    // Ancestry before type: into its own subtree EINVAL, onto an ancestor ENOTEMPTY.
    let Node::Dir(moved) = root.lookup("empty").unwrap() else {
        panic!("not a directory")
    };
    moved.create_dir("sub").unwrap();
    let Node::Dir(sub) = moved.lookup("sub").unwrap() else {
        panic!("not a directory")
    };
    assert_eq!(err(root.rename("empty", &*sub, "x")), FsError::Invalid);
    assert_eq!(err(root.rename("empty", &*moved, "x")), FsError::Invalid);
    assert_eq!(
        err(moved.rename("in-d", &*root, "empty")),
        FsError::NotEmpty
    );
    sub.open_file("deep", WRITE).unwrap();
    assert_eq!(err(sub.rename("deep", &*root, "empty")), FsError::NotEmpty);
    assert_eq!(err(sub.rename("deep", &*moved, "sub")), FsError::NotEmpty);
    drop((sub, moved));
    fs::remove_dir_all(tmp.path().join("empty")).unwrap();
    fs::create_dir(tmp.path().join("empty")).unwrap();
    // Into another directory of the mount.
    let Node::Dir(e) = root.lookup("e").unwrap() else {
        panic!("not a directory")
    };
    root.rename("b", &*e, "moved").unwrap();
    assert_eq!(fs::read(tmp.path().join("e/moved")).unwrap(), b"A");
    // Hard links: a second name of one file; never of a directory; never over a name.
    e.link("moved", &*root, "again").unwrap();
    assert_eq!(root.stat_at("again").unwrap().nlink, 2);
    assert_eq!(
        err(root.link("empty", &*root, "dirlink")),
        FsError::NotPermitted
    );
    assert_eq!(err(e.link("x", &*root, "again")), FsError::Exists);
    // Renaming one name of a file onto another of the same file does nothing.
    root.rename("again", &*e, "moved").unwrap();
    assert!(tmp.path().join("again").exists());
}

#[test]
fn names_answer_only_under_their_own_spelling() {
    let tmp = tempfile::tempdir().unwrap();
    fs::write(tmp.path().join("Secret.txt"), "secret").unwrap();
    let root = mount(&tmp);
    for alias in ["secret.txt", "SECRET.TXT", "Secret.TXT"] {
        assert_eq!(err(root.lookup(alias)), FsError::NotFound, "{alias}");
        assert_eq!(err(root.stat_at(alias)), FsError::NotFound, "{alias}");
        assert_eq!(
            err(root.open_file(alias, OpenOptions::default())),
            FsError::NotFound,
            "{alias}"
        );
        // Creating it would open (or collide with) the entry: refused.
        assert_eq!(
            err(root.open_file(alias, WRITE)),
            FsError::Exists,
            "{alias}"
        );
        assert_eq!(err(root.create_dir(alias)), FsError::Exists, "{alias}");
        assert_eq!(err(root.unlink(alias)), FsError::NotFound, "{alias}");
        assert_eq!(
            err(root.rename(alias, &*root, "x")),
            FsError::NotFound,
            "{alias}"
        );
    }
    assert_eq!(fs::read(tmp.path().join("Secret.txt")).unwrap(), b"secret");
    assert_eq!(host_names(tmp.path()), ["Secret.txt"]);
    // The entry's own name works (a case-only rename is allowed, but Wine 8 keeps the old
    // spelling, so it is not asserted).
    root.stat_at("Secret.txt").unwrap();
}

/// The 8.3 short name Windows (or Wine) gives `path`, if this filesystem has them.
fn short_name(path: &Path) -> Option<String> {
    use std::os::windows::ffi::{OsStrExt, OsStringExt};
    use windows_sys::Win32::Storage::FileSystem::GetShortPathNameW;
    let wide: Vec<u16> = path.as_os_str().encode_wide().chain([0]).collect();
    let mut out = vec![0u16; 1024];
    // SAFETY: a NUL-terminated input and an output buffer of the length given.
    #[allow(unsafe_code)]
    let n = unsafe { GetShortPathNameW(wide.as_ptr(), out.as_mut_ptr(), out.len() as u32) };
    if n == 0 || n as usize >= out.len() {
        return None;
    }
    let full = std::ffi::OsString::from_wide(&out[..n as usize]);
    let name = Path::new(&full).file_name()?.to_str()?.to_owned();
    let long = path.file_name()?.to_str()?;
    (name != long).then_some(name)
}

#[test]
fn short_names_are_not_the_entry() {
    let tmp = tempfile::tempdir().unwrap();
    let long = tmp.path().join("a long directory name");
    fs::create_dir(&long).unwrap();
    fs::write(long.join("inside.txt"), "inside").unwrap();
    let Some(short) = short_name(&long) else {
        eprintln!("this filesystem gives no 8.3 names: nothing to check");
        return;
    };
    let root = mount(&tmp);
    assert_eq!(err(root.lookup(&short)), FsError::NotFound, "{short}");
    assert_eq!(err(root.stat_at(&short)), FsError::NotFound, "{short}");
    assert_eq!(err(root.create_dir(&short)), FsError::Exists, "{short}");
    assert!(matches!(
        root.lookup("a long directory name").unwrap(),
        Node::Dir(_)
    ));
}

#[test]
fn listings_are_sorted_with_dots_first_and_times_are_the_hosts() {
    let tmp = tempfile::tempdir().unwrap();
    for n in ["b", "a", "c"] {
        fs::write(tmp.path().join(n), n).unwrap();
    }
    fs::create_dir(tmp.path().join("d")).unwrap();
    let root = mount(&tmp);
    assert_eq!(names(&root), [".", "..", "a", "b", "c", "d"]);
    let entries = root.read_dir(0, 1000).unwrap();
    assert_eq!(entries[5].filetype, FileType::Directory);
    assert_eq!(entries[2].filetype, FileType::RegularFile);
    // Paging by cookie resumes after the last entry read.
    let first = root.read_dir(0, 3).unwrap();
    let rest = root.read_dir(first[2].next_cookie, 1000).unwrap();
    assert_eq!(
        rest.iter().map(|e| e.name.as_str()).collect::<Vec<_>>(),
        ["b", "c", "d"]
    );
    const T: u64 = 1_500_000_000_000_000_000;
    root.set_times_at("a", SetTime::At(T), SetTime::At(T + 100))
        .unwrap();
    let st = root.stat_at("a").unwrap();
    assert_eq!((st.atim, st.mtim), (T, T + 100));
    let host = fs::metadata(tmp.path().join("a"))
        .unwrap()
        .modified()
        .unwrap();
    let secs = host
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    assert_eq!(secs, u128::from(T + 100));
    // A lookup handle sets times too (attribute rights, no data rights).
    let Node::File(b) = root.lookup("b").unwrap() else {
        panic!("not a file")
    };
    b.set_times(SetTime::Keep, SetTime::At(T)).unwrap();
    assert_eq!(root.stat_at("b").unwrap().mtim, T);
    let mut buf = [0u8; 1];
    assert_eq!(err(b.read_at(&mut buf, 0)), FsError::Access);
}

#[test]
fn symlinks_cannot_be_made_by_guests_and_a_read_only_mount_changes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    fs::write(tmp.path().join("file.txt"), "data").unwrap();
    let root = mount(&tmp);
    assert_eq!(err(root.symlink("l", "file.txt")), FsError::NotPermitted);
    assert_eq!(err(root.symlink("l", "/abs")), FsError::Escape);
    let ro = Mount::read_only(HostDir::open(tmp.path()).unwrap())
        .dir()
        .clone();
    assert_eq!(err(ro.unlink("file.txt")), FsError::ReadOnly);
    assert_eq!(err(ro.create_dir("x")), FsError::ReadOnly);
    assert_eq!(err(ro.open_file("file.txt", WRITE)), FsError::ReadOnly);
    assert_eq!(host_names(tmp.path()), ["file.txt"]);
    assert_eq!(fs::read(tmp.path().join("file.txt")).unwrap(), b"data");
}

#[test]
fn a_mount_root_must_be_a_directory() {
    let tmp = tempfile::tempdir().unwrap();
    fs::write(tmp.path().join("f"), "").unwrap();
    let e = HostDir::open(tmp.path().join("f")).unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::NotADirectory);
    assert!(HostDir::open(tmp.path().join("missing")).is_err());
}
