//! Policies, prompts and audit wired into real syscalls: each decision on each syscall family,
//! remembered answers, subtree rules against `..` and symlink tricks, prompters on other
//! threads, swaps while a guest runs, audit records parsed back, the allocation-free allow
//! path, granted sockets, and the CLI's `--policy`/`--ask`/`--audit`/`--tcplisten`.

mod support;

mod policy {
    pub mod aliases;
    pub mod cli;
    pub mod driver;
}

use policy::driver::{Driver, IOV, OUT, PATH1, PATH2, abi::*};
use serde_json::Value;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use wasi_warden::audit::AuditRecord;
use wasi_warden::policy::{Answer, PathPattern, PolicyTrap, Prompt, Scope};
use wasi_warden::types::Errno;
use wasi_warden::vfs::{Node, OpenOptions};
use wasi_warden::{
    ChannelPrompter, Decision, Input, JsonLinesAudit, MemFs, Output, PolicyHandle, PolicyTable,
    Rule, Syscall, WasiCtx, WasiCtxBuilder,
};

/// `/data/a.txt`, `/data/sub/`, `/etc/passwd` and the symlink `/data/l -> ../etc`.
fn tree() -> MemFs {
    let fs = MemFs::new();
    let root = fs.root();
    let create = OpenOptions {
        create: true,
        write: true,
        ..OpenOptions::default()
    };
    for dir in ["data", "etc"] {
        root.create_dir(dir).unwrap();
    }
    let Ok(Node::Dir(data)) = root.lookup("data") else {
        panic!("no /data")
    };
    let Ok(Node::Dir(etc)) = root.lookup("etc") else {
        panic!("no /etc")
    };
    data.open_file("a.txt", create)
        .unwrap()
        .write_at(b"hello", 0)
        .unwrap();
    data.create_dir("sub").unwrap();
    data.symlink("l", "../etc").unwrap();
    etc.open_file("passwd", create)
        .unwrap()
        .write_at(b"root", 0)
        .unwrap();
    fs
}

/// A context over `tree()` at `/` (fd 3) with stdin, clocks and randomness granted.
fn builder() -> WasiCtxBuilder {
    WasiCtx::builder()
        .stdin(Input::bytes(&b"input"[..]))
        .stdout(Output::null())
        .mount("/", tree())
        .system_clocks()
        .seeded_random(1)
}

fn deny(errno: Errno) -> Decision {
    Decision::Deny(errno)
}

/// One call of each syscall family, on a fresh driver; `Ok(errno)` or the trap.
type Family = (
    Syscall,
    fn(&mut Driver) -> wasi_warden::wasmtime::Result<i32>,
);

fn families() -> Vec<Family> {
    vec![
        (Syscall::ArgsSizesGet, |d| {
            d.call("args_sizes_get", &[100, 104])
        }),
        (Syscall::ClockTimeGet, |d| {
            d.call("clock_time_get", &[1, 0, 104])
        }),
        (Syscall::FdRead, |d| {
            let iov = d.iov(b"", 16);
            d.call("fd_read", &[0, iov[0], iov[1], OUT as i64])
        }),
        (Syscall::FdWrite, |d| {
            let iov = d.iov(b"hi\n", 3);
            d.call("fd_write", &[1, iov[0], iov[1], OUT as i64])
        }),
        (Syscall::PathOpen, |d| {
            let [p, l] = d.path(PATH1, "data/a.txt");
            d.call("path_open", &[3, 0, p, l, 0, FD_READ, 0, 0, OUT as i64])
        }),
        (Syscall::PathCreateDirectory, |d| {
            let [p, l] = d.path(PATH1, "data/new");
            d.call("path_create_directory", &[3, p, l])
        }),
        (Syscall::PollOneoff, |d| {
            // One relative monotonic clock subscription of 0 ns.
            let mut sub = [0u8; 48];
            sub[16..20].copy_from_slice(&1u32.to_le_bytes());
            d.put(PATH2, &sub);
            d.call("poll_oneoff", &[PATH2 as i64, 3000, 1, OUT as i64])
        }),
        (Syscall::ProcRaise, |d| d.call("proc_raise", &[1])),
        (Syscall::SchedYield, |d| d.call("sched_yield", &[])),
        (Syscall::RandomGet, |d| {
            d.call("random_get", &[PATH2 as i64, 16])
        }),
        (Syscall::SockShutdown, |d| d.call("sock_shutdown", &[5, 3])),
    ]
}

/// A context whose fd 4 is a granted listener with one pending connection, accepted as fd 5.
fn with_socket(b: WasiCtxBuilder) -> (Driver, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let mut d = Driver::new(b.tcp_listener(listener).build());
    assert_eq!(d.errno("sock_accept", &[4, 0, OUT as i64]), 0);
    assert_eq!(d.u32_at(OUT), 5);
    (d, client)
}

fn run_family(family: &Family, decision: Option<Decision>, answer: Option<Answer>) -> String {
    let (syscall, call) = family;
    let mut b = builder();
    if let Some(decision) = decision {
        b = b.policy(PolicyTable::allow_all().on(*syscall, decision));
    }
    if let Some(answer) = answer {
        b = b.prompter(move |_: &Prompt| answer.clone());
    }
    let (mut d, _client) = with_socket(b);
    match call(&mut d) {
        Ok(errno) => format!("errno {errno}"),
        Err(e) => match e.downcast_ref::<PolicyTrap>() {
            Some(t) => format!("trap {} {}", t.syscall, t.message),
            None => panic!("{syscall}: unexpected trap {e:?}"),
        },
    }
}

#[test]
fn each_decision_on_each_syscall_family() {
    for family in families() {
        let s = family.0;
        let baseline = run_family(&family, None, None);
        let expect_base = if s == Syscall::ProcRaise {
            format!("errno {ENOTSUP}")
        } else {
            "errno 0".to_owned()
        };
        assert_eq!(baseline, expect_base, "{s} allowed");
        let cases = [
            (Some(Decision::Allow), None, expect_base.clone()),
            (Some(deny(Errno::Perm)), None, format!("errno {EPERM}")),
            (Some(Decision::trap("stop")), None, format!("trap {s} stop")),
            (Some(Decision::Ask), None, format!("errno {EACCES}")),
            (
                Some(Decision::Ask),
                Some(Answer::AllowOnce),
                expect_base.clone(),
            ),
            (
                Some(Decision::Ask),
                Some(Answer::DenyOnce),
                format!("errno {EACCES}"),
            ),
        ];
        for (decision, answer, want) in cases {
            let label = format!("{s} {decision:?} {answer:?}");
            assert_eq!(run_family(&family, decision, answer), want, "{label}");
        }
    }
}

#[test]
fn remembered_answers_are_consulted_before_the_prompter() {
    let asked = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&asked);
    let ctx = builder()
        .policy(PolicyTable::allow_all().on(Syscall::PathOpen, Decision::Ask))
        .prompter(move |p: &Prompt| {
            counter.fetch_add(1, Ordering::SeqCst);
            match p.path.as_deref() {
                _ if p.access.contains(wasi_warden::Access::WRITE) => Answer::DenyOnce,
                Some("/data/a.txt") => Answer::AllowAlways(Scope::Path),
                Some("/etc/passwd") => Answer::DenyAlways(Scope::Subtree("/etc".into())),
                _ => Answer::DenyOnce,
            }
        })
        .build();
    let handle = ctx.policy_handle().clone();
    let mut d = Driver::new(ctx);
    for _ in 0..3 {
        assert!(d.open(3, "data/a.txt", 0, FD_READ).is_ok());
        assert_eq!(d.open(3, "etc/passwd", 0, FD_READ), Err(EACCES));
        // The resolved path is what is remembered: `..` and symlinks lead to the same answer.
        assert!(d.open(3, "data/sub/../a.txt", 0, FD_READ).is_ok());
        assert_eq!(d.open(3, "data/l/passwd", 0, FD_READ), Err(EACCES));
    }
    assert_eq!(asked.load(Ordering::SeqCst), 2);
    assert_eq!(handle.remembered_answers(), 2);
    // More access than was granted asks again (and is refused once).
    assert_eq!(d.open(3, "data/a.txt", 0, FD_READ | FD_WRITE), Err(EACCES));
    assert_eq!(asked.load(Ordering::SeqCst), 3);
}

#[test]
fn subtree_rules_cannot_be_dodged_with_dotdot_or_symlinks() {
    let deny_etc = PolicyTable::allow_all()
        .rule(Rule::new(deny(Errno::Perm)).path(PathPattern::subtree("/etc")));
    let only_data = PolicyTable::allow_all().rule(
        Rule::new(deny(Errno::Notcapable))
            .syscalls(wasi_warden::policy::SyscallSet::group("path").unwrap())
            .path(PathPattern::parse("/etc/**").unwrap()),
    );
    for (table, errno) in [(deny_etc, EPERM), (only_data, ENOTCAPABLE)] {
        let mut d = Driver::new(builder().policy(table).build());
        assert!(d.open(3, "data/a.txt", 0, FD_READ).is_ok());
        for sneaky in [
            "etc/passwd",
            "data/../etc/passwd",
            "data/sub/../../etc/./passwd",
            "data/l/passwd",
            "data/l/../etc/passwd",
        ] {
            assert_eq!(d.open(3, sneaky, 0, FD_READ), Err(errno), "{sneaky}");
        }
        // The symlink itself lives in /data: stat without following is not under /etc…
        let [p, l] = d.path(PATH1, "data/l");
        assert_eq!(d.errno("path_filestat_get", &[3, 0, p, l, OUT as i64]), 0);
        // …but following it is.
        let r = d.errno("path_filestat_get", &[3, SYMLINK_FOLLOW, p, l, OUT as i64]);
        assert_eq!(r, errno);
        // Creating through the link is checked on the real destination.
        let [p, l] = d.path(PATH1, "data/l/new");
        assert_eq!(d.errno("path_create_directory", &[3, p, l]), errno);
        // A rename out of /data into /etc is checked on both sides.
        let [p1, l1] = d.path(PATH1, "data/a.txt");
        let [p2, l2] = d.path(PATH2, "data/l/stolen");
        assert_eq!(d.errno("path_rename", &[3, p1, l1, 3, p2, l2]), errno);
    }
}

#[test]
fn an_absolute_allow_list_with_a_deny_default() {
    let table = PolicyTable::deny_all()
        .rule(Rule::new(Decision::Allow).path(PathPattern::subtree("/data")))
        .rule(
            Rule::new(Decision::Allow)
                .syscalls(Syscall::FdWrite)
                .path(PathPattern::subtree("/")),
        );
    let mut d = Driver::new(builder().policy(table).build());
    assert!(d.open(3, "data/a.txt", 0, FD_READ).is_ok());
    assert_eq!(d.open(3, "data/l/passwd", 0, FD_READ), Err(EACCES));
    // Calls without a path fall to the default.
    assert_eq!(d.errno("random_get", &[PATH2 as i64, 8]), EACCES);
}

#[test]
fn a_prompter_answering_from_another_thread() {
    let (prompter, prompts) = ChannelPrompter::new(Duration::from_secs(30));
    let ctx = builder()
        .policy(PolicyTable::allow_all().on(Syscall::PathOpen, Decision::Ask))
        .prompter(prompter)
        .build();
    let ui = std::thread::spawn(move || {
        let mut seen = Vec::new();
        for reply in prompts {
            seen.push(reply.prompt().message().to_owned());
            let allow = reply.prompt().path.as_deref() == Some("/data/a.txt");
            reply.answer(if allow {
                Answer::AllowOnce
            } else {
                Answer::DenyOnce
            });
        }
        seen
    });
    let guest = std::thread::spawn(move || {
        let mut d = Driver::new(ctx);
        let results = [
            d.open(3, "data/a.txt", 0, FD_READ).is_ok(),
            d.open(3, "etc/passwd", 0, FD_READ).is_ok(),
        ];
        drop(d); // drops the prompter: the UI loop ends
        results
    });
    assert_eq!(guest.join().unwrap(), [true, false]);
    assert_eq!(
        ui.join().unwrap(),
        [
            "module wants to read /data/a.txt",
            "module wants to read /etc/passwd"
        ]
    );
}

/// A guest that calls `random_get` until it fails, then exits with the errno.
const RANDOM_LOOP: &str = r#"(module
  (import "wasi_snapshot_preview1" "random_get" (func $random (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (func (export "_start") (local $e i32)
    (loop $again
      (local.set $e (call $random (i32.const 0) (i32.const 8)))
      (br_if $again (i32.eqz (local.get $e))))
    (call $exit (local.get $e))))"#;

#[test]
fn swapping_the_policy_while_the_guest_runs() {
    let handle = PolicyHandle::default();
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&calls);
    handle.set_audit(move |_: &AuditRecord<'_>| {
        counter.fetch_add(1, Ordering::SeqCst);
    });
    let ctx = WasiCtx::builder()
        .seeded_random(3)
        .policy_handle(handle.clone())
        .build();
    let engine = wasi_warden::wasmtime::Engine::default();
    let module = wasi_warden::wasmtime::Module::new(&engine, RANDOM_LOOP).unwrap();
    let guest = std::thread::spawn(move || wasi_warden::run_command(&engine, &module, ctx));
    while calls.load(Ordering::SeqCst) < 1000 {
        std::thread::sleep(Duration::from_millis(1));
    }
    handle.set_policy(PolicyTable::allow_all().on(Syscall::RandomGet, deny(Errno::Notcapable)));
    let (outcome, _) = guest.join().unwrap().unwrap();
    assert_eq!(outcome.exit_code(), ENOTCAPABLE);
}

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

#[test]
fn audit_records_parse_back_field_by_field() {
    let out = Shared::default();
    let table = PolicyTable::allow_all()
        .rule(
            Rule::new(Decision::Ask)
                .syscalls(Syscall::PathOpen)
                .path(PathPattern::subtree("/etc")),
        )
        .on(Syscall::RandomGet, deny(Errno::Notcapable));
    let ctx = builder()
        .policy(table)
        .prompter(|_: &Prompt| Answer::DenyOnce)
        .audit(JsonLinesAudit::new(out.clone()))
        .build();
    let mut d = Driver::new(ctx);
    let fd = d
        .open(3, "data/sub/../a.txt", CREAT, FD_READ | FD_WRITE)
        .unwrap();
    assert_eq!(d.open(3, "data/l/passwd", 0, FD_READ), Err(EACCES));
    assert_eq!(d.errno("random_get", &[PATH2 as i64, 16]), ENOTCAPABLE);
    let iov = d.iov(b"abc", 3);
    assert_eq!(
        d.errno("fd_write", &[fd as i64, iov[0], iov[1], OUT as i64]),
        0
    );
    assert_eq!(d.errno("fd_close", &[99]), 8);
    let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 5, "{text}");
    let open = &lines[0];
    assert_eq!(open["syscall"], "path_open");
    assert_eq!(open["fd"], 3);
    assert_eq!(open["mount"], "/");
    assert_eq!(open["path"], "/data/a.txt");
    assert_eq!(
        open["access"],
        serde_json::json!(["read", "write", "create"])
    );
    assert_eq!(open["oflags"], serde_json::json!(["CREAT"]));
    assert_eq!(open["lookupflags"], serde_json::json!(["SYMLINK_FOLLOW"]));
    assert_eq!(open["decision"], "allow");
    assert_eq!(open["via"], "policy");
    assert_eq!(open["result"], "ok");
    assert_eq!(open["value"], fd);
    assert!(open["duration_ns"].as_u64().is_some());
    let asked = &lines[1];
    assert_eq!(asked["path"], "/etc/passwd");
    assert_eq!(asked["access"], serde_json::json!(["read"]));
    assert_eq!(asked["decision"], "deny");
    assert_eq!(asked["via"], "prompt");
    assert_eq!(asked["deny_errno"], "EACCES");
    assert_eq!(
        (&asked["result"], &asked["errno"]),
        (&"errno".into(), &"EACCES".into())
    );
    let random = &lines[2];
    assert_eq!(random["syscall"], "random_get");
    assert_eq!(random["bytes"], 16);
    assert_eq!(random["decision"], "deny");
    assert_eq!(random["errno"], "ENOTCAPABLE");
    let write = &lines[3];
    assert_eq!(write["syscall"], "fd_write");
    assert_eq!(write["fd"], fd);
    assert_eq!(write["path"], "/data/a.txt");
    assert_eq!(write["access"], serde_json::json!(["write"]));
    assert_eq!(write["bytes"], 3);
    assert_eq!(write["value"], 3);
    let early = &lines[4];
    assert_eq!(early["syscall"], "fd_close");
    assert!(early["decision"].is_null());
    assert_eq!(early["errno"], "EBADF");
}

#[test]
fn granted_listener_echoes_and_nothing_else_is_a_socket() {
    let (mut d, mut client) = with_socket(builder());
    client.write_all(b"ping").unwrap();
    let iov = d.iov(&[0; 16], 16);
    assert_eq!(
        d.errno(
            "sock_recv",
            &[5, iov[0], iov[1], 0, OUT as i64, OUT as i64 + 4]
        ),
        0
    );
    assert_eq!(d.u32_at(OUT), 4);
    let iov = d.iov(b"pong", 4);
    assert_eq!(d.errno("sock_send", &[5, iov[0], iov[1], 0, OUT as i64]), 0);
    assert_eq!(d.errno("sock_shutdown", &[5, 2]), 0);
    let mut back = Vec::new();
    client.read_to_end(&mut back).unwrap();
    assert_eq!(back, b"pong");
    // Files, directories and stdio are not sockets; a listener does not recv.
    assert_eq!(d.errno("sock_accept", &[3, 0, OUT as i64]), 57); // ENOTSOCK
    assert_eq!(d.errno("sock_send", &[1, IOV as i64, 1, 0, OUT as i64]), 57);
    assert_eq!(
        d.errno("sock_recv", &[4, IOV as i64, 1, 0, OUT as i64, OUT as i64]),
        53
    ); // ENOTCONN
    assert_eq!(d.errno("sock_accept", &[9, 0, OUT as i64]), 8); // EBADF
    // Non-blocking accept with nobody waiting.
    assert_eq!(d.errno("fd_fdstat_set_flags", &[4, 4]), 0);
    assert_eq!(d.errno("sock_accept", &[4, 4, OUT as i64]), 6); // EAGAIN
}

#[test]
fn the_allow_path_of_a_real_syscall_does_not_allocate() {
    let d = Driver::new(builder().build());
    let n = policy::cli::allocations_for_fd_writes(d, 1000);
    assert_eq!(
        n, 0,
        "allocations per 1000 fd_write calls with the default handle"
    );
    // A table restricting other calls leaves fd_write on the fast path too.
    let table = PolicyTable::allow_all()
        .on(Syscall::PathOpen, Decision::Ask)
        .on(Syscall::RandomGet, deny(Errno::Perm));
    let d = Driver::new(builder().policy(table).build());
    assert_eq!(policy::cli::allocations_for_fd_writes(d, 1000), 0);
    // The counter does count: an audit sink formats a line per call.
    let d = Driver::new(
        builder()
            .audit(JsonLinesAudit::new(std::io::sink()))
            .build(),
    );
    assert!(policy::cli::allocations_for_fd_writes(d, 1000) >= 1000);
}

#[test]
fn a_remembered_never_covers_a_subtree() {
    let ctx = builder()
        .policy(PolicyTable::allow_all().on(Syscall::PathOpen, Decision::Ask))
        .prompter(|_: &Prompt| Answer::DenyAlways(Scope::Subtree("/data".into())))
        .build();
    let mut d = Driver::new(ctx);
    assert_eq!(d.open(3, "data/a.txt", 0, FD_READ), Err(EACCES));
    assert_eq!(d.open(3, "data/sub", 0, FD_READ), Err(EACCES));
    // A missing name is judged too: the "never" answers, not ENOENT.
    assert_eq!(d.open(3, "data/zzz", 0, FD_READ), Err(EACCES));
}

/// At the descriptor cap, `sock_accept` is EMFILE *before* it takes a connection: the client
/// stays queued (as on Linux at EMFILE) and a later accept, once an fd is free, gets it.
#[test]
fn sock_accept_at_the_fd_cap_is_emfile_and_leaves_the_connection_queued() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let _first = TcpStream::connect(addr).unwrap();
    let mut second = TcpStream::connect(addr).unwrap();
    second.write_all(b"hi").unwrap();
    // stdio 0-2 and the listener at 3: room for one connection.
    let ctx = WasiCtx::builder().max_fds(5).tcp_listener(listener).build();
    let mut d = Driver::new(ctx);
    assert_eq!(d.errno("sock_accept", &[3, 0, OUT as i64]), 0);
    assert_eq!(d.u32_at(OUT), 4);
    assert_eq!(d.errno("sock_accept", &[3, 0, OUT as i64]), 33); // EMFILE
    assert_eq!(d.errno("fd_close", &[4]), 0);
    // A non-blocking listener: had the second connection been taken and dropped, this would
    // be EAGAIN.
    assert_eq!(d.errno("fd_fdstat_set_flags", &[3, 4]), 0);
    assert_eq!(d.errno("sock_accept", &[3, 0, OUT as i64]), 0);
    let fd = i64::from(d.u32_at(OUT));
    let iov = d.iov(b"", 2);
    let args = [fd, iov[0], iov[1], 0, OUT as i64, OUT as i64 + 4];
    assert_eq!(d.errno("sock_recv", &args), 0);
    assert_eq!(d.u32_at(OUT), 2);
    assert_eq!(d.get(policy::driver::BUF, 2), b"hi");
}
