//! The async linker (feature `async`): every conformance guest gives the same output, exit and
//! tree as under the sync linker (itself checked against wasmtime-wasi by tests/conformance.rs);
//! waits suspend the guest instead of the thread (a prompt answered later by another task while
//! other guests go on, on one thread); the deadline ends a suspended wait; a dropped guest
//! leaves its filesystem, streams and context consistent.

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};
use support::{Scenario, engine, guest_names, module, seed_tree};
use tokio::sync::Mutex as AsyncMutex;
use wasi_warden::policy::Answer;
use wasi_warden::{
    AsyncChannelPrompter, Input, MemFs, Outcome, Output, PolicyHandle, PolicyTable, RunLimits,
    WasiCtx, run_command, run_command_async, run_command_async_with,
};
use wasmtime::{Linker, Module, Store};

/// The stdin tests/conformance.rs gives these guests (the others read none).
fn stdin_of(name: &str) -> Vec<u8> {
    match name {
        "poll_fd" => b"ready".to_vec(),
        "stdio_echo" => "hello stdin\nsecond line\n".repeat(300).into_bytes(),
        "stdio_errors" => b"xyz".to_vec(),
        _ => Vec::new(),
    }
}

struct Ran {
    stdout: Vec<u8>,
    stderr: Vec<u8>,
    ending: String,
    tree: Vec<(String, wasi_warden::vfs::TreeEntry)>,
}

/// One deterministic run of guest `name` on a memory copy of the seed tree, sync or async.
fn run_guest(name: &str, asynchronous: bool) -> Ran {
    let seed = seed_tree();
    let fs = MemFs::from_host_dir(seed.path()).unwrap();
    let stdout = Output::capture().build();
    let stderr = Output::capture().build();
    let scenario = Scenario::new(name);
    let ctx = WasiCtx::builder()
        .args(scenario.args.iter().cloned())
        .stdin(Input::bytes(stdin_of(name)))
        .stdout(stdout.clone())
        .stderr(stderr.clone())
        .mount("/", fs.clone())
        .deterministic(7)
        .build();
    let module = module(name);
    let (outcome, _) = if asynchronous {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(run_command_async(engine(), &module, ctx))
    } else {
        run_command(engine(), &module, ctx)
    }
    .unwrap();
    let ending = match &outcome {
        Outcome::Exited(code) => format!("exit {code}"),
        // The trap's kind, not its backtrace (which names the host frames of each linker).
        Outcome::Trapped(error) => match error.downcast_ref::<wasmtime::Trap>() {
            Some(trap) => format!("trap {trap:?}"),
            None => format!("error {}", error.root_cause()),
        },
    };
    let mut tree = fs.snapshot();
    tree.sort_by(|a, b| a.0.cmp(&b.0));
    Ran {
        stdout: stdout.contents(),
        stderr: stderr.contents(),
        ending,
        tree,
    }
}

#[test]
fn every_conformance_guest_runs_the_same_under_the_async_linker() {
    let names = guest_names();
    assert!(names.len() >= 40);
    let mut problems = Vec::new();
    for name in &names {
        let (sync, asynchronous) = (run_guest(name, false), run_guest(name, true));
        if sync.stdout != asynchronous.stdout {
            problems.push(format!("{name}: stdout differs"));
        }
        if sync.stderr != asynchronous.stderr {
            problems.push(format!("{name}: stderr differs"));
        }
        if sync.ending != asynchronous.ending {
            problems.push(format!(
                "{name}: sync {} vs async {}",
                sync.ending, asynchronous.ending
            ));
        }
        if sync.tree != asynchronous.tree {
            problems.push(format!("{name}: the final tree differs"));
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
}

/// A guest that sleeps `ms` milliseconds in poll_oneoff (`rounds` times), then writes "done".
fn sleeper(ms: u64, rounds: u32) -> Module {
    Module::new(
        engine(),
        format!(
            r#"(module
      (import "wasi_snapshot_preview1" "poll_oneoff" (func $poll (param i32 i32 i32 i32) (result i32)))
      (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
      (memory (export "memory") 1)
      (data (i32.const 300) "done\n")
      (func (export "_start") (local $i i32)
        ;; subscription at 0: userdata 0, tag clock (0), id monotonic (1), timeout, precision, flags 0
        (i32.store8 (i32.const 8) (i32.const 0))
        (i32.store (i32.const 16) (i32.const 1))
        (i64.store (i32.const 24) (i64.const {nanos}))
        (block $out (loop $again
          (br_if $out (i32.ge_u (local.get $i) (i32.const {rounds})))
          (drop (call $poll (i32.const 0) (i32.const 64) (i32.const 1) (i32.const 128)))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br $again)))
        (i32.store (i32.const 200) (i32.const 300)) (i32.store (i32.const 204) (i32.const 5))
        (drop (call $w (i32.const 1) (i32.const 200) (i32.const 1) (i32.const 208)))))"#,
            nanos = ms * 1_000_000,
        ),
    )
    .unwrap()
}

/// path_open (creating) "note.txt" under fd 3, then exits with the errno (0: opened).
fn opener() -> Module {
    Module::new(
        engine(),
        r#"(module
      (import "wasi_snapshot_preview1" "path_open" (func $open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
      (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
      (memory (export "memory") 1)
      (data (i32.const 64) "note.txt")
      (func (export "_start")
        (call $exit (call $open (i32.const 3) (i32.const 0) (i32.const 64) (i32.const 8)
           (i32.const 1) (i64.const 0x7e) (i64.const 0) (i32.const 0) (i32.const 8)))))"#,
    )
    .unwrap()
}

fn ask_before_path_open() -> PolicyTable {
    PolicyTable::from_toml("[[rule]]\nsyscalls = [\"path_open\"]\ndecision = \"ask\"\n").unwrap()
}

#[test]
fn a_guest_sleeps_as_long_as_it_asked() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let ctx = WasiCtx::builder().system_clocks().build();
    let start = Instant::now();
    let (outcome, _) = runtime
        .block_on(run_command_async(engine(), &sleeper(20, 5), ctx))
        .unwrap();
    assert_eq!(outcome.exit_code(), 0);
    let took = start.elapsed();
    assert!(took >= Duration::from_millis(100), "took {took:?}");
}

#[test]
fn a_prompt_answered_later_by_another_task_blocks_no_other_guest() {
    // One thread: if a waiting guest held it, nothing else could run until the answer.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let (prompter, mut prompts) = AsyncChannelPrompter::new(Duration::from_secs(30));
        let handle = PolicyHandle::new(ask_before_path_open());
        handle.set_async_prompter(prompter);
        let fs = MemFs::new();
        let asking = WasiCtx::builder()
            .mount("/", fs.clone())
            .policy_handle(handle)
            .build();
        let order = Arc::new(AsyncMutex::new(Vec::new()));
        let ui = {
            let order = order.clone();
            tokio::spawn(async move {
                let reply = prompts.recv().await.unwrap();
                assert!(reply.prompt().message().contains("/note.txt"));
                // The person thinks for a while; the other guests run meanwhile.
                tokio::time::sleep(Duration::from_millis(300)).await;
                order.lock().await.push("answered");
                reply.answer(Answer::AllowOnce);
            })
        };
        let others = (0..3).map(|_| {
            let order = order.clone();
            async move {
                let stdout = Output::capture().build();
                let ctx = WasiCtx::builder()
                    .stdout(stdout.clone())
                    .system_clocks()
                    .build();
                let (outcome, _) = run_command_async(engine(), &sleeper(10, 5), ctx)
                    .await
                    .unwrap();
                assert_eq!(outcome.exit_code(), 0);
                assert_eq!(stdout.contents(), b"done\n");
                order.lock().await.push("slept");
            }
        });
        let asked = async {
            let (outcome, _) = run_command_async(engine(), &opener(), asking)
                .await
                .unwrap();
            order.lock().await.push("opened");
            outcome
        };
        let (outcome, ..) = tokio::join!(asked, futures_join_all(others), ui);
        assert_eq!(
            outcome.exit_code(),
            0,
            "the person allowed the open: {outcome:?}"
        );
        assert!(
            fs.snapshot()
                .iter()
                .any(|(path, _)| path.ends_with("note.txt"))
        );
        assert_eq!(
            *order.lock().await,
            ["slept", "slept", "slept", "answered", "opened"]
        );
    });
}

/// Joins futures without a futures crate: each spawned as a local task in turn.
async fn futures_join_all<F: std::future::Future<Output = ()>>(futures: impl Iterator<Item = F>) {
    let futures: Vec<_> = futures.map(Box::pin).collect();
    let mut pending: Vec<_> = futures.into_iter().map(Some).collect();
    std::future::poll_fn(|cx| {
        let mut all = true;
        for slot in &mut pending {
            if let Some(future) = slot {
                if future.as_mut().poll(cx).is_ready() {
                    *slot = None;
                } else {
                    all = false;
                }
            }
        }
        if all {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    })
    .await
}

#[test]
fn an_unanswered_async_prompt_denies_at_its_timeout_and_a_dropped_reply_denies() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        for drop_it in [false, true] {
            let (prompter, mut prompts) = AsyncChannelPrompter::new(Duration::from_millis(100));
            let handle = PolicyHandle::new(ask_before_path_open());
            handle.set_async_prompter(prompter);
            let ctx = WasiCtx::builder()
                .mount("/", MemFs::new())
                .policy_handle(handle)
                .build();
            let ui = tokio::spawn(async move {
                let reply = prompts.recv().await.unwrap();
                if drop_it {
                    drop(reply);
                } else {
                    tokio::time::sleep(Duration::from_millis(500)).await;
                    reply.answer(Answer::AllowOnce);
                }
            });
            let (outcome, _) = run_command_async(engine(), &opener(), ctx).await.unwrap();
            assert_eq!(
                outcome.exit_code(),
                2,
                "EACCES (drop: {drop_it}): {outcome:?}"
            );
            let _ = ui.await;
        }
    });
}

#[test]
fn the_deadline_ends_a_suspended_sleep() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let ctx = WasiCtx::builder().system_clocks().build();
    let limits = RunLimits {
        timeout: Some(Duration::from_millis(200)),
        ..RunLimits::default()
    };
    let start = Instant::now();
    let (outcome, _) = runtime
        .block_on(run_command_async_with(
            engine(),
            &sleeper(10_000, 1),
            ctx,
            &limits,
        ))
        .unwrap();
    let took = start.elapsed();
    assert!(
        matches!(outcome.limit(), Some(wasi_warden::LimitStop::Time(_))),
        "{outcome:?}"
    );
    assert!(took < Duration::from_secs(3), "took {took:?}");
}

/// Writes files f00..f99 (100 bytes of its digit each), sleeping 1 ms before each.
fn writer() -> Module {
    Module::new(
        engine(),
        r#"(module
      (import "wasi_snapshot_preview1" "path_open" (func $open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
      (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
      (import "wasi_snapshot_preview1" "fd_close" (func $close (param i32) (result i32)))
      (import "wasi_snapshot_preview1" "poll_oneoff" (func $poll (param i32 i32 i32 i32) (result i32)))
      (memory (export "memory") 1)
      (data (i32.const 64) "f00")
      (func (export "_start") (local $i i32) (local $fd i32)
        (i32.store8 (i32.const 8) (i32.const 0))
        (i32.store (i32.const 16) (i32.const 1))
        (i64.store (i32.const 24) (i64.const 1000000))
        (block $out (loop $again
          (br_if $out (i32.ge_u (local.get $i) (i32.const 100)))
          (drop (call $poll (i32.const 0) (i32.const 128) (i32.const 1) (i32.const 192)))
          (i32.store8 (i32.const 65) (i32.add (i32.const 48) (i32.div_u (local.get $i) (i32.const 10))))
          (i32.store8 (i32.const 66) (i32.add (i32.const 48) (i32.rem_u (local.get $i) (i32.const 10))))
          (memory.fill (i32.const 1024) (i32.load8_u (i32.const 66)) (i32.const 100))
          (drop (call $open (i32.const 3) (i32.const 0) (i32.const 64) (i32.const 3)
             (i32.const 1) (i64.const 0x7e) (i64.const 0) (i32.const 0) (i32.const 256)))
          (local.set $fd (i32.load (i32.const 256)))
          (i32.store (i32.const 300) (i32.const 1024)) (i32.store (i32.const 304) (i32.const 100))
          (drop (call $w (local.get $fd) (i32.const 300) (i32.const 1) (i32.const 312)))
          (drop (call $close (local.get $fd)))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br $again)))))"#,
    )
    .unwrap()
}

#[test]
fn a_dropped_guest_leaves_its_tree_and_context_consistent() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let fs = MemFs::new();
    let ctx = WasiCtx::builder()
        .mount("/", fs.clone())
        .system_clocks()
        .build();
    let mut linker = Linker::new(engine());
    wasi_warden::add_to_linker_async(&mut linker, |ctx: &mut WasiCtx| ctx).unwrap();
    let mut store = Store::new(engine(), ctx);
    runtime.block_on(async {
        let instance = linker
            .instantiate_async(&mut store, &writer())
            .await
            .unwrap();
        let start = instance
            .get_typed_func::<(), ()>(&mut store, "_start")
            .unwrap();
        // A server's request timeout: the guest's future is dropped mid-run.
        let ran = tokio::time::timeout(Duration::from_millis(40), start.call_async(&mut store, ()));
        match ran.await {
            Err(_elapsed) => {}
            Ok(result) => panic!("the guest finished before the timeout: {result:?}"),
        }
    });
    // The model: files f00..f(k-1) complete, then at most one file that was created but not yet
    // written (the drop fell between its calls), and nothing else.
    let mut files: Vec<(String, Vec<u8>)> = fs
        .snapshot()
        .into_iter()
        .filter_map(|(path, entry)| match entry {
            wasi_warden::vfs::TreeEntry::File(data) => Some((path, data)),
            _ => None,
        })
        .collect();
    files.sort();
    assert!(
        !files.is_empty() && files.len() < 100,
        "{} files",
        files.len()
    );
    for (i, (path, data)) in files.iter().enumerate() {
        assert!(path.ends_with(&format!("f{i:02}")), "{path} at {i}");
        let digit = b'0' + (i % 10) as u8;
        let complete = data.len() == 100 && data.iter().all(|&b| b == digit);
        assert!(
            complete || (i == files.len() - 1 && data.is_empty()),
            "{path}: {} bytes",
            data.len()
        );
    }
    // The context carries nothing of the dropped call: a sync run on it works as on a fresh one.
    let ctx = store.into_data();
    assert!(ctx.open_fds() <= 5, "{} fds open", ctx.open_fds());
    let stdout = ctx.stdout().clone();
    let (outcome, _) = run_command(engine(), &sleeper(1, 1), ctx).unwrap();
    assert_eq!(outcome.exit_code(), 0);
    let _ = stdout;
}

#[test]
fn a_sync_prompter_is_asked_on_the_blocking_pool() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let asked = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = asked.clone();
    let ctx = WasiCtx::builder()
        .mount("/", MemFs::new())
        .policy(ask_before_path_open())
        .prompter(move |_: &wasi_warden::policy::Prompt| {
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Answer::AllowOnce
        })
        .build();
    let (outcome, _) = runtime
        .block_on(run_command_async(engine(), &opener(), ctx))
        .unwrap();
    assert_eq!(outcome.exit_code(), 0);
    assert_eq!(asked.load(std::sync::atomic::Ordering::SeqCst), 1);
}

#[test]
fn a_read_of_a_pipe_suspends_until_the_host_writes() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let (input, writer) = Input::pipe();
        let stdout = Output::capture().build();
        let echo = WasiCtx::builder()
            .stdin(input)
            .stdout(stdout.clone())
            .build();
        let feeder = tokio::spawn(async move {
            // The other guest finishes while the echo waits for these bytes.
            tokio::time::sleep(Duration::from_millis(200)).await;
            assert!(writer.write(b"late bytes\n"));
            writer.close();
        });
        let other = async {
            let ctx = WasiCtx::builder().system_clocks().build();
            let (outcome, _) = run_command_async(engine(), &sleeper(20, 2), ctx)
                .await
                .unwrap();
            (outcome.exit_code(), Instant::now())
        };
        let echoed = async {
            let (outcome, _) = run_command_async(engine(), &module("stdio_echo"), echo)
                .await
                .unwrap();
            (outcome.exit_code(), Instant::now())
        };
        let ((other_code, other_done), (echo_code, echo_done), fed) =
            tokio::join!(other, echoed, feeder);
        fed.unwrap();
        assert_eq!((other_code, echo_code), (0, 0));
        assert!(other_done < echo_done, "the sleeper waited for the pipe");
        assert!(stdout.contents().starts_with(b"LATE BYTES\n"));
    });
}
