//! A rule protects contents, not spellings: renames and links that would give protected
//! contents a new name (the file, its directory, any ancestor; the destination side too) are
//! judged by every path they move, descriptors follow renames, and all of it on the in-memory
//! and the host backend. Each test here failed before rename/link were judged by subtree.

use super::driver::{Driver, OUT, PATH1, PATH2, abi::*};
use crate::support::backend::{Backend, Mounted};
use wasi_warden::policy::{PathPattern, SyscallSet};
use wasi_warden::{Access, Decision, PolicyTable, Rule, WasiCtx};

/// The contents of `/data/proj/secret/f`. The tree also holds `/data/pub/` and
/// `/data/x/secret/` (empty), written into a host directory (which `Backend::Host` mounts) or
/// copied into a `MemFs`.
const SECRET: &[u8] = b"top secret";

/// Every right a directory descriptor can use (bits 0..=28 of preview1's rights, but
/// FD_WRITE, which opening a directory refuses).
const DIR_RIGHTS: i64 = ((1 << 29) - 1) & !FD_WRITE;

/// The backends these rules are checked on: memory and the host. Not the overlay: renaming a
/// directory of its lower layer is EXDEV there, so the renames a rule allows would fail for
/// the overlay's own reason.
const BACKENDS: [Backend; 2] = [Backend::Mem, Backend::Host];

/// The running guest plus what is needed to look at its tree from the host side.
struct Rig {
    d: Driver,
    mounted: Mounted,
    _host: tempfile::TempDir,
}

impl Rig {
    fn new(backend: Backend, policy: PolicyTable) -> Rig {
        Rig::mounted_as(backend, policy, "/")
    }

    /// The same tree, preopened under the guest name `mount`.
    fn mounted_as(backend: Backend, policy: PolicyTable, mount: &str) -> Rig {
        let host = tempfile::tempdir().unwrap();
        for dir in ["data/proj/secret", "data/pub", "data/x/secret"] {
            std::fs::create_dir_all(host.path().join(dir)).unwrap();
        }
        std::fs::write(host.path().join("data/proj/secret/f"), SECRET).unwrap();
        let builder = WasiCtx::builder().policy(policy);
        let (builder, mounted) = backend.mount(builder, mount, host.path());
        Rig {
            d: Driver::new(builder.build()),
            mounted,
            _host: host,
        }
    }

    /// The contents at `path` (relative to the mount), read by the host, not the guest.
    fn contents(&self, path: &str) -> Option<Vec<u8>> {
        self.mounted.contents(path)
    }

    fn rename(&mut self, from: &str, to: &str) -> i32 {
        self.rename_at(3, from, 3, to)
    }

    fn rename_at(&mut self, fd: u32, from: &str, new_fd: u32, to: &str) -> i32 {
        let [p1, l1] = self.d.path(PATH1, from);
        let [p2, l2] = self.d.path(PATH2, to);
        self.d.errno(
            "path_rename",
            &[i64::from(fd), p1, l1, i64::from(new_fd), p2, l2],
        )
    }

    fn link(&mut self, from: &str, to: &str) -> i32 {
        let [p1, l1] = self.d.path(PATH1, from);
        let [p2, l2] = self.d.path(PATH2, to);
        self.d.errno("path_link", &[3, 0, p1, l1, 3, p2, l2])
    }

    /// Reads the file at `path` through the guest: `Ok(bytes)` or the errno.
    fn read(&mut self, path: &str) -> Result<Vec<u8>, i32> {
        let fd = self.d.open(3, path, 0, FD_READ)?;
        let iov = self.d.iov(b"", 32);
        let errno = self
            .d
            .errno("fd_read", &[i64::from(fd), iov[0], iov[1], OUT as i64]);
        if errno != 0 {
            return Err(errno);
        }
        let n = self.d.u32_at(OUT) as usize;
        Ok(self.d.get(super::driver::BUF, n))
    }

    fn mkdir(&mut self, fd: u32, path: &str) -> i32 {
        let [p, l] = self.d.path(PATH1, path);
        self.d
            .errno("path_create_directory", &[i64::from(fd), p, l])
    }

    fn create(&mut self, fd: u32, path: &str) -> Result<u32, i32> {
        self.d.open(fd, path, CREAT, FD_READ | FD_WRITE)
    }
}

fn deny_secret() -> PolicyTable {
    PolicyTable::allow_all()
        .rule(Rule::new(Decision::deny()).path(PathPattern::parse("/data/proj/secret/**").unwrap()))
}

#[test]
fn renaming_an_ancestor_of_a_protected_subtree_is_refused() {
    for backend in BACKENDS {
        let mut rig = Rig::new(backend, deny_secret());
        assert_eq!(rig.read("data/proj/secret/f"), Err(EACCES), "{backend:?}");
        for (from, to) in [
            ("data/proj", "data/proj2"),
            ("data", "elsewhere"),
            ("data/proj/secret", "data/pub/s"),
            ("data/proj/secret/f", "data/pub/f"),
        ] {
            assert_eq!(rig.rename(from, to), EACCES, "{backend:?} {from} -> {to}");
        }
        assert_eq!(rig.link("data/proj/secret/f", "data/pub/f"), EACCES);
        // Nothing moved, nothing can be read under any name.
        assert_eq!(rig.contents("data/proj/secret/f").as_deref(), Some(SECRET));
        assert_eq!(rig.contents("data/proj2/secret/f"), None, "{backend:?}");
        assert_eq!(rig.read("data/proj2/secret/f"), Err(ENOENT));
        // A rename that touches nothing protected still works.
        assert_eq!(rig.rename("data/pub", "data/pub2"), 0, "{backend:?}");
    }
}

#[test]
fn nothing_can_be_moved_or_linked_into_a_protected_subtree() {
    // The rule protects `/data/vault/secret/**`, a name nothing has yet.
    let vault = || {
        PolicyTable::allow_all().rule(
            Rule::new(Decision::deny()).path(PathPattern::parse("/data/vault/secret/**").unwrap()),
        )
    };
    for backend in BACKENDS {
        let mut rig = Rig::new(backend, vault());
        assert!(rig.create(3, "data/x/secret/planted").is_ok());
        // `/data/x/secret` would become `/data/vault/secret` if `x` became `vault`: refused,
        // though neither name is itself under the rule.
        assert_eq!(rig.rename("data/x", "data/vault"), EACCES, "{backend:?}");
        assert_eq!(rig.mkdir(3, "data/vault"), 0);
        assert_eq!(rig.rename("data/x/secret", "data/vault/secret"), EACCES);
        assert_eq!(rig.mkdir(3, "data/vault/secret"), EACCES);
        assert_eq!(
            rig.rename("data/x/secret/planted", "data/vault/secret"),
            EACCES
        );
        assert_eq!(
            rig.link("data/x/secret/planted", "data/vault/secret"),
            EACCES
        );
        assert_eq!(rig.contents("data/vault/secret/planted"), None);
        assert_eq!(rig.contents("data/vault/secret"), None, "{backend:?}");
        // Next to the protected name, moves are fine.
        assert_eq!(
            rig.rename("data/x/secret", "data/vault/public"),
            0,
            "{backend:?}"
        );
    }
}

#[test]
#[cfg_attr(
    windows,
    ignore = "Wine opens relative to a directory handle by the path that handle was opened \
              with: a directory renamed while held is not found there (real Windows is \
              path-independent)"
)]
fn a_descriptor_held_across_a_rename_is_judged_by_its_new_name() {
    for backend in BACKENDS {
        // At first nothing is protected: `x` may move anywhere.
        let mut rig = Rig::new(backend, PolicyTable::allow_all());
        let x = rig.d.open(3, "data/x", DIRECTORY, DIR_RIGHTS).unwrap();
        assert_eq!(rig.rename("data/x", "data/moved"), 0, "{backend:?}");
        // Now protect the new name: the old descriptor must not plant files there.
        let handle = rig.d.store.data().policy_handle().clone();
        handle.set_policy(
            PolicyTable::allow_all()
                .rule(Rule::new(Decision::deny()).path(PathPattern::subtree("/data/moved"))),
        );
        assert_eq!(rig.create(x, "secret/planted"), Err(EACCES), "{backend:?}");
        assert_eq!(rig.mkdir(x, "new"), EACCES, "{backend:?}");
        assert_eq!(rig.contents("data/moved/secret/planted"), None);
        // A rename through a descriptor moves the names of descriptors below it too.
        handle.set_policy(PolicyTable::allow_all());
        let moved = rig.d.open(3, "data/moved", DIRECTORY, DIR_RIGHTS).unwrap();
        let inner = rig.d.open(moved, "secret", DIRECTORY, DIR_RIGHTS).unwrap();
        assert_eq!(rig.rename_at(moved, "secret", 3, "data/pub/s"), 0);
        handle.set_policy(
            PolicyTable::allow_all()
                .rule(Rule::new(Decision::deny()).path(PathPattern::subtree("/data/pub"))),
        );
        assert_eq!(rig.create(inner, "f"), Err(EACCES), "{backend:?}");
    }
}

/// Mount names the guest may be given as they are (`--dir .` preopens `.`; wasmtime takes
/// relative and unnormalised names too): a descriptor's name must be spelled the way renames
/// are, or a rename would leave it under its old name, out of the rules' reach.
#[test]
fn descriptors_follow_renames_under_every_spelling_of_the_mount_name() {
    for backend in BACKENDS {
        for (mount, moved) in [
            (".", "/data/moved"),
            ("top", "/top/data/moved"),
            ("/m/", "/m/data/moved"),
            ("/m/./n//", "/m/n/data/moved"),
        ] {
            let mut rig = Rig::mounted_as(backend, PolicyTable::allow_all(), mount);
            let x = rig.d.open(3, "data/x", DIRECTORY, DIR_RIGHTS).unwrap();
            let file = rig.create(3, "data/x/kept").unwrap();
            assert_eq!(rig.rename("data/x", "data/moved"), 0, "{backend:?} {mount}");
            let handle = rig.d.store.data().policy_handle().clone();
            handle.set_policy(
                PolicyTable::allow_all()
                    .rule(Rule::new(Decision::deny()).path(PathPattern::subtree(moved))),
            );
            assert_eq!(rig.create(x, "planted"), Err(EACCES), "{backend:?} {mount}");
            let iov = rig.d.iov(b"new", 3);
            let errno = rig
                .d
                .errno("fd_write", &[i64::from(file), iov[0], iov[1], OUT as i64]);
            assert_eq!(
                errno, EACCES,
                "{backend:?} {mount}: write through the held file"
            );
            assert_eq!(rig.contents("data/moved/planted"), None);
        }
    }
}

#[test]
fn read_rules_hold_against_links_and_renames_of_the_file_and_its_directories() {
    let pattern = || PathPattern::parse("/data/proj/secret/**").unwrap();
    let by_access = PolicyTable::allow_all().rule(
        Rule::new(Decision::deny())
            .access(Access::READ)
            .path(pattern()),
    );
    let by_syscall = PolicyTable::allow_all().rule(
        Rule::new(Decision::deny())
            .syscalls(SyscallSet::group("fs-read").unwrap())
            .path(pattern()),
    );
    let exact_file = PolicyTable::allow_all().rule(
        Rule::new(Decision::deny())
            .access(Access::READ)
            .path(PathPattern::exact("/data/proj/secret/f")),
    );
    let glob = PolicyTable::allow_all().rule(
        Rule::new(Decision::deny())
            .access(Access::READ)
            .path(PathPattern::parse("/data/*/secret/*").unwrap()),
    );
    for (name, table) in [
        ("access", by_access),
        ("syscalls", by_syscall),
        ("exact", exact_file),
        ("glob", glob),
    ] {
        for backend in BACKENDS {
            let label = format!("{name} {backend:?}");
            let mut rig = Rig::new(backend, table.clone());
            assert_eq!(rig.read("data/proj/secret/f"), Err(EACCES), "{label}");
            assert_eq!(
                rig.link("data/proj/secret/f", "data/pub/f"),
                EACCES,
                "{label}"
            );
            for (from, to) in [
                ("data/proj/secret/f", "data/pub/f"),
                ("data/proj/secret", "data/pub/s"),
                ("data/proj", "data/pub/p"),
                ("data", "d2"),
            ] {
                assert_eq!(rig.rename(from, to), EACCES, "{label} {from} -> {to}");
            }
            for public in [
                "data/pub/f",
                "data/pub/s/f",
                "data/pub/p/secret/f",
                "d2/proj/secret/f",
            ] {
                assert_eq!(rig.read(public), Err(ENOENT), "{label} {public}");
            }
            // Writing is not what these rules restrict: the file can still be created next
            // to it, and public files renamed freely.
            assert!(rig.create(3, "data/pub/new").is_ok(), "{label}");
            assert_eq!(rig.rename("data/pub/new", "data/pub/new2"), 0, "{label}");
        }
    }
}

#[test]
fn an_earlier_allow_covering_the_moved_names_lets_the_rename_through() {
    // Everything under /data is denied but /data/pub, which an unconditional allow covers.
    let table = PolicyTable::allow_all()
        .rule(Rule::new(Decision::Allow).path(PathPattern::subtree("/data/pub")))
        .rule(Rule::new(Decision::deny()).path(PathPattern::subtree("/data")));
    for backend in BACKENDS {
        let mut rig = Rig::new(backend, table.clone());
        assert!(rig.create(3, "data/pub/a").is_ok());
        assert_eq!(rig.mkdir(3, "data/pub/d"), 0);
        assert_eq!(rig.rename("data/pub/a", "data/pub/d/b"), 0, "{backend:?}");
        assert_eq!(rig.rename("data/pub/d", "data/pub/e"), 0, "{backend:?}");
        assert_eq!(rig.link("data/pub/e/b", "data/pub/c"), 0, "{backend:?}");
        // Out of the allowed area, or in from the denied one: refused.
        assert_eq!(rig.rename("data/pub/e", "data/e"), EACCES);
        assert_eq!(rig.rename("data/x", "data/pub/x"), EACCES);
        assert_eq!(rig.rename("data/pub", "data/pub3"), EACCES);
    }
}

#[test]
fn a_rename_that_a_rule_asks_about_asks_once() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use wasi_warden::policy::{Answer, Prompt};
    // Ask before writes below /data/proj: a rename of /data (which moves it) asks.
    let table = PolicyTable::allow_all().rule(
        Rule::new(Decision::Ask)
            .syscalls(wasi_warden::Syscall::PathOpen)
            .access(Access::WRITE)
            .path(PathPattern::subtree("/data/proj")),
    );
    let asked = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&asked);
    let host = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(host.path().join("data/proj")).unwrap();
    let builder = WasiCtx::builder()
        .policy(table)
        .prompter(move |p: &Prompt| {
            counter.fetch_add(1, Ordering::SeqCst);
            assert_eq!(p.syscall, wasi_warden::Syscall::PathRename);
            Answer::AllowOnce
        });
    let (builder, mounted) = Backend::Mem.mount(builder, "/", host.path());
    let mut rig = Rig {
        d: Driver::new(builder.build()),
        mounted,
        _host: host,
    };
    assert_eq!(rig.rename("data", "d2"), 0);
    assert_eq!(asked.load(Ordering::SeqCst), 1);
    // Creating elsewhere asks nothing.
    assert!(rig.create(3, "d2/other").is_ok());
    assert_eq!(asked.load(Ordering::SeqCst), 1);
}

/// A deny rule also hides which protected names exist: calls that make or move a name are
/// judged before EEXIST or ENOENT about that name, as the calls that only read are.
#[test]
fn a_refused_guest_cannot_probe_protected_names_through_eexist_or_enoent() {
    for backend in BACKENDS {
        let mut rig = Rig::new(backend, deny_secret());
        for (what, existing, missing) in [
            (
                "mkdir",
                rig.mkdir(3, "data/proj/secret/f"),
                rig.mkdir(3, "data/proj/secret/g"),
            ),
            (
                "rename from",
                rig.rename("data/proj/secret/f", "data/pub/f"),
                rig.rename("data/proj/secret/g", "data/pub/g"),
            ),
            (
                "link onto",
                rig.link("data/pub", "data/proj/secret/f"),
                rig.link("data/pub", "data/proj/secret/g"),
            ),
        ] {
            assert_eq!((existing, missing), (EACCES, EACCES), "{backend:?} {what}");
        }
        let [t, tl] = rig.d.path(PATH1, "anything");
        let [p, l] = rig.d.path(PATH2, "data/proj/secret/f");
        let errno = rig.d.errno("path_symlink", &[t, tl, 3, p, l]);
        assert_eq!(errno, EACCES, "{backend:?} symlink onto an existing name");
        assert_eq!(rig.contents("data/proj/secret/f").as_deref(), Some(SECRET));
    }
}

#[test]
fn a_refused_guest_cannot_probe_protected_names_through_a_read_side_enoent() {
    // Opening, stat'ing, reading a link of or unlinking a name under a denied subtree answers
    // the denial whether the name exists or not: ENOENT would tell the guest what the rule hides.
    for backend in BACKENDS {
        let mut rig = Rig::new(backend, deny_secret());
        let existing = rig.d.open(3, "data/proj/secret/f", 0, FD_READ);
        let missing = rig.d.open(3, "data/proj/secret/g", 0, FD_READ);
        assert_eq!(
            (existing, missing),
            (Err(EACCES), Err(EACCES)),
            "{backend:?} open"
        );
        for call in ["path_filestat_get", "path_readlink", "path_unlink_file"] {
            let mut errnos = Vec::new();
            for name in ["data/proj/secret/f", "data/proj/secret/g"] {
                let [p, l] = rig.d.path(PATH1, name);
                let args: Vec<i64> = match call {
                    "path_filestat_get" => vec![3, 0, p, l, OUT as i64],
                    "path_unlink_file" => vec![3, p, l],
                    _ => vec![3, p, l, OUT as i64, 16, OUT as i64 + 64],
                };
                errnos.push(rig.d.errno(call, &args));
            }
            assert_eq!(errnos, [EACCES, EACCES], "{backend:?} {call}");
        }
        // Outside the rule the names answer as they are.
        assert_eq!(
            rig.d.open(3, "data/pub/none", 0, FD_READ),
            Err(ENOENT),
            "{backend:?}"
        );
    }
}

/// On a case-insensitive host (Windows; NTFS also answers to 8.3 short names) the OS would
/// open `/data/proj/secret/f` as `/DATA/proj/SECRET/f` or through `SECRET~1`, spellings the
/// rule `/data/proj/secret/**` does not match (any name *below* `secret/` it matches anyway). Our host backend answers only to a name as it
/// is on disk (RATIONALE.md "Windows"), so no other spelling reaches the protected entry:
/// each is ENOENT, on every backend and host, and the contents stay where they were.
#[test]
fn other_spellings_of_a_protected_name_reach_nothing() {
    for backend in BACKENDS {
        let mut rig = Rig::new(backend, deny_secret());
        assert_eq!(rig.read("data/proj/secret/f"), Err(EACCES), "{backend:?}");
        for path in [
            "DATA/proj/secret/f",
            "data/Proj/secret/f",
            "data/proj/SECRET/f",
        ] {
            assert_eq!(rig.read(path), Err(ENOENT), "{backend:?} {path}");
            let [p, l] = rig.d.path(PATH1, path);
            let errno = rig.d.errno("path_filestat_get", &[3, 0, p, l, OUT as i64]);
            assert_eq!(errno, ENOENT, "{backend:?} stat {path}");
        }
        // Moving a protected directory away under another spelling of it or of its parent.
        assert_eq!(rig.rename("data/proj/SECRET", "data/pub/s"), ENOENT);
        assert_eq!(rig.rename("data/PROJ", "data/p2"), ENOENT, "{backend:?}");
        assert_eq!(rig.contents("data/proj/secret/f").as_deref(), Some(SECRET));
        assert_eq!(rig.contents("data/pub/s/f"), None, "{backend:?}");
    }
}

/// The same for an 8.3 short name, which only a Windows filesystem makes: a protected
/// directory with a long name is not reached through its short one.
#[cfg(windows)]
#[test]
fn the_short_name_of_a_protected_directory_reaches_nothing() {
    let rule = PathPattern::parse("/data/confidential projects/**").unwrap();
    let policy = PolicyTable::allow_all().rule(Rule::new(Decision::deny()).path(rule));
    let mut rig = Rig::new(Backend::Host, policy);
    // The host backend sees the host directory live: made after the mount, it is there.
    let long = rig._host.path().join("data/confidential projects");
    std::fs::create_dir(&long).unwrap();
    std::fs::write(long.join("f"), SECRET).unwrap();
    let Some(short) = short_name(&long) else {
        eprintln!("this filesystem gives no 8.3 names: nothing to check");
        return;
    };
    assert_eq!(rig.read("data/confidential projects/f"), Err(EACCES));
    let path = format!("data/{short}/f");
    assert_eq!(rig.read(&path), Err(ENOENT), "{path}");
    assert_eq!(rig.rename(&format!("data/{short}"), "data/pub/c"), ENOENT);
    assert_eq!(rig.contents("data/pub/c/f"), None);
}

/// The 8.3 name Windows gives `path`'s last component, if it has one other than the name.
#[cfg(windows)]
fn short_name(path: &std::path::Path) -> Option<String> {
    use std::os::windows::ffi::{OsStrExt, OsStringExt};
    use windows_sys::Win32::Storage::FileSystem::GetShortPathNameW;
    let wide: Vec<u16> = path.as_os_str().encode_wide().chain([0]).collect();
    let mut out = vec![0u16; 1024];
    // SAFETY: a NUL-terminated input and an output buffer of the length given.
    let n = unsafe { GetShortPathNameW(wide.as_ptr(), out.as_mut_ptr(), out.len() as u32) };
    if n == 0 || n as usize >= out.len() {
        return None;
    }
    let full = std::ffi::OsString::from_wide(&out[..n as usize]);
    let name = std::path::Path::new(&full)
        .file_name()?
        .to_str()?
        .to_owned();
    (Some(name.as_str()) != path.file_name()?.to_str()).then_some(name)
}
