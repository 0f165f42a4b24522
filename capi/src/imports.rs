//! The 46 imports on the host's linker: one unchecked host function per row of the core's
//! signature table, all served by [`trampoline`], which finds the store's context and the
//! caller's memory and runs the core's entry point for the row (`warden::entry::call`), the
//! same code the Rust linker runs. This file only decodes wasmtime's calling convention and
//! turns the core's errors into traps.

use crate::ctx::{
    self, NOT_ATTACHED, STOP_ERROR, STOP_EXIT, STOP_LIMIT, STOP_POLICY, STOP_TRAP, Stop,
};
use crate::guard::{Failure, panic_message};
use crate::wasmtime_api::{
    Api, EXTERN_MEMORY, EXTERN_SHAREDMEMORY, Extern, ValRaw, WASM_I32, WASM_I64, WasmVec, api,
};
use std::ffi::c_void;
use std::panic::{AssertUnwindSafe, catch_unwind};
use warden::entry::{MODULE, RawType, SIGNATURES};
use warden::{I32Exit, LimitStop, PolicyTrap};

/// The most parameters any import takes (`path_open`: 9).
const MAX_PARAMS: usize = 16;

/// Defines every import in `linker` (a `wasmtime_linker_t *`).
pub fn define(linker: *mut c_void) -> Result<(), Failure> {
    let api = api()?;
    for (index, signature) in SIGNATURES.iter().enumerate() {
        let params: Vec<u8> = signature
            .params
            .iter()
            .map(|ty| match ty {
                RawType::I32 => WASM_I32,
                RawType::I64 => WASM_I64,
            })
            .collect();
        let results: &[u8] = if signature.returns_errno {
            &[WASM_I32]
        } else {
            &[]
        };
        // SAFETY: the C API's own constructors; the functype owns the valtypes and is freed
        // after the definition (the linker keeps its own copy).
        unsafe {
            let ty = functype(api, &params, results);
            let error = (api.linker_define_func_unchecked)(
                linker,
                MODULE.as_ptr(),
                MODULE.len(),
                signature.name.as_ptr(),
                signature.name.len(),
                ty,
                trampoline,
                // The row's index is the callback's env: nothing to free.
                index as *mut c_void,
                None,
            );
            (api.functype_delete)(ty);
            if !error.is_null() {
                let message = api.take_error(error);
                return Err(format!("cannot define {}: {message}", signature.name));
            }
        }
    }
    Ok(())
}

/// A `wasm_functype_t *` of raw value kinds.
///
/// # Safety
/// `api` is the host's C API.
unsafe fn functype(api: &Api, params: &[u8], results: &[u8]) -> *mut c_void {
    let vec = |kinds: &[u8]| {
        // SAFETY: each valtype is moved into the vec, which copies the pointers.
        let types: Vec<*mut c_void> = kinds
            .iter()
            .map(|&k| unsafe { (api.valtype_new)(k) })
            .collect();
        let mut out = WasmVec {
            size: 0,
            data: std::ptr::null_mut(),
        };
        unsafe { (api.valtype_vec_new)(&mut out, types.len(), types.as_ptr()) };
        out
    };
    let mut params = vec(params);
    let mut results = vec(results);
    // SAFETY: `wasm_functype_new` takes both vecs' contents.
    unsafe { (api.functype_new)(&mut params, &mut results) }
}

/// Every import's callback: `env` is its row in [`SIGNATURES`].
unsafe extern "C" fn trampoline(
    env: *mut c_void,
    caller: *mut c_void,
    args_and_results: *mut ValRaw,
    len: usize,
) -> *mut c_void {
    let index = env as usize;
    // SAFETY: wasmtime calls us with its caller and a buffer of `len` values.
    let served = catch_unwind(AssertUnwindSafe(|| unsafe {
        serve(index, caller, args_and_results, len)
    }));
    let message = match served {
        Ok(Ok(())) => return std::ptr::null_mut(),
        Ok(Err(message)) => message,
        Err(panic) => {
            let name = SIGNATURES.get(index).map_or("an import", |s| s.name);
            format!(
                "wasi-warden: internal error in {name}: {}",
                panic_message(&panic)
            )
        }
    };
    match api() {
        Ok(api) => api.trap(&message),
        // Unreachable: the imports exist only after `ww_init`. Nothing to trap with.
        Err(_) => std::ptr::null_mut(),
    }
}

/// One call: its context, its memory, the core's entry point, the result or a stop.
///
/// # Safety
/// As `trampoline`'s caller promises.
unsafe fn serve(
    index: usize,
    caller: *mut c_void,
    slots: *mut ValRaw,
    len: usize,
) -> Result<(), Failure> {
    let api = api()?;
    let signature = SIGNATURES
        .get(index)
        .ok_or("wasi-warden: an import with an unknown index was called")?;
    let params = signature.params.len();
    if params > MAX_PARAMS
        || len < params.max(usize::from(signature.returns_errno))
        || slots.is_null()
    {
        return Err(format!(
            "wasi-warden: {} was called with {len} values",
            signature.name
        ));
    }
    // SAFETY: wasmtime hands us `len` values, read and written in place.
    let slots = unsafe { std::slice::from_raw_parts_mut(slots, len) };
    // SAFETY: the caller is valid during the callback; the context it names lives as long.
    let context = unsafe { (api.caller_context)(caller) };
    let shared = ctx::find(context as usize).ok_or(NOT_ATTACHED)?;
    let stop = |kind: i32, exit_code: i32, message: String| {
        shared.record_stop(Stop {
            kind,
            exit_code,
            message: message.clone(),
        });
        message
    };
    let mut guest = match shared.guest.try_lock() {
        Ok(guest) => guest,
        Err(std::sync::TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
        Err(std::sync::TryLockError::WouldBlock) => {
            return Err(stop(
                STOP_ERROR,
                1,
                "wasi-warden: the context is in use by another call (a callback called the guest, \
                 or two stores share one context)"
                    .to_string(),
            ));
        }
    };
    let memory = match guest.bound {
        Some(memory) => memory,
        None => {
            let mut found = Extern {
                kind: u8::MAX,
                // SAFETY: plain integers; wasmtime overwrites what it returns.
                of: unsafe { std::mem::zeroed() },
            };
            // SAFETY: a valid caller and a buffer as large as any `wasmtime_extern_t`.
            let exists =
                unsafe { (api.caller_export_get)(caller, b"memory".as_ptr(), 6, &mut found) };
            let kind = found.kind;
            if exists && kind != EXTERN_MEMORY {
                // SAFETY: what wasmtime gave us, given back (a shared memory is owned).
                unsafe { (api.extern_delete)(&mut found) };
            }
            if !exists || kind != EXTERN_MEMORY {
                let message = if exists && kind == EXTERN_SHAREDMEMORY {
                    "wasi-warden does not support shared guest memory"
                } else {
                    "wasi-warden: the guest has no exported memory named \"memory\""
                };
                return Err(stop(STOP_ERROR, 1, message.to_string()));
            }
            // SAFETY: the kind says the union holds a memory.
            let memory = unsafe { found.of.memory };
            if guest.store_id == 0 {
                guest.store_id = memory.head.store_id;
            } else if guest.store_id != memory.head.store_id {
                // The store this context served was freed and another took its address: the
                // context is not this store's.
                drop(guest);
                ctx::detach(&shared);
                return Err(NOT_ATTACHED.to_string());
            }
            memory
        }
    };
    // SAFETY: the memory belongs to the calling store (checked above, or promised by the
    // host's bind); its bytes stay put during the call, as no wasm runs until we return.
    let bytes: &mut [u8] = unsafe {
        let data = (api.memory_data)(context, &memory);
        let size = (api.memory_data_size)(context, &memory);
        if data.is_null() || size == 0 {
            &mut []
        } else {
            std::slice::from_raw_parts_mut(data, size)
        }
    };
    let mut raw = [0i64; MAX_PARAMS];
    for ((value, ty), slot) in raw.iter_mut().zip(signature.params).zip(slots.iter()) {
        *value = match ty {
            RawType::I32 => i64::from(slot.i32()),
            RawType::I64 => slot.i64(),
        };
    }
    match warden::entry::call(&mut guest.wasi, bytes, index, &raw[..params]) {
        Ok(errno) => {
            if signature.returns_errno {
                slots[0].set_i32(errno);
            }
            Ok(())
        }
        Err(error) => {
            drop(guest);
            let message = format!("wasi-warden: {error}");
            if let Some(exit) = error.downcast_ref::<I32Exit>() {
                return Err(stop(STOP_EXIT, exit.0, message));
            }
            let kind = if LimitStop::of(&error).is_some() {
                STOP_LIMIT
            } else if error.downcast_ref::<PolicyTrap>().is_some() {
                STOP_POLICY
            } else {
                STOP_TRAP
            };
            Err(stop(kind, 1, message))
        }
    }
}
