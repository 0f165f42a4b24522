//! The conformance reference across platforms. On Linux, wasmtime-wasi runs each guest and its
//! result is the reference; it is also written to `target/conformance-reference/`. On Windows,
//! wasmtime-wasi passes Windows' own answers through (EACCES where Linux says EBADF, other
//! readdir types and link counts...), while wasi-warden answers as on Linux everywhere: so the
//! Windows build compares against the reference the Linux run wrote (CI runs it first). Where
//! the host cannot make symlinks (Wine) the seed tree has none, so Linux also records the
//! reference for a seed without them.

use std::path::PathBuf;

use serde_json::{Value, json};
use wasi_warden::vfs::TreeEntry;

use super::{RunResult, Scenario, repo_root};

/// The reference's file: one per guest, scenario (a guest runs with several) and seed.
fn path(name: &str, scenario: &Scenario, links: bool) -> PathBuf {
    // FNV-1a of the scenario: stable across platforms and runs, unlike std's hasher.
    let key = format!("{scenario:?}")
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
    let seed = if links { "" } else { "-without-links" };
    let file = format!("{name}-{key:016x}{seed}.json");
    repo_root()
        .join("target")
        .join("conformance-reference")
        .join(file)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Vec<u8> {
    (0..text.len() / 2)
        .map(|i| u8::from_str_radix(&text[2 * i..2 * i + 2], 16).expect("hex"))
        .collect()
}

/// The reference result of guest `name` under `scenario`.
pub fn reference(name: &str, scenario: &Scenario) -> RunResult {
    let links = super::backend::host_symlinks_work();
    if cfg!(windows) {
        return load(&path(name, scenario, links), scenario);
    }
    let other = super::run_wasmtime_on(name, scenario, !links);
    store(&path(name, scenario, !links), scenario, &other);
    let result = super::run_wasmtime_on(name, scenario, links);
    store(&path(name, scenario, links), scenario, &result);
    result
}

fn store(file: &std::path::Path, scenario: &Scenario, result: &RunResult) {
    let tree: Vec<Value> = result
        .tree
        .iter()
        .map(|(path, entry)| match entry {
            TreeEntry::Dir => json!([path, "dir"]),
            TreeEntry::File(bytes) => json!([path, "file", hex(bytes)]),
            TreeEntry::Symlink(target) => json!([path, "symlink", target]),
        })
        .collect();
    let value = json!({
        "scenario": format!("{scenario:?}"),
        "stdout": hex(&result.stdout),
        "stderr": hex(&result.stderr),
        "exit": result.exit,
        "trap": result.trap,
        "tree": tree,
    });
    std::fs::create_dir_all(file.parent().expect("a parent")).expect("reference dir");
    std::fs::write(file, value.to_string()).expect("write the reference");
}

fn load(file: &std::path::Path, scenario: &Scenario) -> RunResult {
    let text = std::fs::read_to_string(file).unwrap_or_else(|e| {
        panic!(
            "no conformance reference at {} ({e}): run `cargo test --test conformance` on \
             Linux first, which writes it (CI does)",
            file.display()
        )
    });
    let value: Value = serde_json::from_str(&text).expect("reference JSON");
    assert_eq!(
        value["scenario"].as_str(),
        Some(format!("{scenario:?}").as_str()),
        "the reference {} was made for another scenario: rerun the Linux conformance",
        file.display()
    );
    let str_of = |v: &Value| v.as_str().expect("a string").to_owned();
    let tree = value["tree"]
        .as_array()
        .expect("tree")
        .iter()
        .map(|e| {
            let path = str_of(&e[0]);
            let entry = match e[1].as_str() {
                Some("dir") => TreeEntry::Dir,
                Some("file") => TreeEntry::File(unhex(&str_of(&e[2]))),
                _ => TreeEntry::Symlink(str_of(&e[2])),
            };
            (path, entry)
        })
        .collect();
    RunResult {
        stdout: unhex(&str_of(&value["stdout"])),
        stderr: unhex(&str_of(&value["stderr"])),
        exit: value["exit"].as_i64().map(|n| n as i32),
        trap: value["trap"].as_str().map(str::to_owned),
        tree,
    }
}
