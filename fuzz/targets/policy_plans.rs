//! Fuzz logic, the policy oracle: a plan decoded from the input runs under every protecting
//! policy on the in-memory, host and overlay backends, and the protected contents must never
//! be read, changed, renamed, linked or planted into through any name
//! (`tests/model/policy_oracle.rs`). Shared by the cargo-fuzz target and `tests/fuzz_replay.rs`.

use super::ops::Op;
use super::policy_oracle;

/// Most ops one input runs.
const MAX_OPS: usize = 48;

/// Runs one input.
pub fn run(data: &[u8]) {
    let plan = Op::decode_plan(data, MAX_OPS);
    if let Err(broken) = policy_oracle::check_all(&plan) {
        panic!("{broken}\nplan: {plan:?}");
    }
}
