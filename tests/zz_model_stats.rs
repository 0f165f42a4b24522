mod support;
use support::driver;
#[path = "model/exec.rs"] mod exec;
#[path = "model/ops.rs"] mod ops;
#[path = "model/outcome.rs"] mod outcome;
#[path = "model/reference.rs"] mod reference;
#[path = "model/strategy.rs"] mod strategy;
use proptest::strategy::{Strategy, ValueTree};
use std::collections::BTreeMap;
#[test]
fn stats() {
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let mut st: BTreeMap<String, (u32,u32)> = BTreeMap::new();
    let mut errs: BTreeMap<String, u32> = BTreeMap::new();
    for k in 0..300 {
        let plan = strategy::plan(24).new_tree(&mut runner).unwrap().current();
        let mut m = reference::Model::new(&exec::seed(), false);
        for op in &plan {
            let name = format!("{:?}", op).split(|c: char| !c.is_alphanumeric()).next().unwrap().to_string();
            let r = m.apply(op);
            if k == 0 { println!("{op:?} -> {r:?}"); }
            let e = st.entry(name.clone()).or_default();
            if r.is_ok() { e.0 += 1 } else { e.1 += 1; *errs.entry(format!("{name} {:?}", r.unwrap_err())).or_default() += 1; }
        }
    }
    println!("{st:#?}\n{errs:#?}");
}
