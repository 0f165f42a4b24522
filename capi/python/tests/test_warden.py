"""The unmodified `wasmtime` wheel as the host, wasi-warden attached through ctypes."""
import io
import json
import os
import tarfile
import threading

import pytest
import wasmtime

import wasi_warden as ww

FLOOD = """(module
  (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "flood!\\n")
  (func (export "_start")
    (i32.store (i32.const 0) (i32.const 16)) (i32.store (i32.const 4) (i32.const 7))
    (loop $again (drop (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
      (br $again))))"""


def open_and_exit(name, oflags, rights, write=False):
    """A guest that path_opens `name` under fd 3 and exits with the errno (after writing "hi"
    when `write`)."""
    body = f"""(local.set $e (call $open (i32.const 3) (i32.const 0) (i32.const 64) (i32.const {len(name)})
         (i32.const {oflags}) (i64.const {rights}) (i64.const 0) (i32.const 0) (i32.const 8)))
       (if (local.get $e) (then (call $exit (local.get $e))))"""
    if write:
        body += """(i32.store (i32.const 0) (i32.const 200)) (i32.store (i32.const 4) (i32.const 2))
       (call $exit (call $w (i32.load (i32.const 8)) (i32.const 0) (i32.const 1) (i32.const 12)))"""
    return f"""(module
  (import "wasi_snapshot_preview1" "path_open" (func $open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 64) "{name}")
  (data (i32.const 200) "hi")
  (func (export "_start") (local $e i32) {body} (call $exit (i32.const 0))))"""


@pytest.fixture
def wat(engine):
    return lambda text: wasmtime.Module(engine, text)


def test_version():
    assert ww.version() == "0.1.0"


def test_bad_arguments_are_errors_not_crashes():
    config = ww.Config()
    with pytest.raises(ww.WardenError, match="not a variable name"):
        config.env("A=B", "c")
    with pytest.raises(ww.WardenError, match="cannot open"):
        config.mount_host_dir("/x", "/no/such/directory")
    with pytest.raises(ww.WardenError, match="policy"):
        config.policy_toml("default = 'sometimes'")
    with pytest.raises(ww.WardenError, match="cannot load the image"):
        config.mount_memory("/", from_tar=b"not a tar")


def test_capture_with_a_limit_stops_a_flood(wat, run):
    stop, ctx = run(wat(FLOOD), ww.Config().capture_stdout(limit=1000))
    assert stop.kind == ww.STOP_LIMIT, stop
    assert "stdout" in stop.message
    out = ctx.output()
    assert 990 < len(out) <= 1000 and out.startswith(b"flood!\n")


def test_a_stdout_callback_in_python(wat, run):
    chunks = []
    config = ww.Config().output_callback(ww.STDOUT, chunks.append, limit=70)
    stop, _ = run(wat(FLOOD), config)
    assert stop.kind == ww.STOP_LIMIT
    assert b"".join(chunks) == b"flood!\n" * 10
    assert all(chunk == b"flood!\n" for chunk in chunks)


def test_a_memory_mount_with_a_quota(wat, run):
    fill = """(module
      (import "wasi_snapshot_preview1" "path_open" (func $open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
      (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
      (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
      (memory (export "memory") 4)
      (data (i32.const 64) "big.bin")
      (func (export "_start") (local $e i32)
        (drop (call $open (i32.const 3) (i32.const 0) (i32.const 64) (i32.const 7)
           (i32.const 1) (i64.const 0x7e) (i64.const 0) (i32.const 0) (i32.const 8)))
        (i32.store (i32.const 0) (i32.const 65536)) (i32.store (i32.const 4) (i32.const 65536))
        (loop $again
          (local.set $e (call $w (i32.load (i32.const 8)) (i32.const 0) (i32.const 1) (i32.const 12)))
          (br_if $again (i32.eqz (local.get $e))))
        (call $exit (local.get $e))))"""
    stop, ctx = run(wat(fill), ww.Config().mount_memory("/", quota=1 << 20))
    assert (stop.kind, stop.exit_code) == (ww.STOP_EXIT, 51)  # ENOSPC
    members = tarfile.open(fileobj=io.BytesIO(ctx.save_tar("/"))).getmembers()
    big = [m for m in members if m.name.endswith("big.bin")]
    assert big and 0 < big[0].size <= 1 << 20


def test_read_only_host_mounts_refuse_changes(wat, run, tmp_path):
    module = wat(open_and_exit("note.txt", 1, 0x7E, write=True))
    stop, _ = run(module, ww.Config().mount_host_dir("/data", tmp_path, read_only=True))
    assert (stop.kind, stop.exit_code) == (ww.STOP_EXIT, 63)  # EPERM, as wasmtime
    assert not (tmp_path / "note.txt").exists()
    stop, _ = run(module, ww.Config().mount_host_dir("/data", tmp_path))
    assert (stop.kind, stop.exit_code) == (ww.STOP_EXIT, 0)
    assert (tmp_path / "note.txt").read_bytes() == b"hi"


def test_an_overlay_never_writes_the_host(wat, run, tmp_path):
    (tmp_path / "note.txt").write_text("original")
    module = wat(open_and_exit("note.txt", 8, 0x7E, write=True))  # O_TRUNC
    stop, ctx = run(module, ww.Config().mount_overlay("/", tmp_path))
    assert (stop.kind, stop.exit_code) == (ww.STOP_EXIT, 0)
    assert (tmp_path / "note.txt").read_text() == "original"
    upper = tarfile.open(fileobj=io.BytesIO(ctx.save_tar("/")))
    names = {m.name.lstrip("./"): m for m in upper.getmembers()}
    assert upper.extractfile(names["note.txt"]).read() == b"hi"


def secret_dir(tmp_path):
    (tmp_path / "secret.txt").write_text("the secret\n")
    return tmp_path


def test_a_deny_policy_and_its_audit(wat, run, tmp_path):
    lines = []
    config = (ww.Config().mount_memory("/", from_dir=secret_dir(tmp_path))
              .policy_toml('[[rule]]\npath = "/secret.txt"\ndecision = "deny:EROFS"\n')
              .audit(lines.append))
    stop, _ = run(wat(open_and_exit("secret.txt", 0, 2)), config)
    assert (stop.kind, stop.exit_code) == (ww.STOP_EXIT, 69)  # EROFS, as the rule says
    record = json.loads(lines[0])
    assert (record["syscall"], record["path"], record["decision"]) == ("path_open", "/secret.txt", "deny")


def test_a_policy_and_a_prompter_written_in_python(wat, run, tmp_path):
    seen, prompts = [], []

    def decide(request):
        seen.append(request)
        return ww.ASK if request.syscall == "path_open" else ww.ALLOW

    def ask(prompt):
        prompts.append(prompt)
        return ww.ALLOW_ONCE if prompt.request.path == "/note.txt" else ww.DENY_ONCE

    module = wat(open_and_exit("note.txt", 1, 0x7E, write=True))
    config = ww.Config().mount_memory("/").policy(decide).prompter(ask)
    stop, ctx = run(module, config)
    assert (stop.kind, stop.exit_code) == (ww.STOP_EXIT, 0)
    assert [p.request.path for p in prompts] == ["/note.txt"]
    assert "/note.txt" in prompts[0].message
    assert "create" in prompts[0].request.access and "write" in prompts[0].request.access
    assert {r.syscall for r in seen} >= {"path_open", "fd_write"}

    module = wat(open_and_exit("other.txt", 1, 0x7E, write=True))
    stop, _ = run(module, ww.Config().mount_memory("/").policy(decide).prompter(ask))
    assert (stop.kind, stop.exit_code) == (ww.STOP_EXIT, 2)  # EACCES: the person said no


def test_a_prompt_answered_from_another_thread(wat, run):
    """The prompter blocks; a UI thread answers it later."""
    answers = []
    asked = threading.Event()
    answered = threading.Event()

    def ask(prompt):
        asked.set()
        assert answered.wait(10)
        return answers[0]

    def ui():
        assert asked.wait(10)
        answers.append(ww.ALLOW_ALWAYS)
        answered.set()

    thread = threading.Thread(target=ui)
    thread.start()
    config = ww.Config().mount_memory("/").policy_toml('default = "ask"').prompter(ask)
    stop, _ = run(wat(open_and_exit("note.txt", 1, 0x7E, write=True)), config)
    thread.join()
    assert (stop.kind, stop.exit_code) == (ww.STOP_EXIT, 0)


def test_a_python_exception_in_a_policy_denies(wat, run, capfd):
    def broken(request):
        if request.syscall == "path_open":
            raise RuntimeError("oops")
        return ww.ALLOW
    module = wat(open_and_exit("note.txt", 1, 0x7E, write=True))
    stop, _ = run(module, ww.Config().mount_memory("/").policy(broken))
    assert (stop.kind, stop.exit_code) == (ww.STOP_EXIT, 2)  # EACCES, never allow


def test_exit_codes(guest, run):
    for code in [0, 1, 42]:
        config = ww.Config().args(["proc_exit_code.wasm", str(code)]).capture_stdout().capture_stderr()
        stop, ctx = run(guest("proc_exit_code"), config)
        assert (stop.kind, stop.exit_code) == (ww.STOP_EXIT, code)
        assert ctx.output(ww.STDOUT) == f"exiting with {code}\n".encode()
        assert ctx.output(ww.STDERR) == b"stderr before exit\n"


def test_a_guest_trap_is_the_guests(guest, run):
    stop, ctx = run(guest("proc_panic"), ww.Config().capture_stderr())
    assert stop.kind == ww.STOP_TRAP
    assert b"panicked" in ctx.output(ww.STDERR)


def test_stdin_from_a_pipe_fed_by_another_thread(guest, run):
    config = ww.Config().capture_stdout()
    pipe = config.stdin_pipe()

    def feed():
        for _ in range(50):
            assert pipe.write(b"abc\n")
        pipe.close()
    thread = threading.Thread(target=feed)
    thread.start()
    stop, ctx = run(guest("stdio_echo"), config, bind=True)
    thread.join()
    assert stop.kind == ww.STOP_NONE
    assert ctx.output().startswith(b"ABC\n" * 50)


def test_a_saved_image_loads_back(wat, run):
    module = wat(open_and_exit("note.txt", 1, 0x7E, write=True))
    stop, ctx = run(module, ww.Config().mount_memory("/"))
    assert stop.exit_code == 0
    image = ctx.save_tar("/")
    reader = wat(open_and_exit("note.txt", 0, 2))
    stop, _ = run(reader, ww.Config().mount_memory("/", from_tar=image, read_only=True))
    assert (stop.kind, stop.exit_code) == (ww.STOP_EXIT, 0)
    stop, _ = run(reader, ww.Config().mount_memory("/"))
    assert (stop.kind, stop.exit_code) == (ww.STOP_EXIT, 44)  # ENOENT without the image
