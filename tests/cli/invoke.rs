//! `--invoke NAME [ARGS]` and reactors, as `wasmtime run` runs them: `_initialize` first,
//! arguments from the trailing words, results printed one per line; bad invocations are one
//! line before the guest starts.

use super::{EXIT_TRAPPED, EXIT_USAGE, guest, one_message, stderr, stdout, warden};

/// A reactor: `_initialize` prints `init`, `greet` prints `hello`; `add`, `pair`, `boom`,
/// `quit` for the other cases.
const REACTOR: &str = r#"(module
  (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 100) "init\n")
  (data (i32.const 200) "hello\n")
  (func $print (param $at i32) (param $len i32)
    (i32.store (i32.const 0) (local.get $at))
    (i32.store (i32.const 4) (local.get $len))
    (drop (call $write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 16))))
  (func (export "_initialize") (call $print (i32.const 100) (i32.const 5)))
  (func (export "greet") (call $print (i32.const 200) (i32.const 6)))
  (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1)))
  (func (export "pair") (param i64) (result i64 f64)
    (i64.mul (local.get 0) (i64.const 2)) (f64.const 0.5))
  (func (export "boom") unreachable)
  (func (export "quit") (param i32) (call $exit (local.get 0))))"#;

#[test]
fn invoke_calls_initialize_then_the_export() {
    let dir = tempfile::tempdir().unwrap();
    let wat = guest(dir.path(), "reactor.wat", REACTOR);
    let out = warden(&["run", "--invoke", "greet", &wat]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), "init\nhello\n");
    assert_eq!(stderr(&out), "");
}

#[test]
fn a_reactor_without_invoke_is_initialized_and_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    let wat = guest(dir.path(), "reactor.wat", REACTOR);
    let out = warden(&["run", &wat]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), "init\n");
}

#[test]
fn invoke_parses_arguments_and_prints_results_as_wasmtime() {
    let dir = tempfile::tempdir().unwrap();
    let wat = guest(dir.path(), "reactor.wat", REACTOR);
    let out = warden(&["run", "--invoke", "add", &wat, "40", "0x2"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), "init\n42\n");
    let out = warden(&["run", "--invoke", "pair", &wat, "-21"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), "init\n-42\n0.5\n");
}

#[test]
fn an_invoked_function_that_traps_or_exits_ends_the_run_so() {
    let dir = tempfile::tempdir().unwrap();
    let wat = guest(dir.path(), "reactor.wat", REACTOR);
    let out = warden(&["run", "--invoke", "boom", &wat]);
    assert_eq!(out.status.code(), Some(EXIT_TRAPPED));
    assert!(one_message(&out).contains("unreachable"));
    let out = warden(&["run", "--invoke", "quit", &wat, "9"]);
    assert_eq!(out.status.code(), Some(9), "{}", stderr(&out));
    assert_eq!(stdout(&out), "init\n");
}

#[test]
fn bad_invocations_are_one_line_before_the_guest_starts() {
    let dir = tempfile::tempdir().unwrap();
    let wat = guest(dir.path(), "reactor.wat", REACTOR);
    for (args, needle) in [
        (&["nope"][..], "--invoke: no function export named `nope`"),
        (&["memory"], "--invoke: no function export named `memory`"),
        (
            &["add", "1"],
            "--invoke add: not enough arguments (it takes 2)",
        ),
        (
            &["add", "1", "two"],
            "--invoke add: `two` is not a valid i32",
        ),
    ] {
        let all = [&["run", "--invoke", args[0], &wat][..], &args[1..]].concat();
        let out = warden(&all);
        assert_eq!(out.status.code(), Some(EXIT_USAGE), "{args:?}");
        assert!(
            one_message(&out).ends_with(needle),
            "{args:?}: {}",
            stderr(&out)
        );
        // `_initialize` did not run either.
        assert_eq!(stdout(&out), "", "{args:?}");
    }
}
