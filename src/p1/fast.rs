//! Our own decoders for the calls a guest makes in loops: `fd_write`, `clock_time_get`,
//! `random_get` and `path_open`. Each reads its raw arguments, and when they decode (valid
//! flags and enum values, the result's slot aligned and in bounds) runs the *same* routed
//! function the general path runs (`WasiSnapshotPreview1`, i.e. the policy gate and the
//! syscall's body), then writes the result itself. Nothing here checks a right, a budget or a
//! policy: a check added to a syscall body holds for both ways in. Anything that does not
//! decode answers `None` before any effect, and wiggle's decoder then gives the errno or trap.
//! What is saved is wiggle's generic glue; the speed of the common case lives in the shared
//! pieces (`IoVecs` on unshared memory, `Output::write`, the gate's one-load checks).

use crate::abi::types::{Clockid, Error, Fd, Fdflags, Lookupflags, Oflags, Rights};
use crate::abi::wasi_snapshot_preview1::WasiSnapshotPreview1;
use crate::ctx::WasiCtx;
use wiggle::{GuestMemory, GuestPtr};

/// Whether a `size`-byte, `size`-aligned slot fits at `at` in a memory of `mem_len` bytes.
#[inline]
fn slot_fits(mem_len: usize, at: u32, size: usize) -> bool {
    // Decided before the call runs, never after: declining once the body had acted would make
    // wiggle's decoder run it a second time. Misaligned slots are declined because wiggle traps
    // on them (`PtrNotAligned`) when it stores the result.
    let at = at as usize;
    // `checked_add` cannot fail on a 64-bit host; on a 32-bit one it keeps the sum from wrapping.
    at.is_multiple_of(size) && at.checked_add(size).is_some_and(|end| end <= mem_len)
}

/// Writes `bytes` to the slot at `at`, checked by `slot_fits` before the call ran.
#[inline]
fn put(mem: &mut [u8], at: u32, bytes: &[u8]) {
    let at = at as usize;
    // `mem` is the slice `slot_fits` measured, and no host call can resize it while borrowed,
    // so this always finds the slot; `get_mut` keeps even a broken invariant from panicking.
    if let Some(slot) = mem.get_mut(at..at + bytes.len()) {
        slot.copy_from_slice(bytes);
    }
}

/// The linker's answer for a routed call's result: success (after `write` stored the value),
/// an errno, or a trap — as wiggle's glue answers.
#[inline]
fn answer<T>(result: Result<T, Error>, write: impl FnOnce(T)) -> wiggle::error::Result<i32> {
    match result {
        Ok(value) => {
            write(value);
            Ok(0)
        }
        // An errno is the import's return value; anything else is a trap and propagates. No
        // `errno::decoded` here: the decoder errors it maps to EINVAL are exactly what the fast
        // decoders decline, and the body's own guest errors are already errnos or traps.
        Err(error) => error.downcast().map(|errno| errno as i32),
    }
}

/// `fd_write(fd, iovs, iovs_len, nwritten)`: every argument decodes; only a `nwritten` slot
/// out of bounds or misaligned is left to wiggle (which traps).
#[inline]
pub(crate) fn fd_write(
    ctx: &mut WasiCtx,
    mem: &mut [u8],
    fd: i32,
    iovs: i32,
    iovs_len: i32,
    nwritten: i32,
) -> Option<wiggle::error::Result<i32>> {
    // Raw i32s are reinterpreted bit for bit, as wiggle does: a negative fd is a large one,
    // which the table answers with EBADF; the iovec pair needs no decoding, since the body
    // checks the whole array and every buffer (`IoVecs::check`) before moving a byte.
    let nwritten = nwritten as u32;
    if !slot_fits(mem.len(), nwritten, 4) {
        return None;
    }
    let iovs = GuestPtr::new((iovs as u32, iovs_len as u32));
    let result = ctx.fd_write(&mut GuestMemory::Unshared(mem), Fd::from(fd as u32), iovs);
    Some(answer(result, |n| put(mem, nwritten, &n.to_le_bytes())))
}

/// `clock_time_get(id, precision, time)`: a known clock id and an 8-aligned, in-bounds slot.
#[inline]
pub(crate) fn clock_time_get(
    ctx: &mut WasiCtx,
    mem: &mut [u8],
    id: i32,
    precision: i64,
    time: i32,
) -> Option<wiggle::error::Result<i32>> {
    // An unknown id is wiggle's to answer (EINVAL, through `errno::decoded`).
    let id = Clockid::try_from(id).ok()?;
    let time = time as u32;
    if !slot_fits(mem.len(), time, 8) {
        return None;
    }
    // `precision` is reinterpreted as wiggle does; the body ignores it anyway.
    let result = ctx.clock_time_get(&mut GuestMemory::Unshared(mem), id, precision as u64);
    Some(answer(result, |t| put(mem, time, &t.to_le_bytes())))
}

/// `random_get(buf, buf_len)`: always decodes (the body checks the buffer's bounds).
#[inline]
pub(crate) fn random_get(
    ctx: &mut WasiCtx,
    mem: &mut [u8],
    buf: i32,
    buf_len: i32,
) -> Option<wiggle::error::Result<i32>> {
    // No result slot and nothing to decode: the body bounds-checks the buffer and traps, as it
    // does under wiggle.
    let buf = GuestPtr::new(buf as u32);
    let result = ctx.random_get(&mut GuestMemory::Unshared(mem), buf, buf_len as u32);
    Some(answer(result, |()| {}))
}

/// `path_open`: valid lookup flags, oflags, rights and fdflags, and a 4-aligned, in-bounds
/// slot for the new fd.
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
) -> Option<wiggle::error::Result<i32>> {
    // Every flag word is decoded before anything runs: one unknown bit in any of them is
    // wiggle's EINVAL. The path itself is the body's to read (`guest::read_path`), with the
    // same bounds check, length cap and UTF-8 rule either way.
    let dirflags = Lookupflags::try_from(dirflags).ok()?;
    let oflags = Oflags::try_from(oflags).ok()?;
    let base = Rights::try_from(base).ok()?;
    let inheriting = Rights::try_from(inheriting).ok()?;
    let fdflags = Fdflags::try_from(fdflags).ok()?;
    let opened = opened as u32;
    if !slot_fits(mem.len(), opened, 4) {
        return None;
    }
    let path = GuestPtr::new((path as u32, path_len as u32));
    let result = ctx.path_open(
        &mut GuestMemory::Unshared(mem),
        Fd::from(fd as u32),
        dirflags,
        path,
        oflags,
        base,
        inheriting,
        fdflags,
    );
    Some(answer(result, |new| {
        // Stored on success only; an errno leaves the slot as it was, as wiggle leaves it.
        put(mem, opened, &u32::from(new).to_le_bytes())
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ClockGrant;
    use crate::policy::Syscall;
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
    fn the_decoders_decline_only_what_they_cannot_decode_and_before_any_effect() {
        let out = Output::capture().build();
        let (mut ctx, mut mem) = setup(out.clone());
        let before = mem.clone();
        // Result slots out of bounds or misaligned: wiggle's decoder traps on them.
        assert!(fd_write(&mut ctx, &mut mem, 1, 0, 1, 126).is_none());
        assert!(fd_write(&mut ctx, &mut mem, 1, 0, 1, 17).is_none());
        assert!(clock_time_get(&mut ctx, &mut mem, 1, 0, 4).is_none());
        assert!(clock_time_get(&mut ctx, &mut mem, 1, 0, 124).is_none());
        // An unknown clock or flag bit: wiggle's decoder answers EINVAL.
        assert!(clock_time_get(&mut ctx, &mut mem, 7, 0, 8).is_none());
        let open = |ctx: &mut WasiCtx, mem: &mut [u8], oflags: i32, fdflags: i32| {
            path_open(ctx, mem, 3, 0, 64, 1, oflags, 0, 0, fdflags, 16)
        };
        assert!(open(&mut ctx, &mut mem, 1 << 4, 0).is_none());
        assert!(open(&mut ctx, &mut mem, 0, 1 << 5).is_none());
        assert_eq!(mem, before);
        assert!(out.contents().is_empty());
        // Anything else is the routed call's to answer: stdin is EBADF, as everywhere.
        let badf = crate::abi::types::Errno::Badf as i32;
        assert_eq!(
            fd_write(&mut ctx, &mut mem, 0, 0, 1, 16).unwrap().unwrap(),
            badf
        );
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
    fn clock_and_random_answer_as_their_bodies() {
        let mut mem = vec![0u8; 64];
        let notcapable = crate::abi::types::Errno::Notcapable as i32;
        let mut none = WasiCtx::builder().build();
        let errno = |r: Option<wiggle::error::Result<i32>>| r.unwrap().unwrap();
        assert_eq!(
            errno(clock_time_get(&mut none, &mut mem, 1, 0, 8)),
            notcapable
        );
        assert_eq!(errno(random_get(&mut none, &mut mem, 0, 16)), notcapable);
        let mut ctx = WasiCtx::builder()
            .clocks(ClockGrant::ALL)
            .seeded_random(1)
            .build();
        // A buffer past the end traps, as the body says.
        assert!(random_get(&mut ctx, &mut mem, 60, 8).unwrap().is_err());
        assert_eq!(mem, vec![0u8; 64]);
        assert_eq!(errno(clock_time_get(&mut ctx, &mut mem, 0, 0, 8)), 0);
        let realtime = u64::from_le_bytes(mem[8..16].try_into().unwrap());
        assert!(realtime > 1_600_000_000 * 1_000_000_000);
        assert_eq!(errno(random_get(&mut ctx, &mut mem, 32, 16)), 0);
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
                "fd_write" => fd_write(&mut ctx, &mut bytes, a, b, c, d)?,
                "clock_time_get" => clock_time_get(&mut ctx, &mut bytes, a, i64::from(b), c)?,
                _ => random_get(&mut ctx, &mut bytes, a, b)?,
            }
            .ok()
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

    /// Where the `path_open` agreement runs: a `MemFs`, the same read-only, a host directory,
    /// and a `MemFs` under a policy (a rule denying writes below `/d`, one asking about `a`).
    const SETTINGS: [&str; 4] = ["mem", "read-only", "host", "policy"];

    /// One `path_open` on a fresh root holding file `a` and directory `d` (`setting` says
    /// which), through the fast path (`None` if it declined) or the general path: its errno
    /// (`None`: a trap), the guest memory, the descriptors left open and the tree afterwards.
    fn open(
        setting: &str,
        args: [i64; 9],
        mem: &[u8],
        fast: bool,
    ) -> Option<(Option<i32>, Vec<u8>, u32, String)> {
        use crate::abi::wasi_snapshot_preview1 as general;
        use crate::policy::{Access, Decision, PathPattern, PolicyTable, Rule};
        use crate::vfs::{MemFs, OpenOptions};
        let fs = MemFs::new();
        let create = OpenOptions {
            create: true,
            write: true,
            ..OpenOptions::default()
        };
        fs.root().open_file("a", create).unwrap();
        fs.root().create_dir("d").unwrap();
        let host = tempfile::tempdir().unwrap();
        std::fs::write(host.path().join("a"), b"").unwrap();
        std::fs::create_dir(host.path().join("d")).unwrap();
        let builder = WasiCtx::builder();
        let mut ctx = match setting {
            "read-only" => builder.mount("/", crate::vfs::Mount::read_only(fs.clone())),
            "host" => builder.mount("/", crate::vfs::HostDir::open(host.path()).unwrap()),
            "policy" => builder.mount("/", fs.clone()).policy(
                PolicyTable::allow_all()
                    .rule(
                        Rule::new(Decision::deny())
                            .access(Access::WRITE | Access::CREATE)
                            .path(PathPattern::subtree("/d")),
                    )
                    .rule(Rule::new(Decision::Ask).path(PathPattern::exact("/a")))
                    .rule(Rule::new(Decision::trap("no")).path(PathPattern::exact("/nope"))),
            ),
            _ => builder.mount("/", fs.clone()),
        }
        .prompter(|p: &crate::policy::Prompt| {
            if p.access.contains(Access::WRITE) {
                crate::policy::Answer::DenyOnce
            } else {
                crate::policy::Answer::AllowOnce
            }
        })
        .build();
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
        let tree = match setting {
            "host" => format!("{:?}", std::fs::read_dir(host.path()).unwrap().count()),
            _ => format!("{:?}", fs.snapshot()),
        };
        Some((errno, bytes, ctx.open_fds(), tree))
    }

    // The trees are compared too: a fast open that created or truncated what the general path
    // would have refused (a read-only mount, a deny rule) shows up there.
    /// `path_open` through the fast decoder agrees with wiggle's: same errno, memory,
    /// descriptors and tree, on every setting (read-only, host, policies with deny, ask and
    /// trap rules), over paths that exist, do not, escape or end in `/`, and random flags and
    /// rights.
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
            0usize..SETTINGS.len(),
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
                |(setting, fd, dirflags, which, oflags, base, inheriting, fdflags, out)| {
                    let setting = SETTINGS[setting];
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
                    if let Some(fast) = open(setting, args, &mem, true) {
                        answered.set(answered.get() + 1);
                        let general = open(setting, args, &mem, false).unwrap();
                        prop_assert_eq!(fast, general, "{}", setting);
                    }
                    Ok(())
                },
            )
            .unwrap();
        assert!(answered.get() > 500, "only {} answered", answered.get());
    }

    /// `fd_write` under a policy with a rule on it: whatever the rule says and whether or not
    /// the write fits the stream's budget, the fast decoder's answer, memory and output match
    /// the general path's, and a prompt is asked once.
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
                            .expect("the fast decoder answers")
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
