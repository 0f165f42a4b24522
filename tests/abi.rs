//! Raw ABI cases, table-driven: each row is a tiny WAT module that imports one preview1
//! function, calls it once with constant (often hostile) arguments and returns the errno. Every
//! row runs under wasi-warden and under wasmtime-wasi 48; the expected result is written down,
//! and where wasi-warden differs from wasmtime on purpose the row says why (RATIONALE.md).

mod support;

use support::{run_wasmtime_seed, seed_tree};
use wasi_warden::wasmtime::{Linker, Module, Store};
use wasi_warden::{Input, LimitAction, MemFs, Output, WasiCtx};

const BADF: i32 = 8;
const ILSEQ: i32 = 25;
const INVAL: i32 = 28;
const NAMETOOLONG: i32 = 37;
const NOMEM: i32 = 48;

/// How a call ends: an errno (or any i32 the row's body computes) or a trap.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum End {
    Errno(i32),
    Trap,
}
use End::{Errno, Trap};

/// What wasmtime-wasi does with the same row.
#[derive(Clone, Copy, Debug)]
enum Reference {
    /// The same as wasi-warden.
    Same,
    /// Something else, deliberately: what, and why.
    Differs(End, &'static str),
}
use Reference::{Differs, Same};

/// Arrays far larger than memory: wasmtime-wasi answers ENOMEM from its cap on guest-sized host
/// allocations before it bounds-checks; we bounds-check the whole array first (checked
/// arithmetic, SECURITY.md) and trap as for any out-of-bounds pointer.
const WHY_SUBSCRIPTION_CAP: &str = "more than 65536 subscriptions is EINVAL in wasi-warden, checked \
     before the array, as poll(2) refuses nfds above its limit; wasmtime answers ENOMEM";
const WHY_TRAP: &str = "an array that cannot fit in guest memory traps in wasi-warden (bounds \
                        checked first); wasmtime-wasi answers ENOMEM from its allocation cap";

/// Bad enum/flag values in arguments: wasmtime's generated glue traps, we answer EINVAL.
const WHY_EINVAL: &str = "bad enum/flag values in arguments are EINVAL in wasi-warden and a \
                          trap in wasmtime-wasi (RATIONALE.md 'Bad enum and flag values')";

struct Case {
    name: &'static str,
    /// The imported function, called as `$f` in `body`.
    import: &'static str,
    /// Data segments and any extra module fields.
    data: &'static str,
    /// An expression of type i32: usually `(call $f ...)`.
    body: &'static str,
    expect: End,
    wasmtime: Reference,
}

/// The core-wasm signature of a preview1 import.
fn signature(import: &str) -> &'static str {
    match import {
        "fd_close" | "proc_raise" | "fd_sync" => "(param i32) (result i32)",
        "fd_renumber"
        | "fd_fdstat_get"
        | "fd_fdstat_set_flags"
        | "clock_res_get"
        | "args_get"
        | "random_get"
        | "fd_prestat_get"
        | "sock_shutdown" => "(param i32 i32) (result i32)",
        "fd_write" | "fd_read" | "poll_oneoff" => "(param i32 i32 i32 i32) (result i32)",
        "fd_fdstat_set_rights" => "(param i32 i64 i64) (result i32)",
        "fd_seek" => "(param i32 i64 i32 i32) (result i32)",
        "fd_advise" | "fd_filestat_set_times" => "(param i32 i64 i64 i32) (result i32)",
        "clock_time_get" => "(param i32 i64 i32) (result i32)",
        "path_open" => "(param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)",
        "path_create_directory" | "fd_prestat_dir_name" => "(param i32 i32 i32) (result i32)",
        "path_filestat_set_times" => "(param i32 i32 i32 i32 i64 i64 i32) (result i32)",
        "path_symlink" => "(param i32 i32 i32 i32 i32) (result i32)",
        "path_readlink" => "(param i32 i32 i32 i32 i32 i32) (result i32)",
        "fd_readdir" => "(param i32 i32 i32 i64 i32) (result i32)",
        other => panic!("add the signature of {other}"),
    }
}

fn wat(case: &Case) -> String {
    format!(
        r#"(module
             (import "wasi_snapshot_preview1" "{import}" (func $f {sig}))
             (memory (export "memory") 1)
             {data}
             (func (export "run") (result i32) {body}))"#,
        import = case.import,
        sig = signature(case.import),
        data = case.data,
        body = case.body,
    )
}

/// Runs a module's `run` under wasi-warden with the seed tree mounted at `/` (fd 3).
fn warden(module: &Module, stdout: impl Into<Output>) -> End {
    let seed = seed_tree();
    let fs = MemFs::from_host_dir(seed.path()).expect("MemFs::from_host_dir");
    let ctx = WasiCtx::builder()
        .args(["abi.wasm", "x"])
        .stdin(Input::bytes(&b"stdin bytes"[..]))
        .stdout(stdout)
        .system_clocks()
        .os_random()
        .mount("/", fs)
        .build();
    let engine = support::engine();
    let mut linker = Linker::new(engine);
    wasi_warden::add_to_linker(&mut linker, |s: &mut WasiCtx| s).unwrap();
    let mut store = Store::new(engine, ctx);
    let instance = linker.instantiate(&mut store, module).unwrap();
    let run = instance
        .get_typed_func::<(), i32>(&mut store, "run")
        .unwrap();
    match run.call(&mut store, ()) {
        Ok(v) => Errno(v),
        Err(_) => Trap,
    }
}

fn reference(module: &Module) -> End {
    match run_wasmtime_seed(module, "run") {
        Ok(v) => Errno(v),
        Err(_) => Trap,
    }
}

/// Runs every row under both runtimes; reports all mismatches at once.
fn check(cases: &[Case]) {
    let mut failures = Vec::new();
    for case in cases {
        let module = match Module::new(support::engine(), wat(case)) {
            Ok(m) => m,
            Err(e) => panic!("{}: bad WAT: {e:?}", case.name),
        };
        let ours = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let module = module.clone();
            support::with_timeout(case.name, move || warden(&module, Output::capture()))
        }));
        match ours {
            Ok(end) if end == case.expect => {}
            Ok(end) => failures.push(format!(
                "{}: wasi-warden gave {end:?}, expected {:?}",
                case.name, case.expect
            )),
            Err(panic) => failures.push(format!(
                "{}: wasi-warden PANICKED: {}",
                case.name,
                support::panic_message(&*panic)
            )),
        }
        let (want, why) = match case.wasmtime {
            Same => (case.expect, "it should match wasi-warden"),
            Differs(end, why) => (end, why),
        };
        let theirs = {
            let module = module.clone();
            support::with_timeout(case.name, move || reference(&module))
        };
        if theirs != want {
            failures.push(format!(
                "{}: wasmtime-wasi gave {theirs:?}, the table says {want:?} because {why} \
                 (fix the row)",
                case.name
            ));
        }
    }
    assert!(failures.is_empty(), "\n{}\n", failures.join("\n"));
}

macro_rules! case {
    ($name:literal, $import:literal, $data:literal, $body:literal, $expect:expr, $ref:expr) => {
        Case {
            name: $name,
            import: $import,
            data: $data,
            body: $body,
            expect: $expect,
            wasmtime: $ref,
        }
    };
}

#[test]
fn guest_pointers_out_of_bounds_trap() {
    check(&[
        case!(
            "fd_write iovec array past memory end",
            "fd_write",
            "",
            "(call $f (i32.const 1) (i32.const 65532) (i32.const 1) (i32.const 0))",
            Trap,
            Same
        ),
        case!(
            "fd_write iovec buffer past memory end",
            "fd_write",
            r#"(data (i32.const 0) "\fa\ff\00\00\64\00\00\00")"#,
            "(call $f (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 16))",
            Trap,
            Same
        ),
        case!(
            "fd_write nwritten past memory end",
            "fd_write",
            r#"(data (i32.const 0) "\10\00\00\00\01\00\00\00")"#,
            "(call $f (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 65535))",
            Trap,
            Same
        ),
        case!(
            "fd_write misaligned iovec array",
            "fd_write",
            "",
            "(call $f (i32.const 1) (i32.const 1) (i32.const 1) (i32.const 16))",
            Trap,
            Same
        ),
        case!(
            "fd_write u32::MAX iovecs",
            "fd_write",
            "",
            "(call $f (i32.const 1) (i32.const 0) (i32.const -1) (i32.const 16))",
            Trap,
            Differs(Errno(NOMEM), WHY_TRAP)
        ),
        case!(
            "fd_read into buffer past memory end",
            "fd_read",
            r#"(data (i32.const 0) "\00\00\01\00\10\00\00\00")"#,
            "(call $f (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 16))",
            Trap,
            Same
        ),
        case!(
            "args_get argv past memory end",
            "args_get",
            "",
            "(call $f (i32.const 65532) (i32.const 0))",
            Trap,
            Same
        ),
        case!(
            "random_get buffer past memory end",
            "random_get",
            "",
            "(call $f (i32.const 65000) (i32.const 1000))",
            Trap,
            Same
        ),
        case!(
            "random_get u32::MAX bytes",
            "random_get",
            "",
            "(call $f (i32.const 0) (i32.const -1))",
            Trap,
            Same
        ),
        case!(
            "fd_fdstat_get result past memory end",
            "fd_fdstat_get",
            "",
            "(call $f (i32.const 1) (i32.const 65528))",
            Trap,
            Same
        ),
        case!(
            "clock_time_get result past memory end",
            "clock_time_get",
            "",
            "(call $f (i32.const 1) (i64.const 0) (i32.const 65536))",
            Trap,
            Same
        ),
        case!(
            "path_open path past memory end",
            "path_open",
            "",
            "(call $f (i32.const 3) (i32.const 0) (i32.const 65530) (i32.const 100) (i32.const 0) \
             (i64.const 0) (i64.const 0) (i32.const 0) (i32.const 16))",
            Trap,
            Same
        ),
        case!(
            "path_open path length u32::MAX",
            "path_open",
            "",
            "(call $f (i32.const 3) (i32.const 0) (i32.const 0) (i32.const -1) (i32.const 0) \
             (i64.const 0) (i64.const 0) (i32.const 0) (i32.const 16))",
            Trap,
            Differs(Errno(NOMEM), WHY_TRAP)
        ),
        case!(
            "path_create_directory path length > memory",
            "path_create_directory",
            "",
            "(call $f (i32.const 3) (i32.const 0) (i32.const 65537))",
            Trap,
            Same
        ),
        case!(
            "path_readlink buffer wholly outside memory",
            "path_readlink",
            r#"(data (i32.const 0) "link_hello")"#,
            "(call $f (i32.const 3) (i32.const 0) (i32.const 10) (i32.const 70000) (i32.const 100) \
             (i32.const 16))",
            Trap,
            Same
        ),
        case!(
            "fd_readdir buffer past memory end",
            "fd_readdir",
            "",
            "(call $f (i32.const 3) (i32.const 65530) (i32.const 100) (i64.const 0) (i32.const 16))",
            Trap,
            Same
        ),
        case!(
            "poll_oneoff events past memory end",
            "poll_oneoff",
            "",
            "(call $f (i32.const 0) (i32.const 65530) (i32.const 1) (i32.const 1024))",
            Trap,
            Same
        ),
        case!(
            "poll_oneoff nsubscriptions*48 overflows u32",
            "poll_oneoff",
            "",
            "(call $f (i32.const 0) (i32.const 4096) (i32.const 89478486) (i32.const 1024))",
            Errno(INVAL),
            Differs(Errno(NOMEM), WHY_SUBSCRIPTION_CAP)
        ),
        case!(
            "poll_oneoff second subscription past memory end",
            "poll_oneoff",
            "",
            "(call $f (i32.const 65488) (i32.const 0) (i32.const 2) (i32.const 1024))",
            Trap,
            Same
        ),
    ]);
}

#[test]
fn bad_descriptors_are_ebadf() {
    check(&[
        case!(
            "fd_write to u32::MAX",
            "fd_write",
            "",
            "(call $f (i32.const -1) (i32.const 0) (i32.const 0) (i32.const 16))",
            Errno(BADF),
            Same
        ),
        case!(
            "fd_write to 1<<31",
            "fd_write",
            "",
            "(call $f (i32.const 0x80000000) (i32.const 0) (i32.const 0) (i32.const 16))",
            Errno(BADF),
            Same
        ),
        case!(
            "fd_close(u32::MAX)",
            "fd_close",
            "",
            "(call $f (i32.const -1))",
            Errno(BADF),
            Same
        ),
        case!(
            "fd_close(1<<31)",
            "fd_close",
            "",
            "(call $f (i32.const 0x80000000))",
            Errno(BADF),
            Same
        ),
        case!(
            "fd_renumber(1, u32::MAX)",
            "fd_renumber",
            "",
            "(call $f (i32.const 1) (i32.const -1))",
            Errno(BADF),
            Same
        ),
        case!(
            "fd_renumber(u32::MAX, 1)",
            "fd_renumber",
            "",
            "(call $f (i32.const -1) (i32.const 1))",
            Errno(BADF),
            Same
        ),
        case!(
            "fd_fdstat_get(1<<31)",
            "fd_fdstat_get",
            "",
            "(call $f (i32.const 0x80000000) (i32.const 16))",
            Errno(BADF),
            Same
        ),
        case!(
            "fd_prestat_get(stdin)",
            "fd_prestat_get",
            "",
            "(call $f (i32.const 0) (i32.const 16))",
            Errno(BADF),
            Same
        ),
        case!(
            "fd_prestat_get(u32::MAX)",
            "fd_prestat_get",
            "",
            "(call $f (i32.const -1) (i32.const 16))",
            Errno(BADF),
            Same
        ),
        case!(
            "path_open in u32::MAX",
            "path_open",
            r#"(data (i32.const 0) "hello.txt")"#,
            "(call $f (i32.const -1) (i32.const 0) (i32.const 0) (i32.const 9) (i32.const 0) \
             (i64.const 0) (i64.const 0) (i32.const 0) (i32.const 16))",
            Errno(BADF),
            Same
        ),
        case!(
            "fd_sync(1<<31)",
            "fd_sync",
            "",
            "(call $f (i32.const 0x80000000))",
            Errno(BADF),
            Same
        ),
    ]);
}

#[test]
fn bad_enum_and_flag_values() {
    check(&[
        case!(
            "fd_seek whence 3",
            "fd_seek",
            "",
            "(call $f (i32.const 1) (i64.const 0) (i32.const 3) (i32.const 16))",
            Errno(INVAL),
            Differs(Trap, WHY_EINVAL)
        ),
        case!(
            "clock_time_get clock 4",
            "clock_time_get",
            "",
            "(call $f (i32.const 4) (i64.const 0) (i32.const 16))",
            Errno(INVAL),
            Differs(Trap, WHY_EINVAL)
        ),
        case!(
            "clock_res_get clock 99",
            "clock_res_get",
            "",
            "(call $f (i32.const 99) (i32.const 16))",
            Errno(INVAL),
            Differs(Trap, WHY_EINVAL)
        ),
        case!(
            "fd_advise advice 6",
            "fd_advise",
            "",
            "(call $f (i32.const 1) (i64.const 0) (i64.const 0) (i32.const 6))",
            Errno(INVAL),
            Differs(Trap, WHY_EINVAL)
        ),
        case!(
            "proc_raise signal 99",
            "proc_raise",
            "",
            "(call $f (i32.const 99))",
            Errno(INVAL),
            Differs(Trap, WHY_EINVAL)
        ),
        case!(
            "fd_fdstat_set_flags unknown bit",
            "fd_fdstat_set_flags",
            "",
            "(call $f (i32.const 1) (i32.const 0x8000))",
            Errno(INVAL),
            Differs(Trap, WHY_EINVAL)
        ),
        case!(
            "fd_fdstat_set_rights unknown bit",
            "fd_fdstat_set_rights",
            "",
            "(call $f (i32.const 1) (i64.const 0x10000000000) (i64.const 0))",
            Errno(INVAL),
            Differs(Trap, WHY_EINVAL)
        ),
        case!(
            "path_open unknown oflags bit",
            "path_open",
            r#"(data (i32.const 0) "hello.txt")"#,
            "(call $f (i32.const 3) (i32.const 0) (i32.const 0) (i32.const 9) (i32.const 0x10) \
             (i64.const 0) (i64.const 0) (i32.const 0) (i32.const 16))",
            Errno(INVAL),
            Differs(Trap, WHY_EINVAL)
        ),
        case!(
            "path_open unknown fdflags bit",
            "path_open",
            r#"(data (i32.const 0) "hello.txt")"#,
            "(call $f (i32.const 3) (i32.const 0) (i32.const 0) (i32.const 9) (i32.const 0) \
             (i64.const 0) (i64.const 0) (i32.const 0x20) (i32.const 16))",
            Errno(INVAL),
            Differs(Trap, WHY_EINVAL)
        ),
        case!(
            "path_open unknown lookupflags bit",
            "path_open",
            r#"(data (i32.const 0) "hello.txt")"#,
            "(call $f (i32.const 3) (i32.const 2) (i32.const 0) (i32.const 9) (i32.const 0) \
             (i64.const 0) (i64.const 0) (i32.const 0) (i32.const 16))",
            Errno(INVAL),
            Differs(Trap, WHY_EINVAL)
        ),
        case!(
            "path_filestat_set_times unknown fstflags bit",
            "path_filestat_set_times",
            r#"(data (i32.const 0) "hello.txt")"#,
            "(call $f (i32.const 3) (i32.const 0) (i32.const 0) (i32.const 9) (i64.const 0) \
             (i64.const 0) (i32.const 0x10))",
            Errno(INVAL),
            Differs(Trap, WHY_EINVAL)
        ),
        case!(
            "fd_filestat_set_times atim with atim_now",
            "fd_filestat_set_times",
            "",
            "(call $f (i32.const 3) (i64.const 0) (i64.const 0) (i32.const 3))",
            Errno(INVAL),
            Same
        ),
        case!(
            "sock_shutdown unknown sdflags bit",
            "sock_shutdown",
            "",
            "(call $f (i32.const 0) (i32.const 4))",
            Errno(INVAL),
            Differs(Trap, WHY_EINVAL)
        ),
        case!(
            "poll_oneoff subscription tag 3",
            "poll_oneoff",
            r#"(data (i32.const 8) "\03")"#,
            "(call $f (i32.const 0) (i32.const 4096) (i32.const 1) (i32.const 1024))",
            Errno(INVAL),
            Same
        ),
        case!(
            "poll_oneoff clock subscription with clock 7",
            "poll_oneoff",
            r#"(data (i32.const 16) "\07")"#,
            "(call $f (i32.const 0) (i32.const 4096) (i32.const 1) (i32.const 1024))",
            Errno(INVAL),
            Same
        ),
    ]);
}

#[test]
fn lengths_and_strings() {
    check(&[
        case!(
            "poll_oneoff with 0 subscriptions",
            "poll_oneoff",
            "",
            "(call $f (i32.const 0) (i32.const 4096) (i32.const 0) (i32.const 1024))",
            Errno(INVAL),
            Same
        ),
        case!(
            "path_create_directory invalid UTF-8",
            "path_create_directory",
            r#"(data (i32.const 0) "a\ff\fe")"#,
            "(call $f (i32.const 3) (i32.const 0) (i32.const 3))",
            Errno(ILSEQ),
            Same
        ),
        case!(
            "path_symlink invalid UTF-8 target",
            "path_symlink",
            r#"(data (i32.const 0) "\c3\28") (data (i32.const 16) "newlink")"#,
            "(call $f (i32.const 0) (i32.const 2) (i32.const 3) (i32.const 16) (i32.const 7))",
            Errno(ILSEQ),
            Same
        ),
        case!(
            "fd_prestat_dir_name into a 0-byte buffer",
            "fd_prestat_dir_name",
            "",
            "(call $f (i32.const 3) (i32.const 16) (i32.const 0))",
            Errno(NAMETOOLONG),
            Same
        ),
        // errno * 65536 + bufused: success with nothing written.
        case!(
            "fd_readdir with buf_len 0",
            "fd_readdir",
            "",
            "(drop (call $f (i32.const 3) (i32.const 64) (i32.const 0) (i64.const 0) (i32.const 16))) \
             (i32.store (i32.const 16) (i32.const 77)) \
             (i32.add (i32.mul (call $f (i32.const 3) (i32.const 64) (i32.const 0) (i64.const 0) \
             (i32.const 16)) (i32.const 65536)) (i32.load (i32.const 16)))",
            Errno(0),
            Same
        ),
        // A cookie far past the end: nothing, not an error.
        case!(
            "fd_readdir cookie u64::MAX",
            "fd_readdir",
            "",
            "(i32.add (i32.mul (call $f (i32.const 3) (i32.const 64) (i32.const 256) (i64.const -1) \
             (i32.const 16)) (i32.const 65536)) (i32.load (i32.const 16)))",
            Errno(0),
            Same
        ),
        case!(
            "fd_write with 0 iovecs",
            "fd_write",
            "",
            "(call $f (i32.const 1) (i32.const 0) (i32.const 0) (i32.const 16))",
            Errno(0),
            Same
        ),
        case!(
            "random_get 0 bytes at memory end",
            "random_get",
            "",
            "(call $f (i32.const 65536) (i32.const 0))",
            Errno(0),
            Same
        ),
    ]);
}

/// 1000 iovecs that all name the whole 64 KiB memory ask for 64 MiB of output; a 1 MiB stdout
/// budget must hold whatever the runtime does (short write, EFBIG, or a trap naming the limit),
/// and the host must not copy the whole request first.
#[test]
fn aliasing_iovecs_stay_within_a_capped_stdout() {
    let mut iovecs = String::new();
    for _ in 0..1000 {
        iovecs.push_str(r"\00\00\00\00\00\00\01\00");
    }
    let wat = format!(
        r#"(module
             (import "wasi_snapshot_preview1" "fd_write" (func $f (param i32 i32 i32 i32) (result i32)))
             (memory (export "memory") 1)
             (data (i32.const 1024) "{iovecs}")
             (func (export "run") (result i32)
               (call $f (i32.const 1) (i32.const 1024) (i32.const 1000) (i32.const 16))))"#
    );
    let module = Module::new(support::engine(), wat).unwrap();
    for action in [LimitAction::Trap, LimitAction::Truncate] {
        let stdout = Output::capture().limit(1 << 20).on_limit(action).build();
        let end = warden(&module, stdout.clone());
        let written = stdout.contents().len();
        assert!(
            written <= 1 << 20,
            "{action:?}: {written} bytes passed a 1 MiB cap"
        );
        match (action, end) {
            (LimitAction::Trap, Trap) => {}
            (LimitAction::Truncate, Errno(errno)) => {
                assert!(errno == 0 || errno == 22, "{action:?}: errno {errno}")
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}

/// fd_renumber onto u32::MAX must not leave the table in a state later calls trip over.
#[test]
fn renumber_to_huge_fd_then_open_still_works() {
    let wat = r#"(module
        (import "wasi_snapshot_preview1" "fd_renumber" (func $renumber (param i32 i32) (result i32)))
        (import "wasi_snapshot_preview1" "path_open"
          (func $open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
        (memory (export "memory") 1)
        (data (i32.const 0) "hello.txt")
        (func (export "run") (result i32)
          (drop (call $renumber (i32.const 3) (i32.const -1)))
          (drop (call $renumber (i32.const 1) (i32.const 0x7fffffff)))
          (call $open (i32.const 3) (i32.const 0) (i32.const 0) (i32.const 9) (i32.const 0)
                (i64.const 2) (i64.const 2) (i32.const 0) (i32.const 16))))"#;
    let module = Module::new(support::engine(), wat).unwrap();
    assert_eq!(warden(&module, Output::capture()), Errno(0));
    assert_eq!(reference(&module), Errno(0));
}
