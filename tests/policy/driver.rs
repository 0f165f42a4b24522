//! A raw-ABI driver for policy tests: a WAT module that re-exports thin wrappers around the
//! imports, so a test calls any syscall with any arguments through a real instance (our linker,
//! our gate) and reads guest memory back. No wasm toolchain needed.
#![allow(dead_code)]

use wasi_warden::WasiCtx;
use wasi_warden::wasmtime::{self, Engine, Instance, Linker, Memory, Module, Store, Val, ValType};

/// (import name, parameter types as `i`/`I` for i32/i64). Every import returns an errno.
pub const IMPORTS: &[(&str, &str)] = &[
    ("args_sizes_get", "ii"),
    ("clock_time_get", "iIi"),
    ("fd_close", "i"),
    ("fd_fdstat_set_flags", "ii"),
    ("fd_filestat_get", "ii"),
    ("fd_read", "iiii"),
    ("fd_readdir", "iiiIi"),
    ("fd_write", "iiii"),
    ("path_create_directory", "iii"),
    ("path_filestat_get", "iiiii"),
    ("path_link", "iiiiiii"),
    ("path_open", "iiiiiIIii"),
    ("path_readlink", "iiiiii"),
    ("path_rename", "iiiiii"),
    ("path_symlink", "iiiii"),
    ("path_unlink_file", "iii"),
    ("poll_oneoff", "iiii"),
    ("proc_raise", "i"),
    ("random_get", "ii"),
    ("sched_yield", ""),
    ("sock_accept", "iii"),
    ("sock_recv", "iiiiii"),
    ("sock_send", "iiiii"),
    ("sock_shutdown", "ii"),
];

fn ty(c: char) -> &'static str {
    if c == 'I' { "i64" } else { "i32" }
}

/// The driver module's text: every import, wrapped and exported under its own name.
pub fn wat() -> String {
    let mut text = String::from("(module\n");
    for (name, params) in IMPORTS {
        let ps: Vec<&str> = params.chars().map(ty).collect();
        text += &format!(
            "  (import \"wasi_snapshot_preview1\" \"{name}\" (func ${name} (param {}) (result i32)))\n",
            ps.join(" ")
        );
    }
    text += "  (memory (export \"memory\") 1)\n";
    for (name, params) in IMPORTS {
        let ps: Vec<&str> = params.chars().map(ty).collect();
        let gets: String = (0..ps.len()).map(|i| format!(" (local.get {i})")).collect();
        text += &format!(
            "  (func (export \"{name}\") (param {}) (result i32) (call ${name}{gets}))\n",
            ps.join(" ")
        );
    }
    text + ")\n"
}

/// Scratch addresses in guest memory.
pub const PATH1: usize = 1024;
pub const PATH2: usize = 2048;
pub const OUT: usize = 512;
pub const IOV: usize = 64;
pub const BUF: usize = 4096;

/// One guest instance of the driver.
pub struct Driver {
    pub store: Store<WasiCtx>,
    instance: Instance,
    memory: Memory,
}

impl Driver {
    pub fn new(ctx: WasiCtx) -> Driver {
        let engine = Engine::default();
        let module = Module::new(&engine, wat()).expect("driver module compiles");
        let mut linker = Linker::new(&engine);
        wasi_warden::add_to_linker(&mut linker, |s: &mut WasiCtx| s).unwrap();
        let mut store = Store::new(&engine, ctx);
        let instance = linker.instantiate(&mut store, &module).unwrap();
        let memory = instance.get_memory(&mut store, "memory").unwrap();
        Driver {
            store,
            instance,
            memory,
        }
    }

    /// Calls import `name`: `Ok(errno)`, or the trap.
    pub fn call(&mut self, name: &str, args: &[i64]) -> wasmtime::Result<i32> {
        let func = self.instance.get_func(&mut self.store, name).unwrap();
        let params: Vec<ValType> = func.ty(&self.store).params().collect();
        assert_eq!(params.len(), args.len(), "{name}: argument count");
        let vals: Vec<Val> = params
            .iter()
            .zip(args)
            .map(|(t, a)| match t {
                ValType::I64 => Val::I64(*a),
                _ => Val::I32(*a as i32),
            })
            .collect();
        let mut out = [Val::I32(0)];
        func.call(&mut self.store, &vals, &mut out)?;
        Ok(out[0].unwrap_i32())
    }

    /// Calls import `name` and expects an errno, not a trap.
    pub fn errno(&mut self, name: &str, args: &[i64]) -> i32 {
        self.call(name, args)
            .unwrap_or_else(|e| panic!("{name} trapped: {e:?}"))
    }

    pub fn put(&mut self, at: usize, bytes: &[u8]) {
        self.memory.write(&mut self.store, at, bytes).unwrap();
    }

    pub fn get(&self, at: usize, len: usize) -> Vec<u8> {
        self.memory.data(&self.store)[at..at + len].to_vec()
    }

    pub fn u32_at(&self, at: usize) -> u32 {
        u32::from_le_bytes(self.get(at, 4).try_into().unwrap())
    }

    /// Writes `path` at `at` and returns (ptr, len) as call arguments.
    pub fn path(&mut self, at: usize, path: &str) -> [i64; 2] {
        self.put(at, path.as_bytes());
        [at as i64, path.len() as i64]
    }

    /// `path_open(dirfd, path, oflags, rights)`: the new fd, or the errno.
    pub fn open(&mut self, dirfd: u32, path: &str, oflags: i64, rights: i64) -> Result<u32, i32> {
        let [p, l] = self.path(PATH1, path);
        let args = [dirfd as i64, 1, p, l, oflags, rights, rights, 0, OUT as i64];
        match self.errno("path_open", &args) {
            0 => Ok(self.u32_at(OUT)),
            errno => Err(errno),
        }
    }

    /// One iovec at IOV pointing at BUF with `len` bytes; returns (iovs, 1).
    pub fn iov(&mut self, data: &[u8], len: usize) -> [i64; 2] {
        self.put(BUF, data);
        let mut iov = (BUF as u32).to_le_bytes().to_vec();
        iov.extend((len as u32).to_le_bytes());
        self.put(IOV, &iov);
        [IOV as i64, 1]
    }
}

/// preview1 constants the tests use.
pub mod abi {
    pub const FD_READ: i64 = 1 << 1;
    pub const FD_WRITE: i64 = 1 << 6;
    pub const FD_READDIR: i64 = 1 << 14;
    pub const CREAT: i64 = 1;
    pub const DIRECTORY: i64 = 2;
    pub const SYMLINK_FOLLOW: i64 = 1;
    pub const EACCES: i32 = 2;
    pub const EPERM: i32 = 63;
    pub const ENOTCAPABLE: i32 = 76;
    pub const ENOENT: i32 = 44;
    pub const ENOTSUP: i32 = 58;
}
