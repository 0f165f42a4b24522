//! Every wait ends at the run's deadline: a guest blocked in `sock_accept` with no client, in
//! `sock_recv` (and `fd_read`) from a silent peer, in `sock_send` to a peer that never reads,
//! writing to a stdout pipe nobody drains, or sleeping near the end of virtual time, is
//! stopped within a second of its timeout; time spent waiting for a person's answer to a
//! prompt is not charged to it. Each test prints how late the stop came.

use super::{run, timeout, wat};
use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use wasi_warden::policy::{Answer, Prompt};
use wasi_warden::{Decision, LimitStop, MemFs, Outcome, PolicyTable, Syscall, WasiCtx};

/// [`run`] on another thread, failing (instead of hanging) if it is still blocked after 10 s.
fn guarded(source: &str, builder: wasi_warden::WasiCtxBuilder, ms: u64) -> Outcome {
    let (done, finished) = std::sync::mpsc::channel();
    let source = source.to_owned();
    std::thread::spawn(move || {
        let (outcome, _ctx) = run(&source, builder, timeout(ms));
        let _ = done.send(outcome);
    });
    finished
        .recv_timeout(Duration::from_secs(10))
        .expect("the guest was still blocked 10 s after starting")
}

/// Asserts `outcome` is a time-limit stop that came within a second of the deadline.
fn stopped_in_time(what: &str, outcome: &Outcome, started: Instant, limit: Duration) {
    assert!(
        matches!(outcome.limit(), Some(LimitStop::Time(_))),
        "{what}: {outcome:?}"
    );
    let late = started.elapsed().saturating_sub(limit);
    eprintln!("{what}: stopped {late:?} after the deadline");
    assert!(started.elapsed() >= limit, "{what}: stopped early");
    assert!(late < Duration::from_secs(1), "{what}: {late:?} late");
}

/// A listener the guest gets as fd 3, and (if `connect`) a client already connected to it.
fn listener(connect: bool) -> (TcpListener, Option<TcpStream>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let client = connect.then(|| TcpStream::connect(listener.local_addr().unwrap()).unwrap());
    (listener, client)
}

#[test]
fn sock_accept_with_no_client_ends_at_the_deadline() {
    let source = r#"(func (export "_start")
    (drop (call $sock_accept (i32.const 3) (i32.const 0) (i32.const 8))))"#;
    let (l, _) = listener(false);
    let started = Instant::now();
    let outcome = guarded(source, WasiCtx::builder().tcp_listener(l), 300);
    stopped_in_time("sock_accept", &outcome, started, Duration::from_millis(300));
}

/// Accepts (fd 4), then calls `call` on the connection.
fn on_connection(call: &str) -> String {
    format!(
        r#"(func (export "_start")
    (i32.store (i32.const 0) (i32.const 1024))
    (i32.store (i32.const 4) (i32.const 65536))
    (if (i32.ne (call $sock_accept (i32.const 3) (i32.const 0) (i32.const 8)) (i32.const 0))
      (then (unreachable)))
    {call})"#
    )
}

#[test]
fn sock_recv_and_fd_read_from_a_silent_peer_end_at_the_deadline() {
    for (what, call) in [
        (
            "sock_recv",
            "(drop (call $sock_recv (i32.load (i32.const 8)) (i32.const 0) (i32.const 1) (i32.const 0) (i32.const 16) (i32.const 20)))",
        ),
        (
            "sock_recv WAITALL",
            "(drop (call $sock_recv (i32.load (i32.const 8)) (i32.const 0) (i32.const 1) (i32.const 2) (i32.const 16) (i32.const 20)))",
        ),
        (
            "fd_read",
            "(drop (call $fd_read (i32.load (i32.const 8)) (i32.const 0) (i32.const 1) (i32.const 16)))",
        ),
    ] {
        let (l, client) = listener(true);
        let started = Instant::now();
        let outcome = guarded(
            &on_connection(call),
            WasiCtx::builder().tcp_listener(l),
            300,
        );
        stopped_in_time(what, &outcome, started, Duration::from_millis(300));
        drop(client);
    }
}

#[test]
fn sock_send_to_a_peer_that_never_reads_ends_at_the_deadline() {
    // 64 KiB per call, forever: the socket buffers fill, then the send would block.
    for (what, call) in [
        (
            "sock_send",
            "(loop $again (drop (call $sock_send (i32.load (i32.const 8)) (i32.const 0) (i32.const 1) (i32.const 0) (i32.const 16))) (br $again))",
        ),
        (
            "fd_write",
            "(loop $again (drop (call $fd_write (i32.load (i32.const 8)) (i32.const 0) (i32.const 1) (i32.const 16))) (br $again))",
        ),
    ] {
        let (l, client) = listener(true);
        let started = Instant::now();
        let outcome = guarded(
            &on_connection(call),
            WasiCtx::builder().tcp_listener(l),
            500,
        );
        stopped_in_time(what, &outcome, started, Duration::from_millis(500));
        drop(client);
    }
}

#[test]
fn a_stdout_pipe_that_never_drains_ends_at_the_deadline() {
    // 64 KiB per write to fd 1 (or 2), forever; the CLI's stdout is a pipe nobody reads.
    for fd in [1, 2] {
        let source = format!(
            r#"(func (export "_start")
    (i32.store (i32.const 0) (i32.const 1024))
    (i32.store (i32.const 4) (i32.const 65536))
    (loop $again (drop (call $fd_write (i32.const {fd}) (i32.const 0) (i32.const 1) (i32.const 16))) (br $again)))"#
        );
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("flood.wat");
        std::fs::write(&path, wat(&source)).unwrap();
        let (stdout, stderr) = if fd == 1 {
            (Stdio::piped(), Stdio::null())
        } else {
            (Stdio::null(), Stdio::piped())
        };
        let started = Instant::now();
        let mut child = Command::new(env!("CARGO_BIN_EXE_wasi-warden"))
            .args([
                "run",
                "-C",
                "cache=n",
                "--timeout",
                "500ms",
                "--stdout-limit",
                "unlimited",
            ])
            .args(["--stderr-limit", "unlimited"])
            .arg(&path)
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr)
            .spawn()
            .unwrap();
        // The pipe is never read; give the CLI ten seconds at most.
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if started.elapsed() > Duration::from_secs(10) {
                child.kill().unwrap();
                panic!("fd {fd}: the CLI was still blocked after 10 s");
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let late = started.elapsed().saturating_sub(Duration::from_millis(500));
        eprintln!("fd {fd} pipe: exited {late:?} after the deadline");
        assert_eq!(status.code(), Some(124), "fd {fd}");
        assert!(late < Duration::from_secs(1), "fd {fd}: {late:?} late");
        // What was written before the stop is all there, in order.
        let mut pipe: Box<dyn Read> = match fd {
            1 => Box::new(child.stdout.take().unwrap()),
            _ => Box::new(child.stderr.take().unwrap()),
        };
        let mut bytes = Vec::new();
        pipe.read_to_end(&mut bytes).unwrap();
        assert!(bytes.len() >= 4096, "fd {fd}: {} bytes", bytes.len());
    }
}

/// Sleeps (relative, monotonic) `ns` nanoseconds twice, then exits 7.
fn sleep_twice(ns: u64) -> String {
    format!(
        r#"(func (export "_start")
    (i32.store8 (i32.const 8) (i32.const 0))
    (i32.store (i32.const 16) (i32.const 1))
    (i64.store (i32.const 24) (i64.const {ns}))
    (drop (call $poll_oneoff (i32.const 0) (i32.const 64) (i32.const 1) (i32.const 128)))
    (drop (call $poll_oneoff (i32.const 0) (i32.const 64) (i32.const 1) (i32.const 128)))
    (call $proc_exit (i32.const 7)))"#,
        ns = ns as i64
    )
}

#[test]
fn deterministic_sleeps_past_the_end_of_virtual_time_end() {
    // Relative sleeps near u64::MAX cannot be reached by a clock that already moved: they fire
    // when virtual time ends, instead of spinning.
    for ns in [u64::MAX, u64::MAX - 1, u64::MAX / 2 + 7] {
        let started = Instant::now();
        let outcome = guarded(&sleep_twice(ns), WasiCtx::builder().deterministic(1), 5_000);
        assert!(matches!(outcome, Outcome::Exited(7)), "{ns}: {outcome:?}");
        assert!(started.elapsed() < Duration::from_secs(2), "{ns}");
    }
}

#[test]
fn time_spent_on_a_prompt_is_not_charged_to_the_timeout() {
    // The person takes 700 ms to answer; the guest's limit is 400 ms; it then sleeps 100 ms.
    let source = r#"
  (data (i32.const 300) "f")
  (func (export "_start")
    (if (i32.ne
          (call $path_open (i32.const 3) (i32.const 0) (i32.const 300) (i32.const 1)
            (i32.const 1) (i64.const 66) (i64.const 0) (i32.const 0) (i32.const 200))
          (i32.const 0))
      (then (call $proc_exit (i32.const 9))))
    (i32.store8 (i32.const 8) (i32.const 0))
    (i32.store (i32.const 16) (i32.const 1))
    (i64.store (i32.const 24) (i64.const 100000000))
    (drop (call $poll_oneoff (i32.const 0) (i32.const 64) (i32.const 1) (i32.const 128))))
"#;
    let builder = WasiCtx::builder()
        .system_clocks()
        .mount("/", MemFs::new())
        .policy(PolicyTable::allow_all().on(Syscall::PathOpen, Decision::Ask))
        .prompter(|_: &Prompt| {
            std::thread::sleep(Duration::from_millis(700));
            Answer::AllowOnce
        });
    let outcome = guarded(source, builder, 400);
    assert!(matches!(outcome, Outcome::Exited(0)), "{outcome:?}");
    // Without a prompt the same sleep past the limit stops the guest.
    let started = Instant::now();
    let outcome = guarded(
        &sleep_twice(300_000_000),
        WasiCtx::builder().system_clocks(),
        400,
    );
    stopped_in_time("sleep", &outcome, started, Duration::from_millis(400));
}
