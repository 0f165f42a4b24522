//! wasmtime's option groups — `-W` (wasm), `-S` (WASI), `-C` (codegen), `-O` (optimize) —
//! each `KEY[=VAL][,KEY[=VAL]...]` with wasmtime's key names and value syntax, parsed into
//! [`Options`]. Every key of these groups in wasmtime's `cli-flags` (49–50) is accepted (mapped
//! onto our engine settings or grants), accepted only in the setting that grants nothing, or
//! refused with the reason;
//! anything else is an unknown key. The keys of each group are data in `groups/` (one file per
//! group); this file parses and reports. Pure string work: nothing here reads the host or
//! grants.

mod codegen;
mod optimize;
mod wasi;
mod wasm;

use super::values::{SizeLimit, Timeout};
use std::path::PathBuf;
use std::time::Duration;
use wasi_warden::wasmtime::{OptLevel, RegallocAlgorithm, WasmFeatures};

/// One of the four groups.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Group {
    /// `-W`: wasm semantics, limits and proposals.
    Wasm,
    /// `-S`: what WASI grants.
    Wasi,
    /// `-C`: code generation and the compiled-module cache.
    Codegen,
    /// `-O`: optimisation and memory layout.
    Optimize,
}

impl Group {
    /// The short flag, as wasmtime spells it.
    pub fn flag(self) -> &'static str {
        match self {
            Group::Wasm => "-W",
            Group::Wasi => "-S",
            Group::Codegen => "-C",
            Group::Optimize => "-O",
        }
    }

    fn keys(self) -> &'static [Key] {
        match self {
            Group::Wasm => wasm::KEYS,
            Group::Wasi => wasi::KEYS,
            Group::Codegen => codegen::KEYS,
            Group::Optimize => optimize::KEYS,
        }
    }

    fn refused(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Group::Wasm => wasm::REFUSED,
            Group::Wasi => wasi::REFUSED,
            Group::Codegen => codegen::REFUSED,
            Group::Optimize => optimize::REFUSED,
        }
    }
}

/// Everything the groups asked for; `None`/empty means "as by default".
#[derive(Debug, Default, Clone)]
pub struct Options {
    /// `-W fuel=N`.
    pub fuel: Option<u64>,
    /// `-W timeout=DUR`.
    pub timeout: Option<Duration>,
    /// `-W max-memory-size=SIZE`.
    pub max_memory_size: Option<u64>,
    /// `-W unknown-imports-trap`.
    pub unknown_imports_trap: bool,
    /// `-W unknown-imports-default`.
    pub unknown_imports_default: bool,
    /// `-W all-proposals`.
    pub all_proposals: Option<bool>,
    /// Proposals switched one by one, in command-line order (the last word wins).
    pub proposals: Vec<(WasmFeatures, bool)>,
    /// `-W nan-canonicalization`.
    pub nan_canonicalization: Option<bool>,
    /// `-W relaxed-simd-deterministic`.
    pub relaxed_simd_deterministic: Option<bool>,
    /// `-W max-wasm-stack=N`.
    pub max_wasm_stack: Option<usize>,
    /// `-W gc-support`.
    pub gc_support: Option<bool>,
    /// `-S inherit-env`.
    pub inherit_env: bool,
    /// `-S tcplisten=ADDR`, repeatable.
    pub tcplisten: Vec<String>,
    /// `-C cache`.
    pub cache: Option<bool>,
    /// `-C cache-config=FILE`.
    pub cache_config: Option<PathBuf>,
    /// `-C parallel-compilation`.
    pub parallel_compilation: Option<bool>,
    /// `-C cranelift-debug-verifier`.
    pub debug_verifier: Option<bool>,
    /// `-C native-unwind-info`.
    pub native_unwind_info: Option<bool>,
    /// `-C inlining`.
    pub inlining: Option<bool>,
    /// `-O opt-level`.
    pub opt_level: Option<OptLevel>,
    /// `-O regalloc-algorithm`.
    pub regalloc: Option<RegallocAlgorithm>,
    /// `-O memory-reservation=N`.
    pub memory_reservation: Option<u64>,
    /// `-O memory-reservation-for-growth=N`.
    pub memory_reservation_for_growth: Option<u64>,
    /// `-O memory-guard-size=N`.
    pub memory_guard_size: Option<u64>,
    /// `-O memory-may-move`.
    pub memory_may_move: Option<bool>,
    /// `-O guard-before-linear-memory`.
    pub guard_before_linear_memory: Option<bool>,
    /// `-O table-lazy-init`.
    pub table_lazy_init: Option<bool>,
    /// `-O memory-init-cow`.
    pub memory_init_cow: Option<bool>,
    /// `-O memory-guaranteed-dense-image-size=N`.
    pub dense_image_size: Option<u64>,
    /// `-O signals-based-traps`.
    pub signals_based_traps: Option<bool>,
}

impl Options {
    /// Adds one occurrence of `group`'s flag (`fuel=10,timeout=2s`). Errors are one line
    /// naming the flag and key: a bad value, a refusal and its reason, or an unknown key with
    /// the list of accepted ones.
    pub fn add(&mut self, group: Group, list: &str) -> Result<(), String> {
        for item in list.split(',') {
            let (key, value) = match item.split_once('=') {
                Some((key, value)) => (key, Some(value)),
                None => (item, None),
            };
            let flag = group.flag();
            let shown = item.trim();
            if let Some(desc) = group.keys().iter().find(|k| k.name == key) {
                (desc.set)(self, value).map_err(|problem| match problem {
                    Problem::Value(why) => format!("{flag} {shown}: {why}"),
                    Problem::Refused(why) => format!("{flag} {shown}: refused: {why}"),
                })?;
                continue;
            }
            if group == Group::Wasm
                && let Some((_, feature, _)) = wasm::PROPOSALS.iter().find(|p| p.0 == key)
            {
                let on = boolean(value).map_err(|why| format!("{flag} {shown}: {why}"))?;
                self.proposals.push((*feature, on));
                continue;
            }
            if let Some((_, why)) = group.refused().iter().find(|(name, _)| {
                name.strip_suffix('*')
                    .map_or(*name == key, |prefix| key.starts_with(prefix))
            }) {
                return Err(format!("{flag} {shown}: refused: {why}"));
            }
            return Err(format!(
                "{flag} {shown}: unknown key (accepted: {})",
                accepted(group).join(", ")
            ));
        }
        Ok(())
    }

    /// The effective setting of each proposal the command line touched: one by one, else
    /// `all-proposals`, as wasmtime reads them.
    pub fn proposal_settings(&self) -> Vec<(WasmFeatures, bool)> {
        let mut settings: Vec<(WasmFeatures, bool)> = Vec::new();
        if let Some(all) = self.all_proposals {
            settings.extend(
                wasm::PROPOSALS
                    .iter()
                    .map(|(_, feature, _)| (*feature, all)),
            );
        }
        settings.extend(self.proposals.iter().copied());
        settings
    }
}

/// The key names `group` accepts, proposals included, for messages and `-W help`.
pub fn accepted(group: Group) -> Vec<&'static str> {
    let mut names: Vec<&str> = group.keys().iter().map(|k| k.name).collect();
    if group == Group::Wasm {
        names.extend(wasm::PROPOSALS.iter().map(|p| p.0));
    }
    names
}

/// The text `-W help` (and `-S`, `-C`, `-O help`) prints: each accepted key with its value
/// syntax and what it does, then the refused keys and why.
pub fn help(group: Group) -> String {
    let flag = group.flag();
    let mut text = format!("{flag} keys wasi-warden accepts (wasmtime's names and syntax):\n");
    for key in group.keys() {
        text.push_str(&format!(
            "  {flag} {}{} -- {}\n",
            key.name, key.value, key.help
        ));
    }
    if group == Group::Wasm {
        for (name, _, what) in wasm::PROPOSALS {
            text.push_str(&format!(
                "  {flag} {name}[=y|n] -- the {what} proposal (default: on)\n"
            ));
        }
    }
    text.push_str(&format!(
        "\n{flag} keys of wasmtime that wasi-warden refuses:\n"
    ));
    for (name, why) in group.refused() {
        let name = name.replace('*', "<KEY>");
        text.push_str(&format!("  {flag} {name} -- {why}\n"));
    }
    text
}

/// Why a key's value was not taken.
enum Problem {
    /// It does not parse.
    Value(String),
    /// It parses, but asks for something we do not grant or support.
    Refused(&'static str),
}

impl From<String> for Problem {
    fn from(why: String) -> Problem {
        Problem::Value(why)
    }
}

/// An accepted key: its name, value syntax and help, and what it sets.
struct Key {
    name: &'static str,
    value: &'static str,
    help: &'static str,
    set: fn(&mut Options, Option<&str>) -> Result<(), Problem>,
}

/// A boolean as wasmtime reads one: nothing, `y`, `yes`, `true`; or `n`, `no`, `false`.
fn boolean(value: Option<&str>) -> Result<bool, String> {
    match value {
        None | Some("y" | "yes" | "true") => Ok(true),
        Some("n" | "no" | "false") => Ok(false),
        Some(other) => Err(format!("`{other}` is not a boolean: use y or n")),
    }
}

/// A key that grants or supports nothing when off: `=n` is accepted (a no-op), `=y` refused.
fn off_only(value: Option<&str>, why: &'static str) -> Result<(), Problem> {
    match boolean(value)? {
        false => Ok(()),
        true => Err(Problem::Refused(why)),
    }
}

/// A key that must be `=y` (a no-op): `=n` would ask for something we do not do.
fn on_only(value: Option<&str>, why: &'static str) -> Result<(), Problem> {
    match boolean(value)? {
        true => Ok(()),
        false => Err(Problem::Refused(why)),
    }
}

/// A boolean key that changes nothing here: checked, then ignored.
fn ignored(value: Option<&str>) -> Result<(), Problem> {
    boolean(value)?;
    Ok(())
}

/// The value of a `KEY=VALUE`, which must be there.
fn text(value: Option<&str>) -> Result<&str, String> {
    match value {
        Some(text) if !text.is_empty() => Ok(text),
        _ => Err("needs a value (KEY=VALUE)".to_owned()),
    }
}

/// A number as wasmtime reads one: decimal or `0x` hex, `_` ignored.
fn number(value: Option<&str>) -> Result<u64, String> {
    let digits = text(value)?.replace('_', "");
    let parsed = match digits.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => digits.parse(),
    };
    parsed.map_err(|_| format!("`{digits}` is not a number"))
}

/// A byte size: a wasmtime number, or one of ours (`64MiB`).
fn size(value: Option<&str>) -> Result<u64, String> {
    if let Ok(bytes) = number(value) {
        return Ok(bytes);
    }
    let limit: SizeLimit = text(value)?.parse()?;
    limit
        .bytes()
        .ok_or_else(|| "a size must be finite here".to_owned())
}

/// A duration as wasmtime reads one (`10`, `10s`, `500ms`, `20us`, `5ns`) or as our
/// `--timeout` does (`1.5s`, `2m`, `1h`). Zero is refused: it would stop the guest at once.
fn duration(value: Option<&str>) -> Result<Duration, String> {
    let text = text(value)?;
    type Make = fn(u64) -> Duration;
    let units: [(&str, Make); 4] = [
        ("ns", Duration::from_nanos),
        ("us", Duration::from_micros),
        ("\u{3bc}s", Duration::from_micros),
        ("ms", Duration::from_millis),
    ];
    for (unit, make) in units {
        if let Some(n) = text.strip_suffix(unit).and_then(|n| n.parse::<u64>().ok()) {
            return match make(n) {
                d if d.is_zero() => Err("the timeout must be positive".to_owned()),
                d => Ok(d),
            };
        }
    }
    text.parse::<Timeout>().map(|t| t.0)
}

/// Reasons shared by several groups' refusals.
const NO_SHARED_MEMORY: &str =
    "wasi-warden's WASI layer does not support shared memories (the threads proposal)";
const CORE_ONLY: &str = "wasi-warden runs core modules, not components";
const NOT_BUILT: &str = "not in this build of wasi-warden";
const PREVIEW1_ONLY: &str =
    "wasi-warden provides wasi_snapshot_preview1 only, and nothing under this name";

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(group: Group, list: &str) -> Result<Options, String> {
        let mut options = Options::default();
        options.add(group, list).map(|()| options)
    }

    #[test]
    fn wasm_keys_take_wasmtime_values() {
        let o = parse(
            Group::Wasm,
            "fuel=1_000,timeout=250ms,max-memory-size=0x10000,unknown-imports-trap",
        )
        .unwrap();
        assert_eq!(o.fuel, Some(1000));
        assert_eq!(o.timeout, Some(Duration::from_millis(250)));
        assert_eq!(o.max_memory_size, Some(65536));
        assert!(o.unknown_imports_trap && !o.unknown_imports_default);
        let o = parse(Group::Wasm, "timeout=3,max-memory-size=64MiB").unwrap();
        assert_eq!(o.timeout, Some(Duration::from_secs(3)));
        assert_eq!(o.max_memory_size, Some(64 << 20));
        assert_eq!(
            parse(Group::Wasm, "timeout=20us").unwrap().timeout,
            Some(Duration::from_micros(20))
        );
        assert_eq!(
            parse(Group::Wasm, "timeout=1.5s").unwrap().timeout,
            Some(Duration::from_millis(1500))
        );
    }

    #[test]
    fn bad_values_name_the_flag_and_key() {
        for (list, needle) in [
            ("fuel=lots", "-W fuel=lots: `lots` is not a number"),
            (
                "timeout=0ms",
                "-W timeout=0ms: the timeout must be positive",
            ),
            (
                "exceptions=maybe",
                "-W exceptions=maybe: `maybe` is not a boolean",
            ),
            ("fuel", "-W fuel: needs a value"),
        ] {
            let err = parse(Group::Wasm, list).unwrap_err();
            assert!(err.starts_with(needle), "{list}: {err}");
        }
    }

    #[test]
    fn proposals_switch_in_order_and_all_proposals_yields_to_them() {
        let o = parse(Group::Wasm, "all-proposals=n,exceptions,tail-call=n").unwrap();
        let settings = o.proposal_settings();
        let last = |f: WasmFeatures| settings.iter().rev().find(|s| s.0 == f).map(|s| s.1);
        assert_eq!(last(WasmFeatures::EXCEPTIONS), Some(true));
        assert_eq!(last(WasmFeatures::TAIL_CALL), Some(false));
        assert_eq!(last(WasmFeatures::GC), Some(false));
        assert!(parse(Group::Wasm, "threads=n").is_ok());
    }

    #[test]
    fn refusals_give_the_reason() {
        let cases = [
            (Group::Wasm, "threads", "-W threads: refused: "),
            (
                Group::Wasm,
                "epoch-interruption",
                "-W epoch-interruption: refused: ",
            ),
            (
                Group::Wasm,
                "component-model-async",
                "-W component-model-async: refused: ",
            ),
            (
                Group::Wasi,
                "inherit-network",
                "-S inherit-network: refused: it would open",
            ),
            (
                Group::Wasi,
                "allow-ip-name-lookup=y",
                "-S allow-ip-name-lookup=y: refused: ",
            ),
            (Group::Wasi, "cli=n", "-S cli=n: refused: "),
            (
                Group::Wasi,
                "max-random-size=1",
                "-S max-random-size=1: refused: ",
            ),
            (
                Group::Codegen,
                "cranelift-has-avx",
                "-C cranelift-has-avx: refused: ",
            ),
            (
                Group::Codegen,
                "compiler=winch",
                "-C compiler=winch: refused: ",
            ),
            (
                Group::Optimize,
                "pooling-allocator",
                "-O pooling-allocator: refused: ",
            ),
        ];
        for (group, list, needle) in cases {
            let err = parse(group, list).unwrap_err();
            assert!(err.starts_with(needle), "{list}: {err}");
        }
        // The same keys, off, grant nothing and are accepted.
        for list in [
            "inherit-network=n",
            "allow-ip-name-lookup=no",
            "http=n,tls=false",
        ] {
            assert!(parse(Group::Wasi, list).is_ok(), "{list}");
        }
    }

    #[test]
    fn every_refused_key_is_refused_and_every_off_only_key_accepts_off() {
        for group in [Group::Wasm, Group::Wasi, Group::Codegen, Group::Optimize] {
            for (name, why) in group.refused() {
                let key = name.replace('*', "x");
                let err = parse(group, &key).unwrap_err();
                assert!(err.ends_with(&format!("refused: {why}")), "{key}: {err}");
            }
            for key in group.keys().iter().filter(|k| k.value == "=n") {
                assert!(
                    parse(group, &format!("{}=n", key.name)).is_ok(),
                    "{}",
                    key.name
                );
                let err = parse(group, &format!("{}=y", key.name)).unwrap_err();
                assert!(err.contains(": refused: "), "{}: {err}", key.name);
            }
        }
    }

    #[test]
    fn an_unknown_key_lists_the_accepted_ones() {
        let err = parse(Group::Codegen, "cache=n,kache").unwrap_err();
        assert!(err.starts_with("-C kache: unknown key (accepted: cache, cache-config, "));
        assert!(!err.contains('\n'));
        let err = parse(Group::Wasm, "fule=1").unwrap_err();
        assert!(err.contains("fuel") && err.contains("exceptions"), "{err}");
    }

    #[test]
    fn wasi_and_codegen_and_optimize_keys_set_their_fields() {
        let mut o = parse(Group::Wasi, "inherit-env,tcplisten=127.0.0.1:0").unwrap();
        o.add(Group::Wasi, "tcplisten=127.0.0.1:1").unwrap();
        assert!(o.inherit_env);
        assert_eq!(o.tcplisten, ["127.0.0.1:0", "127.0.0.1:1"]);
        o.add(
            Group::Codegen,
            "cache=n,cache-config=/c.toml,parallel-compilation=n",
        )
        .unwrap();
        assert_eq!(o.cache, Some(false));
        assert_eq!(o.cache_config, Some(PathBuf::from("/c.toml")));
        assert_eq!(o.parallel_compilation, Some(false));
        o.add(Group::Optimize, "opt-level=s,memory-guard-size=64KiB")
            .unwrap();
        assert_eq!(o.opt_level, Some(OptLevel::SpeedAndSize));
        assert_eq!(o.memory_guard_size, Some(64 << 10));
    }

    #[test]
    fn help_lists_accepted_and_refused_keys() {
        let text = help(Group::Wasi);
        assert!(text.contains("-S inherit-env[=y|n] -- "), "{text}");
        assert!(
            text.contains("-S max-random-size -- not supported"),
            "{text}"
        );
        assert!(help(Group::Wasm).contains("-W exceptions[=y|n] -- the exception handling"));
        assert!(help(Group::Codegen).contains("-C cranelift-<KEY> -- raw Cranelift"));
    }
}
