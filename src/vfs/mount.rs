//! `Mount`: what a guest can be given as a preopened directory, the one argument of
//! `WasiCtxBuilder::mount(guest_path, mount)`. Every backend converts into it — a `MemFs`, a
//! confined `HostDir`, an `Overlay`, any `Arc<dyn Dir>` — and `Mount::read_only` wraps any of
//! them. The guest path is always the first argument and a plain string; the mount is a typed
//! value, so swapping the two (as `wasmtime`'s `preopened_dir(host, guest)` order invites) does
//! not compile.

use super::{Dir, HostDir, MemFs, Overlay, read_only};
use std::sync::Arc;

/// A directory to preopen for the guest. Build it from a backend (`MemFs`, `HostDir`,
/// `Overlay`, `Arc<dyn Dir>`) with `From`/`Into`, or with [`Mount::read_only`].
///
/// ```
/// # fn main() -> std::io::Result<()> {
/// use wasi_warden::{HostDir, MemFs, Mount, WasiCtx};
/// let tmp = std::env::temp_dir();
/// let ctx = WasiCtx::builder()
///     .mount("/", MemFs::new())
///     .mount("/data", Mount::read_only(HostDir::open(&tmp)?))
///     .build();
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Mount {
    dir: Arc<dyn Dir>,
}

impl std::fmt::Debug for Mount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mount")
            .field("read_only", &self.dir.is_read_only())
            .finish_non_exhaustive()
    }
}

impl Mount {
    /// `mount`, refusing every change with EPERM (as wasmtime's read-only preopens) before the
    /// backend is asked anything: the one way to make any mount read-only.
    pub fn read_only(mount: impl Into<Mount>) -> Mount {
        Mount {
            dir: read_only(mount.into().dir),
        }
    }

    /// The directory the guest gets.
    pub fn dir(&self) -> &Arc<dyn Dir> {
        &self.dir
    }

    pub(crate) fn into_dir(self) -> Arc<dyn Dir> {
        self.dir
    }
}

impl From<Arc<dyn Dir>> for Mount {
    fn from(dir: Arc<dyn Dir>) -> Mount {
        Mount { dir }
    }
}

/// The filesystem's root; keep the `MemFs` (a cheap clone) to read the tree afterwards.
impl From<MemFs> for Mount {
    fn from(fs: MemFs) -> Mount {
        Mount { dir: fs.root() }
    }
}

impl From<&MemFs> for Mount {
    fn from(fs: &MemFs) -> Mount {
        Mount { dir: fs.root() }
    }
}

/// A confined host directory, read-write (wrap it in [`Mount::read_only`] for read-only).
impl From<HostDir> for Mount {
    fn from(dir: HostDir) -> Mount {
        Mount { dir: Arc::new(dir) }
    }
}

/// The overlay's merged tree; keep the `Overlay` to read its upper layer afterwards.
impl From<Overlay> for Mount {
    fn from(overlay: Overlay) -> Mount {
        Mount {
            dir: overlay.root(),
        }
    }
}

impl From<&Overlay> for Mount {
    fn from(overlay: &Overlay) -> Mount {
        Mount {
            dir: overlay.root(),
        }
    }
}
