//! `WasiCtx`, the per-store state of one guest, and its builder. Every grant the guest gets
//! (args, env, clocks, randomness, streams, mounts, sockets) is made here and nowhere else: a
//! context built with no calls grants nothing but empty stdio. The policy, prompter and audit
//! sink are attached here too, through the [`PolicyHandle`] the host keeps.

use crate::abi::types::Fdflags;
use crate::audit::AuditSink;
use crate::clock::{ClockGrant, Clocks};
use crate::gate::{Gate, PolicyHandle};
use crate::policy::{Policy, Prompter};
use crate::random::RandomSource;
use crate::rights;
use crate::stdio::{Input, Output};
use crate::table::{DEFAULT_MAX_FDS, Descriptor, Kind, OpenDir, Socket, Table};
use crate::vfs::{Dir, Mount};
use std::net::TcpListener;
use std::sync::Arc;
#[cfg(feature = "wasmtime")]
use wasmtime::{Memory, Module};

/// The state of one guest: its descriptor table and everything it was granted.
pub struct WasiCtx {
    pub(crate) args: Vec<String>,
    pub(crate) env: Vec<(String, String)>,
    pub(crate) table: Table,
    pub(crate) clocks: Clocks,
    pub(crate) random: RandomSource,
    pub(crate) stdout: Output,
    pub(crate) stderr: Output,
    /// The policy every call goes through (and its audit).
    pub(crate) gate: Gate,
    /// The guest's memory, once bound (see `WasiCtx::bind_sole_instance`).
    #[cfg(feature = "wasmtime")]
    pub(crate) memory_index: MemoryIndex,
}

impl std::fmt::Debug for WasiCtx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WasiCtx")
            .field("args", &self.args)
            .field("open_fds", &self.table.len())
            .finish_non_exhaustive()
    }
}

impl WasiCtx {
    /// Starts a builder that grants nothing.
    pub fn builder() -> WasiCtxBuilder {
        WasiCtxBuilder::default()
    }

    /// The run's deadline, shared with every wait of the guest: a `poll_oneoff` sleep, a read
    /// of a pipe, a socket or a full output pipe ends there with a time-limit trap, and time
    /// spent on a person's answer to a prompt postpones it. [`crate::run_command_with`] sets it
    /// from its timeout; other frontends set it before calling the guest.
    pub fn deadline(&self) -> &crate::Deadline {
        self.clocks.deadline_handle()
    }

    /// The stdout stream the guest writes to (a handle to read captured bytes).
    pub fn stdout(&self) -> &Output {
        &self.stdout
    }

    /// The stderr stream the guest writes to.
    pub fn stderr(&self) -> &Output {
        &self.stderr
    }

    /// How many descriptors the guest has open (stdio and preopens included).
    pub fn open_fds(&self) -> u32 {
        self.table.len()
    }

    /// The handle controlling this guest's policy, prompter and audit sink: clone it to swap
    /// them from another thread while the guest runs.
    pub fn policy_handle(&self) -> &PolicyHandle {
        self.gate.handle()
    }
}

/// Collects grants, then [`WasiCtxBuilder::build`]s a [`WasiCtx`].
pub struct WasiCtxBuilder {
    args: Vec<String>,
    env: Vec<(String, String)>,
    /// Unset streams are made by `build` (empty stdin, null outputs): a default made up front
    /// and then replaced would cost every context three allocations for nothing.
    stdin: Option<Input>,
    stdout: Option<Output>,
    stderr: Option<Output>,
    mounts: Vec<(String, Arc<dyn Dir>)>,
    clocks: ClockGrant,
    random: RandomSource,
    /// Deterministic mode's clock (see [`WasiCtxBuilder::deterministic`]).
    virtual_clock: Option<Arc<crate::clock::VirtualClock>>,
    max_fds: u32,
    handle: Option<PolicyHandle>,
    policy: Option<Arc<dyn Policy>>,
    prompter: Option<Arc<dyn Prompter>>,
    audit: Option<Arc<dyn AuditSink>>,
    listeners: Vec<TcpListener>,
}

impl Default for WasiCtxBuilder {
    fn default() -> Self {
        WasiCtxBuilder {
            args: Vec::new(),
            env: Vec::new(),
            stdin: None,
            stdout: None,
            stderr: None,
            mounts: Vec::new(),
            clocks: ClockGrant::NONE,
            random: RandomSource::None,
            virtual_clock: None,
            max_fds: DEFAULT_MAX_FDS,
            handle: None,
            policy: None,
            prompter: None,
            audit: None,
            listeners: Vec::new(),
        }
    }
}

impl WasiCtxBuilder {
    /// Appends one argument (the first is conventionally the program name).
    pub fn arg(mut self, arg: impl Into<String>) -> Self {
        self.args.push(arg.into());
        self
    }

    /// Appends arguments.
    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    /// Sets one environment variable.
    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    /// Sets environment variables.
    pub fn envs<I, K, V>(mut self, vars: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        self.env
            .extend(vars.into_iter().map(|(k, v)| (k.into(), v.into())));
        self
    }

    /// Chooses stdin (default: empty).
    pub fn stdin(mut self, input: Input) -> Self {
        self.stdin = Some(input);
        self
    }

    /// Chooses stdout (default: discard).
    pub fn stdout(mut self, output: impl Into<Output>) -> Self {
        self.stdout = Some(output.into());
        self
    }

    /// Chooses stderr (default: discard).
    pub fn stderr(mut self, output: impl Into<Output>) -> Self {
        self.stderr = Some(output.into());
        self
    }

    /// Preopens `mount` as the directory the guest knows as `guest_path`: a `MemFs`, a
    /// confined `HostDir`, an `Overlay`, any `Arc<dyn Dir>`, or [`Mount::read_only`] of one
    /// of them. Preopens get fds from 3 in the order mounted.
    pub fn mount(mut self, guest_path: impl Into<String>, mount: impl Into<Mount>) -> Self {
        self.mounts
            .push((guest_path.into(), mount.into().into_dir()));
        self
    }

    /// Grants clocks (default: none).
    pub fn clocks(mut self, grant: ClockGrant) -> Self {
        self.clocks = grant;
        self
    }

    /// Grants every clock, reading the host's real time.
    pub fn system_clocks(self) -> Self {
        self.clocks(ClockGrant::ALL)
    }

    /// Grants the host's CSPRNG to `random_get`.
    pub fn os_random(mut self) -> Self {
        self.random = RandomSource::Os;
        self
    }

    /// Grants a deterministic random stream from `seed`.
    pub fn seeded_random(mut self, seed: u64) -> Self {
        self.random = RandomSource::Seeded(seed);
        self
    }

    /// Caps the number of open descriptors (default 1024, stdio and preopens included).
    pub fn max_fds(mut self, max: u32) -> Self {
        self.max_fds = max;
        self
    }

    /// Installs `policy` (default: allow everything). It is installed in the policy handle at
    /// [`build`](WasiCtxBuilder::build), replacing the handle's policy if one was given.
    pub fn policy(mut self, policy: impl Policy + 'static) -> Self {
        self.policy = Some(Arc::new(policy));
        self
    }

    /// Uses `handle` (keep a clone to swap the policy, prompter or audit sink while the guest
    /// runs, from any thread). Several guests may share one handle. Without this call the
    /// context gets a fresh handle, reachable through [`WasiCtx::policy_handle`].
    pub fn policy_handle(mut self, handle: PolicyHandle) -> Self {
        self.handle = Some(handle);
        self
    }

    /// Installs the prompter that answers the policy's `Ask` decisions (without one they deny).
    pub fn prompter(mut self, prompter: impl Prompter + 'static) -> Self {
        self.prompter = Some(Arc::new(prompter));
        self
    }

    /// Records every call to `sink` (see [`crate::audit`]).
    pub fn audit(mut self, sink: impl AuditSink + 'static) -> Self {
        self.audit = Some(Arc::new(sink));
        self
    }

    /// Grants a listening TCP socket: the guest finds it as an fd after the mounts (in the order
    /// granted) and may `sock_accept` on it; nothing else on the network is reachable.
    pub fn tcp_listener(mut self, listener: TcpListener) -> Self {
        self.listeners.push(listener);
        self
    }

    /// The policy handle with what the builder was given installed in it.
    fn take_handle(&mut self) -> PolicyHandle {
        let handle = self.handle.take().unwrap_or_default();
        if let Some(policy) = self.policy.take() {
            handle.set_policy_arc(policy);
        }
        if let Some(prompter) = self.prompter.take() {
            handle.set_prompter_arc(prompter);
        }
        if let Some(sink) = self.audit.take() {
            handle.set_audit_arc(sink);
        }
        handle
    }

    /// Builds the context: stdio at 0–2, mounts as preopens from 3 in the order given, then
    /// the granted listeners.
    pub fn build(mut self) -> WasiCtx {
        let mut gate = Gate::new(self.take_handle());
        let clocks = self.make_clocks();
        gate.share_deadline(clocks.deadline_handle().clone());
        let stdin = self.stdin.take().unwrap_or_else(Input::empty);
        let stdout = self.stdout.take().unwrap_or_else(|| Output::null().build());
        let stderr = self.stderr.take().unwrap_or_else(|| Output::null().build());
        stdout.set_name("stdout");
        stderr.set_name("stderr");
        // stdio and preopens are placed even past a tiny cap: the cap limits what the guest opens.
        let granted = self.mounts.len().saturating_add(self.listeners.len());
        let mut table = Table::new(self.max_fds.max(3 + granted as u32));
        let stdio = [
            Descriptor {
                kind: Kind::Stdin(stdin),
                base: rights::STDIN,
                inheriting: rights::STDIN,
                flags: Fdflags::empty(),
            },
            Descriptor {
                kind: Kind::Output(stdout.for_descriptor()),
                base: rights::STDOUT,
                inheriting: rights::STDOUT,
                flags: Fdflags::empty(),
            },
            Descriptor {
                kind: Kind::Output(stderr.for_descriptor()),
                base: rights::STDOUT,
                inheriting: rights::STDOUT,
                flags: Fdflags::empty(),
            },
        ];
        for desc in stdio {
            let _ = table.insert(desc);
        }
        for (guest_path, dir) in self.mounts {
            let _ = table.insert(Descriptor {
                kind: Kind::Dir({
                    let mount: Arc<str> = Arc::from(guest_path.as_str());
                    OpenDir {
                        dir,
                        preopen: Some(Arc::clone(&mount)),
                        // The guest sees the name as given (`.`, `data/`); policies, renames and
                        // every descriptor opened below see it normalised (`/`, `/data`), so
                        // that `Table::rename_paths` finds each descriptor under the spelling a
                        // rename's own paths have.
                        guest_path: crate::policy::normalize(&guest_path).into_owned(),
                        mount,
                    }
                }),
                base: rights::DIR_BASE,
                inheriting: rights::DIR_INHERITING,
                flags: Fdflags::empty(),
            });
        }
        for listener in self.listeners {
            let _ = table.insert(Descriptor {
                kind: Kind::Socket(Socket::Listener(listener)),
                base: rights::LISTENER,
                inheriting: rights::STREAM,
                flags: Fdflags::empty(),
            });
        }
        WasiCtx {
            args: self.args,
            env: self.env,
            table,
            clocks,
            random: self.random,
            stdout,
            stderr,
            gate,
            #[cfg(feature = "wasmtime")]
            memory_index: Default::default(),
        }
    }

    /// Deterministic mode: grants every clock, but reading a virtual one that starts at
    /// 2000-01-01 and moves 1 µs per read and by the requested time on sleeps (never really
    /// sleeping), grants a random stream seeded by `seed`, and makes the in-memory mounts
    /// (those made with [`mount`](Self::mount)) take their timestamps from the same clock and
    /// report fixed device ids. Two runs of the same guest with the same inputs then produce
    /// the same output and the same trees. Later calls may narrow the clock grant or swap the
    /// random source.
    pub fn deterministic(self, seed: u64) -> Self {
        self.deterministic_with(seed, crate::clock::VirtualClock::new())
    }

    /// [`deterministic`](Self::deterministic) with a virtual clock of the embedder's choosing
    /// (its start and step); keep a clone to read or advance it.
    pub fn deterministic_with(mut self, seed: u64, clock: Arc<crate::clock::VirtualClock>) -> Self {
        self.clocks = ClockGrant::ALL;
        self.random = RandomSource::Seeded(seed);
        self.virtual_clock = Some(clock);
        self
    }

    /// The guest's clocks; in deterministic mode also points the in-memory mounts at them.
    fn make_clocks(&self) -> Clocks {
        let Some(clock) = &self.virtual_clock else {
            return Clocks::new(self.clocks);
        };
        for (index, (_, dir)) in self.mounts.iter().enumerate() {
            crate::vfs::mem::make_deterministic(&**dir, clock.clone(), index as u64);
        }
        Clocks::virtual_time(self.clocks, clock.clone())
    }
}

// ---- The guest's memory: how imports find it (see `linker.rs`) -------------------------------

/// Where the guest's memory is, as far as the context knows: when the store holds a single
/// guest instance, the memory itself; otherwise nothing, and each call asks the caller.
#[cfg(feature = "wasmtime")]
#[derive(Clone, Copy, Default)]
pub(crate) struct MemoryIndex {
    /// The memory of the only instance the store holds (see [`WasiCtx::bind_sole_instance`]).
    sole: Option<Memory>,
}

/// [`WasiCtx::bind_sole_instance`] on a context that already serves another instance.
#[cfg(feature = "wasmtime")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AlreadyBound;

#[cfg(feature = "wasmtime")]
impl std::fmt::Display for AlreadyBound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(
            "this WasiCtx already serves a sole instance; a second instance would share its memory",
        )
    }
}

#[cfg(feature = "wasmtime")]
impl std::error::Error for AlreadyBound {}

#[cfg(feature = "wasmtime")]
impl WasiCtx {
    /// Formerly made imports find the guest's memory by a cached export index; now it does
    /// nothing. wasmtime's lookup by index panics when an import is called from the host
    /// (`Func::call` on a re-exported import), so every call asks for the memory by name,
    /// which answers "no memory" there. Use [`Self::bind_sole_instance`] for speed.
    #[deprecated(note = "does nothing: use `bind_sole_instance`, or nothing")]
    pub fn bind_module(&mut self, _module: &Module) {}

    /// For a store that holds one guest instance, `memory` being its exported memory: every
    /// call then reads and writes `memory` directly, without asking wasmtime for the
    /// caller's export (a search of the store's module registry, about 40 ns, more than the
    /// rest of a small `fd_write`). [`crate::run_command`] does this for its own store.
    ///
    /// wasmtime does not tell an import which instance called it, so this is a promise the
    /// embedder makes: **no other instance that imports WASI from this context is ever
    /// created in the store.** One that was would read and write this memory instead of its
    /// own. Binding twice is refused ([`AlreadyBound`]) so that the common mistake —
    /// instantiating a second guest the same way — is caught. Before the context leaves the
    /// store ([`wasmtime::Store::into_data`]) to serve in another, call
    /// [`Self::unbind_instance`]: like any wasmtime object, the memory panics when used with
    /// another store.
    ///
    /// ```no_run
    /// # fn main() -> wasmtime::Result<()> {
    /// # let engine = wasmtime::Engine::default();
    /// # let module = wasmtime::Module::new(&engine, "(module (memory (export \"memory\") 1))")?;
    /// let mut linker = wasmtime::Linker::new(&engine);
    /// wasi_warden::add_to_linker(&mut linker, |ctx: &mut wasi_warden::WasiCtx| ctx)?;
    /// let mut store = wasmtime::Store::new(&engine, wasi_warden::WasiCtx::builder().build());
    /// let instance = linker.instantiate(&mut store, &module)?;
    /// if let Some(memory) = instance.get_memory(&mut store, "memory") {
    ///     store.data_mut().bind_sole_instance(memory)?;
    /// }
    /// # Ok(()) }
    /// ```
    pub fn bind_sole_instance(&mut self, memory: Memory) -> Result<(), AlreadyBound> {
        if self.sole_memory().is_some() {
            return Err(AlreadyBound);
        }
        self.bind_sole_memory(Some(memory));
        Ok(())
    }

    /// Forgets the memory bound by [`Self::bind_sole_instance`]: calls look it up again.
    pub fn unbind_instance(&mut self) {
        self.bind_sole_memory(None);
    }

    /// `memory` belongs to the one instance of the store this context is in (or `None`).
    pub(crate) fn bind_sole_memory(&mut self, memory: Option<Memory>) {
        self.memory_index.sole = memory;
    }

    #[inline]
    pub(crate) fn sole_memory(&self) -> Option<Memory> {
        self.memory_index.sole
    }
}
