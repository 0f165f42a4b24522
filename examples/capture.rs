//! Embedding wasi-warden: run `examples/hello.wat` with captured stdout and a private in-memory
//! filesystem, then show what the guest printed and what it left in its filesystem.
//!
//!     cargo run --example capture

use wasi_warden::vfs::TreeEntry;
use wasi_warden::wasmtime::{Engine, Module};
use wasi_warden::{MemFs, Outcome, Output, WasiCtx};

fn main() -> wasi_warden::wasmtime::Result<()> {
    let engine = Engine::default();
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/hello.wat");
    let module = Module::from_file(&engine, path)?;

    // Every grant is explicit: args, one variable, clocks, randomness, stdout, a filesystem.
    let stdout = Output::capture().limit(1 << 20).build();
    let fs = MemFs::new();
    let ctx = WasiCtx::builder()
        .args(["hello.wasm", "--from-the-capture-example"])
        .env("GREETING", "hi")
        .system_clocks()
        .os_random()
        .stdout(stdout.clone())
        .mount("/", fs.clone())
        .build();

    let (outcome, _ctx) = wasi_warden::run_command(&engine, &module, ctx)?;
    match &outcome {
        Outcome::Exited(code) => println!("the guest exited with status {code}"),
        Outcome::Trapped(error) => println!("the guest was stopped: {error:#}"),
    }

    println!("\n--- what the guest wrote to stdout ---");
    print!("{}", String::from_utf8_lossy(&stdout.contents()));

    // The tree outlives the guest: the host can inspect (or keep) whatever it created.
    println!("\n--- what the guest left in its filesystem ---");
    for (path, entry) in fs.snapshot() {
        match entry {
            TreeEntry::Dir => println!("/{path}/"),
            TreeEntry::File(bytes) => println!(
                "/{path}  ({} bytes): {:?}",
                bytes.len(),
                String::from_utf8_lossy(&bytes)
            ),
            TreeEntry::Symlink(target) => println!("/{path} -> {target}"),
        }
    }
    std::process::exit(outcome.exit_code());
}
