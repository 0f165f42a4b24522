//! `cargo bench`: the same `.wat` guest loops (benches/guests) under wasi-warden on an in-memory
//! root, wasi-warden on a tmpfs directory and wasmtime-wasi 50 on the same directory, beside
//! their floors (a no-op import, a raw cached-memory `fd_write`, memcpy, std::fs, a bare
//! instantiate). Each guest loops N times inside wasm and one call of the loop is timed, so
//! per-call host overhead dominates. Criterion measures each group; then the group's
//! contenders run again in interleaved rounds (`race.rs`), which give the summary table printed
//! at the end (`report.rs`): every figure, the ratios and the targets.

mod memory;
mod race;
mod report;
mod runners;

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion};
use race::Race;
use runners::{BIG, CHUNK, Fixture, Host, Stdout};
use std::cell::RefCell;
use std::hint::black_box;
use std::rc::Rc;
use std::time::{Duration, Instant};
use wasi_warden::wasmtime::{Linker, Module, Store};
use wasi_warden::{Output, WasiCtx};

/// Output captured past this many bytes is dropped between two calls of the loop (untimed).
const CAPTURE_SPAN: u64 = 64 << 20;

/// Short windows: criterion's own report is a first look; the summary's figures come from the
/// interleaved race that follows each group (`race.rs`).
fn config() -> Criterion {
    Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1))
        .without_plots()
        .configure_from_args()
}

/// One workload: a criterion group (criterion's own report) and the race that measures the
/// same contenders again, interleaved, for the summary (`race.rs`).
struct Group<'c, 'a> {
    name: String,
    criterion: BenchmarkGroup<'c, WallTime>,
    race: Race<'a>,
}

impl<'c, 'a> Group<'c, 'a> {
    fn new(c: &'c mut Criterion, name: &str) -> Self {
        Group {
            name: name.to_string(),
            criterion: c.benchmark_group(name),
            race: Race::default(),
        }
    }

    /// Adds `run` (timing `n` iterations of `calls` calls each) as contender `id`.
    fn add(&mut self, id: &str, calls: u64, run: impl FnMut(u64) -> Duration + 'a) {
        let shared = Rc::new(RefCell::new(run));
        let for_criterion = Rc::clone(&shared);
        self.criterion.bench_function(id, |b| {
            b.iter_custom(|iters| (for_criterion.borrow_mut())(iters))
        });
        let key = format!("{}/{id}", self.name);
        self.race
            .add(key, calls, Box::new(move |n| (shared.borrow_mut())(n)));
    }

    /// Criterion's report for the group, then the race for the summary.
    fn finish(self) {
        self.criterion.finish();
        self.race.run();
    }
}

/// Benchmarks `module` under `host`: every timed run is a fresh instance whose `run(iters)` is
/// timed. With a capturing stdout the instance is rebuilt (untimed) every `CAPTURE_SPAN` bytes.
#[allow(clippy::too_many_arguments)]
fn guest<'a>(
    group: &mut Group<'_, 'a>,
    fix: &'a Fixture,
    host: Host,
    module: &'a Module,
    stdout: Stdout,
    arg: i32,
    bytes_per_call: u64,
) {
    let span = match stdout {
        Stdout::Capture => (CAPTURE_SPAN / bytes_per_call.max(1)).max(1),
        Stdout::Discard => 1 << 30,
    };
    group.add(label(host), 1, move |iters| {
        let mut total = Duration::ZERO;
        let mut left = iters;
        while left > 0 {
            let n = left.min(span);
            let mut guest = fix.guest(host, module, stdout, arg);
            total += guest.run(n as u32);
            left -= n;
        }
        total
    });
}

/// Benchmarks a host-side routine (the floors that are not guests, and instantiation).
fn host<'a>(group: &mut Group<'_, 'a>, id: &str, f: impl FnMut() + 'a) {
    host_calls(group, id, 1, f);
}

/// Like [`host`], for a routine that makes `calls` calls: the summary divides by them.
fn host_calls<'a>(group: &mut Group<'_, 'a>, id: &str, calls: u64, mut f: impl FnMut() + 'a) {
    group.add(id, calls, move |iters| {
        let start = Instant::now();
        for _ in 0..iters {
            f();
        }
        start.elapsed()
    });
}

/// The column a host's figures go in (and its criterion id).
fn label(host: Host) -> &'static str {
    match host {
        Host::WardenMem => "warden-mem",
        Host::WardenMemLookup => "warden-mem-lookup",
        Host::WardenHost => "warden-host",
        Host::Wasmtime => "wasmtime-wasi",
        Host::Noop => "floor-noop",
        Host::Raw => "floor-raw",
    }
}

fn writes(c: &mut Criterion, fix: &Fixture) {
    let write = fix.module("write");
    let cases = [
        (
            "fd_write_16B_discard",
            Stdout::Discard,
            16,
            &[Host::Noop, Host::Raw, Host::WardenMemLookup][..],
        ),
        (
            "fd_write_16B_capture",
            Stdout::Capture,
            16,
            &[Host::Raw][..],
        ),
        (
            "fd_write_64KiB_capture",
            Stdout::Capture,
            CHUNK as i32,
            &[Host::Raw][..],
        ),
    ];
    for (name, stdout, len, floors) in cases {
        let mut group = Group::new(c, name);
        // stdout does not depend on the mount: one wasi-warden column is enough.
        for &host in floors.iter().chain(&[Host::WardenMem, Host::Wasmtime]) {
            guest(&mut group, fix, host, &write, stdout, len, len as u64);
        }
        group.finish();
    }
    // The same loop as a command under `run_command`, whose store holds one instance: the
    // memory is cached outright (its `_start` makes 200,000 calls; setup is under 1% of it).
    let mut group = Group::new(c, "fd_write_16B_run_command");
    host_calls(&mut group, "warden-mem", 200_000, || {
        let ctx = WasiCtx::builder().stdout(Output::null()).build();
        let (outcome, _) = wasi_warden::run_command(&fix.engine, &write, ctx).unwrap();
        assert_eq!(outcome.exit_code(), 0);
    });
    group.finish();
}

/// The policy layer's cost on the hottest call: the same 200,000 `fd_write`s under
/// `run_command` with no policy, an allow-all table, a table that restricts only other
/// syscalls, a table whose rule is evaluated on every `fd_write`, and an audit sink.
fn policies(c: &mut Criterion, fix: &Fixture) {
    use wasi_warden::policy::{Decision, PathPattern, PolicyTable, Rule, Syscall};
    let write = fix.module("write");
    let mut group = Group::new(c, report::POLICY_GROUP);
    type Configure = fn(wasi_warden::WasiCtxBuilder) -> wasi_warden::WasiCtxBuilder;
    let cases: [(&str, Configure); 5] = [
        ("none", |b| b),
        ("allow-all", |b| b.policy(PolicyTable::allow_all())),
        ("other-syscalls", |b| {
            b.policy(
                PolicyTable::allow_all()
                    .rule(Rule::new(Decision::deny()).syscalls(Syscall::PathOpen)),
            )
        }),
        // A deny rule whose path never matches stdout: evaluated on every call (an allow rule
        // under allow-all would be optimised away), never firing.
        ("rule-on-fd_write", |b| {
            b.policy(
                PolicyTable::allow_all().rule(
                    Rule::new(Decision::deny())
                        .syscalls(Syscall::FdWrite)
                        .path(PathPattern::subtree("/nowhere")),
                ),
            )
        }),
        ("audit-sink", |b| {
            b.audit(|_: &wasi_warden::audit::AuditRecord<'_>| {})
        }),
    ];
    for (id, configure) in cases {
        let write = &write;
        host_calls(&mut group, id, 200_000, move || {
            let ctx = configure(WasiCtx::builder().stdout(Output::null())).build();
            let (outcome, _) = wasi_warden::run_command(&fix.engine, write, ctx).unwrap();
            assert_eq!(outcome.exit_code(), 0);
        });
    }
    group.finish();
}

fn reads(c: &mut Criterion, fix: &Fixture) {
    let name = "fd_read_64MiB_in_64KiB";
    let read = fix.module("read");
    let source = std::fs::read(fix.host.join("big.bin")).unwrap();
    let mut group = Group::new(c, name);
    let mut dest = vec![0u8; CHUNK];
    let mut at = 0;
    let source = &source;
    host(&mut group, "floor-memcpy", move || {
        dest.copy_from_slice(&source[at..at + CHUNK]);
        black_box(&mut dest);
        at = (at + CHUNK) % BIG;
    });
    for host in [Host::WardenMem, Host::WardenHost, Host::Wasmtime] {
        guest(&mut group, fix, host, &read, Stdout::Discard, 0, 0);
    }
    group.finish();
}

fn paths(c: &mut Criterion, fix: &Fixture) {
    let small = fix.host.join("small.txt");
    let dir = fix.host.join("dir1000");
    type Floor<'a> = Box<dyn FnMut() + 'a>;
    let cases: [(&str, &str, Floor<'_>); 3] = [
        (
            "path_open_fd_close",
            "open_close",
            Box::new(|| drop(std::fs::File::open(&small).unwrap())),
        ),
        (
            "path_filestat_get",
            "filestat",
            Box::new(|| {
                black_box(std::fs::metadata(&small).unwrap());
            }),
        ),
        (
            "fd_readdir_1000",
            "readdir",
            Box::new(|| assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1000)),
        ),
    ];
    let fixture_dir = rustix::fs::open(
        &fix.host,
        rustix::fs::OFlags::DIRECTORY | rustix::fs::OFlags::CLOEXEC,
        rustix::fs::Mode::empty(),
    )
    .unwrap();
    let fixture_dir = &fixture_dir;
    for (name, wat, floor) in cases {
        let module = fix.module(wat);
        let mut group = Group::new(c, name);
        host(&mut group, "floor-std", floor);
        if name == "path_open_fd_close" {
            // What our semantics cost at least: the host backend's three system calls (open
            // by name below a directory fd we hold, fstat to refuse directories and devices,
            // close), with nothing else around them.
            host(&mut group, "floor-syscalls", move || {
                use rustix::fs::{Mode, OFlags, fstat, openat};
                let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC;
                let fd = openat(fixture_dir, "small.txt", flags, Mode::empty()).unwrap();
                black_box(fstat(&fd).unwrap());
            });
        }
        for host in [Host::WardenMem, Host::WardenHost, Host::Wasmtime] {
            guest(&mut group, fix, host, &module, Stdout::Discard, 0, 0);
        }
        group.finish();
    }
}

fn clocks_and_random(c: &mut Criterion, fix: &Fixture) {
    for (name, wat, floor) in [
        ("clock_time_get", "clock", Some(Host::Raw)),
        ("random_get_16B", "random", None),
    ] {
        let module = fix.module(wat);
        let mut group = Group::new(c, name);
        let hosts = [Host::WardenMem, Host::WardenMemLookup, Host::Wasmtime];
        for host in floor.into_iter().chain(hosts) {
            guest(&mut group, fix, host, &module, Stdout::Discard, 0, 0);
        }
        group.finish();
    }
}

fn instantiation(c: &mut Criterion, fix: &Fixture) {
    let name = "build_and_instantiate";
    let small = fix.module("small");
    let engine = &fix.engine;
    let mut bare = Linker::<()>::new(engine);
    bare.define_unknown_imports_as_traps(&small).unwrap();
    let bare = bare.instantiate_pre(&small).unwrap();
    let warden = fix.warden.instantiate_pre(&small).unwrap();
    let wasmtime = fix.wasmtime.instantiate_pre(&small).unwrap();
    let mut group = Group::new(c, name);
    let (bare, warden, wasmtime) = (&bare, &warden, &wasmtime);
    host(&mut group, "floor-bare", move || {
        let mut store = Store::new(engine, ());
        black_box(bare.instantiate(&mut store).unwrap());
    });
    host(&mut group, "warden-mem", move || {
        let mut store = Store::new(engine, runners::small_warden_ctx());
        black_box(warden.instantiate(&mut store).unwrap());
    });
    host(&mut group, "wasmtime-wasi", move || {
        let mut store = Store::new(engine, runners::small_wasmtime_ctx());
        black_box(wasmtime.instantiate(&mut store).unwrap());
    });
    group.finish();
}

fn main() {
    if memory::child() {
        return;
    }
    let fix = Fixture::new();
    let idle = memory::idle_instances(&fix);
    let mut c = config();
    writes(&mut c, &fix);
    policies(&mut c, &fix);
    reads(&mut c, &fix);
    paths(&mut c, &fix);
    clocks_and_random(&mut c, &fix);
    instantiation(&mut c, &fix);
    c.final_summary();
    report::print(&idle);
}
