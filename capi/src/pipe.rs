//! `ww_pipe_t`: the host's end of a stdin pipe, fed from any thread while the guest runs.

use crate::guard::{bytes, quietly};
use warden::InputWriter;

/// `ww_pipe_t`.
pub struct WwPipe {
    writer: InputWriter,
}

impl WwPipe {
    pub fn new(writer: InputWriter) -> WwPipe {
        WwPipe { writer }
    }
}

/// `ww_pipe_write`.
///
/// # Safety
/// `pipe` is NULL or live; `(data, len)` readable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ww_pipe_write(pipe: *mut WwPipe, data: *const u8, len: usize) -> bool {
    quietly(false, || {
        // SAFETY: as the caller promised.
        let (Some(pipe), Ok(data)) = (unsafe { pipe.as_ref() }, unsafe {
            bytes(data, len, "the bytes")
        }) else {
            return false;
        };
        pipe.writer.write(data)
    })
}

/// `ww_pipe_close`.
///
/// # Safety
/// `pipe` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ww_pipe_close(pipe: *mut WwPipe) {
    // SAFETY: as the caller promised.
    if let Some(pipe) = unsafe { pipe.as_ref() } {
        quietly((), || pipe.writer.close());
    }
}

/// `ww_pipe_delete`.
///
/// # Safety
/// `pipe` is NULL or live, not used afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ww_pipe_delete(pipe: *mut WwPipe) {
    if !pipe.is_null() {
        // SAFETY: as the caller promised; it came from `Box::into_raw`.
        quietly((), || {
            let pipe = unsafe { Box::from_raw(pipe) };
            pipe.writer.close();
        });
    }
}
