//! wasi-warden's C API (`capi/include/wasi_warden.h`): the core's preview1 imports defined on
//! the linker of the host's own libwasmtime, through wasmtime's C API, for every host that
//! reaches wasmtime through it (.NET, Python, Go, C, C++). Layers:
//!
//! - `wasmtime_api.rs`: the C API functions we call, resolved from the host's library;
//! - `imports.rs`: the 46 imports and the one trampoline that serves them;
//! - `ctx.rs`: `ww_ctx_t`, the registry that finds a store's context, the outcome;
//! - `config.rs`, `callbacks.rs`, `pipe.rs`: what the host grants, and its callbacks;
//! - `guard.rs`: the FFI discipline (panics caught, pointers checked), errors and buffers.
//!
//! Nothing here implements a syscall: each import runs `warden::entry::call`, as the Rust
//! linker does.

mod callbacks;
mod config;
mod ctx;
mod guard;
mod imports;
mod pipe;
mod wasmtime_api;

use guard::{WwError, guard, text};
use std::ffi::{c_char, c_void};

/// `ww_version`.
#[unsafe(no_mangle)]
pub extern "C" fn ww_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr() as *const c_char
}

/// `ww_init`.
///
/// # Safety
/// `library` is NULL or a handle the platform's loader returned, still loaded.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ww_init(library: *mut c_void) -> *mut WwError {
    guard(|| wasmtime_api::init(wasmtime_api::from_handle(library)?))
}

/// `ww_init_path`.
///
/// # Safety
/// `(path, len)` is readable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ww_init_path(path: *const c_char, len: usize) -> *mut WwError {
    guard(|| {
        // SAFETY: as the caller promised.
        let path = unsafe { text(path, len, "the library's path")? };
        wasmtime_api::init(wasmtime_api::from_path(path)?)
    })
}

/// `ww_linker_define`.
///
/// # Safety
/// `linker` is NULL or a live `wasmtime_linker_t` of the library `ww_init` found.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ww_linker_define(linker: *mut c_void) -> *mut WwError {
    guard(|| {
        if linker.is_null() {
            return Err("linker is NULL".to_string());
        }
        imports::define(linker)
    })
}
