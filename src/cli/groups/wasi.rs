//! The `-S` keys (what WASI grants): the ones that map onto our grants, the ones accepted only
//! off, and the refused ones with why. Data for `groups.rs`, which parses and reports.

use super::{
    CORE_ONLY, Key, NO_SHARED_MEMORY, PREVIEW1_ONLY, boolean, ignored, off_only, on_only, text,
};

pub(super) const KEYS: &[Key] = &[
    Key {
        name: "inherit-env",
        value: "[=y|n]",
        help: "give the guest every host environment variable (--env still sets or overrides)",
        set: |o, v| {
            o.inherit_env = boolean(v)?;
            Ok(())
        },
    },
    Key {
        name: "tcplisten",
        value: "=ADDR:PORT",
        help: "listen on ADDR:PORT and give the guest the socket (our --tcplisten); repeatable",
        set: |o, v| {
            o.tcplisten.push(text(v)?.to_owned());
            Ok(())
        },
    },
    Key {
        name: "cli",
        value: "=y",
        help: "accepted on only: WASI preview1 is always linked",
        set: |_, v| on_only(v, "wasi-warden always links WASI preview1"),
    },
    Key {
        name: "common",
        value: "=y",
        help: "wasmtime's old name of cli",
        set: |_, v| on_only(v, "wasi-warden always links WASI preview1"),
    },
    Key {
        name: "preview2",
        value: "[=y|n]",
        help: "accepted, no effect: chooses among wasmtime's own implementations",
        set: |_, v| ignored(v),
    },
    Key {
        name: "tcp",
        value: "[=y|n]",
        help: "accepted, no effect: preview1 guests cannot create sockets, only use \
               -S tcplisten ones",
        set: |_, v| ignored(v),
    },
    Key {
        name: "udp",
        value: "[=y|n]",
        help: "accepted, no effect: preview1 guests cannot create sockets",
        set: |_, v| ignored(v),
    },
    Key {
        name: "cli-exit-with-code",
        value: "[=y|n]",
        help: "accepted, no effect: preview1's proc_exit already carries any status",
        set: |_, v| ignored(v),
    },
    Key {
        name: "network-error-code",
        value: "[=y|n]",
        help: "accepted, no effect: a component-model API",
        set: |_, v| ignored(v),
    },
    Key {
        name: "inherit-network",
        value: "=n",
        help: "accepted off only",
        set: |_, v| {
            off_only(
                v,
                "it would open the host's whole network to the guest; grant listening \
                 sockets with -S tcplisten=ADDR",
            )
        },
    },
    Key {
        name: "allow-ip-name-lookup",
        value: "=n",
        help: "accepted off only",
        set: |_, v| off_only(v, "wasi-warden grants no name lookups (DNS) to guests"),
    },
    Key {
        name: "listenfd",
        value: "=n",
        help: "accepted off only",
        set: |_, v| {
            off_only(
                v,
                "it would hand the guest the host's inherited descriptors and environment; \
                 use -S tcplisten=ADDR",
            )
        },
    },
    Key {
        name: "preview0",
        value: "=n",
        help: "accepted off only",
        set: |_, v| off_only(v, "wasi-warden does not implement wasi_unstable"),
    },
    Key {
        name: "p3",
        value: "=n",
        help: "accepted off only",
        set: |_, v| off_only(v, CORE_ONLY),
    },
    Key {
        name: "nn",
        value: "=n",
        help: "accepted off only",
        set: |_, v| off_only(v, PREVIEW1_ONLY),
    },
    Key {
        name: "threads",
        value: "=n",
        help: "accepted off only",
        set: |_, v| off_only(v, NO_SHARED_MEMORY),
    },
    Key {
        name: "http",
        value: "=n",
        help: "accepted off only",
        set: |_, v| off_only(v, PREVIEW1_ONLY),
    },
    Key {
        name: "config",
        value: "=n",
        help: "accepted off only",
        set: |_, v| off_only(v, PREVIEW1_ONLY),
    },
    Key {
        name: "keyvalue",
        value: "=n",
        help: "accepted off only",
        set: |_, v| off_only(v, PREVIEW1_ONLY),
    },
    Key {
        name: "tls",
        value: "=n",
        help: "accepted off only",
        set: |_, v| off_only(v, PREVIEW1_ONLY),
    },
];

const BOUNDED_HERE: &str = "not supported: wasi-warden bounds guest-sized host work itself \
                            (--fs-quota, output limits, per-call copy budgets)";

pub(super) const REFUSED: &[(&str, &str)] = &[
    ("config-var", PREVIEW1_ONLY),
    ("keyvalue-in-memory-data", PREVIEW1_ONLY),
    ("nn-graph", PREVIEW1_ONLY),
    ("http-outgoing-body-buffer-chunks", PREVIEW1_ONLY),
    ("http-outgoing-body-chunk-size", PREVIEW1_ONLY),
    ("max-http-fields-size", PREVIEW1_ONLY),
    ("max-resources", BOUNDED_HERE),
    ("hostcall-fuel", BOUNDED_HERE),
    ("max-random-size", BOUNDED_HERE),
];
