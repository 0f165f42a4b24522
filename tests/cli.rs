//! The `wasi-warden` binary end to end: flags, exit statuses and messages, run as a user would
//! (a child process, stdin closed). Guests are small hand-written WAT files, so these tests need
//! no wasm32 toolchain.

#[path = "cli/cache.rs"]
mod cache;
#[path = "cli/escape.rs"]
mod escape;
#[path = "cli/invoke.rs"]
mod invoke;
#[path = "cli/precompiled.rs"]
mod precompiled;
#[path = "cli/progress.rs"]
mod progress;
#[path = "cli/wasi_options.rs"]
mod wasi_options;
#[path = "cli/wasm_options.rs"]
mod wasm_options;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The trap/stop status documented in `wasi-warden run --help`.
const EXIT_TRAPPED: i32 = 134;
/// The "could not start" status.
const EXIT_USAGE: i32 = 2;

const HELLO: &str = "examples/hello.wat";

/// Where the binary's default compiled-module cache goes in these tests (`$XDG_CACHE_HOME`):
/// under `target/`, never the user's own cache. Cache tests give each run its own.
fn shared_cache_home() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("cli-cache-home")
}

/// Runs the binary from the crate root with `args` and a closed stdin.
fn warden(args: &[&str]) -> Output {
    warden_with(args, |_| {})
}

fn warden_with(args: &[&str], setup: impl FnOnce(&mut Command)) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_wasi-warden"));
    cmd.args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("XDG_CACHE_HOME", shared_cache_home())
        .stdin(Stdio::null());
    setup(&mut cmd);
    cmd.output().expect("the wasi-warden binary runs")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Writes `wat` to `dir/name` and returns the path as a string.
fn guest(dir: &Path, name: &str, wat: &str) -> String {
    let path: PathBuf = dir.join(name);
    std::fs::write(&path, wat).unwrap();
    path.to_str().unwrap().to_string()
}

/// A host path as our messages show it: escaped like any text a person reads, so each
/// backslash of a Windows path is doubled (`escape.rs`).
fn shown(path: &str) -> String {
    path.replace('\\', "\\\\")
}

/// Asserts stderr is exactly one `wasi-warden: ...` line and returns it.
fn one_message(out: &Output) -> String {
    let err = stderr(out);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 1, "expected one line on stderr, got {err:?}");
    assert!(lines[0].starts_with("wasi-warden: "), "{err:?}");
    lines[0].to_string()
}

#[test]
fn hello_wat_runs_and_prints_what_it_did() {
    let out = warden(&["run", "--mem-dir", "/", HELLO, "first", "--not-a-flag"]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}\n{}", stderr(&out));
    for expected in [
        "hello from a WASI guest, running under wasi-warden\n",
        "arguments: 3\n",
        // As wasmtime: MODULE's file name, not the host path to it.
        "  argv[0] = hello.wat\n",
        "  argv[1] = first\n",
        "  argv[2] = --not-a-flag\n",
        "environment variables: 0\n",
        "realtime clock: ",
        "8 random bytes: ",
        "first preopened directory (fd 3): /\n",
        "created hello.txt and wrote 41 bytes\n",
        "read it back: this file was written by the hello guest\n",
        "entries in the preopened directory:\n  hello.txt (file)\n",
        "done\n",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
    assert!(!text.contains("failed with errno"), "{text}");
    assert!(stderr(&out).is_empty(), "{}", stderr(&out));
}

#[test]
fn without_a_mount_flag_the_guest_gets_no_directory() {
    // The README's first command, as is: the demo runs, says so and exits 0.
    let out = warden(&["run", HELLO]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        text.contains("no preopened directory at fd 3; skipping the file demo\n"),
        "{text}"
    );
    assert!(!text.contains("first preopened directory"), "{text}");
    // --save-fs has nothing to save, and says so.
    let out = warden(&["run", "--save-fs", "never-written.tar", HELLO]);
    assert_eq!(out.status.code(), Some(EXIT_USAGE));
    assert!(one_message(&out).contains("no in-memory mount to save"));
    assert!(
        !Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("never-written.tar")
            .exists()
    );
}

#[test]
fn argv0_replaces_the_module_name() {
    let out = warden(&["run", "--argv0", "busybox", HELLO, "ls"]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        text.contains("arguments: 2\n  argv[0] = busybox\n  argv[1] = ls\n"),
        "{text}"
    );
}

#[test]
fn the_guest_exit_code_is_the_process_exit_code() {
    let dir = tempfile::tempdir().unwrap();
    let wat = guest(
        dir.path(),
        "exit7.wat",
        r#"(module
             (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
             (memory (export "memory") 1)
             (func (export "_start") (call $exit (i32.const 7)) unreachable))"#,
    );
    let out = warden(&["run", &wat]);
    assert_eq!(out.status.code(), Some(7), "{}", stderr(&out));
    assert!(stderr(&out).is_empty(), "{}", stderr(&out));
}

#[test]
fn a_trap_is_one_line_and_status_134() {
    let dir = tempfile::tempdir().unwrap();
    let wat = guest(
        dir.path(),
        "trap.wat",
        r#"(module (memory (export "memory") 1) (func (export "_start") unreachable))"#,
    );
    let out = warden(&["run", &wat]);
    assert_eq!(out.status.code(), Some(EXIT_TRAPPED));
    let line = one_message(&out);
    assert!(line.starts_with("wasi-warden: guest trapped: "), "{line}");
    assert!(line.contains("unreachable"), "{line}");
}

#[test]
fn the_start_function_is_part_of_the_run() {
    // proc_exit there is the guest's status (it was "cannot run", 2); a trap there is 134.
    let dir = tempfile::tempdir().unwrap();
    let exits = guest(
        dir.path(),
        "start_exit.wat",
        r#"(module
             (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
             (memory (export "memory") 1)
             (func $start (call $exit (i32.const 3)))
             (start $start)
             (func (export "_start") (unreachable)))"#,
    );
    let out = warden(&["run", &exits]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert_eq!(stderr(&out), "");
    let traps = guest(
        dir.path(),
        "start_trap.wat",
        r#"(module
             (import "wasi_snapshot_preview1" "fd_write"
               (func $write (param i32 i32 i32 i32) (result i32)))
             (memory (export "memory") 1)
             (func $bad (drop (call $write (i32.const 1) (i32.const 0xffffff0) (i32.const 1)
               (i32.const 8))))
             (start $bad)
             (func (export "_start")))"#,
    );
    let out = warden(&["run", &traps]);
    assert_eq!(out.status.code(), Some(EXIT_TRAPPED));
    let message = one_message(&out);
    assert!(message.contains("guest trapped:"), "{message}");
    assert!(message.contains("!bad"), "{message}");
}

#[test]
fn a_missing_module_is_one_line_and_status_2() {
    let out = warden(&["run", "no/such/module.wasm"]);
    assert_eq!(out.status.code(), Some(EXIT_USAGE));
    let line = one_message(&out);
    assert!(
        line.starts_with("wasi-warden: cannot load module no/such/module.wasm: "),
        "{line}"
    );
}

#[test]
fn an_invalid_module_is_one_line_and_status_2() {
    let dir = tempfile::tempdir().unwrap();
    let bad_wat = guest(dir.path(), "bad.wat", "(module (func $f (i32.bogus)))\n");
    let bad_wasm = guest(dir.path(), "bad.wasm", "\0asm\x01\0\0\0\x7f");
    for path in [bad_wat, bad_wasm] {
        let out = warden(&["run", &path]);
        assert_eq!(out.status.code(), Some(EXIT_USAGE), "{path}");
        let line = one_message(&out);
        assert!(
            line.contains(&format!("cannot load module {}: ", shown(&path))),
            "{line}"
        );
    }
}

#[test]
fn a_module_that_does_not_link_is_one_line_and_status_2() {
    let dir = tempfile::tempdir().unwrap();
    let wat = guest(
        dir.path(),
        "env.wat",
        r#"(module (import "env" "nope" (func)) (memory (export "memory") 1)
                   (func (export "_start")))"#,
    );
    let out = warden(&["run", &wat]);
    assert_eq!(out.status.code(), Some(EXIT_USAGE));
    let line = one_message(&out);
    assert!(line.contains("cannot run module"), "{line}");
    assert!(line.contains("nope"), "{line}");
}

#[test]
fn stdout_limit_stops_the_guest_and_names_stream_and_limit() {
    let out = warden(&["run", "--stdout-limit", "10", HELLO]);
    assert_eq!(out.status.code(), Some(EXIT_TRAPPED), "{}", stderr(&out));
    assert!(out.stdout.len() <= 10, "{:?}", stdout(&out));
    let line = one_message(&out);
    assert!(line.contains("stdout"), "{line}");
    assert!(line.contains("10 bytes"), "{line}");
}

#[test]
fn stderr_limit_stops_the_guest_and_names_stderr() {
    let dir = tempfile::tempdir().unwrap();
    let wat = guest(
        dir.path(),
        "noisy.wat",
        r#"(module
             (import "wasi_snapshot_preview1" "fd_write"
               (func $write (param i32 i32 i32 i32) (result i32)))
             (memory (export "memory") 1)
             (data (i32.const 100) "0123456789abcdefghij")
             (func (export "_start")
               (i32.store (i32.const 0) (i32.const 100))
               (i32.store (i32.const 4) (i32.const 20))
               (drop (call $write (i32.const 2) (i32.const 0) (i32.const 1) (i32.const 8)))
               (drop (call $write (i32.const 2) (i32.const 0) (i32.const 1) (i32.const 8)))))"#,
    );
    let out = warden(&["run", "--stderr-limit", "5", &wat]);
    assert_eq!(out.status.code(), Some(EXIT_TRAPPED), "{}", stderr(&out));
    let err = stderr(&out);
    let guest_part = err.split("wasi-warden: ").next().unwrap();
    assert!(guest_part.len() <= 5, "{err:?}");
    assert!(err.contains("the stderr limit of 5 bytes"), "{err:?}");
}

#[test]
fn max_fds_caps_what_the_guest_can_open() {
    // stdio (3) + the `/` preopen (1) fill a table of 4: opening hello.txt is EMFILE (33).
    let out = warden(&["run", "--mem-dir", "/", "--max-fds", "4", HELLO]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(text.contains("path_open failed with errno 33\n"), "{text}");
    let out = warden(&["run", "--mem-dir", "/", "--max-fds", "5", HELLO]);
    assert!(
        !stdout(&out).contains("failed with errno"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn bad_flag_values_are_usage_errors() {
    let cases: &[&[&str]] = &[
        &["run", "--stdout-limit", "10MB", HELLO],
        &["run", "--stderr-limit", "lots", HELLO],
        &["run", "--max-fds", "-1", HELLO],
        &["run", "--env", "=x", HELLO],
        &["run", "--mem-dir", "host::", HELLO],
        &["run"],
    ];
    for args in cases {
        let out = warden(args);
        assert_eq!(out.status.code(), Some(EXIT_USAGE), "{args:?}");
        assert!(stdout(&out).is_empty(), "{args:?}");
        assert!(!stderr(&out).is_empty(), "{args:?}");
    }
}

/// A host dir holding note.txt, and the COPY_IN_GUEST module beside it.
fn host_fixture() -> (tempfile::TempDir, PathBuf, String) {
    let work = tempfile::tempdir().unwrap();
    let host = work.path().join("host");
    std::fs::create_dir(&host).unwrap();
    std::fs::write(host.join("note.txt"), "from the host\n").unwrap();
    let wat = guest(work.path(), "copy.wat", COPY_IN_GUEST);
    (work, host, wat)
}

fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn dir_mounts_a_host_dir_read_write() {
    let (_work, host, wat) = host_fixture();
    let mount = format!("{}::/data", host.display());
    let out = warden(&["run", "--dir", &mount, &wat]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), "from the host\n");
    // The guest's writes land on the host, and only inside the mount.
    let changed = "changed by the guest\n";
    assert_eq!(
        std::fs::read_to_string(host.join("note.txt")).unwrap(),
        changed
    );
    assert_eq!(
        std::fs::read_to_string(host.join("new.txt")).unwrap(),
        changed
    );
    assert_eq!(names_in(host.parent().unwrap()), ["copy.wat", "host"]);
}

#[test]
fn ro_dir_refuses_every_change_with_eperm() {
    let (_work, host, wat) = host_fixture();
    let mount = format!("{}::/data", host.display());
    let out = warden(&["run", "--ro-dir", &mount, &wat]);
    // Reading works; the TRUNC open is refused with EPERM (63), the guest's exit status.
    assert_eq!(stdout(&out), "from the host\n");
    assert_eq!(out.status.code(), Some(63), "{}", stderr(&out));
    assert_eq!(
        std::fs::read_to_string(host.join("note.txt")).unwrap(),
        "from the host\n"
    );
    assert_eq!(names_in(&host), ["note.txt"]);
}

#[test]
fn overlay_keeps_changes_in_memory_and_the_host_untouched() {
    let (_work, host, wat) = host_fixture();
    let mount = format!("{}::/data", host.display());
    let out = warden(&["run", "--overlay", &mount, &wat]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), "from the host\n");
    assert_eq!(
        std::fs::read_to_string(host.join("note.txt")).unwrap(),
        "from the host\n"
    );
    assert_eq!(names_in(&host), ["note.txt"]);
    // The guest itself sees its own changes: hello lists the file it created.
    let out = warden(&["run", "--overlay", &mount, HELLO]);
    let text = stdout(&out);
    assert!(
        text.contains("  hello.txt (file)\n") && text.contains("  note.txt (file)\n"),
        "{text}"
    );
    assert_eq!(names_in(&host), ["note.txt"]);
}

#[test]
fn a_missing_host_dir_is_one_line_and_status_2() {
    for flag in ["--dir", "--ro-dir", "--overlay"] {
        let out = warden(&["run", flag, "/no/such/dir::/data", HELLO]);
        assert_eq!(out.status.code(), Some(EXIT_USAGE), "{flag}");
        let line = one_message(&out);
        assert!(
            line.contains(flag) && line.contains("/no/such/dir"),
            "{line}"
        );
    }
}

#[test]
fn two_mounts_at_one_guest_path_are_refused() {
    let (_work, host, _wat) = host_fixture();
    let mount = format!("{}::/data", host.display());
    let out = warden(&["run", "--dir", &mount, "--ro-dir", &mount, HELLO]);
    assert_eq!(out.status.code(), Some(EXIT_USAGE));
    assert!(one_message(&out).contains("mounted twice"));
}

/// Reads note.txt from the first preopen and echoes it, then overwrites it and creates
/// new.txt. Exits with the errno if any call fails.
const COPY_IN_GUEST: &str = r#"(module
  (import "wasi_snapshot_preview1" "path_open"
    (func $open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read" (func $read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 100) "note.txt")
  (data (i32.const 120) "new.txt")
  (data (i32.const 140) "changed by the guest\n")
  (func $check (param $err i32)
    (if (local.get $err) (then (call $exit (local.get $err)))))
  (func (export "_start")
    ;; open note.txt for reading (FD_READ), fd at 0; iovec at 16; count at 24
    (call $check (call $open (i32.const 3) (i32.const 1) (i32.const 100) (i32.const 8)
      (i32.const 0) (i64.const 2) (i64.const 0) (i32.const 0) (i32.const 0)))
    (i32.store (i32.const 16) (i32.const 1024))
    (i32.store (i32.const 20) (i32.const 1024))
    (call $check (call $read (i32.load (i32.const 0)) (i32.const 16) (i32.const 1) (i32.const 24)))
    (i32.store (i32.const 20) (i32.load (i32.const 24)))
    (call $check (call $write (i32.const 1) (i32.const 16) (i32.const 1) (i32.const 24)))
    ;; overwrite note.txt (TRUNC, FD_WRITE)
    (call $check (call $open (i32.const 3) (i32.const 1) (i32.const 100) (i32.const 8)
      (i32.const 8) (i64.const 64) (i64.const 0) (i32.const 0) (i32.const 0)))
    (i32.store (i32.const 16) (i32.const 140))
    (i32.store (i32.const 20) (i32.const 21))
    (call $check (call $write (i32.load (i32.const 0)) (i32.const 16) (i32.const 1) (i32.const 24)))
    ;; create new.txt (CREAT|EXCL) and write to it
    (call $check (call $open (i32.const 3) (i32.const 1) (i32.const 120) (i32.const 7)
      (i32.const 5) (i64.const 64) (i64.const 0) (i32.const 0) (i32.const 0)))
    (call $check (call $write (i32.load (i32.const 0)) (i32.const 16) (i32.const 1) (i32.const 24)))))"#;

#[test]
fn mem_dir_copies_a_host_dir_in_and_never_writes_it() {
    let work = tempfile::tempdir().unwrap();
    let host = work.path().join("host");
    std::fs::create_dir(&host).unwrap();
    std::fs::write(host.join("note.txt"), "from the host\n").unwrap();
    let wat = guest(work.path(), "copy.wat", COPY_IN_GUEST);
    let mount = format!("{}::/data", host.display());

    let out = warden(&["run", "--mem-dir", &mount, &wat]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), "from the host\n");
    assert_eq!(
        std::fs::read_to_string(host.join("note.txt")).unwrap(),
        "from the host\n"
    );
    let names: Vec<_> = std::fs::read_dir(&host)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["note.txt"]);

    // The guest sees the mount under its guest name.
    let out = warden(&["run", "--mem-dir", &mount, HELLO]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        text.contains("first preopened directory (fd 3): /data\n"),
        "{text}"
    );
    assert!(text.contains("  note.txt (file)\n"), "{text}");
    assert!(!host.join("hello.txt").exists());
}

#[test]
fn mem_dir_without_host_is_an_empty_dir() {
    let out = warden(&["run", "--mem-dir", "/scratch", HELLO]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        text.contains("first preopened directory (fd 3): /scratch\n"),
        "{text}"
    );
    assert!(
        text.contains("entries in the preopened directory:\n  hello.txt (file)\ndone\n"),
        "{text}"
    );
}

#[test]
fn mem_dir_with_a_missing_host_dir_is_one_line_and_status_2() {
    let out = warden(&["run", "--mem-dir", "/no/such/dir::/data", HELLO]);
    assert_eq!(out.status.code(), Some(EXIT_USAGE));
    let line = one_message(&out);
    assert!(line.contains("/no/such/dir"), "{line}");
}

#[test]
fn env_sets_and_inherits_only_what_is_named() {
    let out = warden_with(
        &[
            "run",
            "--env",
            "GREETING=hi=there",
            "--env",
            "WARDEN_INHERITED",
            "--env",
            "WARDEN_UNSET",
            HELLO,
        ],
        |cmd| {
            cmd.env("WARDEN_INHERITED", "from the host")
                .env("WARDEN_NOT_PASSED", "secret")
                .env_remove("WARDEN_UNSET");
        },
    );
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        text.contains(
            "environment variables: 2\n  GREETING=hi=there\n  WARDEN_INHERITED=from the host\n"
        ),
        "{text}"
    );
    assert!(!text.contains("secret"), "{text}");
}

#[test]
fn help_documents_the_flags_and_statuses() {
    let out = warden(&["--help"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(stdout(&out).contains("run"), "{}", stdout(&out));
    let out = warden(&["run", "--help"]);
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    for flag in [
        "--mem-dir",
        "--dir",
        "--env",
        "--stdout-limit",
        "--stderr-limit",
        "--max-fds",
        "64MiB",
        "134",
        // wasmtime's spellings, and which of ours they match.
        "-W, --wasm",
        "-S, --wasi",
        "-C, --codegen",
        "-O, --optimize",
        "--invoke",
        "--argv0",
        "wasmtime's spelling: -W fuel=N",
        "wasmtime's spelling: -W timeout=DUR",
        "wasmtime's spelling: -W max-memory-size=SIZE",
        "wasmtime's spelling: -S tcplisten=ADDR:PORT",
        "wasmtime's older spelling of -C cache=n",
        "wasmtime's older spelling of -W unknown-imports-trap",
        "no directory at all",
    ] {
        assert!(text.contains(flag), "missing {flag} in:\n{text}");
    }
    assert!(
        text.contains("UNSAFE for files you did not compile yourself"),
        "{text}"
    );
}
