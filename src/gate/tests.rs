//! Tests of the policy layer as a whole: remembered answers, prompters on other threads,
//! swapping policies while a guest thread checks, and the allocation-free fast path.

use super::*;
use crate::abi::types::Errno;
use crate::policy::*;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Counts heap allocations per thread, so the fast-path test sees only its own.
#[allow(unsafe_code)]
mod counting {
    use std::alloc::{GlobalAlloc, Layout, System};
    use std::cell::Cell;

    thread_local! {
        static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
    }

    fn count() {
        // `try_with`: the slot may be gone while a thread is being torn down.
        let _ = ALLOCATIONS.try_with(|c| c.set(c.get() + 1));
    }

    /// The system allocator, counting `alloc`/`realloc` calls.
    pub struct Counting;

    // SAFETY: every method forwards to `System` unchanged; counting touches only a
    // const-initialised thread-local `Cell`, which never allocates.
    unsafe impl GlobalAlloc for Counting {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            count();
            unsafe { System.alloc(layout) }
        }
        unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
            count();
            unsafe { System.alloc_zeroed(layout) }
        }
        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            unsafe { System.dealloc(ptr, layout) }
        }
        unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
            count();
            unsafe { System.realloc(ptr, layout, new_size) }
        }
    }

    #[global_allocator]
    static ALLOCATOR: Counting = Counting;

    /// Allocations made by this thread so far.
    pub fn allocations() -> u64 {
        ALLOCATIONS.with(|c| c.get())
    }
}

fn write(path: &str) -> Request<'_> {
    Request::new(Syscall::PathOpen)
        .fd(3)
        .path("/", path)
        .access(Access::WRITE)
}

/// A prompter answering from a script, counting how often it is asked.
struct Scripted {
    answers: Mutex<VecDeque<Answer>>,
    asked: AtomicUsize,
}

impl Scripted {
    fn new(answers: impl IntoIterator<Item = Answer>) -> Arc<Scripted> {
        Arc::new(Scripted {
            answers: Mutex::new(answers.into_iter().collect()),
            asked: AtomicUsize::new(0),
        })
    }
    fn asked(&self) -> usize {
        self.asked.load(Ordering::SeqCst)
    }
}

impl Prompter for Arc<Scripted> {
    fn ask(&self, _: &Prompt) -> Answer {
        self.asked.fetch_add(1, Ordering::SeqCst);
        let next = self.answers.lock().unwrap().pop_front();
        next.expect("asked more often than scripted")
    }
}

fn asking(script: &Arc<Scripted>) -> PolicyHandle {
    let handle = PolicyHandle::new(Decision::Ask);
    handle.set_prompter(Arc::clone(script));
    handle
}

fn ruling(handle: &PolicyHandle, request: &Request<'_>) -> (Verdict, DecidedBy) {
    handle.decide(request)
}

const ALLOW: Verdict = Verdict::Allow;
const DENY: Verdict = Verdict::Deny(Errno::Acces);

#[test]
fn allow_once_asks_every_time() {
    let script = Scripted::new([Answer::AllowOnce, Answer::DenyOnce]);
    let h = asking(&script);
    assert_eq!(ruling(&h, &write("/a")), (ALLOW, DecidedBy::Prompter));
    assert_eq!(ruling(&h, &write("/a")), (DENY, DecidedBy::Prompter));
    assert_eq!(script.asked(), 2);
    assert_eq!(h.remembered_answers(), 0);
}

#[test]
fn always_for_a_path_covers_that_path_and_access_only() {
    let script = Scripted::new([
        Answer::AllowAlways(Scope::Path),
        Answer::DenyOnce,
        Answer::DenyOnce,
    ]);
    let h = asking(&script);
    assert_eq!(ruling(&h, &write("/data/a")), (ALLOW, DecidedBy::Prompter));
    assert_eq!(
        ruling(&h, &write("/data/a")),
        (ALLOW, DecidedBy::Remembered)
    );
    assert_eq!(
        ruling(&h, &write("/data/x/../a")),
        (ALLOW, DecidedBy::Remembered)
    );
    // Another path, or more access than was granted, asks again.
    assert_eq!(ruling(&h, &write("/data/b")), (DENY, DecidedBy::Prompter));
    let more = write("/data/a").access(Access::TRUNCATE);
    assert_eq!(ruling(&h, &more), (DENY, DecidedBy::Prompter));
    assert_eq!(script.asked(), 3);
}

#[test]
fn always_for_a_subtree_cannot_be_dodged() {
    let script = Scripted::new([
        Answer::AllowAlways(Scope::Subtree("/data".into())),
        Answer::DenyOnce,
        Answer::DenyOnce,
    ]);
    let h = asking(&script);
    assert_eq!(ruling(&h, &write("/data/a")), (ALLOW, DecidedBy::Prompter));
    assert_eq!(
        ruling(&h, &write("/data/x/y/z")),
        (ALLOW, DecidedBy::Remembered)
    );
    assert_eq!(ruling(&h, &write("/data2/x")), (DENY, DecidedBy::Prompter));
    assert_eq!(
        ruling(&h, &write("/data/../etc/passwd")),
        (DENY, DecidedBy::Prompter)
    );
    // A rename out of the subtree needs both sides covered.
    let rename = Request::new(Syscall::PathRename)
        .access(Access::WRITE)
        .path("/", "/data/a")
        .path2("/", "/etc/a");
    assert!(h.decide(&rename).0 != ALLOW);
}

#[test]
fn never_is_remembered_and_beats_always() {
    let script = Scripted::new([
        Answer::AllowAlways(Scope::Any),
        Answer::DenyAlways(Scope::Path),
    ]);
    let h = asking(&script);
    let read = Request::new(Syscall::PathOpen)
        .path("/", "/secret")
        .access(Access::READ);
    assert_eq!(ruling(&h, &read), (ALLOW, DecidedBy::Prompter));
    assert_eq!(ruling(&h, &write("/secret")), (DENY, DecidedBy::Prompter));
    // The never answer covers any request touching that access on that path…
    let both = write("/secret").access(Access::READ);
    assert_eq!(ruling(&h, &both), (DENY, DecidedBy::Remembered));
    // …while the always answer still covers reads everywhere, this path included.
    assert_eq!(ruling(&h, &read), (ALLOW, DecidedBy::Remembered));
    assert_eq!(script.asked(), 2);
    h.forget_answers();
    assert_eq!(h.remembered_answers(), 0);
}

#[test]
fn pathless_answers_are_per_syscall() {
    let script = Scripted::new([Answer::AllowAlways(Scope::Path), Answer::DenyOnce]);
    let h = asking(&script);
    let random = Request::new(Syscall::RandomGet).bytes(16);
    assert_eq!(ruling(&h, &random), (ALLOW, DecidedBy::Prompter));
    assert_eq!(
        ruling(&h, &random.bytes(1 << 20)),
        (ALLOW, DecidedBy::Remembered)
    );
    let clock = Request::new(Syscall::ClockTimeGet);
    assert_eq!(ruling(&h, &clock), (DENY, DecidedBy::Prompter));
}

#[test]
fn ask_without_a_prompter_or_with_a_panicking_one_denies() {
    let h = PolicyHandle::new(Decision::Ask);
    assert_eq!(ruling(&h, &write("/a")), (DENY, DecidedBy::Prompter));
    h.set_prompter(|_: &Prompt| -> Answer { panic!("prompter bug") });
    assert_eq!(ruling(&h, &write("/a")), (DENY, DecidedBy::Prompter));
}

#[test]
fn channel_prompter_is_answered_from_another_thread() {
    let (prompter, prompts) = ChannelPrompter::new(Duration::from_secs(30));
    let h = PolicyHandle::new(Decision::Ask);
    h.set_prompter(prompter);
    let ui = std::thread::spawn(move || {
        let mut seen = Vec::new();
        for reply in prompts {
            seen.push(reply.prompt().message().to_owned());
            let answer = match reply.prompt().path.as_deref() {
                Some(p) if p.starts_with("/data/") => {
                    Answer::AllowAlways(Scope::Subtree("/data".into()))
                }
                _ => Answer::DenyOnce,
            };
            reply.answer(answer);
        }
        seen
    });
    // The guest runs on its own thread, blocking in each prompt.
    let guest = std::thread::spawn(move || {
        let results = [
            h.decide(&write("/data/out.txt")),
            h.decide(&write("/data/other")),
            h.decide(&write("/etc/passwd")),
        ];
        drop(h); // drops the prompter's sender: the UI loop ends
        results
    });
    let results = guest.join().unwrap();
    assert_eq!(
        results,
        [
            (ALLOW, DecidedBy::Prompter),
            (ALLOW, DecidedBy::Remembered),
            (DENY, DecidedBy::Prompter)
        ]
    );
    let seen = ui.join().unwrap();
    assert_eq!(
        seen,
        [
            "module wants to write /data/out.txt",
            "module wants to write /etc/passwd"
        ]
    );
}

#[test]
fn channel_prompter_timeout_and_hangups_deny() {
    let (prompter, prompts) = ChannelPrompter::new(Duration::from_millis(50));
    let prompt = Prompt::new(&write("/a"));
    let start = Instant::now();
    assert_eq!(prompter.ask(&prompt), Answer::DenyOnce);
    assert!(start.elapsed() >= Duration::from_millis(50));
    // The unanswered prompt is still queued; answering it late changes nothing.
    prompts.try_recv().unwrap().answer(Answer::AllowOnce);
    // A UI that drops the reply denies at once.
    let dropper = std::thread::spawn(move || {
        let reply = prompts.recv().unwrap();
        drop(reply);
        prompts
    });
    assert_eq!(prompter.ask(&prompt), Answer::DenyOnce);
    let prompts = dropper.join().unwrap();
    // No UI at all: deny without waiting.
    drop(prompts);
    let start = Instant::now();
    assert_eq!(prompter.ask(&prompt), Answer::DenyOnce);
    assert!(start.elapsed() < Duration::from_millis(50));
}

#[test]
fn policy_swaps_from_another_thread_take_effect_between_calls() {
    let handle = PolicyHandle::default();
    let stop = Arc::new(AtomicBool::new(false));
    let counts = Arc::new([AtomicUsize::new(0), AtomicUsize::new(0)]);
    let mut gate = Gate::new(handle.clone());
    let (guest_stop, guest_counts) = (Arc::clone(&stop), Arc::clone(&counts));
    let guest = std::thread::spawn(move || {
        while !guest_stop.load(Ordering::SeqCst) {
            match gate.check(Syscall::RandomGet, || Request::new(Syscall::RandomGet)) {
                Ok(()) => guest_counts[0].fetch_add(1, Ordering::SeqCst),
                Err(e) => {
                    assert_eq!(e.downcast().unwrap(), Errno::Notcapable);
                    guest_counts[1].fetch_add(1, Ordering::SeqCst)
                }
            };
        }
        gate
    });
    let wait_for = |i: usize| {
        let deadline = Instant::now() + Duration::from_secs(20);
        while counts[i].load(Ordering::SeqCst) == 0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1));
        }
    };
    wait_for(0);
    let deny = PolicyTable::allow_all().on(Syscall::RandomGet, Decision::Deny(Errno::Notcapable));
    handle.set_policy(deny);
    assert!(handle.needs_check(Syscall::RandomGet));
    assert!(!handle.needs_check(Syscall::FdWrite));
    wait_for(1);
    stop.store(true, Ordering::SeqCst);
    let mut gate = guest.join().unwrap();
    let [allowed, denied] = &*counts;
    assert!(allowed.load(Ordering::SeqCst) > 0 && denied.load(Ordering::SeqCst) > 0);
    // After the swap, every call is denied; swapping back allows again.
    assert!(
        gate.check(Syscall::RandomGet, || Request::new(Syscall::RandomGet))
            .is_err()
    );
    handle.set_policy(Decision::Allow);
    assert!(
        gate.check(Syscall::RandomGet, || Request::new(Syscall::RandomGet))
            .is_ok()
    );
}

#[test]
fn trap_decisions_become_policy_traps() {
    let h = PolicyHandle::new(Decision::trap("no network"));
    let err = Gate::new(h)
        .check(Syscall::SockAccept, || {
            Request::new(Syscall::SockAccept).fd(3)
        })
        .unwrap_err();
    assert!(err.downcast_ref().is_none(), "a trap is not an errno");
    let text = err.to_string();
    assert_eq!(text, "policy stopped the guest in sock_accept: no network");
}

#[test]
fn unchecked_calls_do_not_build_requests_or_allocate() {
    let table = PolicyTable::allow_all()
        .on(Syscall::RandomGet, Decision::deny())
        .rule(
            Rule::new(Decision::Ask)
                .syscalls(Syscall::PathOpen)
                .access(Access::WRITE)
                .path(PathPattern::subtree("/data")),
        );
    let mut gate = Gate::new(PolicyHandle::new(table));
    let ok: Result<u32, crate::abi::types::Error> = Ok(5);
    let read = Request::new(Syscall::PathOpen)
        .fd(3)
        .path("/data", "/data/in.txt")
        .access(Access::READ);
    let round = |gate: &mut Gate| {
        gate.begin(Syscall::FdWrite);
        let unchecked = gate.check(Syscall::FdWrite, || -> Request<'static> {
            panic!("built a request for an unchecked syscall")
        });
        assert!(unchecked.is_ok());
        gate.end(&ok);
        // A checked call the table allows: still no allocation (no prompt, normal path).
        gate.begin(Syscall::PathOpen);
        assert!(gate.check(Syscall::PathOpen, || read).is_ok());
        gate.end(&ok);
    };
    round(&mut gate); // warm-up: lazily initialised thread state
    let before = counting::allocations();
    for _ in 0..1000 {
        round(&mut gate);
    }
    assert_eq!(counting::allocations() - before, 0);
    // The counter does count (so the zero above is not vacuous).
    let boxed = std::hint::black_box(Box::new(7u64));
    assert!(counting::allocations() > before, "{boxed}");
}

/// A prompter that answers by itself can be asked about as many paths as the guest invents:
/// what is remembered stays bounded (and so does the scan each Ask makes); past the bound the
/// prompter is simply asked again, which is always safe.
#[test]
fn remembered_answers_are_bounded() {
    let n = super::handle::MAX_REMEMBERED + 100;
    let script = Scripted::new((0..n + 1).map(|_| Answer::AllowAlways(Scope::Path)));
    let h = asking(&script);
    for i in 0..n {
        let path = format!("/p{i}");
        assert_eq!(ruling(&h, &write(&path)), (ALLOW, DecidedBy::Prompter));
    }
    assert_eq!(h.remembered_answers(), super::handle::MAX_REMEMBERED);
    // What was remembered still holds; what was not is asked again.
    assert_eq!(ruling(&h, &write("/p0")), (ALLOW, DecidedBy::Remembered));
    let last = format!("/p{}", n - 1);
    assert_eq!(ruling(&h, &write(&last)), (ALLOW, DecidedBy::Prompter));
}
