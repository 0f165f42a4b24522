//! The CLI's policy flags end to end (`--policy`, `--ask` through a pseudo-terminal, `--audit`,
//! `--trace`, `--tcplisten`), and the allocation count of the allow path through a real guest.
#![allow(dead_code)]

use super::driver::Driver;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Output, Stdio};
#[cfg(unix)]
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Counts heap allocations per thread (the test binary's global allocator).
#[allow(unsafe_code)]
mod counting {
    use std::alloc::{GlobalAlloc, Layout, System};
    use std::cell::Cell;

    thread_local! {
        static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
    }

    fn count() {
        let _ = ALLOCATIONS.try_with(|c| c.set(c.get() + 1));
    }

    pub struct Counting;

    // SAFETY: every method forwards to `System` unchanged; counting touches only a
    // const-initialised thread-local `Cell`, which never allocates.
    unsafe impl GlobalAlloc for Counting {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            count();
            unsafe { System.alloc(layout) }
        }
        unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
            count();
            unsafe { System.alloc_zeroed(layout) }
        }
        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            unsafe { System.dealloc(ptr, layout) }
        }
        unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
            count();
            unsafe { System.realloc(ptr, layout, new_size) }
        }
    }

    #[global_allocator]
    static ALLOCATOR: Counting = Counting;

    pub fn allocations() -> u64 {
        ALLOCATIONS.with(|c| c.get())
    }
}

/// A guest export that calls `fd_write(1, "x")` `n` times.
const WRITE_LOOP: &str = r#"(module
  (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "x")
  (func (export "write_n") (param $n i32) (result i32) (local $e i32)
    (i32.store (i32.const 0) (i32.const 16))
    (i32.store (i32.const 4) (i32.const 1))
    (block $done (loop $l
      (br_if $done (i32.eqz (local.get $n)))
      (local.set $e (i32.or (local.get $e)
        (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8))))
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br $l)))
    (local.get $e)))"#;

/// Allocations made by `n` guest `fd_write` calls beyond those of a call making none, on the
/// context of `driver` (its store's data).
pub fn allocations_for_fd_writes(driver: Driver, n: i32) -> u64 {
    use wasi_warden::wasmtime::{Engine, Linker, Module, Store};
    let ctx = driver.store.into_data();
    let engine = Engine::default();
    let module = Module::new(&engine, WRITE_LOOP).unwrap();
    let mut linker = Linker::new(&engine);
    wasi_warden::add_to_linker(&mut linker, |s: &mut wasi_warden::WasiCtx| s).unwrap();
    let mut store = Store::new(&engine, ctx);
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let write_n = instance
        .get_typed_func::<i32, i32>(&mut store, "write_n")
        .unwrap();
    assert_eq!(write_n.call(&mut store, 10).unwrap(), 0); // warm-up
    let before = counting::allocations();
    assert_eq!(write_n.call(&mut store, 0).unwrap(), 0);
    let empty = counting::allocations() - before;
    let before = counting::allocations();
    assert_eq!(write_n.call(&mut store, n).unwrap(), 0);
    let full = counting::allocations() - before;
    full.saturating_sub(empty)
}

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_wasi-warden")
}

fn write_file(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_owned()
}

fn run(args: &[&str]) -> Output {
    Command::new(bin())
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// Opens `x` three times, then `y` three times, for writing (O_CREAT), printing `O` for each
/// success and `E` for each failure.
const OPENS: &str = r#"(module
  (import "wasi_snapshot_preview1" "path_open"
    (func $open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 100) "xy")
  (func $try (param $name i32)
    (i32.store8 (i32.const 200)
      (select (i32.const 79) (i32.const 69)
        (i32.eqz (call $open (i32.const 3) (i32.const 0) (local.get $name) (i32.const 1)
          (i32.const 1) (i64.const 64) (i64.const 0) (i32.const 0) (i32.const 300)))))
    (i32.store (i32.const 0) (i32.const 200))
    (i32.store (i32.const 4) (i32.const 1))
    (drop (call $write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8))))
  (func (export "_start")
    (call $try (i32.const 100)) (call $try (i32.const 100)) (call $try (i32.const 100))
    (call $try (i32.const 101)) (call $try (i32.const 101)) (call $try (i32.const 101))))"#;

#[test]
fn a_bad_policy_file_is_an_error_naming_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let guest = write_file(dir.path(), "g.wat", OPENS);
    let policy = write_file(
        dir.path(),
        "p.toml",
        "default = \"allow\"\n\n[[rule]]\nsyscalls = [\"path_opne\"]\ndecision = \"deny\"\n",
    );
    let out = run(&[
        "run",
        "--mem-dir",
        "/",
        "-C",
        "cache=n",
        "--policy",
        &policy,
        &guest,
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with(&format!(
            "wasi-warden: --policy: {}:4:13: unknown syscall",
            policy.replace('\\', "\\\\")
        )),
        "{err}"
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn policy_file_audit_and_trace() {
    let dir = tempfile::tempdir().unwrap();
    let guest = write_file(dir.path(), "g.wat", OPENS);
    let policy = write_file(
        dir.path(),
        "p.toml",
        "[[rule]]\nsyscalls = \"path_open\"\npath = \"/y\"\ndecision = \"deny:EPERM\"\n",
    );
    let audit = dir.path().join("audit.jsonl");
    let audit_arg = audit.to_str().unwrap();
    let out = run(&[
        "run",
        "--mem-dir",
        "/",
        "-C",
        "cache=n",
        "--policy",
        &policy,
        "--audit",
        audit_arg,
        "--trace",
        &guest,
    ]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "OOOEEE");
    let text = std::fs::read_to_string(&audit).unwrap();
    let opens: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|v| v["syscall"] == "path_open")
        .collect();
    assert_eq!(opens.len(), 6, "{text}");
    assert_eq!(opens[0]["path"], "/x");
    assert_eq!(opens[0]["result"], "ok");
    assert_eq!(opens[5]["path"], "/y");
    assert_eq!(opens[5]["decision"], "deny");
    assert_eq!(opens[5]["errno"], "EPERM");
    let trace = String::from_utf8_lossy(&out.stderr);
    assert!(
        trace.contains(
            "wasi-warden: path_open(fd=3, \"/y\", oflags=CREAT, access=write|create) = -1 EPERM <"
        ),
        "{trace}"
    );
    assert!(trace.contains("[deny EPERM by policy]"), "{trace}");
}

#[test]
#[cfg(unix)] // setsid: a session without a controlling terminal
fn ask_without_a_terminal_denies_with_a_message() {
    let dir = tempfile::tempdir().unwrap();
    let guest = write_file(dir.path(), "g.wat", OPENS);
    // A new session has no controlling terminal, and stdin is not one.
    let out = Command::new("setsid")
        .args([
            "-w",
            bin(),
            "run",
            "--mem-dir",
            "/",
            "-C",
            "cache=n",
            "--ask",
            &guest,
        ])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "EEEEEE");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("wasi-warden: denied: module wants to write and create /x (no terminal"),
        "{err}"
    );
}

/// The `--ask` dialogue through a pseudo-terminal: y, a, (remembered), n, N, (remembered).
#[cfg(unix)] // a pseudo-terminal
#[test]
fn ask_on_a_terminal_answers_y_a_n_never() {
    use rustix::pty::{OpenptFlags, grantpt, openpt, ptsname, unlockpt};
    let dir = tempfile::tempdir().unwrap();
    let guest = write_file(dir.path(), "g.wat", OPENS);
    let master = openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY).unwrap();
    grantpt(&master).unwrap();
    unlockpt(&master).unwrap();
    let name = ptsname(&master, Vec::new()).unwrap();
    let slave = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(name.to_str().unwrap())
        .unwrap();
    // setsid -c: a new session whose controlling terminal is stdin, the pty.
    let child = Command::new("setsid")
        .args([
            "-w",
            "-c",
            bin(),
            "run",
            "--mem-dir",
            "/",
            "-C",
            "cache=n",
            "--ask",
        ])
        .arg(&guest)
        .stdin(slave)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut master = std::fs::File::from(master);
    let seen = Arc::new(Mutex::new(String::new()));
    let reader = {
        let seen = Arc::clone(&seen);
        let mut master = master.try_clone().unwrap();
        std::thread::spawn(move || {
            let mut buf = [0u8; 1024];
            // Ends with EIO once the child (the last holder of the slave) is gone.
            while let Ok(n @ 1..) = master.read(&mut buf) {
                seen.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        })
    };
    let question = "[y]es once, [a]lways, [n]o, [N]ever? ";
    for (i, answer) in ["y", "a", "n", "N"].iter().enumerate() {
        let deadline = Instant::now() + Duration::from_secs(60);
        while seen.lock().unwrap().matches(question).count() <= i {
            assert!(
                Instant::now() < deadline,
                "no prompt {i}: {:?}",
                seen.lock().unwrap()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        master.write_all(format!("{answer}\n").as_bytes()).unwrap();
    }
    let out = child.wait_with_output().unwrap();
    drop(master);
    let _ = reader.join();
    let shown = seen.lock().unwrap().clone();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "OOOEEE", "{shown}");
    assert_eq!(shown.matches(question).count(), 4, "{shown}");
    assert!(
        shown.contains(&format!(
            "wasi-warden: module wants to write and create /x \u{2014} {question}"
        )),
        "{shown}"
    );
    assert!(
        shown.contains("module wants to write and create /y"),
        "{shown}"
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Opens one path whose name holds an OSC title sequence (ESC ... BEL), U+202E and a tag
/// character, printing `O` or `E`.
const EVIL_OPEN: &str = r#"(module
  (import "wasi_snapshot_preview1" "path_open"
    (func $open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 100) "e\1b]0;pwned\07\e2\80\ae\f3\a0\81\81")
  (func (export "_start")
    (i32.store8 (i32.const 200)
      (select (i32.const 79) (i32.const 69)
        (i32.eqz (call $open (i32.const 3) (i32.const 0) (i32.const 100) (i32.const 18)
          (i32.const 1) (i64.const 64) (i64.const 0) (i32.const 0) (i32.const 300)))))
    (i32.store (i32.const 0) (i32.const 200))
    (i32.store (i32.const 4) (i32.const 1))
    (drop (call $write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))"#;

/// The `--ask` question on a terminal shows a guest path escaped: the terminal sees no raw
/// control character (but the `\r\n` line ends the terminal itself adds) and no invisible one.
#[cfg(unix)] // a pseudo-terminal
#[test]
fn ask_on_a_terminal_escapes_guest_paths() {
    use rustix::pty::{OpenptFlags, grantpt, openpt, ptsname, unlockpt};
    let dir = tempfile::tempdir().unwrap();
    let guest = write_file(dir.path(), "evil.wat", EVIL_OPEN);
    let master = openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY).unwrap();
    grantpt(&master).unwrap();
    unlockpt(&master).unwrap();
    let name = ptsname(&master, Vec::new()).unwrap();
    let slave = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(name.to_str().unwrap())
        .unwrap();
    let child = Command::new("setsid")
        .args([
            "-w",
            "-c",
            bin(),
            "run",
            "--mem-dir",
            "/",
            "-C",
            "cache=n",
            "--ask",
        ])
        .arg(&guest)
        .stdin(slave)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut master = std::fs::File::from(master);
    let seen = Arc::new(Mutex::new(Vec::new()));
    let reader = {
        let seen = Arc::clone(&seen);
        let mut master = master.try_clone().unwrap();
        std::thread::spawn(move || {
            let mut buf = [0u8; 1024];
            while let Ok(n @ 1..) = master.read(&mut buf) {
                seen.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        })
    };
    let question = "[y]es once, [a]lways, [n]o, [N]ever? ";
    let deadline = Instant::now() + Duration::from_secs(60);
    while !String::from_utf8_lossy(&seen.lock().unwrap()).contains(question) {
        assert!(
            Instant::now() < deadline,
            "no prompt: {:?}",
            seen.lock().unwrap()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    master.write_all(b"n\n").unwrap();
    let out = child.wait_with_output().unwrap();
    drop(master);
    let _ = reader.join();
    let shown = seen.lock().unwrap().clone();
    let text = String::from_utf8(shown.clone()).unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "E", "{text:?}");
    assert!(
        text.contains(&format!(
            "wasi-warden: module wants to write and create \
             \"/e\\x1b]0;pwned\\x07\\u{{202e}}\\u{{e0041}}\" \u{2014} {question}"
        )),
        "{text:?}"
    );
    for (i, &b) in shown.iter().enumerate() {
        let line_end = (b == b'\r' && shown.get(i + 1) == Some(&b'\n')) || b == b'\n';
        assert!(
            line_end || (b >= 0x20 && b != 0x7f),
            "raw {b:#04x} in {text:?}"
        );
    }
    assert!(
        !text.chars().any(|c| matches!(c, '\u{202e}' | '\u{e0041}')),
        "{text:?}"
    );
    assert_clean_bytes(&out.stderr);
}

/// No control byte but `\n`, no DEL.
fn assert_clean_bytes(bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    assert!(
        bytes
            .iter()
            .all(|&b| b == b'\n' || (b >= 0x20 && b != 0x7f)),
        "{text:?}"
    );
}

/// Accepts one connection on fd 4 and echoes it until end-of-stream.
const ECHO: &str = r#"(module
  (import "wasi_snapshot_preview1" "sock_accept" (func $accept (param i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "sock_recv"
    (func $recv (param i32 i32 i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "sock_send" (func $send (param i32 i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "sock_shutdown" (func $shutdown (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (func (export "_start") (local $fd i32) (local $e i32)
    (local.set $e (call $accept (i32.const 4) (i32.const 0) (i32.const 0)))
    (if (local.get $e) (then (call $exit (local.get $e))))
    (local.set $fd (i32.load (i32.const 0)))
    (i32.store (i32.const 16) (i32.const 1024))
    (i32.store (i32.const 20) (i32.const 1024))
    (block $eof (loop $l
      (local.set $e (call $recv (local.get $fd) (i32.const 16) (i32.const 1) (i32.const 0)
        (i32.const 32) (i32.const 36)))
      (if (local.get $e) (then (call $exit (local.get $e))))
      (br_if $eof (i32.eqz (i32.load (i32.const 32))))
      (i32.store (i32.const 48) (i32.const 1024))
      (i32.store (i32.const 52) (i32.load (i32.const 32)))
      (local.set $e (call $send (local.get $fd) (i32.const 48) (i32.const 1) (i32.const 0)
        (i32.const 40)))
      (if (local.get $e) (then (call $exit (local.get $e))))
      (br $l)))
    (drop (call $shutdown (local.get $fd) (i32.const 2)))
    (call $exit (i32.const 0))))"#;

#[test]
fn tcplisten_serves_a_guest_echo_server() {
    let dir = tempfile::tempdir().unwrap();
    let guest = write_file(dir.path(), "echo.wat", ECHO);
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    let child = Command::new(bin())
        .args([
            "run",
            "--mem-dir",
            "/",
            "-C",
            "cache=n",
            "--tcplisten",
            &addr,
            &guest,
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut client = loop {
        match TcpStream::connect(&addr) {
            Ok(client) => break client,
            Err(e) if Instant::now() < deadline => {
                let _ = e;
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(e) => panic!("the guest never listened: {e}"),
        }
    };
    client.write_all(b"hello, echo").unwrap();
    client.shutdown(std::net::Shutdown::Write).unwrap();
    let mut back = String::new();
    client.read_to_string(&mut back).unwrap();
    assert_eq!(back, "hello, echo");
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
