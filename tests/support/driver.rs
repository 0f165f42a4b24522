//! A syscall driver with no guest program: a tiny WAT module that imports every preview1
//! function and re-exports a thin wrapper of each (plus its memory), so a test or a fuzz target
//! can write arguments into guest memory and call any import directly, as a guest would.
//! Shared by `tests/model.rs`, `tests/fuzz_replay.rs` and `fuzz/` (included there by `#[path]`),
//! so it depends on nothing but the public API of wasi-warden.
#![allow(dead_code)] // each includer uses a different subset

use std::sync::OnceLock;
use wasi_warden::WasiCtx;
use wasi_warden::wasmtime::{self, Engine, Instance, Memory, Module, Store, Val};

/// Guest memory the driver module has (and can never grow past): one 64 KiB page.
pub const MEMORY_SIZE: u32 = 65536;

/// Every `wasi_snapshot_preview1` import: its name and its core-wasm parameter types
/// (`'i'` = i32, `'I'` = i64). All return an i32 errno except `proc_exit`.
pub const IMPORTS: &[(&str, &str)] = &[
    ("args_get", "ii"),
    ("args_sizes_get", "ii"),
    ("environ_get", "ii"),
    ("environ_sizes_get", "ii"),
    ("clock_res_get", "ii"),
    ("clock_time_get", "iIi"),
    ("fd_advise", "iIIi"),
    ("fd_allocate", "iII"),
    ("fd_close", "i"),
    ("fd_datasync", "i"),
    ("fd_fdstat_get", "ii"),
    ("fd_fdstat_set_flags", "ii"),
    ("fd_fdstat_set_rights", "iII"),
    ("fd_filestat_get", "ii"),
    ("fd_filestat_set_size", "iI"),
    ("fd_filestat_set_times", "iIIi"),
    ("fd_pread", "iiiIi"),
    ("fd_prestat_get", "ii"),
    ("fd_prestat_dir_name", "iii"),
    ("fd_pwrite", "iiiIi"),
    ("fd_read", "iiii"),
    ("fd_readdir", "iiiIi"),
    ("fd_renumber", "ii"),
    ("fd_seek", "iIii"),
    ("fd_sync", "i"),
    ("fd_tell", "ii"),
    ("fd_write", "iiii"),
    ("path_create_directory", "iii"),
    ("path_filestat_get", "iiiii"),
    ("path_filestat_set_times", "iiiiIIi"),
    ("path_link", "iiiiiii"),
    ("path_open", "iiiiiIIii"),
    ("path_readlink", "iiiiii"),
    ("path_remove_directory", "iii"),
    ("path_rename", "iiiiii"),
    ("path_symlink", "iiiii"),
    ("path_unlink_file", "iii"),
    ("poll_oneoff", "iiii"),
    ("proc_exit", "i"),
    ("proc_raise", "i"),
    ("sched_yield", ""),
    ("random_get", "ii"),
    ("sock_accept", "iii"),
    ("sock_recv", "iiiiii"),
    ("sock_send", "iiiii"),
    ("sock_shutdown", "ii"),
];

/// The driver module's text: for each import `$f`, an export `f` with the same signature whose
/// body is `local.get 0 … call $f`.
pub fn driver_wat() -> String {
    let mut imports = String::new();
    let mut wrappers = String::new();
    for (name, params) in IMPORTS {
        let types: Vec<&str> = params
            .chars()
            .map(|c| if c == 'I' { "i64" } else { "i32" })
            .collect();
        let param = if types.is_empty() {
            String::new()
        } else {
            format!("(param {})", types.join(" "))
        };
        let result = if *name == "proc_exit" {
            ""
        } else {
            "(result i32)"
        };
        let gets: String = (0..types.len())
            .map(|i| format!("local.get {i} "))
            .collect();
        imports.push_str(&format!(
            "(import \"wasi_snapshot_preview1\" \"{name}\" (func ${name} {param} {result}))\n"
        ));
        wrappers.push_str(&format!(
            "(func (export \"{name}\") {param} {result} {gets} call ${name})\n"
        ));
    }
    format!("(module\n{imports}(memory (export \"memory\") 1 1)\n{wrappers})")
}

/// One engine and the compiled driver module for the whole process.
fn compiled() -> &'static (Engine, Module) {
    static COMPILED: OnceLock<(Engine, Module)> = OnceLock::new();
    COMPILED.get_or_init(|| {
        let engine = Engine::default();
        let module = Module::new(&engine, driver_wat()).expect("the driver module compiles");
        (engine, module)
    })
}

/// How one raw call ended: the i32 it returned, or the error that stopped it (a trap, a
/// `proc_exit`, or a host error).
pub type RawResult = Result<i32, wasmtime::Error>;

/// One instance of the driver module over one `WasiCtx`.
pub struct Driver {
    store: Store<WasiCtx>,
    instance: Instance,
    memory: Memory,
}

impl Driver {
    /// Instantiates the driver module with `ctx` behind every import.
    pub fn new(ctx: WasiCtx) -> Driver {
        let (engine, module) = compiled();
        let mut linker = wasmtime::Linker::new(engine);
        wasi_warden::add_to_linker(&mut linker, |s: &mut WasiCtx| s).expect("add_to_linker");
        let mut store = Store::new(engine, ctx);
        let instance = linker
            .instantiate(&mut store, module)
            .expect("instantiating the driver module");
        let memory = instance
            .get_memory(&mut store, "memory")
            .expect("the driver exports its memory");
        Driver {
            store,
            instance,
            memory,
        }
    }

    /// The context behind the imports.
    pub fn ctx(&self) -> &WasiCtx {
        self.store.data()
    }

    /// All of guest memory.
    pub fn memory(&self) -> &[u8] {
        self.memory.data(&self.store)
    }

    /// All of guest memory, writable.
    pub fn memory_mut(&mut self) -> &mut [u8] {
        self.memory.data_mut(&mut self.store)
    }

    /// Copies `bytes` to guest address `addr` (clipped at the end of memory).
    pub fn write(&mut self, addr: u32, bytes: &[u8]) {
        let mem = self.memory_mut();
        let start = (addr as usize).min(mem.len());
        let n = bytes.len().min(mem.len() - start);
        mem[start..start + n].copy_from_slice(&bytes[..n]);
    }

    /// `len` bytes at guest address `addr` (clipped at the end of memory).
    pub fn read(&self, addr: u32, len: u32) -> Vec<u8> {
        let mem = self.memory();
        let start = (addr as usize).min(mem.len());
        let end = start.saturating_add(len as usize).min(mem.len());
        mem[start..end].to_vec()
    }

    /// The little-endian u32 at `addr`.
    pub fn u32_at(&self, addr: u32) -> u32 {
        let b = self.read(addr, 4);
        u32::from_le_bytes([b[0], b[1], b[2], b[3]])
    }

    /// The little-endian u64 at `addr`.
    pub fn u64_at(&self, addr: u32) -> u64 {
        let b = self.read(addr, 8);
        let mut a = [0u8; 8];
        a.copy_from_slice(&b);
        u64::from_le_bytes(a)
    }

    /// Calls the wrapper of import `name` with `args` (which must match its signature).
    pub fn call(&mut self, name: &str, args: &[Val]) -> RawResult {
        let func = self
            .instance
            .get_func(&mut self.store, name)
            .unwrap_or_else(|| panic!("the driver has no export {name}"));
        let mut results = [Val::I32(0)];
        let n = func.ty(&self.store).results().len();
        func.call(&mut self.store, args, &mut results[..n])?;
        Ok(results[0].unwrap_i32())
    }

    /// Calls `name` with i32/i64 arguments given as u64s, converted by the import's signature.
    pub fn call_raw(&mut self, name: &str, args: &[u64]) -> RawResult {
        let params = IMPORTS
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, p)| *p)
            .unwrap_or_else(|| panic!("unknown import {name}"));
        let vals: Vec<Val> = params
            .chars()
            .zip(args.iter().copied().chain(std::iter::repeat(0)))
            .map(|(t, v)| match t {
                'I' => Val::I64(v as i64),
                _ => Val::I32(v as u32 as i32),
            })
            .collect();
        self.call(name, &vals)
    }

    /// Like [`Driver::call_raw`] for calls that must not trap: the errno (0 = success).
    pub fn errno(&mut self, name: &str, args: &[u64]) -> u16 {
        match self.call_raw(name, args) {
            Ok(v) => u16::try_from(v).unwrap_or_else(|_| panic!("{name} returned {v}")),
            Err(e) => panic!("{name}{args:?} trapped: {e:?}"),
        }
    }
}
