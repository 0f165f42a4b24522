//! Policy files (`--policy FILE.toml`): a default and an ordered list of rules, parsed into a
//! [`PolicyTable`]. Every error names the line (and column) it comes from, unknown keys are
//! errors (a typo must not silently widen a policy). The format, with every key:
//!
//! ```toml
//! default = "allow"              # decision when no rule matches (optional, default "allow")
//!
//! [[rule]]                       # rules are tried in file order; the FIRST match decides
//! syscalls = ["path_open"]       # names, groups ("fs-write", "fs", "clock"…) or "*" (default)
//! access = ["write", "create", "truncate"]  # optional: matches if the call wants any of them
//! path = "/data/**"              # optional, a string or an array: exact "/a/b", subtree
//!                                # "/data/" or "/data/**", glob "/data/*.txt", "/a/**/b"
//! decision = "ask"               # allow | ask | deny | deny:EPERM | trap | trap:message
//! ```
//!
//! Access kinds: read, write, create, truncate, remove, rename, link, symlink, set-times,
//! readdir, stat. A plain `deny` fails the call with EACCES.

use super::pattern::PathPattern;
use super::{Access, Decision, PolicyTable, Rule, SyscallSet};
use crate::errno::parse_errno;
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};
use toml_edit::{Document, Item, Table, TableLike};

/// A policy file that cannot be used: where and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyFileError {
    /// The file, when loaded from one.
    pub file: Option<PathBuf>,
    /// 1-based line (0 when unknown, e.g. the file could not be read).
    pub line: usize,
    /// 1-based column (0 when unknown).
    pub column: usize,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for PolicyFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let file = self
            .file
            .as_deref()
            .map_or_else(|| "policy".to_owned(), |p| p.display().to_string());
        // Without a position (the file could not be read): `file: message`. Otherwise the
        // compiler-style `file:line:column: message` that editors and terminals jump to.
        if self.line == 0 {
            write!(f, "{file}: {}", self.message)
        } else {
            write!(f, "{file}:{}:{}: {}", self.line, self.column, self.message)
        }
    }
}

impl std::error::Error for PolicyFileError {}

impl PolicyTable {
    /// Reads a policy file (see the format in this module's docs).
    pub fn load(path: impl AsRef<Path>) -> Result<PolicyTable, PolicyFileError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| PolicyFileError {
            file: Some(path.to_owned()),
            line: 0,
            column: 0,
            message: format!("cannot read: {e}"),
        })?;
        // The parser never knows the file's name: it is added here.
        PolicyTable::from_toml(&text).map_err(|e| PolicyFileError {
            file: Some(path.to_owned()),
            ..e
        })
    }

    /// Parses policy-file text.
    pub fn from_toml(text: &str) -> Result<PolicyTable, PolicyFileError> {
        // `toml_edit` keeps the spans of keys and values, which every error below turns into a
        // line and a column.
        let doc = Document::parse(text).map_err(|e| {
            // One line: errors are printed one to a line, after the position.
            let message = e.message().trim().replace('\n', "; ");
            error_at(text, e.span(), message)
        })?;
        let parser = Parser { text };
        parser.document(&doc)
    }
}

/// A string from the file and where it was.
type Spanned<'i> = (&'i str, Option<Range<usize>>);

/// The policy-file parser: keeps the text to turn byte spans into lines and columns.
struct Parser<'t> {
    text: &'t str,
}

impl Parser<'_> {
    fn document(&self, doc: &Document<&str>) -> Result<PolicyTable, PolicyFileError> {
        let root: &Table = doc.as_table();
        // Unknown keys first: a misspelt `defualt` must not quietly leave the default at allow.
        self.known_keys(root, &["default", "rule"])?;
        let default = match root.get("default") {
            Some(item) => self.decision(item)?,
            // As documented: a file of rules alone restricts only what they match.
            None => Decision::Allow,
        };
        let mut table = PolicyTable::new(default);
        if let Some(item) = root.get("rule") {
            let Some(rules) = item.as_array_of_tables() else {
                return Err(self.err(item.span(), "rules are written as [[rule]] tables"));
            };
            for rule in rules.iter() {
                // In file order: the first match decides, so the order is part of the meaning.
                table = table.rule(self.rule(rule)?);
            }
        }
        Ok(table)
    }

    fn rule(&self, rule: &Table) -> Result<Rule, PolicyFileError> {
        self.known_keys(rule, &["syscalls", "access", "path", "decision"])?;
        let Some(decision) = rule.get("decision") else {
            // No default here: a rule that forgot its decision must not become an allow (or a
            // deny).
            return Err(self.err(rule.span(), "this [[rule]] has no `decision`"));
        };
        let mut out = Rule::new(self.decision(decision)?);
        if let Some(item) = rule.get("syscalls") {
            let mut set = SyscallSet::EMPTY;
            for (name, span) in self.strings(item, "syscalls")? {
                let Some(more) = SyscallSet::parse_name(name) else {
                    let msg = format!("unknown syscall or group {name:?}");
                    return Err(self.err(span, &msg));
                };
                // Names and groups may mix; overlaps are harmless. Without the key, `Rule::new`
                // covers every syscall.
                set = set.union(more);
            }
            out = out.syscalls(set);
        }
        if let Some(item) = rule.get("access") {
            let mut access = Access::empty();
            for (name, span) in self.strings(item, "access")? {
                let Some(more) = Access::parse_name(name) else {
                    let msg = format!(
                        "unknown access {name:?} (expected read, write, create, truncate, \
                         remove, rename, link, symlink, set-times, readdir or stat)"
                    );
                    return Err(self.err(span, &msg));
                };
                // A rule with several kinds matches a call that wants any one of them.
                access |= more;
            }
            out = out.access(access);
        }
        if let Some(item) = rule.get("path") {
            for (pattern, span) in self.strings(item, "path")? {
                // Any one pattern matching is enough; each keeps its span, so a bad one is reported
                // where it was written.
                let pattern = PathPattern::parse(pattern).map_err(|e| self.err(span, &e.0))?;
                out = out.path(pattern);
            }
        }
        Ok(out)
    }

    /// A decision string: allow | ask | deny | deny:ERRNO | trap | trap:MESSAGE.
    fn decision(&self, item: &Item) -> Result<Decision, PolicyFileError> {
        let span = item.span();
        let Some(text) = item.as_str() else {
            return Err(self.err(span, "a decision is a string, e.g. \"deny:EPERM\""));
        };
        // At the first colon only: a trap's message may hold colons of its own.
        let (word, arg) = match text.split_once(':') {
            Some((word, arg)) => (word.trim(), Some(arg.trim())),
            None => (text.trim(), None),
        };
        match (word, arg) {
            ("allow", None) => Ok(Decision::Allow),
            ("ask", None) => Ok(Decision::Ask),
            ("deny", None) => Ok(Decision::deny()),
            ("deny", Some(name)) => match parse_errno(name) {
                // Not SUCCESS: the call would return 0 without having done anything, and the guest
                // would believe it.
                Some(errno) if errno != crate::abi::types::Errno::Success => {
                    Ok(Decision::Deny(errno))
                }
                _ => Err(self.err(
                    span,
                    &format!("unknown errno {name:?} (e.g. EACCES, EPERM)"),
                )),
            },
            // Always a message: the trap (and the audit record) says why the guest stopped.
            ("trap", None) => Ok(Decision::trap("denied by policy")),
            ("trap", Some(message)) => {
                // Quotes around the message are optional and dropped: `'trap:"no system files"'`
                // reads as the words.
                let message = message
                    .strip_prefix('"')
                    .and_then(|m| m.strip_suffix('"'))
                    .unwrap_or(message);
                Ok(Decision::trap(message))
            }
            _ => Err(self.err(
                span,
                &format!(
                    "unknown decision {text:?} (expected allow, ask, deny, deny:ERRNO, trap \
                     or trap:MESSAGE)"
                ),
            )),
        }
    }

    /// A string or an array of strings, each with its span.
    fn strings<'i>(&self, item: &'i Item, key: &str) -> Result<Vec<Spanned<'i>>, PolicyFileError> {
        if let Some(s) = item.as_str() {
            // A single string is a list of one: `path = "/x"` and `path = ["/x"]` mean the same.
            return Ok(vec![(s, item.span())]);
        }
        let expected = format!("`{key}` is a string or an array of strings");
        let Some(array) = item.as_array() else {
            return Err(self.err(item.span(), &expected));
        };
        let mut out = Vec::new();
        for value in array.iter() {
            match value.as_str() {
                Some(s) => out.push((s, value.span())),
                None => return Err(self.err(value.span(), &expected)),
            }
        }
        if out.is_empty() {
            // An empty list would make a rule that never matches: surely a mistake.
            return Err(self.err(item.span(), &format!("`{key}` is empty")));
        }
        Ok(out)
    }

    fn known_keys(&self, table: &dyn TableLike, known: &[&str]) -> Result<(), PolicyFileError> {
        for (key, item) in table.iter() {
            if !known.contains(&key) {
                let span = table
                    .key(key)
                    .and_then(|k| k.span())
                    .or_else(|| item.span());
                let msg = format!(
                    "unknown key {key:?} (expected one of: {})",
                    known.join(", ")
                );
                return Err(self.err(span, &msg));
            }
        }
        Ok(())
    }

    fn err(&self, span: Option<Range<usize>>, message: &str) -> PolicyFileError {
        error_at(self.text, span, message.to_owned())
    }
}

/// An error at the byte span's start, as 1-based line and column.
fn error_at(text: &str, span: Option<Range<usize>>, message: String) -> PolicyFileError {
    let (line, column) = match span {
        Some(span) => {
            // `get`, not indexing: a span that is not on a char boundary must not panic.
            let before = text.get(..span.start).unwrap_or(text);
            let line = before.matches('\n').count() + 1;
            // Characters, not bytes, as editors count columns.
            let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
            (line, column)
        }
        None => (0, 0),
    };
    PolicyFileError {
        file: None,
        line,
        column,
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::abi::types::Errno;
    use crate::policy::{Policy, Request, Syscall};

    const EXAMPLE: &str = r#"
default = "allow"

[[rule]]
syscalls = ["path_open"]    # or "*" / a group like "fs-write"
access = ["write", "create", "truncate"]
path = "/data/**"
decision = "ask"

[[rule]]
syscalls = "random_get"
decision = "deny:ENOTCAPABLE"

[[rule]]
syscalls = ["fs-write"]
path = ["/etc/", "/boot/*.img"]
decision = 'trap:"no system files"'
"#;

    #[test]
    fn the_example_parses_and_decides() {
        let t = PolicyTable::from_toml(EXAMPLE).unwrap();
        assert_eq!(t.rules().len(), 3);
        let write = Request::new(Syscall::PathOpen)
            .path("/data", "/data/out.txt")
            .access(Access::WRITE);
        assert_eq!(t.decide(&write), Decision::Ask);
        assert_eq!(
            t.decide(&Request::new(Syscall::RandomGet)),
            Decision::Deny(Errno::Notcapable)
        );
        let mkdir = Request::new(Syscall::PathCreateDirectory)
            .path("/", "/etc/x")
            .access(Access::CREATE);
        assert_eq!(t.decide(&mkdir), Decision::trap("no system files"));
        let img = Request::new(Syscall::PathUnlinkFile)
            .path("/", "/boot/a.img")
            .access(Access::REMOVE);
        assert_eq!(t.decide(&img), Decision::trap("no system files"));
        assert_eq!(t.decide(&Request::new(Syscall::FdWrite)), Decision::Allow);
    }

    #[test]
    fn decisions_parse() {
        let parse = |d: &str| {
            PolicyTable::from_toml(&format!("default = \"{d}\""))
                .map(|t| t.default_decision().clone())
        };
        assert_eq!(parse("deny"), Ok(Decision::Deny(Errno::Acces)));
        assert_eq!(parse("deny:EPERM"), Ok(Decision::Deny(Errno::Perm)));
        assert_eq!(
            parse("deny: notcapable"),
            Ok(Decision::Deny(Errno::Notcapable))
        );
        assert_eq!(parse("trap"), Ok(Decision::trap("denied by policy")));
        assert_eq!(parse("trap:stop here"), Ok(Decision::trap("stop here")));
        assert_eq!(parse("ask"), Ok(Decision::Ask));
        assert!(parse("deny:ESUCCESS").is_err());
        assert!(parse("deny:SUCCESS").is_err());
        assert_eq!(
            PolicyTable::from_toml("").unwrap().default_decision(),
            &Decision::Allow
        );
    }

    fn error(text: &str) -> PolicyFileError {
        PolicyTable::from_toml(text).unwrap_err()
    }

    #[test]
    fn errors_carry_line_numbers() {
        let e = error(
            "default = \"allow\"\n\n[[rule]]\nsyscalls = [\"path_opn\"]\ndecision = \"ask\"\n",
        );
        assert_eq!((e.line, e.column), (4, 13), "{e}");
        assert!(e.message.contains("path_opn"), "{e}");
        assert_eq!(e.to_string(), format!("policy:4:13: {}", e.message));

        let e = error("[[rule]]\ndecision = \"alow\"\n");
        assert_eq!(e.line, 2, "{e}");
        assert!(e.message.contains("unknown decision"), "{e}");

        let e = error("[[rule]]\nsyscals = \"*\"\ndecision = \"ask\"\n");
        assert_eq!((e.line, e.column), (2, 1), "{e}");
        assert!(e.message.contains("unknown key \"syscals\""), "{e}");

        let e = error("\n\n[[rule]]\npath = \"/x\"\n");
        assert_eq!(e.line, 3, "{e}");
        assert!(e.message.contains("no `decision`"), "{e}");

        let e = error("[[rule]]\ndecision = \"ask\"\npath = [\"/ok\", \"relative\"]\n");
        assert_eq!((e.line, e.column), (3, 16), "{e}");

        let e = error("[[rule]]\ndecision = \"ask\"\naccess = [\"write\", \"exec\"]\n");
        assert_eq!(e.line, 3, "{e}");
        assert!(e.message.contains("unknown access \"exec\""), "{e}");

        let e = error("default = \"deny\"\nrule = 3\n");
        assert_eq!(e.line, 2, "{e}");

        // Syntax errors come from the TOML parser, with their position.
        let e = error("default = \"allow\"\n[[rule]\n");
        assert_eq!(e.line, 2, "{e}");

        let e = error("[[rule]]\ndecision = \"ask\"\nsyscalls = []\n");
        assert!(e.message.contains("empty"), "{e}");
    }

    #[test]
    fn load_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.toml");
        std::fs::write(&path, "default = 1\n").unwrap();
        let e = PolicyTable::load(&path).unwrap_err();
        assert_eq!(e.file.as_deref(), Some(path.as_path()));
        assert!(
            e.to_string()
                .starts_with(&format!("{}:1:11: ", path.display())),
            "{e}"
        );
        let missing = PolicyTable::load(dir.path().join("nope.toml")).unwrap_err();
        assert!(missing.to_string().contains("cannot read"), "{missing}");
    }
}
