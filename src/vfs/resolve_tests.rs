//! Table-driven tests of the resolver over a tiny fake backend that only answers `lookup`
//! (the default `lookup_kind` is built on it): the resolver must never need anything else.

use super::*;
use crate::vfs::{DirEntry, File, Filestat, OpenOptions, SetTime};
use std::any::Any;
use std::collections::BTreeMap;

/// A fake directory: a name (its path from the root, "" for the root) and its entries.
struct FakeDir {
    path: String,
    entries: BTreeMap<String, Fake>,
}

enum Fake {
    Dir(Arc<FakeDir>),
    File,
    Link(String),
}

struct FakeFile;

impl Dir for FakeDir {
    fn lookup(&self, name: &str) -> FsResult<Node> {
        assert!(
            !name.is_empty() && name != "." && name != ".." && !name.contains('/'),
            "resolver passed a bad name: {name:?}"
        );
        match self.entries.get(name) {
            None => Err(FsError::NotFound),
            Some(Fake::Dir(d)) => Ok(Node::Dir(d.clone())),
            Some(Fake::File) => Ok(Node::File(Arc::new(FakeFile))),
            Some(Fake::Link(t)) => Ok(Node::Symlink(t.clone())),
        }
    }
    fn open_file(&self, _: &str, _: OpenOptions) -> FsResult<Arc<dyn File>> {
        Err(FsError::NotSupported)
    }
    fn create_dir(&self, _: &str) -> FsResult<()> {
        Err(FsError::NotSupported)
    }
    fn remove_dir(&self, _: &str) -> FsResult<()> {
        Err(FsError::NotSupported)
    }
    fn unlink(&self, _: &str) -> FsResult<()> {
        Err(FsError::NotSupported)
    }
    fn symlink(&self, _: &str, _: &str) -> FsResult<()> {
        Err(FsError::NotSupported)
    }
    fn read_link(&self, _: &str) -> FsResult<String> {
        Err(FsError::NotSupported)
    }
    fn stat_at(&self, _: &str) -> FsResult<Filestat> {
        Err(FsError::NotSupported)
    }
    fn set_times_at(&self, _: &str, _: SetTime, _: SetTime) -> FsResult<()> {
        Err(FsError::NotSupported)
    }
    fn link(&self, _: &str, _: &dyn Dir, _: &str) -> FsResult<()> {
        Err(FsError::NotSupported)
    }
    fn rename(&self, _: &str, _: &dyn Dir, _: &str) -> FsResult<()> {
        Err(FsError::NotSupported)
    }
    fn stat(&self) -> FsResult<Filestat> {
        Err(FsError::NotSupported)
    }
    fn set_times(&self, _: SetTime, _: SetTime) -> FsResult<()> {
        Err(FsError::NotSupported)
    }
    fn read_dir(&self, _: u64, _: usize) -> FsResult<Vec<DirEntry>> {
        Err(FsError::NotSupported)
    }
    fn sync(&self) -> FsResult<()> {
        Err(FsError::NotSupported)
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

impl File for FakeFile {
    fn read_at(&self, _: &mut [u8], _: u64) -> FsResult<usize> {
        Err(FsError::NotSupported)
    }
    fn write_at(&self, _: &[u8], _: u64) -> FsResult<usize> {
        Err(FsError::NotSupported)
    }
    fn append(&self, _: &[u8]) -> FsResult<(usize, u64)> {
        Err(FsError::NotSupported)
    }
    fn stat(&self) -> FsResult<Filestat> {
        Err(FsError::NotSupported)
    }
    fn set_size(&self, _: u64) -> FsResult<()> {
        Err(FsError::NotSupported)
    }
    fn set_times(&self, _: SetTime, _: SetTime) -> FsResult<()> {
        Err(FsError::NotSupported)
    }
    fn allocate(&self, _: u64, _: u64) -> FsResult<()> {
        Err(FsError::NotSupported)
    }
    fn sync(&self) -> FsResult<()> {
        Err(FsError::NotSupported)
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

fn link(t: &str) -> Fake {
    Fake::Link(t.to_owned())
}

fn dir(path: &str, entries: Vec<(&str, Fake)>) -> Fake {
    Fake::Dir(Arc::new(FakeDir {
        path: path.to_owned(),
        entries: entries
            .into_iter()
            .map(|(n, f)| (n.to_owned(), f))
            .collect(),
    }))
}

/// root/{a/{b/{f}, up->.., esc->../.., bf->b/f}, f, links...}
fn tree() -> Arc<dyn Dir> {
    let mut root = vec![
        (
            "a",
            dir(
                "a",
                vec![
                    ("b", dir("a/b", vec![("f", Fake::File)])),
                    ("up", link("..")),
                    ("esc", link("../..")),
                    ("bf", link("b/f")),
                ],
            ),
        ),
        ("f", Fake::File),
        ("l_a", link("a")),
        ("l_f", link("f")),
        ("l_abs", link("/etc")),
        ("l_abs_mid", link("a/../../x")),
        ("loop", link("loop")),
        ("l1", link("l2")),
        ("l2", link("l1")),
        ("dangling", link("missing")),
        ("l_dot", link(".")),
        ("l_dotdot", link("a/b/..")),
        ("l_slash", link("a/")),
        ("l_fslash", link("f/")),
        ("l_empty", link("")),
        ("l_up", link("a/up")),
    ];
    // p0 -> p1 -> ... -> p39 -> f: exactly 40 expansions from p0.
    let p: Vec<String> = (0..40).map(|i| format!("p{i}")).collect();
    // q0 -> ... -> q40 -> f: 41 expansions from q0, one too many.
    let q: Vec<String> = (0..41).map(|i| format!("q{i}")).collect();
    let mut links = Vec::new();
    for chain in [&p, &q] {
        for (i, name) in chain.iter().enumerate() {
            let next = chain.get(i + 1).cloned().unwrap_or_else(|| "f".to_owned());
            links.push((name.clone(), link(&next)));
        }
    }
    let mut entries: BTreeMap<String, Fake> =
        root.drain(..).map(|(n, f)| (n.to_owned(), f)).collect();
    entries.extend(links);
    Arc::new(FakeDir {
        path: String::new(),
        entries,
    })
}

fn dir_path(d: &Arc<dyn Dir>) -> String {
    d.as_any()
        .downcast_ref::<FakeDir>()
        .map(|d| d.path.clone())
        .unwrap_or_else(|| "<not a fake>".to_owned())
}

/// Renders a result as one comparable string:
/// `<dir>|<last>|<slash>|<guest_path>` where last is `.`, `name:kind` or `name:-` (missing).
fn render(r: FsResult<Resolved>) -> String {
    let r = match r {
        Ok(r) => r,
        Err(e) => return format!("Err({e:?})"),
    };
    let last = match &r.last {
        Last::Dir => ".".to_owned(),
        Last::Entry { name, node } => {
            let kind = match node {
                None => "-".to_owned(),
                Some(Found::Dir(d)) => format!("dir({})", dir_path(d)),
                Some(Found::File) => "file".to_owned(),
                Some(Found::Symlink(t)) => format!("link({t})"),
            };
            format!("{name}:{kind}")
        }
    };
    let slash = if r.trailing_slash { "/" } else { "" };
    format!("{}|{last}|{slash}|{}", dir_path(&r.dir), r.guest_path)
}

#[test]
fn resolve_table() {
    use Follow::*;
    let long = "x".repeat(300);
    let max = "y".repeat(255);
    let long_mid = format!("{long}/f");
    let cases: Vec<(&str, Follow, &str)> = vec![
        // Plain names and the start itself.
        ("f", No, "|f:file||f"),
        ("a", No, "|a:dir(a)||a"),
        ("a/b/f", No, "a/b|f:file||a/b/f"),
        ("missing", No, "|missing:-||missing"),
        ("a/missing", Yes, "a|missing:-||a/missing"),
        (".", No, "|.||."),
        ("./", No, "|.|/|."),
        ("a/.", No, "a|.||a"),
        ("a/..", No, "|.||."),
        ("a/b/../..", No, "|.||."),
        ("a//b///f", No, "a/b|f:file||a/b/f"),
        ("./a/./b/../b/f", No, "a/b|f:file||a/b/f"),
        ("a/../f", No, "|f:file||f"),
        // Errors on the path itself.
        ("", No, "Err(NotFound)"),
        ("a\0b", No, "Err(Invalid)"),
        ("missing/x\0", No, "Err(Invalid)"),
        ("/", No, "Err(Escape)"),
        ("/etc/passwd", No, "Err(Escape)"),
        ("//a", No, "Err(Escape)"),
        // `..` never leaves the start.
        ("..", No, "Err(Escape)"),
        ("../a", No, "Err(Escape)"),
        ("a/../..", No, "Err(Escape)"),
        ("a/../../x", No, "Err(Escape)"),
        ("a/b/../../../a", No, "Err(Escape)"),
        ("./..", No, "Err(Escape)"),
        // Middle components must exist and be directories.
        ("missing/x", No, "Err(NotFound)"),
        ("missing/..", No, "Err(NotFound)"),
        ("f/x", No, "Err(NotDir)"),
        ("f/..", No, "Err(NotDir)"),
        ("f/.", No, "Err(NotDir)"),
        // Component length: 255 is fine (just missing), 256+ is too long, in walk order.
        (max.as_str(), No, ""), // filled in below
        (long.as_str(), No, "Err(NameTooLong)"),
        (long_mid.as_str(), No, "Err(NameTooLong)"),
        // Trailing slash: must be a directory, checked by `existing`; missing is fine here.
        ("a/", No, "|a:dir(a)|/|a"),
        ("f/", No, "|f:file|/|f"),
        ("new/", No, "|new:-|/|new"),
        // Symlinks in the middle are always expanded, relative to the link's directory.
        ("l_a/b/f", No, "a/b|f:file||a/b/f"),
        ("a/up/f", No, "|f:file||f"),
        ("a/up/a/up/a/b/f", No, "a/b|f:file||a/b/f"),
        ("l_up/f", No, "|f:file||f"),
        ("l_f/x", No, "Err(NotDir)"),
        ("dangling/x", No, "Err(NotFound)"),
        ("l_dot/f", No, "|f:file||f"),
        ("l_dotdot/a", No, "a|a:-||a/a"),
        // Final symlinks: kept or followed.
        ("l_f", No, "|l_f:link(f)||l_f"),
        ("l_f", Yes, "|f:file||f"),
        ("a/bf", Yes, "a/b|f:file||a/b/f"),
        ("l_a", Yes, "|a:dir(a)||a"),
        ("dangling", Yes, "|missing:-||missing"),
        ("dangling", No, "|dangling:link(missing)||dangling"),
        ("l_dot", Yes, "|.||."),
        ("l_dotdot", Yes, "a|.||a"),
        ("l_slash", Yes, "|a:dir(a)|/|a"),
        ("l_fslash", Yes, "|f:file|/|f"),
        ("l_empty", Yes, "Err(NotFound)"),
        ("l_empty", No, "|l_empty:link()||l_empty"),
        // A trailing slash forces following unless the op names the entry itself.
        ("l_a/", No, "|a:dir(a)|/|a"),
        ("l_a/", Never, "|l_a:link(a)|/|l_a"),
        ("l_f/", No, "|f:file|/|f"),
        ("dangling/", No, "|missing:-|/|missing"),
        ("l_a/.", Never, "a|.||a"),
        // Escapes through symlinks.
        ("l_abs", Yes, "Err(Escape)"),
        ("l_abs", No, "|l_abs:link(/etc)||l_abs"),
        ("l_abs/x", No, "Err(Escape)"),
        ("l_abs_mid", Yes, "Err(Escape)"),
        ("a/esc", Yes, "Err(Escape)"),
        ("a/esc/x", No, "Err(Escape)"),
        ("a/esc", No, "a|esc:link(../..)||a/esc"),
        // Loops and the expansion budget.
        ("loop", Yes, "Err(Loop)"),
        ("loop", No, "|loop:link(loop)||loop"),
        ("loop/x", No, "Err(Loop)"),
        ("l1", Yes, "Err(Loop)"),
        ("l1/", No, "Err(Loop)"),
        ("p0", Yes, "|f:file||f"),
        ("q0", Yes, "Err(Loop)"),
        ("q1", Yes, "|f:file||f"),
    ];
    let root = tree();
    let mut failures = Vec::new();
    for (path, follow, expected) in &cases {
        let expected = if *path == max {
            format!("|{max}:-||{max}")
        } else {
            (*expected).to_owned()
        };
        let got = render(resolve(&root, path, *follow));
        if got != expected {
            failures.push(format!(
                "{path:?} {follow:?}: got {got:?}, want {expected:?}"
            ));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn existing_applies_the_trailing_slash_rule() {
    let root = tree();
    let kind = |path: &str, follow| {
        let r = resolve(&root, path, follow).expect("resolves");
        match r.existing() {
            Ok(Existing::Dir(d)) => format!("dir({})", dir_path(d)),
            Ok(Existing::File { .. }) => "file".to_owned(),
            Ok(Existing::Symlink { name, target, .. }) => format!("link({name}->{target})"),
            Err(e) => format!("Err({e:?})"),
        }
    };
    assert_eq!(kind("a/", Follow::No), "dir(a)");
    assert_eq!(kind("a/..", Follow::No), "dir()");
    assert_eq!(kind("f", Follow::No), "file");
    assert_eq!(kind("f/", Follow::No), "Err(NotDir)");
    assert_eq!(kind("l_fslash", Follow::Yes), "Err(NotDir)");
    assert_eq!(kind("l_f", Follow::No), "link(l_f->f)");
    assert_eq!(kind("l_a/", Follow::Never), "Err(NotDir)");
    assert_eq!(kind("missing", Follow::Yes), "Err(NotFound)");
    assert_eq!(kind("new/", Follow::No), "Err(NotFound)");
}

#[test]
fn long_paths_and_link_storms_stay_bounded() {
    let root = tree();
    // 2000 `a/up/` pairs: deep but legal, one expansion each, stops at the budget.
    let deep = "a/up/".repeat(2000) + "f";
    assert_eq!(render(resolve(&root, &deep, Follow::No)), "Err(Loop)");
    // 20 pairs stay under the budget and land back at the start.
    let ok = "a/up/".repeat(20) + "f";
    assert_eq!(render(resolve(&root, &ok, Follow::No)), "|f:file||f");
    // Thousands of `.`/`..` pairs cost no lookups beyond the `a`s.
    let dots = "a/../".repeat(1000) + "a/b/f";
    assert_eq!(
        render(resolve(&root, &dots, Follow::No)),
        "a/b|f:file||a/b/f"
    );
}

#[test]
fn the_directory_stack_is_capped() {
    // The 2100-deep fake tree is built and dropped recursively (test code, not the
    // resolver): give it a stack that holds that on every platform's debug frames.
    std::thread::Builder::new()
        .stack_size(64 << 20)
        .spawn(the_directory_stack_is_capped_on_a_deep_tree)
        .unwrap()
        .join()
        .unwrap();
}

fn the_directory_stack_is_capped_on_a_deep_tree() {
    // d/d/d/... 2100 levels deep: every level would be a held host descriptor.
    let mut node = dir("leaf", vec![("f", Fake::File)]);
    for level in 0..2100 {
        node = dir(&format!("level{level}"), vec![("d", node)]);
    }
    let Fake::Dir(root) = node else {
        unreachable!("built as a directory")
    };
    let root: Arc<dyn Dir> = root;
    let too_deep = "d/".repeat(MAX_DEPTH + 1) + "x";
    assert_eq!(
        render(resolve(&root, &too_deep, Follow::No)),
        "Err(NameTooLong)"
    );
    let deep_enough = "d/".repeat(MAX_DEPTH) + "x";
    assert!(!render(resolve(&root, &deep_enough, Follow::No)).starts_with("Err"));
}

/// `resolve_parent` walks exactly as `resolve` does up to the final name, which it leaves
/// alone: the parent and guest path always match what `resolve` (no-follow) finds.
#[test]
fn resolve_parent_matches_resolve_up_to_the_final_name() {
    let root = tree();
    let parent = |path: &str| match resolve_parent(&root, path) {
        Ok(Some(p)) => format!("{}|{}|{}", dir_path(&p.dir), p.name, p.guest_path_under("")),
        Ok(None) => "full".to_owned(),
        Err(e) => format!("Err({e:?})"),
    };
    let cases = [
        ("f", "|f|f"),
        ("missing", "|missing|missing"),
        ("a/b/f", "a/b|f|a/b/f"),
        ("a/b/new", "a/b|new|a/b/new"),
        // The final name is never expanded, middle links always are.
        ("l_f", "|l_f|l_f"),
        ("l_a/bf", "a|bf|a/bf"),
        ("a/up/a/./b/f", "a/b|f|a/b/f"),
        ("l_up/f", "|f|f"),
        // Only a plain final name: `.`, `..` and a trailing slash need the full resolver.
        ("a/.", "full"),
        ("a/..", "full"),
        ("f/", "full"),
        ("l_a/", "full"),
        // The walk's errors are the resolver's.
        ("", "Err(NotFound)"),
        ("/f", "Err(Escape)"),
        ("a\0b", "Err(Invalid)"),
        ("../f", "Err(Escape)"),
        ("a/esc/f", "Err(Escape)"),
        ("f/x", "Err(NotDir)"),
        ("missing/x", "Err(NotFound)"),
        ("loop/x", "Err(Loop)"),
        ("l_abs/x", "Err(Escape)"),
    ];
    let mut failures = Vec::new();
    for (path, expected) in cases {
        let got = parent(path);
        if got != expected {
            failures.push(format!("{path:?}: got {got:?}, want {expected:?}"));
        }
        // Wherever the fast walk answers, the full resolver agrees on dir and guest path.
        if let Ok(Some(p)) = resolve_parent(&root, path) {
            let full = resolve(&root, path, Follow::Never).expect("resolves");
            assert_eq!(dir_path(&full.dir), dir_path(&p.dir), "{path:?}");
            assert_eq!(full.guest_path, p.guest_path_under(""), "{path:?}");
        }
    }
    let long = "x".repeat(crate::limits::MAX_NAME_LEN + 1);
    assert_eq!(parent(&long), "Err(NameTooLong)");
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

/// A final directory found through a read-only wrapper comes back wrapped too (its
/// `lookup_kind` hands out the handle the inner backend opened).
#[test]
fn final_directories_under_read_only_stay_read_only() {
    let fs = crate::vfs::MemFs::new();
    fs.root().create_dir("d").expect("mkdir");
    let ro = crate::vfs::read_only(fs.root());
    let r = resolve(&ro, "d", Follow::No).expect("resolves");
    let Last::Entry {
        node: Some(Found::Dir(d)),
        ..
    } = r.last
    else {
        panic!("not a directory: {:?}", r.last);
    };
    assert!(d.is_read_only());
    assert_eq!(d.create_dir("x"), Err(FsError::ReadOnly));
}
