//! cargo-fuzz target: filesystem op plans, in-memory vs host backend (logic in `fuzz/targets/op_plans.rs`).
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
#[path = "../targets/op_plans.rs"]
mod target;

libfuzzer_sys::fuzz_target!(|data: &[u8]| target::run(data));
