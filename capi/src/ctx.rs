//! `ww_ctx_t`: one guest's `WasiCtx` and the store it serves. Imports find it from the store
//! they run in (`wasmtime_caller_context`), through a registry keyed by that context's address;
//! a one-entry cache per thread makes the lookup of the common case (the same store calling
//! again) a generation check, and a recorded store id catches a store that was freed and
//! replaced at the same address.

use crate::config::{Tree, WwConfig};
use crate::guard::{Failure, WwBytes, WwError, guard, object, out, quietly, text};
use crate::wasmtime_api::Memory;
use std::cell::RefCell;
use std::collections::HashMap;
use std::ffi::{c_char, c_void};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex, MutexGuard, PoisonError, RwLock, Weak};
use std::time::{Duration, Instant};
use warden::{Deadline, Output, WasiCtx};

/// What imports lock for the duration of one call.
pub struct Guest {
    pub wasi: WasiCtx,
    /// The memory the host bound (`ww_ctx_bind_memory`), used without a lookup.
    pub bound: Option<Memory>,
    /// The id of the store this context serves, learnt from its first call (0: not yet).
    pub store_id: u64,
}

/// A stop recorded by an import, for `ww_ctx_stop`.
#[derive(Clone)]
pub struct Stop {
    pub kind: i32,
    pub exit_code: i32,
    pub message: String,
}

pub const STOP_NONE: i32 = 0;
pub const STOP_EXIT: i32 = 1;
pub const STOP_LIMIT: i32 = 2;
pub const STOP_POLICY: i32 = 3;
pub const STOP_TRAP: i32 = 4;
pub const STOP_ERROR: i32 = 5;

/// Everything of one context; imports hold it through the registry, the host through `WwCtx`.
pub struct Shared {
    pub guest: Mutex<Guest>,
    // Outside the lock: the host (or a callback) reads them while the guest runs.
    stdout: Output,
    stderr: Output,
    deadline: Deadline,
    trees: Vec<(String, Tree)>,
    stop: Mutex<Option<Stop>>,
    /// The `wasmtime_context_t *` it serves, as an address.
    attached_to: Mutex<Option<usize>>,
}

impl Shared {
    pub fn record_stop(&self, stop: Stop) {
        *lock(&self.stop) = Some(stop);
    }
}

/// `ww_ctx_t`.
pub struct WwCtx {
    shared: Arc<Shared>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic inside a call is caught at the boundary; the data is still consistent (each
    // filesystem operation is one critical section of its own), so a poisoned lock is used.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

// ---- The registry ---------------------------------------------------------------------------

static REGISTRY: LazyLock<RwLock<HashMap<usize, Arc<Shared>>>> = LazyLock::new(Default::default);
/// Bumped by every attach and detach: a thread's cached entry is good while it is unchanged.
static GENERATION: AtomicU64 = AtomicU64::new(1);

thread_local! {
    /// The last store this thread served: (generation, context address, its context).
    static LAST: RefCell<(u64, usize, Weak<Shared>)> = const { RefCell::new((0, 0, Weak::new())) };
}

/// The context attached to the store at `context`.
pub fn find(context: usize) -> Option<Arc<Shared>> {
    let generation = GENERATION.load(Ordering::Acquire);
    let cached = LAST.with(|last| {
        let last = last.borrow();
        (last.0 == generation && last.1 == context)
            .then(|| last.2.upgrade())
            .flatten()
    });
    if cached.is_some() {
        return cached;
    }
    let found = REGISTRY
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .get(&context)
        .cloned()?;
    LAST.with(|last| *last.borrow_mut() = (generation, context, Arc::downgrade(&found)));
    Some(found)
}

/// Stops `shared` from serving any store.
pub fn detach(shared: &Arc<Shared>) {
    let mut registry = REGISTRY.write().unwrap_or_else(PoisonError::into_inner);
    if let Some(context) = lock(&shared.attached_to).take()
        && registry
            .get(&context)
            .is_some_and(|attached| Arc::ptr_eq(attached, shared))
    {
        registry.remove(&context);
    }
    GENERATION.fetch_add(1, Ordering::AcqRel);
    drop(registry);
    let mut guest = lock(&shared.guest);
    guest.bound = None;
    guest.store_id = 0;
}

/// The message of a store whose context is missing (or was attached to a freed store).
pub const NOT_ATTACHED: &str =
    "wasi-warden: no context is attached to this store (ww_ctx_attach before calling the guest)";

// ---- The exported functions -----------------------------------------------------------------

/// `ww_ctx_new`.
///
/// # Safety
/// `config` is NULL or a live `ww_config_t`, consumed; `ctx` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ww_ctx_new(config: *mut WwConfig, ctx: *mut *mut WwCtx) -> *mut WwError {
    guard(|| {
        // Taken first, so that it is freed whatever fails next.
        let config = if config.is_null() {
            return Err("config is NULL".to_string());
        } else {
            // SAFETY: as the caller promised; it came from `ww_config_new`.
            unsafe { Box::from_raw(config) }
        };
        // SAFETY: as the caller promised.
        let ctx = unsafe { out(ctx, "ctx")? };
        let (builder, trees) = config.into_builder();
        let wasi = builder.build();
        let shared = Shared {
            stdout: wasi.stdout().clone(),
            stderr: wasi.stderr().clone(),
            deadline: wasi.deadline().clone(),
            guest: Mutex::new(Guest {
                wasi,
                bound: None,
                store_id: 0,
            }),
            trees,
            stop: Mutex::new(None),
            attached_to: Mutex::new(None),
        };
        *ctx = Box::into_raw(Box::new(WwCtx {
            shared: Arc::new(shared),
        }));
        Ok(())
    })
}

/// `ww_ctx_attach`.
///
/// # Safety
/// `ctx` is NULL or live; `store` is NULL or a live `wasmtime_context_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ww_ctx_attach(ctx: *mut WwCtx, store: *mut c_void) -> *mut WwError {
    guard(|| {
        // SAFETY: as the caller promised.
        let ctx = unsafe { object(ctx, "ctx")? };
        if store.is_null() {
            return Err("the store's context is NULL".to_string());
        }
        let key = store as usize;
        let mut registry = REGISTRY.write().unwrap_or_else(PoisonError::into_inner);
        let mut attached = lock(&ctx.shared.attached_to);
        match *attached {
            Some(current) if current == key => return Ok(()),
            Some(_) => {
                return Err(
                    "this ww_ctx_t already serves another store (ww_ctx_detach first)".into(),
                );
            }
            None => {}
        }
        if registry.contains_key(&key) {
            return Err("this store already has a wasi-warden context attached".to_string());
        }
        registry.insert(key, Arc::clone(&ctx.shared));
        *attached = Some(key);
        GENERATION.fetch_add(1, Ordering::AcqRel);
        Ok(())
    })
}

/// `ww_ctx_detach`.
///
/// # Safety
/// `ctx` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ww_ctx_detach(ctx: *mut WwCtx) {
    // SAFETY: as the caller promised.
    if let Some(ctx) = unsafe { ctx.as_ref() } {
        quietly((), || detach(&ctx.shared));
    }
}

/// `ww_ctx_bind_memory`.
///
/// # Safety
/// `ctx` is NULL or live; `memory` is NULL or a readable `wasmtime_memory_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ww_ctx_bind_memory(
    ctx: *mut WwCtx,
    memory: *const Memory,
) -> *mut WwError {
    guard(|| {
        // SAFETY: as the caller promised.
        let ctx = unsafe { object(ctx, "ctx")? };
        // SAFETY: as the caller promised.
        let memory = unsafe { memory.as_ref() }.ok_or("memory is NULL")?;
        let mut guest = lock(&ctx.shared.guest);
        if guest.store_id != 0 && guest.store_id != memory.head.store_id {
            return Err(
                "this memory belongs to another store than the one this context serves".into(),
            );
        }
        guest.store_id = memory.head.store_id;
        guest.bound = Some(*memory);
        Ok(())
    })
}

/// `ww_ctx_set_timeout`.
///
/// # Safety
/// `ctx` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ww_ctx_set_timeout(ctx: *mut WwCtx, nanos: u64) -> *mut WwError {
    guard(|| {
        // SAFETY: as the caller promised.
        let ctx = unsafe { object(ctx, "ctx")? };
        // A timeout too far away for `Instant` is no deadline at all.
        let at = (nanos != 0)
            .then(|| Instant::now().checked_add(Duration::from_nanos(nanos)))
            .flatten();
        ctx.shared.deadline.set(at);
        Ok(())
    })
}

/// `ww_ctx_delete`.
///
/// # Safety
/// `ctx` is NULL or live, not used afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ww_ctx_delete(ctx: *mut WwCtx) {
    if !ctx.is_null() {
        quietly((), || {
            // SAFETY: as the caller promised; it came from `Box::into_raw`.
            let ctx = unsafe { Box::from_raw(ctx) };
            detach(&ctx.shared);
        });
    }
}

/// `ww_ctx_stop`.
///
/// # Safety
/// `ctx` is NULL or live; `exit_code` and `message` are NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ww_ctx_stop(
    ctx: *const WwCtx,
    exit_code: *mut i32,
    message: *mut WwBytes,
) -> i32 {
    quietly(STOP_ERROR, || {
        // SAFETY: as the caller promised.
        let stop = unsafe { ctx.as_ref() }.and_then(|ctx| lock(&ctx.shared.stop).clone());
        let (kind, code, text) = match stop {
            Some(stop) => (stop.kind, stop.exit_code, stop.message),
            None => (STOP_NONE, 0, String::new()),
        };
        // SAFETY: as the caller promised.
        if let Some(exit_code) = unsafe { exit_code.as_mut() } {
            *exit_code = code;
        }
        // SAFETY: as the caller promised.
        if let Some(message) = unsafe { message.as_mut() } {
            *message = WwBytes::give(text.into_bytes());
        }
        kind
    })
}

fn stream(ctx: &WwCtx, stream: i32) -> Result<&Output, Failure> {
    match stream {
        1 => Ok(&ctx.shared.stdout),
        2 => Ok(&ctx.shared.stderr),
        _ => Err(format!(
            "stream {stream} is neither WW_STDOUT (1) nor WW_STDERR (2)"
        )),
    }
}

/// `ww_ctx_output`.
///
/// # Safety
/// `ctx` is NULL or live; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ww_ctx_output(
    ctx: *const WwCtx,
    which: i32,
    bytes: *mut WwBytes,
) -> *mut WwError {
    guard(|| {
        // SAFETY: as the caller promised.
        let ctx = unsafe { ctx.as_ref() }.ok_or("ctx is NULL")?;
        let bytes = unsafe { out(bytes, "out")? };
        *bytes = WwBytes::give(stream(ctx, which)?.contents());
        Ok(())
    })
}

/// `ww_ctx_output_written`.
///
/// # Safety
/// `ctx` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ww_ctx_output_written(ctx: *const WwCtx, which: i32) -> u64 {
    quietly(0, || {
        // SAFETY: as the caller promised.
        let Some(ctx) = (unsafe { ctx.as_ref() }) else {
            return 0;
        };
        stream(ctx, which).map_or(0, Output::written)
    })
}

/// `ww_ctx_save_tar`.
///
/// # Safety
/// `ctx` is NULL or live; `(guest, len)` readable; `out` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ww_ctx_save_tar(
    ctx: *const WwCtx,
    guest: *const c_char,
    len: usize,
    bytes: *mut WwBytes,
) -> *mut WwError {
    guard(|| {
        // SAFETY: as the caller promised.
        let ctx = unsafe { ctx.as_ref() }.ok_or("ctx is NULL")?;
        let guest = unsafe { text(guest, len, "the guest path")? };
        let bytes = unsafe { out(bytes, "out")? };
        let wanted = warden::policy::normalize(guest);
        let tree = ctx
            .shared
            .trees
            .iter()
            .find(|(path, _)| warden::policy::normalize(path) == wanted)
            .map(|(_, tree)| tree)
            .ok_or_else(|| format!("no in-memory mount at {guest}"))?;
        let fs = match tree {
            Tree::Memory(fs) => fs.clone(),
            Tree::Overlay(overlay) => overlay.upper(),
        };
        let mut tar = Vec::new();
        fs.save_tar(&mut tar)
            .map_err(|e| format!("cannot save {guest}: {e}"))?;
        *bytes = WwBytes::give(tar);
        Ok(())
    })
}
