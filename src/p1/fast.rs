//! Hand-written fast paths for the calls a guest makes in loops: `fd_write` to an output
//! stream, `clock_time_get`, `random_get` and `path_open`. Each works on the raw guest bytes,
//! without the generated decoder, and only for the common case: no audit sink and (but for
//! `fd_write`, which checks the policy itself) no policy rule wants the call, every argument
//! decodes, every pointer is in bounds and aligned, and nothing can fail half-way. Anything
//! else answers `None` *before any effect*, and the linker then runs the general path, which
//! gives the errno or the trap. The errors a fast path does give are those of the general
//! path's own functions: `fd_write`'s policy answer, `path_open`'s result once decoded. Either
//! way a fast path can only be faster, never different: the property tests below run random
//! calls through both and compare every byte.

use super::clock::host_clock;
use crate::abi::types::{Clockid, Errno, Fd, Fdflags, Lookupflags, Oflags, Rights};
use crate::ctx::WasiCtx;
use crate::limits::MAX_PATH_LEN;
use crate::limits::{MAX_TRANSFER, RANDOM_CHUNK};
use crate::policy::{Access, Syscall};
use crate::table::Kind;

/// Iovec arrays up to this many entries take the fast path; longer ones are rare and the
/// general path handles them as well.
const FAST_IOVS: u32 = 16;

/// `random_get` requests up to this many bytes take the fast path (one pool request).
const FAST_RANDOM: u32 = RANDOM_CHUNK as u32;

/// The little-endian u32 at `at`, if it is 4-aligned and in bounds.
#[inline]
fn word(mem: &[u8], at: u32) -> Option<u32> {
    if !at.is_multiple_of(4) {
        return None;
    }
    let at = at as usize;
    let bytes = mem.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes(bytes.try_into().ok()?))
}

/// Whether a `size`-byte, `size`-aligned slot fits at `at` in a memory of `mem_len` bytes.
#[inline]
fn slot_fits(mem_len: usize, at: u32, size: usize) -> bool {
    let at = at as usize;
    at.is_multiple_of(size) && at.checked_add(size).is_some_and(|end| end <= mem_len)
}

/// The `size`-byte, `size`-aligned slot at `at`, if in bounds.
#[inline]
fn slot(mem: &mut [u8], at: u32, size: usize) -> Option<&mut [u8]> {
    if !slot_fits(mem.len(), at, size) {
        return None;
    }
    let at = at as usize;
    mem.get_mut(at..at + size)
}

/// The buffer an iovec names, if in bounds.
#[inline]
fn buffer(mem: &[u8], ptr: u32, len: u32) -> Option<&[u8]> {
    let ptr = ptr as usize;
    mem.get(ptr..ptr.checked_add(len as usize)?)
}

/// `fd_write` of a few in-bounds buffers to an output stream whose sink cannot fail, within its
/// budget. A policy rule on `fd_write` is checked here, after every check of the general path
/// and with the same request, so its answer (an errno, or a trap) is final; an audit sink sends
/// the call down the general path, which records it. Otherwise answers success, or `None` for
/// the general path.
#[inline]
pub(crate) fn fd_write(
    ctx: &mut WasiCtx,
    mem: &mut [u8],
    fd: i32,
    iovs: i32,
    iovs_len: i32,
    nwritten: i32,
) -> Option<wasmtime::Result<i32>> {
    let s = Syscall::FdWrite;
    let check = ctx.gate.wants(s);
    if check && ctx.gate.handle().auditing() {
        return None;
    }
    let desc = ctx.table.get(fd as u32).ok()?;
    let Kind::Output(out) = &desc.kind else {
        return None;
    };
    let (iovs, count, nwritten) = (iovs as u32, iovs_len as u32, nwritten as u32);
    if !desc.base.contains(Rights::FD_WRITE) || count > FAST_IOVS {
        return None;
    }
    let entry = |i: u32| -> Option<(u32, u32)> {
        let at = iovs.checked_add(i * 8)?;
        Some((word(mem, at)?, word(mem, at.checked_add(4)?)?))
    };
    // Every entry and every used buffer in bounds, and the count's slot too, before any byte
    // moves: the general path traps on any of them, and so must decide.
    let mut total = 0u64;
    for i in 0..count {
        let (ptr, len) = entry(i)?;
        if len > 0 {
            buffer(mem, ptr, len)?;
            total += u64::from(len);
        }
    }
    if total > MAX_TRANSFER || !slot_fits(mem.len(), nwritten, 4) {
        return None;
    }
    if check {
        let kind = &desc.kind;
        let request = || super::request::io(s, Fd::from(fd as u32), kind, Access::WRITE, total);
        if let Err(error) = ctx.gate.check(s, request) {
            return Some(error.downcast().map(|errno| errno as i32));
        }
    }
    let buffers = (0..count).filter_map(|i| {
        let (ptr, len) = entry(i)?;
        if len == 0 {
            return None;
        }
        buffer(mem, ptr, len)
    });
    let written = if out.write_all_or_defer(total, buffers) {
        total
    } else if !check {
        // Nothing decided yet: the general path does it all.
        return None;
    } else {
        // The policy has answered (perhaps a person, at a prompt): finish as the general path
        // would — a budget crossed, a sink that can fail — without asking again.
        match super::fd_io::write_output_checked(out, mem, iovs, count) {
            Ok(n) => n,
            Err(error) => return Some(error.downcast().map(|errno| errno as i32)),
        }
    };
    // ≤ MAX_TRANSFER < 2^32, and the slot was checked before any effect.
    if let Some(slot) = slot(mem, nwritten, 4) {
        slot.copy_from_slice(&(written as u32).to_le_bytes());
    }
    Some(Ok(0))
}

/// `clock_time_get` of a granted clock into an aligned, in-bounds slot.
#[inline]
pub(crate) fn clock_time_get(
    ctx: &mut WasiCtx,
    mem: &mut [u8],
    id: i32,
    _precision: i64,
    out: i32,
) -> Option<i32> {
    if ctx.gate.wants(Syscall::ClockTimeGet) {
        return None;
    }
    let id = Clockid::try_from(id).ok()?;
    let clock = host_clock(id);
    if !ctx.clocks.is_granted(clock) {
        return None;
    }
    let slot = slot(mem, out as u32, 8)?;
    slot.copy_from_slice(&ctx.clocks.now(clock).to_le_bytes());
    Some(0)
}

/// `random_get` of a small in-bounds buffer from a granted source.
#[inline]
pub(crate) fn random_get(ctx: &mut WasiCtx, mem: &mut [u8], buf: i32, len: i32) -> Option<i32> {
    let (buf, len) = (buf as u32, len as u32);
    if len > FAST_RANDOM || !ctx.random.is_granted() || ctx.gate.wants(Syscall::RandomGet) {
        return None;
    }
    let start = buf as usize;
    let dest = mem.get_mut(start..start.checked_add(len as usize)?)?;
    if ctx.random.fill(dest) {
        Some(0)
    } else {
        Some(Errno::Io as i32)
    }
}

/// `path_open` with decodable flags and an in-bounds UTF-8 path and result slot: decoded
/// here, then opened by the general path's own function, whose answer is final (an errno, or
/// a trap — none is expected without a policy — passed on rather than retried, since the open
/// may have had effects).
#[allow(clippy::too_many_arguments)]
#[inline]
pub(crate) fn path_open(
    ctx: &mut WasiCtx,
    mem: &mut [u8],
    fd: i32,
    dirflags: i32,
    path: i32,
    path_len: i32,
    oflags: i32,
    base: i64,
    inheriting: i64,
    fdflags: i32,
    opened: i32,
) -> Option<wasmtime::Result<i32>> {
    if ctx.gate.wants(Syscall::PathOpen) {
        return None;
    }
    let dirflags = Lookupflags::try_from(dirflags).ok()?;
    let oflags = Oflags::try_from(oflags).ok()?;
    let base = Rights::try_from(base).ok()?;
    let inheriting = Rights::try_from(inheriting).ok()?;
    let fdflags = Fdflags::try_from(fdflags).ok()?;
    let (path, path_len, opened) = (path as u32, path_len as u32, opened as u32);
    if path_len as usize > MAX_PATH_LEN as usize || !slot_fits(mem.len(), opened, 4) {
        return None;
    }
    let path = std::str::from_utf8(buffer(mem, path, path_len)?).ok()?;
    let result = super::path_open::open_path(
        ctx,
        Fd::from(fd as u32),
        dirflags,
        path,
        oflags,
        base,
        inheriting,
        fdflags,
    );
    match result {
        Ok(new) => {
            // Checked above: the open must not be retried by the general path.
            if let Some(slot) = slot(mem, opened, 4) {
                slot.copy_from_slice(&u32::from(new).to_le_bytes());
            }
            Some(Ok(0))
        }
        Err(error) => Some(error.downcast().map(|errno| errno as i32)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ClockGrant;
    use crate::stdio::Output;

    /// A context writing to `out`, and a memory whose iovec at 0 names the 5 bytes at 64.
    fn setup(out: impl Into<Output>) -> (WasiCtx, Vec<u8>) {
        let ctx = WasiCtx::builder().stdout(out).build();
        let mut mem = vec![0u8; 128];
        mem[0..4].copy_from_slice(&64u32.to_le_bytes());
        mem[4..8].copy_from_slice(&5u32.to_le_bytes());
        mem[64..69].copy_from_slice(b"hello");
        (ctx, mem)
    }

    #[test]
    fn fd_write_writes_and_counts() {
        let out = Output::capture().build();
        let (mut ctx, mut mem) = setup(out.clone());
        assert_eq!(
            fd_write(&mut ctx, &mut mem, 1, 0, 1, 16).unwrap().unwrap(),
            0
        );
        assert_eq!(out.contents(), b"hello");
        assert_eq!(out.written(), 5);
        assert_eq!(&mem[16..20], &5u32.to_le_bytes());
    }

    #[test]
    fn fd_write_defers_everything_it_does_not_finish_and_leaves_no_trace() {
        let out = Output::capture().limit(4).build();
        let (mut ctx, mut mem) = setup(out.clone());
        let before = mem.clone();
        let cases: [(i32, i32, i32, i32); 9] = [
            (1, 0, 1, 16),   // over the budget: the general path writes 4 and stops the guest
            (0, 0, 1, 16),   // stdin
            (9, 0, 1, 16),   // no such fd
            (1, 2, 1, 16),   // misaligned array
            (1, 124, 2, 16), // array past the end
            (1, 0, 1, 126),  // count slot past the end
            (1, 0, 1, 17),   // misaligned count slot
            (1, 0, 17, 16),  // more entries than the fast path takes
            (1, -8, 1, 16),  // array at 4 GiB − 8
        ];
        for (fd, iovs, n, nwritten) in cases {
            assert!(fd_write(&mut ctx, &mut mem, fd, iovs, n, nwritten).is_none());
        }
        mem[4..8].copy_from_slice(&100u32.to_le_bytes()); // buffer past the end
        assert!(fd_write(&mut ctx, &mut mem, 1, 0, 1, 16).is_none());
        mem[4..8].copy_from_slice(&5u32.to_le_bytes());
        assert_eq!(mem, before);
        assert_eq!(out.written(), 0);
        assert!(out.contents().is_empty());
    }

    #[test]
    fn empty_buffers_are_skipped_unread() {
        let out = Output::capture().build();
        let (mut ctx, mut mem) = setup(out.clone());
        // A second, empty iovec with a wild pointer.
        mem[8..12].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(
            fd_write(&mut ctx, &mut mem, 1, 0, 2, 16).unwrap().unwrap(),
            0
        );
        assert_eq!(out.contents(), b"hello");
    }

    #[test]
    fn clock_and_random_take_only_granted_aligned_requests() {
        let mut mem = vec![0u8; 64];
        let mut none = WasiCtx::builder().build();
        assert_eq!(clock_time_get(&mut none, &mut mem, 1, 0, 8), None);
        assert_eq!(random_get(&mut none, &mut mem, 0, 16), None);
        let mut ctx = WasiCtx::builder()
            .clocks(ClockGrant::ALL)
            .seeded_random(1)
            .build();
        assert_eq!(clock_time_get(&mut ctx, &mut mem, 1, 0, 4), None); // misaligned
        assert_eq!(clock_time_get(&mut ctx, &mut mem, 1, 0, 64), None); // past the end
        assert_eq!(clock_time_get(&mut ctx, &mut mem, 7, 0, 8), None); // no such clock
        assert_eq!(random_get(&mut ctx, &mut mem, 60, 8), None); // past the end
        assert_eq!(mem, vec![0u8; 64]);
        assert_eq!(clock_time_get(&mut ctx, &mut mem, 0, 0, 8), Some(0));
        let realtime = u64::from_le_bytes(mem[8..16].try_into().unwrap());
        assert!(realtime > 1_600_000_000 * 1_000_000_000);
        assert_eq!(random_get(&mut ctx, &mut mem, 32, 16), Some(0));
        assert!(mem[32..48].iter().any(|&b| b != 0));
    }

    /// What a call did: its errno (`None`: a trap), the guest memory after it, what the
    /// stream received.
    type Effect = (Option<i32>, Vec<u8>, Vec<u8>);

    /// One call of `name` with `args` on a fresh context and a copy of `mem`, through the
    /// fast path (`fast: true`, `None` if it declined) or the general path.
    fn call(name: &str, args: [i32; 4], mem: &[u8], limit: u64, fast: bool) -> Option<Effect> {
        use crate::abi::wasi_snapshot_preview1 as general;
        let out = Output::capture().limit(limit).build();
        let mut ctx = WasiCtx::builder()
            .stdout(out.clone())
            .clocks(ClockGrant::ALL)
            .deterministic(3)
            .build();
        let mut bytes = mem.to_vec();
        let [a, b, c, d] = args;
        let errno = if fast {
            match name {
                "fd_write" => fd_write(&mut ctx, &mut bytes, a, b, c, d)?.ok()?,
                "clock_time_get" => clock_time_get(&mut ctx, &mut bytes, a, i64::from(b), c)?,
                _ => random_get(&mut ctx, &mut bytes, a, b)?,
            }
            .into()
        } else {
            let mut memory = wiggle::GuestMemory::Unshared(&mut bytes);
            let result = match name {
                "fd_write" => general::fd_write(&mut ctx, &mut memory, a, b, c, d),
                "clock_time_get" => {
                    general::clock_time_get(&mut ctx, &mut memory, a, i64::from(b), c)
                }
                _ => general::random_get(&mut ctx, &mut memory, a, b),
            };
            result.ok()
        };
        Some((errno, bytes, out.contents()))
    }

    /// Whenever a fast path answers, the general path gives the same errno and leaves the same
    /// memory and output behind. Arguments are mostly small (near the 96-byte memory's edges)
    /// and sometimes wild; the iovecs hold small lengths so that some fit.
    #[test]
    fn a_fast_path_that_answers_agrees_with_the_general_path() {
        use proptest::prelude::*;
        use proptest::test_runner::{Config, TestRunner};
        let arg = || prop_oneof![3 => 0i32..100, 1 => any::<i32>()];
        let strategy = (
            0usize..3,
            0i32..5,
            [arg(), arg(), arg()],
            proptest::collection::vec(any::<u8>(), 96),
            0u64..64,
        );
        let answered = std::cell::Cell::new(0);
        let mut runner = TestRunner::new(Config::with_cases(3000));
        runner
            .run(&strategy, |(which, fd_or_id, [b, c, d], mut mem, limit)| {
                let name = ["fd_write", "clock_time_get", "random_get"][which];
                for entry in mem[..32].chunks_mut(8) {
                    entry[1..4].fill(0);
                    entry[4] %= 24;
                    entry[5..8].fill(0);
                }
                let args = [fd_or_id, b, c % 20, d];
                if let Some(fast) = call(name, args, &mem, limit, true) {
                    answered.set(answered.get() + 1);
                    // Virtual clocks and seeded randomness: both calls read the same values.
                    let general = call(name, args, &mem, limit, false).unwrap();
                    prop_assert_eq!(fast, general);
                }
                Ok(())
            })
            .unwrap();
        // The comparison must have happened often enough to mean something.
        assert!(answered.get() > 300, "only {} answered", answered.get());
    }

    /// One `path_open` on a fresh in-memory root holding file `a` and directory `d`, through
    /// the fast path (`None` if it declined) or the general path: its errno (`None`: a trap),
    /// the guest memory, the descriptors left open and the tree afterwards.
    fn open(args: [i64; 9], mem: &[u8], fast: bool) -> Option<(Option<i32>, Vec<u8>, u32, String)> {
        use crate::abi::wasi_snapshot_preview1 as general;
        use crate::vfs::{MemFs, OpenOptions};
        let fs = MemFs::new();
        let create = OpenOptions {
            create: true,
            write: true,
            ..OpenOptions::default()
        };
        fs.root().open_file("a", create).unwrap();
        fs.root().create_dir("d").unwrap();
        let mut ctx = WasiCtx::builder().mount("/", fs.clone()).build();
        let mut bytes = mem.to_vec();
        let [
            fd,
            dirflags,
            path,
            len,
            oflags,
            base,
            inheriting,
            fdflags,
            out,
        ] = args;
        let narrow = |v: i64| v as i32;
        let errno = if fast {
            let answer = path_open(
                &mut ctx,
                &mut bytes,
                narrow(fd),
                narrow(dirflags),
                narrow(path),
                narrow(len),
                narrow(oflags),
                base,
                inheriting,
                narrow(fdflags),
                narrow(out),
            )?;
            answer.ok()
        } else {
            let mut memory = wiggle::GuestMemory::Unshared(&mut bytes);
            general::path_open(
                &mut ctx,
                &mut memory,
                narrow(fd),
                narrow(dirflags),
                narrow(path),
                narrow(len),
                narrow(oflags),
                base,
                inheriting,
                narrow(fdflags),
                narrow(out),
            )
            .ok()
        };
        let tree = format!("{:?}", fs.snapshot());
        Some((errno, bytes, ctx.open_fds(), tree))
    }

    /// `path_open` through the fast path agrees with the general path: same errno, memory,
    /// descriptors and tree, over paths that exist, do not, escape or end in `/`, and random
    /// flags and rights.
    #[test]
    fn a_fast_path_open_agrees_with_the_general_path() {
        use proptest::prelude::*;
        use proptest::test_runner::{Config, TestRunner};
        const PATHS: [&str; 10] = [
            "a", "d", "d/", "nope", "../x", "a/b", "", ".", "d/../a", "d/new",
        ];
        let flags =
            |bits: u32| prop_oneof![4 => 0i64..(1 << bits), 1 => any::<i32>().prop_map(i64::from)];
        let all = Rights::all().bits() as i64;
        let rights = move || {
            prop_oneof![
                2 => Just(all),
                4 => any::<i64>().prop_map(move |r| r & all),
                1 => any::<i64>(),
            ]
        };
        let strategy = (
            prop_oneof![4 => Just(3i64), 1 => 0i64..6],
            flags(1),
            0usize..PATHS.len(),
            flags(4),
            rights(),
            rights(),
            flags(5),
            prop_oneof![3 => Just(0i64), 1 => 0i64..70],
        );
        let answered = std::cell::Cell::new(0);
        let mut runner = TestRunner::new(Config::with_cases(3000));
        runner
            .run(
                &strategy,
                |(fd, dirflags, which, oflags, base, inheriting, fdflags, out)| {
                    let mut mem = vec![0u8; 64];
                    let path = PATHS[which];
                    mem[16..16 + path.len()].copy_from_slice(path.as_bytes());
                    let args = [
                        fd,
                        dirflags,
                        16,
                        path.len() as i64,
                        oflags,
                        base,
                        inheriting,
                        fdflags,
                        out,
                    ];
                    if let Some(fast) = open(args, &mem, true) {
                        answered.set(answered.get() + 1);
                        let general = open(args, &mem, false).unwrap();
                        prop_assert_eq!(fast, general);
                    }
                    Ok(())
                },
            )
            .unwrap();
        assert!(answered.get() > 500, "only {} answered", answered.get());
    }

    /// `fd_write` under a policy with a rule on it: the fast path checks it itself. Whatever
    /// the rule says and whether or not the write fits the stream's budget, the fast path's
    /// answer, memory and output match the general path's, and a prompt is asked once.
    #[test]
    fn fd_write_under_a_policy_agrees_and_asks_once() {
        use crate::policy::{Decision, PathPattern, PolicyTable, Rule};
        use crate::stdio::LimitAction;
        use std::sync::Arc;
        use std::sync::atomic::{AtomicUsize, Ordering};
        let asked = Arc::new(AtomicUsize::new(0));
        type Table = fn() -> PolicyTable;
        let rules: [(&str, Table); 4] = [
            ("deny", || {
                PolicyTable::allow_all()
                    .rule(Rule::new(Decision::deny()).syscalls(Syscall::FdWrite))
            }),
            ("never matches", || {
                PolicyTable::allow_all().rule(
                    Rule::new(Decision::deny())
                        .syscalls(Syscall::FdWrite)
                        .path(PathPattern::subtree("/nowhere")),
                )
            }),
            ("trap", || {
                PolicyTable::allow_all()
                    .rule(Rule::new(Decision::trap("no output")).syscalls(Syscall::FdWrite))
            }),
            ("ask", || {
                PolicyTable::allow_all().rule(Rule::new(Decision::Ask).syscalls(Syscall::FdWrite))
            }),
        ];
        for (what, table) in rules {
            for (limit, action) in [
                (None, LimitAction::Trap),
                (Some(3), LimitAction::Trap),
                (Some(3), LimitAction::Truncate),
                (Some(0), LimitAction::Truncate),
            ] {
                let run = |fast: bool| {
                    let out = match limit {
                        Some(n) => Output::capture().limit(n).on_limit(action).build(),
                        None => Output::capture().build(),
                    };
                    let asked = Arc::clone(&asked);
                    let prompter = move |_: &crate::policy::Prompt| {
                        asked.fetch_add(1, Ordering::SeqCst);
                        crate::policy::Answer::AllowOnce
                    };
                    let mut ctx = WasiCtx::builder()
                        .stdout(out.clone())
                        .policy(table())
                        .prompter(prompter)
                        .build();
                    let (_, mut mem) = setup(Output::null());
                    let errno = if fast {
                        fd_write(&mut ctx, &mut mem, 1, 0, 1, 16)
                            .expect("the fast path answers")
                            .ok()
                    } else {
                        let mut memory = wiggle::GuestMemory::Unshared(&mut mem);
                        crate::abi::wasi_snapshot_preview1::fd_write(
                            &mut ctx,
                            &mut memory,
                            1,
                            0,
                            1,
                            16,
                        )
                        .ok()
                    };
                    (errno, mem, out.contents())
                };
                asked.store(0, Ordering::SeqCst);
                let fast = run(true);
                let asked_fast = asked.swap(0, Ordering::SeqCst);
                let general = run(false);
                let asked_general = asked.load(Ordering::SeqCst);
                assert_eq!(fast, general, "{what}, limit {limit:?} {action:?}");
                assert_eq!(asked_fast, asked_general, "{what}: prompts");
                assert!(asked_fast <= 1, "{what}: asked {asked_fast} times");
            }
        }
    }
}
