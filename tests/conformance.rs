//! Differential conformance: every guest program in `tests/guests` runs under wasi-warden (seed
//! tree on each backend: `MemFs`, a host directory, an overlay over a host directory) and under
//! wasmtime-wasi 48 (seed tree copied to a host temp dir), with the same args, env and stdin; stdout, stderr, exit status, trap kind and the final file tree must
//! be equal. Deliberate differences are listed in `KNOWN_DIFFERENCES`, and those guests are
//! checked against an explicitly expected output instead. On Windows the reference is the one
//! the Linux run recorded (`support/reference.rs`): wasi-warden answers alike on every host.

mod support;

use support::reference::reference;
use support::{Backend, RunResult, Scenario, diff_lines, diff_trees, run_warden_on};

/// Guests whose output differs from wasmtime-wasi on purpose, and why. Each of them is checked
/// with `expect_warden` against the output wasi-warden must produce.
const KNOWN_DIFFERENCES: &[(&str, &str)] = &[
    (
        "fd_rights",
        "wasi-warden enforces rights and lets fd_fdstat_set_rights narrow them (RATIONALE.md \
         'Rights are enforced'); wasmtime-wasi 48 answers notsup and never enforces rights",
    ),
    (
        "clock_cputime",
        "wasi-warden grants the process and thread CPU-time clocks with the others; \
         wasmtime-wasi 48 answers badf for both",
    ),
    (
        "fd_vectored",
        "wasi-warden moves every iovec of fd_write/fd_pwrite/fd_read/fd_pread, as POSIX \
         writev/readv do; wasmtime-wasi 48 moves only the first non-empty iovec (a legal short \
         transfer) and answers intr for fd_read of zero iovecs on stdin",
    ),
    (
        "path_trailing_slash",
        "wasi-warden follows POSIX (Linux) trailing-slash rules: a trailing slash resolves a \
         final symlink (so lstat of 'dirlink/' is the directory and 'filelink/' is notdir) and \
         rmdir 'dir/' works; wasmtime-wasi 48 answers rmdir 'dir/' with inval and lstat of \
         'link/' with the link itself (SECURITY.md: trailing slash)",
    ),
];

/// Guests whose run on some backend differs, on a Windows host, from Linux's reference for a
/// reason of Windows (RATIONALE.md "Windows") or of Wine, which CI runs the Windows build
/// under: there they are checked on the other backends only.
#[cfg(windows)]
const WINDOWS_DIFFERENCES: &[(&str, &[Backend], &str)] = &[
    (
        "symlink_basic symlink_dangling symlink_escape symlink_loop file_excl dir_readdir_types",
        &[Backend::Host],
        "guests cannot create symlinks on a Windows host mount (EPERM)",
    ),
    (
        "path_long_names",
        &[Backend::Host, Backend::Overlay],
        "names with `\\` or `:` are EINVAL on a Windows host mount (and an overlay over one)",
    ),
    (
        "time_set_times",
        &[Backend::Host],
        "Windows keeps file times in 100 ns units: a nanosecond time reads back rounded",
    ),
    (
        "rename_open_fd",
        &[Backend::Host],
        "Wine opens relative to a directory handle by the path it was opened with: a \
         directory renamed while held is not found there",
    ),
    (
        "unlink_open",
        &[Backend::Host],
        "Wine has no POSIX delete: an unlinked open file waits under a retired name the \
         guest's handle still counts (nlink 1, Linux 0)",
    ),
];

/// Why `name` is not compared on `backend` here, if it is not.
fn platform_difference(name: &str, backend: Backend) -> Option<&'static str> {
    #[cfg(windows)]
    for (guests, backends, why) in WINDOWS_DIFFERENCES {
        if guests.split(' ').any(|g| g == name) && backends.contains(&backend) {
            return Some(why);
        }
    }
    let _ = (name, backend);
    None
}

fn why_different(name: &str) -> Option<&'static str> {
    KNOWN_DIFFERENCES
        .iter()
        .find(|(guest, _)| *guest == name)
        .map(|(_, why)| *why)
}

/// Runs `name` under wasmtime-wasi and under wasi-warden on every backend, and asserts they all
/// agree on everything observable.
fn conformance(name: &str, scenario: Scenario) {
    assert!(
        why_different(name).is_none(),
        "{name} is in KNOWN_DIFFERENCES: check it with expect_warden"
    );
    let reference = reference(name, &scenario);
    let mut problems = String::new();
    for backend in Backend::ALL {
        if let Some(why) = platform_difference(name, backend) {
            eprintln!("{name} on {backend:?}: not compared on this platform: {why}");
            continue;
        }
        let ours = run_warden_on(backend, name, &scenario);
        let found = differences(&ours, &reference);
        if !found.is_empty() {
            problems += &format!(
                "--- wasi-warden on {backend:?} vs wasmtime-wasi ---\n{found}\n\
                 === wasi-warden ({backend:?}) ===\n{ours:?}\n"
            );
        }
    }
    assert!(
        problems.is_empty(),
        "guest {name}: wasi-warden and wasmtime-wasi disagree\n{problems}\n\
         === wasmtime-wasi ===\n{reference:?}"
    );
}

/// What differs between two runs, as readable text; empty if nothing.
fn differences(ours: &RunResult, reference: &RunResult) -> String {
    let mut problems = String::new();
    if ours.stdout != reference.stdout {
        problems += &format!(
            "stdout differs:\n{}",
            diff_lines(&ours.stdout, &reference.stdout)
        );
    }
    if ours.stderr != reference.stderr {
        problems += &format!(
            "stderr differs:\n{}",
            diff_lines(&ours.stderr, &reference.stderr)
        );
    }
    if ours.exit != reference.exit || ours.trap_kind() != reference.trap_kind() {
        problems += &format!(
            "ending differs:\n    warden:   exit {:?} trap {:?}\n    \
             wasmtime: exit {:?} trap {:?}\n",
            ours.exit, ours.trap, reference.exit, reference.trap
        );
    }
    if ours.tree != reference.tree {
        problems += &format!(
            "final tree differs:\n{}",
            diff_trees(&ours.tree, &reference.tree)
        );
    }
    problems
}

/// For a guest in `KNOWN_DIFFERENCES`: wasi-warden, on every backend, must print exactly
/// `stdout` and end with `exit`; wasmtime-wasi's run is shown for reference when it does not.
fn expect_warden(name: &str, scenario: Scenario, stdout: &str, exit: i32) {
    assert!(
        why_different(name).is_some(),
        "{name} is not in KNOWN_DIFFERENCES: check it with conformance"
    );
    for backend in Backend::ALL {
        let ours = run_warden_on(backend, name, &scenario);
        if ours.stdout != stdout.as_bytes() || ours.exit != Some(exit) {
            let reference = support::run_wasmtime(name, &scenario);
            panic!(
                "guest {name} on {backend:?} (known difference: {})\nstdout vs expected:\n{}\n\
                 === wasi-warden ({backend:?}) ===\n{ours:?}\n\
                 === wasmtime-wasi (reference only) ===\n{reference:?}",
                why_different(name).unwrap_or_default(),
                diff_lines(&ours.stdout, stdout.as_bytes()).replace("wasmtime:", "expected:"),
            );
        }
    }
}

/// The default start of `name`: argv = [name.wasm], no env, empty stdin.
fn plain(name: &str) {
    conformance(name, Scenario::new(name));
}

#[test]
fn every_guest_has_a_test() {
    let source = include_str!("conformance.rs");
    let missing: Vec<String> = support::guest_names()
        .into_iter()
        .filter(|name| !source.contains(&format!("fn conformance_{name}()")))
        .collect();
    assert!(
        missing.is_empty(),
        "guest programs without a conformance_<name> test: {missing:?}"
    );
    for (guest, why) in KNOWN_DIFFERENCES {
        assert!(
            support::guest_names().iter().any(|n| n == guest),
            "KNOWN_DIFFERENCES names {guest}, which is not a guest"
        );
        assert!(
            why.len() > 20,
            "KNOWN_DIFFERENCES entry {guest} must say why"
        );
    }
}

// ---- args, env ------------------------------------------------------------------------------

#[test]
fn conformance_args_list() {
    let args = [
        "args_list.wasm",
        "one",
        "",
        "two words",
        "ünïcödé",
        "--flag=x",
    ];
    conformance("args_list", Scenario::new("args_list").args(args));
}

#[test]
fn conformance_args_none() {
    conformance("args_none", Scenario::default());
}

#[test]
fn conformance_env_list() {
    let scenario = Scenario::new("env_list")
        .env("GREETING", "hello")
        .env("EMPTY", "")
        .env("EQUALS", "a=b=c")
        .env("UNICODE", "ünï");
    conformance("env_list", scenario);
}

#[test]
fn conformance_env_empty() {
    plain("env_empty");
}

// ---- clock, random ----------------------------------------------------------------------------

#[test]
fn conformance_clock_basic() {
    plain("clock_basic");
}

#[test]
fn conformance_clock_cputime() {
    expect_warden(
        "clock_cputime",
        Scenario::new("clock_cputime"),
        "clock_res_get(process) -> Ok(positive=true)\n\
         clock_time_get(process) -> Ok(nondecreasing=true)\n\
         clock_res_get(thread) -> Ok(positive=true)\n\
         clock_time_get(thread) -> Ok(nondecreasing=true)\n",
        0,
    );
}

#[test]
fn conformance_clock_std() {
    plain("clock_std");
}

#[test]
fn conformance_random_get() {
    plain("random_get");
}

// ---- stdio ---------------------------------------------------------------------------------------

#[test]
fn conformance_stdio_echo() {
    let scenario = Scenario::new("stdio_echo").stdin("hello stdin\nsecond line\n".repeat(300));
    conformance("stdio_echo", scenario);
}

#[test]
fn conformance_stdio_errors() {
    conformance("stdio_errors", Scenario::new("stdio_errors").stdin("xyz"));
}

// ---- fd ---------------------------------------------------------------------------------------

#[test]
fn conformance_fd_seek_tell() {
    plain("fd_seek_tell");
}

#[test]
fn conformance_fd_pread_pwrite() {
    plain("fd_pread_pwrite");
}

#[test]
fn conformance_fd_append() {
    plain("fd_append");
}

#[test]
fn conformance_fd_truncate() {
    plain("fd_truncate");
}

#[test]
fn conformance_fd_allocate_advise() {
    plain("fd_allocate_advise");
}

#[test]
fn conformance_fd_fdstat() {
    plain("fd_fdstat");
}

#[test]
fn conformance_fd_rights() {
    expect_warden(
        "fd_rights",
        Scenario::new("fd_rights"),
        "has read+write -> true\n\
         drop write -> Ok(())\n\
         write dropped -> true\n\
         write -> Err(badf)\n\
         read -> Ok([104, 101, 108, 108, 111])\n\
         widen again -> Err(notcapable)\n\
         write -> Err(badf)\n\
         set_rights(bad) -> Err(badf)\n\
         dir drops path_open -> Ok(())\n\
         open in narrowed dir -> Err(notcapable)\n\
         read hello.txt -> Ok(\"hello world\\n\")\n",
        0,
    );
}

#[test]
fn conformance_fd_vectored() {
    expect_warden(
        "fd_vectored",
        Scenario::new("fd_vectored").stdin("abcdefghij-the-rest"),
        "abc\n\
         writev(1, [a, '', bc, \\n]) -> Ok(4)\n\
         writev(1, []) -> Ok(0)\n\
         writev(2, [err, \\n]) -> Ok(4)\n\
         readv(0, [3, 0, 4]) -> Ok([\"abc\", \"\", \"\"])\n\
         readv(0, []) -> Ok(0)\n\
         read rest -> Ok(\"defghij-the-rest\")\n\
         read at eof -> Ok([])\n\
         writev(file, [one, '', two, three]) -> Ok(13)\n\
         tell -> Ok(13)\n\
         seek(0) -> Ok(0)\n\
         readv(file, [2, 0, 5, 100]) -> Ok([\"on\", \"\", \"e two\", \" three\"])\n\
         pwritev(file, [AB, CD], 4) -> 0 n=4\n\
         preadv(file, [3, 3], 2) -> 0 n=6 \"e A\" \"BCD\"\n\
         read v.txt -> Ok(\"one ABCDthree\")\n",
        0,
    );
}

#[test]
fn conformance_fd_renumber() {
    plain("fd_renumber");
}

#[test]
fn conformance_fd_close() {
    plain("fd_close");
}

#[test]
fn conformance_fd_sync() {
    plain("fd_sync");
}

// ---- file -------------------------------------------------------------------------------------

#[test]
fn conformance_file_create_rw() {
    plain("file_create_rw");
}

#[test]
fn conformance_file_trunc() {
    plain("file_trunc");
}

#[test]
fn conformance_file_excl() {
    plain("file_excl");
}

#[test]
fn conformance_file_open_errors() {
    plain("file_open_errors");
}

#[test]
fn conformance_file_std() {
    plain("file_std");
}

// ---- dir --------------------------------------------------------------------------------------

#[test]
fn conformance_dir_mkdir_rmdir() {
    plain("dir_mkdir_rmdir");
}

#[test]
fn conformance_dir_readdir_paging() {
    plain("dir_readdir_paging");
}

#[test]
fn conformance_dir_readdir_mutation() {
    plain("dir_readdir_mutation");
}

#[test]
fn conformance_dir_readdir_types() {
    plain("dir_readdir_types");
}

#[test]
fn conformance_dir_std() {
    plain("dir_std");
}

// ---- symlink, link, rename, unlink ---------------------------------------------------------------

#[test]
fn conformance_symlink_basic() {
    plain("symlink_basic");
}

#[test]
fn conformance_symlink_loop() {
    plain("symlink_loop");
}

#[test]
fn conformance_symlink_dangling() {
    plain("symlink_dangling");
}

#[test]
fn conformance_symlink_escape() {
    plain("symlink_escape");
}

#[test]
fn conformance_link_hard() {
    plain("link_hard");
}

#[test]
fn conformance_rename_cases() {
    plain("rename_cases");
}

#[test]
fn conformance_rename_open_fd() {
    plain("rename_open_fd");
}

#[test]
fn conformance_unlink_open() {
    plain("unlink_open");
}

// ---- path -------------------------------------------------------------------------------------

#[test]
fn conformance_path_escape() {
    plain("path_escape");
}

#[test]
fn conformance_path_trailing_slash() {
    if !support::backend::host_symlinks_work() {
        eprintln!("path_trailing_slash needs the seed's symlinks, which this host cannot make");
        return;
    }
    // As Linux answers the same calls (checked with Python's os module on a host directory).
    expect_warden(
        "path_trailing_slash",
        Scenario::new("path_trailing_slash"),
        "stat data/ -> Ok(directory)\n\
         stat data// -> Ok(directory)\n\
         stat hello.txt/ -> Err(notdir)\n\
         lstat link_data/ -> Ok(directory)\n\
         lstat link_hello/ -> Err(notdir)\n\
         open link_hello/ -> Err(notdir)\n\
         open link_data/ nofollow -> Ok\n\
         create new.txt/ -> Err(isdir)\n\
         mkdir newdir/ -> Ok(())\n\
         mkdir newdir2// -> Ok(())\n\
         rmdir newdir/ -> Ok(())\n\
         symlink at s/ -> Err(noent)\n\
         symlink to dir/ target -> Ok(())\n\
         read sd/numbers.txt -> Ok(\"0123456789\")\n\
         symlink to file/ target -> Ok(())\n\
         open sf -> Err(notdir)\n\
         data/nested//deep.txt -> Ok(5)\n\
         unlink link_data/ -> Err(notdir)\n\
         rmdir link_data/ -> Err(notdir)\n\
         unlink hello.txt/ -> Err(notdir)\n\
         rename newdir2/ -> renamed/ -> Ok(())\n\
         rename hello.txt -> h/ -> Err(notdir)\n\
         list / -> [data:directory, empty:directory, hello.txt:regular_file, \
         link_data:symbolic_link, link_hello:symbolic_link, renamed:directory, \
         sd:symbolic_link, sf:symbolic_link]\n",
        0,
    );
}

#[test]
fn conformance_path_long_names() {
    plain("path_long_names");
}

// ---- time, poll -------------------------------------------------------------------------------

#[test]
fn conformance_time_set_times() {
    plain("time_set_times");
}

#[test]
fn conformance_time_ordering() {
    plain("time_ordering");
}

#[test]
fn conformance_poll_clock() {
    plain("poll_clock");
}

#[test]
fn conformance_poll_fd() {
    conformance("poll_fd", Scenario::new("poll_fd").stdin("ready"));
}

// ---- proc, sock -------------------------------------------------------------------------------

#[test]
fn conformance_proc_exit_code() {
    for code in ["0", "1", "42"] {
        conformance("proc_exit_code", Scenario::new("proc_exit_code").arg(code));
    }
}

#[test]
fn conformance_proc_raise() {
    plain("proc_raise");
}

#[test]
fn conformance_proc_panic() {
    plain("proc_panic");
}

#[test]
fn conformance_sock_errnos() {
    plain("sock_errnos");
}
