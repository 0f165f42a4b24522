//! The one line `wasi-warden: compiling NAME…` on stderr while a module compiles, erased once
//! it is done. Only on a terminal: pipes, logs and captured stderr never see it, so it cannot
//! mix with what the guest writes there (compiling ends before the guest starts).

use super::report::shown;
use std::io::IsTerminal;
use std::path::Path;
use std::time::Duration;

/// How long the line waits for a full terminal to take it before it is dropped.
const PATIENCE: Duration = Duration::from_millis(100);

/// Longest name shown: a line that wrapped could not be erased by returning to its start.
const MAX_NAME: usize = 40;

/// The line, while it is shown; dropping it erases it.
pub struct Progress {
    shown: bool,
}

impl Progress {
    /// Shows `compiling NAME…` for `module` (its file name, shortened) if stderr is a terminal.
    pub fn compiling(module: &Path) -> Progress {
        if !std::io::stderr().is_terminal() {
            return Progress { shown: false };
        }
        let name = module
            .file_name()
            .map_or_else(|| module.as_os_str(), |n| n)
            .to_string_lossy();
        let name: String = if name.chars().count() > MAX_NAME {
            let tail: String = name.chars().rev().take(MAX_NAME - 1).collect();
            format!("\u{2026}{}", tail.chars().rev().collect::<String>())
        } else {
            name.into_owned()
        };
        let line = format!("\r{}", shown(&format!("compiling {name}\u{2026}")));
        wasi_warden::stdio::write_host_stderr(line.as_bytes(), PATIENCE);
        Progress { shown: true }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if self.shown {
            // Back to the start of the line, then clear to its end.
            wasi_warden::stdio::write_host_stderr(b"\r\x1b[K", PATIENCE);
        }
    }
}
