//! The one list of filesystem backends the integration tests mount (`Backend`), the one way to
//! mount each over a host directory that holds the starting tree (`Backend::mount`), and the
//! one way to read back the tree a guest sees (`Mounted::tree`, built on `host_tree`).
//! Standalone (wasi-warden's public API and std only), because `tests/model/exec.rs`, which
//! the fuzz targets compile by path, uses it as `super::backend`.
#![allow(dead_code)] // each test binary uses a different subset

use std::fs;
use std::path::{Path, PathBuf};

use wasi_warden::vfs::TreeEntry;
use wasi_warden::{HostDir, MemFs, Mount, Overlay, WasiCtxBuilder};

/// A wasi-warden filesystem backend a guest directory can be mounted on. The read-write ones
/// ([`Backend::ALL`]) must behave the same: they share one resolver and one set of rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// A `MemFs` holding a copy of the host directory (`MemFs::from_host_dir`).
    Mem,
    /// The host directory itself, mounted read-write.
    Host,
    /// The host directory itself, mounted read-only (`Mount::read_only`).
    HostReadOnly,
    /// An `Overlay` over the host directory, which is never written.
    Overlay,
}

impl Backend {
    /// The read-write backends, in the order tests report them.
    pub const ALL: [Backend; 3] = [Backend::Mem, Backend::Host, Backend::Overlay];

    /// Whether the guest's changes land in the host directory (everything else must leave
    /// it exactly as it was).
    pub fn writes_host(self) -> bool {
        self == Backend::Host
    }

    /// Mounts `host_dir`, which already holds the starting tree, as `guest_path` on this
    /// backend. Panics if it cannot be opened (a broken fixture, not a finding).
    pub fn mount(
        self,
        builder: WasiCtxBuilder,
        guest_path: &str,
        host_dir: &Path,
    ) -> (WasiCtxBuilder, Mounted) {
        let mut mounted = Mounted {
            backend: self,
            host_dir: host_dir.to_path_buf(),
            mem: None,
            overlay: None,
        };
        let builder = match self {
            Backend::Mem => {
                let fs = MemFs::from_host_dir(host_dir).expect("MemFs::from_host_dir");
                mounted.mem = Some(fs.clone());
                builder.mount(guest_path, fs)
            }
            Backend::Host => builder.mount(guest_path, HostDir::open(host_dir).expect("HostDir")),
            Backend::HostReadOnly => {
                let host = HostDir::open(host_dir).expect("HostDir");
                builder.mount(guest_path, Mount::read_only(host))
            }
            Backend::Overlay => {
                let overlay = Overlay::new(host_dir).expect("Overlay::new");
                let builder = builder.mount(guest_path, &overlay);
                mounted.overlay = Some(overlay);
                builder
            }
        };
        (builder, mounted)
    }
}

/// A mounted backend, holding what is needed to read its tree back after (or while) the
/// guest runs.
pub struct Mounted {
    backend: Backend,
    host_dir: PathBuf,
    mem: Option<MemFs>,
    overlay: Option<Overlay>,
}

impl Mounted {
    /// Which backend this is.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The tree below the mount as the guest sees it, in `MemFs::snapshot`'s format (sorted
    /// relative paths, files in full, symlinks not followed), whatever the backend.
    pub fn tree(&self) -> Vec<(String, TreeEntry)> {
        match (&self.mem, &self.overlay) {
            (Some(mem), _) => mem.snapshot(),
            (None, Some(overlay)) => overlay.snapshot(),
            (None, None) => host_tree(&self.host_dir),
        }
    }

    /// The bytes of the file at `path` (relative to the mount) in [`Mounted::tree`]; `None`
    /// for anything else, a path through a symlink included.
    pub fn contents(&self, path: &str) -> Option<Vec<u8>> {
        self.tree().into_iter().find_map(|(p, entry)| match entry {
            TreeEntry::File(bytes) if p == path => Some(bytes),
            _ => None,
        })
    }

    /// The in-memory filesystem ([`Backend::Mem`] only), for its usage counters.
    pub fn mem(&self) -> Option<&MemFs> {
        self.mem.as_ref()
    }

    /// The overlay ([`Backend::Overlay`] only), for its upper layer and whiteouts.
    pub fn overlay(&self) -> Option<&Overlay> {
        self.overlay.as_ref()
    }

    /// The host directory the backend was mounted over.
    pub fn host_dir(&self) -> &Path {
        &self.host_dir
    }
}

/// Creates the host symlink `link` → `target` (as stored: relative to the link's directory)
/// and says whether it now exists. On Windows a symlink takes a privilege, and Wine's
/// CreateSymbolicLink answers success without making one: tests that need host symlinks ask
/// [`host_symlinks_work`] first.
pub fn host_symlink(target: impl AsRef<Path>, link: impl AsRef<Path>) -> bool {
    let (target, link) = (target.as_ref(), link.as_ref());
    #[cfg(unix)]
    let made = std::os::unix::fs::symlink(target, link).is_ok();
    #[cfg(windows)]
    let made = {
        let dir = link
            .parent()
            .map(|p| p.join(target))
            .is_some_and(|t| t.is_dir());
        if dir {
            std::os::windows::fs::symlink_dir(target, link).is_ok()
        } else {
            std::os::windows::fs::symlink_file(target, link).is_ok()
        }
    };
    made && fs::symlink_metadata(link).is_ok_and(|m| m.file_type().is_symlink())
}

/// Whether this host lets tests make symlinks (always on Unix; on Windows with the
/// privilege, never under Wine), probed in a temp dir of its own.
pub fn host_symlinks_work() -> bool {
    static WORKS: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *WORKS.get_or_init(|| {
        let dir = tempfile::tempdir().expect("tempdir");
        fs::write(dir.path().join("t"), "").expect("probe file");
        host_symlink("t", dir.path().join("l"))
    })
}

/// Walks a host directory into the snapshot format: sorted relative paths, symlinks not
/// followed, entries that cannot be read left out (a guest may make a file unreadable).
pub fn host_tree(root: &Path) -> Vec<(String, TreeEntry)> {
    let mut out = Vec::new();
    walk_host(root, &mut |rel, path, meta| {
        let entry = if meta.file_type().is_symlink() {
            let target = fs::read_link(path).unwrap_or_default();
            TreeEntry::Symlink(target.to_string_lossy().into_owned())
        } else if meta.is_dir() {
            TreeEntry::Dir
        } else {
            TreeEntry::File(fs::read(path).unwrap_or_default())
        };
        out.push((rel.to_owned(), entry));
    });
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// [`host_tree`] with each entry's mode and mtime, as one line per path, leaving out what
/// `skip` says (paths relative): the host's own view, for "nothing at all changed" checks
/// that must also see a chmod or a touch.
pub fn host_listing(root: &Path, skip: &dyn Fn(&str) -> bool) -> Vec<String> {
    let mut out = Vec::new();
    walk_host(root, &mut |rel, path, meta| {
        if skip(rel) {
            return;
        }
        let what = if meta.is_dir() {
            "dir".to_owned()
        } else if meta.file_type().is_symlink() {
            format!("link {:?}", fs::read_link(path).ok())
        } else {
            format!("file {:?}", fs::read(path).ok())
        };
        #[cfg(unix)]
        let mode = format!(
            "{:o}",
            std::os::unix::fs::PermissionsExt::mode(&meta.permissions())
        );
        // Windows has no modes: the read-only attribute is what a change could touch.
        #[cfg(windows)]
        let mode = format!("readonly={}", meta.permissions().readonly());
        out.push(format!("{rel} {what} {mode} {:?}", meta.modified().ok()));
    });
    out.sort();
    out
}

/// Calls `visit(relative path, path, metadata)` for everything below `root`, parents before
/// children, without following symlinks. A directory `visit` saw is walked even if `visit`
/// ignored it (a skipped path's children are visited, and skipped by the same rule).
fn walk_host(root: &Path, visit: &mut dyn FnMut(&str, &Path, &fs::Metadata)) {
    let mut stack = vec![(root.to_path_buf(), String::new())];
    while let Some((dir, prefix)) = stack.pop() {
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            // A file a guest unlinked while it was open, where the filesystem has no POSIX
            // delete: it waits for its last handle under a name no guest sees.
            #[cfg(windows)]
            if name.starts_with(wasi_warden::vfs::RETIRED_PREFIX) {
                continue;
            }
            let rel = format!("{prefix}{name}");
            let path = entry.path();
            let Ok(meta) = fs::symlink_metadata(&path) else {
                continue;
            };
            visit(&rel, &path, &meta);
            if meta.is_dir() {
                stack.push((path, format!("{rel}/")));
            }
        }
    }
}
