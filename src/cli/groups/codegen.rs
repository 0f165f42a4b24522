//! The `-C` keys (code generation and the compiled-module cache), and the refused ones with
//! why. Data for `groups.rs`, which parses and reports.

use super::{Key, NOT_BUILT, Problem, boolean, text};
use std::path::PathBuf;

pub(super) const KEYS: &[Key] = &[
    Key {
        name: "cache",
        value: "[=y|n]",
        help: "cache compiled modules (default: y, in the user's cache directory)",
        set: |o, v| {
            o.cache = Some(boolean(v)?);
            Ok(())
        },
    },
    Key {
        name: "cache-config",
        value: "=FILE",
        help: "the cache's configuration, in wasmtime's cache config format",
        set: |o, v| {
            o.cache_config = Some(PathBuf::from(text(v)?));
            Ok(())
        },
    },
    Key {
        name: "parallel-compilation",
        value: "[=y|n]",
        help: "compile functions on every core (default: y)",
        set: |o, v| {
            o.parallel_compilation = Some(boolean(v)?);
            Ok(())
        },
    },
    Key {
        name: "compiler",
        value: "=cranelift",
        help: "the code generator: cranelift, the only one in this build",
        set: |_, v| match text(v)? {
            "cranelift" | "auto" => Ok(()),
            "winch" => Err(Problem::Refused(NOT_BUILT)),
            other => Err(format!("unknown compiler `{other}`").into()),
        },
    },
    Key {
        name: "collector",
        value: "=copying",
        help: "the garbage collector: copying, the only one in this build",
        set: |_, v| match text(v)? {
            "copying" | "auto" => Ok(()),
            "drc" | "null" => Err(Problem::Refused(NOT_BUILT)),
            other => Err(format!("unknown collector `{other}`").into()),
        },
    },
    Key {
        name: "cranelift-debug-verifier",
        value: "[=y|n]",
        help: "run Cranelift's IR verifier (slow)",
        set: |o, v| {
            o.debug_verifier = Some(boolean(v)?);
            Ok(())
        },
    },
    Key {
        name: "native-unwind-info",
        value: "[=y|n]",
        help: "emit native unwind information",
        set: |o, v| {
            o.native_unwind_info = Some(boolean(v)?);
            Ok(())
        },
    },
    Key {
        name: "inlining",
        value: "[=y|n]",
        help: "inline functions while compiling",
        set: |o, v| {
            o.inlining = Some(boolean(v)?);
            Ok(())
        },
    },
];

pub(super) const REFUSED: &[(&str, &str)] = &[
    (
        "cranelift-*",
        "raw Cranelift settings go through an unsafe wasmtime API and can break the \
         guarantees compiled code relies on",
    ),
    ("pcc", NOT_BUILT),
];
