//! The `-W` keys (wasm semantics, limits, proposals): what each accepted one sets, and the
//! refused ones with why. Data for `groups.rs`, which parses and reports.

use super::{
    CORE_ONLY, Key, NO_SHARED_MEMORY, NOT_BUILT, boolean, duration, ignored, number, off_only, size,
};
use wasi_warden::wasmtime::WasmFeatures;

/// The proposals `-W` switches: name, wasmtime feature, what it is. All are on by default in
/// wasmtime 50 and here.
pub(super) const PROPOSALS: &[(&str, WasmFeatures, &str)] = &[
    ("bulk-memory", WasmFeatures::BULK_MEMORY, "bulk memory"),
    ("multi-value", WasmFeatures::MULTI_VALUE, "multi-value"),
    (
        "reference-types",
        WasmFeatures::REFERENCE_TYPES,
        "reference types",
    ),
    ("simd", WasmFeatures::SIMD, "128-bit SIMD"),
    ("relaxed-simd", WasmFeatures::RELAXED_SIMD, "relaxed SIMD"),
    ("tail-call", WasmFeatures::TAIL_CALL, "tail calls"),
    (
        "multi-memory",
        WasmFeatures::MULTI_MEMORY,
        "multiple memories",
    ),
    ("memory64", WasmFeatures::MEMORY64, "64-bit memories"),
    (
        "function-references",
        WasmFeatures::FUNCTION_REFERENCES,
        "typed function references",
    ),
    ("gc", WasmFeatures::GC, "garbage collection"),
    ("exceptions", WasmFeatures::EXCEPTIONS, "exception handling"),
    (
        "extended-const",
        WasmFeatures::EXTENDED_CONST,
        "extended constant expressions",
    ),
    (
        "wide-arithmetic",
        WasmFeatures::WIDE_ARITHMETIC,
        "wide arithmetic",
    ),
];

pub(super) const KEYS: &[Key] = &[
    Key {
        name: "fuel",
        value: "=N",
        help: "stop the guest after N units of fuel (our --fuel)",
        set: |o, v| {
            o.fuel = Some(number(v)?);
            Ok(())
        },
    },
    Key {
        name: "timeout",
        value: "=DUR",
        help: "stop the guest after this much wall-clock time, waits included (our --timeout)",
        set: |o, v| {
            o.timeout = Some(duration(v)?);
            Ok(())
        },
    },
    Key {
        name: "max-memory-size",
        value: "=SIZE",
        help: "stop the guest if its memories would grow past SIZE bytes together (our \
               --max-memory; wasmtime fails the grow instead)",
        set: |o, v| {
            o.max_memory_size = Some(size(v)?);
            Ok(())
        },
    },
    Key {
        name: "unknown-imports-trap",
        value: "[=y|n]",
        help: "link function imports nothing provides to functions that stop the guest when called",
        set: |o, v| {
            o.unknown_imports_trap = boolean(v)?;
            Ok(())
        },
    },
    Key {
        name: "unknown-imports-default",
        value: "[=y|n]",
        help: "link imports nothing provides to default values (functions return zeros)",
        set: |o, v| {
            o.unknown_imports_default = boolean(v)?;
            Ok(())
        },
    },
    Key {
        name: "unknown-exports-allow",
        value: "[=y|n]",
        help: "accepted, no effect: wasi-warden never refuses a module for its exports",
        set: |_, v| ignored(v),
    },
    Key {
        name: "all-proposals",
        value: "[=y|n]",
        help: "switch every proposal below at once (each one's own key wins)",
        set: |o, v| {
            o.all_proposals = Some(boolean(v)?);
            Ok(())
        },
    },
    Key {
        name: "nan-canonicalization",
        value: "[=y|n]",
        help: "canonicalise NaNs, for deterministic floating point",
        set: |o, v| {
            o.nan_canonicalization = Some(boolean(v)?);
            Ok(())
        },
    },
    Key {
        name: "relaxed-simd-deterministic",
        value: "[=y|n]",
        help: "give relaxed-SIMD instructions their deterministic results",
        set: |o, v| {
            o.relaxed_simd_deterministic = Some(boolean(v)?);
            Ok(())
        },
    },
    Key {
        name: "max-wasm-stack",
        value: "=N",
        help: "bytes of native stack wasm may use before a stack overflow trap",
        set: |o, v| {
            let n = number(v)?;
            let n = usize::try_from(n).map_err(|_| format!("{n} is too large"))?;
            o.max_wasm_stack = Some(n);
            Ok(())
        },
    },
    Key {
        name: "gc-support",
        value: "[=y|n]",
        help: "the GC runtime that the gc and exceptions proposals need",
        set: |o, v| {
            o.gc_support = Some(boolean(v)?);
            Ok(())
        },
    },
    Key {
        name: "threads",
        value: "=n",
        help: "accepted off only: shared memories are not supported",
        set: |o, v| {
            off_only(v, NO_SHARED_MEMORY)?;
            o.proposals.push((WasmFeatures::THREADS, false));
            Ok(())
        },
    },
    Key {
        name: "shared-memory",
        value: "=n",
        help: "accepted off only",
        set: |_, v| off_only(v, NO_SHARED_MEMORY),
    },
    Key {
        name: "component-model",
        value: "=n",
        help: "accepted off only",
        set: |_, v| off_only(v, CORE_ONLY),
    },
];

pub(super) const REFUSED: &[(&str, &str)] = &[
    (
        "epoch-interruption",
        "wasi-warden drives epochs itself to enforce -W timeout / --timeout",
    ),
    (
        "async-stack-size",
        "wasi-warden runs guests synchronously, without async stacks",
    ),
    (
        "async-stack-zeroing",
        "wasi-warden runs guests synchronously, without async stacks",
    ),
    ("wmemcheck", NOT_BUILT),
    (
        "max-table-elements",
        "not supported: -W max-memory-size also bounds tables",
    ),
    ("max-instances", "not supported: a run has one instance"),
    (
        "max-tables",
        "not supported: -W max-memory-size bounds tables",
    ),
    (
        "max-memories",
        "not supported: -W max-memory-size bounds memories",
    ),
    (
        "trap-on-grow-failure",
        "not supported: growth past -W max-memory-size always stops the guest",
    ),
    ("shared-everything-threads", NO_SHARED_MEMORY),
    ("stack-switching", NOT_BUILT),
    ("custom-page-sizes", NOT_BUILT),
    ("concurrency-support", CORE_ONLY),
    ("component-model-*", CORE_ONLY),
];
