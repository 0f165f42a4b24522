//! The compiled-module cache of `run`: wasmtime's own (`Config::cache`, its config file
//! format), on by default in our own directory of the user's cache (`~/.cache/wasi-warden`).
//! Cached entries are machine code wasmtime loads as is, so the directory must be the user's
//! alone: one another user could write to is not used. wasmtime keys entries by the module and
//! the engine's whole configuration, rejects entries that do not decompress or parse as its
//! own objects for this engine (they are compiled again and rewritten), and writes each entry
//! to a fresh file renamed into place, so concurrent runs never read a partial one.

use std::path::{Path, PathBuf};
use wasi_warden::wasmtime::{Cache, CacheConfig};

/// What `open` settled on: a cache, or none and why not (a line to print, if the user should
/// know).
pub struct Opened {
    /// The cache to give the engine.
    pub cache: Option<Cache>,
    /// Why the cache is off although it was asked for.
    pub warning: Option<String>,
}

/// Opens the cache described by `config_file` (wasmtime's format; without a `directory` key
/// the directory is ours), or the default one. Errors are one line about `config_file`; a
/// default directory that cannot be used turns the cache off with a warning instead.
pub fn open(config_file: Option<&Path>) -> Result<Opened, String> {
    let Some(file) = config_file else {
        return Ok(open_default());
    };
    let bad = |e: String| format!("-C cache-config={}: {e}", file.display());
    let text = std::fs::read_to_string(file).map_err(|e| bad(e.to_string()))?;
    let names_directory = toml_edit::Document::parse(text)
        .map_err(|e| bad(super::report::one_line(&e.to_string())))?
        .get("cache")
        .and_then(|cache| cache.get("directory"))
        .is_some();
    let mut config = CacheConfig::from_file(Some(file))
        .map_err(|e| bad(super::report::one_line(&format!("{e:#}"))))?;
    if !names_directory {
        // wasmtime's default would be wasmtime's own directory; ours keeps the two apart.
        let dir = default_dir().ok_or_else(|| {
            bad("no `directory` in [cache] and no home directory to default to".to_owned())
        })?;
        create_private(&dir).map_err(|e| bad(format!("cannot create {}: {e}", dir.display())))?;
        config.with_directory(dir);
    }
    let cache = Cache::new(config).map_err(|e| bad(super::report::one_line(&format!("{e:#}"))))?;
    match untrusted(cache.directory()) {
        None => Ok(Opened {
            cache: Some(cache),
            warning: None,
        }),
        Some(why) => Err(bad(why)),
    }
}

/// The default cache, or none with a warning when its directory cannot be made or trusted.
fn open_default() -> Opened {
    let off = |warning: Option<String>| Opened {
        cache: None,
        warning,
    };
    // No home directory (a bare service account): nothing to cache into, nothing to say.
    let Some(dir) = default_dir() else {
        return off(None);
    };
    let warn = |why: String| {
        off(Some(format!(
            "not caching compiled code in {}: {why} (-C cache=n silences this)",
            dir.display()
        )))
    };
    if let Err(e) = create_private(&dir) {
        return warn(e.to_string());
    }
    let mut config = CacheConfig::new();
    config.with_directory(&dir);
    let cache = match Cache::new(config) {
        Ok(cache) => cache,
        Err(e) => return warn(super::report::one_line(&format!("{e:#}"))),
    };
    match untrusted(cache.directory()) {
        None => Opened {
            cache: Some(cache),
            warning: None,
        },
        Some(why) => warn(why),
    }
}

/// `$XDG_CACHE_HOME/wasi-warden` when that is set (on every platform: it is an explicit
/// choice), else the platform's cache directory: `%LOCALAPPDATA%\wasi-warden\cache`,
/// `~/Library/Caches/wasi-warden`, `~/.cache/wasi-warden`; `None` without any of them.
pub fn default_dir() -> Option<PathBuf> {
    let absolute = |var: &str| {
        std::env::var_os(var)
            .map(PathBuf::from)
            .filter(|p| p.is_absolute())
    };
    if let Some(xdg) = absolute("XDG_CACHE_HOME") {
        return Some(xdg.join("wasi-warden"));
    }
    if cfg!(windows) {
        return absolute("LOCALAPPDATA").map(|d| d.join("wasi-warden").join("cache"));
    }
    if cfg!(target_os = "macos") {
        return absolute("HOME").map(|h| h.join("Library/Caches/wasi-warden"));
    }
    absolute("HOME").map(|h| h.join(".cache").join("wasi-warden"))
}

/// Creates `dir` (and missing parents) readable by the user alone, if it does not exist.
fn create_private(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// Why `dir` cannot hold code we run, if it cannot: it, or a directory wasmtime keeps entries
/// in below it, belongs to another user or can be written by others. Below a directory no one
/// else may enter, the subdirectories' own modes do not matter.
#[cfg(unix)]
fn untrusted(dir: &Path) -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    let me = rustix::process::geteuid().as_raw();
    let check = |path: &Path| -> Option<String> {
        let meta = std::fs::symlink_metadata(path).ok()?;
        if meta.uid() != me {
            return Some(format!("{} belongs to another user", path.display()));
        }
        if meta.mode() & 0o022 != 0 {
            return Some(format!(
                "other users can write to {} (chmod go-w it)",
                path.display()
            ));
        }
        None
    };
    if let Some(why) = check(dir) {
        return Some(why);
    }
    let private = std::fs::metadata(dir).is_ok_and(|m| m.mode() & 0o077 == 0);
    if private {
        return None;
    }
    let modules = dir.join("modules");
    let below = std::fs::read_dir(&modules)
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path());
    std::iter::once(modules.clone())
        .chain(below)
        .find_map(|path| check(&path))
}

#[cfg(not(unix))]
fn untrusted(_dir: &Path) -> Option<String> {
    None
}

/// `wasi-warden: cache: H hits, M misses (DIR)` for `--cache-stats`.
pub fn stats(cache: Option<&Cache>) -> String {
    match cache {
        Some(cache) => format!(
            "cache: {} hit{}, {} miss{} ({})",
            cache.cache_hits(),
            if cache.cache_hits() == 1 { "" } else { "s" },
            cache.cache_misses(),
            if cache.cache_misses() == 1 { "" } else { "es" },
            shown(cache.directory())
        ),
        None => "cache: off".to_owned(),
    }
}

/// The cache directory as a person spells it: wasmtime keeps it canonical, which on Windows
/// is the verbatim form `\\?\C:\...`; a drive path reads back without that prefix.
fn shown(dir: &Path) -> String {
    let text = dir.display().to_string();
    match text.strip_prefix(r"\\?\") {
        Some(rest) if rest.as_bytes().get(1) == Some(&b':') => rest.to_owned(),
        _ => text,
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn a_directory_others_can_write_to_is_not_trusted() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path();
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700)).unwrap();
        assert_eq!(untrusted(path), None);
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o777)).unwrap();
        let why = untrusted(path).unwrap();
        assert!(why.contains("other users can write to"), "{why}");
        // A shared-readable directory is fine, but not with a writable entry directory in it.
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
        let entries = path.join("modules").join("wasmtime-x");
        std::fs::create_dir_all(&entries).unwrap();
        std::fs::set_permissions(&entries, std::fs::Permissions::from_mode(0o775)).unwrap();
        assert!(untrusted(path).unwrap().contains("wasmtime-x"));
        // Behind a private directory, nobody else reaches it.
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700)).unwrap();
        assert_eq!(untrusted(path), None);
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn the_default_directory_follows_xdg_cache_home() {
        // Read only: the test binary's environment is not changed.
        if let Some(xdg) = std::env::var_os("XDG_CACHE_HOME").filter(|x| Path::new(x).is_absolute())
        {
            assert_eq!(default_dir(), Some(PathBuf::from(xdg).join("wasi-warden")));
        } else if let Some(home) = std::env::var_os("HOME").filter(|h| Path::new(h).is_absolute()) {
            assert_eq!(
                default_dir(),
                Some(PathBuf::from(home).join(".cache/wasi-warden"))
            );
        }
    }
}
