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
    // 4 bytes stored, but a hole makes the file 1 GiB long: the image would hold 1 GiB.
    let fs = MemFs::new().quota(1 << 20);
    let f = file(&fs.root(), "holey", b"data");
    f.set_size(1 << 30).unwrap();
    let err = fs.save_tar(std::io::sink()).unwrap_err();
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

#[test]
fn a_huge_declared_size_is_bounded_by_the_quota_not_by_host_memory() {
    // Claims 1 TiB and really carries 2 MiB of non-zero data: refused at the quota.
    let bytes = [header(b"big", b'0', 1 << 40, b""), vec![1u8; 2 << 20]].concat();
    let fs = MemFs::new().quota(1 << 20);
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
        .arg("--mem-dir")
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
