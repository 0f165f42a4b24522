//! The Rust linker: one `func_wrap` per preview1 import that finds guest memory and hands its
//! bytes and the guest's `WasiCtx` to the import's entry point (`entry.rs`, shared with the
//! C API). Written by hand (not wiggle's wasmtime integration) so that this hot path stays
//! ours to optimise: under `run_command`, whose store holds one instance, the caller's memory
//! is the cached `Memory` itself; otherwise each call looks it up by name in the caller.

pub use crate::ctx::AlreadyBound;
use crate::ctx::WasiCtx;
pub use crate::entry::MODULE;
use wasmtime::{Caller, Extern, Linker, Memory};

/// Finds the caller's exported memory (the async linker's too).
#[inline]
pub(crate) fn find_memory<T: 'static>(
    caller: &mut Caller<'_, T>,
    get: &impl Fn(&mut T) -> &mut WasiCtx,
) -> wasmtime::Result<Memory> {
    let ctx = get(caller.data_mut());
    // The embedder's promise (`bind_sole_instance`): no search of the store's registry,
    // the largest cost of a small call otherwise.
    if let Some(memory) = ctx.sole_memory() {
        return Ok(memory);
    }
    // By name, in the caller itself, so that two instances (or two modules) sharing one
    // context each get their own memory. Not by `ModuleExport` index: wasmtime's index lookup
    // panics when the import is called from the host (`Func::call` on a re-exported import,
    // where the caller is no wasm instance), while the name lookup answers `None` there.
    match caller.get_export("memory") {
        Some(Extern::Memory(memory)) => Ok(memory),
        // Refused, not served: every call checks guest memory and then uses it, which holds
        // only if no other thread can change it in between.
        Some(Extern::SharedMemory(_)) => {
            wasmtime::bail!("wasi-warden does not support shared guest memory")
        }
        // A host-side error: never a guess at some other memory.
        _ => wasmtime::bail!("the guest has no exported memory named \"memory\""),
    }
}

/// One `func_wrap` of the syscall table: the import's raw signature around its entry point
/// (`entry.rs`, the same for every frontend); `exit` is `proc_exit`, which returns nothing.
macro_rules! link_one {
    ($linker:ident, $get:ident, exit, $name:ident, ($($raw:ident: $rawty:ty),*)) => {
        $linker.func_wrap(
            MODULE,
            stringify!($name),
            move |mut caller: Caller<'_, T>, $($raw: $rawty),*| -> wasmtime::Result<()> {
                let memory = find_memory(&mut caller, &$get)?;
                let (bytes, data) = memory.data_and_store_mut(&mut caller);
                crate::entry::$name($get(data), bytes, $($raw),*)
            },
        )?;
    };
    ($linker:ident, $get:ident, $kind:ident, $name:ident, ($($raw:ident: $rawty:ty),*)) => {
        $linker.func_wrap(
            MODULE,
            stringify!($name),
            move |mut caller: Caller<'_, T>, $($raw: $rawty),*| -> wasmtime::Result<i32> {
                let memory = find_memory(&mut caller, &$get)?;
                // One call hands out both borrows: the memory's bytes and the store's data
                // cannot be held together any other way.
                let (bytes, data) = memory.data_and_store_mut(&mut caller);
                crate::entry::$name($get(data), bytes, $($raw),*)
            },
        )?;
    };
}

/// Defines every `wasi_snapshot_preview1` import in `linker`. `get` finds the guest's
/// [`WasiCtx`] in the store's data.
///
/// ```no_run
/// # fn main() -> wasmtime::Result<()> {
/// struct State { wasi: wasi_warden::WasiCtx }
/// let engine = wasmtime::Engine::default();
/// let mut linker = wasmtime::Linker::<State>::new(&engine);
/// wasi_warden::add_to_linker(&mut linker, |s: &mut State| &mut s.wasi)?;
/// # Ok(()) }
/// ```
pub fn add_to_linker<T: 'static>(
    linker: &mut Linker<T>,
    get: impl Fn(&mut T) -> &mut WasiCtx + Send + Sync + Copy + 'static,
) -> wasmtime::Result<()> {
    // Every row of the syscall table (`crate::syscalls`), in its order.
    macro_rules! link_all {
        ($($name:ident => $variant:ident, $group:ident, $kind:ident, $raw:tt, $typed:tt -> $ret:ty;)*) => {
            $(link_one!(linker, get, $kind, $name, $raw);)*
        };
    }
    crate::syscalls::for_each_syscall!(link_all);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stdio::Output;
    use wasmtime::{Engine, Module, Store};

    /// A module whose `run` (and `_start`) writes `text`, kept at offset 16 of its memory.
    fn writer(engine: &Engine, text: &str) -> Module {
        let wat = format!(
            r#"(module
              (import "wasi_snapshot_preview1" "fd_write"
                (func $w (param i32 i32 i32 i32) (result i32)))
              (memory (export "memory") 1)
              (data (i32.const 16) "{text}")
              (func $run (export "run")
                (i32.store (i32.const 0) (i32.const 16))
                (i32.store (i32.const 4) (i32.const {len}))
                (drop (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8))))
              (func (export "_start") (call $run)))"#,
            len = text.len()
        );
        Module::new(engine, wat).unwrap()
    }

    fn run(store: &mut Store<WasiCtx>, instance: wasmtime::Instance) {
        let run = instance
            .get_typed_func::<(), ()>(&mut *store, "run")
            .unwrap();
        run.call(store, ()).unwrap();
    }

    #[test]
    fn every_caller_sharing_a_bound_context_writes_from_its_own_memory() {
        let engine = Engine::default();
        let (a, b) = (writer(&engine, "AAAA"), writer(&engine, "BB"));
        let out = Output::capture().build();
        let ctx = WasiCtx::builder().stdout(out.clone()).build();
        let mut linker = Linker::new(&engine);
        add_to_linker(&mut linker, |c: &mut WasiCtx| c).unwrap();
        let mut store = Store::new(&engine, ctx);
        let a1 = linker.instantiate(&mut store, &a).unwrap();
        let a2 = linker.instantiate(&mut store, &a).unwrap();
        let b1 = linker.instantiate(&mut store, &b).unwrap();
        let memory = a2.get_memory(&mut store, "memory").unwrap();
        memory.write(&mut store, 16, b"ZZZZ").unwrap();
        // Two instances of the bound module, then one of another module (the name lookup).
        for instance in [a1, a2, b1] {
            run(&mut store, instance);
        }
        assert_eq!(out.contents(), b"AAAAZZZZBB");
    }

    #[test]
    fn a_context_back_from_run_command_works_in_another_store() {
        let engine = Engine::default();
        let (a, b) = (writer(&engine, "AAAA"), writer(&engine, "BB"));
        let out = Output::capture().build();
        let ctx = WasiCtx::builder().stdout(out.clone()).build();
        let (outcome, ctx) = crate::run_command(&engine, &a, ctx).unwrap();
        assert_eq!(outcome.exit_code(), 0);
        // The run's cached memory belonged to its store: using it here would panic.
        let mut linker = Linker::new(&engine);
        add_to_linker(&mut linker, |c: &mut WasiCtx| c).unwrap();
        let mut store = Store::new(&engine, ctx);
        let instance = linker.instantiate(&mut store, &b).unwrap();
        run(&mut store, instance);
        assert_eq!(out.contents(), b"AAAABB");
    }

    /// (name, raw parameter types, whether it returns an errno) of every table row.
    macro_rules! raw_signatures {
        ($($name:ident => $variant:ident, $group:ident, $kind:ident, ($($raw:ident: $rawty:ty),*), $typed:tt -> $ret:ty;)*) => {
            &[$((stringify!($name), &[$(stringify!($rawty)),*], stringify!($kind)),)*]
        };
    }

    #[test]
    fn the_syscall_table_is_what_guests_import_and_the_witx_declares() {
        let rows: &[(&str, &[&str], &str)] = crate::syscalls::for_each_syscall!(raw_signatures);
        // The witx's functions, in order, are the table's rows.
        let witx = include_str!("../witx/wasi_snapshot_preview1.witx");
        let declared: Vec<&str> = witx
            .split("(@interface func (export \"")
            .skip(1)
            .filter_map(|rest| rest.split('"').next())
            .collect();
        let names: Vec<&str> = rows.iter().map(|r| r.0).collect();
        assert_eq!(names, declared);
        assert_eq!(names.len(), crate::policy::Syscall::ALL.len());
        for (row, syscall) in rows.iter().zip(crate::policy::Syscall::ALL) {
            assert_eq!(row.0, syscall.as_str());
        }
        // A module importing every row with its raw signature links against our linker.
        let mut wat = String::from("(module\n");
        for (name, params, kind) in rows {
            let result = if *kind == "exit" { "" } else { "(result i32)" };
            wat += &format!(
                "(import \"wasi_snapshot_preview1\" \"{name}\" (func (param {}) {result}))\n",
                params.join(" ")
            );
        }
        wat += "(memory (export \"memory\") 1))";
        let engine = Engine::default();
        let module = Module::new(&engine, &wat).unwrap();
        assert_eq!(module.imports().len(), 46);
        let mut linker = Linker::new(&engine);
        add_to_linker(&mut linker, |c: &mut WasiCtx| c).unwrap();
        let mut store = Store::new(&engine, WasiCtx::builder().build());
        linker.instantiate(&mut store, &module).unwrap();
    }

    #[test]
    fn an_import_called_from_the_host_is_an_error_not_a_panic() {
        // The module re-exports our imports: calling them with `Func::call` runs them with no
        // wasm frame above, where wasmtime has no caller instance to find a memory in.
        let engine = Engine::default();
        let module = Module::new(
            &engine,
            r#"(module
              (import "wasi_snapshot_preview1" "fd_write"
                (func $w (param i32 i32 i32 i32) (result i32)))
              (import "wasi_snapshot_preview1" "proc_exit" (func $x (param i32)))
              (import "wasi_snapshot_preview1" "path_open"
                (func $o (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
              (memory (export "memory") 1)
              (export "w" (func $w))
              (export "x" (func $x))
              (export "o" (func $o)))"#,
        )
        .unwrap();
        let mut linker = Linker::new(&engine);
        add_to_linker(&mut linker, |c: &mut WasiCtx| c).unwrap();
        {
            let ctx = WasiCtx::builder().build();
            let mut store = Store::new(&engine, ctx);
            let instance = linker.instantiate(&mut store, &module).unwrap();
            let w = instance
                .get_typed_func::<(i32, i32, i32, i32), i32>(&mut store, "w")
                .unwrap();
            let called = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                w.call(&mut store, (1, 0, 0, 8))
            }));
            let result = called.expect("calling an import from the host must not panic");
            // With no memory to find, the call fails; it never reads the wrong memory.
            assert!(result.is_err(), "{result:?}");
            let x = instance.get_typed_func::<i32, ()>(&mut store, "x").unwrap();
            let called =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| x.call(&mut store, 3)));
            assert!(called.expect("no panic").is_err());
            let o = instance
                .get_typed_func::<(i32, i32, i32, i32, i32, i64, i64, i32, i32), i32>(
                    &mut store, "o",
                )
                .unwrap();
            let called = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                o.call(&mut store, (3, 0, 0, 1, 0, 0, 0, 0, 8))
            }));
            assert!(called.expect("no panic").is_err());
        }
    }

    #[test]
    fn a_sole_instance_binding_is_used_refused_twice_and_undone() {
        let engine = Engine::default();
        let a = writer(&engine, "AAAA");
        let out = Output::capture().build();
        let ctx = WasiCtx::builder().stdout(out.clone()).build();
        let mut linker = Linker::new(&engine);
        add_to_linker(&mut linker, |c: &mut WasiCtx| c).unwrap();
        let mut store = Store::new(&engine, ctx);
        let instance = linker.instantiate(&mut store, &a).unwrap();
        let memory = instance.get_memory(&mut store, "memory").unwrap();
        store.data_mut().bind_sole_instance(memory).unwrap();
        assert_eq!(
            store.data_mut().bind_sole_instance(memory),
            Err(AlreadyBound)
        );
        run(&mut store, instance);
        // The bound memory is what calls use, even for a caller that is not its instance:
        // that is the promise the embedder made.
        let other = linker
            .instantiate(&mut store, &writer(&engine, "BB"))
            .unwrap();
        run(&mut store, other);
        store.data_mut().unbind_instance();
        run(&mut store, other);
        assert_eq!(out.contents(), b"AAAAAAAABB");
        // Unbound, the context serves in another store.
        let ctx = store.into_data();
        let mut store = Store::new(&engine, ctx);
        let instance = linker.instantiate(&mut store, &a).unwrap();
        run(&mut store, instance);
        assert_eq!(out.contents(), b"AAAAAAAABBAAAA");
    }
}
