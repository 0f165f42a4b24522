//! Syscall group `clock`: reading the clocks the embedder granted (`crate::clock`).
//! An ungranted clock answers ENOTCAPABLE: nothing is granted by default, and the clock id
//! itself is valid, so EINVAL (unknown id, produced by the decoder) would be a lie.
//! Unlike wasmtime (EBADF), the CPU-time clocks give real answers when granted.

use crate::abi::types::*;
use crate::clock::HostClock;
use crate::ctx::WasiCtx;
use crate::policy::{Request, Syscall};
use wiggle::GuestMemory;

/// Maps the ABI's clock id to the host clock it names.
pub(super) fn host_clock(id: Clockid) -> HostClock {
    // The boundary between the ABI's ids and `crate::clock`'s host clocks: grants and
    // readings are kept in host terms, and nothing past this point sees a wiggle type.
    match id {
        Clockid::Realtime => HostClock::Realtime,
        Clockid::Monotonic => HostClock::Monotonic,
        Clockid::ProcessCputimeId => HostClock::ProcessCpu,
        Clockid::ThreadCputimeId => HostClock::ThreadCpu,
    }
}

/// The granted host clock for `id`. Errors: ENOTCAPABLE.
pub(super) fn granted(ctx: &WasiCtx, id: Clockid) -> Result<HostClock, Errno> {
    let clock = host_clock(id);
    // `Clocks::now` does not check grants itself: every guest read (and every `poll_oneoff`
    // timer) comes through here first.
    if ctx.clocks.is_granted(clock) {
        Ok(clock)
    } else {
        Err(Errno::Notcapable)
    }
}

/// Mirrors `clock_getres`. Errors: ENOTCAPABLE (not granted); EINVAL (bad id, from the decoder).
pub(crate) fn clock_res_get(
    ctx: &mut WasiCtx,
    _mem: &mut GuestMemory<'_>,
    id: Clockid,
) -> Result<Timestamp, Error> {
    // The grant before the policy: an ungranted clock is ENOTCAPABLE whatever the rules say,
    // and no prompt ever asks about a call that cannot succeed.
    let clock = granted(ctx, id)?;
    let s = Syscall::ClockResGet;
    ctx.gate.check(s, || Request::new(s).clock(id))?;
    // Not a read: no virtual step is taken. In virtual time the answer is the step, the
    // smallest change two reads can show.
    Ok(ctx.clocks.resolution(clock))
}

/// Mirrors `clock_gettime`; `precision` is a hint and ignored (as wasmtime).
/// Errors: ENOTCAPABLE (not granted); EINVAL (bad id, from the decoder).
pub(crate) fn clock_time_get(
    ctx: &mut WasiCtx,
    _mem: &mut GuestMemory<'_>,
    id: Clockid,
    _precision: Timestamp,
) -> Result<Timestamp, Error> {
    let clock = granted(ctx, id)?;
    let s = Syscall::ClockTimeGet;
    ctx.gate.check(s, || Request::new(s).clock(id))?;
    // After the policy: in deterministic mode a read advances the virtual clock by a step,
    // and a refused read must not move time.
    Ok(ctx.clocks.now(clock))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ClockGrant;

    fn errno(r: Result<Timestamp, Error>) -> Errno {
        r.unwrap_err().downcast().unwrap()
    }

    // A valid id that was not granted: ENOTCAPABLE, never EINVAL (module docs).
    #[test]
    fn ungranted_clocks_are_not_capable() {
        let mut ctx = WasiCtx::builder().build();
        let mut raw = vec![];
        let mut mem = GuestMemory::Unshared(&mut raw);
        for id in [
            Clockid::Realtime,
            Clockid::Monotonic,
            Clockid::ProcessCputimeId,
            Clockid::ThreadCputimeId,
        ] {
            assert_eq!(
                errno(clock_time_get(&mut ctx, &mut mem, id, 0)),
                Errno::Notcapable
            );
            assert_eq!(
                errno(clock_res_get(&mut ctx, &mut mem, id)),
                Errno::Notcapable
            );
        }
    }

    #[test]
    fn granted_clocks_give_real_answers() {
        let mut ctx = WasiCtx::builder().clocks(ClockGrant::ALL).build();
        let mut raw = vec![];
        let mut mem = GuestMemory::Unshared(&mut raw);
        let real = clock_time_get(&mut ctx, &mut mem, Clockid::Realtime, 0).unwrap();
        assert!(real > 1_600_000_000 * 1_000_000_000);
        let m1 = clock_time_get(&mut ctx, &mut mem, Clockid::Monotonic, 0).unwrap();
        // Burn CPU until the thread's CPU clock visibly advances: it counts in the OS's
        // scheduler ticks (15.6 ms on Windows), so a fixed amount of work may not show. A
        // clock that never moves fails after 10 s.
        let start = std::time::Instant::now();
        let mut x = 0u64;
        let t = loop {
            for i in 0..2_000_000u64 {
                x = std::hint::black_box(x.wrapping_add(i));
            }
            let t = clock_time_get(&mut ctx, &mut mem, Clockid::ThreadCputimeId, 0).unwrap();
            if t > 0 || start.elapsed() > std::time::Duration::from_secs(10) {
                break t;
            }
        };
        let m2 = clock_time_get(&mut ctx, &mut mem, Clockid::Monotonic, 0).unwrap();
        assert!(m2 >= m1);
        let p = clock_time_get(&mut ctx, &mut mem, Clockid::ProcessCputimeId, 0).unwrap();
        // The process's CPU time includes this thread's.
        assert!(t > 0 && p >= t);
        for id in [Clockid::Realtime, Clockid::ThreadCputimeId] {
            assert!(clock_res_get(&mut ctx, &mut mem, id).unwrap() >= 1);
        }
    }

    #[test]
    fn grants_are_per_clock() {
        let grant = ClockGrant {
            monotonic: true,
            ..ClockGrant::NONE
        };
        let mut ctx = WasiCtx::builder().clocks(grant).build();
        let mut raw = vec![];
        let mut mem = GuestMemory::Unshared(&mut raw);
        assert!(clock_time_get(&mut ctx, &mut mem, Clockid::Monotonic, 0).is_ok());
        let r = clock_time_get(&mut ctx, &mut mem, Clockid::Realtime, 0);
        assert_eq!(errno(r), Errno::Notcapable);
    }
}
