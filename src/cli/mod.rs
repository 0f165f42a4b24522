//! The command line of `wasi-warden`: clap definitions and the help text. This module only
//! describes and parses flags (`values.rs` checks each value); `main.rs` turns them into a
//! `WasiCtx` and runs the guest. Nothing here touches the guest or the host filesystem.

pub mod policy;
pub mod values;

use clap::{Args, Parser, Subcommand};
use std::path::{Path, PathBuf};
use values::{EnvVar, HostMount, MemDir, SizeLimit};

/// Default byte budget of the guest's stdout and of its stderr.
pub const DEFAULT_OUTPUT_LIMIT: &str = "64MiB";

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

Exit status:
  the guest's own exit status; 134 if the guest trapped or was stopped by a limit;
  2 if the command line is wrong or the module cannot be loaded or linked.

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

    /// Mount an in-memory directory at GUEST, filled with a copy of the host directory HOST
    /// if given (read once at start; the host is never written).
    #[arg(long = "mem-dir", value_name = "[HOST::]GUEST")]
    pub mem_dir: Vec<MemDir>,

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

    /// The most descriptors the guest may have open at once, stdio and mounts included.
    #[arg(long = "max-fds", value_name = "N", default_value_t = wasi_warden::table::DEFAULT_MAX_FDS)]
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
    fn a_bad_size_is_a_usage_error() {
        let err = Cli::try_parse_from(["wasi-warden", "run", "--stdout-limit", "10MB", "m.wasm"])
            .unwrap_err();
        assert_eq!(err.exit_code(), 2);
        assert!(err.to_string().contains("MiB"), "{err}");
    }
}
