//! The compiled-module cache through the binary: a second run is a hit (seen in the cache's
//! own statistics, `--cache-stats`, and in its entry file, which is read, not rewritten);
//! corrupt and foreign entries are compiled again; concurrent first runs all succeed; the
//! cache's switches and config file. Each test has its own cache directory
//! (`$XDG_CACHE_HOME`), so the user's real cache is never touched.

use super::{EXIT_USAGE, HELLO, one_message, stderr, stdout, warden_with};
#[cfg(unix)]
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// Runs `run --cache-stats ARGS examples/hello.wat` with `home` as `$XDG_CACHE_HOME`.
fn cached(home: &Path, args: &[&str]) -> Output {
    let all = [
        &["run", "--cache-stats", "--mem-dir", "/"][..],
        args,
        &[HELLO],
    ]
    .concat();
    let out = warden_with(&all, |cmd| {
        cmd.env("XDG_CACHE_HOME", home);
    });
    assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
    assert!(
        stdout(&out).contains("read it back: this file was written by the hello guest\n"),
        "{args:?}: {}",
        stdout(&out)
    );
    out
}

/// The `hits, misses` of a `--cache-stats` run.
fn stats(out: &Output) -> (u32, u32) {
    let line = one_message(out);
    let rest = line
        .strip_prefix("wasi-warden: cache: ")
        .unwrap_or_else(|| panic!("no statistics in {line:?}"));
    let numbers: Vec<u32> = rest
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .take(2)
        .map(|s| s.parse().unwrap())
        .collect();
    (numbers[0], numbers[1])
}

/// The compiled-module entries wasmtime wrote under `home` (not its `.stats` side files).
fn entries(home: &Path) -> Vec<PathBuf> {
    let modules = home.join("wasi-warden").join("modules");
    let mut found = Vec::new();
    for version in std::fs::read_dir(&modules).into_iter().flatten().flatten() {
        for entry in std::fs::read_dir(version.path()).unwrap().flatten() {
            let path = entry.path();
            if path.extension().is_none() {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

#[test]
fn the_second_run_of_a_module_does_not_compile_it() {
    let home = tempfile::tempdir().unwrap();
    let first = cached(home.path(), &[]);
    assert_eq!(stats(&first), (0, 1));
    let cache_line = one_message(&first);
    assert!(
        cache_line.ends_with(&format!(
            "({})",
            super::shown(&home.path().join("wasi-warden").display().to_string())
        )),
        "{cache_line}"
    );
    let written = entries(home.path());
    assert_eq!(written.len(), 1, "{written:?}");
    let before = std::fs::read(&written[0]).unwrap();
    #[cfg(unix)]
    let inode = std::fs::metadata(&written[0]).unwrap().ino();
    let second = cached(home.path(), &[]);
    assert_eq!(stats(&second), (1, 0));
    // The entry was read as it was, not compiled and written again.
    assert_eq!(entries(home.path()), written);
    assert_eq!(std::fs::read(&written[0]).unwrap(), before);
    #[cfg(unix)]
    {
        assert_eq!(std::fs::metadata(&written[0]).unwrap().ino(), inode);
        // The directory is the user's alone.
        let mode = std::fs::metadata(home.path().join("wasi-warden"))
            .unwrap()
            .mode();
        assert_eq!(mode & 0o077, 0, "{mode:o}");
    }
}

#[test]
fn the_cache_keys_entries_by_engine_options_too() {
    let home = tempfile::tempdir().unwrap();
    assert_eq!(stats(&cached(home.path(), &[])), (0, 1));
    assert_eq!(stats(&cached(home.path(), &["-O", "opt-level=0"])), (0, 1));
    assert_eq!(
        stats(&cached(home.path(), &["--fuel", "100000000"])),
        (0, 1)
    );
    assert_eq!(entries(home.path()).len(), 3);
    assert_eq!(stats(&cached(home.path(), &[])), (1, 0));
    assert_eq!(stats(&cached(home.path(), &["-O", "opt-level=0"])), (1, 0));
}

#[test]
fn a_corrupt_entry_is_compiled_again_and_replaced() {
    let home = tempfile::tempdir().unwrap();
    cached(home.path(), &[]);
    let entry = entries(home.path()).remove(0);
    let good = std::fs::read(&entry).unwrap();
    let garbage = vec![0x5a; good.len()];
    for corrupt in [&garbage[..], &good[..good.len() / 2], &[][..]] {
        std::fs::write(&entry, corrupt).unwrap();
        assert_eq!(stats(&cached(home.path(), &[])), (0, 1));
        // Replaced by a good one: the next run uses it.
        assert_eq!(stats(&cached(home.path(), &[])), (1, 0));
    }
}

#[test]
fn an_entry_from_another_engine_configuration_is_not_trusted() {
    let home = tempfile::tempdir().unwrap();
    cached(home.path(), &[]);
    let plain = entries(home.path());
    cached(home.path(), &["--fuel", "100000000"]);
    let metered: Vec<PathBuf> = entries(home.path())
        .into_iter()
        .filter(|e| !plain.contains(e))
        .collect();
    assert_eq!((plain.len(), metered.len()), (1, 1));
    // The fuel-metered code, put where the plain run looks: a valid entry, but for another
    // engine, so wasmtime refuses it and the module is compiled again.
    std::fs::copy(&metered[0], &plain[0]).unwrap();
    assert_eq!(stats(&cached(home.path(), &[])), (0, 1));
    assert_eq!(stats(&cached(home.path(), &[])), (1, 0));
}

#[test]
fn concurrent_first_runs_all_succeed_and_leave_one_entry() {
    let home = tempfile::tempdir().unwrap();
    let children: Vec<_> = (0..4)
        .map(|_| {
            Command::new(env!("CARGO_BIN_EXE_wasi-warden"))
                .args(["run", "--mem-dir", "/", HELLO])
                .current_dir(env!("CARGO_MANIFEST_DIR"))
                .env("XDG_CACHE_HOME", home.path())
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        assert!(stdout(&out).ends_with("done\n"), "{}", stdout(&out));
        assert_eq!(stderr(&out), "");
    }
    assert_eq!(entries(home.path()).len(), 1);
    assert_eq!(stats(&cached(home.path(), &[])), (1, 0));
}

#[test]
fn cache_n_and_disable_cache_write_nothing() {
    for flags in [&["-C", "cache=n"][..], &["--disable-cache"]] {
        let home = tempfile::tempdir().unwrap();
        let out = cached(home.path(), flags);
        assert_eq!(one_message(&out), "wasi-warden: cache: off", "{flags:?}");
        assert!(!home.path().join("wasi-warden").exists(), "{flags:?}");
    }
}

#[test]
fn cache_config_chooses_the_directory() {
    let home = tempfile::tempdir().unwrap();
    let elsewhere = home.path().join("elsewhere");
    let config = home.path().join("cache.toml");
    std::fs::write(
        &config,
        format!("[cache]\ndirectory = {:?}\n", elsewhere.to_str().unwrap()),
    )
    .unwrap();
    let flag = format!("cache-config={}", config.display());
    let first = cached(home.path(), &["-C", &flag]);
    assert_eq!(stats(&first), (0, 1));
    assert!(one_message(&first).contains("elsewhere"));
    assert!(!home.path().join("wasi-warden").exists());
    assert_eq!(stats(&cached(home.path(), &["-C", &flag])), (1, 0));
    // Without `directory`, the config's other settings apply to our default directory.
    std::fs::write(&config, "[cache]\nbaseline-compression-level = 1\n").unwrap();
    let out = cached(home.path(), &["-C", &flag]);
    assert!(
        one_message(&out).ends_with(&format!(
            "{}wasi-warden)",
            super::shown(std::path::MAIN_SEPARATOR_STR)
        )),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_bad_cache_config_is_one_line() {
    let home = tempfile::tempdir().unwrap();
    let config = home.path().join("cache.toml");
    for (text, needle) in [
        (
            None,
            if cfg!(windows) {
                "not found"
            } else {
                "No such file"
            },
        ),
        (Some("[cache\n"), "line 1"),
        (Some("[cache]\nenabled = true\n"), "enabled"),
        (Some("[cache]\ndirectory = \"relative\"\n"), "absolute"),
    ] {
        match text {
            Some(text) => std::fs::write(&config, text).unwrap(),
            None => drop(std::fs::remove_file(&config)),
        }
        let flag = format!("cache-config={}", config.display());
        let out = warden_with(&["run", "-C", &flag, HELLO], |cmd| {
            cmd.env("XDG_CACHE_HOME", home.path());
        });
        assert_eq!(out.status.code(), Some(EXIT_USAGE), "{text:?}");
        let line = one_message(&out);
        assert!(
            line.starts_with(&format!("wasi-warden: -C {}: ", super::shown(&flag))),
            "{line}"
        );
        assert!(line.contains(needle), "{text:?}: {line}");
        assert!(stdout(&out).is_empty());
    }
}

// Unix modes: Windows directories carry ACLs, which the cache does not judge (README).
#[cfg(unix)]
#[test]
fn a_cache_directory_others_can_write_to_is_not_used() {
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join("wasi-warden");
    std::fs::create_dir(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    let all = ["run", "--cache-stats", "--mem-dir", "/", HELLO];
    let out = warden_with(&all, |cmd| {
        cmd.env("XDG_CACHE_HOME", home.path());
    });
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let err = stderr(&out);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 2, "{err}");
    assert!(lines[0].contains("not caching compiled code in"), "{err}");
    assert!(lines[0].contains("other users can write to"), "{err}");
    assert_eq!(lines[1], "wasi-warden: cache: off");
    assert!(entries(home.path()).is_empty());
}
