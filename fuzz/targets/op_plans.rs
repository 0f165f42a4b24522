//! Fuzz logic, op plans: a plan decoded from the input runs on the in-memory and the host
//! backend at once; every answer (times masked), the fd count and the final tree must agree,
//! and nothing on the host outside the mount may change. Shared by the cargo-fuzz target and
//! `tests/fuzz_replay.rs`.

use super::exec::{Backend, Rig, seed};
use super::ops::Op;
use super::outcome::masked;

/// Most ops one input runs.
const MAX_OPS: usize = 64;

/// Runs one input.
pub fn run(data: &[u8]) {
    let plan = Op::decode_plan(data, MAX_OPS);
    let seed = seed();
    let mut mem = Rig::new(Backend::Mem, &seed);
    let mut host = Rig::new(Backend::Host, &seed);
    for (step, op) in plan.iter().enumerate() {
        let (m, h) = (masked(&mem.apply(op)), masked(&host.apply(op)));
        assert_eq!(m, h, "step {step} ({op:?}): mem answered {m:?}, host {h:?}");
        if let Err(e) = host.outside_unchanged() {
            panic!("step {step} ({op:?}): {e}");
        }
        let (mf, hf) = (mem.driver.ctx().open_fds(), host.driver.ctx().open_fds());
        assert_eq!(mf, hf, "step {step} ({op:?}): open fds differ");
    }
    assert_eq!(mem.tree(), host.tree(), "final trees differ after {plan:?}");
}
