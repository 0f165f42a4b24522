//! The guest's grants, from the flags: arguments, environment, stdio and its limits, clocks
//! and randomness, mounts, sockets and the policy. It grants what the flags (and the CLI's
//! documented defaults: stdio, clocks, OS randomness) ask for and nothing else — no directory
//! without a mount flag, no variable without --env or -S inherit-env.

use super::RunArgs;
use super::groups::Options;
use std::path::Path;
use std::sync::Arc;
use wasi_warden::clock::VirtualClock;
use wasi_warden::limits::FsLimits;
use wasi_warden::{HostDir, Input, MemFs, Mount, Output, Overlay, WasiCtx, WasiCtxBuilder};

/// Everything that can stop the guest from starting, as one line for the user (unescaped:
/// `report::fail` escapes it).
pub struct SetupError(pub String);

/// Writes `fs` to `path` as a tar image.
pub fn save_tree(fs: &MemFs, path: &Path) -> Result<(), SetupError> {
    let failed = |e: String| SetupError(format!("--save-fs: cannot write {}: {e}", path.display()));
    let file = std::fs::File::create(path).map_err(|e| failed(e.to_string()))?;
    let mut out = std::io::BufWriter::new(file);
    fs.save_tar(&mut out).map_err(|e| failed(e.to_string()))?;
    std::io::Write::flush(&mut out).map_err(|e| failed(e.to_string()))
}

/// The budgets of every in-memory filesystem the CLI creates.
fn fs_limits(args: &RunArgs) -> FsLimits {
    let quota = args.fs_quota.bytes();
    FsLimits::default()
        .bytes(quota)
        .inodes(Some(super::FS_INODES))
}

/// An in-memory filesystem for `--mem-dir [SRC::]GUEST`: empty, a copy of a host directory, or
/// loaded from a tar image file. `clock` (deterministic mode) stamps what is loaded.
fn mem_fs(
    src: Option<&Path>,
    limits: FsLimits,
    clock: Option<&Arc<VirtualClock>>,
) -> Result<MemFs, SetupError> {
    let fresh = || {
        let fs = MemFs::builder().limits(limits);
        match clock {
            Some(clock) => fs.time_source(clock.clone()).build(),
            None => fs.build(),
        }
    };
    let Some(src) = src else {
        return Ok(fresh());
    };
    if src.is_dir() {
        return MemFs::from_host_dir_with_limits(src, limits).map_err(|e| {
            SetupError(format!(
                "--mem-dir: cannot copy {} into memory: {e}",
                src.display()
            ))
        });
    }
    let failed = |e: String| {
        SetupError(format!(
            "--mem-dir: cannot load the image {}: {e}",
            src.display()
        ))
    };
    let file = std::fs::File::open(src).map_err(|e| failed(e.to_string()))?;
    let fs = fresh();
    wasi_warden::vfs::image::load(fs.root(), std::io::BufReader::new(file))
        .map_err(|e| failed(e.to_string()))?;
    Ok(fs)
}

/// Turns the flags into grants. The CLI runs ordinary programs, so unlike the library it grants
/// clocks and OS randomness; everything else comes from a flag (`options`: the option groups
/// folded with our own flags). Also returns the in-memory filesystem `--save-fs` writes.
pub fn build_ctx(
    args: &RunArgs,
    options: &Options,
) -> Result<(WasiCtx, Option<MemFs>), SetupError> {
    let limits = fs_limits(args);
    let clock = args.deterministic.map(|_| VirtualClock::new());
    let mut stdout = Output::inherit_stdout();
    if let Some(limit) = args.stdout_limit.bytes() {
        stdout = stdout.limit(limit);
    }
    let mut stderr = Output::inherit_stderr();
    if let Some(limit) = args.stderr_limit.bytes() {
        stderr = stderr.limit(limit);
    }
    let mut builder = WasiCtx::builder()
        .arg(argv0(args))
        .args(args.guest_args().iter().cloned())
        .envs(environment(args, options)?)
        .stdin(Input::inherit())
        .stdout(stdout)
        .stderr(stderr)
        .system_clocks()
        .os_random()
        .max_fds(args.max_fds);
    let mut seen = std::collections::HashSet::new();
    builder = mount_host_dirs(args, builder, &mut seen, limits)?;
    let mut first_mem = None;
    for mount in &args.mem_dir {
        if !seen.insert(mount.guest.as_str()) {
            return Err(SetupError(format!(
                "--mem-dir: {} is mounted twice",
                mount.guest
            )));
        }
        let fs = mem_fs(mount.host.as_deref(), limits, clock.as_ref())?;
        first_mem.get_or_insert_with(|| fs.clone());
        builder = builder.mount(mount.guest.clone(), fs);
    }
    if args.save_fs.is_some() && first_mem.is_none() {
        return Err(SetupError(
            "--save-fs: there is no in-memory mount to save (add --mem-dir)".to_string(),
        ));
    }
    if let (Some(seed), Some(clock)) = (args.deterministic, clock) {
        builder = builder.deterministic_with(seed, clock);
    }
    let mounts = super::policy::mount_names(args);
    let builder =
        super::policy::apply(args, builder, &mounts, &options.tcplisten).map_err(SetupError)?;
    Ok((builder.build(), first_mem))
}

/// The guest's argv[0]: --argv0, or MODULE's file name as `wasmtime run` gives it (the rest of
/// the host path is none of the guest's business).
fn argv0(args: &RunArgs) -> String {
    if let Some(name) = &args.argv0 {
        return name.clone();
    }
    let module = args.module();
    module
        .file_name()
        .unwrap_or(module.as_os_str())
        .to_string_lossy()
        .into_owned()
}

/// The guest's environment: the host's with -S inherit-env (variables that are not UTF-8
/// skipped, as WASI strings cannot carry them), then each --env in order, replacing a variable
/// of the same name.
fn environment(args: &RunArgs, options: &Options) -> Result<Vec<(String, String)>, SetupError> {
    let mut vars: Vec<(String, String)> = Vec::new();
    if options.inherit_env {
        vars.extend(
            std::env::vars_os()
                .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?))),
        );
    }
    for var in &args.env {
        let value = match &var.value {
            Some(value) => value.clone(),
            // As `wasmtime run --env K`: the host's value, or nothing if the host has none.
            None => match std::env::var(&var.key) {
                Ok(value) => value,
                Err(std::env::VarError::NotPresent) => continue,
                Err(std::env::VarError::NotUnicode(_)) => {
                    return Err(SetupError(format!(
                        "--env {}: the host's value is not valid UTF-8",
                        var.key
                    )));
                }
            },
        };
        match vars.iter_mut().find(|(key, _)| *key == var.key) {
            Some(slot) => slot.1 = value,
            None => vars.push((var.key.clone(), value)),
        }
    }
    Ok(vars)
}

/// Adds the --dir, --ro-dir and --overlay mounts, in that order. A missing or unreadable host
/// directory is an error before the guest starts.
fn mount_host_dirs<'a>(
    args: &'a RunArgs,
    mut builder: WasiCtxBuilder,
    seen: &mut std::collections::HashSet<&'a str>,
    limits: FsLimits,
) -> Result<WasiCtxBuilder, SetupError> {
    enum How {
        ReadWrite,
        ReadOnly,
        Overlay,
    }
    let kinds = [
        ("--dir", &args.dir, How::ReadWrite),
        ("--ro-dir", &args.ro_dir, How::ReadOnly),
        ("--overlay", &args.overlay, How::Overlay),
    ];
    for (flag, mounts, how) in kinds {
        for mount in mounts {
            if !seen.insert(mount.guest.as_str()) {
                return Err(SetupError(format!(
                    "{flag}: {} is mounted twice",
                    mount.guest
                )));
            }
            let failed = |e: std::io::Error| {
                SetupError(format!("{flag}: cannot open {}: {e}", mount.host.display()))
            };
            let host = HostDir::open(&mount.host).map_err(failed)?;
            let to_mount = match how {
                How::ReadWrite => Mount::from(host),
                How::ReadOnly => Mount::read_only(host),
                How::Overlay => {
                    // The guest's changes (copy-ups included) are charged to --fs-quota; the
                    // lower layer is read-only, so the host is never written.
                    let lower = Mount::read_only(host).dir().clone();
                    Mount::from(Overlay::with_upper(lower, MemFs::builder().limits(limits)))
                }
            };
            builder = builder.mount(mount.guest.clone(), to_mount);
        }
    }
    Ok(builder)
}
