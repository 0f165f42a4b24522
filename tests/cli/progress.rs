//! The `compiling NAME…` line: on a terminal it is shown while the module compiles and erased
//! before the guest runs; anywhere else stderr never sees it.
#![cfg_attr(not(unix), allow(unused_imports))]

use super::{HELLO, stderr, stdout, warden};
use std::io::Read;
use std::process::{Command, Stdio};

// A pseudo-terminal: Unix only (a Windows console cannot be driven this way under Wine).
#[cfg(unix)]
#[test]
fn on_a_terminal_the_progress_line_is_shown_then_erased() {
    use rustix::pty::{OpenptFlags, grantpt, openpt, ptsname, unlockpt};
    let master = openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY).unwrap();
    grantpt(&master).unwrap();
    unlockpt(&master).unwrap();
    let name = ptsname(&master, Vec::new()).unwrap();
    let slave = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(name.to_str().unwrap())
        .unwrap();
    let cache = tempfile::tempdir().unwrap();
    // stderr alone is the terminal; the guest's stdout is a pipe.
    let child = Command::new(env!("CARGO_BIN_EXE_wasi-warden"))
        .args(["run", "-C", "cache=n", HELLO])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("XDG_CACHE_HOME", cache.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(slave)
        .spawn()
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(stdout(&out).contains("hello from a WASI guest"));
    // The child is gone, and with it the last open slave: the master reads what it wrote,
    // then fails (EIO).
    let mut master = std::fs::File::from(master);
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    while let Ok(n @ 1..) = master.read(&mut buf) {
        seen.extend_from_slice(&buf[..n]);
    }
    let seen = String::from_utf8_lossy(&seen);
    assert_eq!(
        seen, "\rwasi-warden: compiling hello.wat\u{2026}\r\x1b[K",
        "one line, then back to its start and cleared"
    );
}

#[test]
fn elsewhere_stderr_never_sees_it() {
    let out = warden(&["run", "-C", "cache=n", HELLO]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(stderr(&out), "");
}
