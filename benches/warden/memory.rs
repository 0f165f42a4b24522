//! Memory per idle instance: 1,000 live instances of a small module, each in its own store
//! with its WASI context (in-memory root with one small file for wasi-warden; the same file
//! in a preopened host directory for wasmtime-wasi; nothing for the bare floor), measured as
//! the growth of live heap bytes (a counting global allocator) and of the process's RSS, each
//! kind in a child process of its own.
//! The allocator is the only unsafe code of the benchmarks: it forwards to `System`.

use crate::runners::Fixture;
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicIsize, Ordering};
use wasi_warden::wasmtime::{InstancePre, Linker, Store};
use wasi_warden::{Output, WasiCtx};

/// How many instances are kept alive at once.
pub const INSTANCES: usize = 1000;

/// Counts live heap bytes while `COUNTING` is on (only during `measure`, so that the timed
/// benchmarks pay one relaxed load per allocation, not an atomic add); the rest is `System`'s.
struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);
static COUNTING: AtomicBool = AtomicBool::new(false);

fn count(delta: isize) {
    if COUNTING.load(Ordering::Relaxed) {
        LIVE.fetch_add(delta, Ordering::Relaxed);
    }
}

// SAFETY: every method forwards to `System` with the caller's arguments unchanged; the counter
// is only bookkeeping.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded as is.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            count(layout.size() as isize);
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded as is.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            count(layout.size() as isize);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded as is.
        unsafe { System.dealloc(ptr, layout) };
        count(-(layout.size() as isize));
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded as is.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            count(new_size as isize - layout.size() as isize);
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// The process's resident set in bytes (VmRSS), 0 if /proc is not there.
fn rss() -> i64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<i64>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// Bytes per idle instance.
#[derive(Debug, Clone, Copy, Default)]
pub struct PerInstance {
    pub heap: f64,
    pub rss: f64,
}

/// Per-instance memory of the three kinds of instance.
#[derive(Debug, Clone, Copy, Default)]
pub struct Idle {
    pub bare: PerInstance,
    /// wasi-warden, an in-memory root holding the small file.
    pub warden: PerInstance,
    /// wasi-warden, the host directory holding it (as wasmtime-wasi's).
    pub warden_host: PerInstance,
    pub wasmtime: PerInstance,
}

/// Keeps `INSTANCES` results of `make` alive and reports the growth per instance. A few are
/// made and dropped first so that lazily initialised statics are not charged to the first.
fn measure<S>(mut make: impl FnMut() -> S) -> PerInstance {
    drop((0..16).map(|_| make()).collect::<Vec<_>>());
    let mut live: Vec<S> = Vec::with_capacity(INSTANCES);
    COUNTING.store(true, Ordering::SeqCst);
    let (heap0, rss0) = (LIVE.load(Ordering::Relaxed), rss());
    live.extend((0..INSTANCES).map(|_| make()));
    let (heap1, rss1) = (LIVE.load(Ordering::Relaxed), rss());
    COUNTING.store(false, Ordering::SeqCst);
    drop(live);
    PerInstance {
        heap: (heap1 - heap0) as f64 / INSTANCES as f64,
        rss: (rss1 - rss0) as f64 / INSTANCES as f64,
    }
}

/// The environment variable that makes the benchmark binary a measuring child: its value
/// names the kind of instance (`bare`, `warden`, `warden-host`, `wasmtime`), and `DIR_VAR`
/// the fixture.
const KIND_VAR: &str = "WASI_WARDEN_BENCH_IDLE";
const DIR_VAR: &str = "WASI_WARDEN_BENCH_DIR";

/// Measures each kind in a fresh child process (RSS is only meaningful in a process whose
/// heap has not already grown and shrunk), the fixture directory being `fix.host`.
pub fn idle_instances(fix: &Fixture) -> Idle {
    let one = fix.host.join("one");
    std::fs::create_dir_all(&one).unwrap();
    std::fs::write(one.join("small.txt"), b"a small file\n").unwrap();
    let exe = std::env::current_exe().expect("the benchmark binary");
    let measure_kind = |kind: &str| -> PerInstance {
        let out = std::process::Command::new(&exe)
            .env(KIND_VAR, kind)
            .env(DIR_VAR, &one)
            .output()
            .expect("running the measuring child");
        let text = String::from_utf8_lossy(&out.stdout);
        let mut numbers = text
            .split_whitespace()
            .filter_map(|w| w.parse::<f64>().ok());
        match (numbers.next(), numbers.next()) {
            (Some(heap), Some(rss)) => PerInstance { heap, rss },
            _ => panic!("the {kind} memory child said {text:?} ({:?})", out.status),
        }
    };
    Idle {
        bare: measure_kind("bare"),
        warden: measure_kind("warden"),
        warden_host: measure_kind("warden-host"),
        wasmtime: measure_kind("wasmtime"),
    }
}

/// In a measuring child (see `KIND_VAR`): prints "heap rss" per instance and returns true.
pub fn child() -> bool {
    let Ok(kind) = std::env::var(KIND_VAR) else {
        return false;
    };
    let one = std::path::PathBuf::from(std::env::var(DIR_VAR).expect(DIR_VAR));
    let engine = wasi_warden::wasmtime::Engine::default();
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/guests/small.wat");
    let module = wasi_warden::wasmtime::Module::from_file(&engine, path).unwrap();
    let engine = &engine;
    let figures = match kind.as_str() {
        "bare" => {
            let mut bare = Linker::<()>::new(engine);
            bare.define_unknown_imports_as_traps(&module).unwrap();
            let bare: InstancePre<()> = bare.instantiate_pre(&module).unwrap();
            measure(|| {
                let mut store = Store::new(engine, ());
                bare.instantiate(&mut store).unwrap();
                store
            })
        }
        "warden" | "warden-host" => {
            let mut linker = Linker::new(engine);
            wasi_warden::add_to_linker(&mut linker, |c: &mut WasiCtx| c).unwrap();
            let warden = linker.instantiate_pre(&module).unwrap();
            measure(|| {
                let builder = WasiCtx::builder().stdout(Output::capture());
                let ctx = if kind == "warden" {
                    builder.mount("/", Fixture::small_mem_root())
                } else {
                    builder.mount("/", wasi_warden::HostDir::open(&one).unwrap())
                }
                .build();
                let mut store = Store::new(engine, ctx);
                warden.instantiate(&mut store).unwrap();
                store
            })
        }
        _ => {
            let mut linker = Linker::new(engine);
            wasmtime_wasi::p1::add_to_linker_sync(&mut linker, |c| c).unwrap();
            let wasmtime = linker.instantiate_pre(&module).unwrap();
            measure(|| {
                let mut builder = wasmtime_wasi::WasiCtxBuilder::new();
                builder
                    .stdout(wasmtime_wasi::p2::pipe::MemoryOutputPipe::new(usize::MAX))
                    .preopened_dir(&one, "/", wasmtime_wasi::FsPerms::ReadWrite)
                    .unwrap();
                let mut store = Store::new(engine, builder.build_p1());
                wasmtime.instantiate(&mut store).unwrap();
                store
            })
        }
    };
    println!("{} {}", figures.heap, figures.rss);
    true
}
