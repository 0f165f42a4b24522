//! The boundary table of `names.rs`, run through the functions themselves and through every
//! backend (memory, host, overlay) and the resolver: all of them must give the same answer for
//! each name and target, because all of them call the same two checks.

use std::sync::Arc;

use super::{check_confined_target, check_name, check_target, check_windows_name};
use crate::limits::{MAX_NAME_LEN, MAX_TARGET_LEN};
use crate::vfs::resolve::{Follow, Found, Last, resolve};
use crate::vfs::{Dir, FileType, FsError, FsResult, HostDir, MemFs, OpenOptions, Overlay};

/// (name, what `check_name` — and so every backend's `create_dir` — answers).
fn name_rows() -> Vec<(String, FsResult<()>)> {
    let x = |n: usize| "x".repeat(n);
    vec![
        (x(MAX_NAME_LEN - 1), Ok(())),
        (x(MAX_NAME_LEN), Ok(())),
        (x(MAX_NAME_LEN + 1), Err(FsError::NameTooLong)),
        // Multi-byte characters count in bytes, as Linux counts them: 127 × 2 + 1 = 255 bytes,
        // and 86 × 3 = 258.
        ("é".repeat(127) + "x", Ok(())),
        ("€".repeat(86), Err(FsError::NameTooLong)),
        (String::new(), Err(FsError::Invalid)),
        ("a\0b".into(), Err(FsError::Invalid)),
        ("a/b".into(), Err(FsError::Invalid)),
        ("/".into(), Err(FsError::Invalid)),
        (".".into(), Err(FsError::Invalid)),
        ("..".into(), Err(FsError::Invalid)),
        ("...".into(), Ok(())),
        (".hidden".into(), Ok(())),
    ]
}

/// (name, what `check_windows_name` answers): the names a Windows host directory must never
/// be asked for (RATIONALE.md, "Windows"), and neighbours that are ordinary names.
fn windows_rows() -> Vec<(&'static str, FsResult<()>)> {
    let invalid = Err(FsError::Invalid);
    let device = Err(FsError::NotFound);
    vec![
        // Not a separator for the guest, but one for Windows.
        ("a\\b", invalid.clone()),
        ("..\\..\\x", invalid.clone()),
        // A drive-relative path and an alternate data stream.
        ("C:secret", invalid.clone()),
        ("file.txt:stream", invalid.clone()),
        ("file.txt::$DATA", invalid.clone()),
        ("a*", invalid.clone()),
        ("a?", invalid.clone()),
        ("a\"b", invalid.clone()),
        ("a<b", invalid.clone()),
        ("a>b", invalid.clone()),
        ("a|b", invalid.clone()),
        ("a\u{1}b", invalid.clone()),
        ("tab\there", invalid.clone()),
        // Win32 strips trailing dots and spaces: `secret.` would be `secret`.
        ("secret.", invalid.clone()),
        ("secret ", invalid.clone()),
        ("secret. .", invalid.clone()),
        ("...", invalid.clone()),
        (" ", invalid.clone()),
        // Device names, any case, any extension, spaces before the dot.
        ("CON", device.clone()),
        ("con", device.clone()),
        ("Con.txt", device.clone()),
        ("nul.tar.gz", device.clone()),
        ("NUL .txt", device.clone()),
        ("AUX", device.clone()),
        ("prn", device.clone()),
        ("COM1", device.clone()),
        ("com9.log", device.clone()),
        ("COM0", device.clone()),
        ("LPT1", device.clone()),
        ("lpt9.x", device.clone()),
        ("COM\u{b9}", device.clone()),
        ("LPT\u{b3}.txt", device.clone()),
        ("CONIN$", device.clone()),
        ("conout$", device.clone()),
        // Neighbours that are plain names.
        ("CONSOLE", Ok(())),
        ("COM10", Ok(())),
        ("COM", Ok(())),
        ("LPT", Ok(())),
        ("nul_", Ok(())),
        ("con-fig.txt", Ok(())),
        ("a.b", Ok(())),
        (".hidden", Ok(())),
        ("PROGRA~1", Ok(())),
        ("é€", Ok(())),
    ]
}

#[test]
fn the_windows_rule_answers_its_table() {
    for (name, want) in windows_rows() {
        assert_eq!(check_windows_name(name), want, "{name:?}");
    }
}

/// The Windows host backend applies both rules: every trap name is refused with its errno
/// by each call that takes a name, and nothing appears on the host.
#[cfg(windows)]
#[test]
fn the_windows_host_backend_refuses_every_trap_before_the_host() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("file.txt"), b"data").unwrap();
    let root: Arc<dyn Dir> = Arc::new(HostDir::open(tmp.path()).unwrap());
    let created = OpenOptions {
        create: true,
        write: true,
        ..OpenOptions::default()
    };
    for (name, want) in windows_rows() {
        let want = check_name(name).and(want);
        if want.is_ok() {
            continue;
        }
        assert_eq!(root.create_dir(name), want, "create_dir {name:?}");
        assert_eq!(
            root.open_file(name, created).map(drop),
            want,
            "open_file {name:?}"
        );
        assert_eq!(root.stat_at(name).map(drop), want, "stat_at {name:?}");
        assert_eq!(root.lookup(name).map(drop), want, "lookup {name:?}");
        assert_eq!(root.unlink(name), want, "unlink {name:?}");
        assert_eq!(
            root.rename("file.txt", &*root, name),
            want,
            "rename to {name:?}"
        );
        assert_eq!(
            root.link("file.txt", &*root, name),
            want,
            "link to {name:?}"
        );
    }
    let mut names: Vec<String> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["file.txt"]);
    assert_eq!(std::fs::read(tmp.path().join("file.txt")).unwrap(), b"data");
}

/// (target, what `check_target` answers, what `check_confined_target` answers). The long
/// targets are `./` runs, so a link holding one resolves (to the directory, or to `f`).
fn target_rows() -> Vec<(String, FsResult<()>, FsResult<()>)> {
    let dots = |n: usize| "./".repeat(n / 2) + if n % 2 == 1 { "f" } else { "" };
    let long = Err(FsError::NameTooLong);
    vec![
        (dots(MAX_TARGET_LEN - 1), Ok(()), Ok(())),
        (dots(MAX_TARGET_LEN), Ok(()), Ok(())),
        (dots(MAX_TARGET_LEN + 1), long.clone(), long),
        (
            String::new(),
            Err(FsError::NotFound),
            Err(FsError::NotFound),
        ),
        ("a\0b".into(), Err(FsError::Invalid), Err(FsError::Invalid)),
        // Absolute targets are valid links but never confined ones, whatever else they are.
        ("/".into(), Ok(()), Err(FsError::Escape)),
        ("/etc/passwd".into(), Ok(()), Err(FsError::Escape)),
        ("/\0".into(), Err(FsError::Invalid), Err(FsError::Escape)),
        (".".into(), Ok(()), Ok(())),
        ("..".into(), Ok(()), Ok(())),
        ("a/".into(), Ok(()), Ok(())),
    ]
}

#[test]
fn the_checks_answer_the_table() {
    for (name, want) in name_rows() {
        assert_eq!(check_name(&name), want, "name of {} bytes", name.len());
    }
    for (target, valid, confined) in target_rows() {
        assert_eq!(check_target(&target), valid, "target of {}", target.len());
        assert_eq!(check_confined_target(&target), confined, "{}", target.len());
    }
}

/// One backend root to run the table on, and whether it refuses absolute targets (the host
/// and the overlay never create one; memory stores them verbatim for copy-ups).
struct Backend {
    name: &'static str,
    root: Arc<dyn Dir>,
    confined: bool,
    _tmp: Option<tempfile::TempDir>,
}

fn backends() -> Vec<Backend> {
    let host = tempfile::tempdir().unwrap();
    let lower = tempfile::tempdir().unwrap();
    let mut out = vec![
        Backend {
            name: "mem",
            root: MemFs::new().root(),
            confined: false,
            _tmp: None,
        },
        Backend {
            name: "overlay",
            root: Overlay::new(lower.path()).unwrap().root(),
            confined: true,
            _tmp: Some(lower),
        },
    ];
    // The Windows host backend refuses to create symlinks and more names (its own rows above).
    if cfg!(unix) && host_keeps_long_links(host.path()) {
        out.push(Backend {
            name: "host",
            root: Arc::new(HostDir::open(host.path()).unwrap()),
            confined: true,
            _tmp: Some(host),
        });
    } else {
        eprintln!("this host filesystem refuses 4095-byte symlinks: host rows skipped");
    }
    out
}

/// Whether the host filesystem itself allows what Linux allows (ext4, tmpfs and btrfs do;
/// XFS stops at 1024 bytes), so that the host rows test our checks, not the filesystem's.
fn host_keeps_long_links(dir: &std::path::Path) -> bool {
    let probe = dir.join("probe");
    #[cfg(unix)]
    let ok = std::os::unix::fs::symlink("x".repeat(MAX_TARGET_LEN), &probe).is_ok();
    #[cfg(not(unix))]
    let ok = false;
    let _ = std::fs::remove_file(&probe);
    ok
}

#[test]
fn every_backend_and_the_resolver_answer_the_name_table() {
    for b in backends() {
        // An overlay asks its lower directory about every name first: over a Windows host
        // it takes that host's rule too (RATIONALE.md, "Windows").
        let host_rule = |name: &str| match b.name {
            "overlay" if cfg!(windows) => check_windows_name(name),
            _ => Ok(()),
        };
        for (name, want) in name_rows() {
            let want = want.and(host_rule(&name));
            let what = format!("{}: name of {} bytes", b.name, name.len());
            assert_eq!(b.root.create_dir(&name), want, "create_dir {what}");
            let created = OpenOptions {
                create: true,
                write: true,
                ..OpenOptions::default()
            };
            let file = format!("{name}f");
            let want_file = check_name(&file).and(host_rule(&file));
            let opened = b.root.open_file(&file, created).map(drop);
            assert_eq!(opened, want_file, "open_file {what}");
            if want.is_ok() {
                let st = b.root.stat_at(&name).unwrap();
                assert_eq!(st.filetype, FileType::Directory, "{what}");
                // The resolver walks through it and finds it by the same rule.
                let r = resolve(&b.root, &format!("{name}/../{name}"), Follow::No).unwrap();
                assert!(
                    matches!(
                        r.last,
                        Last::Entry {
                            node: Some(Found::Dir(_)),
                            ..
                        }
                    ),
                    "resolve {what}: {:?}",
                    r.last
                );
            }
        }
        // Past NAME_MAX the resolver answers before any backend is asked.
        let long = "x".repeat(MAX_NAME_LEN + 1);
        let err = resolve(&b.root, &long, Follow::No).err();
        assert_eq!(err, Some(FsError::NameTooLong), "{}", b.name);
    }
}

#[test]
fn every_backend_and_the_resolver_answer_the_target_table() {
    for b in backends() {
        let created = OpenOptions {
            create: true,
            write: true,
            ..OpenOptions::default()
        };
        b.root.open_file("f", created).unwrap();
        for (i, (target, valid, confined)) in target_rows().into_iter().enumerate() {
            let want = if b.confined { confined } else { valid };
            let link = format!("l{i}");
            let what = format!("{}: target of {} bytes", b.name, target.len());
            assert_eq!(b.root.symlink(&link, &target), want, "symlink {what}");
            if want.is_err() {
                assert_eq!(
                    b.root.stat_at(&link).err(),
                    Some(FsError::NotFound),
                    "{what}"
                );
                continue;
            }
            assert_eq!(b.root.read_link(&link).as_deref(), Ok(&*target), "{what}");
            // Following it: the 4094- and 4095-byte runs of `./` lead to the root and to `f`.
            let followed = resolve(&b.root, &link, Follow::Yes);
            if target.len() >= MAX_TARGET_LEN - 1 {
                let r = followed.unwrap_or_else(|e| panic!("follow {what}: {e:?}"));
                match (&r.last, target.ends_with('f')) {
                    (
                        Last::Entry {
                            node: Some(Found::File),
                            name,
                        },
                        true,
                    ) => {
                        assert_eq!(name, "f", "{what}")
                    }
                    (Last::Dir, false) => {}
                    (other, _) => panic!("follow {what}: {other:?}"),
                }
            }
        }
    }
}
