//! How a run ends, as the user sees it: the exit statuses, and every message the CLI prints
//! (one line each, `wasi-warden: ` then the text escaped, since messages mix our words with
//! guest-controlled names). Nothing here decides anything about the guest.

use std::process::ExitCode;
use std::time::Duration;
use wasi_warden::stdio::OutputLimitExceeded;
use wasi_warden::wasmtime::Trap;
use wasi_warden::{I32Exit, LimitStop, escape};

/// Exit status when the guest trapped or was stopped by a limit: 128 + SIGABRT, what
/// `wasmtime run` reports for a trap on Unix, so scripts can tell it from the guest's own codes.
pub const EXIT_TRAPPED: u8 = 134;
/// Exit status when the guest could not be started (bad flags, module, mount, image) or its
/// tree could not be saved. clap uses it too.
pub const EXIT_USAGE: u8 = 2;
/// Exit status when the guest ran past --timeout (as GNU `timeout`).
pub const EXIT_TIMEOUT: u8 = 124;
/// Exit status when the guest used up its --fuel.
pub const EXIT_FUEL: u8 = 125;
/// Exit status when the guest's memory would have grown past --max-memory.
pub const EXIT_MEMORY: u8 = 123;

/// The guest's status, as the process's. Unix keeps the low 8 bits, as for any process.
pub fn guest_exit_status(code: i32) -> ExitCode {
    // Status 0..=255 maps as is; `ExitCode::from(u8)` cannot carry the rest, so exit directly.
    match u8::try_from(code) {
        Ok(code) => ExitCode::from(code),
        Err(_) => std::process::exit(code),
    }
}

/// Reports a trap or a stop in one line and returns its status: [`EXIT_TRAPPED`], or the
/// status of the run-wide limit that stopped the guest.
pub fn trapped(error: &wasi_warden::wasmtime::Error, timeout: Option<Duration>) -> ExitCode {
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
            let what = if stop.table {
                "a table would grow its memory and tables"
            } else {
                "its memory would grow"
            };
            return fail(
                EXIT_MEMORY,
                &format!(
                    "guest stopped: {what} to {} bytes, past its --max-memory of {} bytes",
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
pub fn fail(status: u8, message: &str) -> ExitCode {
    note(message);
    ExitCode::from(status)
}

/// Prints `wasi-warden: MESSAGE` on stderr as [`fail`] does, and carries on.
pub fn note(message: &str) {
    // The guest may have been stopped because stderr stopped draining: the message waits for
    // room a quarter of a second at most, then is dropped, so the CLI still exits promptly.
    let line = format!("{}\n", shown(message));
    wasi_warden::stdio::write_host_stderr(line.as_bytes(), MESSAGE_PATIENCE);
}

/// How long a message of the CLI waits for a full stderr to take it.
const MESSAGE_PATIENCE: Duration = Duration::from_millis(250);

/// `message` as [`fail`] prints it: prefixed and escaped.
pub fn shown(message: &str) -> String {
    format!("wasi-warden: {}", escape(message))
}

/// Replaces the default panic message (which prints the payload raw, and a payload may quote
/// guest data) with one escaped line; `RUST_BACKTRACE` still adds the host backtrace.
pub fn report_panics_escaped() {
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
pub fn one_line(text: &str) -> String {
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
