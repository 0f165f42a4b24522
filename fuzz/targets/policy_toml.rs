//! Fuzz logic, policy files: any text given to `PolicyTable::from_toml` parses or is refused
//! with an error that names a line inside the text — never a panic. Shared by the cargo-fuzz
//! target and `tests/fuzz_replay.rs`.

use wasi_warden::PolicyTable;

/// Runs one input (non-UTF-8 input is the CLI's business: it reads files as strings).
pub fn run(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Err(e) = PolicyTable::from_toml(text) {
        let lines = text.lines().count().max(1);
        assert!(
            e.line <= lines + 1,
            "error line {} past the text's {lines} lines: {e:?}",
            e.line
        );
        assert!(!e.message.is_empty(), "an error without a message");
    }
}
