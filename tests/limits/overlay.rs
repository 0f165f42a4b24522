//! Overlay copy-ups under `--timeout`, through the real binary: a guest that opens a huge
//! sparse host file for writing (a copy-up) must still stop at its deadline with status 124,
//! however large the file. Included from `tests/limits.rs`.

use std::io::Read;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const TIB: u64 = 1 << 40;

/// Opens `huge` in the mount at fd 3 with FD_READ|FD_WRITE (the overlay copies it up), writes
/// "opened" to stdout, then spins: only the time limit can end it. A failed open is the exit
/// status.
const OPEN_THEN_SPIN: &str = r#"(module
  (import "wasi_snapshot_preview1" "path_open"
    (func $open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 100) "huge")
  (data (i32.const 120) "opened\n")
  (func (export "_start") (local $err i32)
    (local.set $err (call $open (i32.const 3) (i32.const 0) (i32.const 100) (i32.const 4)
      (i32.const 0) (i64.const 0x42) (i64.const 0) (i32.const 0) (i32.const 200)))
    (if (local.get $err) (then (call $exit (local.get $err))))
    (i32.store (i32.const 300) (i32.const 120))
    (i32.store (i32.const 304) (i32.const 7))
    (drop (call $write (i32.const 1) (i32.const 300) (i32.const 1) (i32.const 308)))
    (loop $spin (br $spin))))"#;

#[test]
fn opening_a_huge_sparse_overlay_file_for_writing_stops_at_the_timeout() {
    let work = tempfile::tempdir().unwrap();
    let host = work.path().join("host");
    std::fs::create_dir(&host).unwrap();
    // 1 TiB that costs the host 1 MiB: a copy-up that reads it whole never ends in time.
    let file = std::fs::File::create(host.join("huge")).unwrap();
    file.set_len(TIB).unwrap();
    file.write_all_at(&vec![7u8; 1 << 20], TIB / 2).unwrap();
    drop(file);
    let blocks = std::fs::metadata(host.join("huge")).unwrap().blocks();
    let wat = work.path().join("open_then_spin.wat");
    std::fs::write(&wat, OPEN_THEN_SPIN).unwrap();
    let mount = format!("{}::/data", host.display());

    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_wasi-warden"))
        .args([
            "run",
            "-C",
            "cache=n",
            "--overlay",
            &mount,
            "--timeout",
            "1s",
        ])
        .arg(&wat)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The limit counts from `_start`, so the real deadline is a little later than this one
    // (process start and compilation): `late` is an upper bound.
    let deadline = started + Duration::from_secs(1);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("wasi-warden still ran 59 s after its deadline");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let late = Instant::now().saturating_duration_since(deadline);
    let (mut out, mut err) = (String::new(), String::new());
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    eprintln!(
        "exit {:?} {:.3} s after the deadline",
        status.code(),
        late.as_secs_f64()
    );
    assert_eq!(status.code(), Some(124), "{err}");
    // The copy-up itself was quick (it copied 1 MiB), so the guest got to spin.
    assert_eq!(out, "opened\n", "{err}");
    assert!(late < Duration::from_secs(5), "{late:?}");
    let meta = std::fs::metadata(host.join("huge")).unwrap();
    assert_eq!((meta.len(), meta.blocks()), (TIB, blocks));
}
