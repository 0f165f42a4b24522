//! Fuzz logic, raw ABI: arbitrary preview1 calls with arbitrary arguments over arbitrary guest
//! memory, on a context with an in-memory `/`, a host directory `/h` and captured stdio.
//! Oracle: every call returns an errno (0..=76) or stops cleanly (a trap, `proc_exit`, a host
//! error) — never a panic — and nothing on the host outside `/h` changes. Shared by the
//! cargo-fuzz target and `tests/fuzz_replay.rs`.

use super::driver::{Driver, IMPORTS, MEMORY_SIZE};
use super::exec::{host_tree, seed, write_tree};
use super::ops::Bytes;
use wasi_warden::{HostDir, Input, MemFs, Output, WasiCtx};

/// Most calls one input makes.
const MAX_CALLS: usize = 48;

/// One argument: small numbers, in-bounds pointers, pointers near the end of memory, fd-like
/// values and raw bits, so both the checks and the code behind them get reached.
fn arg(b: &mut Bytes, wide: bool) -> u64 {
    match b.below(6) {
        0 => u64::from(b.u8() % 16),
        1 => u64::from(b.u16()) % u64::from(MEMORY_SIZE),
        2 => u64::from(MEMORY_SIZE - u32::from(b.u8())),
        3 => u64::from(3 + b.u8() % 6),
        4 if wide => b.u64(),
        _ => u64::from(b.u32()),
    }
}

/// Runs one input.
pub fn run(data: &[u8]) {
    let mut b = Bytes::new(data);
    let temp = tempfile::Builder::new()
        .prefix("warden-fuzz-")
        .tempdir()
        .expect("a temp dir");
    let mnt = temp.path().join("mnt");
    std::fs::create_dir(&mnt).expect("mnt");
    write_tree(&mnt, &seed());
    std::fs::create_dir(temp.path().join("outside")).expect("outside");
    std::fs::write(temp.path().join("outside/canary"), "keep").expect("canary");
    let outside = |root: &std::path::Path| {
        let mut t = host_tree(root);
        t.retain(|(p, _)| p != "mnt" && !p.starts_with("mnt/"));
        t
    };
    let before = outside(temp.path());

    let mem_seed = tempfile::tempdir().expect("a temp dir");
    write_tree(mem_seed.path(), &seed());
    let fs = MemFs::from_host_dir(mem_seed.path()).expect("MemFs of the seed");
    let ctx = WasiCtx::builder()
        .args(["fuzz.wasm", "arg"])
        .env("K", "V")
        .stdin(Input::bytes(&b"stdin bytes"[..]))
        .stdout(Output::capture().limit(1 << 16))
        .stderr(Output::capture().limit(1 << 16))
        .seeded_random(7)
        .mount("/", fs)
        .mount("/h", HostDir::open(&mnt).expect("HostDir"))
        .build();
    let mut d = Driver::new(ctx);
    // Guest memory starts as the input's first bytes, repeated: paths, iovecs and structs
    // then come from the fuzzer too.
    let init = b.take(512);
    if !init.is_empty() {
        let mem = d.memory_mut();
        for (i, byte) in mem.iter_mut().enumerate().take(8192) {
            *byte = init[i % init.len()];
        }
    }
    for _ in 0..MAX_CALLS {
        if b.is_empty() {
            break;
        }
        let (name, params) = IMPORTS[b.below(IMPORTS.len())];
        if name == "proc_exit" || name == "proc_raise" || name == "sched_yield" {
            continue; // stop the guest / do nothing: no code worth fuzzing behind them
        }
        let args: Vec<u64> = params.chars().map(|t| arg(&mut b, t == 'I')).collect();
        // Sometimes patch memory between calls, so later calls see fresh structures.
        if b.below(4) == 0 {
            let at = u32::from(b.u16()) % MEMORY_SIZE;
            let bytes = b.take(16);
            d.write(at, &bytes);
        }
        // An error (a trap or a host error) stops the guest there: a clean answer. A panic
        // would unwind through `call_raw` and fail the target.
        if let Ok(errno) = d.call_raw(name, &args) {
            assert!(
                (0..=76).contains(&errno),
                "{name}{args:?} returned {errno}, not an errno"
            );
        }
    }
    drop(d);
    assert_eq!(
        outside(temp.path()),
        before,
        "the host outside the mount changed"
    );
}
