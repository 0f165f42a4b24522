//! proptest strategies for plans: the same `Op`s the fuzzer decodes, weighted so that most
//! calls name live descriptors and mostly-valid paths (and so reach deep states), while the
//! rest probe the error paths. Shrinking works on the op list and inside each op.

use super::ops::{FDS, Op, Path, RightsSel, TARGETS, TimeSel, Whence};
use proptest::collection::vec;
use proptest::prelude::*;

/// One component: mostly names (so plans get past the resolver), sometimes `.` and `..`.
fn component() -> impl Strategy<Value = u8> {
    // Indexes into COMPONENTS: a, b, s, ., ..
    prop_oneof![4 => Just(0u8), 4 => Just(1u8), 2 => Just(2u8), 1 => Just(3u8), 1 => Just(4u8)]
}

/// A path of 1–3 components (rarely none); rarely absolute, sometimes with a trailing slash.
pub fn path() -> impl Strategy<Value = Path> {
    (
        prop_oneof![12 => vec(component(), 1..=3), 1 => Just(Vec::new())],
        prop::bool::weighted(0.03),
        prop::bool::weighted(0.15),
    )
        .prop_map(|(comps, leading, trailing)| Path {
            comps,
            leading,
            trailing,
        })
}

/// An fd slot for fd operations: mostly the first descriptors a plan opens (4–6).
pub fn fd() -> impl Strategy<Value = u8> {
    prop_oneof![
        8 => 1..4u8,
        1 => 0..FDS.len() as u8,
    ]
}

/// An fd slot for path operations: mostly the preopen.
fn dir_fd() -> impl Strategy<Value = u8> {
    prop_oneof![10 => Just(0u8), 2 => 1..4u8, 1 => 0..FDS.len() as u8]
}

/// An fd slot to close or renumber: rarely the preopen (that ends most plans early).
fn close_fd() -> impl Strategy<Value = u8> {
    prop_oneof![12 => 1..5u8, 1 => 0..FDS.len() as u8]
}

fn data() -> impl Strategy<Value = Vec<u8>> {
    vec(any::<u8>(), 0..10)
}

fn time() -> impl Strategy<Value = TimeSel> {
    prop_oneof![
        3 => Just(TimeSel::Keep),
        1 => Just(TimeSel::Now),
        2 => (1u32..2_000_000).prop_map(TimeSel::At),
        1 => Just(TimeSel::Both),
    ]
}

fn rights() -> impl Strategy<Value = RightsSel> {
    prop_oneof![
        5 => Just(RightsSel::All),
        1 => Just(RightsSel::Read),
        1 => Just(RightsSel::Write),
        1 => Just(RightsSel::ReadWrite),
        1 => Just(RightsSel::None),
        3 => Just(RightsSel::Dir),
    ]
}

fn open() -> impl Strategy<Value = Op> {
    (
        dir_fd(),
        prop::bool::weighted(0.8),
        path(),
        prop_oneof![4 => Just(1u8), 3 => Just(0u8), 1 => Just(2u8), 2 => 0..16u8],
        rights(),
        prop_oneof![4 => Just(0u8), 1 => Just(1u8), 1 => 0..8u8],
    )
        .prop_map(|(dir, follow, path, oflags, rights, fdflags)| Op::Open {
            dir,
            follow,
            path,
            oflags,
            rights,
            fdflags,
        })
}

fn whence() -> impl Strategy<Value = Whence> {
    prop_oneof![
        3 => Just(Whence::Set),
        3 => Just(Whence::Cur),
        3 => Just(Whence::End),
        1 => Just(Whence::Bad),
    ]
}

/// One op.
pub fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        8 => open(),
        3 => (fd(), 0..16u8).prop_map(|(fd, len)| Op::Read { fd, len }),
        3 => (fd(), data()).prop_map(|(fd, data)| Op::Write { fd, data }),
        1 => (fd(), 0..16u8, 0..40u16).prop_map(|(fd, len, offset)| Op::Pread { fd, len, offset }),
        1 => (fd(), data(), 0..40u16).prop_map(|(fd, data, offset)| Op::Pwrite { fd, data, offset }),
        2 => (fd(), -20..20i16, whence()).prop_map(|(fd, offset, whence)| Op::Seek { fd, offset, whence }),
        1 => fd().prop_map(|fd| Op::Tell { fd }),
        1 => (fd(), 0..40u16).prop_map(|(fd, size)| Op::SetSize { fd, size }),
        1 => (fd(), any::<bool>()).prop_map(|(fd, append)| Op::SetAppend { fd, append }),
        1 => fd().prop_map(|fd| Op::FdStat { fd }),
        1 => (fd(), time(), time()).prop_map(|(fd, atim, mtim)| Op::FdSetTimes { fd, atim, mtim }),
        3 => (dir_fd(), any::<bool>(), path()).prop_map(|(dir, follow, path)| Op::Stat { dir, follow, path }),
        1 => (dir_fd(), any::<bool>(), path(), time(), time()).prop_map(
            |(dir, follow, path, atim, mtim)| Op::SetTimes { dir, follow, path, atim, mtim }
        ),
        3 => (dir_fd(), path()).prop_map(|(dir, path)| Op::Mkdir { dir, path }),
        2 => (dir_fd(), path()).prop_map(|(dir, path)| Op::Rmdir { dir, path }),
        2 => (dir_fd(), path()).prop_map(|(dir, path)| Op::Unlink { dir, path }),
        // Windows host mounts refuse guest-made symlinks (RATIONALE.md): no plan makes one
        // there; a stat of the same name takes its place.
        2 => (0..TARGETS.len() as u8, dir_fd(), path()).prop_map(|(target, dir, path)| {
            if cfg!(unix) {
                Op::Symlink { target, dir, path }
            } else {
                Op::Stat { dir, follow: false, path }
            }
        }),
        1 => (dir_fd(), path(), 0..8u8).prop_map(|(dir, path, cap)| Op::Readlink { dir, path, cap }),
        2 => (dir_fd(), prop::bool::weighted(0.1), path(), dir_fd(), path()).prop_map(
            |(dir, follow, old, new_dir, new)| Op::Link { dir, follow, old, new_dir, new }
        ),
        3 => (dir_fd(), path(), dir_fd(), path())
            .prop_map(|(dir, old, new_dir, new)| Op::Rename { dir, old, new_dir, new }),
        2 => (fd(), prop_oneof![Just(24u16), 24..120u16, Just(4096u16)])
            .prop_map(|(fd, buf)| Op::Readdir { fd, buf }),
        1 => (close_fd(), close_fd()).prop_map(|(from, to)| Op::Renumber { from, to }),
        1 => close_fd().prop_map(|fd| Op::Close { fd }),
    ]
}

/// An open that usually succeeds: one name below the preopen, created if missing, as a file
/// or (with directory rights) a directory.
fn likely_open() -> impl Strategy<Value = Op> {
    (
        component(),
        prop_oneof![3 => Just(1u8), 2 => Just(0u8), 1 => Just(2u8)],
        prop_oneof![3 => Just(RightsSel::All), 2 => Just(RightsSel::Dir)],
        prop_oneof![4 => Just(0u8), 1 => Just(1u8)],
    )
        .prop_map(|(name, oflags, rights, fdflags)| Op::Open {
            // `a` and `s` start as a directory and a link to it: open them as directories.
            rights: if name == 0 || name == 2 {
                RightsSel::Dir
            } else {
                rights
            },
            dir: 0,
            follow: true,
            path: Path {
                comps: vec![name],
                leading: false,
                trailing: false,
            },
            oflags,
            fdflags,
        })
}

/// A plan of up to `max` ops: a few opens that usually succeed (so fd operations find live
/// descriptors), then anything.
pub fn plan(max: usize) -> impl Strategy<Value = Vec<Op>> {
    (vec(likely_open(), 0..=3), vec(op(), 1..=max)).prop_map(|(mut opens, ops)| {
        opens.extend(ops);
        opens
    })
}
