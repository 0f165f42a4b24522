//! The wasmtime engine of `run` and `compile`: its `Config` from the option groups and the
//! run-wide limits (fuel metering and epochs are compiled into the code, so a `.cwasm` runs
//! only under the limits' kind it was compiled with), plus the compiled-module cache.

use super::cache;
use super::groups::Options;
use super::report::one_line;
use wasi_warden::RunLimits;
use wasi_warden::wasmtime::{Cache, Config, Engine, Inlining};

/// An engine and its cache (kept to report statistics).
pub struct Built {
    /// The engine.
    pub engine: Engine,
    /// Its cache, if on.
    pub cache: Option<Cache>,
    /// Why the cache is off although it was not turned off, if it is.
    pub cache_warning: Option<String>,
}

/// The engine configuration the options and limits ask for, without a cache.
pub fn config(options: &Options, limits: &RunLimits) -> Config {
    let mut config = Config::new();
    limits.configure(&mut config);
    for (feature, enable) in options.proposal_settings() {
        config.wasm_features(feature, enable);
    }
    let o = options;
    if let Some(on) = o.nan_canonicalization {
        config.cranelift_nan_canonicalization(on);
    }
    if let Some(on) = o.relaxed_simd_deterministic {
        config.relaxed_simd_deterministic(on);
    }
    if let Some(bytes) = o.max_wasm_stack {
        config.max_wasm_stack(bytes);
    }
    if let Some(on) = o.gc_support {
        config.gc_support(on);
    }
    if let Some(on) = o.parallel_compilation {
        config.parallel_compilation(on);
    }
    if let Some(on) = o.debug_verifier {
        config.cranelift_debug_verifier(on);
    }
    if let Some(on) = o.native_unwind_info {
        config.native_unwind_info(on);
    }
    if let Some(on) = o.inlining {
        config.compiler_inlining(if on { Inlining::Yes } else { Inlining::No });
    }
    if let Some(level) = o.opt_level {
        config.cranelift_opt_level(level);
    }
    if let Some(algorithm) = o.regalloc {
        config.cranelift_regalloc_algorithm(algorithm);
    }
    if let Some(bytes) = o.memory_reservation {
        config.memory_reservation(bytes);
    }
    if let Some(bytes) = o.memory_reservation_for_growth {
        config.memory_reservation_for_growth(bytes);
    }
    if let Some(bytes) = o.memory_guard_size {
        config.memory_guard_size(bytes);
    }
    if let Some(on) = o.memory_may_move {
        config.memory_may_move(on);
    }
    if let Some(on) = o.guard_before_linear_memory {
        config.guard_before_linear_memory(on);
    }
    if let Some(on) = o.table_lazy_init {
        config.table_lazy_init(on);
    }
    if let Some(on) = o.memory_init_cow {
        config.memory_init_cow(on);
    }
    if let Some(bytes) = o.dense_image_size {
        config.memory_guaranteed_dense_image_size(bytes);
    }
    if let Some(on) = o.signals_based_traps {
        config.signals_based_traps(on);
    }
    config
}

/// Builds the engine; `cached` turns the cache on unless `-C cache=n` (or `--disable-cache`)
/// said otherwise. Errors are one line (a configuration wasmtime refuses, a bad cache config).
pub fn build(options: &Options, limits: &RunLimits, cached: bool) -> Result<Built, String> {
    let mut config = config(options, limits);
    let opened = if cached && options.cache != Some(false) {
        cache::open(options.cache_config.as_deref())?
    } else {
        cache::Opened {
            cache: None,
            warning: None,
        }
    };
    config.cache(opened.cache.clone());
    let engine = Engine::new(&config)
        .map_err(|e| format!("cannot set up the engine: {}", one_line(&format!("{e:#}"))))?;
    Ok(Built {
        engine,
        cache: opened.cache,
        cache_warning: opened.warning,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::groups::Group;
    use wasi_warden::wasmtime::{OptLevel, WasmFeatures};

    /// The engine `config` makes (wasmtime's getters are the engine's).
    fn engine(options: &Options, limits: &RunLimits) -> Engine {
        Engine::new(&config(options, limits)).unwrap()
    }

    fn options(pairs: &[(Group, &str)]) -> Options {
        let mut o = Options::default();
        for (group, list) in pairs {
            o.add(*group, list).unwrap();
        }
        o
    }

    #[test]
    fn proposals_default_on_and_switch_off() {
        let on = engine(&Options::default(), &RunLimits::default()).get_wasm_features();
        for feature in [
            WasmFeatures::EXCEPTIONS,
            WasmFeatures::GC,
            WasmFeatures::FUNCTION_REFERENCES,
            WasmFeatures::TAIL_CALL,
            WasmFeatures::SIMD,
            WasmFeatures::RELAXED_SIMD,
            WasmFeatures::MULTI_MEMORY,
            WasmFeatures::MEMORY64,
        ] {
            assert!(on.contains(feature), "{feature:?} is off by default");
        }
        assert!(!on.contains(WasmFeatures::THREADS));
        let o = options(&[(Group::Wasm, "exceptions=n,gc=n,memory64=n")]);
        let off = engine(&o, &RunLimits::default()).get_wasm_features();
        assert!(!off.contains(WasmFeatures::EXCEPTIONS));
        assert!(!off.contains(WasmFeatures::GC));
        assert!(!off.contains(WasmFeatures::MEMORY64));
        assert!(off.contains(WasmFeatures::TAIL_CALL));
    }

    #[test]
    fn codegen_and_optimize_keys_reach_the_config() {
        let o = options(&[
            (Group::Codegen, "parallel-compilation=n"),
            (
                Group::Optimize,
                "opt-level=0,memory-reservation=1MiB,signals-based-traps=n",
            ),
            (Group::Wasm, "max-wasm-stack=65536"),
        ]);
        let c = engine(&o, &RunLimits::default());
        assert!(!c.get_parallel_compilation());
        assert_eq!(c.get_cranelift_opt_level(), Some(OptLevel::None));
        assert_eq!(c.get_memory_reservation(), 1 << 20);
        assert!(!c.get_signals_based_traps());
        assert_eq!(c.get_max_wasm_stack(), 65536);
        let c = engine(&Options::default(), &RunLimits::default());
        assert!(c.get_parallel_compilation());
    }

    #[test]
    fn limits_switch_on_fuel_and_epochs() {
        let limits = RunLimits {
            fuel: Some(1),
            ..RunLimits::default()
        };
        let c = engine(&Options::default(), &limits);
        assert!(c.get_consume_fuel() && !c.get_epoch_interruption());
    }

    #[test]
    fn cache_n_builds_an_engine_without_a_cache() {
        let o = options(&[(Group::Codegen, "cache=n")]);
        let built = build(&o, &RunLimits::default(), true).unwrap();
        assert!(built.cache.is_none() && built.cache_warning.is_none());
    }
}
