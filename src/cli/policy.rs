//! The CLI's control flags turned into builder calls: `--policy` (a policy file), `--ask`
//! (confirm on the terminal), `--audit` / `--trace` (record every call) and `--tcplisten` /
//! `-S tcplisten` (grant a listening socket). Everything here happens before the guest
//! starts; the only host files it creates are the ones `--audit` names.

use super::RunArgs;
use std::net::TcpListener;
use std::sync::Arc;
use wasi_warden::audit::AuditRecord;
use wasi_warden::policy::AskFirst;
use wasi_warden::{
    AuditSink, JsonLinesAudit, PolicyTable, TerminalPrompter, TraceAudit, WasiCtxBuilder,
};

/// The guest names of every mount the flags ask for (`--ask` guards each of them): the
/// `--mem-dir`, `--dir`, `--ro-dir` and `--overlay` mounts.
pub fn mount_names(args: &RunArgs) -> Vec<String> {
    let mut names: Vec<String> = args.mem_dir.iter().map(|m| m.guest.clone()).collect();
    // `--dir HOST[::GUEST]`, as wasmtime: without `::GUEST` the guest sees HOST's own path.
    let host_mounts = args.dir.iter().chain(&args.ro_dir).chain(&args.overlay);
    names.extend(host_mounts.map(|mount| mount.guest.clone()));
    names
}

/// Adds the policy, prompter, audit sinks and sockets the flags ask for. `mounts` are the
/// guest names `--ask` guards, `listen` the addresses of --tcplisten and -S tcplisten.
/// Errors: one line for the user (a bad policy file names its line; an audit file that cannot
/// be created; an address that cannot be listened on).
pub fn apply(
    args: &RunArgs,
    mut builder: WasiCtxBuilder,
    mounts: &[String],
    listen: &[String],
) -> Result<WasiCtxBuilder, String> {
    let table = match &args.policy {
        Some(path) => PolicyTable::load(path).map_err(|e| format!("--policy: {e}"))?,
        None => PolicyTable::allow_all(),
    };
    // A policy file may say `ask` without --ask: the terminal answers those too.
    if args.ask || args.policy.is_some() {
        builder = builder.prompter(TerminalPrompter::new());
    }
    builder = if args.ask {
        let ask = mounts
            .iter()
            .fold(AskFirst::new(table), |ask, mount| ask.guard(mount));
        builder.policy(ask)
    } else {
        builder.policy(table)
    };
    let mut sinks: Vec<Arc<dyn AuditSink>> = Vec::new();
    if let Some(path) = &args.audit {
        let file = std::fs::File::create(path)
            .map_err(|e| format!("--audit: cannot create {}: {e}", path.display()))?;
        sinks.push(Arc::new(JsonLinesAudit::new(file)));
    }
    if args.trace {
        sinks.push(Arc::new(TraceAudit::stderr()));
    }
    if !sinks.is_empty() {
        builder = builder.audit(move |record: &AuditRecord<'_>| {
            for sink in &sinks {
                sink.record(record);
            }
        });
    }
    for addr in listen {
        let listener = TcpListener::bind(addr.as_str())
            .map_err(|e| format!("--tcplisten {addr}: cannot listen: {e}"))?;
        builder = builder.tcp_listener(listener);
    }
    Ok(builder)
}
