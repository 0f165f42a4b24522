//! Limits stop, they don't crash: WAT guests flood their output streams, fill a quota'd
//! filesystem, sleep forever, spin, and grow memory; each is stopped (or refused) at its limit
//! with the right error, and what it produced up to the limit is intact.

#[path = "limits/waits.rs"]
mod waits;

use std::time::{Duration, Instant};
use wasi_warden::limits::{FsLimits, TimeLimitExceeded};
use wasi_warden::stdio::LimitAction;
use wasi_warden::wasmtime::{Config, Engine, Module};
use wasi_warden::{
    Input, LimitStop, MemFs, Outcome, Output, RunLimits, WasiCtx, WasiCtxBuilder, run_command_with,
};

// Terabyte sparse files: Unix only (NTFS files are not sparse unless marked).
#[cfg(unix)]
#[path = "limits/overlay.rs"]
mod overlay;

/// The imports every guest here may use, then `body` (which defines `_start` and data).
fn wat(body: &str) -> String {
    format!(
        r#"(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_renumber" (func $fd_renumber (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_open" (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "poll_oneoff" (func $poll_oneoff (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (import "wasi_snapshot_preview1" "sock_accept" (func $sock_accept (param i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "sock_recv" (func $sock_recv (param i32 i32 i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "sock_send" (func $sock_send (param i32 i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 20)
  {body})"#
    )
}

fn run(source: &str, builder: WasiCtxBuilder, limits: RunLimits) -> (Outcome, WasiCtx) {
    run_built(source, builder.build(), limits)
}

fn run_built(source: &str, ctx: WasiCtx, limits: RunLimits) -> (Outcome, WasiCtx) {
    let mut config = Config::new();
    limits.configure(&mut config);
    let engine = Engine::new(&config).unwrap();
    let module = Module::new(&engine, wat(source)).unwrap();
    run_command_with(&engine, &module, ctx, &limits).unwrap()
}

fn output_stop(outcome: &Outcome) -> (String, u64) {
    match outcome.limit() {
        Some(LimitStop::Output(e)) => (e.stream, e.limit),
        other => panic!("expected an output limit stop, got {other:?} from {outcome:?}"),
    }
}

/// Writes one byte of "abcdefghij" per call, a million times, to fd 1.
const ONE_BYTE_FLOOD: &str = r#"
  (data (i32.const 100) "abcdefghij")
  (func (export "_start") (local $i i32)
    (loop $again
      (i32.store (i32.const 0) (i32.add (i32.const 100) (i32.rem_u (local.get $i) (i32.const 10))))
      (i32.store (i32.const 4) (i32.const 1))
      (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $again (i32.lt_u (local.get $i) (i32.const 1000000)))))
"#;

#[test]
fn a_million_one_byte_writes_stop_at_the_limit_with_the_prefix_intact() {
    let out = Output::capture().limit(1000).build();
    let builder = WasiCtx::builder().stdout(out.clone());
    let (outcome, _) = run(ONE_BYTE_FLOOD, builder, RunLimits::default());
    assert_eq!(output_stop(&outcome), ("stdout".to_string(), 1000));
    let Outcome::Trapped(error) = &outcome else {
        unreachable!()
    };
    let message = format!("{error:#}");
    assert!(
        message.contains("stdout") && message.contains("1000"),
        "{message}"
    );
    let expected: Vec<u8> = b"abcdefghij".iter().copied().cycle().take(1000).collect();
    assert_eq!(out.contents(), expected);
    assert_eq!(out.written(), 1000);
}

#[test]
fn one_huge_write_delivers_what_fits_then_stops() {
    // One iovec of 1 MiB (memory filled with a pattern) against a 4 KiB budget.
    let source = r#"
  (func (export "_start") (local $i i32)
    (loop $fill
      (i32.store8 (i32.add (i32.const 1024) (local.get $i)) (i32.add (i32.const 65) (i32.rem_u (local.get $i) (i32.const 26))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $fill (i32.lt_u (local.get $i) (i32.const 1048576))))
    (i32.store (i32.const 0) (i32.const 1024))
    (i32.store (i32.const 4) (i32.const 1048576))
    (drop (call $fd_write (i32.const 2) (i32.const 0) (i32.const 1) (i32.const 8))))
"#;
    let err = Output::capture().limit(4096).build();
    let (outcome, _) = run(
        source,
        WasiCtx::builder().stderr(err.clone()),
        RunLimits::default(),
    );
    assert_eq!(output_stop(&outcome), ("stderr".to_string(), 4096));
    let expected: Vec<u8> = (0..4096u32).map(|i| 65 + (i % 26) as u8).collect();
    assert_eq!(err.contents(), expected);
}

#[test]
fn aliased_iovecs_asking_for_gigabytes_are_charged_without_buffering() {
    // 1024 iovecs, all pointing at the same 640 KiB: 640 MiB asked from 640 KiB of memory
    // (and the array says 5000 entries, 3 GiB; only IOV_MAX are used).
    let source = r#"
  (func (export "_start") (local $i i32)
    (loop $fill
      (i32.store (i32.add (i32.const 0) (i32.mul (local.get $i) (i32.const 8))) (i32.const 65536))
      (i32.store (i32.add (i32.const 4) (i32.mul (local.get $i) (i32.const 8))) (i32.const 655360))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $fill (i32.lt_u (local.get $i) (i32.const 5000))))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 5000) (i32.const 60000))))
"#;
    let out = Output::capture().limit(1 << 20).build();
    let (outcome, _) = run(
        source,
        WasiCtx::builder().stdout(out.clone()),
        RunLimits::default(),
    );
    assert_eq!(output_stop(&outcome), ("stdout".to_string(), 1 << 20));
    assert_eq!(out.contents().len(), 1 << 20);
    assert!(out.contents().iter().all(|b| *b == 0));
}

#[test]
fn the_limit_follows_stdout_through_fd_renumber() {
    let source = r#"
  (data (i32.const 100) "0123456789")
  (func (export "_start") (local $i i32)
    ;; stdout's stream moves to fd 2 (stderr is closed by it); fd 1 is gone: EBADF (8).
    (drop (call $fd_renumber (i32.const 1) (i32.const 2)))
    (i32.store (i32.const 0) (i32.const 100))
    (i32.store (i32.const 4) (i32.const 10))
    (if (i32.ne (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)) (i32.const 8))
      (then (call $proc_exit (i32.const 99))))
    (loop $again
      (drop (call $fd_write (i32.const 2) (i32.const 0) (i32.const 1) (i32.const 8)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $again (i32.lt_u (local.get $i) (i32.const 100)))))
"#;
    let out = Output::capture().limit(25).build();
    let (outcome, _) = run(
        source,
        WasiCtx::builder().stdout(out.clone()),
        RunLimits::default(),
    );
    assert_eq!(output_stop(&outcome), ("stdout".to_string(), 25));
    assert_eq!(out.contents(), b"0123456789012345678901234");
}

/// Writes "0123456789" once to fd 2, then a hundred times to fd 1.
const STDERR_THEN_STDOUT: &str = r#"
  (data (i32.const 100) "0123456789")
  (func (export "_start") (local $i i32)
    (i32.store (i32.const 0) (i32.const 100))
    (i32.store (i32.const 4) (i32.const 10))
    (drop (call $fd_write (i32.const 2) (i32.const 0) (i32.const 1) (i32.const 8)))
    (loop $again
      (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $again (i32.lt_u (local.get $i) (i32.const 100)))))
"#;

#[test]
fn one_stream_as_stdout_and_stderr_has_one_budget_and_names_the_descriptor_that_crossed_it() {
    // As `2>&1`: the clones share the bytes and the budget set in the builder. Placing the
    // stream as stderr (after stdout) used to rename it "stderr" for both descriptors.
    let out = Output::capture().limit(25).build();
    let builder = WasiCtx::builder().stdout(out.clone()).stderr(out.clone());
    let (outcome, ctx) = run(STDERR_THEN_STDOUT, builder, RunLimits::default());
    assert_eq!(output_stop(&outcome), ("stdout".to_string(), 25));
    assert_eq!(out.contents(), b"0123456789012345678901234");
    for handle in [&out, ctx.stdout(), ctx.stderr()] {
        assert_eq!((handle.byte_limit(), handle.written()), (Some(25), 25));
    }
}

#[test]
fn reusing_a_stream_in_a_later_context_does_not_rename_it_in_the_first() {
    let out = Output::capture().limit(25).build();
    let first = WasiCtx::builder().stdout(out.clone()).build();
    // The same stream, placed as stderr of another context after the first was built (this
    // used to rename it for both).
    let _second = WasiCtx::builder().stderr(out.clone()).build();
    let (outcome, _) = run_built(STDERR_THEN_STDOUT, first, RunLimits::default());
    assert_eq!(output_stop(&outcome), ("stdout".to_string(), 25));
    assert_eq!(out.contents(), b"0123456789012345678901234");
}

#[test]
fn truncate_action_gives_a_short_write_then_efbig() {
    // Writes 10 bytes twice; exits with the second call's errno (or 0 if it succeeded).
    let source = r#"
  (data (i32.const 100) "0123456789")
  (func (export "_start")
    (i32.store (i32.const 0) (i32.const 100))
    (i32.store (i32.const 4) (i32.const 10))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
    (if (i32.ne (i32.load (i32.const 8)) (i32.const 6)) (then (call $proc_exit (i32.const 98))))
    (call $proc_exit (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8))))
"#;
    let out = Output::capture()
        .limit(6)
        .on_limit(LimitAction::Truncate)
        .build();
    let (outcome, _) = run(
        source,
        WasiCtx::builder().stdout(out.clone()),
        RunLimits::default(),
    );
    // 22 = EFBIG.
    assert_eq!(outcome.exit_code(), 22, "{outcome:?}");
    assert_eq!(out.contents(), b"012345");
}

/// Creates /f and appends 4 KiB chunks until a write fails; exits with that errno.
const FILL_FILE: &str = r#"
  (data (i32.const 200) "f")
  (func (export "_start") (local $err i32)
    ;; path_open(3, 0, "f", 1, CREAT, rights, rights, 0, &fd @ 300)
    (local.set $err (call $path_open (i32.const 3) (i32.const 0) (i32.const 200) (i32.const 1)
      (i32.const 1) (i64.const 0x1fffffff) (i64.const 0x1fffffff) (i32.const 0) (i32.const 300)))
    (if (local.get $err) (then (call $proc_exit (i32.add (i32.const 100) (local.get $err)))))
    (i32.store (i32.const 0) (i32.const 4096))
    (i32.store (i32.const 4) (i32.const 4096))
    (loop $again
      (local.set $err (call $fd_write (i32.load (i32.const 300)) (i32.const 0) (i32.const 1) (i32.const 8)))
      (br_if $again (i32.eqz (local.get $err))))
    (call $proc_exit (local.get $err)))
"#;

#[test]
fn a_full_quota_is_enospc_and_the_tree_stays_consistent() {
    let fs = MemFs::builder().quota(100_000).build();
    let builder = WasiCtx::builder().mount("/", fs.clone());
    let (outcome, _) = run(FILL_FILE, builder, RunLimits::default());
    // 51 = ENOSPC.
    assert_eq!(outcome.exit_code(), 51, "{outcome:?}");
    let usage = fs.usage();
    assert!(usage.bytes <= 100_000, "{usage:?}");
    let snapshot = fs.snapshot();
    let [(name, wasi_warden::vfs::TreeEntry::File(bytes))] = &snapshot[..] else {
        panic!("{snapshot:?}");
    };
    assert_eq!(name, "f");
    // Whole chunks only: the refused write stored nothing.
    assert_eq!(bytes.len() % 4096, 0);
    assert_eq!(bytes.len() as u64, usage.bytes);
}

#[test]
fn file_size_and_inode_budgets_reach_the_guest_as_efbig_and_edquot() {
    let limits = FsLimits::default().max_file_size(10_000);
    let fs = MemFs::with_limits(limits);
    let (outcome, _) = run(
        FILL_FILE,
        WasiCtx::builder().mount("/", fs),
        RunLimits::default(),
    );
    assert_eq!(outcome.exit_code(), 22, "{outcome:?}"); // EFBIG
    let limits = FsLimits::default().inodes(Some(1));
    let fs = MemFs::with_limits(limits);
    let (outcome, _) = run(
        FILL_FILE,
        WasiCtx::builder().mount("/", fs),
        RunLimits::default(),
    );
    assert_eq!(outcome.exit_code(), 100 + 19, "{outcome:?}"); // EDQUOT from path_open
}

/// Sleeps for u64::MAX ns on the monotonic clock (relative), then exits 0.
const SLEEP_FOREVER: &str = r#"
  (func (export "_start")
    (i64.store (i32.const 0) (i64.const 7))
    (i32.store8 (i32.const 8) (i32.const 0))
    (i32.store (i32.const 16) (i32.const 1))
    (i64.store (i32.const 24) (i64.const -1))
    (drop (call $poll_oneoff (i32.const 0) (i32.const 64) (i32.const 1) (i32.const 128))))
"#;

fn assert_timed_out(outcome: &Outcome, started: Instant) {
    assert!(
        matches!(outcome.limit(), Some(LimitStop::Time(_))),
        "{outcome:?}"
    );
    let elapsed = started.elapsed();
    assert!(elapsed >= Duration::from_millis(200), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(10), "{elapsed:?}");
}

fn timeout(ms: u64) -> RunLimits {
    RunLimits {
        timeout: Some(Duration::from_millis(ms)),
        ..RunLimits::default()
    }
}

#[test]
fn a_guest_sleeping_u64_max_is_stopped_by_the_timeout() {
    let started = Instant::now();
    let builder = WasiCtx::builder().system_clocks();
    let (outcome, _) = run(SLEEP_FOREVER, builder, timeout(200));
    assert_timed_out(&outcome, started);
}

#[test]
fn a_guest_blocked_on_stdin_is_stopped_by_the_timeout() {
    let source = r#"
  (func (export "_start")
    (i32.store (i32.const 0) (i32.const 100))
    (i32.store (i32.const 4) (i32.const 10))
    (drop (call $fd_read (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 8))))
"#;
    let (input, writer) = Input::pipe();
    let started = Instant::now();
    let (outcome, _) = run(source, WasiCtx::builder().stdin(input), timeout(200));
    assert_timed_out(&outcome, started);
    drop(writer);
}

#[test]
fn a_spinning_guest_is_interrupted_at_the_timeout() {
    let source = r#"(func (export "_start") (loop $spin (br $spin)))"#;
    let started = Instant::now();
    let (outcome, _) = run(source, WasiCtx::builder(), timeout(200));
    assert_timed_out(&outcome, started);
    let Outcome::Trapped(error) = &outcome else {
        unreachable!()
    };
    let stop = error.downcast_ref::<TimeLimitExceeded>().unwrap();
    assert_eq!(stop.limit, Some(Duration::from_millis(200)));
}

#[test]
fn fuel_runs_out() {
    let source = r#"(func (export "_start") (loop $spin (br $spin)))"#;
    let limits = RunLimits {
        fuel: Some(100_000),
        ..RunLimits::default()
    };
    let (outcome, _) = run(source, WasiCtx::builder(), limits);
    match outcome.limit() {
        Some(LimitStop::Fuel(f)) => assert_eq!(f.fuel, 100_000),
        other => panic!("{other:?}"),
    }
}

#[test]
fn memory_growth_past_the_limit_stops_the_guest() {
    // 20 pages (1.25 MiB) to start; growing by 100 more pages passes a 4 MiB limit.
    let source = r#"(func (export "_start") (drop (memory.grow (i32.const 100))))"#;
    let limits = RunLimits {
        max_memory: Some(4 << 20),
        ..RunLimits::default()
    };
    let (outcome, _) = run(source, WasiCtx::builder(), limits);
    match outcome.limit() {
        Some(LimitStop::Memory(m)) => {
            assert_eq!(m.limit, 4 << 20);
            assert_eq!(m.desired, 120 * 65536);
        }
        other => panic!("{other:?}"),
    }
    // A memory that is too large from the start stops the run at instantiation.
    let limits = RunLimits {
        max_memory: Some(1 << 20),
        ..RunLimits::default()
    };
    let (outcome, _) = run(r#"(func (export "_start"))"#, WasiCtx::builder(), limits);
    assert!(
        matches!(outcome.limit(), Some(LimitStop::Memory(_))),
        "{outcome:?}"
    );
}

/// Tables share the one budget with the memories: several tables, each within the limit on
/// its own, cannot together make the host hold more than it.
#[test]
fn tables_and_memories_share_one_budget() {
    // 20 pages of memory, then two tables of 2,000 pointer-sized elements (16,000 bytes each)
    // under a budget with room for 3,000 elements beside the memory.
    let source = r#"(table $a 0 funcref) (table $b 0 funcref)
        (func (export "_start")
          (drop (table.grow $a (ref.null func) (i32.const 2000)))
          (drop (table.grow $b (ref.null func) (i32.const 2000))))"#;
    let memory = 20 * 65536;
    let limits = RunLimits {
        max_memory: Some(memory + 3000 * 8),
        ..RunLimits::default()
    };
    let (outcome, _) = run(source, WasiCtx::builder(), limits);
    match outcome.limit() {
        Some(LimitStop::Memory(m)) => {
            assert!(m.table, "{m:?}");
            assert_eq!(m.limit, memory + 3000 * 8);
            assert_eq!(m.desired, memory + 4000 * 8);
        }
        other => panic!("{other:?} from {outcome:?}"),
    }
}

#[test]
fn overlay_copy_up_is_charged_to_the_upper_quota() {
    use wasi_warden::vfs::{FsError, HostDir, OpenOptions, Overlay};
    let lower = tempfile::tempdir().unwrap();
    std::fs::write(lower.path().join("big"), vec![1u8; 100_000]).unwrap();
    std::fs::write(lower.path().join("small"), b"tiny").unwrap();
    // A read-write host directory: the overlay alone keeps it from being written.
    let host = std::sync::Arc::new(HostDir::open(lower.path()).unwrap());
    let overlay = Overlay::with_upper(host, MemFs::builder().quota(10_000));
    let upper = overlay.upper();
    let root = overlay.root();
    let write = OpenOptions {
        write: true,
        ..OpenOptions::default()
    };
    // Writing to the big lower file needs a 100 KB copy-up: refused, nothing left behind.
    assert_eq!(root.open_file("big", write).err(), Some(FsError::NoSpace));
    assert_eq!(upper.usage().bytes, 0);
    assert!(upper.snapshot().is_empty(), "{:?}", upper.snapshot());
    // A small one fits, and is charged.
    root.open_file("small", write).unwrap();
    assert_eq!(upper.usage().bytes, 4);
    // The lower tree was never touched.
    assert_eq!(
        std::fs::read(lower.path().join("big")).unwrap().len(),
        100_000
    );
}

// ---- The CLI ------------------------------------------------------------------------------

/// Runs `wasi-warden run FLAGS guest.wat` on `source`; returns (status, stdout, stderr).
fn cli(flags: &[&str], source: &str) -> (i32, Vec<u8>, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("guest.wat");
    std::fs::write(&path, wat(source)).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_wasi-warden"))
        .arg("run")
        .args(["--mem-dir", "/", "-C", "cache=n"])
        .args(flags)
        .arg(&path)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    (out.status.code().unwrap_or(-1), out.stdout, stderr)
}

#[test]
fn cli_timeout_fuel_and_memory_have_their_own_status_and_one_line() {
    let spin = r#"(func (export "_start") (loop $spin (br $spin)))"#;
    let grow = r#"(func (export "_start") (drop (memory.grow (i32.const 100))))"#;
    let cases: [(&[&str], &str, i32, &str); 4] = [
        (
            &["--timeout", "300ms"],
            SLEEP_FOREVER,
            124,
            "--timeout of 300ms",
        ),
        (&["--timeout", "300ms"], spin, 124, "--timeout"),
        (&["--fuel", "50000"], spin, 125, "--fuel of 50000"),
        (
            &["--max-memory", "4MiB"],
            grow,
            123,
            "--max-memory of 4194304 bytes",
        ),
    ];
    for (flags, source, status, hint) in cases {
        let (code, _, stderr) = cli(flags, source);
        assert_eq!(code, status, "{flags:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(stderr.contains(hint), "{flags:?}: {stderr}");
    }
}

#[test]
fn cli_fs_quota_reaches_the_guest_as_enospc() {
    let (code, _, stderr) = cli(&["--fs-quota", "64KiB"], FILL_FILE);
    assert_eq!(code, 51, "{stderr}");
}

/// Once the guest may have run, the context comes back however the run ended, even when the
/// embedder's own `call` fails after the guest's code ran; a module without `_start` is
/// refused before anything runs.
#[test]
fn the_context_comes_back_after_a_host_error_in_call() {
    use wasi_warden::wasmtime::{Instance, Store};
    let engine = Engine::default();
    let module = Module::new(&engine, wat(r#"(func (export "_start"))"#)).unwrap();
    let fs = MemFs::new();
    let ctx = WasiCtx::builder().mount("/", fs.clone()).build();
    let call = |store: &mut Store<wasi_warden::CommandState>, instance: Instance| {
        let start = instance.get_typed_func::<(), ()>(&mut *store, "_start")?;
        start.call(&mut *store, ())?;
        wasi_warden::wasmtime::bail!("the host gave up after the guest ran")
    };
    let no_imports = |_: &mut _, _: &mut _| Ok(());
    let (outcome, ctx) = wasi_warden::run_module_with(
        &engine,
        &module,
        ctx,
        &RunLimits::default(),
        no_imports,
        call,
    )
    .unwrap();
    match outcome {
        Outcome::Trapped(e) => assert!(e.to_string().contains("gave up"), "{e}"),
        other => panic!("{other:?}"),
    }
    drop(ctx);
    let reactor = Module::new(&engine, wat(r#"(func (export "_initialize"))"#)).unwrap();
    let error = run_command_with(
        &engine,
        &reactor,
        WasiCtx::builder().build(),
        &RunLimits::default(),
    )
    .unwrap_err();
    assert!(error.to_string().contains("_start"), "{error}");
}
