//! `toolbox`: a small compiler toolbox, the large real guest of the start-up benchmark
//! (`benches/startup`). Its size comes from real dependencies — Cranelift with four backends,
//! wat/wasmparser/wasmprinter, syn, regex, serde_json — and each subcommand uses them:
//!
//!   toolbox clif [ISA]     compile a small function with Cranelift, print its code size
//!   toolbox wat            assemble, validate and print back a small module
//!   toolbox rust           parse a Rust snippet with syn, count its items
//!   toolbox grep PATTERN   regex-match the lines of stdin
//!   toolbox json           pretty-print the JSON on stdin
//!   toolbox all            the first three, for a start-up that touches every part
//!
//! Output is one short line per step, so a run is dominated by loading the module.

use cranelift_codegen::ir::{AbiParam, InstBuilder, UserFuncName, types};
use cranelift_codegen::settings::{self, Configurable};
use cranelift_codegen::{Context, isa};
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};
use std::io::{BufRead, Read};
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let result = match args.get(1).map(String::as_str) {
        Some("clif") => clif(args.get(2).map_or("x86_64", String::as_str)),
        Some("wat") => wat_round_trip(),
        Some("rust") => rust_items(),
        Some("grep") => grep(args.get(2).map_or(".", String::as_str)),
        Some("json") => json(),
        Some("all") => clif("x86_64")
            .and_then(|()| clif("aarch64"))
            .and_then(|()| wat_round_trip())
            .and_then(|()| rust_items()),
        _ => Err("usage: toolbox clif [ISA] | wat | rust | grep PATTERN | json | all".into()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("toolbox: {message}");
            ExitCode::FAILURE
        }
    }
}

type Result<T = ()> = std::result::Result<T, String>;

/// Builds `fn(a, b) -> (a + b) * a` in CLIF and compiles it for `isa_name`.
fn clif(isa_name: &str) -> Result {
    let mut flags = settings::builder();
    flags.set("opt_level", "speed").map_err(|e| e.to_string())?;
    let isa = isa::lookup_by_name(isa_name)
        .map_err(|e| e.to_string())?
        .finish(settings::Flags::new(flags))
        .map_err(|e| e.to_string())?;
    let mut ctx = Context::new();
    ctx.func.signature.params.push(AbiParam::new(types::I64));
    ctx.func.signature.params.push(AbiParam::new(types::I64));
    ctx.func.signature.returns.push(AbiParam::new(types::I64));
    ctx.func.name = UserFuncName::testcase("f");
    let mut fctx = FunctionBuilderContext::new();
    let mut b = FunctionBuilder::new(&mut ctx.func, &mut fctx);
    let block = b.create_block();
    b.append_block_params_for_function_params(block);
    b.switch_to_block(block);
    b.seal_block(block);
    let (x, y) = (b.block_params(block)[0], b.block_params(block)[1]);
    let sum = b.ins().iadd(x, y);
    let product = b.ins().imul(sum, x);
    b.ins().return_(&[product]);
    b.finalize(isa.frontend_config());
    let mut ctrl = cranelift_codegen::control::ControlPlane::default();
    let code = ctx
        .compile(&*isa, &mut ctrl)
        .map_err(|e| format!("{:?}", e.inner))?;
    println!(
        "clif: {isa_name}: {} bytes of machine code",
        code.code_buffer().len()
    );
    Ok(())
}

/// Assembles a module, validates it, prints it back.
fn wat_round_trip() -> Result {
    let binary = wat::parse_str(
        r#"(module (func (export "fib") (param i64) (result i64)
             (if (result i64) (i64.lt_u (local.get 0) (i64.const 2))
               (then (local.get 0))
               (else (i64.add (call 0 (i64.sub (local.get 0) (i64.const 1)))
                              (call 0 (i64.sub (local.get 0) (i64.const 2))))))))"#,
    )
    .map_err(|e| e.to_string())?;
    wasmparser::Validator::new()
        .validate_all(&binary)
        .map_err(|e| e.to_string())?;
    let text = wasmprinter::print_bytes(&binary).map_err(|e| e.to_string())?;
    println!(
        "wat: {} bytes, {} lines printed back",
        binary.len(),
        text.lines().count()
    );
    Ok(())
}

/// Parses a Rust snippet and counts what is in it.
fn rust_items() -> Result {
    #[derive(Default)]
    struct Count(usize, usize);
    impl<'ast> syn::visit::Visit<'ast> for Count {
        fn visit_item_fn(&mut self, f: &'ast syn::ItemFn) {
            self.0 += 1;
            syn::visit::visit_item_fn(self, f);
        }
        fn visit_expr(&mut self, e: &'ast syn::Expr) {
            self.1 += 1;
            syn::visit::visit_expr(self, e);
        }
    }
    let file: syn::File = syn::parse_str(
        "fn fib(n: u64) -> u64 { if n < 2 { n } else { fib(n - 1) + fib(n - 2) } }
         fn main() { println!(\"{}\", fib(20)); }",
    )
    .map_err(|e| e.to_string())?;
    let mut count = Count::default();
    syn::visit::visit_file(&mut count, &file);
    println!("rust: {} functions, {} expressions", count.0, count.1);
    Ok(())
}

/// Prints the lines of stdin that match `pattern`.
fn grep(pattern: &str) -> Result {
    let re = regex::Regex::new(pattern).map_err(|e| e.to_string())?;
    for line in std::io::stdin().lock().lines() {
        let line = line.map_err(|e| e.to_string())?;
        if re.is_match(&line) {
            println!("{line}");
        }
    }
    Ok(())
}

/// Pretty-prints the JSON value on stdin.
fn json() -> Result {
    #[derive(serde::Serialize)]
    struct Summary<'a> {
        kind: &'a str,
        value: &'a serde_json::Value,
    }
    let mut text = String::new();
    std::io::stdin()
        .read_to_string(&mut text)
        .map_err(|e| e.to_string())?;
    let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
    let kind = match &value {
        serde_json::Value::Object(_) => "object",
        serde_json::Value::Array(_) => "array",
        _ => "scalar",
    };
    let summary = Summary {
        kind,
        value: &value,
    };
    println!(
        "{}",
        serde_json::to_string_pretty(&summary).map_err(|e| e.to_string())?
    );
    Ok(())
}
