//! Path patterns of policy rules: an exact path, a subtree, or a glob over path components.
//! Every path is normalised (`request::normalize`) before it is matched, so `/data/../etc` is
//! `/etc` and `/data2` is not under `/data`. Pure string logic: no filesystem access.

use super::request::normalize;
use std::fmt;

/// Which guest paths a rule covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathPattern {
    /// Exactly this (normalised) path.
    Exact(String),
    /// This directory and everything under it (`/data` covers `/data` and `/data/x/y`, not
    /// `/data2`). `/` covers every path.
    Subtree(String),
    /// A glob over components: `*` matches within one component, `?` one character, `**` (a
    /// whole component) any number of components, `\` escapes the next character.
    Glob(String),
}

/// A pattern that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatternError(pub String);

impl fmt::Display for PatternError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for PatternError {}

impl PathPattern {
    /// Parses the policy-file form: `"/data/out.txt"` (exact), `"/data/"` or `"/data/**"`
    /// (subtree), anything with `*`, `?` or `\` (glob). Patterns must be absolute and may not
    /// contain `.` or `..` components (they would not mean what they seem).
    pub fn parse(text: &str) -> Result<PathPattern, PatternError> {
        // Relative to what? Requests carry absolute guest paths, and a relative pattern would
        // silently be read from `/`.
        if !text.starts_with('/') {
            return Err(PatternError(format!(
                "path pattern {text:?} must be absolute (start with '/')"
            )));
        }
        if text.split('/').any(|c| c == "." || c == "..") {
            return Err(PatternError(format!(
                "path pattern {text:?} may not contain '.' or '..' components"
            )));
        }
        let is_glob = |s: &str| s.contains(['*', '?', '\\']);
        // A plain head before `/**` is a subtree (a component-wise prefix test); a head with
        // wildcards stays a glob.
        if let Some(dir) = text.strip_suffix("/**")
            && !is_glob(dir)
        {
            return Ok(PathPattern::Subtree(normalize(dir).into_owned()));
        }
        if is_glob(text) {
            return Ok(PathPattern::Glob(text.to_owned()));
        }
        if text.ends_with('/') {
            return Ok(PathPattern::Subtree(normalize(text).into_owned()));
        }
        Ok(PathPattern::Exact(normalize(text).into_owned()))
    }

    /// An exact path.
    pub fn exact(path: &str) -> PathPattern {
        PathPattern::Exact(normalize(path).into_owned())
    }

    /// A directory and everything under it.
    pub fn subtree(dir: &str) -> PathPattern {
        PathPattern::Subtree(normalize(dir).into_owned())
    }

    /// Whether the guest path (normalised first) matches.
    pub fn matches(&self, path: &str) -> bool {
        // Normalised here too (borrowing when already normal): `/data/./x` and `/data/y/../x`
        // meet the same rules as `/data/x`.
        let path = normalize(path);
        match self {
            PathPattern::Exact(want) => *path == **want,
            PathPattern::Subtree(dir) => is_under(&path, dir),
            PathPattern::Glob(glob) => {
                let globs: Vec<&str> = components(glob).collect();
                let parts: Vec<&str> = components(&path).collect();
                match_components(&globs, &parts)
            }
        }
    }

    /// Whether the pattern matches `path` or, with `subtree`, any path at or below it: could
    /// a rule with this pattern decide about something a rename of `path` moves?
    pub fn overlaps(&self, path: &str, subtree: bool) -> bool {
        if !subtree {
            return self.matches(path);
        }
        let path = normalize(path);
        match self {
            // The exact path is at or below the moved one, so the rename moves it.
            PathPattern::Exact(want) => is_under(want, &path),
            // Inside the protected subtree, or an ancestor of it: moving `/data` moves
            // `/data/secret/**` along.
            PathPattern::Subtree(dir) => is_under(&path, dir) || is_under(dir, &path),
            PathPattern::Glob(glob) => {
                let globs: Vec<&str> = components(glob).collect();
                let parts: Vec<&str> = components(&path).collect();
                // Some path at or below `path` could match: the glob's head must fit `path`'s
                // components, and the rest may be anything.
                match_some_extension(&globs, &parts)
            }
        }
    }

    /// Whether the pattern matches `path` and, with `subtree`, every path below it: does a rule
    /// with this pattern decide about everything a rename of `path` moves? Conservative for
    /// globs: only a glob ending in `/**` whose head matches a prefix of `path` covers a subtree.
    pub fn covers(&self, path: &str, subtree: bool) -> bool {
        if !subtree {
            return self.matches(path);
        }
        let path = normalize(path);
        match self {
            // Conservative on purpose: an allow that does not surely cover the whole subtree
            // leaves the rest to later rules (or a new prompt), so it never lets through more
            // than it names. An exact path covers nothing below it.
            PathPattern::Exact(_) => false,
            PathPattern::Subtree(dir) => is_under(&path, dir),
            PathPattern::Glob(glob) => {
                let globs: Vec<&str> = components(glob).collect();
                let parts: Vec<&str> = components(&path).collect();
                match globs.split_last() {
                    Some((&"**", head)) => {
                        (0..=parts.len()).any(|k| match_components(head, &parts[..k]))
                    }
                    _ => false,
                }
            }
        }
    }
}

impl fmt::Display for PathPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PathPattern::Exact(p) | PathPattern::Glob(p) => f.write_str(p),
            PathPattern::Subtree(p) if p == "/" => f.write_str("/**"),
            PathPattern::Subtree(p) => write!(f, "{p}/**"),
        }
    }
}

/// Whether normalised `path` is `dir` or below it (component-wise, not by string prefix).
pub(crate) fn is_under(path: &str, dir: &str) -> bool {
    // The root holds everything; stripping `/` from `/x` would leave `x`, which fails the
    // boundary test below.
    if dir == "/" {
        return true;
    }
    match path.strip_prefix(dir) {
        // At a component boundary only: a plain prefix test would put `/data2` under `/data`.
        Some(rest) => rest.is_empty() || rest.starts_with('/'),
        None => false,
    }
}

fn components(path: &str) -> impl Iterator<Item = &str> {
    // Empty components (the leading `/`, doubled slashes) carry no name.
    path.split('/').filter(|c| !c.is_empty())
}

/// Matches component lists; `**` absorbs zero or more components (backtracking, bounded by
/// the number of components, which the 4 KiB path cap keeps small).
fn match_components(globs: &[&str], parts: &[&str]) -> bool {
    match globs.split_first() {
        None => parts.is_empty(),
        // O(parts^k) for k `**` in one pattern: the host writes the patterns, the guest only the
        // path, whose depth the resolver caps (`resolve::MAX_DEPTH`).
        Some((&"**", rest)) => (0..=parts.len()).any(|skip| {
            parts
                .get(skip..)
                .is_some_and(|tail| match_components(rest, tail))
        }),
        Some((glob, rest)) => match parts.split_first() {
            Some((part, tail)) => match_one(glob, part) && match_components(rest, tail),
            None => false,
        },
    }
}

/// Whether `globs` matches `parts` followed by some (possibly no) further components. Every
/// glob component matches at least one name, so once `parts` is used up the rest can match.
fn match_some_extension(globs: &[&str], parts: &[&str]) -> bool {
    match (globs.split_first(), parts.split_first()) {
        (_, None) => true,
        (None, Some(_)) => false,
        (Some((&"**", rest)), Some(_)) => (0..=parts.len()).any(|skip| {
            parts
                .get(skip..)
                .is_some_and(|tail| match_some_extension(rest, tail))
        }),
        (Some((glob, rest)), Some((part, tail))) => {
            match_one(glob, part) && match_some_extension(rest, tail)
        }
    }
}

/// Matches one component against a glob of `*`, `?`, `\x` and literals (iterative, with the
/// classic single backtrack point for `*`, so it runs in O(len²) at worst).
fn match_one(glob: &str, name: &str) -> bool {
    // Characters, not bytes: `?` matches one character, whatever its UTF-8 length.
    let glob: Vec<char> = glob.chars().collect();
    let name: Vec<char> = name.chars().collect();
    let (mut g, mut n) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while n < name.len() {
        match glob.get(g) {
            Some('*') => {
                star = Some((g, n));
                g += 1;
                continue;
            }
            Some('?') => {
                g += 1;
                n += 1;
                continue;
            }
            // An escaped character matches itself only; a trailing `\` matches nothing.
            Some('\\') if glob.get(g + 1) == name.get(n) && g + 1 < glob.len() => {
                g += 2;
                n += 1;
                continue;
            }
            Some(c) if *c != '\\' && Some(c) == name.get(n) => {
                g += 1;
                n += 1;
                continue;
            }
            _ => {}
        }
        match star {
            // Retry from the last `*`, which now swallows one more character.
            Some((sg, sn)) => {
                g = sg + 1;
                n = sn + 1;
                star = Some((sg, sn + 1));
            }
            None => return false,
        }
    }
    // The name is used up: what is left of the glob must be stars, matching the empty rest.
    glob.get(g..)
        .is_some_and(|rest| rest.iter().all(|c| *c == '*'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(text: &str) -> PathPattern {
        PathPattern::parse(text).unwrap()
    }

    #[test]
    fn parse_picks_the_kind() {
        assert_eq!(
            p("/data/out.txt"),
            PathPattern::Exact("/data/out.txt".into())
        );
        assert_eq!(p("/data/"), PathPattern::Subtree("/data".into()));
        assert_eq!(p("/data/**"), PathPattern::Subtree("/data".into()));
        assert_eq!(p("/**"), PathPattern::Subtree("/".into()));
        assert_eq!(p("/"), PathPattern::Subtree("/".into()));
        assert_eq!(p("/data/*.txt"), PathPattern::Glob("/data/*.txt".into()));
        assert_eq!(p("/a/**/b"), PathPattern::Glob("/a/**/b".into()));
        assert!(PathPattern::parse("data/x").is_err());
        assert!(PathPattern::parse("/data/../etc").is_err());
        assert!(PathPattern::parse("/data/./x").is_err());
        assert_eq!(p("/data/**").to_string(), "/data/**");
    }

    #[test]
    fn subtree_is_component_wise_and_normalised() {
        let data = p("/data/");
        for yes in [
            "/data",
            "/data/",
            "/data/x",
            "/data/x/y",
            "/data/./x",
            "/tmp/../data/x",
        ] {
            assert!(data.matches(yes), "{yes}");
        }
        for no in [
            "/data2",
            "/data2/x",
            "/dat",
            "/data/../etc",
            "/data/x/../../etc",
            "/",
        ] {
            assert!(!data.matches(no), "{no}");
        }
        assert!(p("/**").matches("/anything/at/all"));
    }

    #[test]
    fn exact_matches_only_that_path() {
        let out = p("/data/out.txt");
        assert!(out.matches("/data/out.txt"));
        assert!(out.matches("/data/x/../out.txt"));
        assert!(out.matches("//data//out.txt/"));
        assert!(!out.matches("/data/out.txt2"));
        assert!(!out.matches("/data/out.txt/x"));
    }

    #[test]
    fn overlap_and_cover_of_moved_subtrees() {
        let secret = p("/data/proj/secret/**");
        // A rename of an ancestor moves the protected subtree; of a sibling, nothing of it.
        for (path, overlaps, covers) in [
            ("/data", true, false),
            ("/data/proj", true, false),
            ("/data/proj/secret", true, true),
            ("/data/proj/secret/x/y", true, true),
            ("/data/pub", false, false),
            ("/data/proj2", false, false),
            ("/", true, false),
        ] {
            assert_eq!(secret.overlaps(path, true), overlaps, "{path}");
            assert_eq!(secret.covers(path, true), covers, "{path}");
        }
        let file = p("/data/proj/secret/f");
        assert!(file.overlaps("/data/proj", true) && !file.covers("/data/proj", true));
        assert!(!file.overlaps("/data/proj/secret/g", true));
        assert!(file.covers("/data/proj/secret/f", false));
        let glob = p("/data/*/secret/*");
        assert!(glob.overlaps("/data", true) && glob.overlaps("/data/x", true));
        assert!(glob.overlaps("/data/x/secret", true));
        assert!(!glob.overlaps("/data/x/public", true) && !glob.overlaps("/etc", true));
        assert!(!glob.covers("/data/x/secret", true));
        let deep = p("/data/*/pub/**");
        assert!(deep.covers("/data/x/pub", true) && deep.covers("/data/x/pub/y", true));
        assert!(!deep.covers("/data/x", true) && deep.overlaps("/data/x", true));
        let any = p("/**/*.key");
        assert!(any.overlaps("/data", true) && !any.covers("/data", true));
        // Without `subtree`, both are plain matching.
        assert!(secret.overlaps("/data/proj/secret/f", false));
        assert!(!secret.overlaps("/data/proj", false));
    }

    #[test]
    fn globs_match_components() {
        let txt = p("/data/*.txt");
        assert!(txt.matches("/data/a.txt"));
        assert!(txt.matches("/data/.txt"));
        assert!(!txt.matches("/data/sub/a.txt"));
        assert!(!txt.matches("/data/a.txt.bak"));
        assert!(!txt.matches("/data/../etc/a.txt"));
        let deep = p("/data/**/*.log");
        assert!(deep.matches("/data/x.log"));
        assert!(deep.matches("/data/a/b/c/x.log"));
        assert!(!deep.matches("/data/a/b/c/x.txt"));
        assert!(!deep.matches("/data2/x.log"));
        let q = p("/tmp/f?o");
        assert!(q.matches("/tmp/foo") && q.matches("/tmp/féo"));
        assert!(!q.matches("/tmp/fo"));
        let escaped = p(r"/tmp/\*");
        assert!(escaped.matches("/tmp/*"));
        assert!(!escaped.matches("/tmp/x"));
        let stars = p("/a/*b*c*");
        assert!(stars.matches("/a/xxbyyczz") && stars.matches("/a/bc"));
        assert!(!stars.matches("/a/cb"));
    }
}
