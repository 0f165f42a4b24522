//! Terminal injection through the CLI: every guest-controlled string the binary prints (import
//! and name-section names, module file names, guest paths and symlink targets in `--trace`,
//! `--audit` and `--ask`) reaches the user escaped, never as a raw control or invisible
//! character. Each test asserts both: no raw character, and the escaped form is there.

use super::{EXIT_USAGE, guest, stderr, warden};
use std::path::Path;
#[cfg(unix)]
use std::process::{Command, Stdio};

/// ESC, U+202E (right-to-left override), U+E0041 (tag `A`), U+200B (zero-width space), a
/// backslash, and ordinary non-ASCII text that must come through unchanged.
const EVIL_PATH: &str = "x\u{1b}[31m\u{202e}y\u{e0041}\u{200b}z\\\u{e9}\u{6f22}\u{1f980}";
/// What the CLI shows for `EVIL_PATH`.
const EVIL_PATH_SHOWN: &str = "x\\x1b[31m\\u{202e}y\\u{e0041}\\u{200b}z\\\\\u{e9}\u{6f22}\u{1f980}";
/// A symlink target: an OSC title sequence ended by BEL, then U+2066 (left-to-right isolate).
const EVIL_TARGET: &str = "t\u{1b}]2;pwned\u{7}\u{2066}";
const EVIL_TARGET_SHOWN: &str = "t\\x1b]2;pwned\\x07\\u{2066}";
/// A symlink name holding U+009B, the one-character C1 CSI, and U+FEFF.
const EVIL_LINK: &str = "l\u{9b}2J\u{feff}";
const EVIL_LINK_SHOWN: &str = "l\\u{9b}2J\\u{feff}";

/// The invisible or direction-changing code points no output may carry raw.
fn invisible(c: char) -> bool {
    matches!(c as u32,
        0x80..=0x9f | 0xad | 0x61c
        | 0x200b..=0x200f | 0x2028..=0x202e | 0x2060..=0x2064 | 0x2066..=0x2069
        | 0xfeff | 0xe0000..=0xe007f)
}

/// Asserts `bytes` (what the user would see) hold no control byte but `\n`, no DEL and no
/// invisible code point.
fn assert_clean(what: &str, bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    for (i, &b) in bytes.iter().enumerate() {
        assert!(
            b == b'\n' || (b >= 0x20 && b != 0x7f),
            "{what}: raw byte {b:#04x} at {i} in {text:?}"
        );
    }
    let text = std::str::from_utf8(bytes).unwrap_or_else(|e| panic!("{what}: {e}: {text:?}"));
    if let Some(c) = text.chars().find(|&c| invisible(c)) {
        panic!("{what}: raw {c:?} in {text:?}");
    }
}

/// `bytes` as a WAT string literal body: every byte as a `\hh` escape.
fn wat_string(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("\\{b:02x}")).collect()
}

/// A guest that opens (creating) `EVIL_PATH` under fd 3 and symlinks `EVIL_LINK` to
/// `EVIL_TARGET`, then returns.
fn evil_paths_guest(dir: &Path) -> String {
    let wat = format!(
        r#"(module
  (import "wasi_snapshot_preview1" "path_open"
    (func $open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_symlink"
    (func $symlink (param i32 i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 100) "{path}")
  (data (i32.const 400) "{target}")
  (data (i32.const 700) "{link}")
  (func (export "_start")
    (drop (call $open (i32.const 3) (i32.const 0) (i32.const 100) (i32.const {path_len})
      (i32.const 1) (i64.const 64) (i64.const 0) (i32.const 0) (i32.const 1000)))
    (drop (call $symlink (i32.const 400) (i32.const {target_len}) (i32.const 3)
      (i32.const 700) (i32.const {link_len})))))"#,
        path = wat_string(EVIL_PATH.as_bytes()),
        path_len = EVIL_PATH.len(),
        target = wat_string(EVIL_TARGET.as_bytes()),
        target_len = EVIL_TARGET.len(),
        link = wat_string(EVIL_LINK.as_bytes()),
        link_len = EVIL_LINK.len(),
    );
    guest(dir, "paths.wat", &wat)
}

#[test]
fn a_link_error_escapes_the_import_names() {
    let dir = tempfile::tempdir().unwrap();
    let wat = guest(
        dir.path(),
        "import.wat",
        r#"(module (import "\1b]0;pwned\07" "f\e2\80\ae\f3\a0\81\81\e2\81\a0" (func))
                   (memory (export "memory") 1) (func (export "_start")))"#,
    );
    let out = warden(&["run", &wat]);
    assert_eq!(out.status.code(), Some(EXIT_USAGE), "{}", stderr(&out));
    assert_clean("stderr", &out.stderr);
    let err = stderr(&out);
    assert!(err.starts_with("wasi-warden: "), "{err}");
    assert!(err.contains("\\x1b]0;pwned\\x07"), "{err}");
    assert!(err.contains("f\\u{202e}\\u{e0041}\\u{2060}"), "{err}");
}

#[test]
fn a_backtrace_escapes_module_and_function_names() {
    // The start function fails in a host call (a pointer out of bounds): the one-line trap
    // message names the innermost frames, with the name section's module and function names.
    let dir = tempfile::tempdir().unwrap();
    let wat = guest(
        dir.path(),
        "names.wat",
        r#"(module $"mod\1b[2J"
             (import "wasi_snapshot_preview1" "fd_write"
               (func $write (param i32 i32 i32 i32) (result i32)))
             (memory (export "memory") 1)
             (func $"\1b]0;x\07evil\e2\80\ae"
               (drop (call $write (i32.const 1) (i32.const 0xffffff0) (i32.const 1)
                 (i32.const 8))))
             (start $"\1b]0;x\07evil\e2\80\ae")
             (func (export "_start")))"#,
    );
    let out = warden(&["run", &wat]);
    assert_clean("stderr", &out.stderr);
    let err = stderr(&out);
    assert!(
        err.contains("mod\\x1b[2J!\\x1b]0;x\\x07evil\\u{202e}"),
        "{err}"
    );
}

#[test]
fn a_trap_in_a_named_function_prints_no_raw_names() {
    let dir = tempfile::tempdir().unwrap();
    let wat = guest(
        dir.path(),
        "trap.wat",
        r#"(module $"\1b[2J" (memory (export "memory") 1)
             (func $"\1b]0;x\07\e2\80\ae" unreachable)
             (func (export "_start") (call $"\1b]0;x\07\e2\80\ae")))"#,
    );
    let out = warden(&["run", &wat]);
    assert_eq!(out.status.code(), Some(134), "{}", stderr(&out));
    assert_clean("stderr", &out.stderr);
    assert!(stderr(&out).contains("guest trapped: "), "{}", stderr(&out));
}

#[test]
fn a_module_file_name_is_escaped() {
    let dir = tempfile::tempdir().unwrap();
    // Windows names hold no C0 controls: there, the invisible and bidi characters only.
    #[cfg(unix)]
    let (name, shown) = (
        "m\u{1b}]0;t\u{7}\u{202e}.wat",
        "m\\x1b]0;t\\x07\\u{202e}.wat",
    );
    #[cfg(not(unix))]
    let (name, shown) = (
        "m\u{9b}t\u{202e}\u{200b}.wat",
        "m\\u{9b}t\\u{202e}\\u{200b}.wat",
    );
    let wat = guest(dir.path(), name, "(module (func $f (i32.bogus)))\n");
    let out = warden(&["run", &wat]);
    assert_eq!(out.status.code(), Some(EXIT_USAGE), "{}", stderr(&out));
    assert_clean("stderr", &out.stderr);
    let err = stderr(&out);
    assert!(err.starts_with("wasi-warden: cannot load module "), "{err}");
    assert!(err.contains(shown), "{err}");
}

#[test]
fn trace_escapes_guest_paths_and_symlink_targets() {
    let dir = tempfile::tempdir().unwrap();
    let wat = evil_paths_guest(dir.path());
    let out = warden(&["run", "--mem-dir", "/", "--trace", &wat]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_clean("stderr", &out.stderr);
    let err = stderr(&out);
    assert!(
        err.contains(&format!("path_open(fd=3, \"/{EVIL_PATH_SHOWN}\", ")),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "path_symlink(fd=3, \"/{EVIL_LINK_SHOWN}\", contents=\"{EVIL_TARGET_SHOWN}\""
        )),
        "{err}"
    );
}

/// Every string inside a JSON value.
fn strings(value: &serde_json::Value, out: &mut Vec<String>) {
    match value {
        serde_json::Value::String(s) => out.push(s.clone()),
        serde_json::Value::Array(items) => items.iter().for_each(|v| strings(v, out)),
        serde_json::Value::Object(fields) => fields.iter().for_each(|(k, v)| {
            out.push(k.clone());
            strings(v, out);
        }),
        _ => {}
    }
}

#[test]
fn audit_json_stays_valid_and_carries_no_raw_invisible_characters() {
    let dir = tempfile::tempdir().unwrap();
    let wat = evil_paths_guest(dir.path());
    let audit = dir.path().join("audit.jsonl");
    let out = warden(&[
        "run",
        "--mem-dir",
        "/",
        "--audit",
        audit.to_str().unwrap(),
        &wat,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let bytes = std::fs::read(&audit).unwrap();
    assert_clean("the audit file", &bytes);
    let text = String::from_utf8(bytes).unwrap();
    let records: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    // What `jq -r` would print: the decoded strings are clean too.
    for record in &records {
        let mut found = Vec::new();
        strings(record, &mut found);
        for s in found {
            assert_clean("a decoded JSON string", s.as_bytes());
        }
    }
    let open = records
        .iter()
        .find(|r| r["syscall"] == "path_open")
        .expect("a path_open record");
    assert_eq!(open["path"], format!("/{EVIL_PATH_SHOWN}"), "{text}");
    let symlink = records
        .iter()
        .find(|r| r["syscall"] == "path_symlink")
        .expect("a path_symlink record");
    assert_eq!(symlink["path"], format!("/{EVIL_LINK_SHOWN}"), "{text}");
    assert_eq!(symlink["contents"], EVIL_TARGET_SHOWN, "{text}");
}

#[test]
#[cfg(unix)] // setsid: a session without a controlling terminal
fn ask_without_a_terminal_escapes_the_denied_path() {
    let dir = tempfile::tempdir().unwrap();
    let wat = evil_paths_guest(dir.path());
    // A new session has no controlling terminal, and stdin is not one: the prompter denies
    // and says what it denied.
    let out = Command::new("setsid")
        .args([
            "-w",
            env!("CARGO_BIN_EXE_wasi-warden"),
            "run",
            "--mem-dir",
            "/",
            "--ask",
            &wat,
        ])
        .env("XDG_CACHE_HOME", super::shared_cache_home())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_clean("stderr", &out.stderr);
    let err = stderr(&out);
    assert!(
        err.contains(&format!(
            "wasi-warden: denied: module wants to write and create \"/{EVIL_PATH_SHOWN}\""
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "module wants to create a symlink at \"/{EVIL_LINK_SHOWN}\" pointing to \
             \"{EVIL_TARGET_SHOWN}\""
        )),
        "{err}"
    );
}
