//! The one path resolver: every guest path of every backend is walked here, one component at a
//! time, over a stack of directory handles the backend already gave us. `..` pops the stack and
//! can never climb above the start; absolute paths and absolute symlink targets are refused;
//! symlinks are expanded here (never by the OS), at most [`MAX_SYMLINK_EXPANSIONS`] times.
//! It must not touch guest memory or know errnos: it answers `FsError`, `errno.rs` maps it.

use super::{Dir, File, FsError, FsResult, Node};
use std::sync::Arc;

/// Symlink expansions allowed in one resolution; one more is `Loop` (ELOOP). 40 is Linux's
/// MAXSYMLINKS and cap-std's limit on unix, so guests see the same depth as under wasmtime.
pub const MAX_SYMLINK_EXPANSIONS: u32 = 40;

/// Longest single component in bytes (NAME_MAX); longer is `NameTooLong`.
pub const MAX_NAME_LEN: usize = 255;

/// Longest symlink target we expand (PATH_MAX). Bounds the work of one resolution to
/// `(1 + MAX_SYMLINK_EXPANSIONS) * MAX_TARGET_LEN` bytes of components.
pub const MAX_TARGET_LEN: usize = 4096;

/// Deepest directory stack one resolution may hold. On a host mount every level is an open
/// host descriptor, so symlink chains must not make one call hold tens of thousands of them;
/// deeper is `NameTooLong` (ENAMETOOLONG). A 4096-byte path reaches at most 2048 levels.
pub const MAX_DEPTH: usize = 2048;

/// What to do when the final component is a symlink.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Follow {
    /// Expand it (stat, open with `SYMLINK_FOLLOW`).
    Yes,
    /// Keep it, unless the path ends in `/`: POSIX then requires following.
    No,
    /// Keep it even with a trailing slash (unlink, rmdir, rename, link, mkdir, symlink):
    /// these name the directory entry itself, as Linux does; the caller then sees a symlink
    /// with `trailing_slash` set and answers ENOTDIR or EEXIST.
    Never,
}

/// The final step of a resolved path.
#[derive(Debug)]
pub enum Last {
    /// The path names [`Resolved::dir`] itself: `.`, `a/..`, `a/.`, or a symlink to one.
    /// There is no (parent, name) pair, so entry operations refuse (mkdir EEXIST, rmdir EINVAL...).
    Dir,
    /// A name inside [`Resolved::dir`] and what a no-follow lookup found (`None`: it does not
    /// exist, which creating operations want).
    Entry {
        /// The final component: never empty, `.` or `..`, no `/` or NUL, at most 255 bytes.
        name: String,
        /// The object, if the name exists. A symlink only if it was not to be followed.
        node: Option<Node>,
    },
}

/// The outcome of [`resolve`].
pub struct Resolved {
    /// The directory holding the final name, or the named directory itself for [`Last::Dir`].
    pub dir: Arc<dyn Dir>,
    /// The final step.
    pub last: Last,
    /// Whether the path (or a final symlink's target) ended in `/`: the result must be a
    /// directory. Checked by [`Resolved::existing`]; creating operations decide themselves.
    pub trailing_slash: bool,
    /// The resolved path relative to the start, normalised (`a/../b` → `b`, symlinks
    /// expanded, `.` for the start itself). For policies, audits and messages only.
    pub guest_path: String,
}

impl std::fmt::Debug for Resolved {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Resolved")
            .field("last", &self.last)
            .field("trailing_slash", &self.trailing_slash)
            .field("guest_path", &self.guest_path)
            .finish_non_exhaustive()
    }
}

/// An existing object a path names, the trailing-slash rule already applied.
pub enum Existing<'a> {
    /// A directory.
    Dir(&'a Arc<dyn Dir>),
    /// A regular file (or another non-directory).
    File(&'a Arc<dyn File>),
    /// An unfollowed symlink: its directory, its name and its target.
    Symlink {
        /// The directory holding the link.
        dir: &'a Arc<dyn Dir>,
        /// The link's name.
        name: &'a str,
        /// The link's target text.
        target: &'a str,
    },
}

impl Resolved {
    /// The existing object: `NotFound` if the final name is missing, `NotDir` if the path
    /// ended in `/` and names a non-directory (POSIX's "must be a directory" post-condition).
    pub fn existing(&self) -> FsResult<Existing<'_>> {
        match &self.last {
            Last::Dir => Ok(Existing::Dir(&self.dir)),
            Last::Entry { node: None, .. } => Err(FsError::NotFound),
            Last::Entry {
                node: Some(Node::Dir(dir)),
                ..
            } => Ok(Existing::Dir(dir)),
            Last::Entry { node: Some(_), .. } if self.trailing_slash => Err(FsError::NotDir),
            Last::Entry {
                node: Some(Node::File(file)),
                ..
            } => Ok(Existing::File(file)),
            Last::Entry {
                name,
                node: Some(Node::Symlink(target)),
            } => Ok(Existing::Symlink {
                dir: &self.dir,
                name,
                target,
            }),
        }
    }
}

/// Resolves `path` relative to `start`. Errors: NotFound (empty path, missing middle
/// component), Invalid (NUL byte), Escape (absolute path or target, `..` above `start`),
/// NotDir (a middle component is not a directory), Loop (more than
/// [`MAX_SYMLINK_EXPANSIONS`]), NameTooLong (a component over 255 bytes, a target over 4096),
/// and whatever the backend's `lookup` fails with.
pub fn resolve(start: &Arc<dyn Dir>, path: &str, follow: Follow) -> FsResult<Resolved> {
    // Empty is ENOENT in POSIX and cap-std alike.
    if path.is_empty() {
        return Err(FsError::NotFound);
    }
    // wasmtime hands the path to rustix, whose C-string conversion answers EINVAL.
    if path.contains('\0') {
        return Err(FsError::Invalid);
    }
    // cap-std: a root component is an escape attempt (EPERM), never "the mount's root".
    if path.starts_with('/') {
        return Err(FsError::Escape);
    }
    let mut walk = Walk {
        start: Arc::clone(start),
        stack: Vec::new(),
        names: Vec::new(),
        work: Vec::new(),
        expansions: 0,
        trailing_slash: path.ends_with('/'),
    };
    walk.push_components(path);
    walk.run(follow)
}

/// The state of one resolution.
struct Walk {
    /// The directory the path is relative to; `..` never goes above it.
    start: Arc<dyn Dir>,
    /// Directories entered below the start, innermost last.
    stack: Vec<Arc<dyn Dir>>,
    /// The names that entered each of `stack` (for the normalised guest path).
    names: Vec<String>,
    /// Components still to walk, the next one last.
    work: Vec<String>,
    /// Symlinks expanded so far.
    expansions: u32,
    /// The path, or the target of the final symlink, ended in `/`.
    trailing_slash: bool,
}

impl Walk {
    fn run(mut self, follow: Follow) -> FsResult<Resolved> {
        while let Some(component) = self.work.pop() {
            match component.as_str() {
                "." => {}
                ".." => {
                    // Nothing entered to go back out of: this `..` would leave the start.
                    if self.stack.pop().is_none() {
                        return Err(FsError::Escape);
                    }
                    self.names.pop();
                }
                _ if self.work.is_empty() => {
                    if let Some(done) = self.last_component(component, follow)? {
                        return Ok(done);
                    }
                }
                _ => self.middle_component(component)?,
            }
        }
        // The walk ended on `.` or `..` (or on a symlink to one): the path names a directory.
        Ok(Resolved {
            dir: self.top(),
            last: Last::Dir,
            trailing_slash: self.trailing_slash,
            guest_path: self.joined(None),
        })
    }

    /// A component with more to come: it must be (or lead by symlink to) a directory.
    fn middle_component(&mut self, name: String) -> FsResult<()> {
        check_name(&name)?;
        match self.top().lookup(&name)? {
            Node::Dir(dir) => {
                if self.stack.len() >= MAX_DEPTH {
                    return Err(FsError::NameTooLong);
                }
                self.stack.push(dir);
                self.names.push(name);
                Ok(())
            }
            Node::File(_) => Err(FsError::NotDir),
            Node::Symlink(target) => self.expand(&target),
        }
    }

    /// The final component: look it up once, expand it if it is a symlink to follow,
    /// otherwise finish. `Ok(None)` means "expanded, keep walking".
    fn last_component(&mut self, name: String, follow: Follow) -> FsResult<Option<Resolved>> {
        check_name(&name)?;
        let should_follow = match follow {
            Follow::Yes => true,
            Follow::No => self.trailing_slash,
            Follow::Never => false,
        };
        let node = match self.top().lookup(&name) {
            Ok(Node::Symlink(target)) if should_follow => {
                self.expand(&target)?;
                return Ok(None);
            }
            Ok(node) => Some(node),
            Err(FsError::NotFound) => None,
            Err(error) => return Err(error),
        };
        Ok(Some(Resolved {
            dir: self.top(),
            guest_path: self.joined(Some(&name)),
            last: Last::Entry { name, node },
            trailing_slash: self.trailing_slash,
        }))
    }

    /// Splices a symlink's target into the work list, relative to the directory holding
    /// the link (the top of the stack, which is where the walk continues).
    fn expand(&mut self, target: &str) -> FsResult<()> {
        if self.expansions >= MAX_SYMLINK_EXPANSIONS {
            return Err(FsError::Loop);
        }
        self.expansions += 1;
        if target.is_empty() {
            // Linux: an empty symlink target resolves to nothing.
            return Err(FsError::NotFound);
        }
        if target.len() > MAX_TARGET_LEN {
            return Err(FsError::NameTooLong);
        }
        if target.contains('\0') {
            return Err(FsError::Invalid);
        }
        if target.starts_with('/') {
            // Host trees may hold absolute links; following them would leave the mount.
            return Err(FsError::Escape);
        }
        // Only the final link's target decides whether the whole path must be a directory.
        if self.work.is_empty() && target.ends_with('/') {
            self.trailing_slash = true;
        }
        self.push_components(target);
        Ok(())
    }

    /// Pushes the non-empty components of `path` so that its first one is popped next.
    fn push_components(&mut self, path: &str) {
        self.work.extend(
            path.rsplit('/')
                .filter(|c| !c.is_empty())
                .map(str::to_owned),
        );
    }

    fn top(&self) -> Arc<dyn Dir> {
        Arc::clone(self.stack.last().unwrap_or(&self.start))
    }

    /// The normalised path of the current directory, plus `last` if given.
    fn joined(&self, last: Option<&str>) -> String {
        let mut parts: Vec<&str> = self.names.iter().map(String::as_str).collect();
        parts.extend(last);
        if parts.is_empty() {
            ".".to_owned()
        } else {
            parts.join("/")
        }
    }
}

/// A component the backend may be asked about: at most NAME_MAX bytes (NUL is refused for
/// the whole path and for each target before we get here).
fn check_name(name: &str) -> FsResult<()> {
    if name.len() > MAX_NAME_LEN {
        return Err(FsError::NameTooLong);
    }
    Ok(())
}

#[cfg(test)]
#[path = "resolve_tests.rs"]
mod tests;
