//! `wasi-warden compile` and `.cwasm` files: a round trip, the `--allow-precompiled` gate, and
//! `.cwasm` files from another engine configuration or wasmtime version, refused in one line.

use super::{EXIT_USAGE, HELLO, one_message, stderr, stdout, warden, warden_with};
use std::path::Path;

/// Compiles examples/hello.wat to `dir/hello.cwasm` with `flags`; returns its path.
fn compile(dir: &Path, flags: &[&str]) -> String {
    let out_path = dir.join("hello.cwasm");
    let out_arg = out_path.to_str().unwrap();
    let args = [&["compile"][..], flags, &["-o", out_arg, HELLO]].concat();
    let out = warden(&args);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stderr(&out), "");
    out_arg.to_owned()
}

#[test]
fn a_cwasm_round_trip_runs_without_compiling() {
    let dir = tempfile::tempdir().unwrap();
    let cwasm = compile(dir.path(), &[]);
    assert!(std::fs::read(&cwasm).unwrap().starts_with(b"\x7fELF"));
    let out = warden(&[
        "run",
        "--allow-precompiled",
        "--cache-stats",
        "--mem-dir",
        "/",
        &cwasm,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("read it back: this file was written by the hello guest\n"));
    // Nothing was compiled, so the cache was not even asked.
    let line = one_message(&out);
    assert!(
        line.starts_with("wasi-warden: cache: 0 hits, 0 misses"),
        "{line}"
    );
}

#[test]
fn a_cwasm_needs_allow_precompiled() {
    let dir = tempfile::tempdir().unwrap();
    let cwasm = compile(dir.path(), &[]);
    let out = warden(&["run", &cwasm]);
    assert_eq!(out.status.code(), Some(EXIT_USAGE));
    let line = one_message(&out);
    assert!(line.contains("it is precompiled"), "{line}");
    assert!(line.contains("--allow-precompiled"), "{line}");
    assert!(stdout(&out).is_empty());
}

#[test]
fn a_cwasm_from_another_engine_configuration_is_one_line() {
    let dir = tempfile::tempdir().unwrap();
    // Fuel metering is compiled in: such a .cwasm needs a run that meters fuel too.
    let cwasm = compile(dir.path(), &["-W", "fuel=1"]);
    let out = warden(&["run", "--allow-precompiled", &cwasm]);
    assert_eq!(out.status.code(), Some(EXIT_USAGE));
    let line = one_message(&out);
    assert!(
        line.contains("it was precompiled for another engine configuration"),
        "{line}"
    );
    assert!(line.contains("fuel"), "{line}");
    let out = warden(&["run", "--allow-precompiled", "--fuel", "100000000", &cwasm]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("hello from a WASI guest"));
}

#[test]
fn a_cwasm_from_another_wasmtime_version_is_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let cwasm = compile(dir.path(), &[]);
    let mut bytes = std::fs::read(&cwasm).unwrap();
    // The engine section starts with its format (0), then the length-prefixed major version
    // of the wasmtime that compiled it: pretend it was another one.
    let version = b"\x00\x0250";
    let at = bytes
        .windows(version.len())
        .position(|w| w == version)
        .expect("the .cwasm names its wasmtime version");
    bytes[at + 2..at + 4].copy_from_slice(b"49");
    std::fs::write(&cwasm, &bytes).unwrap();
    let out = warden(&["run", "--allow-precompiled", &cwasm]);
    assert_eq!(out.status.code(), Some(EXIT_USAGE));
    let line = one_message(&out);
    assert!(line.contains("incompatible version '49'"), "{line}");
    assert!(line.contains("wasi-warden compile"), "{line}");
}

#[test]
fn compile_writes_module_name_dot_cwasm_by_default() {
    let dir = tempfile::tempdir().unwrap();
    let hello = Path::new(env!("CARGO_MANIFEST_DIR")).join(HELLO);
    let out = warden_with(&["compile", hello.to_str().unwrap()], |cmd| {
        cmd.current_dir(dir.path());
    });
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(dir.path().join("hello.cwasm").is_file());
}

#[test]
fn compile_errors_are_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let bad = super::guest(dir.path(), "bad.wat", "(module (func (i32.bogus)))");
    let out_path = dir.path().join("out.cwasm");
    let out_arg = out_path.to_str().unwrap();
    let cases: [&[&str]; 3] = [
        &["compile", "-o", out_arg, &bad],
        &["compile", "-o", out_arg, "no/such.wasm"],
        &["compile", "-W", "bogus", "-o", out_arg, HELLO],
    ];
    for args in cases {
        let out = warden(args);
        assert_eq!(out.status.code(), Some(EXIT_USAGE), "{args:?}");
        one_message(&out);
        assert!(!out_path.exists(), "{args:?}");
    }
}
