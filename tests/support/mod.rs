//! Test support shared by the integration tests: builds the guest crate (`tests/guests`) once per
//! test process, compiles each guest once on a shared engine, seeds the fixture tree, and runs a
//! guest under wasi-warden (public API only) or under wasmtime-wasi 48 (the reference), returning
//! the same `RunResult` shape so the two can be compared field by field.
#![allow(dead_code)] // each test binary uses a different subset

pub mod backend;
pub mod driver;
pub mod reference;

pub use backend::{Backend, host_tree};

use std::collections::HashMap;
use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};
use wasi_warden::vfs::TreeEntry;
use wasi_warden::wasmtime::{self, Engine, Linker, Module, Store};
use wasi_warden::{Input, MemFs, Outcome, Output, WasiCtx, WasiCtxBuilder, run_command};

/// The repository root (where the root Cargo.toml is).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Where the guest crate is built: a target dir of its own, so the wasm build never contends
/// with (or invalidates) the host build.
fn guest_target_dir() -> PathBuf {
    repo_root().join("target").join("guests")
}

/// Builds `tests/guests` once per process; cargo's own lock on the target dir keeps parallel
/// test binaries safe. Panics with the compiler's output if the build fails.
fn build_guests() -> &'static PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(|| {
        // A Windows test build runs where cargo may not be (under Wine, say): the guests are
        // built beforehand on the build machine, as `.ci/run` does.
        if cfg!(windows) {
            let built = guest_target_dir().join("wasm32-wasip1").join("release");
            assert!(
                built.is_dir(),
                "no prebuilt guests in {}: build tests/guests for wasm32-wasip1 first",
                built.display()
            );
            return built;
        }
        ensure_wasm_target();
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let manifest = repo_root().join("tests/guests/Cargo.toml");
        let output = Command::new(cargo)
            .args(["build", "--release", "--quiet", "--target", "wasm32-wasip1"])
            .arg("--manifest-path")
            .arg(&manifest)
            .arg("--target-dir")
            .arg(guest_target_dir())
            // Flags meant for the host build (coverage, sanitizers) must not reach the wasm one.
            .env_remove("RUSTFLAGS")
            .env_remove("CARGO_ENCODED_RUSTFLAGS")
            .env_remove("CARGO_BUILD_TARGET")
            .env_remove("CARGO_TARGET_DIR")
            .env_remove("RUSTC_WORKSPACE_WRAPPER")
            .output()
            .expect("failed to run cargo to build tests/guests");
        if !output.status.success() {
            panic!(
                "building tests/guests for wasm32-wasip1 failed:\n{}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
        guest_target_dir().join("wasm32-wasip1").join("release")
    })
}

/// Installs the wasm32-wasip1 std if rustup is there and the target is missing.
fn ensure_wasm_target() {
    let sysroot = Command::new("rustc").args(["--print", "sysroot"]).output();
    let installed = match sysroot {
        Ok(out) => {
            let root = String::from_utf8_lossy(&out.stdout).trim().to_string();
            Path::new(&root).join("lib/rustlib/wasm32-wasip1").is_dir()
        }
        Err(_) => false,
    };
    if installed {
        return;
    }
    let added = Command::new("rustup")
        .args(["target", "add", "wasm32-wasip1"])
        .status();
    match added {
        Ok(status) if status.success() => {}
        other => panic!(
            "the wasm32-wasip1 target is not installed and `rustup target add wasm32-wasip1` \
             failed ({other:?}); install it to run the guest-program tests"
        ),
    }
}

/// Names of every guest program (`tests/guests/src/bin/*.rs`), sorted.
pub fn guest_names() -> Vec<String> {
    let dir = repo_root().join("tests/guests/src/bin");
    let mut names: Vec<String> = fs::read_dir(&dir)
        .expect("tests/guests/src/bin")
        .filter_map(|e| {
            let path = e.ok()?.path();
            (path.extension()? == "rs").then(|| path.file_stem()?.to_str().map(String::from))?
        })
        .collect();
    names.sort();
    names
}

/// The path of the compiled guest `name` (building the crate on first use).
pub fn guest(name: &str) -> PathBuf {
    let path = build_guests().join(format!("{name}.wasm"));
    assert!(
        path.is_file(),
        "guest {name} was not built: {}",
        path.display()
    );
    path
}

/// One engine for every run of the process: wasi-warden and wasmtime-wasi share it, so a module
/// compiled once serves both.
pub fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(Engine::default)
}

/// The compiled guest `name`, cached per process (compiling is the slow part of a run).
pub fn module(name: &str) -> Module {
    static CACHE: OnceLock<Mutex<HashMap<String, Module>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(m) = cache.lock().unwrap().get(name) {
        return m.clone();
    }
    // Compile outside the lock so different guests compile in parallel.
    let path = guest(name);
    let module = Module::from_file(engine(), &path)
        .unwrap_or_else(|e| panic!("compiling {}: {e:?}", path.display()));
    cache
        .lock()
        .unwrap()
        .entry(name.to_string())
        .or_insert(module)
        .clone()
}

/// What a guest is started with. The seed tree is always [`seed_tree`].
#[derive(Clone, Debug, Default)]
pub struct Scenario {
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    pub stdin: Vec<u8>,
}

impl Scenario {
    /// The usual start: `argv = [<name>.wasm]`, no env, empty stdin.
    pub fn new(name: &str) -> Scenario {
        Scenario {
            args: vec![format!("{name}.wasm")],
            ..Scenario::default()
        }
    }

    pub fn args<I: IntoIterator<Item = S>, S: Into<String>>(mut self, args: I) -> Self {
        self.args = args.into_iter().map(Into::into).collect();
        self
    }

    pub fn arg(mut self, arg: impl Into<String>) -> Self {
        self.args.push(arg.into());
        self
    }

    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    pub fn stdin(mut self, bytes: impl Into<Vec<u8>>) -> Self {
        self.stdin = bytes.into();
        self
    }
}

/// How a run ended and what it left behind.
#[derive(Clone, PartialEq, Eq)]
pub struct RunResult {
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    /// The exit status, if the guest exited (returned from `_start` or called `proc_exit`).
    pub exit: Option<i32>,
    /// Why the guest stopped otherwise: `trap: <code>` for a wasm trap, `error: <message>` for
    /// any other error a host function stopped it with.
    pub trap: Option<String>,
    /// Everything below the preopened root, sorted by path.
    pub tree: Vec<(String, TreeEntry)>,
}

impl RunResult {
    /// The trap without its message details: the trap code for wasm traps, "error" otherwise —
    /// the two runtimes word host errors differently.
    pub fn trap_kind(&self) -> Option<String> {
        self.trap.as_ref().map(|t| match t.strip_prefix("trap: ") {
            Some(code) => code.to_string(),
            None => "error".to_string(),
        })
    }
}

impl fmt::Debug for RunResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "exit: {:?}  trap: {:?}", self.exit, self.trap)?;
        writeln!(
            f,
            "--- stdout ---\n{}",
            String::from_utf8_lossy(&self.stdout)
        )?;
        writeln!(
            f,
            "--- stderr ---\n{}",
            String::from_utf8_lossy(&self.stderr)
        )?;
        writeln!(f, "--- tree ---")?;
        for (path, entry) in &self.tree {
            writeln!(f, "{path}: {}", show_entry(entry))?;
        }
        Ok(())
    }
}

/// A tree entry in one short line (file contents abbreviated).
pub fn show_entry(entry: &TreeEntry) -> String {
    match entry {
        TreeEntry::Dir => "dir".to_string(),
        TreeEntry::Symlink(target) => format!("symlink -> {target:?}"),
        TreeEntry::File(bytes) if bytes.len() <= 64 => {
            format!("file {:?}", String::from_utf8_lossy(bytes))
        }
        TreeEntry::File(bytes) => format!("file ({} bytes)", bytes.len()),
    }
}

/// Describes how a guest call ended, in the runtime-neutral shape of `RunResult`.
fn classify(error: &wasmtime::Error) -> String {
    match error.downcast_ref::<wasmtime::Trap>() {
        Some(trap) => format!("trap: {trap:?}"),
        None => format!("error: {error:#}"),
    }
}

/// The fixture every scenario starts from: a few files and directories, an empty directory, and
/// relative symlinks to a file and to a directory.
pub fn seed_tree() -> tempfile::TempDir {
    seed_tree_with_links(backend::host_symlinks_work())
}

/// [`seed_tree`], with its two symlinks or without them.
pub fn seed_tree_with_links(links: bool) -> tempfile::TempDir {
    let dir = tempfile::Builder::new()
        .prefix("warden-seed-")
        .tempdir()
        .unwrap();
    let root = dir.path();
    fs::write(root.join("hello.txt"), "hello world\n").unwrap();
    fs::create_dir_all(root.join("data/nested")).unwrap();
    fs::write(root.join("data/numbers.txt"), "0123456789").unwrap();
    fs::write(root.join("data/nested/deep.txt"), "deep\n").unwrap();
    fs::create_dir(root.join("empty")).unwrap();
    // Where the host cannot hold symlinks (Wine), the seed has none: both sides of every
    // differential test see the same tree either way.
    if links {
        assert!(backend::host_symlink("hello.txt", root.join("link_hello")));
        assert!(backend::host_symlink("data", root.join("link_data")));
    }
    dir
}

/// How long one guest run may take before the test gives up on it (a hang is a failure, not a
/// stuck test suite).
pub const RUN_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// Runs `f` on its own thread and waits at most [`RUN_TIMEOUT`]; a panic in `f` is re-raised
/// here with its message. A run that times out is abandoned (its thread is left behind).
pub fn with_timeout<T: Send + 'static>(what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
        let _ = tx.send(result.map_err(|p| panic_message(&*p)));
    });
    match rx.recv_timeout(RUN_TIMEOUT) {
        Ok(Ok(value)) => value,
        Ok(Err(message)) => panic!("{what} panicked: {message}"),
        Err(_) => panic!("{what} did not finish within {RUN_TIMEOUT:?} (hung?)"),
    }
}

/// The text of a panic payload.
pub fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "<non-string panic>".into()
    }
}

/// Runs `name` under wasi-warden with the seed tree in an in-memory filesystem mounted at `/`.
pub fn run_warden(name: &str, scenario: &Scenario) -> RunResult {
    run_warden_on(Backend::Mem, name, scenario)
}

/// Runs `name` under wasi-warden with the seed tree on `backend`, mounted at `/`.
pub fn run_warden_on(backend: Backend, name: &str, scenario: &Scenario) -> RunResult {
    let (name, scenario) = (name.to_string(), scenario.clone());
    with_timeout(
        &format!("wasi-warden ({backend:?}) running {name}"),
        move || {
            let seed = seed_tree();
            let (builder, mounted) = backend.mount(WasiCtx::builder(), "/", seed.path());
            let result = run_warden_ctx(&name, &scenario, builder, || mounted.tree());
            if !backend.writes_host() {
                // Only a host mount may write the seed copy: an overlay's lower layer and a
                // memory copy's source must be exactly as they were made.
                let pristine = seed_tree();
                assert_eq!(
                    host_tree(seed.path()),
                    host_tree(pristine.path()),
                    "{backend:?} wrote to the host directory while running {name}"
                );
            }
            result
        },
    )
}

/// Runs `name` under wasi-warden on a given in-memory filesystem mounted at `/`.
pub fn run_warden_with(name: &str, scenario: &Scenario, fs: MemFs) -> RunResult {
    let builder = WasiCtx::builder().mount("/", fs.clone());
    run_warden_ctx(name, scenario, builder, || fs.snapshot())
}

/// Grants the scenario's args, env, stdio, clocks and randomness on top of `builder` (which
/// holds the mount), runs the guest, then reads the final tree with `tree`.
fn run_warden_ctx(
    name: &str,
    scenario: &Scenario,
    builder: WasiCtxBuilder,
    tree: impl FnOnce() -> Vec<(String, TreeEntry)>,
) -> RunResult {
    let stdout = Output::capture().build();
    let stderr = Output::capture().build();
    let ctx = builder
        .args(scenario.args.iter().cloned())
        .envs(scenario.env.iter().cloned())
        .stdin(Input::bytes(scenario.stdin.clone()))
        .stdout(stdout.clone())
        .stderr(stderr.clone())
        .system_clocks()
        .os_random()
        .build();
    let (outcome, _ctx) =
        run_command(engine(), &module(name), ctx).expect("instantiating the guest");
    let (exit, trap) = match &outcome {
        Outcome::Exited(code) => (Some(*code), None),
        Outcome::Trapped(error) => (None, Some(classify(error))),
    };
    let mut tree = tree();
    tree.sort_by(|a, b| a.0.cmp(&b.0));
    RunResult {
        stdout: stdout.contents(),
        stderr: stderr.contents(),
        exit,
        trap,
        tree,
    }
}

/// Runs `name` under wasmtime-wasi 48's preview1 with a fresh host copy of the seed tree
/// preopened read-write as `/`.
pub fn run_wasmtime(name: &str, scenario: &Scenario) -> RunResult {
    run_wasmtime_on(name, scenario, backend::host_symlinks_work())
}

/// [`run_wasmtime`] on the seed tree with or without its symlinks.
pub fn run_wasmtime_on(name: &str, scenario: &Scenario, links: bool) -> RunResult {
    let (name, scenario) = (name.to_string(), scenario.clone());
    with_timeout(&format!("wasmtime-wasi running {name}"), move || {
        run_wasmtime_inner(&name, &scenario, links)
    })
}

fn run_wasmtime_inner(name: &str, scenario: &Scenario, links: bool) -> RunResult {
    use wasmtime_wasi::p2::pipe::{MemoryInputPipe, MemoryOutputPipe};
    let seed = seed_tree_with_links(links);
    let stdout = MemoryOutputPipe::new(usize::MAX);
    let stderr = MemoryOutputPipe::new(usize::MAX);
    let mut builder = wasmtime_wasi::WasiCtxBuilder::new();
    builder
        .args(&scenario.args)
        .envs(&scenario.env)
        .stdin(MemoryInputPipe::new(scenario.stdin.clone()))
        .stdout(stdout.clone())
        .stderr(stderr.clone())
        .preopened_dir(seed.path(), "/", wasmtime_wasi::FsPerms::ReadWrite)
        .expect("preopening the seed tree");
    let wasi = builder.build_p1();
    let mut linker = Linker::new(engine());
    wasmtime_wasi::p1::add_to_linker_sync(&mut linker, |cx| cx).unwrap();
    let mut store = Store::new(engine(), wasi);
    let instance = linker
        .instantiate(&mut store, &module(name))
        .expect("instantiating the guest");
    let start = instance
        .get_typed_func::<(), ()>(&mut store, "_start")
        .expect("_start");
    let (exit, trap) = match start.call(&mut store, ()) {
        Ok(()) => (Some(0), None),
        Err(error) => match error.downcast_ref::<wasmtime_wasi::I32Exit>() {
            Some(exit) => (Some(exit.0), None),
            None => (None, Some(classify(&error))),
        },
    };
    drop(store);
    RunResult {
        stdout: stdout.contents().to_vec(),
        stderr: stderr.contents().to_vec(),
        exit,
        trap,
        tree: host_tree(seed.path()),
    }
}

/// A line-by-line diff of two outputs, for assertion messages.
pub fn diff_lines(left: &[u8], right: &[u8]) -> String {
    let left = String::from_utf8_lossy(left);
    let right = String::from_utf8_lossy(right);
    let (l, r): (Vec<&str>, Vec<&str>) = (left.lines().collect(), right.lines().collect());
    let mut out = String::new();
    for i in 0..l.len().max(r.len()) {
        let (a, b) = (l.get(i).copied(), r.get(i).copied());
        if a != b {
            out.push_str(&format!(
                "  line {}:\n    warden:   {}\n    wasmtime: {}\n",
                i + 1,
                a.unwrap_or("<none>"),
                b.unwrap_or("<none>")
            ));
        }
    }
    out
}

/// A diff of two trees, for assertion messages.
pub fn diff_trees(left: &[(String, TreeEntry)], right: &[(String, TreeEntry)]) -> String {
    let l: HashMap<&String, &TreeEntry> = left.iter().map(|(p, e)| (p, e)).collect();
    let r: HashMap<&String, &TreeEntry> = right.iter().map(|(p, e)| (p, e)).collect();
    let mut paths: Vec<&String> = l.keys().chain(r.keys()).copied().collect();
    paths.sort();
    paths.dedup();
    let mut out = String::new();
    for p in paths {
        let (a, b) = (l.get(p), r.get(p));
        if a != b {
            let show = |e: Option<&&TreeEntry>| e.map_or("<absent>".to_string(), |e| show_entry(e));
            out.push_str(&format!(
                "  {p}:\n    warden:   {}\n    wasmtime: {}\n",
                show(a),
                show(b)
            ));
        }
    }
    out
}

/// Instantiates an already compiled module under wasmtime-wasi (seed tree preopened as `/`,
/// stdin "stdin bytes", stdout discarded) and calls its `export: () -> i32`.
pub fn run_wasmtime_seed(module: &Module, export: &str) -> wasmtime::Result<i32> {
    use wasmtime_wasi::p2::pipe::MemoryInputPipe;
    let seed = seed_tree();
    let mut builder = wasmtime_wasi::WasiCtxBuilder::new();
    builder
        .args(&["abi.wasm", "x"])
        .stdin(MemoryInputPipe::new(&b"stdin bytes"[..]))
        .preopened_dir(seed.path(), "/", wasmtime_wasi::FsPerms::ReadWrite)?;
    let mut linker = Linker::new(engine());
    wasmtime_wasi::p1::add_to_linker_sync(&mut linker, |cx| cx)?;
    let mut store = Store::new(engine(), builder.build_p1());
    let instance = linker.instantiate(&mut store, module)?;
    let run = instance.get_typed_func::<(), i32>(&mut store, export)?;
    run.call(&mut store, ())
}
