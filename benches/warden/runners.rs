//! The things a benchmark runs: the fixture tree (a tmpfs directory and an in-memory copy of
//! it), and one guest loop per host — wasi-warden on the in-memory root, wasi-warden on the
//! host directory, wasmtime-wasi 50 on the same host directory — plus the floor hosts (a
//! no-op import, a raw `fd_write` reading guest memory through a cached `Memory`).
//! Building a guest is never timed: only calls of its `run(n)` export are.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use wasi_warden::vfs::OpenOptions;
use wasi_warden::wasmtime::{Caller, Engine, Linker, Memory, Module, Store, TypedFunc};
use wasi_warden::{HostDir, MemFs, Output, WasiCtx};
use wasmtime_wasi::p1::WasiP1Ctx;
use wasmtime_wasi::p2::pipe::{MemoryOutputPipe, SinkOutputStream};

/// The size of `big.bin`, read in 64 KiB chunks by `read.wat`.
pub const BIG: usize = 64 << 20;
/// One chunk of the throughput workloads.
pub const CHUNK: usize = 64 << 10;
/// Entries in `dir1000`.
pub const DIR_ENTRIES: usize = 1000;

/// Who answers the guest's imports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(clippy::enum_variant_names)] // "warden on a host dir" reads better than "OnHost"
pub enum Host {
    /// wasi-warden, `/` an in-memory copy of the fixture tree; the store's one instance is
    /// bound (`WasiCtx::bind_sole_instance`), so calls use its memory without a lookup.
    WardenMem,
    /// As `WardenMem`, but unbound: every call asks wasmtime for the caller's memory
    /// export, as `add_to_linker` alone does.
    WardenMemLookup,
    /// wasi-warden, `/` the fixture directory on tmpfs.
    WardenHost,
    /// wasmtime-wasi 50 (`p1::add_to_linker_sync`), `/` the same fixture directory.
    Wasmtime,
    /// The floor: `fd_write` is a host function that does nothing (the guest's other imports
    /// trap).
    Noop,
    /// The floor: `fd_write` reads the iovecs through a `Memory` cached in the store and
    /// discards (or, with a capturing stdout, appends) the bytes; `clock_time_get` reads
    /// `CLOCK_MONOTONIC` and stores it through the same `Memory`.
    Raw,
}

/// Where the guest's stdout goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stdout {
    Discard,
    Capture,
}

/// The tree every filesystem workload runs in, on tmpfs and in memory, plus the compiled
/// guests and the linkers (built once).
pub struct Fixture {
    pub engine: Engine,
    /// The fixture directory: `small.txt`, `big.bin` (64 MiB), `dir1000/` (1,000 empty files).
    pub host: PathBuf,
    /// An in-memory copy of `host`.
    pub mem: MemFs,
    pub warden: Linker<WasiCtx>,
    pub wasmtime: Linker<WasiP1Ctx>,
    noop: Linker<Floor>,
    raw: Linker<Floor>,
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.host);
    }
}

/// A tmpfs directory if there is one (the issue asks for tmpfs), else the system temp dir.
fn scratch_root() -> PathBuf {
    let shm = Path::new("/dev/shm");
    if shm.is_dir() {
        shm.to_path_buf()
    } else {
        std::env::temp_dir()
    }
}

impl Fixture {
    pub fn new() -> Fixture {
        let host = scratch_root().join(format!("wasi-warden-bench-{}", std::process::id()));
        let _ = fs::remove_dir_all(&host);
        fs::create_dir_all(host.join("dir1000")).expect("creating the fixture directory");
        fs::write(host.join("small.txt"), b"a small file\n").unwrap();
        let big: Vec<u8> = (0..BIG).map(|i| (i * 7 + i / 4096) as u8).collect();
        fs::write(host.join("big.bin"), &big).unwrap();
        for i in 0..DIR_ENTRIES {
            fs::write(host.join("dir1000").join(format!("f{i:04}")), b"").unwrap();
        }
        let mem = MemFs::from_host_dir(&host).expect("copying the fixture into memory");

        let engine = Engine::default();
        let mut warden = Linker::new(&engine);
        wasi_warden::add_to_linker(&mut warden, |c: &mut WasiCtx| c).unwrap();
        let mut wasmtime = Linker::new(&engine);
        wasmtime_wasi::p1::add_to_linker_sync(&mut wasmtime, |c: &mut WasiP1Ctx| c).unwrap();
        Fixture {
            noop: floor_linker(&engine, false),
            raw: floor_linker(&engine, true),
            engine,
            host,
            mem,
            warden,
            wasmtime,
        }
    }

    /// Compiles `benches/guests/<name>.wat`.
    pub fn module(&self, name: &str) -> Module {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("benches/guests/{name}.wat"));
        Module::from_file(&self.engine, &path)
            .unwrap_or_else(|e| panic!("compiling {}: {e:?}", path.display()))
    }

    /// A fresh instance of `module` under `host`, its `init(arg)` already called.
    pub fn guest(&self, host: Host, module: &Module, stdout: Stdout, arg: i32) -> Box<dyn Loop> {
        match host {
            Host::WardenMem | Host::WardenMemLookup | Host::WardenHost => {
                let builder = WasiCtx::builder()
                    .stdout(match stdout {
                        Stdout::Discard => Output::null(),
                        Stdout::Capture => Output::capture(),
                    })
                    .system_clocks()
                    .os_random();
                let builder = if host != Host::WardenHost {
                    builder.mount("/", self.mem.clone())
                } else {
                    builder.mount("/", HostDir::open(&self.host).expect("the fixture"))
                };
                let ctx = builder.build();
                let mut store = Store::new(&self.engine, ctx);
                let instance = self
                    .warden
                    .instantiate(&mut store, module)
                    .expect("instantiating");
                if host != Host::WardenMemLookup {
                    let memory = instance.get_memory(&mut store, "memory").unwrap();
                    store.data_mut().bind_sole_instance(memory).unwrap();
                }
                finish(store, &instance, arg)
            }
            Host::Wasmtime => {
                let mut builder = wasmtime_wasi::WasiCtxBuilder::new();
                match stdout {
                    Stdout::Discard => builder.stdout(SinkOutputStream),
                    Stdout::Capture => builder.stdout(MemoryOutputPipe::new(usize::MAX)),
                };
                builder
                    .preopened_dir(&self.host, "/", wasmtime_wasi::FsPerms::ReadWrite)
                    .expect("preopening the fixture");
                start(
                    &self.wasmtime,
                    Store::new(&self.engine, builder.build_p1()),
                    module,
                    arg,
                )
            }
            Host::Noop | Host::Raw => {
                let linker = if host == Host::Noop {
                    &self.noop
                } else {
                    &self.raw
                };
                let state = Floor {
                    memory: None,
                    capture: stdout == Stdout::Capture,
                    sink: Vec::new(),
                };
                let mut store = Store::new(&self.engine, state);
                let instance = linker
                    .instantiate(&mut store, module)
                    .expect("instantiating");
                store.data_mut().memory = instance.get_memory(&mut store, "memory");
                finish(store, &instance, arg)
            }
        }
    }

    /// An in-memory root holding one small file, as a fresh guest would get it.
    pub fn small_mem_root() -> MemFs {
        let fs = MemFs::new();
        let options = OpenOptions {
            create: true,
            write: true,
            ..OpenOptions::default()
        };
        let file = fs.root().open_file("small.txt", options).unwrap();
        file.write_at(b"a small file\n", 0).unwrap();
        fs
    }
}

/// A guest loop ready to be timed.
pub trait Loop {
    /// Calls `run(n)` once (n ≥ 1) and returns how long the call took.
    fn run(&mut self, n: u32) -> Duration;
}

struct Guest<T: 'static> {
    store: Store<T>,
    run: TypedFunc<i32, ()>,
}

impl<T> Loop for Guest<T> {
    fn run(&mut self, n: u32) -> Duration {
        assert!(n >= 1, "the guest loops are do-while loops");
        let n = i32::try_from(n).expect("iteration count");
        let start = Instant::now();
        self.run
            .call(&mut self.store, n)
            .expect("the guest loop trapped");
        start.elapsed()
    }
}

fn start<T>(linker: &Linker<T>, mut store: Store<T>, module: &Module, arg: i32) -> Box<dyn Loop> {
    let instance = linker
        .instantiate(&mut store, module)
        .expect("instantiating");
    finish(store, &instance, arg)
}

fn finish<T>(
    mut store: Store<T>,
    instance: &wasi_warden::wasmtime::Instance,
    arg: i32,
) -> Box<dyn Loop> {
    let init = instance
        .get_typed_func::<i32, ()>(&mut store, "init")
        .unwrap();
    init.call(&mut store, arg).expect("init trapped");
    let run = instance
        .get_typed_func::<i32, ()>(&mut store, "run")
        .unwrap();
    Box::new(Guest { store, run })
}

/// The floor host's state: the guest's memory, looked up once after instantiation.
pub struct Floor {
    memory: Option<Memory>,
    capture: bool,
    sink: Vec<u8>,
}

/// A linker whose `fd_write` is the floor (`raw`: reads guest memory through the cached
/// `Memory`; otherwise a no-op); every other WASI import the guests use traps.
fn floor_linker(engine: &Engine, raw: bool) -> Linker<Floor> {
    let mut linker = Linker::new(engine);
    let m = "wasi_snapshot_preview1";
    if raw {
        linker
            .func_wrap(
                m,
                "fd_write",
                |mut caller: Caller<'_, Floor>, _fd: i32, iovs: i32, n: i32, out: i32| -> i32 {
                    raw_fd_write(&mut caller, iovs as u32, n as u32, out as u32)
                },
            )
            .unwrap();
        linker
            .func_wrap(
                m,
                "clock_time_get",
                |mut caller: Caller<'_, Floor>, _id: i32, _precision: i64, out: i32| -> i32 {
                    raw_clock_time_get(&mut caller, out as u32)
                },
            )
            .unwrap();
    } else {
        linker
            .func_wrap(
                m,
                "fd_write",
                |_: Caller<'_, Floor>, _: i32, _: i32, _: i32, _: i32| 0i32,
            )
            .unwrap();
    }
    linker
}

/// The least a correct `fd_write` does: bounds-checked reads of the iovecs and buffers, the
/// bytes handed to the sink, the count written back. Returns EFAULT (21) on a bad pointer.
fn raw_fd_write(caller: &mut Caller<'_, Floor>, iovs: u32, n: u32, out: u32) -> i32 {
    let Some(memory) = caller.data().memory else {
        return 21;
    };
    let (mem, state) = memory.data_and_store_mut(caller);
    let word = |mem: &[u8], at: u32| -> Option<u32> {
        let at = at as usize;
        Some(u32::from_le_bytes(
            mem.get(at..at.checked_add(4)?)?.try_into().ok()?,
        ))
    };
    let mut total = 0u32;
    for i in 0..n {
        let at = iovs.wrapping_add(i.wrapping_mul(8));
        let (Some(ptr), Some(len)) = (word(mem, at), word(mem, at.wrapping_add(4))) else {
            return 21;
        };
        let Some(bytes) = mem.get(ptr as usize..(ptr as usize).saturating_add(len as usize)) else {
            return 21;
        };
        if state.capture {
            state.sink.extend_from_slice(bytes);
        } else {
            std::hint::black_box(bytes);
        }
        total = total.wrapping_add(len);
    }
    match mem.get_mut(out as usize..(out as usize).saturating_add(4)) {
        Some(slot) => {
            slot.copy_from_slice(&total.to_le_bytes());
            0
        }
        None => 21,
    }
}

/// The least a correct `clock_time_get` of the monotonic clock does: read it, store the
/// nanoseconds in bounds. Returns EFAULT (21) on a bad pointer.
fn raw_clock_time_get(caller: &mut Caller<'_, Floor>, out: u32) -> i32 {
    let Some(memory) = caller.data().memory else {
        return 21;
    };
    let now = rustix::time::clock_gettime(rustix::time::ClockId::Monotonic);
    let nanos = (now.tv_sec as u64)
        .wrapping_mul(1_000_000_000)
        .wrapping_add(now.tv_nsec as u64);
    let mem = memory.data_mut(caller);
    match mem.get_mut(out as usize..(out as usize).saturating_add(8)) {
        Some(slot) => {
            slot.copy_from_slice(&nanos.to_le_bytes());
            0
        }
        None => 21,
    }
}

/// A pre-built `WasiCtx` factory for the instantiation benchmark: an in-memory root with one
/// small file and a captured stdout, built from scratch each time.
pub fn small_warden_ctx() -> WasiCtx {
    WasiCtx::builder()
        .stdout(Output::capture())
        .mount("/", Fixture::small_mem_root())
        .build()
}

/// wasmtime-wasi's context for the same benchmark: no filesystem, default stdio.
pub fn small_wasmtime_ctx() -> WasiP1Ctx {
    wasmtime_wasi::WasiCtxBuilder::new().build_p1()
}
