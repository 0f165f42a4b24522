//! What `run` calls in the instance, as `wasmtime run` does: `_initialize` if the module
//! exports it (a reactor), then `--invoke NAME` with arguments parsed from the trailing ones,
//! or else `_start` (or the `""` export) if there is one. Everything about the call that can
//! be checked before the guest starts — the export, its type, the arguments — is checked then.

use wasi_warden::CommandState;
use wasi_warden::wasmtime::{ExternType, Instance, Module, Store, Val, ValType};

/// The planned calls.
#[derive(Debug)]
pub struct Entry {
    /// Call `_initialize` first.
    initialize: bool,
    /// The export to call and its arguments, if any (none: a reactor with nothing invoked).
    main: Option<(String, Vec<Val>)>,
    /// How many results the main call returns.
    results: usize,
}

/// Plans the calls of a run of `module`: with `invoke`, that export, its parameters parsed
/// from `args` (`i32`/`i64` in decimal or `0x` hex, `f32`/`f64` as Rust reads them; extra
/// arguments stay the guest's argv only). Errors: one line for the user.
pub fn plan(module: &Module, invoke: Option<&str>, args: &[String]) -> Result<Entry, String> {
    let func_type = |name: &str| match module.get_export(name) {
        Some(ExternType::Func(ty)) => Some(ty),
        _ => None,
    };
    let initialize = func_type("_initialize").is_some_and(|t| t.params().len() == 0);
    let Some(name) = invoke else {
        let main = ["", "_start"].into_iter().find_map(|name| {
            let ty = func_type(name)?;
            (ty.params().len() == 0).then(|| (name.to_owned(), Vec::new()))
        });
        let results = main
            .as_ref()
            .and_then(|(name, _)| func_type(name))
            .map_or(0, |ty| ty.results().len());
        return Ok(Entry {
            initialize,
            main,
            results,
        });
    };
    let ty =
        func_type(name).ok_or_else(|| format!("--invoke: no function export named `{name}`"))?;
    let mut given = args.iter();
    let mut values = Vec::new();
    for param in ty.params() {
        let Some(arg) = given.next() else {
            return Err(format!(
                "--invoke {name}: not enough arguments (it takes {})",
                ty.params().len()
            ));
        };
        let value = parse(&param, arg)
            .ok_or_else(|| format!("--invoke {name}: `{arg}` is not a valid {param}"))?;
        values.push(value);
    }
    Ok(Entry {
        initialize,
        main: Some((name.to_owned(), values)),
        results: ty.results().len(),
    })
}

impl Entry {
    /// Makes the planned calls, leaving the main call's results in `results`; what it answers
    /// is how the guest's calls went. `plan` checked the exports, so a missing one (which
    /// cannot happen) would end the run like a trap rather than lose the guest's context.
    pub fn call(
        &self,
        store: &mut Store<CommandState>,
        instance: Instance,
        results: &mut Vec<Val>,
    ) -> wasi_warden::wasmtime::Result<()> {
        let missing = |name: &str| wasi_warden::wasmtime::format_err!("no export `{name}`");
        if self.initialize {
            let init = instance
                .get_func(&mut *store, "_initialize")
                .ok_or_else(|| missing("_initialize"))?;
            init.call(&mut *store, &[], &mut [])?;
        }
        let Some((name, args)) = &self.main else {
            return Ok(());
        };
        let func = instance
            .get_func(&mut *store, name)
            .ok_or_else(|| missing(name))?;
        let mut out = vec![Val::I32(0); self.results];
        func.call(&mut *store, args, &mut out)?;
        *results = out;
        Ok(())
    }
}

/// One argument as a value of type `ty`.
fn parse(ty: &ValType, arg: &str) -> Option<Val> {
    let hex = |s: &str| {
        s.strip_prefix("0x")
            .or_else(|| s.strip_prefix("0X"))
            .map(str::to_owned)
    };
    Some(match ty {
        // Hex is the bit pattern (0xffffffff is -1), as the wat text format reads it.
        ValType::I32 => Val::I32(match hex(arg) {
            Some(digits) => u32::from_str_radix(&digits, 16).ok()? as i32,
            None => arg.parse().ok()?,
        }),
        ValType::I64 => Val::I64(match hex(arg) {
            Some(digits) => u64::from_str_radix(&digits, 16).ok()? as i64,
            None => arg.parse().ok()?,
        }),
        ValType::F32 => Val::F32(arg.parse::<f32>().ok()?.to_bits()),
        ValType::F64 => Val::F64(arg.parse::<f64>().ok()?.to_bits()),
        _ => return None,
    })
}

/// The results as `wasmtime run --invoke` prints them: one per line.
pub fn show(results: &[Val]) -> String {
    let mut text = String::new();
    for value in results {
        let line = match value {
            Val::I32(i) => i.to_string(),
            Val::I64(i) => i.to_string(),
            Val::F32(bits) => f32::from_bits(*bits).to_string(),
            Val::F64(bits) => f64::from_bits(*bits).to_string(),
            Val::V128(v) => v.as_u128().to_string(),
            Val::ExternRef(None) => "<null externref>".to_owned(),
            Val::ExternRef(Some(_)) => "<externref>".to_owned(),
            Val::FuncRef(None) => "<null funcref>".to_owned(),
            Val::FuncRef(Some(_)) => "<funcref>".to_owned(),
            Val::AnyRef(None) => "<null anyref>".to_owned(),
            Val::AnyRef(Some(_)) => "<anyref>".to_owned(),
            Val::ExnRef(None) => "<null exnref>".to_owned(),
            Val::ExnRef(Some(_)) => "<exnref>".to_owned(),
            Val::ContRef(None) => "<null contref>".to_owned(),
            Val::ContRef(Some(_)) => "<contref>".to_owned(),
        };
        text.push_str(&line);
        text.push('\n');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasi_warden::wasmtime::Engine;

    fn module(wat: &str) -> Module {
        Module::new(&Engine::default(), wat).unwrap()
    }

    #[test]
    fn arguments_parse_as_the_parameters_types() {
        let m = module(
            r#"(module (func (export "f") (param i32 i64 f32 f64) (result i32) (i32.const 0)))"#,
        );
        let args: Vec<String> = ["0xffffffff", "-3", "1.5", "2e3", "extra"]
            .map(String::from)
            .to_vec();
        let entry = plan(&m, Some("f"), &args).unwrap();
        let (name, values) = entry.main.as_ref().unwrap();
        assert_eq!(name, "f");
        assert_eq!(values[0].unwrap_i32(), -1);
        assert_eq!(values[1].unwrap_i64(), -3);
        assert_eq!(values[2].unwrap_f32(), 1.5);
        assert_eq!(values[3].unwrap_f64(), 2000.0);
        assert_eq!(entry.results, 1);
        let err = plan(&m, Some("f"), &args[..2]).unwrap_err();
        assert_eq!(err, "--invoke f: not enough arguments (it takes 4)");
        let bad: Vec<String> = ["x", "1", "1", "1"].map(String::from).to_vec();
        let err = plan(&m, Some("f"), &bad).unwrap_err();
        assert_eq!(err, "--invoke f: `x` is not a valid i32");
    }

    #[test]
    fn the_default_entry_is_initialize_then_start() {
        let m = module(r#"(module (func (export "_initialize")) (func (export "_start")))"#);
        let entry = plan(&m, None, &[]).unwrap();
        assert!(entry.initialize);
        assert_eq!(entry.main.unwrap().0, "_start");
        // A reactor: nothing to call after `_initialize`.
        let m = module(r#"(module (func (export "_initialize")) (func (export "f")))"#);
        let entry = plan(&m, None, &[]).unwrap();
        assert!(entry.initialize && entry.main.is_none());
        let err = plan(&m, Some("g"), &[]).unwrap_err();
        assert_eq!(err, "--invoke: no function export named `g`");
    }

    #[test]
    fn results_print_as_wasmtime_prints_them() {
        let shown = show(&[
            Val::I32(-7),
            Val::I64(1 << 40),
            Val::F32(2.5f32.to_bits()),
            Val::F64(f64::NAN.to_bits()),
            Val::FuncRef(None),
            Val::ExternRef(None),
        ]);
        assert_eq!(
            shown,
            "-7\n1099511627776\n2.5\nNaN\n<null funcref>\n<null externref>\n"
        );
    }
}
