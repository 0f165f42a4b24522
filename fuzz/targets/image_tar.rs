//! Fuzz logic, tar image loader: any bytes given to `MemFs::from_tar` under small budgets load
//! or are refused with an error — never a panic, never past the budgets — and a tree that
//! loads saves as a tar that loads back to the same tree. Shared by the cargo-fuzz target and
//! `tests/fuzz_replay.rs`.

use wasi_warden::{FsLimits, MemFs};

/// Runs one input.
pub fn run(data: &[u8]) {
    let limits = FsLimits::default().bytes(Some(1 << 20)).inodes(Some(512));
    let Ok(fs) = MemFs::from_tar(data, limits) else {
        return;
    };
    let usage = fs.usage();
    assert!(
        usage.bytes <= 1 << 20,
        "loaded past the byte budget: {usage:?}"
    );
    assert!(
        usage.inodes <= 512,
        "loaded past the inode budget: {usage:?}"
    );
    let tree = fs.snapshot();
    let mut tar = Vec::new();
    fs.save_tar(&mut tar).expect("a loaded tree saves");
    let again = MemFs::from_tar(&tar[..], limits).expect("a saved tree loads");
    assert_eq!(again.snapshot(), tree, "save → load changed the tree");
}
