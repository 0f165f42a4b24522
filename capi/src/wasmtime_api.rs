//! The host's libwasmtime, as far as we call it: the C API functions `ww_init` resolves from
//! the library the host already loaded (never a second wasmtime of ours), and the few C types
//! whose layout we rely on. The layouts are those of wasmtime's headers from 38 to 50, where
//! they did not change: `wasmtime_extern_t` (32 bytes) is a one-byte kind then a union at
//! offset 8, a memory is `{ struct { uint64_t store_id; uint32_t; }; uint32_t; }` (24 bytes:
//! the inner struct is padded to 16), a raw value is 16 bytes.

use std::ffi::c_void;
use std::sync::OnceLock;

/// `wasm_byte_vec_t` (and every `wasm_*_vec_t`): size first, then data.
#[repr(C)]
pub struct WasmVec {
    pub size: usize,
    pub data: *mut c_void,
}

/// `wasmtime_memory_t`: `store_id` is documented ("never zero"); the rest is wasmtime's.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Memory {
    pub head: MemoryHead,
    private2: u32,
}

/// The anonymous inner struct of `wasmtime_memory_t`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemoryHead {
    pub store_id: u64,
    private1: u32,
}

/// `wasmtime_extern_t`, with room for the largest union member of any version we support.
const _: () = assert!(std::mem::size_of::<Memory>() == 24 && std::mem::size_of::<ValRaw>() == 16);
#[repr(C)]
pub struct Extern {
    pub kind: u8,
    pub of: ExternUnion,
}

/// The union of `wasmtime_extern_t`: only the memory is read, the rest is room.
#[repr(C)]
pub union ExternUnion {
    pub memory: Memory,
    room: [u64; 6],
}

/// `WASMTIME_EXTERN_MEMORY` and `WASMTIME_EXTERN_SHAREDMEMORY`.
pub const EXTERN_MEMORY: u8 = 3;
pub const EXTERN_SHAREDMEMORY: u8 = 4;

/// `WASM_I32`, `WASM_I64` (`wasm_valkind_t`).
pub const WASM_I32: u8 = 0;
pub const WASM_I64: u8 = 1;

/// `wasmtime_val_raw_t`: 16 bytes; an `i32` lives in the low 4 (little-endian targets).
#[repr(C, align(8))]
#[derive(Clone, Copy)]
pub struct ValRaw {
    pub bytes: [u8; 16],
}

impl ValRaw {
    pub fn i32(&self) -> i32 {
        i32::from_le_bytes([self.bytes[0], self.bytes[1], self.bytes[2], self.bytes[3]])
    }

    pub fn i64(&self) -> i64 {
        let mut low = [0u8; 8];
        low.copy_from_slice(&self.bytes[..8]);
        i64::from_le_bytes(low)
    }

    /// Stores an `i32` result as wasmtime does: zero-extended into the first 8 bytes.
    pub fn set_i32(&mut self, value: i32) {
        self.bytes = [0; 16];
        self.bytes[..8].copy_from_slice(&u64::from(value as u32).to_le_bytes());
    }
}

/// `wasmtime_func_unchecked_callback_t`.
pub type UncheckedCallback = unsafe extern "C" fn(
    env: *mut c_void,
    caller: *mut c_void,
    args_and_results: *mut ValRaw,
    num_args_and_results: usize,
) -> *mut c_void;

/// The functions we call, resolved once per process.
pub struct Api {
    pub valtype_new: unsafe extern "C" fn(u8) -> *mut c_void,
    pub valtype_vec_new: unsafe extern "C" fn(*mut WasmVec, usize, *const *mut c_void),
    pub functype_new: unsafe extern "C" fn(*mut WasmVec, *mut WasmVec) -> *mut c_void,
    pub functype_delete: unsafe extern "C" fn(*mut c_void),
    pub byte_vec_delete: unsafe extern "C" fn(*mut WasmVec),
    #[allow(clippy::type_complexity)]
    pub linker_define_func_unchecked: unsafe extern "C" fn(
        *mut c_void,
        *const u8,
        usize,
        *const u8,
        usize,
        *const c_void,
        UncheckedCallback,
        *mut c_void,
        Option<unsafe extern "C" fn(*mut c_void)>,
    ) -> *mut c_void,
    pub caller_context: unsafe extern "C" fn(*mut c_void) -> *mut c_void,
    pub caller_export_get: unsafe extern "C" fn(*mut c_void, *const u8, usize, *mut Extern) -> bool,
    pub extern_delete: unsafe extern "C" fn(*mut Extern),
    pub memory_data: unsafe extern "C" fn(*const c_void, *const Memory) -> *mut u8,
    pub memory_data_size: unsafe extern "C" fn(*const c_void, *const Memory) -> usize,
    pub trap_new: unsafe extern "C" fn(*const u8, usize) -> *mut c_void,
    pub error_message: unsafe extern "C" fn(*const c_void, *mut WasmVec),
    pub error_delete: unsafe extern "C" fn(*mut c_void),
}

/// The resolved API and the address that identifies the library it came from.
static API: OnceLock<(Api, usize)> = OnceLock::new();

/// The API, once `ww_init` succeeded.
pub fn api() -> Result<&'static Api, String> {
    API.get()
        .map(|(api, _)| api)
        .ok_or_else(|| "ww_init has not been called (or failed)".to_string())
}

/// Resolves every function from `library`; kept for the process's lifetime (never closed, as
/// the host's wasmtime objects live there too). A second call must name the same library.
pub fn init(library: Library) -> Result<(), String> {
    let (api, identity) = resolve(&library)?;
    // Never unloaded: imports defined on the host's linkers point into it until the process ends.
    std::mem::forget(library);
    let (_, first) = API.get_or_init(|| (api, identity));
    if *first != identity {
        return Err("ww_init was already called with another libwasmtime".to_string());
    }
    Ok(())
}

/// A library to resolve from: platform-specific, from a handle, a path or the process.
pub type Library = libloading::Library;

/// `library` as the handle the host loaded it with, or the process's own symbols (NULL).
pub fn from_handle(handle: *mut c_void) -> Result<Library, String> {
    #[cfg(unix)]
    {
        use libloading::os::unix;
        let library = if handle.is_null() {
            unix::Library::this()
        } else {
            // SAFETY: the host passes a handle `dlopen` returned; we never close it.
            unsafe { unix::Library::from_raw(handle) }
        };
        Ok(library.into())
    }
    #[cfg(windows)]
    {
        use libloading::os::windows;
        let library = if handle.is_null() {
            windows::Library::open_already_loaded("wasmtime.dll")
                .map_err(|e| format!("no loaded wasmtime.dll in this process: {e}"))?
        } else {
            // SAFETY: the host passes an `HMODULE`; we never free it.
            unsafe { windows::Library::from_raw(handle as _) }
        };
        Ok(library.into())
    }
}

/// The library at `path`, loaded (or found, when already loaded) by the platform's loader.
pub fn from_path(path: &str) -> Result<Library, String> {
    // SAFETY: loading runs the library's initialisers; libwasmtime's are the host's choice.
    unsafe { Library::new(path) }.map_err(|e| format!("cannot load {path}: {e}"))
}

fn resolve(library: &Library) -> Result<(Api, usize), String> {
    macro_rules! get {
        ($name:literal) => {{
            // SAFETY: each symbol is declared with the signature wasmtime's headers give it.
            let symbol = unsafe { library.get(concat!($name, "\0").as_bytes()) }.map_err(|_| {
                format!(
                    "the library has no {} (is it libwasmtime with its C API, version 38 or later?)",
                    $name
                )
            })?;
            *symbol
        }};
    }
    let api = Api {
        valtype_new: get!("wasm_valtype_new"),
        valtype_vec_new: get!("wasm_valtype_vec_new"),
        functype_new: get!("wasm_functype_new"),
        functype_delete: get!("wasm_functype_delete"),
        byte_vec_delete: get!("wasm_byte_vec_delete"),
        linker_define_func_unchecked: get!("wasmtime_linker_define_func_unchecked"),
        caller_context: get!("wasmtime_caller_context"),
        caller_export_get: get!("wasmtime_caller_export_get"),
        extern_delete: get!("wasmtime_extern_delete"),
        memory_data: get!("wasmtime_memory_data"),
        memory_data_size: get!("wasmtime_memory_data_size"),
        trap_new: get!("wasmtime_trap_new"),
        error_message: get!("wasmtime_error_message"),
        error_delete: get!("wasmtime_error_delete"),
    };
    let identity = api.linker_define_func_unchecked as usize;
    Ok((api, identity))
}

impl Api {
    /// A wasmtime error's message; frees the error.
    ///
    /// # Safety
    /// `error` is a `wasmtime_error_t *` the caller owns.
    pub unsafe fn take_error(&self, error: *mut c_void) -> String {
        let mut message = WasmVec {
            size: 0,
            data: std::ptr::null_mut(),
        };
        // SAFETY: as the caller promised; the message vec is ours to free.
        unsafe {
            (self.error_message)(error, &mut message);
            let text = if message.data.is_null() {
                String::new()
            } else {
                let bytes = std::slice::from_raw_parts(message.data as *const u8, message.size);
                String::from_utf8_lossy(bytes).into_owned()
            };
            (self.byte_vec_delete)(&mut message);
            (self.error_delete)(error);
            text
        }
    }

    /// A new trap with `message`, owned by whoever we hand it to (wasmtime, for a callback).
    pub fn trap(&self, message: &str) -> *mut c_void {
        // SAFETY: wasmtime copies the message.
        unsafe { (self.trap_new)(message.as_ptr(), message.len()) }
    }
}
