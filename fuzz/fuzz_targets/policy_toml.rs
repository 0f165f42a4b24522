//! cargo-fuzz target: the policy file parser (logic in `fuzz/targets/policy_toml.rs`).
#![no_main]

#[path = "../targets/policy_toml.rs"]
mod target;

libfuzzer_sys::fuzz_target!(|data: &[u8]| target::run(data));
