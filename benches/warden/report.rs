//! The summary printed after criterion's own output: every workload's time per call (or
//! bandwidth) under each host, the ratios, and each of the targets as met or missed.
//! Figures are the median time per iteration over the interleaved rounds of `race.rs`.

use crate::memory::{INSTANCES, Idle, PerInstance};
use crate::runners::CHUNK;
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

/// Key `group/id` → every round's (iterations, time).
static RESULTS: Mutex<BTreeMap<String, Vec<(u64, Duration)>>> = Mutex::new(BTreeMap::new());

pub fn record(key: &str, iters: u64, time: Duration) {
    let mut results = RESULTS.lock().unwrap();
    results
        .entry(key.to_string())
        .or_default()
        .push((iters, time));
}

/// Nanoseconds per iteration of `group/id`, if it ran: the median over its rounds, so that a
/// burst of a shared machine's noise during a few rounds moves it little.
fn ns(group: &str, id: &str) -> Option<f64> {
    let results = RESULTS.lock().unwrap();
    let samples = results.get(&format!("{group}/{id}"))?;
    let mut per_iter: Vec<f64> = samples
        .iter()
        .filter(|(iters, _)| *iters > 0)
        .map(|(iters, time)| time.as_nanos() as f64 / *iters as f64)
        .collect();
    per_iter.sort_by(f64::total_cmp);
    let n = per_iter.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(per_iter[n / 2]),
        _ => Some((per_iter[n / 2 - 1] + per_iter[n / 2]) / 2.0),
    }
}

/// How a row's figures read.
#[derive(Clone, Copy)]
enum Unit {
    /// Time per call.
    Latency,
    /// Bytes moved per call, shown as GiB/s.
    Bandwidth(u64),
}

/// (label, group of the warden figures, floor as (group, id), group of the wasmtime figure,
/// unit, id of the in-memory warden figure).
type RowSpec = (
    &'static str,
    &'static str,
    (&'static str, &'static str),
    &'static str,
    Unit,
    &'static str,
);

/// The in-memory column's id: the guest's instance bound as the store's sole one.
const MEM: &str = "warden-mem";
/// The same guest, its memory looked up on every call (`add_to_linker` alone).
const LOOKUP: &str = "warden-mem-lookup";

const W16: &str = "fd_write_16B_discard";

const ROWS: &[RowSpec] = &[
    (
        "no-op import (floor)",
        W16,
        (W16, "floor-noop"),
        W16,
        Unit::Latency,
        MEM,
    ),
    (
        "fd_write 16 B, discarding stdout",
        W16,
        (W16, "floor-raw"),
        W16,
        Unit::Latency,
        MEM,
    ),
    (
        "fd_write 16 B, discarding, memory looked up per call",
        W16,
        (W16, "floor-raw"),
        W16,
        Unit::Latency,
        LOOKUP,
    ),
    (
        "fd_write 16 B, discarding, run_command",
        "fd_write_16B_run_command",
        (W16, "floor-raw"),
        W16,
        Unit::Latency,
        MEM,
    ),
    (
        "fd_write 16 B, capturing stdout",
        "fd_write_16B_capture",
        ("fd_write_16B_capture", "floor-raw"),
        "fd_write_16B_capture",
        Unit::Latency,
        MEM,
    ),
    (
        "fd_write 64 KiB, capturing stdout",
        "fd_write_64KiB_capture",
        ("fd_write_64KiB_capture", "floor-raw"),
        "fd_write_64KiB_capture",
        Unit::Bandwidth(CHUNK as u64),
        MEM,
    ),
    (
        "fd_read 64 MiB in 64 KiB chunks",
        "fd_read_64MiB_in_64KiB",
        ("fd_read_64MiB_in_64KiB", "floor-memcpy"),
        "fd_read_64MiB_in_64KiB",
        Unit::Bandwidth(CHUNK as u64),
        MEM,
    ),
    (
        "path_open + fd_close",
        "path_open_fd_close",
        ("path_open_fd_close", "floor-std"),
        "path_open_fd_close",
        Unit::Latency,
        MEM,
    ),
    (
        "path_open + fd_close, floor = openat + fstat + close",
        "path_open_fd_close",
        ("path_open_fd_close", "floor-syscalls"),
        "path_open_fd_close",
        Unit::Latency,
        MEM,
    ),
    (
        "path_filestat_get",
        "path_filestat_get",
        ("path_filestat_get", "floor-std"),
        "path_filestat_get",
        Unit::Latency,
        MEM,
    ),
    (
        "fd_readdir, 1,000 entries",
        "fd_readdir_1000",
        ("fd_readdir_1000", "floor-std"),
        "fd_readdir_1000",
        Unit::Latency,
        MEM,
    ),
    (
        "clock_time_get",
        "clock_time_get",
        ("clock_time_get", "floor-raw"),
        "clock_time_get",
        Unit::Latency,
        MEM,
    ),
    (
        "random_get 16 B",
        "random_get_16B",
        ("-", "-"),
        "random_get_16B",
        Unit::Latency,
        MEM,
    ),
    (
        "clock_time_get, memory looked up per call",
        "clock_time_get",
        ("clock_time_get", "floor-raw"),
        "clock_time_get",
        Unit::Latency,
        LOOKUP,
    ),
    (
        "random_get 16 B, memory looked up per call",
        "random_get_16B",
        ("-", "-"),
        "random_get_16B",
        Unit::Latency,
        LOOKUP,
    ),
    (
        "build ctx + instantiate",
        "build_and_instantiate",
        ("build_and_instantiate", "floor-bare"),
        "build_and_instantiate",
        Unit::Latency,
        MEM,
    ),
];

fn show(ns: Option<f64>, unit: Unit) -> String {
    match (ns, unit) {
        (None, _) => "-".into(),
        (Some(t), Unit::Bandwidth(bytes)) => {
            format!("{:.2} GiB/s", bytes as f64 / t / 1.073_741_824)
        }
        (Some(t), Unit::Latency) if t < 1_000.0 => format!("{t:.1} ns"),
        (Some(t), Unit::Latency) if t < 1_000_000.0 => format!("{:.2} µs", t / 1e3),
        (Some(t), Unit::Latency) => format!("{:.2} ms", t / 1e6),
    }
}

/// `a / b` as "12.3×", or "-" when either is missing.
fn ratio(a: Option<f64>, b: Option<f64>) -> String {
    match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => format!("{:.2}×", a / b),
        _ => "-".into(),
    }
}

/// The criterion group of the policy-overhead rows.
pub const POLICY_GROUP: &str = "fd_write_16B_policy";

/// Per-call cost of the policy layer on `fd_write`, against no policy at all.
fn print_policy_overhead() {
    let base = ns(POLICY_GROUP, "none");
    println!("\n## policy overhead: fd_write 16 B under run_command (time per call)\n");
    println!("| policy | time per call | ÷ no policy |");
    println!("|---|---|---|");
    for (id, what) in [
        ("none", "no policy (default handle)"),
        ("allow-all", "PolicyTable::allow_all()"),
        ("other-syscalls", "a table restricting only path_open"),
        (
            "rule-on-fd_write",
            "a table with a rule evaluated on every fd_write",
        ),
        ("audit-sink", "an audit sink that drops records"),
    ] {
        let time = ns(POLICY_GROUP, id);
        let shown = time.map_or("not run".into(), |t| format!("{t:.1} ns"));
        let ratio = div(time, base).map_or("".into(), |r| format!("{r:.2}×"));
        println!("| {what} | {shown} | {ratio} |");
    }
}

pub fn print(idle: &Idle) {
    print_policy_overhead();
    println!(
        "\n## wasi-warden vs wasmtime-wasi 50 (time per call; lower is better, GiB/s higher)\n"
    );
    println!(
        "| workload | floor | warden mem | warden host | wasmtime-wasi | wt ÷ mem | wt ÷ host | mem ÷ floor | host ÷ floor |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for &(label, group, (floor_group, floor_id), wt_group, unit, mem_id) in ROWS {
        let floor = ns(floor_group, floor_id);
        let mem = ns(group, mem_id);
        let host = ns(group, "warden-host");
        let wt = ns(wt_group, "wasmtime-wasi");
        // The no-op row is itself a floor: its figure sits in the floor column only.
        if floor_id == "floor-noop" {
            println!("| {label} | {} | | | | | | | |", show(floor, unit));
            continue;
        }
        println!(
            "| {label} | {} | {} | {} | {} | {} | {} | {} | {} |",
            show(floor, unit),
            show(mem, unit),
            show(host, unit),
            show(wt, unit),
            ratio(wt, mem),
            ratio(wt, host),
            ratio(mem, floor),
            ratio(host, floor),
        );
    }
    let kib = |b: f64| format!("{:.1} KiB", b / 1024.0);
    for (what, of) in [
        (
            "heap",
            (|p: &PerInstance| p.heap) as fn(&PerInstance) -> f64,
        ),
        ("RSS", |p: &PerInstance| p.rss),
    ] {
        let (bare, mem, host, wt) = (
            of(&idle.bare),
            of(&idle.warden),
            of(&idle.warden_host),
            of(&idle.wasmtime),
        );
        println!(
            "| idle instance, {what} ({INSTANCES} live) | {} | {} | {} | {} | {} | {} | {} | {} |",
            kib(bare),
            kib(mem),
            kib(host),
            kib(wt),
            ratio(Some(wt), Some(mem)),
            ratio(Some(wt), Some(host)),
            ratio(Some(mem), Some(bare)),
            ratio(Some(host), Some(bare)),
        );
    }
    println!(
        "\nfloors: no-op = an fd_write import that does nothing; raw = an fd_write reading the"
    );
    println!("iovecs through a cached `Memory` (and appending to a Vec when capturing), or a");
    println!("clock_time_get storing a raw CLOCK_MONOTONIC read through it; memcpy = the");
    println!(
        "same 64 KiB chunks copied host-side; std = the same operation with std::fs on the tmpfs"
    );
    println!("path; syscalls = openat + fstat + close below a held directory fd (the host");
    println!("backend's own calls); bare = Store + instantiate with trapping imports.");
    println!("wt = wasmtime-wasi.\n");
    targets(idle);
}

/// One target: its text, the measured figure (as text) and whether it holds.
fn target(text: &str, figure: Option<f64>, holds: impl Fn(f64) -> bool, unit: &str) {
    let (verdict, shown) = match figure {
        Some(f) => (
            if holds(f) { "met   " } else { "MISSED" },
            format!("{f:.2}{unit}"),
        ),
        None => ("n/a   ", "not run".into()),
    };
    println!("  {verdict} {text}: {shown}");
}

fn div(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    Some(a? / b?)
}

fn targets(idle: &Idle) {
    println!("targets:");
    let cases = [
        (W16, MEM, W16, "discarding"),
        (W16, LOOKUP, W16, "discarding, memory looked up per call"),
        (
            "fd_write_16B_run_command",
            MEM,
            W16,
            "discarding, run_command",
        ),
        (
            "fd_write_16B_capture",
            MEM,
            "fd_write_16B_capture",
            "capturing",
        ),
    ];
    for (group, id, floors, what) in cases {
        let warden = ns(group, id);
        target(
            &format!("fd_write 16 B ({what}) ≤ 3× the raw floor"),
            div(warden, ns(floors, "floor-raw")),
            |r| r <= 3.0,
            "×",
        );
        target(
            &format!("fd_write 16 B ({what}) ≥ 12× faster than wasmtime-wasi"),
            div(ns(floors, "wasmtime-wasi"), warden),
            |r| r >= 12.0,
            "×",
        );
    }
    for (group, what) in [
        ("path_open_fd_close", "path_open + fd_close"),
        ("path_filestat_get", "path_filestat_get"),
    ] {
        target(
            &format!("{what}, in-memory ≥ 50× faster than wasmtime-wasi"),
            div(ns(group, "wasmtime-wasi"), ns(group, "warden-mem")),
            |r| r >= 50.0,
            "×",
        );
        target(
            &format!("{what}, host dir within 1.3× of std::fs"),
            div(ns(group, "warden-host"), ns(group, "floor-std")),
            |r| r <= 1.3,
            "×",
        );
    }
    let read = "fd_read_64MiB_in_64KiB";
    target(
        "reads from the in-memory fs ≥ 70% of memcpy bandwidth",
        div(ns(read, "floor-memcpy"), ns(read, "warden-mem")).map(|r| r * 100.0),
        |p| p >= 70.0,
        "%",
    );
    target(
        "reads from the host dir ≥ 2× wasmtime-wasi's bandwidth",
        div(ns(read, "wasmtime-wasi"), ns(read, "warden-host")),
        |r| r >= 2.0,
        "×",
    );
    for (group, id, what) in [
        ("clock_time_get", MEM, "clock_time_get"),
        (
            "clock_time_get",
            LOOKUP,
            "clock_time_get, memory looked up per call",
        ),
        ("random_get_16B", MEM, "random_get(16)"),
        (
            "random_get_16B",
            LOOKUP,
            "random_get(16), memory looked up per call",
        ),
    ] {
        target(
            &format!("{what} ≥ 3× faster than wasmtime-wasi"),
            div(ns(group, "wasmtime-wasi"), ns(group, id)),
            |r| r >= 3.0,
            "×",
        );
    }
    let build = "build_and_instantiate";
    target(
        "build + instantiate (mem root, one file, capture) no slower than wasmtime-wasi's (no fs)",
        div(ns(build, "warden-mem"), ns(build, "wasmtime-wasi")),
        |r| r <= 1.0,
        "× of wasmtime-wasi's time",
    );
    for (what, warden) in [("mem root", &idle.warden), ("host dir", &idle.warden_host)] {
        target(
            &format!("idle instance memory (RSS, {what}) ≤ half of wasmtime-wasi's"),
            Some(warden.rss / idle.wasmtime.rss),
            |r| r <= 0.5,
            "× of wasmtime-wasi's",
        );
        target(
            &format!("idle instance memory (heap, {what}) ≤ half of wasmtime-wasi's"),
            Some(warden.heap / idle.wasmtime.heap),
            |r| r <= 0.5,
            "× of wasmtime-wasi's",
        );
    }
    // The bare instance alone is more than half of wasmtime-wasi's whole: the part each WASI
    // layer adds is what can be compared.
    let added = |p: &PerInstance| p.heap - idle.bare.heap;
    println!(
        "  (heap each WASI layer adds to a bare instance: warden mem root {:.2} KiB, warden host \
         dir {:.2} KiB, wasmtime-wasi host dir {:.2} KiB)",
        added(&idle.warden) / 1024.0,
        added(&idle.warden_host) / 1024.0,
        added(&idle.wasmtime) / 1024.0,
    );
}
