//! Running a command module to completion: the small helper most embedders want, and the
//! error types a stopped guest leaves behind (`I32Exit` for `proc_exit`).

use crate::ctx::WasiCtx;
use std::fmt;
use wasmtime::{Engine, Linker, Module, Store};

/// The error `proc_exit` stops the guest with; downcast a call's error to read the code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct I32Exit(pub i32);

impl fmt::Display for I32Exit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "guest exited with status {}", self.0)
    }
}

impl std::error::Error for I32Exit {}

/// How a command module's run ended.
#[derive(Debug)]
pub enum Outcome {
    /// `_start` returned, or the guest called `proc_exit`: the exit status.
    Exited(i32),
    /// The guest trapped or was stopped (a limit, a policy): the reason.
    Trapped(wasmtime::Error),
}

impl Outcome {
    /// The exit status a shell would report: the guest's, or 1 for a trap... callers that want
    /// finer statuses match on the outcome.
    pub fn exit_code(&self) -> i32 {
        match self {
            Outcome::Exited(code) => *code,
            Outcome::Trapped(_) => 1,
        }
    }

    /// Classifies the result of calling `_start`.
    pub fn from_call(result: wasmtime::Result<()>) -> Outcome {
        match result {
            Ok(()) => Outcome::Exited(0),
            Err(error) => match error.downcast_ref::<I32Exit>() {
                Some(exit) => Outcome::Exited(exit.0),
                None => Outcome::Trapped(error),
            },
        }
    }
}

/// The store data of [`run_command`]: just the guest's context.
pub struct CommandState {
    /// The guest's WASI state.
    pub wasi: WasiCtx,
}

/// Instantiates a command module with `ctx`, calls `_start` and returns how it ended together
/// with the context (so the host can read captured output and the filesystem afterwards).
/// Errors are host-side failures: a module that does not link or has no `_start`.
pub fn run_command(
    engine: &Engine,
    module: &Module,
    ctx: WasiCtx,
) -> wasmtime::Result<(Outcome, WasiCtx)> {
    let mut linker = Linker::new(engine);
    crate::add_to_linker(&mut linker, |s: &mut CommandState| &mut s.wasi)?;
    let mut store = Store::new(engine, CommandState { wasi: ctx });
    let instance = linker.instantiate(&mut store, module)?;
    let start = instance.get_typed_func::<(), ()>(&mut store, "_start")?;
    let outcome = Outcome::from_call(start.call(&mut store, ()));
    Ok((outcome, store.into_data().wasi))
}
