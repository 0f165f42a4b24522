//! cargo-fuzz target: op plans under protecting policies (logic in `fuzz/targets/policy_plans.rs`).
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
#[path = "../../tests/model/policy_oracle.rs"]
mod policy_oracle;
#[path = "../../tests/model/reference.rs"]
mod reference;
#[path = "../targets/policy_plans.rs"]
mod target;

libfuzzer_sys::fuzz_target!(|data: &[u8]| target::run(data));
