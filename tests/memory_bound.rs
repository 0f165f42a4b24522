//! A quota bounds host memory, not just logical bytes: a counting global allocator measures the
//! bytes a `MemFs` really holds after adversarial patterns (one byte per page of a huge sparse
//! file, many tiny files, deep trees, long names, many hard links, long symlink targets, churn,
//! a mix), driven through the public `Dir` / `File` API until the quota refuses. Each pattern
//! must end refused with ENOSPC/EDQUOT while holding at most `1.25 × quota + SLACK`.
//!
//! Live bytes are counted per thread (the tests run in parallel), twice: as the layouts Rust asks
//! for, and as glibc malloc really spends them (16-byte granules, an 8-byte header, 32 bytes
//! at least); the bound is checked on the second, larger figure.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::Arc;

use wasi_warden::MemFs;
use wasi_warden::limits::FsLimits;
use wasi_warden::vfs::{Dir, File, FsError, FsResult, Node, OpenOptions};

// ---- The counting allocator -----------------------------------------------------------------

/// `System`, counting the live bytes of each thread.
struct Counting;

thread_local! {
    /// (bytes asked for, bytes malloc spends) live on this thread.
    static LIVE: Cell<(i64, i64)> = const { Cell::new((0, 0)) };
}

/// What glibc's malloc spends on a block of `size` bytes: the size plus its 8-byte header,
/// rounded up to 16, and never less than its 32-byte minimum chunk.
fn chunk(size: usize) -> i64 {
    let spent = (size + 8).div_ceil(16) * 16;
    spent.max(32) as i64
}

fn count(add: usize, sub: usize) {
    let (asked, spent) = (
        add as i64 - sub as i64,
        if add > 0 { chunk(add) } else { 0 } - if sub > 0 { chunk(sub) } else { 0 },
    );
    // `try_with`: the counter may be gone while a thread is torn down.
    let _ = LIVE.try_with(|live| {
        let (a, s) = live.get();
        live.set((a + asked, s + spent));
    });
}

// SAFETY: every call is forwarded unchanged to `System`; counting touches only a thread-local.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded with the caller's layout.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            count(layout.size(), 0);
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded with the caller's layout.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            count(layout.size(), 0);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded with the caller's pointer and layout.
        unsafe { System.dealloc(ptr, layout) };
        count(0, layout.size());
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded with the caller's pointer, layout and size.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            count(new_size, layout.size());
        }
        p
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

fn live() -> (i64, i64) {
    LIVE.with(Cell::get)
}

// ---- The bound ------------------------------------------------------------------------------

/// The quota every pattern runs under.
const QUOTA: u64 = 1 << 20;

/// The fixed part of the bound: the empty filesystem, its root and the small tables every
/// filesystem has.
const SLACK: u64 = wasi_warden::limits::FS_MEMORY_SLACK;

/// Most bytes a filesystem with this quota may hold.
fn bound(quota: u64) -> u64 {
    quota + quota / 4 + SLACK
}

/// Measures one pattern from an empty filesystem on.
struct Probe {
    start: (i64, i64),
    quota: u64,
    steps: u64,
    /// Refusals seen: (NoSpace, Quota).
    refused: (u64, u64),
}

impl Probe {
    fn new(quota: u64) -> Probe {
        Probe {
            start: live(),
            quota,
            steps: 0,
            refused: (0, 0),
        }
    }

    /// (asked, spent) bytes held since the start.
    fn held(&self) -> (u64, u64) {
        let (a, s) = live();
        (
            (a - self.start.0).max(0) as u64,
            (s - self.start.1).max(0) as u64,
        )
    }

    /// Counts one operation's result: Ok, or a budget refusal. Returns false (stop) once the
    /// pattern is over the bound, so that the unfixed code fails fast instead of swapping, or
    /// once the quota has refused enough times.
    fn step<T>(&mut self, what: &str, result: FsResult<T>) -> Option<T> {
        self.steps += 1;
        let out = match result {
            Ok(v) => Some(v),
            Err(FsError::NoSpace) => {
                self.refused.0 += 1;
                None
            }
            Err(FsError::Quota) => {
                self.refused.1 += 1;
                None
            }
            Err(e) => panic!("{what}: unexpected {e:?}"),
        };
        if self.steps.is_multiple_of(512) {
            let held = self.held().1;
            assert!(
                held <= bound(self.quota),
                "{what}: holds {held} bytes after {} steps, over the bound {}",
                self.steps,
                bound(self.quota)
            );
        }
        out
    }

    /// Enough refusals to show the quota stops the pattern.
    fn done(&self) -> bool {
        self.refused.0 + self.refused.1 >= 64
    }

    /// Checks and prints the figures; `fs` is still alive here. Then nothing is lost: the tree
    /// saves as an image, which loads back under the same limits.
    fn finish(self, name: &str, fs: &MemFs) {
        let (asked, spent) = self.held();
        let usage = fs.usage();
        let mut image = Vec::new();
        fs.save_tar(&mut image)
            .unwrap_or_else(|e| panic!("{name}: a tree within its budgets does not save: {e}"));
        let back = MemFs::from_tar(&image[..], fs.limits())
            .unwrap_or_else(|e| panic!("{name}: its image does not load back: {e}"));
        assert_eq!(back.usage().inodes, usage.inodes, "{name}");
        assert_eq!(back.usage().extra_links, usage.extra_links, "{name}");
        assert!(
            back.usage().bytes <= usage.bytes,
            "{name}: {:?}",
            back.usage()
        );
        eprintln!(
            "memory_bound {name:<24} quota {q:>8} | held {asked:>9} asked {spent:>9} malloc \
             = {ratio:.3} x quota | bound {b} | {usage:?} | refused {r:?} in {n} steps | \
             image {i} bytes",
            i = image.len(),
            q = self.quota,
            ratio = spent as f64 / self.quota as f64,
            b = bound(self.quota),
            r = self.refused,
            n = self.steps,
        );
        assert!(
            spent <= bound(self.quota),
            "{name}: holds {spent} bytes, over the bound {}",
            bound(self.quota)
        );
        assert!(
            self.done(),
            "{name}: the quota never refused ({:?})",
            self.refused
        );
    }
}

// ---- Helpers --------------------------------------------------------------------------------

const CREATE: OpenOptions = OpenOptions {
    create: true,
    exclusive: false,
    truncate: false,
    write: true,
};

fn subdir(dir: &Arc<dyn Dir>, name: &str) -> Arc<dyn Dir> {
    match dir.lookup(name).unwrap() {
        Node::Dir(d) => d,
        other => panic!("{name} is {other:?}"),
    }
}

/// A name of exactly `len` bytes, unique for `i`.
fn long_name(i: u64, len: usize) -> String {
    let tag = format!("{i:x}-");
    let mut name = tag.clone();
    name.push_str(&"n".repeat(len - tag.len()));
    name
}

/// A small deterministic generator (xorshift) for the mixed pattern.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

fn fs() -> MemFs {
    MemFs::with_limits(FsLimits::quota(QUOTA))
}

/// One byte at the start of every page of a sparse file, under `quota`.
fn bytes_per_page(name: &str, quota: u64, within: u64) {
    let mut p = Probe::new(quota);
    let fs = MemFs::with_limits(FsLimits::quota(quota));
    let f = fs.root().open_file("sparse", CREATE).unwrap();
    // Growing is free: the whole file is a hole until written.
    f.set_size(1 << 50).unwrap();
    let mut page = 0u64;
    while !p.done() {
        p.step("pwrite", f.write_at(b"x", (page << 16) + within));
        page += 1;
    }
    drop(f);
    p.finish(name, &fs);
}

/// Files of one byte in one directory, under `quota`.
fn tiny_files(name: &str, quota: u64) {
    let mut p = Probe::new(quota);
    let fs = MemFs::with_limits(FsLimits::quota(quota));
    let root = fs.root();
    let mut i = 0u64;
    while !p.done() {
        if let Some(f) = p.step("create", root.open_file(&format!("f{i}"), CREATE)) {
            p.step("write", f.write_at(b"y", 0));
        }
        i += 1;
    }
    drop(root);
    p.finish(name, &fs);
}

// ---- Patterns -------------------------------------------------------------------------------

#[test]
fn one_byte_per_page_of_a_huge_sparse_file() {
    bytes_per_page("one_byte_per_page", QUOTA, 0);
}

#[test]
fn one_byte_in_the_middle_of_each_page() {
    bytes_per_page("mid_page_bytes", QUOTA, 40_000);
}

#[test]
fn one_byte_per_page_under_a_16_mib_quota() {
    bytes_per_page("one_byte_per_page_16MiB", 16 << 20, 0);
}

#[test]
fn many_tiny_files() {
    tiny_files("many_tiny_files", QUOTA);
}

#[test]
fn many_tiny_files_under_a_16_mib_quota() {
    tiny_files("many_tiny_files_16MiB", 16 << 20);
}

#[test]
fn many_tiny_files_under_a_4_kib_quota() {
    // The fixed part of the bound at work: the empty filesystem is free to the quota.
    tiny_files("many_tiny_files_4KiB", 4 << 10);
}

#[test]
fn many_empty_files_with_an_inode_budget() {
    let mut p = Probe::new(QUOTA);
    let limits = FsLimits::quota(QUOTA).inodes(Some(262_144));
    let fs = MemFs::with_limits(limits);
    let root = fs.root();
    let mut i = 0u64;
    while !p.done() {
        p.step("create", root.open_file(&format!("e{i}"), CREATE).map(drop));
        i += 1;
    }
    drop(root);
    p.finish("many_empty_files", &fs);
}

#[test]
fn deep_trees() {
    let mut p = Probe::new(QUOTA);
    let fs = fs();
    let root = fs.root();
    let mut tree = 0u64;
    'trees: while !p.done() {
        let name = format!("t{tree}");
        tree += 1;
        if p.step("mkdir", root.create_dir(&name)).is_none() {
            continue;
        }
        let mut here = subdir(&root, &name);
        // 500 levels, under the default depth budget of 512.
        for _ in 0..500 {
            if p.step("mkdir", here.create_dir("d")).is_none() {
                continue 'trees;
            }
            here = subdir(&here, "d");
        }
    }
    drop(root);
    p.finish("deep_trees", &fs);
}

#[test]
fn long_names() {
    let mut p = Probe::new(QUOTA);
    let fs = fs();
    let root = fs.root();
    let mut i = 0u64;
    while !p.done() {
        let name = long_name(i, 255);
        if i.is_multiple_of(2) {
            p.step("mkdir", root.create_dir(&name));
        } else {
            p.step("create", root.open_file(&name, CREATE).map(drop));
        }
        i += 1;
    }
    drop(root);
    p.finish("long_names", &fs);
}

#[test]
fn many_hard_links() {
    let mut p = Probe::new(QUOTA);
    let fs = fs();
    let root = fs.root();
    root.create_dir("d").unwrap();
    let d = subdir(&root, "d");
    d.open_file("target", CREATE)
        .unwrap()
        .write_at(b"z", 0)
        .unwrap();
    let mut i = 0u64;
    while !p.done() {
        p.step("link", d.link("target", &*root, &long_name(i, 255)));
        i += 1;
    }
    drop((root, d));
    p.finish("many_hard_links", &fs);
}

#[test]
fn symlinks_with_long_targets() {
    let mut p = Probe::new(QUOTA);
    let fs = fs();
    let root = fs.root();
    let target = "t/".repeat(2047);
    let mut i = 0u64;
    while !p.done() {
        p.step("symlink", root.symlink(&long_name(i, 255), &target));
        i += 1;
    }
    drop(root);
    p.finish("long_symlinks", &fs);
}

#[test]
fn churn_then_fill_with_data() {
    // Tables grown for many names must not stay behind uncharged once the names are gone.
    let mut p = Probe::new(QUOTA);
    let fs = fs();
    let root = fs.root();
    let mut names = Vec::new();
    loop {
        let name = format!("c{}", names.len());
        if p.step("create", root.open_file(&name, CREATE).map(drop))
            .is_none()
        {
            break;
        }
        names.push(name);
    }
    for name in &names {
        root.unlink(name).unwrap();
    }
    drop(names);
    let f = root.open_file("big", CREATE).unwrap();
    let chunk = vec![1u8; 4096];
    let mut at = 0u64;
    while !p.done() {
        if p.step("append", f.write_at(&chunk, at)).is_some() {
            at += chunk.len() as u64;
        }
    }
    drop((f, root));
    p.finish("churn_then_data", &fs);
}

#[test]
fn a_mix_of_everything() {
    let mut p = Probe::new(QUOTA);
    let fs = fs();
    let root = fs.root();
    for d in 0..8 {
        root.create_dir(&format!("d{d}")).unwrap();
    }
    let dirs: Vec<Arc<dyn Dir>> = (0..8).map(|d| subdir(&root, &format!("d{d}"))).collect();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut files: Vec<(usize, String)> = Vec::new();
    let mut open: Vec<Arc<dyn File>> = Vec::new();
    let mut i = 0u64;
    while (!p.done() || p.steps < 50_000) && p.steps < 2_000_000 {
        i += 1;
        let dir = rng.below(8) as usize;
        let len = 1 + rng.below(255) as usize;
        match rng.below(10) {
            0..=2 => {
                let name = long_name(i, len.max(12));
                if let Some(f) = p.step("create", dirs[dir].open_file(&name, CREATE)) {
                    files.push((dir, name));
                    if open.len() < 16 {
                        open.push(f);
                    }
                }
            }
            3..=4 if !open.is_empty() => {
                let f = &open[rng.below(open.len() as u64) as usize];
                let at = rng.below(1 << 40) & !0xfff;
                let n = 1 + rng.below(3000) as usize;
                p.step("pwrite", f.write_at(&vec![7u8; n], at));
            }
            5 if !files.is_empty() => {
                let (d, name) = &files[rng.below(files.len() as u64) as usize];
                let new = long_name(i, len.max(12));
                if p.step("link", dirs[*d].link(name, &*dirs[dir], &new))
                    .is_some()
                {
                    files.push((dir, new));
                }
            }
            6 => {
                p.step(
                    "symlink",
                    dirs[dir].symlink(&long_name(i, len.max(12)), &"x".repeat(len * 8)),
                );
            }
            7 if !files.is_empty() => {
                let k = rng.below(files.len() as u64) as usize;
                let (d, name) = files.swap_remove(k);
                dirs[d].unlink(&name).unwrap();
            }
            8 if !open.is_empty() => {
                let k = rng.below(open.len() as u64) as usize;
                let f = open.swap_remove(k);
                p.step("truncate", f.set_size(rng.below(1 << 20)));
            }
            _ if !files.is_empty() => {
                let k = rng.below(files.len() as u64) as usize;
                let (d, name) = files[k].clone();
                let new = long_name(i, len.max(12));
                if p.step("rename", dirs[d].rename(&name, &*dirs[dir], &new))
                    .is_some()
                {
                    files[k] = (dir, new);
                }
            }
            _ => {}
        }
    }
    drop((open, dirs, root, files));
    p.finish("mix", &fs);
}
