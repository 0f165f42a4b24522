//! wasmtime's `-S` group end to end: the keys that map onto our grants (inherit-env,
//! tcplisten), the no-op ones, and the refusals of everything that would widen the sandbox.

use super::{EXIT_USAGE, HELLO, guest, one_message, stderr, stdout, warden, warden_with};

#[test]
fn s_inherit_env_passes_the_host_environment_and_env_overrides_it() {
    let only = |cmd: &mut std::process::Command| {
        cmd.env_clear()
            .env("WARDEN_FROM_HOST", "host")
            .env("WARDEN_OVERRIDDEN", "host");
    };
    let out = warden_with(
        &[
            "run",
            "-S",
            "inherit-env",
            "--env",
            "WARDEN_OVERRIDDEN=flag",
            "--env",
            "WARDEN_ADDED=flag",
            HELLO,
        ],
        only,
    );
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // Wine adds its own WINE* variables to every process it starts.
    #[cfg(unix)]
    assert!(text.contains("environment variables: 3\n"), "{text}");
    assert!(text.contains("  WARDEN_FROM_HOST=host\n"), "{text}");
    assert!(text.contains("  WARDEN_OVERRIDDEN=flag\n"), "{text}");
    assert!(!text.contains("WARDEN_OVERRIDDEN=host"), "{text}");
    assert!(text.contains("  WARDEN_ADDED=flag\n"), "{text}");
    // Without it (or with =n), nothing of the host's passes.
    for flags in [&[][..], &["-S", "inherit-env=n"]] {
        let args = [&["run"][..], flags, &[HELLO]].concat();
        let text = stdout(&warden_with(&args, only));
        assert!(
            text.contains("environment variables: 0\n"),
            "{flags:?}: {text}"
        );
    }
}

/// Exits with fd 3's filetype (6: a stream socket), or 100 + errno if fd 3 is not there.
const FD3_KIND: &str = r#"(module
  (import "wasi_snapshot_preview1" "fd_fdstat_get" (func $fdstat (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (func (export "_start") (local $err i32)
    (local.set $err (call $fdstat (i32.const 3) (i32.const 0)))
    (if (local.get $err) (then (call $exit (i32.add (i32.const 100) (local.get $err)))))
    (call $exit (i32.load8_u (i32.const 0)))))"#;

#[test]
fn s_tcplisten_grants_a_listening_socket_and_nothing_else_does() {
    let dir = tempfile::tempdir().unwrap();
    let wat = guest(dir.path(), "fd3.wat", FD3_KIND);
    for flags in [
        &["-S", "tcplisten=127.0.0.1:0"][..],
        &["--tcplisten", "127.0.0.1:0"],
    ] {
        let args = [&["run"][..], flags, &[wat.as_str()]].concat();
        let out = warden(&args);
        assert_eq!(out.status.code(), Some(6), "{flags:?}: {}", stderr(&out));
    }
    // No socket, no directory: fd 3 is EBADF (8), as the WASI test suite expects.
    let out = warden(&["run", "-S", "tcp,udp", &wat]);
    assert_eq!(out.status.code(), Some(108), "{}", stderr(&out));
}

#[test]
fn s_options_that_widen_the_sandbox_are_refused_with_the_reason() {
    for (key, why) in [
        ("inherit-network", "network"),
        ("inherit-network=y", "network"),
        ("allow-ip-name-lookup", "name lookups"),
        ("listenfd", "descriptors"),
        ("http", "wasi_snapshot_preview1 only"),
        ("preview0", "wasi_unstable"),
        ("threads", "shared memories"),
        ("max-random-size=16", "not supported"),
        ("cli=n", "always links WASI preview1"),
    ] {
        let out = warden(&["run", "-S", key, HELLO]);
        assert_eq!(out.status.code(), Some(EXIT_USAGE), "{key}");
        let line = one_message(&out);
        assert!(
            line.starts_with(&format!("wasi-warden: -S {key}: refused: ")),
            "{key}: {line}"
        );
        assert!(line.contains(why), "{key}: {line}");
        assert!(stdout(&out).is_empty(), "{key}: the guest must not run");
    }
}

#[test]
fn s_options_that_grant_nothing_are_accepted() {
    let out = warden(&[
        "run",
        "-S",
        "cli,common=y,preview2=n,tcp=n,udp=n,cli-exit-with-code",
        "-S",
        "inherit-network=n,allow-ip-name-lookup=n,listenfd=n,http=n,nn=n,tls=n,p3=n",
        HELLO,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("hello from a WASI guest"));
}

#[test]
fn an_unknown_s_key_lists_the_accepted_ones() {
    let out = warden(&["run", "-S", "inherit-environment", HELLO]);
    assert_eq!(out.status.code(), Some(EXIT_USAGE));
    let line = one_message(&out);
    assert!(
        line.starts_with(
            "wasi-warden: -S inherit-environment: unknown key (accepted: inherit-env, tcplisten, "
        ),
        "{line}"
    );
    let out = warden(&["run", "-S", "help", HELLO]);
    assert_eq!(out.status.code(), Some(0));
    assert!(stdout(&out).contains("-S inherit-network=n -- accepted off only"));
}
