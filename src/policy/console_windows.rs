//! The Windows console for the terminal prompter: `CONIN$` and `CONOUT$` are the console of
//! the process whatever its stdin and stdout were redirected to, as `/dev/tty` is on Unix, so
//! answers come from the person and never from the guest's input. Text goes through
//! `ReadConsoleW` / `WriteConsoleW`: the question and the reply are Unicode whatever the
//! console's code page.

// Windows has no safe binding for the console calls: each `unsafe` block says why it is
// sound. The crate denies unsafe code everywhere else.
#![allow(unsafe_code)]

use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Read, Write};
use std::os::windows::io::AsRawHandle;

use windows_sys::Win32::System::Console::{GetConsoleMode, ReadConsoleW, WriteConsoleW};

/// The console's input and output, or the error that says there is none.
pub(super) type Console = (Box<dyn BufRead + Send>, Box<dyn Write + Send>);

/// Opens the process's console. Errors: the OS's, when the process has no console (a
/// service, a detached process), or when the names are not consoles.
pub(super) fn open() -> io::Result<Console> {
    let open = |name| OpenOptions::new().read(true).write(true).open(name);
    let (input, output) = (open("CONIN$")?, open("CONOUT$")?);
    is_console(&input)?;
    is_console(&output)?;
    let reader = ConsoleIn {
        file: input,
        pending: Vec::new(),
    };
    Ok((
        Box::new(BufReader::new(reader)),
        Box::new(ConsoleOut(output)),
    ))
}

fn is_console(file: &File) -> io::Result<()> {
    let mut mode = 0;
    // SAFETY: a handle we own, an out-pointer to a live local.
    if unsafe { GetConsoleMode(file.as_raw_handle() as _, &mut mode) } == 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Console input as UTF-8 bytes: one `ReadConsoleW` (a line, in the console's line mode)
/// at a time, served from `pending`.
struct ConsoleIn {
    file: File,
    pending: Vec<u8>,
}

impl Read for ConsoleIn {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pending.is_empty() {
            let mut wide = [0u16; 512];
            let mut got = 0u32;
            // SAFETY: the buffer holds `wide.len()` units and outlives the call; no control
            // structure is passed.
            let ok = unsafe {
                ReadConsoleW(
                    self.file.as_raw_handle() as _,
                    wide.as_mut_ptr().cast(),
                    wide.len() as u32,
                    &mut got,
                    std::ptr::null(),
                )
            };
            if ok == 0 {
                return Err(io::Error::last_os_error());
            }
            let got = wide.get(..got as usize).unwrap_or(&wide);
            self.pending = String::from_utf16_lossy(got).into_bytes();
        }
        let n = buf.len().min(self.pending.len());
        buf[..n].copy_from_slice(&self.pending[..n]);
        self.pending.drain(..n);
        Ok(n)
    }
}

/// Console output: each write is text (invalid UTF-8 replaced), written as UTF-16.
struct ConsoleOut(File);

impl Write for ConsoleOut {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let wide: Vec<u16> = String::from_utf8_lossy(buf).encode_utf16().collect();
        let mut rest = wide.as_slice();
        while !rest.is_empty() {
            let mut written = 0u32;
            let len = u32::try_from(rest.len()).unwrap_or(u32::MAX);
            // SAFETY: `rest` holds at least `len` units and outlives the call.
            let ok = unsafe {
                WriteConsoleW(
                    self.0.as_raw_handle() as _,
                    rest.as_ptr(),
                    len,
                    &mut written,
                    std::ptr::null(),
                )
            };
            if ok == 0 || written == 0 {
                return Err(io::Error::last_os_error());
            }
            rest = rest.get(written as usize..).unwrap_or_default();
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
