//! Unit tests of the memory backend's budgets (`FsLimits`) and time source: each budget refuses
//! with its errno before anything is stored, a refused operation changes nothing, and freed
//! space (truncate, unlink, last close) can be used again.

use std::sync::Arc;

use super::data::PAGE_SIZE;
use super::{MemFs, TreeEntry};
use crate::clock::{TimeSource, VirtualClock};
use crate::limits::{
    FS_DIR_COST, FS_INODE_COST, FS_NAME_COST, FS_PAGE_COST, FS_PAGE_TABLE_COST, FsLimits,
};
use crate::vfs::{Dir, File, FsError, Node, OpenOptions};

const CREATE: OpenOptions = OpenOptions {
    create: true,
    exclusive: false,
    truncate: false,
    write: true,
};

fn create(dir: &Arc<dyn Dir>, name: &str) -> Arc<dyn File> {
    dir.open_file(name, CREATE).unwrap()
}

fn subdir(dir: &Arc<dyn Dir>, name: &str) -> Arc<dyn Dir> {
    match dir.lookup(name).unwrap() {
        Node::Dir(d) => d,
        other => panic!("{name} is {other:?}"),
    }
}

#[test]
fn byte_quota_is_enospc_and_a_refused_write_stores_nothing() {
    let fs = MemFs::new();
    let f = create(&fs.root(), "f");
    let base = fs.usage().charged;
    // Room for a 112-byte window: windows are allocated in 16-byte granules.
    fs.set_limits(FsLimits::quota(base + 112));
    assert_eq!(f.write_at(&[1; 60], 0), Ok(60));
    assert_eq!(f.write_at(&[2; 60], 60), Err(FsError::NoSpace));
    assert_eq!(f.stat().unwrap().size, 60);
    assert_eq!(fs.usage().bytes, 60);
    // Overwriting stored bytes costs nothing; exactly filling the budget is fine (the room
    // for appends a write would take is given up when the budget lacks it).
    assert_eq!(f.write_at(&[3; 60], 0), Ok(60));
    assert_eq!(f.write_at(&[4; 52], 60), Ok(52));
    assert_eq!(fs.usage().charged, base + 112);
    assert_eq!(f.append(b"x"), Err(FsError::NoSpace));
    // Truncating frees the bytes for reuse.
    f.set_size(10).unwrap();
    assert_eq!(fs.usage().bytes, 10);
    assert_eq!(fs.usage().charged, base + 16);
    assert_eq!(f.write_at(&[5; 102], 10), Ok(102));
}

#[test]
fn sparse_gaps_are_free_until_written() {
    let fs = MemFs::new();
    let f = create(&fs.root(), "sparse");
    let base = fs.usage().charged;
    f.set_size(1 << 40).unwrap();
    f.allocate(0, 1 << 41).unwrap();
    assert_eq!((fs.usage().bytes, fs.usage().charged), (0, base));
    // A write charges the granules it stores and its page, not the gap before it.
    assert_eq!(f.write_at(b"abc", 1 << 30), Ok(3));
    assert_eq!(fs.usage().bytes, 3);
    let page = 16 + FS_PAGE_COST + FS_PAGE_TABLE_COST;
    assert_eq!(fs.usage().charged, base + page);
    // Within a page, the window runs from the first to the last byte written: the bytes
    // between are stored, so they are charged.
    fs.set_limits(FsLimits::quota(base + page + 1000));
    assert_eq!(f.write_at(b"z", (1 << 30) + 2000), Err(FsError::NoSpace));
    assert_eq!(fs.usage().bytes, 3);
    // A byte at the end of another page costs a granule and a page entry, not the page.
    assert_eq!(f.write_at(b"e", (1 << 31) - 1), Ok(1));
    assert_eq!(fs.usage().charged, base + page + 16 + FS_PAGE_COST);
}
#[test]
fn max_file_size_is_efbig() {
    let limits = FsLimits {
        max_file_size: 1000,
        ..FsLimits::default()
    };
    let fs = MemFs::with_limits(limits);
    let f = create(&fs.root(), "f");
    assert_eq!(f.write_at(&[1; 10], 990), Ok(10));
    assert_eq!(f.write_at(&[1; 1], 1000), Err(FsError::FileTooBig));
    assert_eq!(f.set_size(1001), Err(FsError::FileTooBig));
    assert_eq!(f.allocate(999, 2), Err(FsError::FileTooBig));
    assert_eq!(f.stat().unwrap().size, 1000);
}

#[test]
fn inode_budget_is_edquot_and_hard_links_are_charged() {
    let limits = FsLimits {
        inodes: Some(4),
        ..FsLimits::default()
    };
    let fs = MemFs::with_limits(limits);
    let root = fs.root();
    // Root + d + f = 3 inodes.
    root.create_dir("d").unwrap();
    drop(create(&root, "f"));
    // One hard link takes the 4th slot; the next name of any kind is refused.
    root.link("f", &*root, "g").unwrap();
    assert_eq!(root.link("f", &*root, "h"), Err(FsError::Quota));
    assert_eq!(root.symlink("s", "f"), Err(FsError::Quota));
    assert_eq!(root.create_dir("e"), Err(FsError::Quota));
    assert!(matches!(root.open_file("n", CREATE), Err(FsError::Quota)));
    assert_eq!(fs.usage().inodes, 3);
    assert_eq!(fs.usage().extra_links, 1);
    // Removing the extra name frees its slot.
    root.unlink("g").unwrap();
    assert_eq!(fs.usage().extra_links, 0);
    root.symlink("s", "f").unwrap();
}

#[test]
fn hard_links_count_bytes_once_and_unlinked_open_files_free_on_last_close() {
    let fs = MemFs::new();
    let root = fs.root();
    let f = create(&root, "f");
    f.write_at(&[7; 80], 0).unwrap();
    root.link("f", &*root, "g").unwrap();
    assert_eq!(fs.usage().bytes, 80);
    let other = create(&root, "other");
    let quota = fs.usage().charged + 32;
    fs.set_limits(FsLimits::quota(quota));
    root.unlink("f").unwrap();
    root.unlink("g").unwrap();
    // Still open: its bytes (and inode) are still charged; only the names were given back.
    assert_eq!(fs.usage().bytes, 80);
    let room = quota - fs.usage().charged;
    assert_eq!(room, 32 + 2 * (FS_NAME_COST + 1));
    let n = room as usize + 16;
    assert_eq!(other.write_at(&vec![1; n], 0), Err(FsError::NoSpace));
    drop(f);
    assert_eq!(fs.usage().bytes, 0);
    assert_eq!(fs.usage().charged, quota - room - FS_INODE_COST - 80);
    assert_eq!(other.write_at(&vec![1; n], 0), Ok(n));
}

#[test]
fn symlink_targets_are_charged_and_freed() {
    let fs = MemFs::new();
    let root = fs.root();
    let base = fs.usage().charged;
    root.symlink("a", "0123456789").unwrap();
    assert_eq!(fs.usage().bytes, 10);
    assert_eq!(
        fs.usage().charged,
        base + FS_INODE_COST + FS_NAME_COST + 1 + 10
    );
    fs.set_limits(FsLimits::quota(fs.usage().charged));
    assert_eq!(root.symlink("b", "x"), Err(FsError::NoSpace));
    root.unlink("a").unwrap();
    assert_eq!((fs.usage().bytes, fs.usage().charged), (0, base));
    root.symlink("b", "x").unwrap();
}

#[test]
fn names_and_inodes_are_charged_and_refusals_change_nothing() {
    let fs = MemFs::new();
    let root = fs.root();
    let base = fs.usage().charged;
    assert_eq!(base, 0, "the root is free");
    root.create_dir("d").unwrap();
    let dir = FS_INODE_COST + FS_DIR_COST + FS_NAME_COST + 1;
    assert_eq!(fs.usage().charged, dir);
    drop(create(&root, "file"));
    let file = FS_INODE_COST + FS_NAME_COST + 4;
    assert_eq!(fs.usage().charged, dir + file);
    // A hard link costs its name; a longer name in a rename costs the difference.
    root.link("file", &*root, "hard").unwrap();
    assert_eq!(fs.usage().charged, dir + file + FS_NAME_COST + 4);
    fs.set_limits(FsLimits::quota(fs.usage().charged + 10));
    let before = (fs.usage(), fs.snapshot());
    let long = "x".repeat(20);
    assert_eq!(root.link("file", &*root, &long), Err(FsError::NoSpace));
    assert_eq!(root.rename("hard", &*root, &long), Err(FsError::NoSpace));
    assert_eq!(root.symlink(&long, "t"), Err(FsError::NoSpace));
    assert_eq!(root.create_dir("e"), Err(FsError::NoSpace));
    assert!(matches!(root.open_file("n", CREATE), Err(FsError::NoSpace)));
    assert_eq!((fs.usage(), fs.snapshot()), before);
    // A rename to a name no longer than the old one needs no room.
    root.rename("hard", &*root, "h2").unwrap();
    root.unlink("h2").unwrap();
    root.remove_dir("d").unwrap();
    assert_eq!(fs.usage().charged, file);
}

#[test]
fn the_fixed_costs_cover_the_structures_behind_them() {
    use super::data::SparseData;
    use super::node::{DirData, Inode};
    use std::mem::size_of;
    // What glibc spends on a block of `n` bytes (16-byte granules, an 8-byte header).
    let chunk = |n: usize| ((n + 8).div_ceil(16) * 16).max(32) as u64;
    // A hash table slot of `n` bytes, at its worst: three slots per live entry (it is shrunk
    // past that), 8 buckets per 7 slots, a control byte per bucket.
    let slot = |n: usize| (3 * 8 * (n as u64 + 1)).div_ceil(7);
    // A B-tree entry of `n` bytes in 11-entry nodes kept at least 5 full, and its share of
    // the internal nodes above.
    let leaf = |n: usize| chunk(16 + 11 * n);
    let btree = |n: usize| (leaf(n) / 5) + (leaf(n) + 12 * 8) / 30 + 1;
    let inode = slot(16) + chunk(size_of::<Inode>()) + 16;
    assert!(
        inode <= FS_INODE_COST,
        "{inode} (Inode {})",
        size_of::<Inode>()
    );
    let dir = chunk(4 * 33 + 16) + leaf(8 + 24);
    assert!(dir <= FS_DIR_COST, "{dir}");
    // A name: its slot in `by_name`, its entry in `by_seq`, its `Arc<str>` header and rounding.
    let name = slot(32) + btree(32) + chunk(16);
    assert!(name <= FS_NAME_COST, "{name}");
    let page = btree(8 + 32) + 16;
    assert!(page <= FS_PAGE_COST, "{page}");
    assert!(leaf(8 + 32) <= FS_PAGE_TABLE_COST);
    assert!(size_of::<SparseData>() <= 96 && size_of::<DirData>() <= 96);
}
#[test]
fn path_length_and_depth_budgets_are_enametoolong() {
    let limits = FsLimits {
        max_path_len: 10,
        max_depth: 3,
        ..FsLimits::default()
    };
    let fs = MemFs::with_limits(limits);
    let root = fs.root();
    // "aaaa/bbbbb" is 10 bytes: fits; one more byte does not.
    root.create_dir("aaaa").unwrap();
    let a = subdir(&root, "aaaa");
    a.create_dir("bbbbb").unwrap();
    assert_eq!(a.create_dir("bbbbbb"), Err(FsError::NameTooLong));
    // Depth: a/b/c fits (3), a/b/c/d does not.
    root.create_dir("x").unwrap();
    let x = subdir(&root, "x");
    x.create_dir("y").unwrap();
    let y = subdir(&x, "y");
    y.create_dir("z").unwrap();
    let z = subdir(&y, "z");
    assert_eq!(z.create_dir("w"), Err(FsError::NameTooLong));
    assert!(matches!(
        z.open_file("w", CREATE),
        Err(FsError::NameTooLong)
    ));
    // Renaming a subtree checks its deepest descendant: x/y/z moved into aaaa/bbbbb is too
    // deep, and nothing moved.
    let b = subdir(&a, "bbbbb");
    assert_eq!(x.rename("y", &*b, "y"), Err(FsError::NameTooLong));
    assert!(subdir(&x, "y").stat().is_ok());
    // Moving it up to the root makes room below it: y/z/w now fits.
    x.rename("y", &*root, "y").unwrap();
    let z = subdir(&subdir(&root, "y"), "z");
    z.create_dir("w").unwrap();
    // Hard links check the new name's path.
    drop(create(&root, "f"));
    assert_eq!(
        root.link("f", &*subdir(&a, "bbbbb"), "f"),
        Err(FsError::NameTooLong)
    );
}

#[test]
fn host_import_is_charged_before_reading() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("small"), b"hi").unwrap();
    std::fs::write(dir.path().join("big"), vec![1u8; 3 * PAGE_SIZE]).unwrap();
    let err = MemFs::from_host_dir_with_limits(dir.path(), FsLimits::quota(PAGE_SIZE as u64))
        .unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidData);
    assert!(err.to_string().contains("big"), "{err}");
    let fs = MemFs::from_host_dir_with_limits(dir.path(), FsLimits::quota(1 << 20)).unwrap();
    assert_eq!(fs.usage().bytes, 3 * PAGE_SIZE as u64 + 2);
}

#[test]
fn timestamps_come_from_the_time_source() {
    let clock = VirtualClock::new();
    let fs = MemFs::builder().time_source(clock.clone()).build();
    let root = fs.root();
    let t0 = root.stat().unwrap().mtim;
    assert_eq!(t0, VirtualClock::DEFAULT_EPOCH + VirtualClock::DEFAULT_STEP);
    let f = create(&root, "f");
    let created = f.stat().unwrap().mtim;
    assert!(created > t0);
    f.write_at(b"x", 0).unwrap();
    assert!(f.stat().unwrap().mtim > created);
    // The same operations on a second tree give the same times.
    let again = MemFs::builder().time_source(VirtualClock::new()).build();
    let f2 = create(&again.root(), "f");
    f2.write_at(b"x", 0).unwrap();
    assert_eq!(f2.stat().unwrap(), {
        let mut s = f.stat().unwrap();
        s.dev = f2.stat().unwrap().dev;
        s
    });
    assert_eq!(
        fs.snapshot(),
        vec![("f".into(), TreeEntry::File(b"x".to_vec()))]
    );
    assert!(clock.now() > created);
}

/// Budgets and the clock are chosen on the builder, before the filesystem exists: a built
/// filesystem never changes because a builder (or a copy of one) is configured afterwards,
/// and the one live setting, `set_limits`, is explicit and seen by every holder.
#[test]
fn budgets_and_clock_are_fixed_before_the_filesystem_is_shared() {
    let clock = VirtualClock::new();
    let builder = MemFs::builder().quota(1000).time_source(clock.clone());
    let fs = builder.clone().build();
    let other = builder.quota(5).build();
    assert_eq!(fs.limits().bytes, Some(1000));
    assert_eq!(other.limits().bytes, Some(5));
    // The root was stamped by the chosen clock from the start: no host time anywhere.
    assert_eq!(
        fs.root().stat().unwrap().mtim,
        VirtualClock::DEFAULT_EPOCH + VirtualClock::DEFAULT_STEP
    );
    let guest_side = fs.clone();
    guest_side.set_limits(FsLimits::quota(2000));
    assert_eq!(fs.limits().bytes, Some(2000));
    assert_eq!(other.limits().bytes, Some(5));
}
