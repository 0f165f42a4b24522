//! The one path resolver: every guest path of every backend is walked here, one component at a
//! time, over a stack of directory handles the backend already gave us. `..` pops the stack and
//! can never climb above the start; absolute paths and absolute symlink targets are refused;
//! symlinks are expanded here (never by the OS), at most [`MAX_SYMLINK_EXPANSIONS`] times.
//! It must not touch guest memory or know errnos: it answers `FsError`, `errno.rs` maps it.

use super::names::{check_confined_target, check_name};
use super::{Dir, FsError, FsResult, Node, NodeKind};
use std::borrow::Cow;
use std::sync::Arc;

/// Symlink expansions allowed in one resolution; one more is `Loop` (ELOOP). 40 is Linux's
/// MAXSYMLINKS and cap-std's limit on unix, so guests see the same depth as under wasmtime.
pub const MAX_SYMLINK_EXPANSIONS: u32 = 40;

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
        node: Option<Found>,
    },
}

/// What the final name is. Only a directory is opened (callers stat it, open it, or list
/// it); a file is left unopened, so operations act on it by (parent, name) with one host
/// call instead of opening it twice.
pub enum Found {
    /// A directory, already opened.
    Dir(Arc<dyn Dir>),
    /// A regular file (or another non-directory, non-symlink object), not opened.
    File,
    /// A symbolic link and its target text.
    Symlink(String),
}

impl std::fmt::Debug for Found {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Found::Dir(_) => f.write_str("Found::Dir"),
            Found::File => f.write_str("Found::File"),
            Found::Symlink(t) => write!(f, "Found::Symlink({t:?})"),
        }
    }
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
    /// A regular file (or another non-directory): its directory and its name.
    File {
        /// The directory holding the file.
        dir: &'a Arc<dyn Dir>,
        /// The file's name.
        name: &'a str,
    },
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
                node: Some(Found::Dir(dir)),
                ..
            } => Ok(Existing::Dir(dir)),
            Last::Entry { node: Some(_), .. } if self.trailing_slash => Err(FsError::NotDir),
            Last::Entry {
                name,
                node: Some(Found::File),
            } => Ok(Existing::File {
                dir: &self.dir,
                name,
            }),
            Last::Entry {
                name,
                node: Some(Found::Symlink(target)),
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
/// [`MAX_SYMLINK_EXPANSIONS`]), NameTooLong (a component over `limits::MAX_NAME_LEN` bytes,
/// a target over `limits::MAX_TARGET_LEN`), and whatever the backend's `lookup` fails with.
pub fn resolve(start: &Arc<dyn Dir>, path: &str, follow: Follow) -> FsResult<Resolved> {
    Walk::new(start, path)?.run(follow)
}

/// The directory holding a path's final name and that name, from [`resolve_parent`]. The
/// name has not been looked up.
pub struct Parent<'p> {
    /// The directory the final name is in: borrowed when it is the start directory.
    pub dir: Cow<'p, Arc<dyn Dir>>,
    /// The final component, with the same guarantees as [`Last::Entry`]'s `name`: borrowed
    /// from the path when the path is that one name.
    pub name: Cow<'p, str>,
    /// The names that entered `dir` from the start (for [`Parent::guest_path`]).
    names: Vec<String>,
}

impl Parent<'_> {
    /// The guest path below `base` (the guest path of the directory the walk started in),
    /// built in one allocation: `base` joined with the names walked and the final name.
    pub fn guest_path_under(&self, base: &str) -> String {
        let parts = self.names.iter().map(String::as_str).chain([&*self.name]);
        let len = base.len() + parts.clone().map(|p| p.len() + 1).sum::<usize>();
        let mut out = String::with_capacity(len);
        out.push_str(base);
        for part in parts {
            if !out.is_empty() && !out.ends_with('/') {
                out.push('/');
            }
            out.push_str(part);
        }
        out
    }
}

/// Walks all but the final component of `path` exactly as [`resolve`] does, and stops there
/// without asking the backend about the final name. For fast paths that try one single-name
/// operation and, if it fails in any way, fall back to [`resolve`] (which then answers with
/// full semantics). `Ok(None)` when the path does not end in a plain name (`.`, `..`, a
/// trailing `/`): callers must use [`resolve`]. Errors: those of [`resolve`]'s walk, which
/// is the same loop (`Walk::seek_last`), so `..` above the start is Escape here too.
pub fn resolve_parent<'p>(start: &'p Arc<dyn Dir>, path: &'p str) -> FsResult<Option<Parent<'p>>> {
    // The common case, one plain name in the start directory, needs no walk (and none of its
    // allocations: this runs before every fast `path_open`). It is exactly what the walk
    // below answers for such a path: no component to enter, the name checked the same way.
    if !path.is_empty() && !path.contains(['/', '\0']) && path != "." && path != ".." {
        check_name(path)?;
        return Ok(Some(Parent {
            dir: Cow::Borrowed(start),
            name: Cow::Borrowed(path),
            names: Vec::new(),
        }));
    }
    let mut walk = Walk::new(start, path)?;
    // "Must be a directory" is decided on the final object, which we do not look at.
    if walk.trailing_slash {
        return Ok(None);
    }
    // The resolver's own walk, stopped where `resolve` would look the final name up.
    let Some(name) = walk.seek_last()? else {
        return Ok(None);
    };
    Ok(Some(Parent {
        dir: Cow::Owned(walk.top()),
        name: Cow::Owned(name),
        names: walk.names,
    }))
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
    /// Checks the whole path and sets up its walk. Errors: NotFound (empty), Invalid (NUL),
    /// Escape (absolute).
    fn new(start: &Arc<dyn Dir>, path: &str) -> FsResult<Walk> {
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
        Ok(walk)
    }

    /// The whole resolution: walk to the final name, look it up, and if it is a symlink to
    /// follow, splice its target in and walk on from the directory holding it.
    fn run(mut self, follow: Follow) -> FsResult<Resolved> {
        while let Some(name) = self.seek_last()? {
            if let Some(done) = self.last_component(name, follow)? {
                return Ok(done);
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

    /// The one component loop, shared by [`resolve`] and [`resolve_parent`]: walks `.`, `..`
    /// and every middle component (expanding middle symlinks), and stops at the final
    /// component if it is a plain name, which it checks and returns without asking the
    /// backend about it. `None`: the work ran out on `.` or `..`, so the path names the
    /// directory on top of the stack. Called again after a final symlink is expanded.
    fn seek_last(&mut self) -> FsResult<Option<String>> {
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
                    check_name(&component)?;
                    return Ok(Some(component));
                }
                _ => self.middle_component(component)?,
            }
        }
        Ok(None)
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

    /// The final component (already checked by [`Walk::seek_last`]): look it up once,
    /// expand it if it is a symlink to follow, otherwise finish. `Ok(None)` means
    /// "expanded, keep walking".
    fn last_component(&mut self, name: String, follow: Follow) -> FsResult<Option<Resolved>> {
        let should_follow = match follow {
            Follow::Yes => true,
            Follow::No => self.trailing_slash,
            Follow::Never => false,
        };
        // Only the kind first: a file or symlink is never opened here (one fstatat on a host).
        let found = match self.top().lookup_kind(&name) {
            Ok(NodeKind::Symlink(target)) => Some(Found::Symlink(target)),
            Ok(NodeKind::File) => Some(Found::File),
            Ok(NodeKind::Dir(Some(dir))) => Some(Found::Dir(dir)),
            // A directory is handed out opened; its lookup is authoritative if it changed.
            Ok(NodeKind::Dir(None)) => match self.top().lookup(&name) {
                Ok(Node::Dir(dir)) => Some(Found::Dir(dir)),
                Ok(Node::File(_)) => Some(Found::File),
                Ok(Node::Symlink(target)) => Some(Found::Symlink(target)),
                Err(FsError::NotFound) => None,
                Err(error) => return Err(error),
            },
            Err(FsError::NotFound) => None,
            Err(error) => return Err(error),
        };
        let node = match found {
            Some(Found::Symlink(target)) if should_follow => {
                self.expand(&target)?;
                return Ok(None);
            }
            other => other,
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
        // The rule links are created by: host trees may hold absolute links (following one
        // would leave the mount: Escape), and an empty one resolves to nothing (NotFound).
        // The length cap also bounds the work of one resolution.
        check_confined_target(target)?;
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
        join_names(&self.names, last)
    }
}

/// `names` and then `last` joined with `/` (names are never empty), or `.` if there are none.
/// Built in one allocation: this runs on every path call.
fn join_names(names: &[String], last: Option<&str>) -> String {
    let len = names.iter().map(|n| n.len() + 1).sum::<usize>() + last.map_or(0, str::len);
    if len == 0 {
        return ".".to_owned();
    }
    let mut out = String::with_capacity(len);
    for part in names.iter().map(String::as_str).chain(last) {
        if !out.is_empty() {
            out.push('/');
        }
        out.push_str(part);
    }
    out
}

#[cfg(test)]
#[path = "resolve_tests.rs"]
mod tests;
