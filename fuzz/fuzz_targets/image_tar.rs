//! cargo-fuzz target: the tar image loader (logic in `fuzz/targets/image_tar.rs`).
#![no_main]

#[path = "../targets/image_tar.rs"]
mod target;

libfuzzer_sys::fuzz_target!(|data: &[u8]| target::run(data));
