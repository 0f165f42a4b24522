//! `wasi-warden`, the command-line runner: parses flags (`cli/`), grants the guest what they
//! say through the public `WasiCtx` builder, runs the module and turns how it ended into an exit
//! status. It must not grant anything the flags (and the documented CLI defaults) do not ask
//! for, and it never writes to the host filesystem but for the files it is told to write
//! (`--audit`, `--save-fs`, `compile -o`), the compiled-module cache, and the guest's own
//! writes to `--dir` mounts.

#![deny(unsafe_code)]

mod cli;

use clap::Parser;
use cli::grants::{SetupError, build_ctx, save_tree};
use cli::report::{EXIT_USAGE, fail, note};
use cli::{Cli, Command, RunArgs};
use std::process::ExitCode;
use wasi_warden::CommandState;
use wasi_warden::wasmtime::{Instance, Linker, Store, Trap};
use wasi_warden::{Outcome, WasiCtx};

fn main() -> ExitCode {
    cli::report::report_panics_escaped();
    let Cli { command } = Cli::parse();
    match command {
        Command::Run(args) => run(*args),
        Command::Compile(args) => {
            if let Some(group) = args.engine.help_request() {
                print!("{}", cli::groups::help(group));
                return ExitCode::SUCCESS;
            }
            match cli::compile::compile(&args) {
                Ok(_) => ExitCode::SUCCESS,
                Err(message) => fail(EXIT_USAGE, &message),
            }
        }
    }
}

fn run(args: RunArgs) -> ExitCode {
    if let Some(group) = args.help_request() {
        print!("{}", cli::groups::help(group));
        return ExitCode::SUCCESS;
    }
    let options = match args.options() {
        Ok(options) => options,
        Err(message) => return fail(EXIT_USAGE, &message),
    };
    let limits = cli::limits(&options);
    let built = match cli::engine::build(&options, &limits, true) {
        Ok(built) => built,
        Err(message) => return fail(EXIT_USAGE, &message),
    };
    if let Some(warning) = &built.cache_warning {
        note(warning);
    }
    // Load first: a typo in the module path should not cost copying a large --mem-dir.
    let engine = &built.engine;
    let module = match cli::load::load(engine, args.module(), args.allow_precompiled) {
        Ok(module) => module,
        Err(message) => return fail(EXIT_USAGE, &message),
    };
    if args.cache_stats {
        note(&cli::cache::stats(built.cache.as_ref()));
    }
    let entry = match cli::invoke::plan(&module, args.invoke.as_deref(), args.guest_args()) {
        Ok(entry) => entry,
        Err(message) => return fail(EXIT_USAGE, &message),
    };
    let (ctx, to_save) = match build_ctx(&args, &options) {
        Ok(built) => built,
        Err(SetupError(message)) => return fail(EXIT_USAGE, &message),
    };
    let mut results = Vec::new();
    let link = |linker: &mut Linker<CommandState>, store: &mut Store<CommandState>| {
        // As wasmtime: traps first, so default values fill only what is still missing.
        if options.unknown_imports_trap {
            linker.define_unknown_imports_as_traps(&module)?;
        }
        if options.unknown_imports_default {
            linker.define_unknown_imports_as_default_values(store, &module)?;
        }
        Ok(())
    };
    let call = |store: &mut Store<CommandState>, instance: Instance| {
        entry.call(store, instance, &mut results)
    };
    let ran = wasi_warden::run_module_with(engine, &module, ctx, &limits, link, call);
    let status = finish(&args, &options, ran);
    // wasmtime prints an invoked function's results after it returned.
    if !results.is_empty() {
        print!("{}", cli::invoke::show(&results));
    }
    // However the guest ended, its tree is saved.
    match (&args.save_fs, to_save) {
        (Some(path), Some(fs)) => match save_tree(&fs, path) {
            Ok(()) => status,
            Err(SetupError(message)) => fail(EXIT_USAGE, &message),
        },
        _ => status,
    }
}

/// Turns how the run ended into the process's exit status (reporting stops in one line).
fn finish(
    args: &RunArgs,
    options: &cli::groups::Options,
    result: wasi_warden::wasmtime::Result<(Outcome, WasiCtx)>,
) -> ExitCode {
    let timeout = options.timeout;
    match result {
        Ok((Outcome::Exited(code), _ctx)) => cli::report::guest_exit_status(code),
        Ok((Outcome::Trapped(error), _ctx)) => cli::report::trapped(&error, timeout),
        // A trap in the module's start function surfaces while instantiating.
        Err(error) if error.downcast_ref::<Trap>().is_some() => {
            cli::report::trapped(&error, timeout)
        }
        Err(error) => fail(
            EXIT_USAGE,
            &format!(
                "cannot run module {}: {}",
                args.module().display(),
                cli::report::one_line(&format!("{error:#}"))
            ),
        ),
    }
}
