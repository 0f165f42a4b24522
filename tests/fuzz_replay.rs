//! Replays the fuzz corpora (`fuzz/corpus/<target>/`) on stable as ordinary tests, through the
//! same logic the cargo-fuzz targets run (`fuzz/targets/*.rs`): so `cargo test` covers every
//! seed and every input a fuzzer once failed on (those are added to the corpus as regressions).

mod support;
use support::{backend, driver};

#[path = "model/exec.rs"]
mod exec;
#[path = "model/ops.rs"]
mod ops;
#[path = "model/outcome.rs"]
mod outcome;
#[path = "model/policy_oracle.rs"]
mod policy_oracle;
#[path = "model/reference.rs"]
mod reference;

#[path = "../fuzz/targets/image_tar.rs"]
mod image_tar;
#[path = "../fuzz/targets/op_plans.rs"]
mod op_plans;
#[path = "../fuzz/targets/policy_plans.rs"]
mod policy_plans;
#[path = "../fuzz/targets/policy_toml.rs"]
mod policy_toml;
#[path = "../fuzz/targets/raw_abi.rs"]
mod raw_abi;

use std::path::PathBuf;

/// Runs `run` on every file of `fuzz/corpus/<target>/`, naming the file on failure.
fn replay(target: &str, run: fn(&[u8])) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no seeds in {}", dir.display());
    for file in &files {
        let data = std::fs::read(file).unwrap();
        let outcome = std::panic::catch_unwind(|| run(&data));
        if let Err(panic) = outcome {
            panic!(
                "{target} failed on {}: {}",
                file.display(),
                support::panic_message(&*panic)
            );
        }
    }
}

#[test]
fn raw_abi_corpus_replays_cleanly() {
    replay("raw_abi", raw_abi::run);
}

#[test]
fn op_plans_corpus_replays_cleanly() {
    replay("op_plans", op_plans::run);
}

#[test]
fn policy_plans_corpus_replays_cleanly() {
    replay("policy_plans", policy_plans::run);
}

#[test]
fn image_tar_corpus_replays_cleanly() {
    replay("image_tar", image_tar::run);
}

#[test]
fn policy_toml_corpus_replays_cleanly() {
    replay("policy_toml", policy_toml::run);
}
