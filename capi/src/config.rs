//! `ww_config_t`: what a guest is granted, gathered call by call and turned into the core's
//! `WasiCtxBuilder` by `ww_ctx_new`. Mounts are opened here, when the host asks, so that a bad
//! path or image is an error of the call that named it.

use crate::callbacks::{AuditCallback, PolicyCallback, PromptCallback, output_callback};
use crate::guard::{Env, Failure, bytes, guard, object, out, quietly, text};
use crate::pipe::WwPipe;
use std::ffi::{c_char, c_void};
use std::sync::Arc;
use warden::policy::Policy;
use warden::{
    AuditSink, ClockGrant, FsLimits, HostDir, Input, JsonLinesAudit, LimitAction, MemFs, Mount,
    Output, Overlay, PolicyTable, Prompter,
};

/// Where one output stream goes, and its budget.
#[derive(Default)]
pub struct OutputSpec {
    pub sink: Sink,
    pub limit: Option<u64>,
    pub action: LimitAction,
}

#[derive(Default)]
pub enum Sink {
    #[default]
    Null,
    Inherit,
    Capture,
    Callback(
        Arc<Env>,
        unsafe extern "C" fn(*mut c_void, *const u8, usize),
    ),
}

/// An in-memory tree the host may save after the run (`ww_ctx_save_tar`).
#[derive(Clone)]
pub enum Tree {
    Memory(MemFs),
    /// An overlay's upper layer: what the guest changed.
    Overlay(Overlay),
}

/// `ww_config_t`.
#[derive(Default)]
pub struct WwConfig {
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    pub stdin: Option<Input>,
    pub stdout: OutputSpec,
    pub stderr: OutputSpec,
    pub mounts: Vec<(String, Mount)>,
    pub trees: Vec<(String, Tree)>,
    pub clocks: Option<ClockGrant>,
    pub random: Random,
    pub deterministic: Option<u64>,
    pub max_fds: Option<u32>,
    pub policy: Option<Arc<dyn Policy>>,
    pub prompter: Option<Arc<dyn Prompter>>,
    pub audit: Option<Arc<dyn AuditSink>>,
}

#[derive(Default, Clone, Copy)]
pub enum Random {
    #[default]
    None,
    Os,
    Seeded(u64),
}

impl WwConfig {
    fn output(&mut self, stream: i32) -> Result<&mut OutputSpec, Failure> {
        match stream {
            1 => Ok(&mut self.stdout),
            2 => Ok(&mut self.stderr),
            _ => Err(format!(
                "stream {stream} is neither WW_STDOUT (1) nor WW_STDERR (2)"
            )),
        }
    }

    fn mount(&mut self, guest: &str, mount: Mount, tree: Option<Tree>) -> Result<(), Failure> {
        if guest.is_empty() {
            return Err("a mount's guest path is empty".to_string());
        }
        if self.mounts.iter().any(|(g, _)| g == guest) {
            return Err(format!("{guest} is mounted twice"));
        }
        if let Some(tree) = tree {
            self.trees.push((guest.to_string(), tree));
        }
        self.mounts.push((guest.to_string(), mount));
        Ok(())
    }

    /// The core's builder for these grants.
    pub fn into_builder(self) -> (warden::WasiCtxBuilder, Vec<(String, Tree)>) {
        let mut builder = warden::WasiCtx::builder()
            .args(self.args)
            .envs(self.env)
            .stdout(build_output(self.stdout, true))
            .stderr(build_output(self.stderr, false));
        if let Some(stdin) = self.stdin {
            builder = builder.stdin(stdin);
        }
        for (guest, mount) in self.mounts {
            builder = builder.mount(guest, mount);
        }
        if let Some(clocks) = self.clocks {
            builder = builder.clocks(clocks);
        }
        builder = match self.random {
            Random::None => builder,
            Random::Os => builder.os_random(),
            Random::Seeded(seed) => builder.seeded_random(seed),
        };
        if let Some(seed) = self.deterministic {
            builder = builder.deterministic(seed);
        }
        if let Some(max) = self.max_fds {
            builder = builder.max_fds(max);
        }
        // One handle carries the three (the builder's own default policy allows every call on
        // what was granted).
        let handle = warden::PolicyHandle::default();
        if let Some(policy) = self.policy {
            handle.set_policy_arc(policy);
        }
        if let Some(prompter) = self.prompter {
            handle.set_prompter_arc(prompter);
        }
        if let Some(audit) = self.audit {
            handle.set_audit_arc(audit);
        }
        (builder.policy_handle(handle), self.trees)
    }
}

fn build_output(spec: OutputSpec, is_stdout: bool) -> Output {
    let builder = match spec.sink {
        Sink::Null => Output::null(),
        Sink::Inherit if is_stdout => Output::inherit_stdout(),
        Sink::Inherit => Output::inherit_stderr(),
        Sink::Capture => Output::capture(),
        Sink::Callback(env, callback) => Output::callback(output_callback(env, callback)),
    };
    let builder = match spec.limit {
        Some(limit) => builder.limit(limit),
        None => builder,
    };
    builder.on_limit(spec.action).build()
}

fn limits(quota: u64) -> FsLimits {
    if quota == 0 {
        FsLimits::default()
    } else {
        FsLimits::quota(quota)
    }
}

fn read_only_if(flags: u32, mount: Mount) -> Result<Mount, Failure> {
    match flags {
        0 => Ok(mount),
        MOUNT_READ_ONLY => Ok(Mount::read_only(mount)),
        _ => Err(format!("unknown mount flags {flags:#x}")),
    }
}

const MOUNT_READ_ONLY: u32 = 1;

/// Runs `body` on the config behind `config`.
fn with_config(
    config: *mut WwConfig,
    body: impl FnOnce(&mut WwConfig) -> Result<(), Failure>,
) -> *mut crate::guard::WwError {
    guard(|| {
        // SAFETY: the header's contract: `config` is NULL or a live `ww_config_t`.
        let config = unsafe { object(config, "config")? };
        body(config)
    })
}

/// Runs `install` on the config with the host's callback and its env. The env is owned from
/// here: its finalizer runs even if the call fails (a NULL callback, a NULL config).
fn with_callback<F>(
    config: *mut WwConfig,
    callback: Option<F>,
    env: *mut c_void,
    finalizer: Option<unsafe extern "C" fn(*mut c_void)>,
    what: &str,
    install: impl FnOnce(&mut WwConfig, F, Env) -> Result<(), Failure>,
) -> *mut crate::guard::WwError {
    let env = Env::new(env, finalizer);
    with_config(config, |config| {
        let callback = callback.ok_or_else(|| format!("the {what} callback is NULL"))?;
        install(config, callback, env)
    })
}

// ---- The exported functions -----------------------------------------------------------------

/// `ww_config_new`.
#[unsafe(no_mangle)]
pub extern "C" fn ww_config_new() -> *mut WwConfig {
    quietly(std::ptr::null_mut(), || {
        Box::into_raw(Box::new(WwConfig::default()))
    })
}

/// `ww_config_delete`.
///
/// # Safety
/// `config` is NULL or a live `ww_config_t`, not used afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ww_config_delete(config: *mut WwConfig) {
    if !config.is_null() {
        // SAFETY: as the caller promised.
        quietly((), || drop(unsafe { Box::from_raw(config) }));
    }
}

/// `ww_config_arg`.
///
/// # Safety
/// The header's contract for every (pointer, length) pair.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ww_config_arg(
    config: *mut WwConfig,
    arg: *const c_char,
    len: usize,
) -> *mut crate::guard::WwError {
    with_config(config, |config| {
        // SAFETY: as the caller promised.
        let arg = unsafe { text(arg, len, "the argument")? };
        config.args.push(arg.to_string());
        Ok(())
    })
}

/// `ww_config_env`.
///
/// # Safety
/// The header's contract for every (pointer, length) pair.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ww_config_env(
    config: *mut WwConfig,
    key: *const c_char,
    key_len: usize,
    value: *const c_char,
    value_len: usize,
) -> *mut crate::guard::WwError {
    with_config(config, |config| {
        // SAFETY: as the caller promised.
        let key = unsafe { text(key, key_len, "the variable's name")? };
        let value = unsafe { text(value, value_len, "the variable's value")? };
        if key.is_empty() || key.contains(['=', '\0']) {
            return Err(format!(
                "{key:?} is not a variable name (empty, or holding = or NUL)"
            ));
        }
        if value.contains('\0') {
            return Err(format!("the value of {key} holds NUL"));
        }
        config.env.retain(|(k, _)| k != key);
        config.env.push((key.to_string(), value.to_string()));
        Ok(())
    })
}

/// `ww_config_stdin_bytes`.
///
/// # Safety
/// The header's contract for every (pointer, length) pair.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ww_config_stdin_bytes(
    config: *mut WwConfig,
    data: *const u8,
    len: usize,
) -> *mut crate::guard::WwError {
    with_config(config, |config| {
        // SAFETY: as the caller promised.
        let data = unsafe { bytes(data, len, "stdin's bytes")? };
        config.stdin = Some(Input::bytes(data.to_vec()));
        Ok(())
    })
}

/// `ww_config_stdin_inherit`.
///
/// # Safety
/// `config` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ww_config_stdin_inherit(
    config: *mut WwConfig,
) -> *mut crate::guard::WwError {
    with_config(config, |config| {
        config.stdin = Some(Input::inherit());
        Ok(())
    })
}

/// `ww_config_stdin_pipe`.
///
/// # Safety
/// `config` is NULL or live; `writer` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ww_config_stdin_pipe(
    config: *mut WwConfig,
    writer: *mut *mut WwPipe,
) -> *mut crate::guard::WwError {
    with_config(config, |config| {
        // SAFETY: as the caller promised.
        let writer = unsafe { out(writer, "writer")? };
        let (input, pipe) = Input::pipe();
        config.stdin = Some(input);
        *writer = Box::into_raw(Box::new(WwPipe::new(pipe)));
        Ok(())
    })
}

/// `ww_config_output_null`.
///
/// # Safety
/// `config` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ww_config_output_null(
    config: *mut WwConfig,
    stream: i32,
) -> *mut crate::guard::WwError {
    with_config(config, |config| {
        config.output(stream)?.sink = Sink::Null;
        Ok(())
    })
}

/// `ww_config_output_inherit`.
///
/// # Safety
/// `config` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ww_config_output_inherit(
    config: *mut WwConfig,
    stream: i32,
) -> *mut crate::guard::WwError {
    with_config(config, |config| {
        config.output(stream)?.sink = Sink::Inherit;
        Ok(())
    })
}

/// `ww_config_output_capture`.
///
/// # Safety
/// `config` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ww_config_output_capture(
    config: *mut WwConfig,
    stream: i32,
) -> *mut crate::guard::WwError {
    with_config(config, |config| {
        config.output(stream)?.sink = Sink::Capture;
        Ok(())
    })
}

/// `ww_config_output_callback`.
///
/// # Safety
/// `config` is NULL or live; `callback` and `env` as the header describes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ww_config_output_callback(
    config: *mut WwConfig,
    stream: i32,
    callback: Option<unsafe extern "C" fn(*mut c_void, *const u8, usize)>,
    env: *mut c_void,
    finalizer: Option<unsafe extern "C" fn(*mut c_void)>,
) -> *mut crate::guard::WwError {
    with_callback(
        config,
        callback,
        env,
        finalizer,
        "output",
        |config, callback, env| {
            config.output(stream)?.sink = Sink::Callback(Arc::new(env), callback);
            Ok(())
        },
    )
}

/// `ww_config_output_limit`.
///
/// # Safety
/// `config` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ww_config_output_limit(
    config: *mut WwConfig,
    stream: i32,
    limit: u64,
    action: i32,
) -> *mut crate::guard::WwError {
    with_config(config, |config| {
        let action = match action {
            0 => LimitAction::Trap,
            1 => LimitAction::Truncate,
            _ => return Err(format!("unknown limit action {action}")),
        };
        let spec = config.output(stream)?;
        spec.limit = Some(limit);
        spec.action = action;
        Ok(())
    })
}

/// `ww_config_mount_memory`.
///
/// # Safety
/// The header's contract for every (pointer, length) pair.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ww_config_mount_memory(
    config: *mut WwConfig,
    guest: *const c_char,
    guest_len: usize,
    quota: u64,
    flags: u32,
) -> *mut crate::guard::WwError {
    with_config(config, |config| {
        // SAFETY: as the caller promised.
        let guest = unsafe { text(guest, guest_len, "the guest path")? };
        let fs = MemFs::builder().limits(limits(quota)).build();
        let mount = read_only_if(flags, Mount::from(&fs))?;
        config.mount(guest, mount, Some(Tree::Memory(fs)))
    })
}

/// `ww_config_mount_memory_from_dir`.
///
/// # Safety
/// The header's contract for every (pointer, length) pair.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ww_config_mount_memory_from_dir(
    config: *mut WwConfig,
    guest: *const c_char,
    guest_len: usize,
    host: *const c_char,
    host_len: usize,
    quota: u64,
    flags: u32,
) -> *mut crate::guard::WwError {
    with_config(config, |config| {
        // SAFETY: as the caller promised.
        let guest = unsafe { text(guest, guest_len, "the guest path")? };
        let host = unsafe { text(host, host_len, "the host path")? };
        let fs = MemFs::from_host_dir_with_limits(host.as_ref(), limits(quota))
            .map_err(|e| format!("cannot copy {host} into memory: {e}"))?;
        let mount = read_only_if(flags, Mount::from(&fs))?;
        config.mount(guest, mount, Some(Tree::Memory(fs)))
    })
}

/// `ww_config_mount_memory_from_tar`.
///
/// # Safety
/// The header's contract for every (pointer, length) pair.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ww_config_mount_memory_from_tar(
    config: *mut WwConfig,
    guest: *const c_char,
    guest_len: usize,
    tar: *const u8,
    tar_len: usize,
    quota: u64,
    flags: u32,
) -> *mut crate::guard::WwError {
    with_config(config, |config| {
        // SAFETY: as the caller promised.
        let guest = unsafe { text(guest, guest_len, "the guest path")? };
        let tar = unsafe { bytes(tar, tar_len, "the image")? };
        let fs = MemFs::builder().limits(limits(quota)).build();
        warden::vfs::image::load(fs.root(), tar)
            .map_err(|e| format!("cannot load the image for {guest}: {e}"))?;
        let mount = read_only_if(flags, Mount::from(&fs))?;
        config.mount(guest, mount, Some(Tree::Memory(fs)))
    })
}

/// `ww_config_mount_host_dir`.
///
/// # Safety
/// The header's contract for every (pointer, length) pair.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ww_config_mount_host_dir(
    config: *mut WwConfig,
    guest: *const c_char,
    guest_len: usize,
    host: *const c_char,
    host_len: usize,
    flags: u32,
) -> *mut crate::guard::WwError {
    with_config(config, |config| {
        // SAFETY: as the caller promised.
        let guest = unsafe { text(guest, guest_len, "the guest path")? };
        let host = unsafe { text(host, host_len, "the host path")? };
        let dir = HostDir::open(host).map_err(|e| format!("cannot open {host}: {e}"))?;
        let mount = read_only_if(flags, Mount::from(dir))?;
        config.mount(guest, mount, None)
    })
}

/// `ww_config_mount_overlay`.
///
/// # Safety
/// The header's contract for every (pointer, length) pair.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ww_config_mount_overlay(
    config: *mut WwConfig,
    guest: *const c_char,
    guest_len: usize,
    host: *const c_char,
    host_len: usize,
    quota: u64,
) -> *mut crate::guard::WwError {
    with_config(config, |config| {
        // SAFETY: as the caller promised.
        let guest = unsafe { text(guest, guest_len, "the guest path")? };
        let host = unsafe { text(host, host_len, "the host path")? };
        let dir = HostDir::open(host).map_err(|e| format!("cannot open {host}: {e}"))?;
        // The lower layer is read-only: no path through the overlay writes the host.
        let lower = Mount::read_only(dir).dir().clone();
        let overlay = Overlay::with_upper(lower, MemFs::builder().limits(limits(quota)));
        config.mount(guest, Mount::from(&overlay), Some(Tree::Overlay(overlay)))
    })
}

/// `ww_config_clocks`.
///
/// # Safety
/// `config` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ww_config_clocks(
    config: *mut WwConfig,
    clocks: u32,
) -> *mut crate::guard::WwError {
    with_config(config, |config| {
        if clocks & !7 != 0 {
            return Err(format!("unknown clock bits {clocks:#x}"));
        }
        config.clocks = Some(ClockGrant {
            realtime: clocks & 1 != 0,
            monotonic: clocks & 2 != 0,
            cputime: clocks & 4 != 0,
        });
        Ok(())
    })
}

/// `ww_config_random_os`.
///
/// # Safety
/// `config` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ww_config_random_os(config: *mut WwConfig) -> *mut crate::guard::WwError {
    with_config(config, |config| {
        config.random = Random::Os;
        Ok(())
    })
}

/// `ww_config_random_seeded`.
///
/// # Safety
/// `config` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ww_config_random_seeded(
    config: *mut WwConfig,
    seed: u64,
) -> *mut crate::guard::WwError {
    with_config(config, |config| {
        config.random = Random::Seeded(seed);
        Ok(())
    })
}

/// `ww_config_deterministic`.
///
/// # Safety
/// `config` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ww_config_deterministic(
    config: *mut WwConfig,
    seed: u64,
) -> *mut crate::guard::WwError {
    with_config(config, |config| {
        config.deterministic = Some(seed);
        Ok(())
    })
}

/// `ww_config_max_fds`.
///
/// # Safety
/// `config` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ww_config_max_fds(
    config: *mut WwConfig,
    max: u32,
) -> *mut crate::guard::WwError {
    with_config(config, |config| {
        config.max_fds = Some(max);
        Ok(())
    })
}

/// `ww_config_policy_toml`.
///
/// # Safety
/// The header's contract for every (pointer, length) pair.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ww_config_policy_toml(
    config: *mut WwConfig,
    toml: *const c_char,
    len: usize,
) -> *mut crate::guard::WwError {
    with_config(config, |config| {
        // SAFETY: as the caller promised.
        let toml = unsafe { text(toml, len, "the policy")? };
        let table = PolicyTable::from_toml(toml).map_err(|e| format!("policy: {e}"))?;
        config.policy = Some(Arc::new(table));
        Ok(())
    })
}

/// `ww_config_policy_callback`.
///
/// # Safety
/// `config` is NULL or live; `callback` and `env` as the header describes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ww_config_policy_callback(
    config: *mut WwConfig,
    callback: Option<crate::callbacks::DecideFn>,
    env: *mut c_void,
    finalizer: Option<unsafe extern "C" fn(*mut c_void)>,
) -> *mut crate::guard::WwError {
    with_callback(
        config,
        callback,
        env,
        finalizer,
        "decision",
        |config, callback, env| {
            config.policy = Some(Arc::new(PolicyCallback { callback, env }));
            Ok(())
        },
    )
}

/// `ww_config_prompter`.
///
/// # Safety
/// `config` is NULL or live; `callback` and `env` as the header describes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ww_config_prompter(
    config: *mut WwConfig,
    callback: Option<crate::callbacks::PromptFn>,
    env: *mut c_void,
    finalizer: Option<unsafe extern "C" fn(*mut c_void)>,
) -> *mut crate::guard::WwError {
    with_callback(
        config,
        callback,
        env,
        finalizer,
        "prompt",
        |config, callback, env| {
            config.prompter = Some(Arc::new(PromptCallback { callback, env }));
            Ok(())
        },
    )
}

/// `ww_config_audit_file`.
///
/// # Safety
/// The header's contract for every (pointer, length) pair.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ww_config_audit_file(
    config: *mut WwConfig,
    path: *const c_char,
    len: usize,
) -> *mut crate::guard::WwError {
    with_config(config, |config| {
        // SAFETY: as the caller promised.
        let path = unsafe { text(path, len, "the audit file's path")? };
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| format!("cannot open the audit file {path}: {e}"))?;
        config.audit = Some(Arc::new(JsonLinesAudit::new(file)));
        Ok(())
    })
}

/// `ww_config_audit_callback`.
///
/// # Safety
/// `config` is NULL or live; `callback` and `env` as the header describes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ww_config_audit_callback(
    config: *mut WwConfig,
    callback: Option<crate::callbacks::AuditFn>,
    env: *mut c_void,
    finalizer: Option<unsafe extern "C" fn(*mut c_void)>,
) -> *mut crate::guard::WwError {
    with_callback(
        config,
        callback,
        env,
        finalizer,
        "audit",
        |config, callback, env| {
            config.audit = Some(Arc::new(AuditCallback { callback, env }));
            Ok(())
        },
    )
}
