//! The FFI boundary's discipline, once: every exported function runs inside [`guard`] (a panic
//! becomes an error, never an unwind into C), and every pointer and length the caller gives is
//! read through [`text`], [`bytes`] or [`object`] (NULL and bad UTF-8 become errors).

use std::ffi::{CString, c_char, c_void};
use std::panic::{AssertUnwindSafe, catch_unwind};

/// `ww_error_t`: a one-line message, NUL-terminated for C.
pub struct WwError {
    message: CString,
}

/// What an exported function fails with, before it becomes a `ww_error_t`.
pub type Failure = String;

impl WwError {
    pub fn boxed(message: impl Into<String>) -> *mut WwError {
        // Messages may quote host paths or guest text: escaped, so a terminal shows it safely,
        // and never holding NUL (which `escape` turns into `\0`).
        let message = warden::escape(&message.into()).into_owned();
        let message = CString::new(message).unwrap_or_default();
        Box::into_raw(Box::new(WwError { message }))
    }
}

/// Runs `body` for an exported function that answers `ww_error_t *`: NULL on success.
pub fn guard(body: impl FnOnce() -> Result<(), Failure>) -> *mut WwError {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => std::ptr::null_mut(),
        Ok(Err(message)) => WwError::boxed(message),
        Err(panic) => WwError::boxed(format!("internal error: {}", panic_message(&panic))),
    }
}

/// Runs `body` for an exported function with no error to report (a getter, a delete): a
/// panic answers `fallback`.
pub fn quietly<T>(fallback: T, body: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(body)).unwrap_or(fallback)
}

pub fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    if let Some(text) = panic.downcast_ref::<&str>() {
        return text.to_string();
    }
    if let Some(text) = panic.downcast_ref::<String>() {
        return text.clone();
    }
    "a panic".to_string()
}

/// `(ptr, len)` as UTF-8 text. NULL is allowed only for an empty string.
///
/// # Safety
/// A non-NULL `ptr` points at `len` readable bytes for the duration of the call.
pub unsafe fn text<'a>(ptr: *const c_char, len: usize, what: &str) -> Result<&'a str, Failure> {
    // SAFETY: as the caller promised.
    let raw = unsafe { bytes(ptr as *const u8, len, what)? };
    std::str::from_utf8(raw).map_err(|_| format!("{what} is not UTF-8"))
}

/// `(ptr, len)` as bytes. NULL is allowed only for an empty buffer.
///
/// # Safety
/// A non-NULL `ptr` points at `len` readable bytes for the duration of the call.
pub unsafe fn bytes<'a>(ptr: *const u8, len: usize, what: &str) -> Result<&'a [u8], Failure> {
    if ptr.is_null() {
        return if len == 0 {
            Ok(&[])
        } else {
            Err(format!("{what} is NULL with a length of {len}"))
        };
    }
    // SAFETY: as the caller promised; a length past `isize::MAX` cannot be a real buffer.
    if len > isize::MAX as usize {
        return Err(format!("{what} has an impossible length ({len})"));
    }
    Ok(unsafe { std::slice::from_raw_parts(ptr, len) })
}

/// The object behind a pointer the library handed out, or an error naming it.
///
/// # Safety
/// A non-NULL `ptr` is a live object of this type that we created.
pub unsafe fn object<'a, T>(ptr: *mut T, what: &str) -> Result<&'a mut T, Failure> {
    // SAFETY: as the caller promised.
    unsafe { ptr.as_mut() }.ok_or_else(|| format!("{what} is NULL"))
}

/// An out-parameter, checked for NULL.
///
/// # Safety
/// A non-NULL `ptr` is writable.
pub unsafe fn out<'a, T>(ptr: *mut T, what: &str) -> Result<&'a mut T, Failure> {
    // SAFETY: as the caller promised.
    unsafe { ptr.as_mut() }.ok_or_else(|| format!("{what} (the out-parameter) is NULL"))
}

/// `ww_bytes_t`.
#[repr(C)]
pub struct WwBytes {
    pub data: *mut u8,
    pub size: usize,
}

impl WwBytes {
    /// Hands `bytes` to C; `ww_bytes_delete` gives them back.
    pub fn give(bytes: Vec<u8>) -> WwBytes {
        let boxed = bytes.into_boxed_slice();
        let size = boxed.len();
        let data = Box::into_raw(boxed) as *mut u8;
        WwBytes { data, size }
    }
}

/// A callback's `env` with its finalizer, run once when the last holder drops it.
pub struct Env {
    pub env: *mut c_void,
    finalizer: Option<unsafe extern "C" fn(*mut c_void)>,
}

// SAFETY: the header asks callbacks and their env to be usable from the thread that runs the
// guest, which may differ from the one that configured it.
unsafe impl Send for Env {}
// SAFETY: as above; we never touch `env` ourselves, we only pass it back.
unsafe impl Sync for Env {}

impl Env {
    pub fn new(env: *mut c_void, finalizer: Option<unsafe extern "C" fn(*mut c_void)>) -> Env {
        Env { env, finalizer }
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        if let Some(finalizer) = self.finalizer {
            // SAFETY: the caller's finalizer for the caller's env, called once.
            unsafe { finalizer(self.env) };
        }
    }
}

// ---- The exported functions of this concern -------------------------------------------------

/// `ww_error_message`.
///
/// # Safety
/// `error` is NULL or a live `ww_error_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ww_error_message(error: *const WwError) -> *const c_char {
    // SAFETY: as the caller promised.
    match unsafe { error.as_ref() } {
        Some(error) => error.message.as_ptr(),
        None => c"(no error)".as_ptr(),
    }
}

/// `ww_error_delete`.
///
/// # Safety
/// `error` is NULL or a live `ww_error_t`, not used afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ww_error_delete(error: *mut WwError) {
    if !error.is_null() {
        // SAFETY: as the caller promised; it came from `Box::into_raw`.
        quietly((), || drop(unsafe { Box::from_raw(error) }));
    }
}

/// `ww_bytes_delete`.
///
/// # Safety
/// `bytes` is NULL or a `ww_bytes_t` the library filled (or zeroed).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ww_bytes_delete(bytes: *mut WwBytes) {
    // SAFETY: as the caller promised.
    let Some(bytes) = (unsafe { bytes.as_mut() }) else {
        return;
    };
    if !bytes.data.is_null() {
        let slice = std::ptr::slice_from_raw_parts_mut(bytes.data, bytes.size);
        // SAFETY: `data`/`size` came from `WwBytes::give`.
        quietly((), || drop(unsafe { Box::from_raw(slice) }));
    }
    bytes.data = std::ptr::null_mut();
    bytes.size = 0;
}
