//! Filesystem images: a tree saved as tar and loaded back is the same tree (contents, dirs,
//! symlinks, hard links, mtimes), also when saved after the guest was stopped by a limit; and a
//! corpus of hostile archives is refused with an error naming the entry, leaving no escape.

use std::sync::Arc;
use wasi_warden::limits::FsLimits;
use wasi_warden::vfs::image::{self, ImageError};
use wasi_warden::vfs::{Dir, File, FsError, Node, OpenOptions, SetTime, TreeEntry};
use wasi_warden::wasmtime::{Engine, Module};
use wasi_warden::{MemFs, Output, WasiCtx, run_command};

const CREATE: OpenOptions = OpenOptions {
    create: true,
    exclusive: false,
    truncate: false,
    write: true,
};

fn subdir(dir: &Arc<dyn Dir>, name: &str) -> Arc<dyn Dir> {
    match dir.lookup(name).unwrap() {
        Node::Dir(d) => d,
        other => panic!("{name} is {other:?}"),
    }
}

fn file(dir: &Arc<dyn Dir>, name: &str, data: &[u8]) -> Arc<dyn File> {
    let f = dir.open_file(name, CREATE).unwrap();
    f.write_at(data, 0).unwrap();
    f
}

/// A tree with every kind of object, sub-second and old mtimes, a hard link and a sparse file.
fn sample() -> MemFs {
    let fs = MemFs::new();
    let root = fs.root();
    root.create_dir("docs").unwrap();
    let docs = subdir(&root, "docs");
    file(&docs, "readme.txt", b"hello\n");
    file(&root, "empty", b"");
    let sparse = file(&root, "sparse", b"head");
    sparse.write_at(b"tail", 300_000).unwrap();
    root.link("empty", &*docs, "empty-link").unwrap();
    let long = "n".repeat(200);
    docs.create_dir(&long).unwrap();
    file(&subdir(&docs, &long), "deep", &[7; 70_000]);
    root.symlink("to-readme", "docs/readme.txt").unwrap();
    docs.symlink("up", "../empty").unwrap();
    docs.set_times_at(
        "readme.txt",
        SetTime::Keep,
        SetTime::At(1_234_567_890_123_456_789),
    )
    .unwrap();
    root.set_times_at("to-readme", SetTime::Keep, SetTime::At(5_000_000_000))
        .unwrap();
    docs.set_times(SetTime::Keep, SetTime::At(1_600_000_000_000_000_001))
        .unwrap();
    fs
}

/// (path, entry, mtime, nlink) of every object, and the root's mtime.
fn describe(fs: &MemFs) -> (Vec<(String, TreeEntry, u64, u64)>, u64) {
    let root = fs.root();
    let mut out = Vec::new();
    for (path, entry) in fs.snapshot() {
        let (parent, name) = match path.rsplit_once('/') {
            Some((p, n)) => (p.to_string(), n.to_string()),
            None => (String::new(), path.clone()),
        };
        let mut dir = root.clone();
        for comp in parent.split('/').filter(|c| !c.is_empty()) {
            dir = subdir(&dir, comp);
        }
        let stat = dir.stat_at(&name).unwrap();
        out.push((path, entry, stat.mtim, stat.nlink));
    }
    (out, root.stat().unwrap().mtim)
}

fn save(fs: &MemFs) -> Vec<u8> {
    let mut out = Vec::new();
    fs.save_tar(&mut out).unwrap();
    out
}

#[test]
fn a_round_trip_keeps_contents_dirs_symlinks_hard_links_and_mtimes() {
    let fs = sample();
    let bytes = save(&fs);
    let back = MemFs::from_tar(&bytes[..], FsLimits::default()).unwrap();
    assert_eq!(describe(&back), describe(&fs));
    // The hard link is one inode with two names.
    let root = back.root();
    let a = root.stat_at("empty").unwrap();
    let b = subdir(&root, "docs").stat_at("empty-link").unwrap();
    assert_eq!((a.ino, a.nlink), (b.ino, 2));
    // Holes stay holes: only the written pages are stored.
    assert!(back.usage().bytes < 200_000, "{:?}", back.usage());
    // Saving again gives the same bytes (the format is deterministic).
    assert_eq!(save(&back), bytes);
}

#[test]
fn loading_charges_the_quota() {
    let bytes = save(&sample());
    let err = MemFs::from_tar(&bytes[..], FsLimits::quota(50_000)).unwrap_err();
    assert!(
        matches!(
            &err,
            ImageError::Fs {
                error: FsError::NoSpace,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("quota"), "{err}");
}

#[test]
fn saving_refuses_more_file_data_than_the_quota() {
    // 2 MiB really stored, then the quota lowered to 1 MiB: the image would hold 2 MiB.
    let fs = MemFs::new();
    file(&fs.root(), "full", &[9; 2 << 20]);
    fs.set_limits(FsLimits::quota(1 << 20));
    let mut out = Vec::new();
    let err = fs.save_tar(&mut out).unwrap_err();
    assert!(matches!(&err, ImageError::Budget { .. }), "{err:?}");
    let message = err.to_string();
    assert!(
        message.contains("image budget exhausted") && message.contains("file data"),
        "{message}"
    );
    // Refused before anything was written.
    assert!(out.is_empty(), "{} bytes written", out.len());
}

/// 1 PiB long, "hello" at 32 TiB and "head" at 0: far more than any quota, stored sparsely.
fn huge_sparse(fs: &MemFs) {
    let f = file(&fs.root(), "huge", b"head");
    f.set_size(1 << 50).unwrap();
    f.write_at(b"hello", 32 << 40).unwrap();
}

#[test]
fn a_sparse_file_larger_than_the_quota_is_saved_sparsely_and_loads_back() {
    let fs = MemFs::builder().quota(1 << 20).build();
    huge_sparse(&fs);
    file(&fs.root(), "small", b"small");
    let bytes = save(&fs);
    eprintln!(
        "1 PiB sparse file under a 1 MiB quota: a {} byte image",
        bytes.len()
    );
    assert!(bytes.len() < 16 << 10, "a {} byte image", bytes.len());
    let back = MemFs::from_tar(&bytes[..], fs.limits()).unwrap();
    let root = back.root();
    let Node::File(huge) = root.lookup("huge").unwrap() else {
        panic!("huge is not a file")
    };
    assert_eq!(huge.stat().unwrap().size, 1 << 50);
    let mut buf = [0xAA; 9];
    assert_eq!(huge.read_at(&mut buf, (32 << 40) - 2).unwrap(), 9);
    assert_eq!(&buf, b"\0\0hello\0\0");
    assert_eq!(huge.read_at(&mut buf[..4], 0).unwrap(), 4);
    assert_eq!(&buf[..4], b"head");
    assert_eq!(back.usage().bytes, 4 + 5 + 5);
    assert!(back.usage().charged < 8 << 10, "{:?}", back.usage());
    // Saved again, the same bytes.
    assert_eq!(save(&back), bytes);
}

/// Runs the system's `tar` with `args` in `dir`; `None` (and a note) if there is none.
fn system_tar(dir: &std::path::Path, args: &[&str]) -> Option<std::process::Output> {
    match std::process::Command::new("tar")
        .args(args)
        .current_dir(dir)
        .output()
    {
        Ok(out) => Some(out),
        Err(e) => {
            eprintln!("note: skipped, no system tar ({e})");
            None
        }
    }
}

#[test]
fn gnu_tar_extracts_our_sparse_images() {
    // 1 GiB with bytes at 0 and at 700 MiB (a host filesystem holds that sparsely, too).
    let fs = MemFs::builder().quota(1 << 20).build();
    let f = file(&fs.root(), "sparse", b"head");
    f.set_size(1 << 30).unwrap();
    f.write_at(b"middle", 700 << 20).unwrap();
    fs.root().create_dir("d").unwrap();
    file(&subdir(&fs.root(), "d"), &"n".repeat(150), b"long name");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("image.tar"), save(&fs)).unwrap();
    std::fs::create_dir(dir.path().join("out")).unwrap();
    let Some(out) = system_tar(dir.path(), &["-xf", "image.tar", "-C", "out"]) else {
        return;
    };
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let path = dir.path().join("out/sparse");
    let data = std::fs::metadata(&path).unwrap();
    assert_eq!(data.len(), 1 << 30);
    use std::io::{Read, Seek, SeekFrom};
    let mut host = std::fs::File::open(&path).unwrap();
    let mut buf = [0u8; 8];
    host.read_exact(&mut buf[..4]).unwrap();
    assert_eq!(&buf[..4], b"head");
    host.seek(SeekFrom::Start((700 << 20) - 1)).unwrap();
    host.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"\0middle\0");
    let long = std::fs::read(dir.path().join("out/d").join("n".repeat(150))).unwrap();
    assert_eq!(long, b"long name");
    // Nothing else: no placeholder directory of a reader that missed the sparse records.
    let mut names: Vec<_> = std::fs::read_dir(dir.path().join("out"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["d", "sparse"]);
}

#[test]
fn a_sparse_archive_made_by_gnu_tar_loads_sparsely() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("src")).unwrap();
    let host = std::fs::File::create(dir.path().join("src/holes")).unwrap();
    host.set_len(3 << 30).unwrap();
    use std::io::{Seek, SeekFrom, Write};
    let mut host = host;
    host.seek(SeekFrom::Start(2 << 30)).unwrap();
    host.write_all(b"deep data").unwrap();
    drop(host);
    std::fs::write(dir.path().join("src/plain"), b"plain").unwrap();
    let Some(out) = system_tar(
        dir.path(),
        &[
            "--sparse",
            "--format=pax",
            "-cf",
            "gnu.tar",
            "-C",
            "src",
            "holes",
            "plain",
        ],
    ) else {
        return;
    };
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bytes = std::fs::read(dir.path().join("gnu.tar")).unwrap();
    let fs = MemFs::from_tar(&bytes[..], FsLimits::quota(1 << 20)).unwrap();
    let Node::File(holes) = fs.root().lookup("holes").unwrap() else {
        panic!("holes is not a file")
    };
    assert_eq!(holes.stat().unwrap().size, 3 << 30);
    let mut buf = [0xAA; 11];
    assert_eq!(holes.read_at(&mut buf, (2 << 30) - 1).unwrap(), 11);
    assert_eq!(&buf, b"\0deep data\0");
    assert!(fs.usage().charged < 64 << 10, "{:?}", fs.usage());
    let names: Vec<String> = fs.snapshot().into_iter().map(|(p, _)| p).collect();
    assert_eq!(names, ["holes", "plain"]);
}

/// 20,000 empty files with long paths (a 16-deep chain of 240-byte directories), built without
/// a quota: as large an image as names alone can make.
fn many_long_names(fs: &MemFs) {
    let mut dir = fs.root();
    for i in 0..16 {
        let name = format!("{i:02}{}", "d".repeat(238));
        dir.create_dir(&name).unwrap();
        dir = subdir(&dir, &name);
    }
    for i in 0..20_000 {
        drop(
            dir.open_file(&format!("{i:05}{}", "f".repeat(60)), CREATE)
                .unwrap(),
        );
    }
}

#[test]
fn the_image_budget_covers_headers_and_names() {
    let fs = MemFs::new();
    many_long_names(&fs);
    let unlimited = save(&fs).len();
    // The same tree under a 1 MiB quota (lowered after it was built): refused, nothing written.
    fs.set_limits(FsLimits::quota(1 << 20));
    let mut out = Vec::new();
    let err = fs.save_tar(&mut out).unwrap_err();
    let message = err.to_string();
    eprintln!("20,000 long names: {unlimited} bytes unlimited; at 1 MiB: {message}");
    assert!(matches!(&err, ImageError::Budget { .. }), "{err:?}");
    assert!(
        message.contains("image budget exhausted") && message.contains("headers and names"),
        "{message}"
    );
    assert!(out.is_empty(), "{} bytes written", out.len());
    // Built under the quota, the tree stops at ENOSPC; its image saves, and is bounded.
    let fs = MemFs::builder().quota(1 << 20).build();
    let mut dir = fs.root();
    for i in 0..16 {
        let name = format!("{i:02}{}", "d".repeat(238));
        dir.create_dir(&name).unwrap();
        dir = subdir(&dir, &name);
    }
    let mut made = 0;
    while dir
        .open_file(&format!("{made:05}{}", "f".repeat(60)), CREATE)
        .is_ok()
    {
        made += 1;
    }
    let bytes = save(&fs);
    let budget = image::ImageBudget::of(&fs.limits());
    eprintln!(
        "under 1 MiB: {made} files, a {} byte image (budget: {budget:?})",
        bytes.len()
    );
    assert!((bytes.len() as u64) <= budget.data.unwrap() + budget.metadata.unwrap());
    let back = MemFs::from_tar(&bytes[..], fs.limits()).unwrap();
    assert_eq!(back.snapshot(), fs.snapshot());
}

/// Creates /huge (1 PiB, "hello" at 32 TiB) and /out.txt, then spins until stopped.
const SPARSE_THEN_SPIN: &str = r#"(module
  (import "wasi_snapshot_preview1" "fd_pwrite" (func $fd_pwrite (param i32 i32 i32 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_filestat_set_size" (func $set_size (param i32 i64) (result i32)))
  (import "wasi_snapshot_preview1" "path_open" (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 200) "huge")
  (data (i32.const 220) "out.txt")
  (data (i32.const 100) "hello")
  (func (export "_start")
    (drop (call $path_open (i32.const 3) (i32.const 0) (i32.const 200) (i32.const 4)
      (i32.const 1) (i64.const 0x1fffffff) (i64.const 0x1fffffff) (i32.const 0) (i32.const 300)))
    (drop (call $set_size (i32.load (i32.const 300)) (i64.const 0x4000000000000)))
    (i32.store (i32.const 0) (i32.const 100))
    (i32.store (i32.const 4) (i32.const 5))
    (drop (call $fd_pwrite (i32.load (i32.const 300)) (i32.const 0) (i32.const 1)
      (i64.const 0x200000000000) (i32.const 8)))
    (drop (call $path_open (i32.const 3) (i32.const 0) (i32.const 220) (i32.const 7)
      (i32.const 1) (i64.const 0x1fffffff) (i64.const 0x1fffffff) (i32.const 0) (i32.const 304)))
    (drop (call $fd_pwrite (i32.load (i32.const 304)) (i32.const 0) (i32.const 1)
      (i64.const 0) (i32.const 8)))
    (loop $spin (br $spin))))"#;

#[test]
fn a_sparse_tree_is_saved_whole_after_the_guest_is_stopped_by_its_timeout() {
    use wasi_warden::RunLimits;
    let limits = RunLimits {
        timeout: Some(std::time::Duration::from_millis(200)),
        ..RunLimits::default()
    };
    let mut config = wasi_warden::wasmtime::Config::new();
    limits.configure(&mut config);
    let engine = Engine::new(&config).unwrap();
    let module = Module::new(&engine, SPARSE_THEN_SPIN).unwrap();
    let fs = MemFs::builder().quota(1 << 20).build();
    let ctx = WasiCtx::builder().mount("/", fs.clone()).build();
    let (outcome, ctx) = wasi_warden::run_command_with(&engine, &module, ctx, &limits).unwrap();
    assert!(outcome.limit().is_some(), "{outcome:?}");
    // The context (and every descriptor the guest held) is still alive: the image is whole.
    let bytes = save(&fs);
    drop(ctx);
    assert_eq!(save(&fs), bytes);
    let back = MemFs::from_tar(&bytes[..], fs.limits()).unwrap();
    let root = back.root();
    assert_eq!(root.stat_at("huge").unwrap().size, 1 << 50);
    let Node::File(huge) = root.lookup("huge").unwrap() else {
        panic!("huge is not a file")
    };
    let mut buf = [0u8; 5];
    huge.read_at(&mut buf, 32 << 40).unwrap();
    assert_eq!(&buf, b"hello");
    let Node::File(out) = root.lookup("out.txt").unwrap() else {
        panic!("out.txt is not a file")
    };
    out.read_at(&mut buf, 0).unwrap();
    assert_eq!(&buf, b"hello");
}

#[test]
fn the_tree_is_saved_after_the_guest_is_stopped_by_a_limit() {
    // Creates /out.txt with "partial", then floods stdout past its limit.
    let source = r#"(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_open" (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 200) "out.txt")
  (data (i32.const 100) "partial")
  (func (export "_start")
    (drop (call $path_open (i32.const 3) (i32.const 0) (i32.const 200) (i32.const 7)
      (i32.const 1) (i64.const 0x1fffffff) (i64.const 0x1fffffff) (i32.const 0) (i32.const 300)))
    (i32.store (i32.const 0) (i32.const 100))
    (i32.store (i32.const 4) (i32.const 7))
    (drop (call $fd_write (i32.load (i32.const 300)) (i32.const 0) (i32.const 1) (i32.const 8)))
    (loop $flood
      (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
      (br $flood))))"#;
    let engine = Engine::default();
    let module = Module::new(&engine, source).unwrap();
    let fs = MemFs::new();
    let ctx = WasiCtx::builder()
        .stdout(Output::capture().limit(100))
        .mount("/", fs.clone())
        .build();
    let (outcome, _ctx) = run_command(&engine, &module, ctx).unwrap();
    assert!(outcome.limit().is_some(), "{outcome:?}");
    let back = MemFs::from_tar(&save(&fs)[..], FsLimits::default()).unwrap();
    assert_eq!(
        back.snapshot(),
        vec![("out.txt".to_string(), TreeEntry::File(b"partial".to_vec()))]
    );
}

// ---- Hostile archives -----------------------------------------------------------------------

/// One raw 512-byte header block with `name`, `kind`, `size` and `link`, checksummed.
fn header(name: &[u8], kind: u8, size: u64, link: &[u8]) -> Vec<u8> {
    let mut h = tar::Header::new_gnu();
    {
        let gnu = h.as_gnu_mut().unwrap();
        gnu.name[..name.len()].copy_from_slice(name);
        gnu.linkname[..link.len()].copy_from_slice(link);
    }
    h.set_mode(0o644);
    h.set_mtime(0);
    h.set_size(size);
    h.set_entry_type(tar::EntryType::new(kind));
    h.set_cksum();
    h.as_bytes().to_vec()
}

/// Data padded to whole blocks.
fn data(bytes: &[u8]) -> Vec<u8> {
    let mut out = bytes.to_vec();
    out.resize(bytes.len().div_ceil(512) * 512, 0);
    out
}

fn archive(parts: &[Vec<u8>]) -> Vec<u8> {
    let mut out: Vec<u8> = parts.concat();
    out.extend_from_slice(&[0; 1024]);
    out
}

fn load_err(bytes: &[u8]) -> (String, MemFs) {
    let fs = MemFs::new();
    let err = image::load(fs.root(), bytes).expect_err("a hostile archive was accepted");
    (err.to_string(), fs)
}

#[test]
fn hostile_archives_are_refused_with_a_clear_error() {
    let file = |name: &[u8]| [header(name, b'0', 3, b""), data(b"bad")].concat();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "absolute name",
            archive(&[file(b"/etc/passwd")]),
            "absolute",
        ),
        ("dot-dot name", archive(&[file(b"a/../../x")]), ".."),
        (
            "absolute symlink",
            archive(&[header(b"l", b'2', 0, b"/etc/passwd")]),
            "absolute",
        ),
        (
            "symlink out",
            archive(&[header(b"d/l", b'2', 0, b"../../outside")]),
            "leaves the tree",
        ),
        (
            "hard link out",
            archive(&[header(b"l", b'1', 0, b"../etc/passwd")]),
            "..",
        ),
        (
            "hard link to nothing earlier",
            archive(&[header(b"l", b'1', 0, b"later"), file(b"later")]),
            "not an earlier file",
        ),
        (
            "entry through a symlink",
            archive(&[header(b"l", b'2', 0, b"."), file(b"l/x")]),
            "symlink",
        ),
        (
            "device",
            archive(&[header(b"dev", b'3', 0, b"")]),
            "unsupported",
        ),
        ("gnu sparse", archive(&[header(b"s", b'S', 0, b"")]), ""),
        (
            "huge declared size, truncated",
            [header(b"big", b'0', 1 << 40, b""), data(b"only this")].concat(),
            "truncated",
        ),
        (
            "truncated header",
            header(b"f", b'0', 3, b"")[..300].to_vec(),
            "",
        ),
        (
            "huge long name",
            [
                header(b"././@LongLink", b'L', 2 << 20, b""),
                vec![b'a'; 2 << 20],
            ]
            .concat(),
            "metadata",
        ),
        (
            "non-directory in the way",
            archive(&[file(b"f"), file(b"f/x")]),
            "file",
        ),
    ];
    for (what, bytes, hint) in cases {
        let (message, fs) = load_err(&bytes);
        assert!(message.contains(hint), "{what}: {message:?} lacks {hint:?}");
        // Whatever was loaded before the refusal stays inside the tree.
        for (path, _) in fs.snapshot() {
            assert!(!path.contains(".."), "{what}: {path}");
        }
    }
}

/// A PAX header holding `records` (key, value), as one 'x' entry.
fn pax(records: &[(&str, &str)]) -> Vec<u8> {
    let mut body = Vec::new();
    for (key, value) in records {
        let rest = format!(" {key}={value}\n");
        let mut len = rest.len() + 1;
        while format!("{len}{rest}").len() != len {
            len += 1;
        }
        body.extend_from_slice(format!("{len}{rest}").as_bytes());
    }
    [
        header(b"././@PaxHeader", b'x', body.len() as u64, b""),
        data(&body),
    ]
    .concat()
}

/// A PAX 1.0 sparse entry named `name` of `realsize` whose data block is `map` then `body`.
fn sparse_entry(name: &str, realsize: &str, map: &[u8], body: &[u8]) -> Vec<u8> {
    let block = [data(map), body.to_vec()].concat();
    [
        pax(&[
            ("GNU.sparse.major", "1"),
            ("GNU.sparse.minor", "0"),
            ("GNU.sparse.name", name),
            ("GNU.sparse.realsize", realsize),
        ]),
        header(b"GNUSparseFile.0/x", b'0', block.len() as u64, b""),
        data(&block),
    ]
    .concat()
}

#[test]
fn hostile_sparse_maps_are_refused_without_allocating() {
    // A billion regions claimed; a real map of a few regions that do not match it.
    let billion = archive(&[sparse_entry("s", "100", b"1000000000\n0\n1\n", b"x")]);
    // Regions out of order, overlapping, past the end, a number too long, realsize 2^63.
    let unordered = archive(&[sparse_entry("s", "100", b"2\n10\n1\n0\n1\n", b"ab")]);
    let overlap = archive(&[sparse_entry("s", "100", b"2\n0\n5\n3\n1\n", b"abcdef")]);
    let past_end = archive(&[sparse_entry("s", "100", b"1\n99\n5\n", b"abcde")]);
    let long_number = archive(&[sparse_entry("s", "100", &[b'9'; 400], b"")]);
    let huge = archive(&[sparse_entry("s", "9223372036854775808", b"1\n0\n1\n", b"x")]);
    let mismatch = archive(&[sparse_entry("s", "100", b"1\n0\n50\n", b"x")]);
    let old_format = archive(&[
        pax(&[("GNU.sparse.size", "100"), ("GNU.sparse.map", "0,1")]),
        [header(b"s", b'0', 1, b""), data(b"x")].concat(),
    ]);
    let version = archive(&[
        pax(&[("GNU.sparse.major", "2"), ("GNU.sparse.minor", "0")]),
        [header(b"s", b'0', 1, b""), data(b"x")].concat(),
    ]);
    let cases = [
        ("billion", billion, "sparse map"),
        ("unordered", unordered, "sparse map"),
        ("overlap", overlap, "sparse map"),
        ("past the end", past_end, "sparse map"),
        ("long number", long_number, "sparse map"),
        ("realsize 2^63", huge, "larger than the largest file"),
        ("mismatch", mismatch, "sparse map"),
        ("old format", old_format, "sparse format"),
        ("version 2", version, "sparse format"),
    ];
    for (what, bytes, hint) in cases {
        let (message, fs) = load_err(&bytes);
        assert!(message.contains(hint), "{what}: {message:?} lacks {hint:?}");
        assert!(fs.usage().charged < 4096, "{what}: {:?}", fs.usage());
    }
}

#[test]
fn a_sparse_map_is_bounded_by_the_quota() {
    // 300,000 real one-byte regions: a 16-byte region each is more than a 1 MiB quota has
    // room for, so the map is refused before it is held.
    let n = 300_000u64;
    let mut map = format!("{n}\n");
    for i in 0..n {
        map.push_str(&format!("{}\n1\n", i * 2));
    }
    let bytes = archive(&[sparse_entry(
        "s",
        &(2 * n).to_string(),
        map.as_bytes(),
        &vec![1; n as usize],
    )]);
    let fs = MemFs::builder().quota(1 << 20).build();
    let err = image::load(fs.root(), &bytes[..]).unwrap_err();
    assert!(err.to_string().contains("sparse map"), "{err}");
    // With room, the same map loads.
    let fs = MemFs::from_tar(&bytes[..], FsLimits::quota(64 << 20)).unwrap();
    assert!(fs.usage().bytes < 2 * n, "{:?}", fs.usage());
    let mut buf = [9u8; 3];
    fs.root()
        .open_file("s", OpenOptions::default())
        .unwrap()
        .read_at(&mut buf, 2 * n - 4)
        .unwrap();
    assert_eq!(buf, [1, 0, 1]);
}

#[test]
fn a_huge_declared_size_is_bounded_by_the_quota_not_by_host_memory() {
    // Claims 1 TiB and really carries 2 MiB of non-zero data: refused at the quota.
    let bytes = [header(b"big", b'0', 1 << 40, b""), vec![1u8; 2 << 20]].concat();
    let fs = MemFs::builder().quota(1 << 20).build();
    let err = image::load(fs.root(), &bytes[..]).unwrap_err();
    assert!(
        matches!(
            &err,
            ImageError::Fs {
                error: FsError::NoSpace,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(fs.usage().bytes <= 1 << 20);
}

#[test]
fn archives_from_other_tools_load() {
    // `./`-prefixed names, an explicit root, implicit parents, and a later entry replacing an
    // earlier file (tar's rule).
    let bytes = archive(&[
        header(b"./", b'5', 0, b""),
        [header(b"./a/b/c.txt", b'0', 3, b""), data(b"one")].concat(),
        [header(b"./a/b/c.txt", b'0', 3, b""), data(b"two")].concat(),
        header(b"./a/link", b'1', 0, b"a/b/c.txt"),
    ]);
    let fs = MemFs::from_tar(&bytes[..], FsLimits::default()).unwrap();
    assert_eq!(
        fs.snapshot(),
        vec![
            ("a".to_string(), TreeEntry::Dir),
            ("a/b".to_string(), TreeEntry::Dir),
            ("a/b/c.txt".to_string(), TreeEntry::File(b"two".to_vec())),
            ("a/link".to_string(), TreeEntry::File(b"two".to_vec())),
        ]
    );
}

// ---- The CLI ------------------------------------------------------------------------------

/// Appends "+" to /in/data.txt (loaded from an image), then floods stdout past its limit.
const APPEND_THEN_FLOOD: &str = r#"(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_open" (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 200) "data.txt")
  (data (i32.const 100) "+")
  (func (export "_start")
    (drop (call $path_open (i32.const 3) (i32.const 0) (i32.const 200) (i32.const 8)
      (i32.const 0) (i64.const 0x1fffffff) (i64.const 0x1fffffff) (i32.const 1) (i32.const 300)))
    (i32.store (i32.const 0) (i32.const 100))
    (i32.store (i32.const 4) (i32.const 1))
    (drop (call $fd_write (i32.load (i32.const 300)) (i32.const 0) (i32.const 1) (i32.const 8)))
    (loop $flood
      (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
      (br $flood))))"#;

#[test]
fn cli_loads_an_image_and_saves_the_tree_after_a_limit_stop() {
    let dir = tempfile::tempdir().unwrap();
    let fs = MemFs::new();
    file(&fs.root(), "data.txt", b"start");
    fs.root().symlink("alias", "data.txt").unwrap();
    let input = dir.path().join("in.tar");
    fs.save_tar(std::fs::File::create(&input).unwrap()).unwrap();
    let guest = dir.path().join("guest.wat");
    std::fs::write(&guest, APPEND_THEN_FLOOD).unwrap();
    let output = dir.path().join("out.tar");
    let mem_dir = format!("{}::/in", input.display());
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_wasi-warden"))
        .args([
            "run",
            "-C",
            "cache=n",
            "--stdout-limit",
            "10",
            "--mem-dir",
            &mem_dir,
            "--save-fs",
        ])
        .arg(&output)
        .arg(&guest)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(134), "{stderr}");
    assert!(stderr.contains("stdout limit of 10 bytes"), "{stderr}");
    let saved =
        MemFs::from_tar(std::fs::File::open(&output).unwrap(), FsLimits::default()).unwrap();
    assert_eq!(
        saved.snapshot(),
        vec![
            (
                "alias".to_string(),
                TreeEntry::Symlink("data.txt".to_string())
            ),
            ("data.txt".to_string(), TreeEntry::File(b"start+".to_vec())),
        ]
    );
}

#[test]
fn cli_refuses_a_hostile_image_before_the_guest_starts() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("evil.tar");
    std::fs::write(&input, archive(&[header(b"../../etc/x", b'0', 0, b"")])).unwrap();
    let guest = dir.path().join("guest.wat");
    std::fs::write(
        &guest,
        r#"(module (memory (export "memory") 1) (func (export "_start")))"#,
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_wasi-warden"))
        .arg("run")
        .args(["-C", "cache=n", "--mem-dir"])
        .arg(format!("{}::/", input.display()))
        .arg(&guest)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("cannot load the image") && stderr.contains(".."),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}
