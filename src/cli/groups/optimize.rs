//! The `-O` keys (optimisation and memory layout), and the refused ones with why. Data for
//! `groups.rs`, which parses and reports.

use super::{Key, boolean, size, text};
use wasi_warden::wasmtime::{OptLevel, RegallocAlgorithm};

pub(super) const KEYS: &[Key] = &[
    Key {
        name: "opt-level",
        value: "=0|1|2|s",
        help: "Cranelift's optimisation level (default: 2)",
        set: |o, v| {
            let level = match text(v)? {
                "0" => OptLevel::None,
                "1" | "2" => OptLevel::Speed,
                "s" => OptLevel::SpeedAndSize,
                other => return Err(format!("unknown level `{other}`: use 0, 1, 2 or s").into()),
            };
            o.opt_level = Some(level);
            Ok(())
        },
    },
    Key {
        name: "regalloc-algorithm",
        value: "=backtracking|single-pass",
        help: "Cranelift's register allocator",
        set: |o, v| {
            let algorithm = match text(v)? {
                "backtracking" => RegallocAlgorithm::Backtracking,
                "single-pass" => RegallocAlgorithm::SinglePass,
                other => return Err(format!("unknown algorithm `{other}`").into()),
            };
            o.regalloc = Some(algorithm);
            Ok(())
        },
    },
    Key {
        name: "memory-reservation",
        value: "=N",
        help: "bytes of address space reserved for each linear memory",
        set: |o, v| {
            o.memory_reservation = Some(size(v)?);
            Ok(())
        },
    },
    Key {
        name: "memory-reservation-for-growth",
        value: "=N",
        help: "bytes reserved past a memory's end for it to grow into",
        set: |o, v| {
            o.memory_reservation_for_growth = Some(size(v)?);
            Ok(())
        },
    },
    Key {
        name: "memory-guard-size",
        value: "=N",
        help: "bytes of guard pages after each linear memory",
        set: |o, v| {
            o.memory_guard_size = Some(size(v)?);
            Ok(())
        },
    },
    Key {
        name: "memory-may-move",
        value: "[=y|n]",
        help: "whether a growing memory may move in the host's address space",
        set: |o, v| {
            o.memory_may_move = Some(boolean(v)?);
            Ok(())
        },
    },
    Key {
        name: "guard-before-linear-memory",
        value: "[=y|n]",
        help: "a guard region before each linear memory too",
        set: |o, v| {
            o.guard_before_linear_memory = Some(boolean(v)?);
            Ok(())
        },
    },
    Key {
        name: "table-lazy-init",
        value: "[=y|n]",
        help: "initialise tables lazily (faster instantiation)",
        set: |o, v| {
            o.table_lazy_init = Some(boolean(v)?);
            Ok(())
        },
    },
    Key {
        name: "memory-init-cow",
        value: "[=y|n]",
        help: "initialise memories through copy-on-write mappings",
        set: |o, v| {
            o.memory_init_cow = Some(boolean(v)?);
            Ok(())
        },
    },
    Key {
        name: "memory-guaranteed-dense-image-size",
        value: "=N",
        help: "up to this size, memory images are always dense",
        set: |o, v| {
            o.dense_image_size = Some(size(v)?);
            Ok(())
        },
    },
    Key {
        name: "signals-based-traps",
        value: "[=y|n]",
        help: "catch out-of-bounds accesses with signals rather than explicit checks",
        set: |o, v| {
            o.signals_based_traps = Some(boolean(v)?);
            Ok(())
        },
    },
];

const DEPRECATED: &str = "deprecated by wasmtime: use memory-reservation, \
                          memory-reservation-for-growth, memory-guard-size or memory-may-move";

pub(super) const REFUSED: &[(&str, &str)] = &[
    ("pooling-*", "the pooling allocator is not in this build"),
    ("dynamic-memory-guard-size", DEPRECATED),
    ("static-memory-guard-size", DEPRECATED),
    ("static-memory-forced", DEPRECATED),
    ("static-memory-maximum-size", DEPRECATED),
    ("dynamic-memory-reserved-for-growth", DEPRECATED),
];
