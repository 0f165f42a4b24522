//! `wasi-warden compile MODULE [-o OUT.cwasm]`, as `wasmtime compile`: the module compiled
//! ahead of time by the engine the same `-W/-O/-C` options give `run`, written as a `.cwasm`
//! that `run --allow-precompiled` loads without compiling. It writes only the output file.

use super::CompileArgs;
use super::engine;
use super::progress::Progress;
use super::report::one_line;
use std::path::PathBuf;
use wasi_warden::wasmtime::CodeBuilder;

/// Compiles `args.module` and writes the `.cwasm`. Errors: one line for the user.
pub fn compile(args: &CompileArgs) -> Result<PathBuf, String> {
    let options = args.engine.options()?;
    // A precompiled module carries no cache entry: the file is the cache.
    let built = engine::build(&options, &super::limits(&options), false)?;
    let module = &args.module;
    let cannot = |why: String| format!("cannot compile {}: {}", module.display(), one_line(&why));
    let output = match &args.output {
        Some(output) => output.clone(),
        None => {
            let name = module
                .file_name()
                .ok_or_else(|| cannot("it is not a file name".to_owned()))?;
            PathBuf::from(name).with_extension("cwasm")
        }
    };
    let compiled = {
        let _line = Progress::compiling(module);
        let mut code = CodeBuilder::new(&built.engine);
        code.wasm_binary_or_text_file(module)
            .and_then(|code| code.compile_module_serialized())
            .map_err(|e| cannot(format!("{e:#}")))?
    };
    std::fs::write(&output, compiled)
        .map_err(|e| format!("cannot write {}: {e}", output.display()))?;
    Ok(output)
}
