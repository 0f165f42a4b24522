//! The command line of `wasi-warden`: clap definitions and the help text. This module only
//! describes and parses flags (`values.rs` checks each value); `main.rs` turns them into a
//! `WasiCtx` and runs the guest. Nothing here touches the guest or the host filesystem.

pub mod policy;
pub mod values;

use clap::{Args, Parser, Subcommand};
use std::path::{Path, PathBuf};
use values::{EnvVar, HostMount, MemDir, SizeLimit, Timeout};

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
    /// Run a WASI preview1 command module (`.wasm` or `.wat`) to completion.
    #[command(
        after_help = RUN_AFTER_HELP,
        override_usage = "wasi-warden run [OPTIONS] <MODULE> [ARGS]..."
    )]
    Run(RunArgs),
}

const RUN_AFTER_HELP: &str = "\
What the guest gets:
  - its arguments (argv[0] is MODULE as given) and only the variables passed with --env;
  - the host's stdin, stdout and stderr, with stdout/stderr capped by the limits above;
  - the real-time, monotonic and CPU-time clocks, and the host's random number generator;
  - the --dir, --ro-dir, --overlay and --mem-dir mounts, or, with no mount flag, an empty
    private in-memory `/`;
  - the --tcplisten sockets (fds after the mounts), and no other network access.
  Only --dir mounts are written by the guest; --ro-dir refuses changes, and --overlay and
  --mem-dir keep them in memory.

Policies (--policy, --ask) can deny, stop or ask about any call; --audit and --trace record
every call, denied and asked ones included. See the README's \"Policies\" section.

Limits: each in-memory filesystem (--mem-dir, the default `/`, an --overlay's changes) holds
at most --fs-quota bytes of host memory — file data, names and a fixed cost per object (ENOSPC
past it) — and 262144 inodes (EDQUOT); --fuel, --timeout and --max-memory stop the guest with
one line naming the limit, --timeout also while it waits (stdin, sockets, a full stdout pipe).
--save-fs writes the in-memory tree even after such a stop.

Exit status:
  the guest's own exit status; 134 if the guest trapped or wrote past --stdout-limit or
  --stderr-limit; 124 if it ran past --timeout; 125 if it used up its --fuel; 123 if its
  memory would grow past --max-memory; 2 if the command line is wrong, the module cannot be
  loaded or linked, or a filesystem image cannot be loaded or saved.

Flags after MODULE are passed to the guest.";

/// The flags of `wasi-warden run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Mount the host directory HOST read-write at GUEST (default: HOST's own path). The guest
    /// cannot leave it: `..`, absolute paths and symlinks pointing out are refused.
    #[arg(long = "dir", value_name = "HOST[::GUEST]")]
    pub dir: Vec<HostMount>,

    /// Mount the host directory HOST read-only at GUEST: every change is refused (EPERM).
    #[arg(long = "ro-dir", value_name = "HOST[::GUEST]")]
    pub ro_dir: Vec<HostMount>,

    /// Mount HOST at GUEST copy-on-write: the guest sees a read-write tree, its changes stay
    /// in memory and the host directory is never modified.
    #[arg(long = "overlay", value_name = "HOST::GUEST")]
    pub overlay: Vec<HostMount>,

    /// Mount an in-memory directory at GUEST, filled from SRC if given: a copy of a host
    /// directory, or the contents of a tar image file (read once at start; never written).
    #[arg(long = "mem-dir", value_name = "[SRC::]GUEST")]
    pub mem_dir: Vec<MemDir>,

    /// After the run, however it ended, write the first in-memory mount (--mem-dir, or the
    /// default `/`) to this file as a tar image (loadable with --mem-dir FILE.tar::GUEST).
    #[arg(long = "save-fs", value_name = "FILE.tar")]
    pub save_fs: Option<PathBuf>,

    /// Set an environment variable for the guest; `--env K` passes the host's value of K
    /// (skipped if K is not set on the host).
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
    #[arg(long = "fuel", value_name = "N")]
    pub fuel: Option<u64>,

    /// Stop the guest after this much wall-clock time (`500ms`, `10s`, `2m`, `1h`; a bare
    /// number is seconds), even while it sleeps or waits for input.
    #[arg(long = "timeout", value_name = "DURATION")]
    pub timeout: Option<Timeout>,

    /// Stop the guest if its linear memory would grow past this size (same units as
    /// --stdout-limit).
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
    #[arg(long = "tcplisten", value_name = "ADDR:PORT")]
    pub tcplisten: Vec<String>,

    /// The module to run (a binary `.wasm` or a text `.wat` file), then the guest's arguments.
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
        let Command::Run(run) = cli.command;
        assert_eq!(run.module(), Path::new("m.wat"));
        assert_eq!(run.guest_args(), ["--env", "-x"]);
        assert_eq!(run.env.len(), 1);
    }

    #[test]
    fn limits_default_to_64_mib() {
        let cli = Cli::try_parse_from(["wasi-warden", "run", "m.wasm"]).unwrap();
        let Command::Run(run) = cli.command;
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
        let Command::Run(run) = cli.command;
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
        let Command::Run(run) = cli.command;
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
        let Command::Run(run) = cli.command;
        assert_eq!(run.deterministic, Some(0));
        assert_eq!(run.module(), Path::new("m.wasm"));
        assert_eq!(run.fs_quota.bytes(), Some(256 << 20));
    }

    #[test]
    fn a_bad_size_is_a_usage_error() {
        let err = Cli::try_parse_from(["wasi-warden", "run", "--stdout-limit", "10MB", "m.wasm"])
            .unwrap_err();
        assert_eq!(err.exit_code(), 2);
        assert!(err.to_string().contains("MiB"), "{err}");
    }
}
