//! The command line of `wasi-warden`: clap definitions and the help text. This module only
//! describes and parses flags (`values.rs` checks each value, `groups.rs` wasmtime's `-W/-S/-C/-O`
//! groups); the other files here set up the engine, load the module, build the `WasiCtx` and
//! report how the run ended, for `main.rs` to drive.

pub mod cache;
pub mod compile;
pub mod engine;
pub mod grants;
pub mod groups;
pub mod invoke;
pub mod load;
pub mod policy;
pub mod progress;
pub mod report;
pub mod values;

use clap::{Args, Parser, Subcommand};
use groups::{Group, Options};
use std::path::{Path, PathBuf};
use values::{EnvVar, HostMount, MemDir, SizeLimit, Timeout};
use wasi_warden::RunLimits;

/// Default byte budget of the guest's stdout and of its stderr.
pub const DEFAULT_OUTPUT_LIMIT: &str = "64MiB";

/// Default byte budget of each in-memory filesystem.
pub const DEFAULT_FS_QUOTA: &str = "256MiB";

/// Inode budget of each in-memory filesystem (files, directories, symlinks, extra hard links):
/// bounds the host memory names and inodes take, whatever the byte quota.
pub const FS_INODES: u64 = 1 << 18;

/// Run untrusted WASI preview1 programs with every effect under your control.
#[derive(Debug, Parser)]
#[command(name = "wasi-warden", version, propagate_version = true)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a WASI preview1 module (`.wasm` or `.wat`; `.cwasm` with --allow-precompiled).
    #[command(
        after_help = RUN_AFTER_HELP,
        override_usage = "wasi-warden run [OPTIONS] <MODULE> [ARGS]..."
    )]
    Run(Box<RunArgs>),
    /// Compile a module ahead of time into a `.cwasm` file (as `wasmtime compile`).
    #[command(after_help = COMPILE_AFTER_HELP)]
    Compile(CompileArgs),
}

const RUN_AFTER_HELP: &str = "\
What the guest gets:
  - its arguments (argv[0] is MODULE's file name, or --argv0) and only the variables passed
    with --env (or all of the host's, with -S inherit-env);
  - the host's stdin, stdout and stderr, with stdout/stderr capped by the limits above;
  - the real-time, monotonic and CPU-time clocks, and the host's random number generator;
  - the --dir, --ro-dir, --overlay and --mem-dir mounts, and no directory at all without
    one (as wasmtime): `--mem-dir /` gives it a private, empty in-memory `/`;
  - the --tcplisten / -S tcplisten sockets (fds after the mounts), and no other network.
  Only --dir mounts are written by the guest; --ro-dir refuses changes, and --overlay and
  --mem-dir keep them in memory.

wasmtime's spellings: `wasmtime run` lines work as they are where the feature exists here:
--dir, --env, --invoke, --argv0, --allow-precompiled, -W fuel=N,timeout=DUR,
max-memory-size=SIZE,unknown-imports-trap,unknown-imports-default and the proposals
(exceptions, gc, tail-call, simd...), -S inherit-env,tcplisten=ADDR, -C cache=n,
cache-config=FILE,parallel-compilation=n, -O opt-level=N, and the older --disable-cache,
--trap-unknown-imports and --default-values-unknown-imports. Options that would widen the
sandbox (-S inherit-network, allow-ip-name-lookup...) are refused, with the reason.
`-W help` (and -S, -C, -O help) lists every key, accepted and refused.

Compiled modules are cached (wasmtime's cache, in ~/.cache/wasi-warden or
$XDG_CACHE_HOME/wasi-warden): the second run of a module does not compile it again.

Policies (--policy, --ask) can deny, stop or ask about any call; --audit and --trace record
every call, denied and asked ones included. See the README's \"Policies\" section.

Limits: each in-memory filesystem (--mem-dir, an --overlay's changes) holds at most
--fs-quota bytes of host memory — file data, names and a fixed cost per object (ENOSPC past
it) — and 262144 inodes (EDQUOT); --fuel, --timeout and --max-memory stop the guest with one
line naming the limit, --timeout also while it waits (stdin, sockets, a full stdout pipe).
--save-fs writes the in-memory tree even after such a stop.

Exit status:
  the guest's own exit status; 134 if the guest trapped or wrote past --stdout-limit or
  --stderr-limit; 124 if it ran past --timeout; 125 if it used up its --fuel; 123 if its
  memory would grow past --max-memory; 2 if the command line is wrong, the module cannot be
  loaded or linked, or a filesystem image cannot be loaded or saved.

Flags after MODULE are passed to the guest (with --invoke, they are also the function's
arguments).";

const COMPILE_AFTER_HELP: &str = "\
A .cwasm runs only on an engine configured as the one that made it, and only with
`wasi-warden run --allow-precompiled`: pass the same -W/-O/-C options to both, and -W fuel=N
or -W timeout=DUR here if the run will use --fuel or --timeout (any value: they switch the
metering on in the compiled code).";

/// wasmtime's option groups, shared by `run` and `compile`.
#[derive(Debug, Args, Default)]
pub struct EngineArgs {
    /// wasmtime's wasm options: fuel=N, timeout=DUR, max-memory-size=SIZE,
    /// unknown-imports-trap, unknown-imports-default, the proposals (exceptions, gc, simd,
    /// tail-call, ...=y|n); `-W help` lists them all.
    #[arg(short = 'W', long = "wasm", value_name = "KEY[=VAL[,..]]")]
    pub wasm: Vec<String>,

    /// wasmtime's codegen options: cache=y|n, cache-config=FILE, parallel-compilation=y|n;
    /// `-C help` lists them all.
    #[arg(short = 'C', long = "codegen", value_name = "KEY[=VAL[,..]]")]
    pub codegen: Vec<String>,

    /// wasmtime's optimization options: opt-level=0|1|2|s, memory layout; `-O help` lists
    /// them all.
    #[arg(short = 'O', long = "optimize", value_name = "KEY[=VAL[,..]]")]
    pub optimize: Vec<String>,

    /// Do not cache compiled modules: wasmtime's older spelling of -C cache=n.
    #[arg(long = "disable-cache")]
    pub disable_cache: bool,
}

impl EngineArgs {
    /// The group whose help was asked for (`-W help`), if one was.
    pub fn help_request(&self) -> Option<Group> {
        [
            (Group::Wasm, &self.wasm),
            (Group::Codegen, &self.codegen),
            (Group::Optimize, &self.optimize),
        ]
        .into_iter()
        .find(|(_, values)| values.iter().any(|v| v == "help"))
        .map(|(group, _)| group)
    }

    /// The groups' options, parsed. Errors: one line naming the flag and key.
    pub fn options(&self) -> Result<Options, String> {
        let mut options = Options::default();
        for (group, values) in [
            (Group::Wasm, &self.wasm),
            (Group::Codegen, &self.codegen),
            (Group::Optimize, &self.optimize),
        ] {
            for list in values {
                options.add(group, list)?;
            }
        }
        if self.disable_cache {
            options.cache = Some(false);
        }
        Ok(options)
    }
}

/// The flags of `wasi-warden run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Mount the host directory HOST read-write at GUEST (default: HOST's own path), as
    /// wasmtime's --dir. The guest cannot leave it: `..`, absolute paths and symlinks pointing
    /// out are refused.
    #[arg(long = "dir", value_name = "HOST[::GUEST]")]
    pub dir: Vec<HostMount>,

    /// Mount the host directory HOST read-only at GUEST: every change is refused (EPERM).
    #[arg(long = "ro-dir", value_name = "HOST[::GUEST]")]
    pub ro_dir: Vec<HostMount>,

    /// Mount HOST at GUEST copy-on-write: the guest sees a read-write tree, its changes stay
    /// in memory and the host directory is never modified.
    #[arg(long = "overlay", value_name = "HOST::GUEST")]
    pub overlay: Vec<HostMount>,

    /// Mount an in-memory directory at GUEST (`--mem-dir /` for a private root), filled from
    /// SRC if given: a copy of a host directory, or the contents of a tar image file (read
    /// once at start; never written).
    #[arg(long = "mem-dir", value_name = "[SRC::]GUEST")]
    pub mem_dir: Vec<MemDir>,

    /// After the run, however it ended, write the first --mem-dir mount to this file as a
    /// tar image (loadable with --mem-dir FILE.tar::GUEST).
    #[arg(long = "save-fs", value_name = "FILE.tar")]
    pub save_fs: Option<PathBuf>,

    /// Set an environment variable for the guest; `--env K` passes the host's value of K
    /// (skipped if K is not set on the host). As wasmtime's --env.
    #[arg(long = "env", value_name = "K[=V]")]
    pub env: Vec<EnvVar>,

    /// Stop the guest once it has written this much to stdout: bytes, or with a K/KiB, M/MiB
    /// or G/GiB suffix (powers of 1024), or `unlimited`.
    #[arg(long = "stdout-limit", value_name = "SIZE", default_value = DEFAULT_OUTPUT_LIMIT)]
    pub stdout_limit: SizeLimit,

    /// Stop the guest once it has written this much to stderr (same units as --stdout-limit).
    #[arg(long = "stderr-limit", value_name = "SIZE", default_value = DEFAULT_OUTPUT_LIMIT)]
    pub stderr_limit: SizeLimit,

    /// Byte budget of each in-memory filesystem: file data and symlink targets (sparse holes
    /// are free); writes past it fail with ENOSPC. --save-fs writes at most this much file data.
    #[arg(long = "fs-quota", value_name = "SIZE", default_value = DEFAULT_FS_QUOTA)]
    pub fs_quota: SizeLimit,

    /// Stop the guest once it has used this much fuel (about one unit per wasm instruction).
    /// wasmtime's spelling: -W fuel=N.
    #[arg(long = "fuel", value_name = "N")]
    pub fuel: Option<u64>,

    /// Stop the guest after this much wall-clock time (`500ms`, `10s`, `2m`, `1h`; a bare
    /// number is seconds), even while it sleeps or waits for input. wasmtime's spelling:
    /// -W timeout=DUR.
    #[arg(long = "timeout", value_name = "DURATION")]
    pub timeout: Option<Timeout>,

    /// Stop the guest if its linear memory would grow past this size (same units as
    /// --stdout-limit). wasmtime's spelling: -W max-memory-size=SIZE.
    #[arg(long = "max-memory", value_name = "SIZE")]
    pub max_memory: Option<SizeLimit>,

    /// Reproducible run: virtual clocks (starting at 2000-01-01, 1 µs per read, sleeps take no
    /// real time), randomness seeded with SEED (default 0), file times from the virtual clock.
    #[arg(
        long = "deterministic",
        value_name = "SEED",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "0"
    )]
    pub deterministic: Option<u64>,

    /// The most descriptors the guest may have open at once, stdio and mounts included.
    #[arg(long = "max-fds", value_name = "N", default_value_t = wasi_warden::limits::DEFAULT_MAX_FDS)]
    pub max_fds: u32,

    /// Decide each call with the rules of this policy file (TOML; see the README). A bad file
    /// is an error naming its line.
    #[arg(long = "policy", value_name = "FILE.toml")]
    pub policy: Option<PathBuf>,

    /// Ask on the terminal before the guest touches a mount (and whenever the policy says
    /// `ask`): [y]es once, [a]lways, [n]o, [N]ever. Without a terminal, such calls are denied.
    #[arg(long = "ask")]
    pub ask: bool,

    /// Write one JSON line per call (request, decision, result, duration) to this file.
    #[arg(long = "audit", value_name = "FILE.jsonl")]
    pub audit: Option<PathBuf>,

    /// Print every call strace-style on stderr.
    #[arg(long = "trace")]
    pub trace: bool,

    /// Listen on this TCP address and give the guest the listening socket (it may accept
    /// connections on it; nothing else on the network is reachable). Repeatable.
    /// wasmtime's spelling: -S tcplisten=ADDR:PORT.
    #[arg(long = "tcplisten", value_name = "ADDR:PORT")]
    pub tcplisten: Vec<String>,

    /// wasmtime's WASI options that map onto what wasi-warden grants: inherit-env,
    /// tcplisten=ADDR:PORT; ones that would widen the sandbox are refused. `-S help` lists
    /// them all.
    #[arg(short = 'S', long = "wasi", value_name = "KEY[=VAL[,..]]")]
    pub wasi: Vec<String>,

    /// Call this exported function (after `_initialize`, if the module has one) instead of
    /// `_start`, with the arguments after MODULE as its parameters; its results are printed
    /// one per line. As wasmtime's --invoke.
    #[arg(long = "invoke", value_name = "FUNCTION")]
    pub invoke: Option<String>,

    /// The guest's argv[0] (default: MODULE's file name). As wasmtime's --argv0.
    #[arg(long = "argv0", value_name = "NAME")]
    pub argv0: Option<String>,

    /// Accept a precompiled module (`.cwasm`, from `wasi-warden compile`). UNSAFE for files
    /// you did not compile yourself: loading one runs its machine code as it is, outside the
    /// sandbox's checks. As wasmtime's --allow-precompiled.
    #[arg(long = "allow-precompiled")]
    pub allow_precompiled: bool,

    /// Link function imports nothing provides to functions that stop the guest when called:
    /// wasmtime's older spelling of -W unknown-imports-trap.
    #[arg(long = "trap-unknown-imports")]
    pub trap_unknown_imports: bool,

    /// Link imports nothing provides to default values (functions return zeros): wasmtime's
    /// older spelling of -W unknown-imports-default.
    #[arg(long = "default-values-unknown-imports")]
    pub default_values_unknown_imports: bool,

    /// After loading the module, print on stderr whether the compiled-module cache had it
    /// (`cache: 1 hit, 0 misses (DIR)`).
    #[arg(long = "cache-stats")]
    pub cache_stats: bool,

    /// wasmtime's option groups.
    #[command(flatten)]
    pub engine: EngineArgs,

    /// The module to run (a binary `.wasm`, a text `.wat`, or a `.cwasm` with
    /// --allow-precompiled), then the guest's arguments.
    // One positional, as in `wasmtime run`: once MODULE is seen, everything after it is the
    // guest's, even words that look like our flags.
    #[arg(
        value_name = "MODULE",
        required = true,
        num_args = 1..,
        trailing_var_arg = true
    )]
    module_and_args: Vec<String>,
}

impl RunArgs {
    /// The module's path.
    pub fn module(&self) -> &Path {
        // clap guarantees at least one value (`required`); "" is never reached in practice.
        Path::new(self.module_and_args.first().map_or("", String::as_str))
    }

    /// The guest's arguments after argv[0].
    pub fn guest_args(&self) -> &[String] {
        self.module_and_args.get(1..).unwrap_or(&[])
    }

    /// The group whose help was asked for (`-S help`...), if one was.
    pub fn help_request(&self) -> Option<Group> {
        if self.wasi.iter().any(|v| v == "help") {
            return Some(Group::Wasi);
        }
        self.engine.help_request()
    }

    /// Every option group, the older wasmtime flags and our own spellings folded into one
    /// set of options. Errors: one line (a bad key, or one setting given in both spellings).
    pub fn options(&self) -> Result<Options, String> {
        let mut options = self.engine.options()?;
        for list in &self.wasi {
            options.add(Group::Wasi, list)?;
        }
        options.unknown_imports_trap |= self.trap_unknown_imports;
        options.unknown_imports_default |= self.default_values_unknown_imports;
        let both = |ours: &str, theirs: &str| {
            format!("{ours} and -W {theirs} set the same limit: give only one of them")
        };
        if let Some(fuel) = self.fuel {
            if options.fuel.is_some() {
                return Err(both("--fuel", "fuel"));
            }
            options.fuel = Some(fuel);
        }
        if let Some(timeout) = self.timeout {
            if options.timeout.is_some() {
                return Err(both("--timeout", "timeout"));
            }
            options.timeout = Some(timeout.0);
        }
        if let Some(max) = self.max_memory {
            if options.max_memory_size.is_some() {
                return Err(both("--max-memory", "max-memory-size"));
            }
            // `unlimited` is no limit at all.
            options.max_memory_size = max.bytes();
        }
        let mut listen = self.tcplisten.clone();
        listen.append(&mut options.tcplisten);
        options.tcplisten = listen;
        Ok(options)
    }
}

/// The run-wide limits `options` ask for.
pub fn limits(options: &Options) -> RunLimits {
    RunLimits {
        fuel: options.fuel,
        timeout: options.timeout,
        max_memory: options.max_memory_size,
    }
}

/// The flags of `wasi-warden compile`.
#[derive(Debug, Args)]
pub struct CompileArgs {
    /// Where to write the compiled module (default: MODULE's file name with `.cwasm`, in the
    /// current directory, as wasmtime).
    #[arg(short = 'o', long = "output", value_name = "OUT.cwasm")]
    pub output: Option<PathBuf>,

    /// wasmtime's option groups.
    #[command(flatten)]
    pub engine: EngineArgs,

    /// The module to compile (`.wasm` or `.wat`).
    #[arg(value_name = "MODULE")]
    pub module: PathBuf,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn clap_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn flags_after_the_module_go_to_the_guest() {
        let cli =
            Cli::try_parse_from(["wasi-warden", "run", "--env", "A=1", "m.wat", "--env", "-x"])
                .unwrap();
        let Command::Run(run) = cli.command else {
            panic!("not run")
        };
        assert_eq!(run.module(), Path::new("m.wat"));
        assert_eq!(run.guest_args(), ["--env", "-x"]);
        assert_eq!(run.env.len(), 1);
    }

    #[test]
    fn limits_default_to_64_mib() {
        let cli = Cli::try_parse_from(["wasi-warden", "run", "m.wasm"]).unwrap();
        let Command::Run(run) = cli.command else {
            panic!("not run")
        };
        assert_eq!(run.stdout_limit.bytes(), Some(64 << 20));
        assert_eq!(run.stderr_limit.bytes(), Some(64 << 20));
    }

    #[test]
    fn policy_flags_parse() {
        let cli = Cli::try_parse_from([
            "wasi-warden",
            "run",
            "--policy",
            "p.toml",
            "--ask",
            "--audit",
            "a.jsonl",
            "--trace",
            "--tcplisten",
            "127.0.0.1:0",
            "m.wasm",
        ])
        .unwrap();
        let Command::Run(run) = cli.command else {
            panic!("not run")
        };
        assert_eq!(run.policy.as_deref(), Some(Path::new("p.toml")));
        assert!(run.ask && run.trace);
        assert_eq!(run.audit.as_deref(), Some(Path::new("a.jsonl")));
        assert_eq!(run.tcplisten, ["127.0.0.1:0"]);
    }

    #[test]
    fn limit_flags_parse() {
        let cli = Cli::try_parse_from([
            "wasi-warden",
            "run",
            "--fuel",
            "1000",
            "--timeout",
            "1.5s",
            "--max-memory",
            "64MiB",
            "--fs-quota",
            "1MiB",
            "--deterministic=7",
            "--save-fs",
            "out.tar",
            "m.wasm",
        ])
        .unwrap();
        let Command::Run(run) = cli.command else {
            panic!("not run")
        };
        assert_eq!(run.fuel, Some(1000));
        assert_eq!(
            run.timeout.map(|t| t.0),
            Some(std::time::Duration::from_millis(1500))
        );
        assert_eq!(run.max_memory.and_then(SizeLimit::bytes), Some(64 << 20));
        assert_eq!(run.fs_quota.bytes(), Some(1 << 20));
        assert_eq!(run.deterministic, Some(7));
        assert_eq!(run.save_fs.as_deref(), Some(Path::new("out.tar")));
        let cli = Cli::try_parse_from(["wasi-warden", "run", "--deterministic", "m.wasm"]).unwrap();
        let Command::Run(run) = cli.command else {
            panic!("not run")
        };
        assert_eq!(run.deterministic, Some(0));
        assert_eq!(run.module(), Path::new("m.wasm"));
        assert_eq!(run.fs_quota.bytes(), Some(256 << 20));
    }

    fn run_args(args: &[&str]) -> RunArgs {
        let cli = Cli::try_parse_from([&["wasi-warden", "run"][..], args].concat()).unwrap();
        let Command::Run(run) = cli.command else {
            panic!("not run")
        };
        *run
    }

    #[test]
    fn wasmtime_spellings_fold_into_one_set_of_options() {
        let run = run_args(&[
            "-W",
            "fuel=5,unknown-imports-default",
            "-S",
            "inherit-env",
            "--tcplisten",
            "127.0.0.1:1",
            "-S",
            "tcplisten=127.0.0.1:2",
            "--disable-cache",
            "--trap-unknown-imports",
            "--max-memory",
            "1MiB",
            "m.wasm",
            "-W",
            "fuel=6",
        ]);
        let o = run.options().unwrap();
        assert_eq!(o.fuel, Some(5));
        assert!(o.inherit_env && o.unknown_imports_trap && o.unknown_imports_default);
        assert_eq!(o.tcplisten, ["127.0.0.1:1", "127.0.0.1:2"]);
        assert_eq!(o.cache, Some(false));
        assert_eq!(o.max_memory_size, Some(1 << 20));
        // After MODULE, `-W fuel=6` is the guest's.
        assert_eq!(run.guest_args(), ["-W", "fuel=6"]);
        let limits = limits(&o);
        assert_eq!((limits.fuel, limits.max_memory), (Some(5), Some(1 << 20)));
    }

    #[test]
    fn help_of_a_group_is_found_in_any_occurrence() {
        assert_eq!(
            run_args(&["-W", "fuel=1", "-W", "help", "m"]).help_request(),
            Some(Group::Wasm)
        );
        assert_eq!(
            run_args(&["-S", "help", "m"]).help_request(),
            Some(Group::Wasi)
        );
        assert_eq!(
            run_args(&["-O", "help", "m"]).help_request(),
            Some(Group::Optimize)
        );
        assert_eq!(run_args(&["-C", "cache=n", "m"]).help_request(), None);
    }

    #[test]
    fn compile_takes_the_engine_groups_and_an_output() {
        let cli = Cli::try_parse_from([
            "wasi-warden",
            "compile",
            "-W",
            "fuel=1",
            "-o",
            "out.cwasm",
            "m.wat",
        ])
        .unwrap();
        let Command::Compile(args) = cli.command else {
            panic!("not compile")
        };
        assert_eq!(args.output.as_deref(), Some(Path::new("out.cwasm")));
        assert_eq!(args.module, Path::new("m.wat"));
        assert_eq!(args.engine.options().unwrap().fuel, Some(1));
    }

    #[test]
    fn a_bad_size_is_a_usage_error() {
        let err = Cli::try_parse_from(["wasi-warden", "run", "--stdout-limit", "10MB", "m.wasm"])
            .unwrap_err();
        assert_eq!(err.exit_code(), 2);
        assert!(err.to_string().contains("MiB"), "{err}");
    }
}
