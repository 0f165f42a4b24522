//! cargo-fuzz target: arbitrary preview1 calls over arbitrary guest memory (logic in `fuzz/targets/raw_abi.rs`).
#![no_main]

#[path = "../../tests/support/backend.rs"]
mod backend;
#[path = "../../tests/support/driver.rs"]
mod driver;
#[path = "../../tests/model/exec.rs"]
mod exec;
#[path = "../../tests/model/ops.rs"]
mod ops;
#[path = "../../tests/model/outcome.rs"]
mod outcome;
#[path = "../../tests/model/reference.rs"]
mod reference;
#[path = "../targets/raw_abi.rs"]
mod target;

libfuzzer_sys::fuzz_target!(|data: &[u8]| target::run(data));
