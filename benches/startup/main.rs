//! `cargo bench --bench startup`: cold and warm start of a large real guest — `toolbox`, a
//! 12 MB wasm32-wasip1 program over Cranelift, wat/wasmparser, syn, regex and serde_json
//! (benches/guests/startup), built here — each start a fresh process, as a user runs it:
//!
//! - `wasi-warden run` itself, with its default compiled-module cache;
//! - a minimal runner on the wasi-warden library (this binary re-run as a child);
//! - the same runner on wasmtime-wasi: the same engine configuration and the same cache.
//!
//! Cold starts use an empty cache directory; warm starts the one a cold start filled. Rounds
//! are interleaved so a slow spell of the machine falls on all three alike; medians are
//! reported with the targets (warm ≤ 10% of cold; warm within 1.2× of wasmtime-wasi).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use wasi_warden::wasmtime::{Cache, CacheConfig, Config, Engine, Linker, Module, Store};

/// The environment variable that makes this binary one start of a runner.
const CHILD: &str = "WARDEN_STARTUP_RUNNER";
/// What the guest is asked to do: a few milliseconds of work touching each part of it.
const GUEST_ARGS: &[&str] = &["all"];
/// Rounds of cold starts (each compiles the whole guest) and of warm starts.
const COLD_ROUNDS: usize = 3;
const WARM_ROUNDS: usize = 15;

fn main() {
    if let Ok(runner) = std::env::var(CHILD) {
        let mut args = std::env::args().skip(1);
        let (wasm, cache) = (args.next().unwrap(), args.next().unwrap());
        std::process::exit(child(&runner, Path::new(&wasm), Path::new(&cache)));
    }
    // `cargo bench` passes `--bench`; a filter that names no benchmark here skips the run.
    let filter = std::env::args().skip(1).find(|a| !a.starts_with("--"));
    if filter.is_some_and(|f| !"startup".contains(f.as_str())) {
        return;
    }
    let wasm = build_guest();
    let size = std::fs::metadata(&wasm).unwrap().len();
    println!(
        "startup: {} ({:.1} MB), `toolbox {}`",
        wasm.display(),
        size as f64 / 1e6,
        GUEST_ARGS.join(" ")
    );
    let runners = [Runner::Cli, Runner::WardenLib, Runner::WasmtimeWasi];
    let mut cold: Vec<Vec<Duration>> = vec![Vec::new(); runners.len()];
    let mut warm: Vec<Vec<Duration>> = vec![Vec::new(); runners.len()];
    let scratch = tempfile::tempdir().unwrap();
    for round in 0..COLD_ROUNDS.max(WARM_ROUNDS) {
        for (i, runner) in runners.iter().enumerate() {
            let cache = scratch.path().join(format!("{}-{}", runner.name(), round));
            let warm_cache = scratch.path().join(format!("{}-0", runner.name()));
            if round < COLD_ROUNDS {
                cold[i].push(runner.start(&wasm, &cache));
            }
            if round < WARM_ROUNDS {
                // The first cold round filled this one.
                warm[i].push(runner.start(&wasm, &warm_cache));
            }
        }
    }
    report(&runners, &cold, &warm);
}

/// Who starts the guest.
#[derive(Clone, Copy)]
enum Runner {
    /// `wasi-warden run`.
    Cli,
    /// This binary as a child, on the wasi-warden library.
    WardenLib,
    /// This binary as a child, on wasmtime-wasi.
    WasmtimeWasi,
}

impl Runner {
    fn name(self) -> &'static str {
        match self {
            Runner::Cli => "wasi-warden run",
            Runner::WardenLib => "wasi-warden library",
            Runner::WasmtimeWasi => "wasmtime-wasi",
        }
    }

    /// One start with `cache` as the cache directory: its wall time, process included.
    fn start(self, wasm: &Path, cache: &Path) -> Duration {
        let mut cmd = match self {
            Runner::Cli => {
                let mut cmd = Command::new(env!("CARGO_BIN_EXE_wasi-warden"));
                // The CLI's cache is in $XDG_CACHE_HOME/wasi-warden.
                cmd.env("XDG_CACHE_HOME", cache).arg("run").arg(wasm);
                cmd
            }
            Runner::WardenLib | Runner::WasmtimeWasi => {
                let mut cmd = Command::new(std::env::current_exe().unwrap());
                let kind = if matches!(self, Runner::WardenLib) {
                    "warden"
                } else {
                    "wasmtime-wasi"
                };
                cmd.env(CHILD, kind)
                    .arg(wasm)
                    .arg(cache.join("wasi-warden"));
                cmd
            }
        };
        cmd.args(GUEST_ARGS)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let started = Instant::now();
        let out = cmd.output().expect("the runner starts");
        let took = started.elapsed();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && text.contains("rust: 2 functions"),
            "{}: {:?}\n{text}\n{}",
            self.name(),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        took
    }
}

/// A child: one start of `wasm` on `runner`, with the engine `wasi-warden run` uses by
/// default (`Config::new()`) and wasmtime's cache in `cache`. Returns the exit status.
fn child(runner: &str, wasm: &Path, cache: &Path) -> i32 {
    let mut cache_config = CacheConfig::new();
    cache_config.with_directory(cache);
    let mut config = Config::new();
    config.cache(Some(Cache::new(cache_config).unwrap()));
    let engine = Engine::new(&config).unwrap();
    let module = Module::from_file(&engine, wasm).unwrap();
    let args: Vec<String> = std::iter::once("toolbox")
        .chain(GUEST_ARGS.iter().copied())
        .map(String::from)
        .collect();
    match runner {
        "warden" => {
            let ctx = wasi_warden::WasiCtx::builder()
                .args(args)
                .stdout(wasi_warden::Output::inherit_stdout())
                .stderr(wasi_warden::Output::inherit_stderr())
                .system_clocks()
                .os_random()
                .build();
            let (outcome, _) = wasi_warden::run_command(&engine, &module, ctx).unwrap();
            outcome.exit_code()
        }
        _ => {
            let mut linker: Linker<wasmtime_wasi::p1::WasiP1Ctx> = Linker::new(&engine);
            wasmtime_wasi::p1::add_to_linker_sync(&mut linker, |c| c).unwrap();
            let ctx = wasmtime_wasi::WasiCtxBuilder::new()
                .args(&args)
                .inherit_stdout()
                .inherit_stderr()
                .build_p1();
            let mut store = Store::new(&engine, ctx);
            let instance = linker.instantiate(&mut store, &module).unwrap();
            let start = instance
                .get_typed_func::<(), ()>(&mut store, "_start")
                .unwrap();
            match start.call(&mut store, ()) {
                Ok(()) => 0,
                Err(e) => e
                    .downcast_ref::<wasmtime_wasi::I32Exit>()
                    .map_or(1, |exit| exit.0),
            }
        }
    }
}

fn median(times: &[Duration]) -> Duration {
    let mut sorted = times.to_vec();
    sorted.sort();
    sorted[sorted.len() / 2]
}

/// Prints the table and the targets.
fn report(runners: &[Runner], cold: &[Vec<Duration>], warm: &[Vec<Duration>]) {
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "\n| start (median of {COLD_ROUNDS} cold, {WARM_ROUNDS} warm) | cold | warm | warm ÷ cold |"
    );
    println!("|---|---|---|---|");
    for (i, runner) in runners.iter().enumerate() {
        let (c, w) = (median(&cold[i]), median(&warm[i]));
        println!(
            "| {} | {:.0} ms | {:.1} ms | {:.1}% |",
            runner.name(),
            ms(c),
            ms(w),
            100.0 * w.as_secs_f64() / c.as_secs_f64()
        );
    }
    let cli = (median(&cold[0]), median(&warm[0]));
    let (lib, wt) = (median(&warm[1]), median(&warm[2]));
    let pct = 100.0 * cli.1.as_secs_f64() / cli.0.as_secs_f64();
    println!(
        "\ntarget: `wasi-warden run` warm ≤ 10% of cold: {pct:.1}% {}",
        met(pct <= 10.0)
    );
    for (what, t) in [
        ("`wasi-warden run`", cli.1),
        ("the wasi-warden library", lib),
    ] {
        let ratio = t.as_secs_f64() / wt.as_secs_f64();
        println!(
            "target: {what} warm within 1.2× of wasmtime-wasi's (same engine and cache): \
             {ratio:.2}× {}",
            met(ratio <= 1.2)
        );
    }
}

fn met(ok: bool) -> &'static str {
    if ok { "(met)" } else { "(NOT met)" }
}

/// Builds benches/guests/startup for wasm32-wasip1 (release) in its own target directory and
/// returns the module's path. The first build compiles Cranelift and friends: minutes.
fn build_guest() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let target_dir = root.join("target").join("bench-guests");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .args(["build", "--release", "--quiet", "--target", "wasm32-wasip1"])
        .arg("--manifest-path")
        .arg(root.join("benches/guests/startup/Cargo.toml"))
        .arg("--target-dir")
        .arg(&target_dir)
        // Flags meant for the host build must not reach the wasm one.
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_BUILD_TARGET")
        .env_remove("CARGO_TARGET_DIR")
        .status()
        .expect("cargo runs");
    assert!(
        status.success(),
        "building benches/guests/startup failed (needs `rustup target add wasm32-wasip1`)"
    );
    target_dir.join("wasm32-wasip1/release/toolbox.wasm")
}
