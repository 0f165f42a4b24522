//! Running a command module to completion: the small helper most embedders want, the run-wide
//! limits it can enforce ([`RunLimits`]: fuel, wall-clock time, memory). How a run ended is
//! `outcome.rs`, shared with the other frontends. However the guest stops, the context comes back, so captured output and in-memory trees
//! can still be read (and saved). This layer knows nothing of the ABI or guest memory.

use crate::ctx::WasiCtx;
use crate::deadline::Deadline;
use crate::limits::{FuelExhausted, MemoryLimitExceeded, TimeLimitExceeded};
use crate::outcome::Outcome;
use std::sync::mpsc;
use std::time::{Duration, Instant};
use wasmtime::{
    Config, Engine, ExternType, Instance, Linker, Module, ResourceLimiter, Store, Trap,
    UpdateDeadline,
};

/// Run-wide limits of [`run_command_with`]. All off by default.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RunLimits {
    /// Fuel units the guest may burn (about one per wasm instruction); needs an engine with
    /// `consume_fuel` (see [`RunLimits::configure`]). Past it: [`FuelExhausted`].
    pub fuel: Option<u64>,
    /// Wall-clock time from the call of `_start`; computing code is interrupted through epochs
    /// (needs `epoch_interruption`, see [`RunLimits::configure`]) and every wait in
    /// `poll_oneoff` or on stdin wakes at the deadline. Past it: [`TimeLimitExceeded`].
    pub timeout: Option<Duration>,
    /// Bytes the guest's linear memories and tables may hold together (a table element counts
    /// as a pointer's size). Past it: [`MemoryLimitExceeded`], a trap rather than
    /// `memory.grow`'s -1, so the run stops with a message that names the limit.
    pub max_memory: Option<u64>,
}

impl RunLimits {
    /// Enables in `config` what these limits need: fuel metering for `fuel`, epoch
    /// interruption for `timeout`. Build the engine from that config.
    pub fn configure(&self, config: &mut Config) {
        if self.fuel.is_some() {
            config.consume_fuel(true);
        }
        if self.timeout.is_some() {
            config.epoch_interruption(true);
        }
    }
}

/// Counts what the guest's memories and tables hold and refuses growth past the limit.
#[derive(Debug, Default)]
struct Limiter {
    max_memory: Option<u64>,
    memory_used: u64,
    /// The last approved growth, given back if the grow then failed.
    pending: u64,
}

/// Bytes one table element costs the host (a pointer).
const TABLE_ELEMENT_BYTES: u64 = std::mem::size_of::<usize>() as u64;

impl Limiter {
    /// Charges `delta` more bytes of memory or table to the one total, or stops the guest.
    fn charge(&mut self, delta: u64, table: bool) -> wasmtime::Result<bool> {
        let total = self.memory_used.saturating_add(delta);
        if let Some(limit) = self.max_memory
            && total > limit
        {
            return Err(MemoryLimitExceeded {
                limit,
                desired: total,
                table,
            }
            .into());
        }
        self.memory_used = total;
        // Kept so that a grow the host then fails to allocate gives its charge back.
        self.pending = delta;
        Ok(true)
    }

    /// Gives back the last charge: the host could not allocate the growth it approved.
    fn give_back(&mut self) {
        self.memory_used = self.memory_used.saturating_sub(self.pending);
        self.pending = 0;
    }
}

impl ResourceLimiter for Limiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        // Past the module's own maximum: an ordinary `memory.grow` failure (-1), as without a
        // limiter; only our limit stops the run.
        if maximum.is_some_and(|m| desired > m) {
            return Ok(false);
        }
        // Charged by growth and summed over every memory and table in the store: the limit is
        // on what the guest holds in all of them.
        self.charge((desired as u64).saturating_sub(current as u64), false)
    }

    fn memory_grow_failed(&mut self, _error: wasmtime::Error) -> wasmtime::Result<()> {
        self.give_back();
        Ok(())
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if maximum.is_some_and(|m| desired > m) {
            return Ok(false);
        }
        // Charged to the same total as the memories: each table alone within the limit could
        // otherwise add up, over many tables, to many times what the host agreed to hold.
        let elements = (desired as u64).saturating_sub(current as u64);
        self.charge(elements.saturating_mul(TABLE_ELEMENT_BYTES), true)
    }

    fn table_grow_failed(&mut self, _error: wasmtime::Error) -> wasmtime::Result<()> {
        self.give_back();
        Ok(())
    }
}

/// The store data of [`run_command`]: the guest's context (and the memory limiter).
pub struct CommandState {
    /// The guest's WASI state.
    pub wasi: WasiCtx,
    limiter: Limiter,
}

/// Instantiates a command module with `ctx`, calls `_start` and returns how it ended together
/// with the context (so the host can read captured output and the filesystem afterwards).
/// Errors are host-side failures: a module that does not link or has no `_start`.
pub fn run_command(
    engine: &Engine,
    module: &Module,
    ctx: WasiCtx,
) -> wasmtime::Result<(Outcome, WasiCtx)> {
    run_command_with(engine, module, ctx, &RunLimits::default())
}

/// [`run_command`] under run-wide `limits`. The engine must have what they need enabled
/// ([`RunLimits::configure`]); fuel on an engine without it is an error, a timeout on an
/// engine without epoch interruption still stops every wait but not a busy loop.
/// A limit reached while instantiating (a memory too large from the start, a start function
/// that runs too long) is an `Outcome::Trapped`, like one reached in `_start`.
pub fn run_command_with(
    engine: &Engine,
    module: &Module,
    ctx: WasiCtx,
    limits: &RunLimits,
) -> wasmtime::Result<(Outcome, WasiCtx)> {
    check_start(module)?;
    let no_more_imports = |_: &mut Linker<CommandState>, _: &mut Store<CommandState>| Ok(());
    let call_start = |store: &mut Store<CommandState>, instance: Instance| {
        instance
            .get_typed_func::<(), ()>(&mut *store, "_start")?
            .call(store, ())
    };
    run_module_with(engine, module, ctx, limits, no_more_imports, call_start)
}

/// [`run_command_with`] for frontends that need more than `_start`: `link` adds definitions
/// after WASI's, before the module is linked (say, for imports the module names but nothing
/// provides), and `call` calls the instance's entry points; what it answers is how the run
/// ended, classified as `_start`'s result would be. Check the exports `call` needs before (as
/// `run_command_with` checks `_start`): once instantiation began, every error is the run's
/// outcome, so the context always comes back once the guest may have run.
pub fn run_module_with(
    engine: &Engine,
    module: &Module,
    ctx: WasiCtx,
    limits: &RunLimits,
    link: impl FnOnce(&mut Linker<CommandState>, &mut Store<CommandState>) -> wasmtime::Result<()>,
    call: impl FnOnce(&mut Store<CommandState>, Instance) -> wasmtime::Result<()>,
) -> wasmtime::Result<(Outcome, WasiCtx)> {
    let mut linker = Linker::new(engine);
    crate::add_to_linker(&mut linker, |s: &mut CommandState| &mut s.wasi)?;
    let (mut store, _ticker) = start_run(engine, ctx, limits)?;
    // Linking is the host's business (an unknown import is "cannot run"); from the start
    // function on, everything that stops the guest is how its run ended.
    link(&mut linker, &mut store)?;
    let pre = linker.instantiate_pre(module)?;
    let outcome = match pre.instantiate(&mut store) {
        Ok(instance) => {
            bind_sole_instance(&mut store, instance);
            let result = call(&mut store, instance);
            Outcome::from_call(result.map_err(|e| name_stop(e, limits)))
        }
        // A trap, a limit, a policy stop or `proc_exit` in the module's start function (which
        // ends the run with that status, as under wasmtime).
        Err(error) => Outcome::from_call(Err(name_stop(error, limits))),
    };
    Ok((outcome, finish_run(store)))
}

/// [`run_command`] on the async linker (feature `async`); see [`run_command_async_with`].
#[cfg(feature = "async")]
pub async fn run_command_async(
    engine: &Engine,
    module: &Module,
    ctx: WasiCtx,
) -> wasmtime::Result<(Outcome, WasiCtx)> {
    run_command_async_with(engine, module, ctx, &RunLimits::default()).await
}

/// [`run_command_with`] on the async linker (feature `async`): `_start` runs as a future on
/// the caller's tokio runtime, and every wait of the guest suspends it instead of blocking the
/// runtime's thread (see [`crate::add_to_linker_async`]). The same limits apply, the same way.
/// If the future is dropped (a request timeout), the guest stops at its next await: what it
/// wrote so far stays in the streams and filesystems the host holds, each call whole.
#[cfg(feature = "async")]
pub async fn run_command_async_with(
    engine: &Engine,
    module: &Module,
    ctx: WasiCtx,
    limits: &RunLimits,
) -> wasmtime::Result<(Outcome, WasiCtx)> {
    check_start(module)?;
    let mut linker = Linker::new(engine);
    crate::add_to_linker_async(&mut linker, |s: &mut CommandState| &mut s.wasi)?;
    let (mut store, _ticker) = start_run(engine, ctx, limits)?;
    let pre = linker.instantiate_pre(module)?;
    let outcome = match pre.instantiate_async(&mut store).await {
        Ok(instance) => {
            bind_sole_instance(&mut store, instance);
            let result = match instance.get_typed_func::<(), ()>(&mut store, "_start") {
                Ok(start) => start.call_async(&mut store, ()).await,
                Err(error) => Err(error),
            };
            Outcome::from_call(result.map_err(|e| name_stop(e, limits)))
        }
        Err(error) => Outcome::from_call(Err(name_stop(error, limits))),
    };
    Ok((outcome, finish_run(store)))
}

/// The store of one run: the context with its deadline set from the run's timeout, the memory
/// limiter, fuel, and the epoch ticker that interrupts computing code at the deadline (stopped
/// when the returned ticker is dropped).
fn start_run(
    engine: &Engine,
    ctx: WasiCtx,
    limits: &RunLimits,
) -> wasmtime::Result<(Store<CommandState>, Option<Ticker>)> {
    // A timeout too large for `Instant` is no deadline at all.
    let timeout = limits
        .timeout
        .filter(|t| Instant::now().checked_add(*t).is_some());
    // Set before the store exists: instantiation, and a start function that runs in it,
    // are part of the run and under its deadline.
    ctx.deadline()
        .set(timeout.and_then(|t| Instant::now().checked_add(t)));
    // Shared with every wait of the guest and its prompts, which may postpone it.
    let deadline = ctx.clocks.deadline_handle().clone();
    let limiter = Limiter {
        max_memory: limits.max_memory,
        ..Limiter::default()
    };
    let mut store = Store::new(engine, CommandState { wasi: ctx, limiter });
    store.limiter(|s| &mut s.limiter);
    if let Some(fuel) = limits.fuel {
        store.set_fuel(fuel)?;
    }
    let ticker = timeout.map(|limit| {
        // One tick: the callback runs at the ticker's first bump and decides for itself.
        store.set_epoch_deadline(1);
        let at = deadline.clone();
        store.epoch_deadline_callback(move |_| {
            // Another store's ticker may bump the shared epoch: only our deadline stops us.
            if at.passed() {
                Err(TimeLimitExceeded { limit: Some(limit) }.into())
            } else {
                // Not passed (or postponed by a prompt): look again at the next bump.
                Ok(UpdateDeadline::Continue(1))
            }
        });
        Ticker::start(engine.clone(), deadline.clone())
    });
    Ok((store, ticker))
}

/// This store holds this one instance: its memory is every caller's memory.
fn bind_sole_instance(store: &mut Store<CommandState>, instance: Instance) {
    let memory = instance.get_memory(&mut *store, "memory");
    store.data_mut().wasi.bind_sole_memory(memory);
}

/// The context back from a finished run, carrying nothing of it into another.
fn finish_run(store: Store<CommandState>) -> WasiCtx {
    let mut ctx = store.into_data().wasi;
    // Cleared, so the context carries no stale deadline into another run.
    ctx.deadline().set(None);
    // The memory belongs to this store and would panic in another (`bind_sole_instance`).
    ctx.bind_sole_memory(None);
    ctx
}

/// A module without `_start` is the host's mistake, refused before anything runs.
fn check_start(module: &Module) -> wasmtime::Result<()> {
    match module.get_export("_start") {
        Some(ExternType::Func(ty)) if ty.params().len() == 0 && ty.results().len() == 0 => Ok(()),
        _ => {
            wasmtime::bail!("the module exports no `_start` function taking and returning nothing")
        }
    }
}

/// Gives wasmtime's own limit traps our typed errors (downcasting to `Trap` still works).
fn name_stop(error: wasmtime::Error, limits: &RunLimits) -> wasmtime::Error {
    match (error.downcast_ref::<Trap>(), limits) {
        (
            Some(Trap::OutOfFuel),
            RunLimits {
                fuel: Some(fuel), ..
            },
        ) => {
            let fuel = *fuel;
            error.context(FuelExhausted { fuel })
        }
        (Some(Trap::Interrupt), RunLimits { timeout, .. }) if timeout.is_some() => {
            let limit = *timeout;
            error.context(TimeLimitExceeded { limit })
        }
        _ => error,
    }
}

/// A thread that bumps the engine's epoch once the deadline passed (and every 10 ms after, in
/// case a bump raced with the callback), until dropped. It re-reads the shared deadline after
/// every wait, so a prompt that postponed it is honoured.
struct Ticker {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Ticker {
    fn start(engine: Engine, deadline: Deadline) -> Ticker {
        let (stop, stopped) = mpsc::channel::<()>();
        // Re-read after every wait: a prompt may have postponed the deadline meanwhile. With none
        // set, the thread only wakes hourly.
        let left = move || deadline.remaining().unwrap_or(Duration::from_secs(3600));
        let thread = std::thread::spawn(move || {
            let mut wait = left();
            // Only a disconnect (the run ended) or a timeout can end a wait.
            while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(wait) {
                wait = left();
                if wait.is_zero() {
                    engine.increment_epoch();
                    wait = Duration::from_millis(10);
                }
            }
        });
        Ticker {
            stop: Some(stop),
            thread: Some(thread),
        }
    }
}

impl Drop for Ticker {
    fn drop(&mut self) {
        // Disconnecting wakes the thread at once; joining it means no bump lands after the run.
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
