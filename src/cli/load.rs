//! Turning MODULE into a `Module`: a `.wasm` or `.wat` file is compiled (through the engine's
//! cache, with the progress line); a precompiled `.cwasm` is loaded only when the user vouched
//! for it with `--allow-precompiled`, since loading one runs its machine code as it is. Which
//! kind a file is comes from its content, never from its extension.

use super::progress::Progress;
use super::report::one_line;
use std::path::Path;
use wasi_warden::wasmtime::{Engine, Module, Precompiled};

/// Reads and compiles (or, allowed, deserializes) the module at `path`. Errors are one line:
/// `cannot load module PATH: why`.
pub fn load(engine: &Engine, path: &Path, allow_precompiled: bool) -> Result<Module, String> {
    let cannot = |reason: String| {
        format!(
            "cannot load module {}: {}",
            path.display(),
            one_line(&reason)
        )
    };
    // Read it ourselves so an I/O failure reads as one plain OS message.
    let bytes = std::fs::read(path).map_err(|e| cannot(e.to_string()))?;
    match Engine::detect_precompiled(&bytes) {
        Some(Precompiled::Module) if allow_precompiled => precompiled::deserialize(engine, &bytes)
            .map_err(|e| {
                cannot(format!(
                    "it was precompiled for another engine configuration or wasmtime version \
                     ({}); compile it again with `wasi-warden compile`, the same -W/-O/-C \
                     options as this run and, if it uses --fuel or --timeout, -W fuel=1 or \
                     -W timeout=1",
                    one_line(&format!("{e:#}"))
                ))
            }),
        Some(Precompiled::Module) => Err(cannot(
            "it is precompiled (.cwasm): loading one runs its machine code unchecked, so it \
             needs --allow-precompiled, for files you compiled yourself"
                .to_owned(),
        )),
        Some(Precompiled::Component) => Err(cannot(
            "it is a precompiled component; wasi-warden runs core modules".to_owned(),
        )),
        None => {
            let _line = Progress::compiling(path);
            let compiled = if bytes.starts_with(b"\0asm") {
                Module::from_binary(engine, &bytes)
            } else {
                // Text: let wasmtime read the file again so parse errors carry its name and line.
                Module::from_file(engine, path)
            };
            compiled.map_err(|e| cannot(format!("{e:#}")))
        }
    }
}

/// The one place the CLI deserializes machine code.
mod precompiled {
    #![allow(unsafe_code)]
    use wasi_warden::wasmtime::{Engine, Module, Result};

    /// Loads a `.cwasm` made by `wasi-warden compile` (or `wasmtime compile`).
    pub fn deserialize(engine: &Engine, bytes: &[u8]) -> Result<Module> {
        // SAFETY: wasmtime checks that the bytes are one of its objects, made for this
        // engine's configuration and version, but it runs their code as it is: the user
        // vouched for the file with --allow-precompiled (`load` asks for it), which --help
        // says to pass only for files they compiled themselves.
        unsafe { Module::deserialize(engine, bytes) }
    }
}
