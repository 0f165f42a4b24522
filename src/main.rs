//! `wasi-warden`, the command-line runner: parses flags (`cli/`), grants the guest what they
//! say through the public `WasiCtx` builder, runs the module and turns how it ended into an exit
//! status. It must not grant anything the flags (and the documented CLI defaults) do not ask
//! for, and it never writes to the host filesystem (but for the `--audit` and `--save-fs` files
//! it is told to write, and the guest's own writes to `--dir` mounts).

mod cli;

use clap::Parser;
use cli::{Cli, Command, RunArgs};
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;
use wasi_warden::clock::VirtualClock;
use wasi_warden::limits::FsLimits;
use wasi_warden::stdio::OutputLimitExceeded;
use wasi_warden::wasmtime::{Config, Engine, Module, Trap};
use wasi_warden::{
    HostDir, I32Exit, Input, LimitStop, MemFs, Mount, Outcome, Output, Overlay, RunLimits, WasiCtx,
    WasiCtxBuilder, escape, run_command_with,
};

/// Exit status when the guest trapped or was stopped by a limit: 128 + SIGABRT, what
/// `wasmtime run` reports for a trap on Unix, so scripts can tell it from the guest's own codes.
const EXIT_TRAPPED: u8 = 134;
/// Exit status when the guest could not be started (bad flags, module, mount, image) or its
/// tree could not be saved. clap uses it too.
const EXIT_USAGE: u8 = 2;
/// Exit status when the guest ran past --timeout (as GNU `timeout`).
const EXIT_TIMEOUT: u8 = 124;
/// Exit status when the guest used up its --fuel.
const EXIT_FUEL: u8 = 125;
/// Exit status when the guest's memory would have grown past --max-memory.
const EXIT_MEMORY: u8 = 123;

fn main() -> ExitCode {
    report_panics_escaped();
    let Cli { command } = Cli::parse();
    match command {
        Command::Run(args) => run(args),
    }
}

/// Everything that can stop the guest from starting, as one line for the user (unescaped:
/// [`fail`] escapes it).
struct SetupError(String);

fn run(args: RunArgs) -> ExitCode {
    let limits = RunLimits {
        fuel: args.fuel,
        timeout: args.timeout.map(|t| t.0),
        max_memory: args.max_memory.and_then(|m| m.bytes()),
    };
    let mut config = Config::new();
    limits.configure(&mut config);
    let engine = match Engine::new(&config) {
        Ok(engine) => engine,
        Err(e) => return fail(EXIT_USAGE, &format!("cannot set up the engine: {e}")),
    };
    // Load first: a typo in the module path should not cost copying a large --mem-dir.
    let module = match load_module(&engine, args.module()) {
        Ok(module) => module,
        Err(SetupError(message)) => return fail(EXIT_USAGE, &message),
    };
    let (ctx, to_save) = match build_ctx(&args) {
        Ok(built) => built,
        Err(SetupError(message)) => return fail(EXIT_USAGE, &message),
    };
    let status = finish(&args, run_command_with(&engine, &module, ctx, &limits));
    // However the guest ended, its tree is saved.
    match (&args.save_fs, to_save) {
        (Some(path), Some(fs)) => match save_tree(&fs, path) {
            Ok(()) => status,
            Err(SetupError(message)) => fail(EXIT_USAGE, &message),
        },
        _ => status,
    }
}

/// Turns how the run ended into the process's exit status (reporting stops in one line).
fn finish(args: &RunArgs, result: wasi_warden::wasmtime::Result<(Outcome, WasiCtx)>) -> ExitCode {
    match result {
        Ok((Outcome::Exited(code), _ctx)) => guest_exit_status(code),
        Ok((Outcome::Trapped(error), _ctx)) => trapped(&error, args.timeout.map(|t| t.0)),
        // A trap in the module's start function surfaces while instantiating.
        Err(error) if error.downcast_ref::<Trap>().is_some() => {
            trapped(&error, args.timeout.map(|t| t.0))
        }
        Err(error) => fail(
            EXIT_USAGE,
            &format!(
                "cannot run module {}: {}",
                args.module().display(),
                one_line(&format!("{error:#}"))
            ),
        ),
    }
}

/// Reads and compiles a `.wasm` or `.wat` file (wasmtime's `wat` feature tells them apart by
/// content, so the extension is not trusted).
fn load_module(engine: &Engine, path: &Path) -> Result<Module, SetupError> {
    let cannot = |reason: String| {
        SetupError(format!(
            "cannot load module {}: {}",
            path.display(),
            one_line(&reason)
        ))
    };
    // Read it ourselves so an I/O failure reads as one plain OS message.
    let bytes = std::fs::read(path).map_err(|e| cannot(e.to_string()))?;
    let compiled = if bytes.starts_with(b"\0asm") {
        Module::from_binary(engine, &bytes)
    } else {
        // Text: let wasmtime read the file again so parse errors carry its name and line.
        Module::from_file(engine, path)
    };
    compiled.map_err(|e| cannot(format!("{e:#}")))
}

/// Writes `fs` to `path` as a tar image.
fn save_tree(fs: &MemFs, path: &Path) -> Result<(), SetupError> {
    let failed = |e: String| SetupError(format!("--save-fs: cannot write {}: {e}", path.display()));
    let file = std::fs::File::create(path).map_err(|e| failed(e.to_string()))?;
    let mut out = std::io::BufWriter::new(file);
    fs.save_tar(&mut out).map_err(|e| failed(e.to_string()))?;
    std::io::Write::flush(&mut out).map_err(|e| failed(e.to_string()))
}

/// The budgets of every in-memory filesystem the CLI creates.
fn fs_limits(args: &RunArgs) -> FsLimits {
    let quota = args.fs_quota.bytes();
    FsLimits::default()
        .bytes(quota)
        .inodes(Some(cli::FS_INODES))
}

/// An in-memory filesystem for `--mem-dir [SRC::]GUEST`: empty, a copy of a host directory, or
/// loaded from a tar image file. `clock` (deterministic mode) stamps what is loaded.
fn mem_fs(
    src: Option<&Path>,
    limits: FsLimits,
    clock: Option<&Arc<VirtualClock>>,
) -> Result<MemFs, SetupError> {
    let fresh = || {
        let fs = MemFs::builder().limits(limits);
        match clock {
            Some(clock) => fs.time_source(clock.clone()).build(),
            None => fs.build(),
        }
    };
    let Some(src) = src else {
        return Ok(fresh());
    };
    if src.is_dir() {
        return MemFs::from_host_dir_with_limits(src, limits).map_err(|e| {
            SetupError(format!(
                "--mem-dir: cannot copy {} into memory: {e}",
                src.display()
            ))
        });
    }
    let failed = |e: String| {
        SetupError(format!(
            "--mem-dir: cannot load the image {}: {e}",
            src.display()
        ))
    };
    let file = std::fs::File::open(src).map_err(|e| failed(e.to_string()))?;
    let fs = fresh();
    wasi_warden::vfs::image::load(fs.root(), std::io::BufReader::new(file))
        .map_err(|e| failed(e.to_string()))?;
    Ok(fs)
}

/// Turns the flags into grants. The CLI runs ordinary programs, so unlike the library it grants
/// clocks and OS randomness; everything else comes from a flag. Also returns the in-memory
/// filesystem `--save-fs` writes.
fn build_ctx(args: &RunArgs) -> Result<(WasiCtx, Option<MemFs>), SetupError> {
    let limits = fs_limits(args);
    let clock = args.deterministic.map(|_| VirtualClock::new());
    let mut stdout = Output::inherit_stdout();
    if let Some(limit) = args.stdout_limit.bytes() {
        stdout = stdout.limit(limit);
    }
    let mut stderr = Output::inherit_stderr();
    if let Some(limit) = args.stderr_limit.bytes() {
        stderr = stderr.limit(limit);
    }
    let mut builder = WasiCtx::builder()
        .arg(args.module().to_string_lossy())
        .args(args.guest_args().iter().cloned())
        .stdin(Input::inherit())
        .stdout(stdout)
        .stderr(stderr)
        .system_clocks()
        .os_random()
        .max_fds(args.max_fds);
    for var in &args.env {
        let value = match &var.value {
            Some(value) => value.clone(),
            // As `wasmtime run --env K`: the host's value, or nothing if the host has none.
            None => match std::env::var(&var.key) {
                Ok(value) => value,
                Err(std::env::VarError::NotPresent) => continue,
                Err(std::env::VarError::NotUnicode(_)) => {
                    return Err(SetupError(format!(
                        "--env {}: the host's value is not valid UTF-8",
                        var.key
                    )));
                }
            },
        };
        builder = builder.env(var.key.clone(), value);
    }
    let mut seen = std::collections::HashSet::new();
    builder = mount_host_dirs(args, builder, &mut seen, limits)?;
    let mut first_mem = None;
    for mount in &args.mem_dir {
        if !seen.insert(mount.guest.as_str()) {
            return Err(SetupError(format!(
                "--mem-dir: {} is mounted twice",
                mount.guest
            )));
        }
        let fs = mem_fs(mount.host.as_deref(), limits, clock.as_ref())?;
        first_mem.get_or_insert_with(|| fs.clone());
        builder = builder.mount(mount.guest.clone(), fs);
    }
    if seen.is_empty() {
        let fs = mem_fs(None, limits, clock.as_ref())?;
        first_mem = Some(fs.clone());
        builder = builder.mount("/", fs);
    }
    if args.save_fs.is_some() && first_mem.is_none() {
        return Err(SetupError(
            "--save-fs: there is no in-memory mount to save (add --mem-dir)".to_string(),
        ));
    }
    if let (Some(seed), Some(clock)) = (args.deterministic, clock) {
        builder = builder.deterministic_with(seed, clock);
    }
    let builder =
        cli::policy::apply(args, builder, &cli::policy::mount_names(args)).map_err(SetupError)?;
    Ok((builder.build(), first_mem))
}

/// Adds the --dir, --ro-dir and --overlay mounts, in that order. A missing or unreadable host
/// directory is an error before the guest starts.
fn mount_host_dirs<'a>(
    args: &'a RunArgs,
    mut builder: WasiCtxBuilder,
    seen: &mut std::collections::HashSet<&'a str>,
    limits: FsLimits,
) -> Result<WasiCtxBuilder, SetupError> {
    enum How {
        ReadWrite,
        ReadOnly,
        Overlay,
    }
    let kinds = [
        ("--dir", &args.dir, How::ReadWrite),
        ("--ro-dir", &args.ro_dir, How::ReadOnly),
        ("--overlay", &args.overlay, How::Overlay),
    ];
    for (flag, mounts, how) in kinds {
        for mount in mounts {
            if !seen.insert(mount.guest.as_str()) {
                return Err(SetupError(format!(
                    "{flag}: {} is mounted twice",
                    mount.guest
                )));
            }
            let failed = |e: std::io::Error| {
                SetupError(format!("{flag}: cannot open {}: {e}", mount.host.display()))
            };
            let host = HostDir::open(&mount.host).map_err(failed)?;
            let to_mount = match how {
                How::ReadWrite => Mount::from(host),
                How::ReadOnly => Mount::read_only(host),
                How::Overlay => {
                    // The guest's changes (copy-ups included) are charged to --fs-quota; the
                    // lower layer is read-only, so the host is never written.
                    let lower = Mount::read_only(host).dir().clone();
                    Mount::from(Overlay::with_upper(lower, MemFs::builder().limits(limits)))
                }
            };
            builder = builder.mount(mount.guest.clone(), to_mount);
        }
    }
    Ok(builder)
}

/// The guest's status, as the process's. Unix keeps the low 8 bits, as for any process.
fn guest_exit_status(code: i32) -> ExitCode {
    // Status 0..=255 maps as is; `ExitCode::from(u8)` cannot carry the rest, so exit directly.
    match u8::try_from(code) {
        Ok(code) => ExitCode::from(code),
        Err(_) => std::process::exit(code),
    }
}

/// Reports a trap or a stop in one line and returns its status: [`EXIT_TRAPPED`], or the
/// status of the run-wide limit that stopped the guest.
fn trapped(error: &wasi_warden::wasmtime::Error, timeout: Option<Duration>) -> ExitCode {
    match LimitStop::of(error) {
        Some(LimitStop::Time(stop)) => {
            // A wait that reached the deadline knows only the instant: name the flag's value.
            let limit = stop
                .limit
                .or(timeout)
                .map_or(String::new(), |l| format!(" of {l:?}"));
            return fail(
                EXIT_TIMEOUT,
                &format!("guest stopped: it ran past its --timeout{limit}"),
            );
        }
        Some(LimitStop::Fuel(stop)) => {
            return fail(
                EXIT_FUEL,
                &format!(
                    "guest stopped: it used up its --fuel of {} units",
                    stop.fuel
                ),
            );
        }
        Some(LimitStop::Memory(stop)) => {
            let (what, unit) = if stop.table {
                ("a table", "elements")
            } else {
                ("its memory", "bytes")
            };
            return fail(
                EXIT_MEMORY,
                &format!(
                    "guest stopped: {what} would grow to {} {unit}, past its --max-memory \
                     of {} {unit}",
                    stop.desired, stop.limit
                ),
            );
        }
        Some(LimitStop::Output(_)) | None => {}
    }
    let message = if let Some(limit) = error.downcast_ref::<OutputLimitExceeded>() {
        format!(
            "guest stopped: it wrote more than the {} limit of {} bytes (raise it with --{}-limit)",
            limit.stream, limit.limit, limit.stream
        )
    } else if let Some(exit) = error.downcast_ref::<I32Exit>() {
        // Not reachable through `Outcome`, but a status is a status.
        return guest_exit_status(exit.0);
    } else if let Some(trap) = error.downcast_ref::<Trap>() {
        let reason = trap.to_string();
        let reason = reason.strip_prefix("wasm trap: ").unwrap_or(&reason);
        format!("guest trapped: {reason}{}", where_in_the_guest(error))
    } else {
        // Host-side stops (a failing import...): the innermost cause is the informative part.
        format!(
            "guest trapped: {}{}",
            one_line(&error.root_cause().to_string()),
            where_in_the_guest(error)
        )
    };
    fail(EXIT_TRAPPED, &message)
}

/// The innermost wasm frames of a trap, as ` (in module!function, called from …)` — names come
/// from the module's name section, so [`fail`] escapes them with the rest of the message.
fn where_in_the_guest(error: &wasi_warden::wasmtime::Error) -> String {
    const FRAMES: usize = 3;
    let Some(backtrace) = error.downcast_ref::<wasi_warden::wasmtime::WasmBacktrace>() else {
        return String::new();
    };
    let frames: Vec<String> = backtrace
        .frames()
        .iter()
        .take(FRAMES)
        .map(|frame| {
            let module = frame.module().name().unwrap_or("<module>");
            match frame.func_name() {
                Some(name) => format!("{module}!{name}"),
                None => format!("{module}!<function {}>", frame.func_index()),
            }
        })
        .collect();
    if frames.is_empty() {
        return String::new();
    }
    let more = if backtrace.frames().len() > FRAMES {
        ", …"
    } else {
        ""
    };
    format!(" (in {}{more})", frames.join(", called from "))
}

/// Prints `wasi-warden: MESSAGE` on stderr and returns `status`. Every message of the CLI goes
/// through here, and all of it after the prefix is [`escape`]d: messages carry guest-controlled
/// text (import and export names, module and function names from the name section in
/// wasmtime's backtraces, module file names, guest paths and names inside trap and `--save-fs`
/// errors) mixed with ours, and escaping the whole message cannot miss any of it.
fn fail(status: u8, message: &str) -> ExitCode {
    // The guest may have been stopped because stderr stopped draining: the message waits for
    // room a quarter of a second at most, then is dropped, so the CLI still exits promptly.
    let line = format!("{}\n", shown(message));
    wasi_warden::stdio::write_host_stderr(line.as_bytes(), MESSAGE_PATIENCE);
    ExitCode::from(status)
}

/// How long a message of the CLI waits for a full stderr to take it.
const MESSAGE_PATIENCE: Duration = Duration::from_millis(250);

/// `message` as [`fail`] prints it: prefixed and escaped.
fn shown(message: &str) -> String {
    format!("wasi-warden: {}", escape(message))
}

/// Replaces the default panic message (which prints the payload raw, and a payload may quote
/// guest data) with one escaped line; `RUST_BACKTRACE` still adds the host backtrace.
fn report_panics_escaped() {
    std::panic::set_hook(Box::new(|info| {
        let payload = info
            .payload_as_str()
            .unwrap_or("a panic with a non-text payload");
        let at = info
            .location()
            .map_or(String::new(), |l| format!(" at {l}"));
        eprintln!("wasi-warden: internal error{at}: {}", escape(payload));
        let backtrace = std::backtrace::Backtrace::capture();
        if backtrace.status() == std::backtrace::BacktraceStatus::Captured {
            eprintln!("{backtrace}");
        }
    }));
}

/// Folds a multi-line message into one line. wat parse errors carry a source excerpt
/// (`  |`, `1 | (module ...`, `  ^`) after the `--> file:line:col` location; the excerpt goes.
fn one_line(text: &str) -> String {
    let is_excerpt = |line: &str| {
        let rest = line
            .trim_start_matches(|c: char| c.is_ascii_digit())
            .trim_start();
        rest.starts_with('|') || rest.starts_with('^')
    };
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !is_excerpt(line))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::{one_line, shown};

    #[test]
    fn one_line_keeps_the_location_and_drops_the_excerpt() {
        let wat_error = "unknown operator\n     --> bad.wat:1:19\n      |\n    1 | (module (i32.bogus))\n      |         ^\n";
        assert_eq!(one_line(wat_error), "unknown operator --> bad.wat:1:19");
        assert_eq!(one_line("a: b\nc"), "a: b c");
    }

    #[test]
    fn messages_are_shown_on_one_line_with_guest_text_escaped() {
        // The shape of wasmtime's `{:#}` for a failed start function: the backtrace carries
        // the name section's module and function names.
        let error = "error while executing at wasm backtrace:\n    0:   0x6e - \
                     mod\u{1b}[2J!\u{1b}]0;x\u{7}evil\u{202e}\n\nCaused by:\n    boom\u{e0041}";
        let line = shown(&format!("cannot run module m.wat: {}", one_line(error)));
        assert_eq!(
            line,
            "wasi-warden: cannot run module m.wat: error while executing at wasm backtrace: \
             0:   0x6e - mod\\x1b[2J!\\x1b]0;x\\x07evil\\u{202e} Caused by: boom\\u{e0041}"
        );
        assert_eq!(shown("plain: caf\u{e9}"), "wasi-warden: plain: caf\u{e9}");
    }
}
