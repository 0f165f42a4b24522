"""Every guest of tests/guests through the C API (wasmtime-py's linker, wasi-warden's imports)
and through the Rust linker (`wasi-warden run`), both deterministic on the same seed tree:
stdout, stderr, exit status and the saved tree must be the same, byte for byte."""
import io
import os
import pathlib
import subprocess
import tarfile

import pytest
import wasmtime

import wasi_warden as ww

GUESTS = pathlib.Path(os.environ["WW_GUESTS"])
CLI = os.environ["WW_CLI"]
NAMES = sorted(p.stem for p in GUESTS.glob("*.wasm"))
# The stdin tests/conformance.rs gives these guests (the others read none).
STDIN = {
    "poll_fd": b"ready",
    "stdio_echo": b"hello stdin\nsecond line\n" * 300,
    "stdio_errors": b"xyz",
}


def seed_tree(root: pathlib.Path):
    """The conformance suite's seed tree (tests/support/mod.rs, `seed_tree`)."""
    (root / "hello.txt").write_text("hello world\n")
    (root / "data/nested").mkdir(parents=True)
    (root / "data/numbers.txt").write_text("0123456789")
    (root / "data/nested/deep.txt").write_text("deep\n")
    (root / "empty").mkdir()
    os.symlink("hello.txt", root / "link_hello")
    os.symlink("data", root / "link_data")


def tree(image: bytes):
    members = tarfile.open(fileobj=io.BytesIO(image)).getmembers()
    archive = tarfile.open(fileobj=io.BytesIO(image))
    listing = []
    for m in members:
        data = archive.extractfile(m).read() if m.isfile() else None
        listing.append((m.name, m.type, m.mode, m.size, m.mtime, m.linkname, data))
    return listing


def exit_status(stop: ww.Stop) -> int:
    """The CLI's status for the same ending: the guest's, or 134 for a trap."""
    if stop.kind == ww.STOP_EXIT:
        return stop.exit_code
    return 0 if stop.kind == ww.STOP_NONE else 134


def test_there_are_guests():
    assert len(NAMES) >= 40


@pytest.mark.parametrize("name", NAMES)
def test_the_c_api_runs_each_guest_as_the_rust_linker_does(name, engine, linker, tmp_path):
    seed = tmp_path / "seed"
    seed.mkdir()
    seed_tree(seed)
    image = tmp_path / "rust.tar"
    cli = subprocess.run(
        [CLI, "run", "--deterministic", "--mem-dir", f"{seed}::/", "--save-fs", str(image),
         f"{name}.wasm"],
        cwd=GUESTS, input=STDIN.get(name, b""), capture_output=True, timeout=120)
    # The CLI's own report of a trap is not the guest's output.
    cli_stderr = b"".join(line for line in cli.stderr.splitlines(keepends=True)
                          if not line.startswith(b"wasi-warden: "))

    config = (ww.Config().arg(f"{name}.wasm").deterministic(0)
              .mount_memory("/", from_dir=seed).capture_stdout().capture_stderr()
              .stdin_bytes(STDIN.get(name, b"")))
    store = wasmtime.Store(engine)
    with ww.Context(config, store) as ctx:
        module = wasmtime.Module.from_file(engine, str(GUESTS / f"{name}.wasm"))
        stop = ctx.run(linker.instantiate(store, module))
        assert ctx.output(ww.STDOUT) == cli.stdout
        assert ctx.output(ww.STDERR) == cli_stderr
        assert exit_status(stop) == cli.returncode, stop
        assert tree(ctx.save_tar("/")) == tree(image.read_bytes())
