//! Syscall group `poll_oneoff`: wait for clocks and descriptor readiness.
//! Both guest arrays are bounds-checked as a whole before anything is read; subscriptions are
//! re-read from guest memory on every pass instead of being copied out, so nothing is
//! allocated per subscription. Files and output streams are always ready; only stdin and clocks
//! make the call wait, and every wait is bounded by the earliest deadline (plus the run deadline
//! hook below). Like wasmtime, a bad subscription fails the whole call.

use super::clock;
use crate::abi::types::*;
use crate::clock::HostClock;
use crate::ctx::WasiCtx;
use crate::guest;
use crate::rights;
use crate::stdio::Input;
use crate::suspend::Suspend;
use crate::table::Kind;
use std::time::{Duration, Instant};
use wiggle::{GuestMemory, GuestPtr, GuestType};

/// Most subscriptions one call accepts; more is EINVAL, as poll(2) answers an `nfds` above its
/// limit. Nothing is allocated per subscription, so this only bounds the time of one pass.
pub(crate) const MAX_SUBSCRIPTIONS: u32 = crate::limits::MAX_POLL_SUBSCRIPTIONS;

/// Longest single sleep when no deadline exists (every clock timeout overflowed `Instant`):
/// the thread wakes now and then and simply sleeps again.
const MAX_NAP: Duration = Duration::from_secs(3600);

/// The deadline of the whole run, if the embedder set one (`run::RunLimits::timeout`): the
/// bound of every wait in this file, as `ctx.clocks.deadline()` is of the stdin reads and
/// socket waits elsewhere in `p1/`.
pub(super) fn run_deadline(ctx: &WasiCtx) -> Option<Instant> {
    ctx.clocks.deadline()
}

/// What one subscription says during a pass.
enum Status {
    /// Ready now, with the byte count and flags its event reports.
    Ready(EventFdReadwrite),
    /// A clock that fires at this instant (`None`: beyond what `Instant` can represent).
    Clock(Option<Instant>),
    /// stdin with nothing to read yet: a cloned handle, since the wait happens after the
    /// pass, when nothing borrows the table.
    Stdin(Input),
}

fn ready(nbytes: u64) -> Status {
    let flags = if nbytes == 0 {
        // Ready with nothing to read is the end of the stream (or file): said as a hang-up,
        // like poll(2)'s POLLHUP.
        Eventrwflags::FD_READWRITE_HANGUP
    } else {
        Eventrwflags::empty()
    };
    Status::Ready(EventFdReadwrite { nbytes, flags })
}

/// When a clock subscription fires. Relative timeouts count from the call's `start`; absolute
/// ones are read on the clock they name (realtime ones against this pass's `now`). Errors: ENOTCAPABLE (clock not granted — a sleep holds
/// the host thread, so it needs the grant too); EINVAL (CPU-time clocks, as wasmtime).
fn clock_deadline(
    ctx: &WasiCtx,
    sub: &SubscriptionClock,
    start: Instant,
    now: Instant,
) -> Result<Option<Instant>, Errno> {
    let clock = clock::granted(ctx, sub.id)?;
    let abstime = sub
        .flags
        .contains(Subclockflags::SUBSCRIPTION_CLOCK_ABSTIME);
    // `None` past what an `Instant` can hold: a timeout of u64::MAX ns must neither overflow
    // nor wrap into the past (SECURITY.md: sleeps of u64::MAX).
    let after = |base: Instant, nanos: u64| base.checked_add(Duration::from_nanos(nanos));
    match (clock, abstime) {
        (HostClock::ProcessCpu | HostClock::ThreadCpu, _) => Err(Errno::Inval),
        // From the call's start, not this pass's: a relative timer must not restart each pass.
        (_, false) => Ok(after(start, sub.timeout)),
        // Our monotonic clock counts from `clocks.start`.
        (HostClock::Monotonic, true) => Ok(after(ctx.clocks.start, sub.timeout)),
        (HostClock::Realtime, true) => {
            // Re-read every pass, since the wall clock may be set while the guest waits; a time
            // already past saturates to 0 and fires at once.
            let left = sub.timeout.saturating_sub(ctx.clocks.realtime_now());
            Ok(after(now, left))
        }
    }
}

/// Evaluates one subscription. Errors: EBADF (no such fd, or the wrong kind or rights for the
/// event), ENOTCAPABLE, EINVAL (see `clock_deadline`), backend errors from stat.
fn status(
    ctx: &WasiCtx,
    sub: &Subscription,
    start: Instant,
    now: Instant,
) -> Result<Status, Error> {
    let (fd, reading) = match &sub.u {
        SubscriptionU::Clock(clock) => {
            let at = clock_deadline(ctx, clock, start, now)?;
            return Ok(match at {
                Some(at) if at <= now => ready(0),
                // Virtual time that reached its end (u64::MAX ns) cannot move on: a timer
                // beyond it fires there, instead of being waited for forever.
                _ if ctx.clocks.virtual_time_ended() => ready(0),
                _ => Status::Clock(at),
            });
        }
        SubscriptionU::FdRead(s) => (s.file_descriptor, true),
        SubscriptionU::FdWrite(s) => (s.file_descriptor, false),
    };
    let need = if reading {
        &rights::POLL_READ
    } else {
        &rights::POLL_WRITE
    };
    // The checks of the read or write the subscription stands for (`rights::POLL_*`): poll
    // cannot probe what the guest may not use.
    let desc = ctx.table.check(fd.into(), need)?;
    match &desc.kind {
        Kind::Stdin(input) => Ok(match input.available() {
            Some(n) => ready(n),
            // A probe with an expired deadline never blocks; an inherited stdin, whose
            // readiness cannot be seen, counts as ready (1 byte, as wasmtime reports).
            // (A real instant: in virtual time `now` may lie far ahead of the host's.)
            None if input.wait_ready(Some(Instant::now())) => ready(1),
            None => Status::Stdin(input.clone()),
        }),
        Kind::File(open) if reading => {
            // What a read would return now; a position past the end counts as the end.
            Ok(ready(open.file.stat()?.size.saturating_sub(open.position)))
        }
        // Writes never block here; 1 is wasmtime's count for an always-writable object.
        Kind::Output(_) | Kind::File(_) => Ok(ready(1)),
        // Readiness of host sockets is not observed: they count as ready, and a blocking
        // accept/recv then waits in the call itself (a NONBLOCK one answers EAGAIN).
        Kind::Socket(_) => Ok(ready(1)),
        // `rights::POLL_READ`/`POLL_WRITE` refused these already.
        Kind::Dir(_) => Err(Errno::Badf.into()),
    }
}

/// What a pass left to wait for when nothing was ready.
#[derive(Default)]
struct Pending {
    /// The earliest clock that has not fired yet.
    wake: Option<Instant>,
    /// A clock fires later than any `Instant` can say.
    beyond: bool,
    stdin: Option<Input>,
}

/// One pass over every subscription: writes an event for each ready one, in subscription order,
/// and returns how many; collects what to wait for otherwise.
fn pass(
    ctx: &WasiCtx,
    mem: &mut GuestMemory<'_>,
    subs: GuestPtr<Subscription>,
    events: GuestPtr<Event>,
    n: u32,
    start: Instant,
    pending: &mut Pending,
) -> Result<u32, Error> {
    // The host's instant, or virtual time mapped onto `Instant`s in deterministic mode.
    let now = ctx.clocks.instant_now();
    let mut count = 0u32;
    for i in 0..n {
        // Re-read, never copied: the array was checked as a whole before the first pass, so `n`
        // subscriptions cost no host memory.
        let sub = mem.read(subs.add(i)?)?;
        // One bad subscription fails the whole call, as wasmtime; events written before it are
        // then not counted.
        let fd_readwrite = match status(ctx, &sub, start, now)? {
            Status::Ready(rw) => rw,
            Status::Clock(at) => {
                pending.beyond |= at.is_none();
                pending.wake = earliest(pending.wake, at);
                continue;
            }
            Status::Stdin(input) => {
                pending.stdin.get_or_insert(input);
                continue;
            }
        };
        let type_ = match sub.u {
            SubscriptionU::Clock(_) => Eventtype::Clock,
            SubscriptionU::FdRead(_) => Eventtype::FdRead,
            SubscriptionU::FdWrite(_) => Eventtype::FdWrite,
        };
        let fd_readwrite = match type_ {
            // Clock events carry no byte count.
            Eventtype::Clock => EventFdReadwrite {
                nbytes: 0,
                flags: Eventrwflags::empty(),
            },
            _ => fd_readwrite,
        };
        let event = Event {
            userdata: sub.userdata,
            error: Errno::Success,
            type_,
            fd_readwrite,
        };
        // Packed at the front of `out` in subscription order; `out` was checked for all `n`.
        mem.write(events.add(count)?, event)?;
        count += 1;
    }
    Ok(count)
}

/// The earlier of two optional instants (`None`: none).
fn earliest(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// Blocks until stdin may be ready or the earliest deadline passes, never past `limit`.
fn wait(pending: Pending, limit: Option<Instant>) {
    let until = earliest(pending.wake, limit);
    match (pending.stdin, until) {
        (Some(input), until) => {
            // stdin or the earliest timer, whichever comes first: the next pass sorts out which.
            input.wait_ready(until);
        }
        (None, Some(until)) => std::thread::sleep(until.saturating_duration_since(Instant::now())),
        // Only timers past any `Instant`, and no run deadline: nap, then look again.
        (None, None) => std::thread::sleep(MAX_NAP),
    }
}

/// Mirrors `poll(2)` with timers: reports every ready subscription, waiting until at least one
/// is. Errors: EINVAL (no subscriptions, more than `MAX_SUBSCRIPTIONS`, a CPU-time clock, bad
/// enum values), EBADF (a bad fd, or one that cannot do the event), ENOTCAPABLE (ungranted clock
/// or missing POLL_FD_READWRITE). Out-of-bounds or misaligned arrays trap.
pub(crate) fn poll_oneoff(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    in_: GuestPtr<Subscription>,
    out: GuestPtr<Event>,
    nsubscriptions: Size,
) -> Result<Size, Error> {
    let n = nsubscriptions;
    // Zero subscriptions would wait forever (as wasmtime, EINVAL).
    if n == 0 || n > MAX_SUBSCRIPTIONS {
        return Err(Errno::Inval.into());
    }
    // Both arrays as wholes, before anything is read or the policy asked (SECURITY.md: arrays
    // checked by their first element), aligned to 8 for their u64 fields.
    guest::check_array(mem, in_.offset(), n, Subscription::guest_size(), 8)?;
    guest::check_array(mem, out.offset(), n, Event::guest_size(), 8)?;
    let s = crate::policy::Syscall::PollOneoff;
    ctx.gate.check(s, || crate::policy::Request::new(s))?;
    // After the policy: time a person spends on a prompt must not count against the guest's
    // relative timeouts. A re-run after a suspension counts from the first attempt.
    let now = ctx.clocks.instant_now();
    let start = ctx.gate.call_started(now);
    loop {
        let mut pending = Pending::default();
        let count = pass(ctx, mem, in_, out, n, start, &mut pending)?;
        // Every ready subscription is reported, not just the first.
        if count > 0 {
            return Ok(count);
        }
        // Nothing is ready: the run's deadline ends the wait, and the run. Checked on every
        // pass, so that no way round this loop can outlast it.
        if ctx.clocks.deadline_passed() {
            let stop = crate::limits::TimeLimitExceeded { limit: None };
            return Err(Error::trap(stop.into()));
        }
        // Virtual time (deterministic mode) jumps to the earliest timer instead of sleeping,
        // or to its own end for a timer no `Instant` can name; the next pass fires it.
        let jumped = match pending.wake {
            Some(at) => ctx.clocks.skip_to(at),
            None if pending.beyond => ctx.clocks.skip_to_end(),
            None => false,
        };
        if !jumped {
            let limit = run_deadline(ctx);
            // Under the async linker the fiber waits instead of the thread; the next attempt's
            // pass decides what fired.
            if ctx.gate.suspending() {
                let until = earliest(pending.wake, limit);
                let what = match pending.stdin {
                    Some(input) => Suspend::Input(input, until),
                    None => Suspend::Until(until),
                };
                return Err(ctx.gate.suspend(what));
            }
            wait(pending, limit);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ClockGrant;
    use crate::stdio::Input;

    const SUB: usize = 48;
    const EVENT: usize = 32;

    /// Writes a subscription at `at`: tag 0 clock (id, timeout, flags), 1 fd_read, 2 fd_write.
    fn sub(raw: &mut [u8], at: usize, userdata: u64, tag: u8, a: u32, timeout: u64, flags: u16) {
        raw[at..at + 8].copy_from_slice(&userdata.to_le_bytes());
        raw[at + 8] = tag;
        raw[at + 16..at + 20].copy_from_slice(&a.to_le_bytes());
        raw[at + 24..at + 32].copy_from_slice(&timeout.to_le_bytes());
        raw[at + 40..at + 42].copy_from_slice(&flags.to_le_bytes());
    }

    fn run(
        ctx: &mut WasiCtx,
        raw: &mut [u8],
        subs: u32,
        events: u32,
        n: u32,
    ) -> Result<u32, Error> {
        let mut mem = GuestMemory::Unshared(raw);
        poll_oneoff(ctx, &mut mem, GuestPtr::new(subs), GuestPtr::new(events), n)
    }

    fn errno(r: Result<u32, Error>) -> Errno {
        r.unwrap_err().downcast().unwrap()
    }

    fn event(raw: &[u8], at: usize) -> (u64, u16, u8, u64, u16) {
        let u64_at = |o: usize| u64::from_le_bytes(raw[o..o + 8].try_into().unwrap());
        let u16_at = |o: usize| u16::from_le_bytes(raw[o..o + 2].try_into().unwrap());
        (
            u64_at(at),
            u16_at(at + 8),
            raw[at + 10],
            u64_at(at + 16),
            u16_at(at + 24),
        )
    }

    #[test]
    fn zero_and_too_many_subscriptions_are_einval() {
        let mut ctx = WasiCtx::builder().build();
        let mut raw = vec![0u8; 1024];
        assert_eq!(errno(run(&mut ctx, &mut raw, 0, 512, 0)), Errno::Inval);
        let r = run(&mut ctx, &mut raw, 0, 512, MAX_SUBSCRIPTIONS + 1);
        assert_eq!(errno(r), Errno::Inval);
    }

    #[test]
    fn arrays_are_checked_as_a_whole() {
        let mut ctx = WasiCtx::builder().build();
        let mut raw = vec![0u8; 1024];
        sub(&mut raw, 0, 1, 2, 1, 0, 0);
        // The first subscription is fine, the 30th would be out of bounds: trap.
        assert!(
            run(&mut ctx, &mut raw, 0, 0, 30)
                .unwrap_err()
                .downcast()
                .is_err()
        );
        // The event array is checked before waiting, too.
        assert!(
            run(&mut ctx, &mut raw, 0, 1000, 1)
                .unwrap_err()
                .downcast()
                .is_err()
        );
        // Misaligned arrays trap.
        assert!(
            run(&mut ctx, &mut raw, 4, 512, 1)
                .unwrap_err()
                .downcast()
                .is_err()
        );
    }

    #[test]
    fn bad_fd_and_ungranted_clock_fail_the_call() {
        let mut ctx = WasiCtx::builder().build();
        let mut raw = vec![0u8; 1024];
        sub(&mut raw, 0, 1, 1, 77, 0, 0);
        assert_eq!(errno(run(&mut ctx, &mut raw, 0, 512, 1)), Errno::Badf);
        sub(&mut raw, 0, 1, 2, 0, 0, 0); // fd_write on stdin
        assert_eq!(errno(run(&mut ctx, &mut raw, 0, 512, 1)), Errno::Badf);
        sub(&mut raw, 0, 1, 0, 1, 1000, 0); // monotonic, not granted
        assert_eq!(errno(run(&mut ctx, &mut raw, 0, 512, 1)), Errno::Notcapable);
        raw[8] = 9; // bad tag
        assert_eq!(errno(run(&mut ctx, &mut raw, 0, 512, 1)), Errno::Inval);
    }

    #[test]
    fn reports_all_ready_events_in_order() {
        let mut ctx = WasiCtx::builder()
            .stdin(Input::bytes(&b"hello"[..]))
            .clocks(ClockGrant::ALL)
            .build();
        let mut raw = vec![0u8; 1024];
        sub(&mut raw, 0, 10, 0, 1, u64::MAX, 0); // never fires
        sub(&mut raw, SUB, 11, 1, 0, 0, 0); // stdin: 5 bytes
        sub(&mut raw, 2 * SUB, 12, 2, 1, 0, 0); // stdout
        assert_eq!(run(&mut ctx, &mut raw, 0, 512, 3).unwrap(), 2);
        assert_eq!(event(&raw, 512), (11, 0, 1, 5, 0));
        assert_eq!(event(&raw, 512 + EVENT), (12, 0, 2, 1, 0));
    }

    #[test]
    fn sleeps_until_the_earliest_clock() {
        let mut ctx = WasiCtx::builder().clocks(ClockGrant::ALL).build();
        let mut raw = vec![0u8; 1024];
        sub(&mut raw, 0, 1, 0, 1, u64::MAX, 0); // relative u64::MAX: must not overflow
        sub(&mut raw, SUB, 2, 0, 1, 20_000_000, 0); // 20 ms
        let before = Instant::now();
        assert_eq!(run(&mut ctx, &mut raw, 0, 512, 2).unwrap(), 1);
        assert!(before.elapsed() >= Duration::from_millis(20));
        assert_eq!(event(&raw, 512).0, 2);
        // An absolute realtime deadline in the past fires at once.
        sub(&mut raw, 0, 3, 0, 0, 1, 1);
        assert_eq!(run(&mut ctx, &mut raw, 0, 512, 1).unwrap(), 1);
        assert_eq!(event(&raw, 512).0, 3);
    }

    #[test]
    fn waits_for_stdin_until_written() {
        let (input, writer) = Input::pipe();
        let mut ctx = WasiCtx::builder()
            .stdin(input)
            .clocks(ClockGrant::ALL)
            .build();
        let mut raw = vec![0u8; 1024];
        sub(&mut raw, 0, 7, 1, 0, 0, 0);
        let feeder = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            writer.write(b"abc");
        });
        assert_eq!(run(&mut ctx, &mut raw, 0, 512, 1).unwrap(), 1);
        assert_eq!(event(&raw, 512), (7, 0, 1, 3, 0));
        feeder.join().unwrap();
    }
}
