//! Many guests on one tokio runtime, as an async server runs them: each request's guest sleeps
//! a little (suspended, holding no thread), writes a reply into its own captured stdout, and
//! one of them must ask permission before it writes a file — answered by another task a moment
//! later, while the others go on. Run: `cargo run --example async_server --features async`.

use std::time::{Duration, Instant};
use wasi_warden::policy::Answer;
use wasi_warden::{AsyncChannelPrompter, MemFs, Output, PolicyHandle, PolicyTable, WasiCtx};
use wasmtime::{Engine, Module};

/// Sleeps 50 ms, writes "reply\n", then tries to create "log.txt" (exit status: its errno).
const GUEST: &str = r#"(module
  (import "wasi_snapshot_preview1" "poll_oneoff" (func $poll (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_open" (func $open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 300) "reply\n")
  (data (i32.const 400) "log.txt")
  (func (export "_start")
    (i32.store8 (i32.const 8) (i32.const 0))
    (i32.store (i32.const 16) (i32.const 1))
    (i64.store (i32.const 24) (i64.const 50000000))
    (drop (call $poll (i32.const 0) (i32.const 64) (i32.const 1) (i32.const 128)))
    (i32.store (i32.const 200) (i32.const 300)) (i32.store (i32.const 204) (i32.const 6))
    (drop (call $w (i32.const 1) (i32.const 200) (i32.const 1) (i32.const 208)))
    (call $exit (call $open (i32.const 3) (i32.const 0) (i32.const 400) (i32.const 7)
       (i32.const 1) (i64.const 0x7e) (i64.const 0) (i32.const 0) (i32.const 500)))))"#;

fn main() -> wasmtime::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let engine = Engine::default();
    let module = Module::new(&engine, GUEST)?;
    runtime.block_on(async {
        // Requests 1..=20 may write their own log; request 0 must ask first.
        let (prompter, mut prompts) = AsyncChannelPrompter::new(Duration::from_secs(5));
        let asking = PolicyHandle::new(PolicyTable::from_toml(
            "[[rule]]\nsyscalls = [\"path_open\"]\naccess = [\"create\"]\ndecision = \"ask\"\n",
        )?);
        asking.set_async_prompter(prompter);
        let ui = tokio::spawn(async move {
            while let Some(reply) = prompts.recv().await {
                println!("[ui] {} ... (thinking 300 ms)", reply.prompt().message());
                tokio::time::sleep(Duration::from_millis(300)).await;
                reply.answer(Answer::AllowOnce);
            }
        });
        let start = Instant::now();
        let mut requests = Vec::new();
        for id in 0..=20 {
            let (engine, module) = (engine.clone(), module.clone());
            let handle = (id == 0).then(|| asking.clone());
            requests.push(tokio::spawn(async move {
                let stdout = Output::capture().limit(4096).build();
                let mut ctx = WasiCtx::builder()
                    .stdout(stdout.clone())
                    .system_clocks()
                    .mount("/", MemFs::new());
                if let Some(handle) = handle {
                    ctx = ctx.policy_handle(handle);
                }
                let (outcome, _) =
                    wasi_warden::run_command_async(&engine, &module, ctx.build()).await?;
                let took = start.elapsed();
                wasmtime::Result::<_>::Ok((id, outcome.exit_code(), stdout.contents(), took))
            }));
        }
        for request in requests {
            let (id, status, out, took) = request.await??;
            println!(
                "request {id:2}: {:?}, exit {status}, done after {} ms",
                String::from_utf8_lossy(&out).trim(),
                took.as_millis()
            );
        }
        drop(asking);
        ui.abort();
        wasmtime::Result::<()>::Ok(())
    })
}
