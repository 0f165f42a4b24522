//! Audit: an [`AuditSink`] receives one [`AuditRecord`] per import call — decoded request,
//! the policy's verdict (denied and asked calls included), the result and the duration. Two
//! sinks are built in: JSON Lines ([`JsonLinesAudit`]) and strace-like text ([`TraceAudit`]).
//! Sinks only record: they cannot change a call's outcome, and write errors never reach the guest.

use crate::abi::types::{
    Clockid, Errno, Error, Fd, Fdstat, Filestat, Prestat, Roflags, Size, Timestamp,
};
use crate::errno::errno_name;
use crate::escape::escape;
use crate::policy::{DecidedBy, Request, Verdict};
use std::fmt::Write as _;
use std::io::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Receives every call while installed (see `PolicyHandle::set_audit`). Runs on the guest's
/// thread, after the call: keep it quick.
pub trait AuditSink: Send + Sync {
    /// Records one call.
    fn record(&self, record: &AuditRecord<'_>);
}

impl<F: Fn(&AuditRecord<'_>) + Send + Sync> AuditSink for F {
    fn record(&self, record: &AuditRecord<'_>) {
        self(record)
    }
}

/// How a call ended.
#[derive(Debug, Clone, PartialEq)]
pub enum CallResult {
    /// Success, with the call's main result value when it has one (bytes transferred, new fd,
    /// new offset, file size…).
    Ok(Option<u64>),
    /// Failure with this errno.
    Errno(Errno),
    /// The guest was stopped (policy trap, limit, `proc_exit`, bad pointer): the message.
    Trap(String),
}

impl CallResult {
    /// The result of a syscall function.
    pub fn of<T: AuditValue>(result: &Result<T, Error>) -> CallResult {
        match result {
            Ok(value) => CallResult::Ok(value.audit_value()),
            Err(error) => match error.downcast_ref() {
                Some(errno) => CallResult::Errno(*errno),
                None => CallResult::Trap(error.to_string()),
            },
        }
    }
}

/// The number an audit record shows for a call's successful result.
pub trait AuditValue {
    /// The value, or `None` for results that are not one number.
    fn audit_value(&self) -> Option<u64>;
}

impl AuditValue for () {
    fn audit_value(&self) -> Option<u64> {
        None
    }
}

impl AuditValue for Size {
    fn audit_value(&self) -> Option<u64> {
        Some(u64::from(*self))
    }
}

impl AuditValue for Timestamp {
    fn audit_value(&self) -> Option<u64> {
        Some(*self)
    }
}

impl AuditValue for Fd {
    fn audit_value(&self) -> Option<u64> {
        Some(u64::from(u32::from(*self)))
    }
}

/// `args_sizes_get` / `environ_sizes_get`: the count.
impl AuditValue for (Size, Size) {
    fn audit_value(&self) -> Option<u64> {
        Some(u64::from(self.0))
    }
}

/// `sock_recv`: the byte count.
impl AuditValue for (Size, Roflags) {
    fn audit_value(&self) -> Option<u64> {
        Some(u64::from(self.0))
    }
}

/// Stat calls: the file size.
impl AuditValue for Filestat {
    fn audit_value(&self) -> Option<u64> {
        Some(self.size)
    }
}

impl AuditValue for Fdstat {
    fn audit_value(&self) -> Option<u64> {
        None
    }
}

impl AuditValue for Prestat {
    fn audit_value(&self) -> Option<u64> {
        None
    }
}

/// One call, as a sink sees it.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct AuditRecord<'a> {
    /// The decoded request; only the syscall (and what the dispatcher knew) when the call
    /// failed before its policy check.
    pub request: Request<'a>,
    /// What the call got and who decided it; `None` if the call failed before its check.
    pub verdict: Option<(&'a Verdict, DecidedBy)>,
    /// How the call ended.
    pub result: CallResult,
    /// Wall time from the call's start to its end, prompts included.
    pub duration: Duration,
}

/// Writes one JSON object per line. Fields (absent when not applicable): `time` (Unix seconds),
/// `syscall`, `fd`, `fd2`, `mount`, `path`, `mount2`, `path2`, `contents`, `access` (array),
/// `oflags`, `fdflags`, `lookupflags`, `fstflags`, `rights` (arrays of flag names), `bytes`,
/// `offset`, `code`, `clock`, `decision` (`allow`/`deny`/`trap`, or null when the call failed
/// before its check), `via` (`policy`/`remembered`/`prompt`), `deny_errno`, `trap`, `result`
/// (`ok`/`errno`/`trap`), `value`, `errno`, `error`, `duration_ns`.
///
/// Every string value is the [`escape`]d text of the original (`"/a\\u{202e}b"` in the file,
/// `/a\u{202e}b` once decoded), as in the trace: a JSON `\u202e` escape would keep the file's
/// bytes clean, but `jq -r .path` (or any reader that decodes the string and prints it) would
/// then put the raw character on the terminal. Escaping before encoding keeps both the file and
/// every decoded value free of controls and invisible characters; the original is recovered by
/// undoing the escapes (`\\`, `\"`, `\n`, `\r`, `\t`, `\xHH`, `\u{HEX}`). Plain values (no
/// backslash, quote, control or invisible character) are stored unchanged.
pub struct JsonLinesAudit {
    out: Mutex<Box<dyn Write + Send>>,
    errors: AtomicU64,
}

impl JsonLinesAudit {
    /// Records to `out`, one line per call, each line written (and flushed) whole.
    pub fn new(out: impl Write + Send + 'static) -> JsonLinesAudit {
        JsonLinesAudit {
            out: Mutex::new(Box::new(out)),
            errors: AtomicU64::new(0),
        }
    }

    /// How many records could not be written.
    pub fn write_errors(&self) -> u64 {
        self.errors.load(Ordering::Relaxed)
    }

    /// The JSON line (without newline) for one record.
    pub fn line(record: &AuditRecord<'_>) -> String {
        let mut j = JsonObject::default();
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        j.raw(
            "time",
            &format!("{}.{:06}", now.as_secs(), now.subsec_micros()),
        );
        let r = &record.request;
        j.str("syscall", r.syscall.as_str());
        j.opt_num("fd", r.fd.map(u64::from));
        j.opt_num("fd2", r.fd2.map(u64::from));
        if let Some(p) = r.path {
            j.str("mount", p.mount);
            j.str("path", p.path);
        }
        if let Some(p) = r.path2 {
            j.str("mount2", p.mount);
            j.str("path2", p.path);
        }
        if let Some(contents) = r.contents {
            j.str("contents", contents);
        }
        j.names("access", r.access.names());
        let f = &r.flags;
        j.names("oflags", f.oflags.iter_names().map(|(n, _)| n));
        j.names("fdflags", f.fdflags.iter_names().map(|(n, _)| n));
        j.names("lookupflags", f.lookup.iter_names().map(|(n, _)| n));
        j.names("fstflags", f.fst.iter_names().map(|(n, _)| n));
        j.names("rights", f.rights.iter_names().map(|(n, _)| n));
        j.opt_num("bytes", r.bytes);
        j.opt_num("offset", r.offset);
        j.opt_num("code", r.code.map(u64::from));
        if let Some(clock) = r.clock {
            j.str("clock", clock_name(clock));
        }
        match record.verdict {
            None => j.raw("decision", "null"),
            Some((verdict, by)) => {
                j.str("decision", verdict.as_str());
                j.str("via", by.as_str());
                match verdict {
                    Verdict::Allow => {}
                    Verdict::Deny(errno) => j.str("deny_errno", errno_name(*errno)),
                    Verdict::Trap(message) => j.str("trap", message),
                }
            }
        }
        match &record.result {
            CallResult::Ok(value) => {
                j.str("result", "ok");
                j.opt_num("value", *value);
            }
            CallResult::Errno(errno) => {
                j.str("result", "errno");
                j.str("errno", errno_name(*errno));
            }
            CallResult::Trap(message) => {
                j.str("result", "trap");
                j.str("error", message);
            }
        }
        let nanos = u64::try_from(record.duration.as_nanos()).unwrap_or(u64::MAX);
        j.opt_num("duration_ns", Some(nanos));
        j.finish()
    }
}

impl AuditSink for JsonLinesAudit {
    fn record(&self, record: &AuditRecord<'_>) {
        let mut line = JsonLinesAudit::line(record);
        line.push('\n');
        let mut out = self.out.lock().unwrap_or_else(|e| e.into_inner());
        if out
            .write_all(line.as_bytes())
            .and_then(|()| out.flush())
            .is_err()
        {
            self.errors.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Writes strace-like lines:
/// `wasi-warden: path_open(fd=3, "/data/out.txt", oflags=CREAT|TRUNC, access=write) = 4 <12µs>`
/// followed by `[deny EACCES by policy]` when the policy did not simply allow. Guest strings
/// (paths, symlink targets, trap messages) are [`escape`]d inside their quotes, so a path
/// cannot forge lines, end its quotes early or reach the terminal as a control sequence.
pub struct TraceAudit {
    out: Mutex<Box<dyn Write + Send>>,
}

impl TraceAudit {
    /// Traces to stderr.
    pub fn stderr() -> TraceAudit {
        TraceAudit::new(std::io::stderr())
    }

    /// Traces to `out`.
    pub fn new(out: impl Write + Send + 'static) -> TraceAudit {
        TraceAudit {
            out: Mutex::new(Box::new(out)),
        }
    }

    /// The trace line (without newline) for one record.
    pub fn line(record: &AuditRecord<'_>) -> String {
        let r = &record.request;
        let mut args: Vec<String> = Vec::new();
        args.extend(r.fd.map(|fd| format!("fd={fd}")));
        args.extend(r.path.map(|p| format!("\"{}\"", escape(p.path))));
        args.extend(r.fd2.map(|fd| format!("fd2={fd}")));
        args.extend(r.path2.map(|p| format!("\"{}\"", escape(p.path))));
        args.extend(r.contents.map(|c| format!("contents=\"{}\"", escape(c))));
        let f = &r.flags;
        let flag_sets = [
            ("oflags", join_names(f.oflags.iter_names().map(|(n, _)| n))),
            (
                "fdflags",
                join_names(f.fdflags.iter_names().map(|(n, _)| n)),
            ),
            ("lookup", join_names(f.lookup.iter_names().map(|(n, _)| n))),
            ("fst", join_names(f.fst.iter_names().map(|(n, _)| n))),
            ("access", join_names(r.access.names())),
        ];
        for (name, set) in flag_sets {
            if !set.is_empty() {
                args.push(format!("{name}={set}"));
            }
        }
        args.extend(r.bytes.map(|n| format!("bytes={n}")));
        args.extend(r.offset.map(|n| format!("offset={n}")));
        args.extend(r.code.map(|n| format!("code={n}")));
        args.extend(r.clock.map(|c| format!("clock={}", clock_name(c))));
        let mut line = format!("wasi-warden: {}({})", r.syscall, args.join(", "));
        let _ = match &record.result {
            CallResult::Ok(Some(v)) => write!(line, " = {v}"),
            CallResult::Ok(None) => write!(line, " = 0"),
            CallResult::Errno(e) => write!(line, " = -1 {}", errno_name(*e)),
            CallResult::Trap(m) => write!(line, " = trap \"{}\"", escape(m)),
        };
        let _ = write!(line, " <{}µs>", record.duration.as_micros());
        if let Some((verdict, by)) = record.verdict
            && (*verdict != Verdict::Allow || by != DecidedBy::Policy)
        {
            let _ = write!(line, " [{}", verdict.as_str());
            let _ = match verdict {
                Verdict::Allow => Ok(()),
                Verdict::Deny(e) => write!(line, " {}", errno_name(*e)),
                Verdict::Trap(m) => write!(line, " \"{}\"", escape(m)),
            };
            let _ = write!(line, " by {}]", by.as_str());
        }
        line
    }
}

impl AuditSink for TraceAudit {
    fn record(&self, record: &AuditRecord<'_>) {
        let mut line = TraceAudit::line(record);
        line.push('\n');
        let mut out = self.out.lock().unwrap_or_else(|e| e.into_inner());
        let _ = out.write_all(line.as_bytes());
    }
}

fn join_names<'a>(names: impl Iterator<Item = &'a str>) -> String {
    names.collect::<Vec<_>>().join("|")
}

fn clock_name(clock: Clockid) -> &'static str {
    match clock {
        Clockid::Realtime => "realtime",
        Clockid::Monotonic => "monotonic",
        Clockid::ProcessCputimeId => "process_cputime",
        Clockid::ThreadCputimeId => "thread_cputime",
    }
}

/// A minimal JSON object writer: string escaping per RFC 8259, numbers, arrays of strings.
#[derive(Default)]
struct JsonObject {
    text: String,
}

impl JsonObject {
    fn key(&mut self, key: &str) {
        self.text.push(if self.text.is_empty() { '{' } else { ',' });
        push_json_string(&mut self.text, key);
        self.text.push(':');
    }

    fn raw(&mut self, key: &str, value: &str) {
        self.key(key);
        self.text.push_str(value);
    }

    /// A string value, escaped first (see [`JsonLinesAudit`] for why).
    fn str(&mut self, key: &str, value: &str) {
        self.key(key);
        push_json_string(&mut self.text, &escape(value));
    }

    fn opt_num(&mut self, key: &str, value: Option<u64>) {
        if let Some(v) = value {
            self.key(key);
            let _ = write!(self.text, "{v}");
        }
    }

    fn names<'a>(&mut self, key: &str, names: impl Iterator<Item = &'a str>) {
        let mut names = names.peekable();
        if names.peek().is_none() {
            return;
        }
        self.key(key);
        self.text.push('[');
        for (i, name) in names.enumerate() {
            if i > 0 {
                self.text.push(',');
            }
            push_json_string(&mut self.text, name);
        }
        self.text.push(']');
    }

    fn finish(mut self) -> String {
        if self.text.is_empty() {
            self.text.push('{');
        }
        self.text.push('}');
        self.text
    }
}

/// Appends `s` as a JSON string (RFC 8259 escapes). Values reach it [`escape`]d already, so
/// only their quotes and backslashes need JSON escapes here; the rest is for keys and safety.
fn push_json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::abi::types::{Fdflags, Lookupflags, Oflags};
    use crate::gate::{Gate, PolicyHandle};
    use crate::policy::{Access, Answer, Decision, Flags, PolicyTable, Prompt, Rule, Syscall};
    use serde_json::Value;
    use std::sync::Arc;

    /// A `Write` whose bytes the test reads back.
    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Shared {
        fn text(&self) -> String {
            String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
        }
    }

    /// Runs a few calls through a gate, the way the syscalls will: begin, check, act, end.
    fn run_calls(gate: &mut Gate) {
        let evil = "/data/a\"b\n\u{202e}c\u{1b}\u{e0041}\u{200b}";
        gate.begin(Syscall::PathOpen);
        let open = Request::new(Syscall::PathOpen)
            .fd(3)
            .path("/data", evil)
            .access(Access::WRITE | Access::CREATE)
            .flags(Flags {
                oflags: Oflags::CREAT | Oflags::TRUNC,
                fdflags: Fdflags::APPEND,
                lookup: Lookupflags::SYMLINK_FOLLOW,
                ..Flags::NONE
            });
        let r = gate
            .check(Syscall::PathOpen, || open)
            .map(|()| Fd::from(4u32));
        gate.end(&r);

        gate.begin(Syscall::RandomGet);
        let r = gate.check(Syscall::RandomGet, || {
            Request::new(Syscall::RandomGet).bytes(16)
        });
        gate.end(&r);

        // A call that fails before its check (a bad fd) is recorded too.
        gate.begin(Syscall::FdWrite);
        let r: Result<Size, Error> = Err(Errno::Badf.into());
        gate.end(&r);

        gate.begin(Syscall::FdWrite);
        let r = gate
            .check(Syscall::FdWrite, || {
                Request::new(Syscall::FdWrite).fd(1).bytes(6)
            })
            .map(|()| 6u32);
        gate.end(&r);

        gate.begin(Syscall::SockAccept);
        let r = gate.check(Syscall::SockAccept, || {
            Request::new(Syscall::SockAccept).fd(5)
        });
        gate.end(&r);
    }

    fn audited_gate() -> (Gate, PolicyHandle) {
        let table = PolicyTable::allow_all()
            .rule(
                Rule::new(Decision::Ask)
                    .syscalls(Syscall::PathOpen)
                    .access(Access::WRITE),
            )
            .on(Syscall::RandomGet, Decision::Deny(Errno::Notcapable))
            .on(Syscall::SockAccept, Decision::trap("no sockets"));
        let handle = PolicyHandle::new(table);
        handle.set_prompter(|_: &Prompt| Answer::AllowOnce);
        (Gate::new(handle.clone()), handle)
    }

    #[test]
    fn json_lines_parse_back_with_every_field() {
        let (mut gate, handle) = audited_gate();
        let out = Shared::default();
        handle.set_audit(JsonLinesAudit::new(out.clone()));
        run_calls(&mut gate);
        let text = out.text();
        let lines: Vec<Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect();
        assert_eq!(lines.len(), 5, "{text}");

        let open = &lines[0];
        assert_eq!(open["syscall"], "path_open");
        assert_eq!(open["fd"], 3);
        assert_eq!(open["mount"], "/data");
        // Escaped text, so that a decoded value is as safe to print as the line.
        assert_eq!(
            open["path"],
            r#"/data/a\"b\n\u{202e}c\x1b\u{e0041}\u{200b}"#
        );
        assert!(text.is_ascii(), "{text}");
        assert_eq!(open["access"], serde_json::json!(["write", "create"]));
        assert_eq!(open["oflags"], serde_json::json!(["CREAT", "TRUNC"]));
        assert_eq!(open["fdflags"], serde_json::json!(["APPEND"]));
        assert_eq!(open["lookupflags"], serde_json::json!(["SYMLINK_FOLLOW"]));
        assert_eq!(open["decision"], "allow");
        assert_eq!(open["via"], "prompt");
        assert_eq!(open["result"], "ok");
        assert_eq!(open["value"], 4);
        assert!(open["duration_ns"].is_u64());
        assert!(open["time"].as_f64().unwrap() > 1.6e9);
        assert!(open.get("errno").is_none() && open.get("bytes").is_none());

        let random = &lines[1];
        assert_eq!(random["syscall"], "random_get");
        assert_eq!(random["bytes"], 16);
        assert_eq!(random["decision"], "deny");
        assert_eq!(random["via"], "policy");
        assert_eq!(random["deny_errno"], "ENOTCAPABLE");
        assert_eq!(random["result"], "errno");
        assert_eq!(random["errno"], "ENOTCAPABLE");

        let early = &lines[2];
        assert_eq!(early["syscall"], "fd_write");
        assert!(early["decision"].is_null());
        assert_eq!(early["errno"], "EBADF");

        let write = &lines[3];
        assert_eq!(
            (write["fd"].as_u64(), write["bytes"].as_u64()),
            (Some(1), Some(6))
        );
        assert_eq!(write["decision"], "allow");
        assert_eq!(write["value"], 6);

        let trap = &lines[4];
        assert_eq!(trap["decision"], "trap");
        assert_eq!(trap["trap"], "no sockets");
        assert_eq!(trap["result"], "trap");
        assert_eq!(
            trap["error"],
            "policy stopped the guest in sock_accept: no sockets"
        );
    }

    #[test]
    fn trace_lines_are_strace_like_and_escaped() {
        let (mut gate, handle) = audited_gate();
        let out = Shared::default();
        handle.set_audit(TraceAudit::new(out.clone()));
        run_calls(&mut gate);
        let text = out.text();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 5, "{text}");
        assert!(
            lines[0].starts_with(
                "wasi-warden: path_open(fd=3, \"/data/a\\\"b\\n\\u{202e}c\\x1b\\u{e0041}\\u{200b}\", \
                 oflags=CREAT|TRUNC, fdflags=APPEND, lookup=SYMLINK_FOLLOW, access=write|create) \
                 = 4 <"
            ),
            "{}",
            lines[0]
        );
        assert!(lines[0].ends_with("[allow by prompt]"), "{}", lines[0]);
        assert!(lines[1].starts_with("wasi-warden: random_get(bytes=16) = -1 ENOTCAPABLE <"));
        assert!(lines[1].ends_with("[deny ENOTCAPABLE by policy]"));
        assert!(lines[2].starts_with("wasi-warden: fd_write() = -1 EBADF <"));
        assert!(lines[3].starts_with("wasi-warden: fd_write(fd=1, bytes=6) = 6 <"));
        assert!(lines[3].ends_with("µs>"), "{}", lines[3]);
        assert!(lines[4].contains("= trap \"policy stopped"), "{}", lines[4]);
    }

    #[test]
    fn no_sink_no_records_and_removal_stops_recording() {
        let (mut gate, handle) = audited_gate();
        let out = Shared::default();
        run_calls(&mut gate);
        handle.set_audit(JsonLinesAudit::new(out.clone()));
        assert!(handle.auditing());
        handle.clear_audit();
        assert!(!handle.auditing());
        run_calls(&mut gate);
        assert_eq!(out.text(), "");
    }

    #[test]
    fn write_errors_are_counted_not_raised() {
        struct Broken;
        impl Write for Broken {
            fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
                Err(std::io::Error::other("disk full"))
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let sink = Arc::new(JsonLinesAudit::new(Broken));
        let (mut gate, handle) = audited_gate();
        handle.set_audit_arc(sink.clone());
        run_calls(&mut gate);
        assert_eq!(sink.write_errors(), 5);
    }
}
