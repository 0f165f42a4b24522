//! wasmtime's `-W` group and its older flags, end to end: proposals (a guest using exception
//! handling), imports nothing provides (trap / default values), the limits in wasmtime's
//! spelling, and the one-line errors for refused and unknown keys. `-O`/`-C` keys too.

use super::{EXIT_TRAPPED, EXIT_USAGE, HELLO, guest, one_message, stderr, stdout, warden};

/// Throws `$boom 7` from a nested call and catches it with `try_table`, printing `caught 7`.
const EXCEPTIONS: &str = r#"(module
  (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 100) "caught ?\n")
  (tag $boom (param i32))
  (func $thrower (param i32) (throw $boom (local.get 0)))
  (func (export "_start") (local $payload i32)
    (block $handler (result i32)
      (try_table (catch $boom $handler)
        (call $thrower (i32.const 7)))
      (unreachable))
    (local.set $payload)
    (i32.store8 (i32.const 107) (i32.add (i32.const 48) (local.get $payload)))
    (i32.store (i32.const 0) (i32.const 100))
    (i32.store (i32.const 4) (i32.const 9))
    (drop (call $write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 16)))))"#;

#[test]
fn an_exception_handling_guest_runs_by_default_and_with_w_exceptions() {
    let dir = tempfile::tempdir().unwrap();
    let wat = guest(dir.path(), "exceptions.wat", EXCEPTIONS);
    for flags in [&[][..], &["-W", "exceptions"], &["-W", "exceptions=y,gc=y"]] {
        let args = [&["run"][..], flags, &[wat.as_str()]].concat();
        let out = warden(&args);
        assert_eq!(out.status.code(), Some(0), "{flags:?}: {}", stderr(&out));
        assert_eq!(stdout(&out), "caught 7\n", "{flags:?}");
    }
}

#[test]
fn w_exceptions_n_refuses_such_a_guest_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let wat = guest(dir.path(), "exceptions.wat", EXCEPTIONS);
    let out = warden(&["run", "-W", "exceptions=n", &wat]);
    assert_eq!(out.status.code(), Some(EXIT_USAGE));
    let line = one_message(&out);
    assert!(line.contains("cannot load module"), "{line}");
    assert!(line.contains("exception"), "{line}");
    assert!(stdout(&out).is_empty());
}

#[test]
fn an_uncaught_exception_stops_the_guest_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let wat = guest(
        dir.path(),
        "uncaught.wat",
        r#"(module (memory (export "memory") 1) (tag $boom)
             (func (export "_start") (throw $boom)))"#,
    );
    let out = warden(&["run", &wat]);
    assert_eq!(out.status.code(), Some(EXIT_TRAPPED), "{}", stderr(&out));
    assert!(one_message(&out).starts_with("wasi-warden: guest trapped: "));
}

/// Prints `before`, then calls `env::answer`, which no one provides, and prints `answer N`.
const UNKNOWN_IMPORT: &str = r#"(module
  (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
  (import "env" "answer" (func $answer (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 100) "before\n")
  (data (i32.const 200) "answer ?\n")
  (func $print (param $at i32) (param $len i32)
    (i32.store (i32.const 0) (local.get $at))
    (i32.store (i32.const 4) (local.get $len))
    (drop (call $write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 16))))
  (func (export "_start")
    (call $print (i32.const 100) (i32.const 7))
    (i32.store8 (i32.const 207) (i32.add (i32.const 48) (call $answer)))
    (call $print (i32.const 200) (i32.const 9))))"#;

#[test]
fn an_unknown_import_does_not_link_without_flags() {
    let dir = tempfile::tempdir().unwrap();
    let wat = guest(dir.path(), "unknown.wat", UNKNOWN_IMPORT);
    let out = warden(&["run", &wat]);
    assert_eq!(out.status.code(), Some(EXIT_USAGE));
    let line = one_message(&out);
    assert!(
        line.contains("cannot run module") && line.contains("answer"),
        "{line}"
    );
    assert!(stdout(&out).is_empty(), "the guest must not have started");
}

#[test]
fn unknown_imports_trap_when_called() {
    let dir = tempfile::tempdir().unwrap();
    let wat = guest(dir.path(), "unknown.wat", UNKNOWN_IMPORT);
    for flag in [
        &["-W", "unknown-imports-trap"][..],
        &["--trap-unknown-imports"],
    ] {
        let args = [&["run"][..], flag, &[wat.as_str()]].concat();
        let out = warden(&args);
        assert_eq!(
            out.status.code(),
            Some(EXIT_TRAPPED),
            "{flag:?}: {}",
            stderr(&out)
        );
        assert_eq!(stdout(&out), "before\n", "{flag:?}");
        let line = one_message(&out);
        assert!(line.starts_with("wasi-warden: guest trapped: "), "{line}");
        assert!(line.contains("env::answer"), "{line}");
    }
}

#[test]
fn unknown_imports_default_to_zero() {
    let dir = tempfile::tempdir().unwrap();
    let wat = guest(dir.path(), "unknown.wat", UNKNOWN_IMPORT);
    for flag in [
        &["-W", "unknown-imports-default"][..],
        &["--default-values-unknown-imports"],
        &["-W", "unknown-imports-default=y,unknown-imports-trap=n"],
    ] {
        let args = [&["run"][..], flag, &[wat.as_str()]].concat();
        let out = warden(&args);
        assert_eq!(out.status.code(), Some(0), "{flag:?}: {}", stderr(&out));
        assert_eq!(stdout(&out), "before\nanswer 0\n", "{flag:?}");
    }
}

#[test]
fn limits_take_wasmtime_spellings() {
    let dir = tempfile::tempdir().unwrap();
    let spin = guest(
        dir.path(),
        "spin.wat",
        r#"(module (memory (export "memory") 1) (func (export "_start") (loop $l (br $l))))"#,
    );
    let out = warden(&["run", "-W", "fuel=1000", &spin]);
    assert_eq!(out.status.code(), Some(125), "{}", stderr(&out));
    assert!(one_message(&out).contains("fuel of 1000 units"));
    let out = warden(&["run", "-W", "timeout=200ms", &spin]);
    assert_eq!(out.status.code(), Some(124), "{}", stderr(&out));
    assert!(one_message(&out).contains("200ms"));
    let grow = guest(
        dir.path(),
        "grow.wat",
        r#"(module (memory (export "memory") 1)
             (func (export "_start") (drop (memory.grow (i32.const 1)))))"#,
    );
    let out = warden(&["run", "-W", "max-memory-size=65536", &grow]);
    assert_eq!(out.status.code(), Some(123), "{}", stderr(&out));
    assert!(one_message(&out).contains("65536 bytes"));
}

#[test]
fn one_limit_in_both_spellings_is_refused() {
    for (ours, theirs) in [
        (["--fuel", "10"], "fuel=10"),
        (["--timeout", "1s"], "timeout=1s"),
        (["--max-memory", "1MiB"], "max-memory-size=1MiB"),
    ] {
        let out = warden(&["run", ours[0], ours[1], "-W", theirs, HELLO]);
        assert_eq!(out.status.code(), Some(EXIT_USAGE), "{theirs}");
        assert!(
            one_message(&out).contains("give only one of them"),
            "{theirs}"
        );
    }
}

#[test]
fn refused_and_unknown_keys_are_one_line_errors() {
    for (args, needle) in [
        (&["-W", "threads"][..], "wasi-warden: -W threads: refused: "),
        (
            &["-W", "epoch-interruption"],
            "wasi-warden: -W epoch-interruption: refused: ",
        ),
        (
            &["-C", "cranelift-has-avx2"],
            "wasi-warden: -C cranelift-has-avx2: refused: ",
        ),
        (
            &["-O", "pooling-allocator"],
            "wasi-warden: -O pooling-allocator: refused: ",
        ),
        (
            &["-W", "fule=10"],
            "wasi-warden: -W fule=10: unknown key (accepted: fuel, ",
        ),
        (
            &["-C", "kache=n"],
            "wasi-warden: -C kache=n: unknown key (accepted: cache, ",
        ),
        (
            &["-O", "opt-levle=0"],
            "wasi-warden: -O opt-levle=0: unknown key (accepted: ",
        ),
        (
            &["-W", "fuel=many"],
            "wasi-warden: -W fuel=many: `many` is not a number",
        ),
        (
            &["-O", "opt-level=3"],
            "wasi-warden: -O opt-level=3: unknown level",
        ),
    ] {
        let all = [&["run"][..], args, &[HELLO]].concat();
        let out = warden(&all);
        assert_eq!(out.status.code(), Some(EXIT_USAGE), "{args:?}");
        let line = one_message(&out);
        assert!(line.starts_with(needle), "{args:?}: {line}");
        assert!(stdout(&out).is_empty(), "{args:?}");
    }
}

#[test]
fn w_help_lists_every_key_and_exits_0() {
    let out = warden(&["run", "-W", "help", HELLO]);
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    for needle in [
        "-W fuel=N -- ",
        "-W unknown-imports-trap[=y|n] -- ",
        "-W exceptions[=y|n] -- the exception handling proposal",
        "-W epoch-interruption -- ",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
    }
    assert!(!text.contains("hello from"), "the guest must not run");
    let out = warden(&["run", "-O", "help", HELLO]);
    assert!(stdout(&out).contains("-O opt-level=0|1|2|s -- "));
}

#[test]
fn codegen_and_optimize_keys_are_accepted() {
    let out = warden(&[
        "run",
        "-O",
        "opt-level=0,regalloc-algorithm=single-pass",
        "-O",
        "memory-reservation=0x100000,signals-based-traps=n",
        "-C",
        "parallel-compilation=n,compiler=cranelift,collector=copying,inlining=n",
        "-W",
        "nan-canonicalization,max-wasm-stack=0x100000,unknown-exports-allow",
        "--mem-dir",
        "/",
        HELLO,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("read it back: this file was written"));
    // wasmtime itself refuses some combinations: one line, not a panic.
    let out = warden(&["run", "-W", "simd=n", HELLO]);
    assert_eq!(out.status.code(), Some(EXIT_USAGE));
    assert!(one_message(&out).contains("cannot set up the engine: "));
}

/// Every key `-W/-S/-C/-O help` lists as refused, and every off-only key turned on, is refused
/// by the binary in one line before anything runs.
#[test]
fn every_refusal_the_help_lists_is_one_line_from_the_binary() {
    let mut checked = 0;
    for flag in ["-W", "-S", "-C", "-O"] {
        let help = stdout(&warden(&["run", flag, "help", HELLO]));
        let (accepted, refused) = help.split_once("refuses:\n").expect("two sections");
        let off_only = accepted
            .lines()
            .filter_map(|l| {
                l.trim()
                    .strip_prefix(&format!("{flag} "))?
                    .split_once("=n -- ")
            })
            .map(|(key, _)| format!("{key}=y"));
        let refused = refused
            .lines()
            .filter_map(|l| {
                l.trim()
                    .strip_prefix(&format!("{flag} "))?
                    .split_once(" -- ")
            })
            .map(|(key, _)| key.replace("<KEY>", "x"));
        for key in off_only.chain(refused) {
            let out = warden(&["run", flag, &key, HELLO]);
            assert_eq!(out.status.code(), Some(EXIT_USAGE), "{flag} {key}");
            let line = one_message(&out);
            assert!(
                line.starts_with(&format!("wasi-warden: {flag} {key}: refused: ")),
                "{line}"
            );
            assert!(stdout(&out).is_empty(), "{flag} {key}");
            checked += 1;
        }
    }
    // The four groups' tables refuse this many keys (or settings) today.
    assert!(checked >= 40, "only {checked} refusals found in the help");
}
