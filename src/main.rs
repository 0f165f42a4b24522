//! `wasi-warden`, the command-line runner: parses flags (`cli/`), grants the guest what they
//! say through the public `WasiCtx` builder, runs the module and turns how it ended into an exit
//! status. It must not grant anything the flags (and the documented CLI defaults) do not ask
//! for, and it never writes to the host filesystem (but for the `--audit` file it is told to write).

mod cli;

use clap::Parser;
use cli::{Cli, Command, RunArgs};
use std::path::Path;
use std::process::ExitCode;
use wasi_warden::stdio::OutputLimitExceeded;
use wasi_warden::wasmtime::{Engine, Module, Trap};
use wasi_warden::{
    I32Exit, Input, MemFs, Outcome, Output, Overlay, Perms, WasiCtx, WasiCtxBuilder, run_command,
};

/// Exit status when the guest trapped or was stopped by a limit: 128 + SIGABRT, what
/// `wasmtime run` reports for a trap on Unix, so scripts can tell it from the guest's own codes.
const EXIT_TRAPPED: u8 = 134;
/// Exit status when the guest could not be started (bad flags, module, mount). clap uses it too.
const EXIT_USAGE: u8 = 2;

fn main() -> ExitCode {
    let Cli { command } = Cli::parse();
    match command {
        Command::Run(args) => run(args),
    }
}

/// Everything that can stop the guest from starting, as one line for the user.
struct SetupError(String);

fn run(args: RunArgs) -> ExitCode {
    let engine = Engine::default();
    // Load first: a typo in the module path should not cost copying a large --mem-dir.
    let module = match load_module(&engine, args.module()) {
        Ok(module) => module,
        Err(SetupError(message)) => return fail(EXIT_USAGE, &message),
    };
    let ctx = match build_ctx(&args) {
        Ok(ctx) => ctx,
        Err(SetupError(message)) => return fail(EXIT_USAGE, &message),
    };
    match run_command(&engine, &module, ctx) {
        Ok((Outcome::Exited(code), _ctx)) => guest_exit_status(code),
        Ok((Outcome::Trapped(error), _ctx)) => trapped(&error),
        // A trap in the module's start function surfaces while instantiating.
        Err(error) if error.downcast_ref::<Trap>().is_some() => trapped(&error),
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

/// Turns the flags into grants. The CLI runs ordinary programs, so unlike the library it grants
/// clocks and OS randomness; everything else comes from a flag.
fn build_ctx(args: &RunArgs) -> Result<WasiCtx, SetupError> {
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
    builder = mount_host_dirs(args, builder, &mut seen)?;
    for mount in &args.mem_dir {
        if !seen.insert(mount.guest.as_str()) {
            return Err(SetupError(format!(
                "--mem-dir: {} is mounted twice",
                mount.guest
            )));
        }
        let fs = match &mount.host {
            Some(host) => MemFs::from_host_dir(host).map_err(|e| {
                SetupError(format!(
                    "--mem-dir: cannot copy {} into memory: {e}",
                    host.display()
                ))
            })?,
            None => MemFs::new(),
        };
        builder = builder.mount(mount.guest.clone(), fs);
    }
    if seen.is_empty() {
        builder = builder.mount("/", MemFs::new());
    }
    let builder =
        cli::policy::apply(args, builder, &cli::policy::mount_names(args)).map_err(SetupError)?;
    Ok(builder.build())
}

/// Adds the --dir, --ro-dir and --overlay mounts, in that order. A missing or unreadable host
/// directory is an error before the guest starts.
fn mount_host_dirs<'a>(
    args: &'a RunArgs,
    mut builder: WasiCtxBuilder,
    seen: &mut std::collections::HashSet<&'a str>,
) -> Result<WasiCtxBuilder, SetupError> {
    enum How {
        Host(Perms),
        Overlay,
    }
    let kinds = [
        ("--dir", &args.dir, How::Host(Perms::READ_WRITE)),
        ("--ro-dir", &args.ro_dir, How::Host(Perms::READ_ONLY)),
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
            builder = match how {
                How::Host(perms) => builder
                    .mount_host(mount.guest.clone(), &mount.host, perms)
                    .map_err(failed)?,
                How::Overlay => {
                    let overlay = Overlay::new(&mount.host).map_err(failed)?;
                    builder.mount_overlay(mount.guest.clone(), &overlay)
                }
            };
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

/// Reports a trap or a stop in one line and returns [`EXIT_TRAPPED`].
fn trapped(error: &wasi_warden::wasmtime::Error) -> ExitCode {
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
        format!("guest trapped: {reason}")
    } else {
        // Host-side stops (a failing import...): the innermost cause is the informative part.
        format!(
            "guest trapped: {}",
            one_line(&error.root_cause().to_string())
        )
    };
    fail(EXIT_TRAPPED, &message)
}

fn fail(status: u8, message: &str) -> ExitCode {
    eprintln!("wasi-warden: {message}");
    ExitCode::from(status)
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
    use super::one_line;

    #[test]
    fn one_line_keeps_the_location_and_drops_the_excerpt() {
        let wat_error = "unknown operator\n     --> bad.wat:1:19\n      |\n    1 | (module (i32.bogus))\n      |         ^\n";
        assert_eq!(one_line(wat_error), "unknown operator --> bad.wat:1:19");
        assert_eq!(one_line("a: b\nc"), "a: b c");
    }
}
