//! Asking a human: the [`Prompter`] trait, the [`Prompt`] it is shown (escaped with
//! [`crate::escape()`], so a guest-chosen path cannot forge the question or the terminal), the
//! [`Answer`]s, and two prompters: one that forwards prompts over a channel to another thread
//! (a UI) with a timeout, and one that asks on the terminal. A prompter that fails, panics or
//! times out means deny. Nothing here decides policy or remembers answers (that is `handle.rs`).

use super::{Access, Request, Syscall, normalize};
use crate::escape::escape;
use std::borrow::Cow;
use std::fmt::Write as _;
use std::io::{BufRead, IsTerminal, Write};
use std::sync::{Mutex, PoisonError, mpsc};
use std::time::Duration;

/// How far an "always" answer reaches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// The request's path(s) exactly (for a request without a path: that syscall).
    Path,
    /// This directory and everything under it (normalised).
    Subtree(String),
    /// Every path, for the same access kinds (without a path: that syscall).
    Any,
}

/// A prompter's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// Allow this call only.
    AllowOnce,
    /// Allow this call and, without asking, every later one in the scope.
    AllowAlways(Scope),
    /// Deny this call only (EACCES).
    DenyOnce,
    /// Deny this call and, without asking, every later one in the scope.
    DenyAlways(Scope),
}

/// Asks someone whether a call may proceed. Runs on the guest's thread, which waits for the
/// answer; implementations that wait for another thread must bound the wait.
pub trait Prompter: Send + Sync {
    /// Answers one prompt.
    fn ask(&self, prompt: &Prompt) -> Answer;
}

/// Asks someone and answers later: under the async linker (`add_to_linker_async`) the guest
/// waits suspended, holding no thread, until the future resolves, while other guests run on
/// the same executor. Remembered answers apply as for [`Prompter`]. If the guest's future is
/// dropped meanwhile (a server's request timeout), this future is dropped too: nothing was
/// allowed. Install it with [`crate::PolicyHandle::set_async_prompter`] or the builder.
pub trait AsyncPrompter: Send + Sync {
    /// Answers one prompt.
    fn ask<'a>(
        &'a self,
        prompt: &'a Prompt,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Answer> + Send + 'a>>;
}

impl<F: Fn(&Prompt) -> Answer + Send + Sync> Prompter for F {
    fn ask(&self, prompt: &Prompt) -> Answer {
        self(prompt)
    }
}

/// What a prompter is shown: the request's essentials (owned, normalised) and a one-line,
/// escaped, human-readable message such as `module wants to write /data/out.txt`.
#[derive(Debug, Clone, PartialEq)]
pub struct Prompt {
    /// The call that is waiting.
    pub syscall: Syscall,
    /// The access it wants.
    pub access: Access,
    /// Its (first) path, normalised, unescaped.
    pub path: Option<String>,
    /// Its second path (rename/link destination), normalised, unescaped.
    pub path2: Option<String>,
    message: String,
}

impl Prompt {
    /// Describes `request`.
    pub fn new(request: &Request<'_>) -> Prompt {
        // Normalised here too: what a person approves is the path the rules see.
        let path = request.path.map(|p| normalize(p.path).into_owned());
        let path2 = request.path2.map(|p| normalize(p.path).into_owned());
        // Built and escaped once: every prompter shows the same safe text.
        let mut message = String::from("module wants to ");
        describe(&mut message, request, path.as_deref(), path2.as_deref());
        Prompt {
            syscall: request.syscall,
            access: request.access,
            path,
            path2,
            message,
        }
    }

    /// The escaped one-line message (`module wants to …`): safe to print on a terminal.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl std::fmt::Display for Prompt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// Writes the verb phrase and the quoted paths of `request` to `out`.
fn describe(out: &mut String, request: &Request<'_>, path: Option<&str>, path2: Option<&str>) {
    let a = request.access;
    match (path, path2) {
        // Two paths: a rename or a link, and both sides are shown, as both are judged.
        (Some(from), Some(to)) if a.contains(Access::RENAME) => {
            let _ = write!(out, "rename {} to {}", quote(from), quote(to));
        }
        (Some(from), Some(to)) => {
            let _ = write!(out, "hard-link {} as {}", quote(from), quote(to));
        }
        (Some(path), _) if a.contains(Access::SYMLINK) => {
            // The target is guest-chosen text, not a path this call touches: always quoted and
            // escaped.
            let target = request.contents.unwrap_or("");
            let _ = write!(
                out,
                "create a symlink at {} pointing to \"{}\"",
                quote(path),
                escape(target)
            );
        }
        (Some(path), _) => {
            let verbs: Vec<&str> = a.names().map(verb).collect();
            match verbs.split_last() {
                // No access kinds at all: "access", rather than no verb.
                None => out.push_str("access"),
                Some((last, [])) => out.push_str(last),
                Some((last, rest)) => {
                    out.push_str(&rest.join(", "));
                    out.push_str(" and ");
                    out.push_str(last);
                }
            }
            let _ = write!(out, " {}", quote(path));
        }
        (None, _) => describe_pathless(out, request),
    }
}

fn verb(access_name: &str) -> &str {
    match access_name {
        // Access names are policy-file words; a person reads verbs.
        "readdir" => "list",
        "set-times" => "set the times of",
        "link" => "hard-link",
        other => other,
    }
}

fn describe_pathless(out: &mut String, request: &Request<'_>) {
    let _ = match (request.syscall, request.bytes, request.clock) {
        (Syscall::RandomGet, Some(n), _) => write!(out, "read {n} random bytes"),
        (_, _, Some(clock)) => write!(out, "read the {clock:?} clock"),
        (Syscall::ProcExit, _, _) => write!(out, "exit with status {}", request.code.unwrap_or(0)),
        (s, bytes, _) => {
            let _ = write!(out, "call {s}");
            if let Some(fd) = request.fd {
                let _ = write!(out, " on fd {fd}");
            }
            match bytes {
                Some(n) => write!(out, " ({n} bytes)"),
                None => Ok(()),
            }
        }
    };
}

/// A path as shown: bare when it is plainly printable, otherwise quoted and escaped, so the
/// reader always sees where a path starts and ends.
fn quote(path: &str) -> Cow<'_, str> {
    // An allow-list, not a deny-list: anything else, invisible Unicode included, is escaped
    // inside quotes (SECURITY.md: terminal injection). An empty path is quoted too, so the
    // reader sees that it is empty.
    let plain = |c: char| c.is_ascii_alphanumeric() || "/._-+@,=:~%".contains(c);
    if !path.is_empty() && path.chars().all(plain) {
        Cow::Borrowed(path)
    } else {
        Cow::Owned(format!("\"{}\"", escape(path)))
    }
}

/// A prompt waiting for its answer on the receiving side of a [`ChannelPrompter`].
#[derive(Debug)]
pub struct PromptReply {
    prompt: Prompt,
    reply: mpsc::SyncSender<Answer>,
}

impl PromptReply {
    /// The prompt to show.
    pub fn prompt(&self) -> &Prompt {
        &self.prompt
    }

    /// Answers it (ignored if the guest stopped waiting). Dropping it unanswered denies.
    pub fn answer(self, answer: Answer) {
        // The guest may have stopped waiting (timed out): not the answering side's error.
        let _ = self.reply.send(answer);
    }
}

/// Forwards each prompt over a channel (to a UI thread, say) and waits for the reply, at most
/// `timeout`. No answer in time, a dropped reply or a dropped receiver all mean deny.
#[derive(Debug)]
pub struct ChannelPrompter {
    sender: mpsc::Sender<PromptReply>,
    timeout: Duration,
}

impl ChannelPrompter {
    /// The prompter and the receiver the answering thread reads [`PromptReply`]s from.
    pub fn new(timeout: Duration) -> (ChannelPrompter, mpsc::Receiver<PromptReply>) {
        let (sender, receiver) = mpsc::channel();
        (ChannelPrompter { sender, timeout }, receiver)
    }
}

impl Prompter for ChannelPrompter {
    fn ask(&self, prompt: &Prompt) -> Answer {
        // A one-slot reply channel per prompt: the answering side never blocks on send.
        let (reply, answer) = mpsc::sync_channel(1);
        let sent = self.sender.send(PromptReply {
            prompt: prompt.clone(),
            reply,
        });
        // No one is listening (the receiver was dropped): deny now, not after the timeout.
        if sent.is_err() {
            return Answer::DenyOnce;
        }
        answer
            // Bounded, as the trait asks: a UI that never answers denies after `timeout`, and a
            // reply dropped unanswered denies at once.
            .recv_timeout(self.timeout)
            .unwrap_or(Answer::DenyOnce)
    }
}

/// Where a terminal prompter reads and writes.
enum Terminal {
    /// Both directions on one stream (`/dev/tty`, the Windows console, or the ones given to
    /// `with_io`).
    Io(Box<dyn BufRead + Send>, Box<dyn Write + Send>),
    /// stdin (a terminal) for answers, stderr for questions.
    Stdin,
    /// No terminal: every prompt is denied with a message on stderr.
    None,
}

/// Asks on the terminal, Deno-style:
/// `wasi-warden: module wants to write /data/out.txt — [y]es once, [a]lways, [n]o, [N]ever? `.
/// Reads `/dev/tty` on Unix, `CONIN$`/`CONOUT$` on Windows (or stdin when it is a terminal);
/// without a terminal it denies and says so on stderr. Prompts from several guest threads are asked one at a time.
pub struct TerminalPrompter {
    /// One prompt at a time: two questions interleaved on one terminal could have one's
    /// answer taken for the other's.
    terminal: Mutex<Terminal>,
}

/// How many unrecognised replies are tolerated before the prompter denies.
const MAX_RETRIES: usize = 3;

impl TerminalPrompter {
    /// Uses the terminal (`/dev/tty`; the console on Windows), else stdin if it is a
    /// terminal, else nothing (deny).
    pub fn new() -> TerminalPrompter {
        // The terminal first: stdin may be the guest's input (a pipe, a file), and answers
        // must come from the person, not from it.
        let terminal = match open_terminal() {
            Ok((read, write)) => Terminal::Io(read, write),
            Err(_) if std::io::stdin().is_terminal() => Terminal::Stdin,
            Err(_) => Terminal::None,
        };
        TerminalPrompter {
            terminal: Mutex::new(terminal),
        }
    }

    /// Asks on the given streams (for tests and custom front ends).
    pub fn with_io(
        input: impl BufRead + Send + 'static,
        output: impl Write + Send + 'static,
    ) -> TerminalPrompter {
        TerminalPrompter {
            terminal: Mutex::new(Terminal::Io(Box::new(input), Box::new(output))),
        }
    }

    /// Whether there is a terminal to ask on.
    pub fn has_terminal(&self) -> bool {
        !matches!(
            *self.terminal.lock().unwrap_or_else(PoisonError::into_inner),
            Terminal::None
        )
    }

    /// Parses a reply: `y`/`yes`, `a`/`always`, `n`/`no`, `N`/`never` (`Y`, `A` also accepted;
    /// `n` and `N` differ on purpose).
    pub fn parse_reply(line: &str) -> Option<Answer> {
        match line.trim() {
            "y" | "Y" | "yes" => Some(Answer::AllowOnce),
            // "Always" from a terminal is for this path only: a wider scope needs a prompter that
            // can ask which.
            "a" | "A" | "always" => Some(Answer::AllowAlways(Scope::Path)),
            "n" | "no" => Some(Answer::DenyOnce),
            "N" | "never" => Some(Answer::DenyAlways(Scope::Path)),
            _ => None,
        }
    }
}

/// The controlling terminal, for reading and writing.
#[cfg(not(windows))]
fn open_terminal() -> std::io::Result<(Box<dyn BufRead + Send>, Box<dyn Write + Send>)> {
    let tty = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")?;
    Ok((
        Box::new(std::io::BufReader::new(tty.try_clone()?)),
        Box::new(tty),
    ))
}

#[cfg(windows)]
fn open_terminal() -> std::io::Result<super::console_windows::Console> {
    super::console_windows::open()
}

impl Default for TerminalPrompter {
    fn default() -> TerminalPrompter {
        TerminalPrompter::new()
    }
}

impl Prompter for TerminalPrompter {
    fn ask(&self, prompt: &Prompt) -> Answer {
        let question = format!(
            "wasi-warden: {} \u{2014} [y]es once, [a]lways, [n]o, [N]ever? ",
            prompt.message()
        );
        // Poison ignored: a prompt that panicked (the handle caught it) must not leave every
        // later one unanswerable.
        let mut terminal = self.terminal.lock().unwrap_or_else(PoisonError::into_inner);
        match &mut *terminal {
            Terminal::Io(input, output) => converse(&question, input.as_mut(), output.as_mut()),
            Terminal::Stdin => {
                let mut input = std::io::stdin().lock();
                converse(&question, &mut input, &mut std::io::stderr())
            }
            Terminal::None => {
                eprintln!(
                    "wasi-warden: denied: {} (no terminal to ask on; allow it with --policy)",
                    prompt.message()
                );
                Answer::DenyOnce
            }
        }
    }
}

/// Asks until a reply parses (at most `MAX_RETRIES` times); I/O errors and EOF deny.
fn converse(question: &str, input: &mut dyn BufRead, output: &mut dyn Write) -> Answer {
    // Bounded: a stream of garbage (a pipe taken for a person) denies instead of looping.
    for _ in 0..MAX_RETRIES {
        if output
            .write_all(question.as_bytes())
            .and_then(|()| output.flush())
            .is_err()
        {
            return Answer::DenyOnce;
        }
        let mut line = String::new();
        match input.read_line(&mut line) {
            Ok(0) | Err(_) => {
                // EOF or an error: no one will answer. The newline keeps what follows off the
                // question's line.
                let _ = writeln!(output);
                return Answer::DenyOnce;
            }
            Ok(_) => {}
        }
        if let Some(answer) = TerminalPrompter::parse_reply(&line) {
            return answer;
        }
        let _ = writeln!(output, "wasi-warden: please answer y, a, n or N");
    }
    Answer::DenyOnce
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;
    use std::sync::Arc;

    #[test]
    fn messages_describe_the_request() {
        let open = Request::new(Syscall::PathOpen)
            .path("/data", "/data/out.txt")
            .access(Access::WRITE);
        assert_eq!(
            Prompt::new(&open).message(),
            "module wants to write /data/out.txt"
        );
        let create = open.access(Access::CREATE | Access::TRUNCATE);
        assert_eq!(
            Prompt::new(&create).message(),
            "module wants to write, create and truncate /data/out.txt"
        );
        let rename = Request::new(Syscall::PathRename)
            .access(Access::RENAME)
            .path("/", "/a/../b")
            .path2("/", "/c d");
        assert_eq!(
            Prompt::new(&rename).message(),
            "module wants to rename /b to \"/c d\""
        );
        let random = Request::new(Syscall::RandomGet).bytes(32);
        assert_eq!(
            Prompt::new(&random).message(),
            "module wants to read 32 random bytes"
        );
    }

    #[test]
    fn guest_paths_cannot_forge_the_prompt() {
        let evil = "/data/x\n\u{1b}[2Kwasi-warden: module wants to read /ok \u{2014} [y]es";
        let req = Request::new(Syscall::PathOpen)
            .path("/data", evil)
            .access(Access::WRITE);
        let message = Prompt::new(&req).message().to_owned();
        assert!(!message.chars().any(|c| c.is_control()), "{message:?}");
        assert!(message.contains("\\n\\x1b[2K"), "{message}");
        assert!(message.starts_with("module wants to write \"/data/x"));
        assert!(message.ends_with("[y]es\""));
        let bidi = escape("/tmp/\u{202e}txt.exe\u{2066}\u{200b}");
        assert_eq!(bidi, "/tmp/\\u{202e}txt.exe\\u{2066}\\u{200b}");
        // Quotes and backslashes are escaped, so a path cannot close its own quotes.
        assert_eq!(escape(r#"a"b\c"#), r#"a\"b\\c"#);
        assert_eq!(escape("\u{85}\u{7f}"), "\\u{85}\\x7f");
        assert!(matches!(escape("/plain/path"), Cow::Borrowed(_)));
    }

    #[test]
    fn terminal_prompter_asks_and_parses() {
        let out = Arc::new(Mutex::new(Vec::new()));
        struct Shared(Arc<Mutex<Vec<u8>>>);
        impl Write for Shared {
            fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(b);
                Ok(b.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let prompter =
            TerminalPrompter::with_io(Cursor::new("maybe\nN\n"), Shared(Arc::clone(&out)));
        let req = Request::new(Syscall::PathOpen)
            .path("/data", "/data/out.txt")
            .access(Access::WRITE);
        assert_eq!(
            prompter.ask(&Prompt::new(&req)),
            Answer::DenyAlways(Scope::Path)
        );
        let shown = String::from_utf8(out.lock().unwrap().clone()).unwrap();
        assert!(shown.starts_with(
            "wasi-warden: module wants to write /data/out.txt \u{2014} [y]es once, [a]lways, [n]o, [N]ever? "
        ));
        assert!(shown.contains("please answer"));
        // EOF denies.
        assert_eq!(prompter.ask(&Prompt::new(&req)), Answer::DenyOnce);
        for (reply, answer) in [
            ("y\n", Answer::AllowOnce),
            ("a", Answer::AllowAlways(Scope::Path)),
            (" n ", Answer::DenyOnce),
        ] {
            assert_eq!(TerminalPrompter::parse_reply(reply), Some(answer));
        }
    }
}
