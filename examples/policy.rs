//! Embedding wasi-warden with a custom policy and a prompter answered from another thread:
//! `examples/hello.wat` runs with a policy written in Rust (no randomness, no writes outside
//! `/tmp` without asking), a "UI" thread answers the prompts, and every call is traced.
//!
//!     cargo run --example policy

use std::time::Duration;
use wasi_warden::policy::{Answer, FnPolicy, Scope, SyscallSet};
use wasi_warden::wasmtime::{Engine, Module};
use wasi_warden::{
    Access, ChannelPrompter, Decision, MemFs, Output, Policy, PolicyHandle, Request, Syscall,
    TraceAudit, WasiCtx,
};

/// A hand-written policy: randomness is refused (the guest sees ENOTCAPABLE), writes and
/// creations outside `/tmp` are asked about, everything else is allowed.
struct NoSurprises;

impl Policy for NoSurprises {
    fn decide(&self, request: &Request<'_>) -> Decision {
        let writes = Access::WRITE | Access::CREATE | Access::TRUNCATE | Access::REMOVE;
        match request.syscall {
            Syscall::RandomGet => Decision::Deny(wasi_warden::types::Errno::Notcapable),
            _ if request.access.intersects(writes)
                && !request.paths().all(|p| p.path.starts_with("/tmp/")) =>
            {
                Decision::Ask
            }
            _ => Decision::Allow,
        }
    }

    /// Only these calls can get anything but Allow; every other call skips the policy.
    fn checks(&self) -> SyscallSet {
        SyscallSet::group("fs-write")
            .unwrap_or(SyscallSet::ALL)
            .with(Syscall::RandomGet)
    }
}

fn main() -> wasi_warden::wasmtime::Result<()> {
    let engine = Engine::default();
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/hello.wat");
    let module = Module::from_file(&engine, path)?;

    // The prompter forwards each question to the UI thread and waits at most 10 s for it.
    let (prompter, prompts) = ChannelPrompter::new(Duration::from_secs(10));
    let ui = std::thread::spawn(move || {
        for reply in prompts {
            println!("[ui] {} -> allowing for the whole mount", reply.prompt());
            reply.answer(Answer::AllowAlways(Scope::Subtree("/".into())));
        }
    });

    // The host keeps the handle: it can swap the policy while the guest runs.
    let handle = PolicyHandle::new(NoSurprises);
    let stdout = Output::capture().build();
    let ctx = WasiCtx::builder()
        .args(["hello.wasm"])
        .system_clocks()
        .os_random()
        .stdout(stdout.clone())
        .mount("/", MemFs::new())
        .policy_handle(handle.clone())
        .prompter(prompter)
        .audit(TraceAudit::stderr())
        .build();

    let (outcome, ctx) = wasi_warden::run_command(&engine, &module, ctx)?;
    println!("the guest exited with status {}", outcome.exit_code());
    print!("{}", String::from_utf8_lossy(&stdout.contents()));
    println!("remembered answers: {}", handle.remembered_answers());

    // Later runs could use a stricter policy; closures are policies too.
    handle.set_policy(FnPolicy(|r: &Request<'_>| {
        if r.syscall == Syscall::PathUnlinkFile {
            Decision::trap("no deleting")
        } else {
            Decision::Allow
        }
    }));
    // Removing the prompter drops the channel's sender, so the UI thread ends.
    handle.clear_prompter();
    drop(ctx);
    ui.join().expect("the UI thread does not panic");
    Ok(())
}
