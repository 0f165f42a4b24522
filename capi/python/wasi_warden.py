"""wasi-warden for the `wasmtime` package from PyPI, through ctypes.

The imports are wasi-warden's (libwasi_warden, its C API); the engine, store and linker are
wasmtime-py's own, unmodified. Quickstart::

    import wasmtime, wasi_warden
    engine = wasmtime.Engine()
    linker = wasmtime.Linker(engine)
    wasi_warden.add_to_linker(linker)
    config = wasi_warden.Config().arg("app.wasm").capture_stdout(limit=1 << 20)
    config.mount_memory("/", quota=64 << 20)
    store = wasmtime.Store(engine)
    ctx = wasi_warden.Context(config, store)
    stop = ctx.run(linker.instantiate(store, wasmtime.Module.from_file(engine, "app.wasm")))
    print(stop.exit_code, ctx.output(wasi_warden.STDOUT))

The library is found at `$WW_LIBRARY`, next to this file, or by the platform's loader.
Callbacks (stdout, policy, prompter, audit) are Python callables; an exception in one is
printed and answers the safe way (a policy or a prompt then denies: ctypes alone would return
an undefined value).
"""

import ctypes
import os
import sys
import traceback
from dataclasses import dataclass
from typing import Callable, Optional

import wasmtime
from wasmtime import _ffi as _wasmtime_ffi

STDOUT = 1
STDERR = 2

# Answers of a policy callback (or a negative WASI errno: deny with it).
DENY, ALLOW, ASK, TRAP = 0, 1, 2, 3
# Answers of a prompter.
DENY_ONCE, ALLOW_ONCE, ALLOW_ALWAYS, DENY_ALWAYS, ALLOW_ALWAYS_ANY_PATH, DENY_ALWAYS_ANY_PATH = range(6)
# Why a guest stopped (Stop.kind).
STOP_NONE, STOP_EXIT, STOP_LIMIT, STOP_POLICY, STOP_TRAP, STOP_ERROR = range(6)
STOP_NAMES = ["none", "exit", "limit", "policy", "trap", "error"]

CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_CPUTIME = 1, 2, 4
ACCESS = ["read", "write", "create", "truncate", "remove", "rename", "link", "symlink",
          "set-times", "readdir", "stat"]


class WardenError(Exception):
    """An error the library reported (a bad argument, path, image or policy)."""


class _Bytes(ctypes.Structure):
    _fields_ = [("data", ctypes.POINTER(ctypes.c_uint8)), ("size", ctypes.c_size_t)]


class _Request(ctypes.Structure):
    _fields_ = [
        ("syscall", ctypes.c_void_p), ("syscall_len", ctypes.c_size_t),
        ("access", ctypes.c_uint32),
        ("fd", ctypes.c_int64), ("fd2", ctypes.c_int64),
        ("path", ctypes.c_void_p), ("path_len", ctypes.c_size_t),
        ("path2", ctypes.c_void_p), ("path2_len", ctypes.c_size_t),
        ("subtree", ctypes.c_bool),
    ]


class _Prompt(ctypes.Structure):
    _fields_ = [("message", ctypes.c_void_p), ("message_len", ctypes.c_size_t),
                ("request", ctypes.POINTER(_Request))]


_OUTPUT_FN = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.POINTER(ctypes.c_uint8), ctypes.c_size_t)
_DECIDE_FN = ctypes.CFUNCTYPE(ctypes.c_int32, ctypes.c_void_p, ctypes.POINTER(_Request))
_PROMPT_FN = ctypes.CFUNCTYPE(ctypes.c_int32, ctypes.c_void_p, ctypes.POINTER(_Prompt))
_AUDIT_FN = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t)


@dataclass
class Request:
    """A call waiting for a decision (paths normalised, `None` when the call has none)."""
    syscall: str
    access: list
    fd: Optional[int]
    fd2: Optional[int]
    path: Optional[str]
    path2: Optional[str]
    subtree: bool


@dataclass
class Prompt:
    """What a person is asked: the request and a one-line, escaped message."""
    message: str
    request: Request


@dataclass
class Stop:
    """Why the guest stopped, as its WASI calls know it."""
    kind: int
    exit_code: int
    message: str

    @property
    def name(self) -> str:
        return STOP_NAMES[self.kind] if 0 <= self.kind < len(STOP_NAMES) else "unknown"


def _text(ptr, length) -> Optional[str]:
    if not ptr:
        return None
    return ctypes.string_at(ptr, length).decode("utf-8", "replace")


def _request(raw) -> Request:
    return Request(
        syscall=_text(raw.syscall, raw.syscall_len),
        access=[name for bit, name in enumerate(ACCESS) if raw.access & (1 << bit)],
        fd=None if raw.fd < 0 else raw.fd,
        fd2=None if raw.fd2 < 0 else raw.fd2,
        path=_text(raw.path, raw.path_len),
        path2=_text(raw.path2, raw.path2_len),
        subtree=bool(raw.subtree),
    )


_lib = None


def _declare(lib):
    E = ctypes.c_void_p  # ww_error_t *
    P = ctypes.c_void_p
    sz, u32, u64, i32 = ctypes.c_size_t, ctypes.c_uint32, ctypes.c_uint64, ctypes.c_int32
    s = ctypes.c_char_p
    sigs = {
        "ww_version": (s, []),
        "ww_error_message": (s, [E]),
        "ww_error_delete": (None, [E]),
        "ww_bytes_delete": (None, [ctypes.POINTER(_Bytes)]),
        "ww_init": (E, [P]),
        "ww_linker_define": (E, [P]),
        "ww_config_new": (P, []),
        "ww_config_delete": (None, [P]),
        "ww_config_arg": (E, [P, s, sz]),
        "ww_config_env": (E, [P, s, sz, s, sz]),
        "ww_config_stdin_bytes": (E, [P, s, sz]),
        "ww_config_stdin_inherit": (E, [P]),
        "ww_config_stdin_pipe": (E, [P, ctypes.POINTER(P)]),
        "ww_pipe_write": (ctypes.c_bool, [P, s, sz]),
        "ww_pipe_close": (None, [P]),
        "ww_pipe_delete": (None, [P]),
        "ww_config_output_null": (E, [P, i32]),
        "ww_config_output_inherit": (E, [P, i32]),
        "ww_config_output_capture": (E, [P, i32]),
        "ww_config_output_callback": (E, [P, i32, _OUTPUT_FN, P, P]),
        "ww_config_output_limit": (E, [P, i32, u64, i32]),
        "ww_config_mount_memory": (E, [P, s, sz, u64, u32]),
        "ww_config_mount_memory_from_dir": (E, [P, s, sz, s, sz, u64, u32]),
        "ww_config_mount_memory_from_tar": (E, [P, s, sz, s, sz, u64, u32]),
        "ww_config_mount_host_dir": (E, [P, s, sz, s, sz, u32]),
        "ww_config_mount_overlay": (E, [P, s, sz, s, sz, u64]),
        "ww_config_clocks": (E, [P, u32]),
        "ww_config_random_os": (E, [P]),
        "ww_config_random_seeded": (E, [P, u64]),
        "ww_config_deterministic": (E, [P, u64]),
        "ww_config_max_fds": (E, [P, u32]),
        "ww_config_policy_toml": (E, [P, s, sz]),
        "ww_config_policy_callback": (E, [P, _DECIDE_FN, P, P]),
        "ww_config_prompter": (E, [P, _PROMPT_FN, P, P]),
        "ww_config_audit_file": (E, [P, s, sz]),
        "ww_config_audit_callback": (E, [P, _AUDIT_FN, P, P]),
        "ww_ctx_new": (E, [P, ctypes.POINTER(P)]),
        "ww_ctx_attach": (E, [P, P]),
        "ww_ctx_detach": (None, [P]),
        "ww_ctx_bind_memory": (E, [P, P]),
        "ww_ctx_set_timeout": (E, [P, u64]),
        "ww_ctx_delete": (None, [P]),
        "ww_ctx_stop": (i32, [P, ctypes.POINTER(i32), ctypes.POINTER(_Bytes)]),
        "ww_ctx_output": (E, [P, i32, ctypes.POINTER(_Bytes)]),
        "ww_ctx_output_written": (u64, [P, i32]),
        "ww_ctx_save_tar": (E, [P, s, sz, ctypes.POINTER(_Bytes)]),
    }
    for name, (restype, argtypes) in sigs.items():
        function = getattr(lib, name)
        function.restype = restype
        function.argtypes = argtypes


def _check(error):
    if error:
        message = _lib.ww_error_message(error).decode("utf-8", "replace")
        _lib.ww_error_delete(error)
        raise WardenError(message)


def _take(buffer: _Bytes) -> bytes:
    data = ctypes.string_at(buffer.data, buffer.size) if buffer.size else b""
    _lib.ww_bytes_delete(ctypes.byref(buffer))
    return data


def load(path: Optional[str] = None):
    """Loads libwasi_warden and points it at the libwasmtime wasmtime-py loaded (privately,
    with RTLD_LOCAL: the handle is passed, not searched for). Called by the other functions."""
    global _lib
    if _lib is not None:
        return _lib
    if path is None:
        path = os.environ.get("WW_LIBRARY")
    if path is None:
        here = os.path.dirname(os.path.abspath(__file__))
        name = {"win32": "wasi_warden.dll", "darwin": "libwasi_warden.dylib"}.get(
            sys.platform, "libwasi_warden.so")
        path = os.path.join(here, name) if os.path.exists(os.path.join(here, name)) else name
    lib = ctypes.CDLL(path)
    _declare(lib)
    _lib = lib
    _check(lib.ww_init(_wasmtime_ffi.dll._handle))
    return lib


def version() -> str:
    return load().ww_version().decode()


def _ptr(obj) -> int:
    return ctypes.cast(obj, ctypes.c_void_p).value


def add_to_linker(linker: wasmtime.Linker):
    """Defines the 46 preview1 imports in `linker` (serving every store it instantiates in)."""
    _check(load().ww_linker_define(_ptr(linker.ptr())))


def _b(text) -> bytes:
    return text.encode() if isinstance(text, str) else bytes(text)


class Pipe:
    """The host's end of a stdin pipe: `write` from any thread, `close` for end of file."""

    def __init__(self, ptr):
        self._ptr = ptr

    def write(self, data) -> bool:
        data = _b(data)
        return bool(_lib.ww_pipe_write(self._ptr, data, len(data)))

    def close(self):
        _lib.ww_pipe_close(self._ptr)

    def __del__(self):
        if _lib is not None and self._ptr:
            _lib.ww_pipe_delete(self._ptr)
            self._ptr = None


class Config:
    """What a guest is granted; nothing by default. Methods return the config, for chaining."""

    def __init__(self):
        self._ptr = load().ww_config_new()
        self._keep = []  # ctypes callbacks must outlive the context that calls them

    def _call(self, name, *args):
        if not self._ptr:
            raise WardenError("this config was already used by a Context")
        _check(getattr(_lib, name)(self._ptr, *args))
        return self

    def arg(self, arg):
        a = _b(arg)
        return self._call("ww_config_arg", a, len(a))

    def args(self, args):
        for a in args:
            self.arg(a)
        return self

    def env(self, key, value):
        k, v = _b(key), _b(value)
        return self._call("ww_config_env", k, len(k), v, len(v))

    def stdin_bytes(self, data):
        data = _b(data)
        return self._call("ww_config_stdin_bytes", data, len(data))

    def stdin_pipe(self) -> Pipe:
        out = ctypes.c_void_p()
        self._call("ww_config_stdin_pipe", ctypes.byref(out))
        return Pipe(out.value)

    def _limit(self, stream, limit, truncate):
        if limit is not None:
            self._call("ww_config_output_limit", stream, limit, 1 if truncate else 0)
        return self

    def capture(self, stream, limit=None, truncate=False):
        self._call("ww_config_output_capture", stream)
        return self._limit(stream, limit, truncate)

    def capture_stdout(self, limit=None, truncate=False):
        return self.capture(STDOUT, limit, truncate)

    def capture_stderr(self, limit=None, truncate=False):
        return self.capture(STDERR, limit, truncate)

    def inherit(self, stream, limit=None, truncate=False):
        self._call("ww_config_output_inherit", stream)
        return self._limit(stream, limit, truncate)

    def output_callback(self, stream, callback: Callable[[bytes], None], limit=None, truncate=False):
        function = _OUTPUT_FN(lambda _env, data, size: callback(ctypes.string_at(data, size)))
        self._keep.append(function)
        self._call("ww_config_output_callback", stream, function, None, None)
        return self._limit(stream, limit, truncate)

    def mount_memory(self, guest, quota=0, read_only=False, from_dir=None, from_tar=None):
        g = _b(guest)
        flags = 1 if read_only else 0
        if from_dir is not None:
            d = _b(os.fspath(from_dir))
            return self._call("ww_config_mount_memory_from_dir", g, len(g), d, len(d), quota, flags)
        if from_tar is not None:
            t = _b(from_tar)
            return self._call("ww_config_mount_memory_from_tar", g, len(g), t, len(t), quota, flags)
        return self._call("ww_config_mount_memory", g, len(g), quota, flags)

    def mount_host_dir(self, guest, host, read_only=False):
        g, h = _b(guest), _b(os.fspath(host))
        return self._call("ww_config_mount_host_dir", g, len(g), h, len(h), 1 if read_only else 0)

    def mount_overlay(self, guest, host, quota=0):
        g, h = _b(guest), _b(os.fspath(host))
        return self._call("ww_config_mount_overlay", g, len(g), h, len(h), quota)

    def clocks(self, mask=CLOCK_REALTIME | CLOCK_MONOTONIC | CLOCK_CPUTIME):
        return self._call("ww_config_clocks", mask)

    def random(self, seed=None):
        if seed is None:
            return self._call("ww_config_random_os")
        return self._call("ww_config_random_seeded", seed)

    def deterministic(self, seed=0):
        return self._call("ww_config_deterministic", seed)

    def max_fds(self, count):
        return self._call("ww_config_max_fds", count)

    def policy_toml(self, text):
        t = _b(text)
        return self._call("ww_config_policy_toml", t, len(t))

    def policy(self, decide: Callable[[Request], int]):
        """`decide(request)` answers ALLOW, DENY, ASK, TRAP or -errno."""
        def call(_env, raw):
            try:
                return int(decide(_request(raw.contents)))
            except BaseException:  # ctypes would answer an undefined value: deny instead
                traceback.print_exc()
                return DENY
        function = _DECIDE_FN(call)
        self._keep.append(function)
        return self._call("ww_config_policy_callback", function, None, None)

    def prompter(self, ask: Callable[[Prompt], int]):
        """`ask(prompt)` answers ALLOW_ONCE, DENY_ONCE, ALLOW_ALWAYS... (may block)."""
        def call(_env, raw):
            prompt = raw.contents
            try:
                return int(ask(Prompt(_text(prompt.message, prompt.message_len),
                                      _request(prompt.request.contents))))
            except BaseException:  # as in `policy`: a failed prompt denies
                traceback.print_exc()
                return DENY_ONCE
        function = _PROMPT_FN(call)
        self._keep.append(function)
        return self._call("ww_config_prompter", function, None, None)

    def audit(self, record: Callable[[str], None]):
        """`record(line)` gets one JSON line per decided call."""
        function = _AUDIT_FN(lambda _env, line, size: record(_text(line, size)))
        self._keep.append(function)
        return self._call("ww_config_audit_callback", function, None, None)

    def audit_file(self, path):
        p = _b(os.fspath(path))
        return self._call("ww_config_audit_file", p, len(p))

    def __del__(self):
        if _lib is not None and self._ptr:
            _lib.ww_config_delete(self._ptr)
            self._ptr = None


class Context:
    """One guest's state, serving `store` (detached and freed by `close`)."""

    def __init__(self, config: Config, store: Optional[wasmtime.Store] = None):
        if not config._ptr:
            raise WardenError("this config was already used by a Context")
        out = ctypes.c_void_p()
        ptr, config._ptr = config._ptr, None  # consumed, even on error
        _check(_lib.ww_ctx_new(ptr, ctypes.byref(out)))
        self._ptr = out.value
        self._keep = config._keep
        self._store = None
        if store is not None:
            self.attach(store)

    def attach(self, store: wasmtime.Store):
        _check(_lib.ww_ctx_attach(self._ptr, _ptr(store._context())))
        self._store = store

    def detach(self):
        _lib.ww_ctx_detach(self._ptr)
        self._store = None

    def bind_memory(self, memory: wasmtime.Memory):
        """The promise that the store holds one WASI instance, whose memory this is."""
        _check(_lib.ww_ctx_bind_memory(self._ptr, ctypes.byref(memory._memory)))

    def set_timeout(self, seconds: float):
        _check(_lib.ww_ctx_set_timeout(self._ptr, int(seconds * 1e9)))

    def stop(self) -> Stop:
        code = ctypes.c_int32()
        message = _Bytes()
        kind = _lib.ww_ctx_stop(self._ptr, ctypes.byref(code), ctypes.byref(message))
        return Stop(kind, code.value, _take(message).decode("utf-8", "replace"))

    def run(self, instance: wasmtime.Instance, entry="_start") -> Stop:
        """Calls `entry` of `instance` (in the attached store); answers how the guest stopped:
        a trap of its own is `STOP_TRAP` with wasmtime's message, a return `STOP_NONE`."""
        store = self._store
        try:
            instance.exports(store)[entry](store)
        except (wasmtime.Trap, wasmtime.WasmtimeError) as trap:
            stop = self.stop()
            if stop.kind == STOP_NONE:
                return Stop(STOP_TRAP, 1, str(trap))
            return stop
        return self.stop()

    def output(self, stream=STDOUT) -> bytes:
        out = _Bytes()
        _check(_lib.ww_ctx_output(self._ptr, stream, ctypes.byref(out)))
        return _take(out)

    def written(self, stream=STDOUT) -> int:
        return _lib.ww_ctx_output_written(self._ptr, stream)

    def save_tar(self, guest="/") -> bytes:
        g = _b(guest)
        out = _Bytes()
        _check(_lib.ww_ctx_save_tar(self._ptr, g, len(g), ctypes.byref(out)))
        return _take(out)

    def close(self):
        if _lib is not None and self._ptr:
            _lib.ww_ctx_delete(self._ptr)
            self._ptr = None

    def __del__(self):
        self.close()

    def __enter__(self):
        return self

    def __exit__(self, *_):
        self.close()
