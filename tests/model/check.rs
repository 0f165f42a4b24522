//! Runs a plan on the model and on real backends in lockstep and checks, after every step,
//! that the answers agree and that the invariants hold: nothing outside the mount changed, the
//! fd table has exactly the model's descriptors, the in-memory usage counters match what is
//! really held, readdir of the root lists exactly the model's entries, and the trees are equal.

use super::exec::{Backend, Rig, readdir, seed};
use super::ops::Op;
use super::outcome::{Value, agrees, masked};
use super::reference::Model;

/// Why a plan failed, for the proptest report (which then shrinks the plan).
pub type Failure = String;

/// Checks the invariants of one rig against its model after `step`.
fn invariants(step: usize, op: &Op, rig: &mut Rig, model: &Model) -> Result<(), Failure> {
    let at = |what: String| format!("after step {step} ({op:?}) on {:?}: {what}", rig.backend);
    rig.outside_unchanged().map_err(at)?;
    let fds = rig.driver.ctx().open_fds();
    if fds != model.open_fds() {
        return Err(at(format!(
            "{fds} descriptors open, the model has {}",
            model.open_fds()
        )));
    }
    if let Some(usage) = rig.usage() {
        if usage.inodes != model.live_inodes() {
            return Err(at(format!(
                "MemFs counts {} inodes, {} are live",
                usage.inodes,
                model.live_inodes()
            )));
        }
        if usage.extra_links != model.extra_links() {
            return Err(at(format!(
                "MemFs counts {} extra links, the tree has {}",
                usage.extra_links,
                model.extra_links()
            )));
        }
        let (lo, hi) = model.byte_bounds();
        if usage.bytes < lo || usage.bytes > hi {
            return Err(at(format!(
                "MemFs counts {} bytes; files hold {lo} non-zero bytes in {hi}",
                usage.bytes
            )));
        }
    }
    if model.root_fd_open() {
        let listing = readdir(&mut rig.driver, 3, 4096);
        let expected = Ok(Value::Listing(model.root_listing()));
        if listing != expected {
            return Err(at(format!(
                "readdir of / gave {listing:?}, model {expected:?}"
            )));
        }
    }
    let (tree, expected) = (rig.tree(), model.tree());
    if tree != expected {
        return Err(at(format!("tree {tree:?}\nmodel {expected:?}")));
    }
    Ok(())
}

/// Runs `plan` on `backend` and on the model; the first disagreement or broken invariant.
pub fn against_model(backend: Backend, plan: &[Op]) -> Result<(), Failure> {
    let seed = seed();
    let mut rig = Rig::new(backend, &seed);
    let mut model = Model::new(&seed, backend == Backend::Overlay);
    for (step, op) in plan.iter().enumerate() {
        let expected = model.apply(op);
        let actual = rig.apply(op);
        if !agrees(&expected, &actual) {
            return Err(format!(
                "step {step} ({op:?}) on {backend:?}: got {actual:?}, the model says {expected:?}"
            ));
        }
        invariants(step, op, &mut rig, &model)?;
    }
    Ok(())
}

/// Runs `plan` on every backend and its model at once: each backend must agree with the
/// model, and the backends with each other (times masked: each keeps its own clock).
pub fn all_backends(plan: &[Op]) -> Result<(), Failure> {
    let seed = seed();
    let backends = Backend::ALL;
    let mut rigs: Vec<Rig> = backends.iter().map(|b| Rig::new(*b, &seed)).collect();
    let mut models: Vec<Model> = backends
        .iter()
        .map(|b| Model::new(&seed, *b == Backend::Overlay))
        .collect();
    for (step, op) in plan.iter().enumerate() {
        let mut answers = Vec::new();
        for (rig, model) in rigs.iter_mut().zip(&mut models) {
            let expected = model.apply(op);
            let actual = rig.apply(op);
            if !agrees(&expected, &actual) {
                return Err(format!(
                    "step {step} ({op:?}) on {:?}: got {actual:?}, the model says {expected:?}",
                    rig.backend
                ));
            }
            invariants(step, op, rig, model)?;
            answers.push((rig.backend, expected, masked(&actual)));
        }
        // Where the models agree (they differ only on overlay's EXDEV), so must the backends.
        let (_, first_expected, first) = &answers[0];
        for (backend, expected, answer) in &answers[1..] {
            if expected == first_expected && answer != first {
                return Err(format!(
                    "step {step} ({op:?}): Mem answered {first:?}, {backend:?} {answer:?}"
                ));
            }
        }
    }
    Ok(())
}
