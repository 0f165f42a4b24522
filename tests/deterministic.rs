//! Deterministic mode: two runs of the same guest give byte-identical output and trees (saved
//! images included), virtual time advances by a step per read and by the requested amount on
//! sleeps without really sleeping, and randomness follows the seed.

use std::time::{Duration, Instant};
use wasi_warden::clock::VirtualClock;
use wasi_warden::wasmtime::{Engine, Module};
use wasi_warden::{MemFs, Output, WasiCtx, run_command};

/// Prints (raw, to stdout): realtime, monotonic, 16 random bytes, monotonic after a 1 s sleep
/// (and a 1 h one), then creates /f with "data", stats it and prints the filestat.
const GUEST: &str = r#"(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "clock_time_get" (func $clock (param i32 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "random_get" (func $random (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "poll_oneoff" (func $poll (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_open" (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_filestat_get" (func $fstat (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 900) "f")
  (data (i32.const 910) "data")
  (func $sleep (param $ns i64)
    (i64.store (i32.const 2000) (i64.const 1))
    (i32.store8 (i32.const 2008) (i32.const 0))
    (i32.store (i32.const 2016) (i32.const 1))
    (i64.store (i32.const 2024) (local.get $ns))
    (i32.store16 (i32.const 2040) (i32.const 0))
    (drop (call $poll (i32.const 2000) (i32.const 2112) (i32.const 1) (i32.const 2200))))
  (func (export "_start")
    (drop (call $clock (i32.const 0) (i64.const 0) (i32.const 1000)))
    (drop (call $clock (i32.const 1) (i64.const 0) (i32.const 1008)))
    (drop (call $random (i32.const 1016) (i32.const 16)))
    (call $sleep (i64.const 1000000000))
    (drop (call $clock (i32.const 1) (i64.const 0) (i32.const 1032)))
    (call $sleep (i64.const 3600000000000))
    (drop (call $clock (i32.const 1) (i64.const 0) (i32.const 1040)))
    (drop (call $path_open (i32.const 3) (i32.const 0) (i32.const 900) (i32.const 1)
      (i32.const 1) (i64.const 0x1fffffff) (i64.const 0x1fffffff) (i32.const 0) (i32.const 1100)))
    (i32.store (i32.const 0) (i32.const 910))
    (i32.store (i32.const 4) (i32.const 4))
    (drop (call $fd_write (i32.load (i32.const 1100)) (i32.const 0) (i32.const 1) (i32.const 8)))
    (drop (call $fstat (i32.load (i32.const 1100)) (i32.const 1048)))
    (i32.store (i32.const 0) (i32.const 1000))
    (i32.store (i32.const 4) (i32.const 112))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))"#;

struct Run {
    stdout: Vec<u8>,
    image: Vec<u8>,
    elapsed: Duration,
}

fn run(seed: u64) -> Run {
    let engine = Engine::default();
    let module = Module::new(&engine, GUEST).unwrap();
    let out = Output::capture().build();
    let fs = MemFs::new();
    let ctx = WasiCtx::builder()
        .stdout(out.clone())
        .mount("/", fs.clone())
        .deterministic(seed)
        .build();
    let started = Instant::now();
    let (outcome, _) = run_command(&engine, &module, ctx).unwrap();
    let elapsed = started.elapsed();
    assert_eq!(outcome.exit_code(), 0, "{outcome:?}");
    let mut image = Vec::new();
    fs.save_tar(&mut image).unwrap();
    Run {
        stdout: out.contents(),
        image,
        elapsed,
    }
}

fn u64_at(bytes: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap())
}

#[test]
fn two_runs_are_byte_identical() {
    let (a, b) = (run(42), run(42));
    assert_eq!(a.stdout.len(), 112);
    assert_eq!(a.stdout, b.stdout);
    assert_eq!(a.image, b.image);
    // Another seed changes the random bytes and nothing else.
    let c = run(43);
    assert_ne!(a.stdout[16..32], c.stdout[16..32]);
    assert_eq!(a.stdout[..16], c.stdout[..16]);
    assert_eq!(a.stdout[32..], c.stdout[32..]);
    assert_eq!(a.image, c.image);
}

#[test]
fn virtual_time_steps_per_read_and_jumps_over_sleeps() {
    let r = run(1);
    let out = &r.stdout;
    let (real, mono) = (u64_at(out, 0), u64_at(out, 8));
    // Realtime is the epoch plus the elapsed virtual time (a few steps: the root's stamp);
    // the next read is one step later.
    let since_epoch = real - VirtualClock::DEFAULT_EPOCH;
    assert!(
        since_epoch < 10 * VirtualClock::DEFAULT_STEP,
        "{since_epoch}"
    );
    assert_eq!(mono, since_epoch + VirtualClock::DEFAULT_STEP);
    let after_sleep = u64_at(out, 32);
    assert!(after_sleep >= mono + 1_000_000_000, "{after_sleep}");
    assert!(after_sleep < mono + 1_000_100_000, "{after_sleep}");
    let after_hour = u64_at(out, 40);
    assert!(after_hour >= after_sleep + 3_600_000_000_000);
    // An hour and a second of sleeping took (much) less than a second.
    assert!(r.elapsed < Duration::from_secs(1), "{:?}", r.elapsed);
    // The file's times come from the same clock: after the sleeps, near the epoch.
    let stat = &out[48..112];
    let mtim = u64_at(stat, 48);
    assert!(mtim > VirtualClock::DEFAULT_EPOCH + after_hour, "{mtim}");
    assert!(
        mtim < VirtualClock::DEFAULT_EPOCH + after_hour + 1_000_000,
        "{mtim}"
    );
    assert_eq!(u64_at(stat, 32), 4); // size
}

#[test]
fn cli_deterministic_runs_are_byte_identical() {
    let dir = tempfile::tempdir().unwrap();
    let guest = dir.path().join("guest.wat");
    std::fs::write(&guest, GUEST).unwrap();
    let run = |seed: &str, image: &str| {
        let image = dir.path().join(image);
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_wasi-warden"))
            .arg("run")
            .args(["--mem-dir", "/", "-C", "cache=n"])
            .arg(format!("--deterministic={seed}"))
            .arg("--save-fs")
            .arg(&image)
            .arg(&guest)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{out:?}");
        (out.stdout, std::fs::read(image).unwrap())
    };
    let (a, b) = (run("9", "a.tar"), run("9", "b.tar"));
    assert_eq!(a.0.len(), 112);
    assert_eq!(a, b);
    assert_ne!(run("10", "c.tar").0, a.0);
}
