/*
 * wasi_warden.h: wasi-warden's C API.
 *
 * wasi-warden defines the 46 `wasi_snapshot_preview1` imports on a linker of the host's own
 * wasmtime (its C API: `wasmtime_linker_t`), so that a guest sees only what the host granted:
 * args, env, stdio streams with byte limits, in-memory and host-directory mounts, clocks,
 * randomness, a per-call policy, a permission prompt and an audit trail. The library does not
 * bundle wasmtime: it calls the C API of the libwasmtime the host already loaded, found by
 * `ww_init`.
 *
 * The steps, once per process and then per guest:
 *
 *   ww_init(handle_of_libwasmtime_or_NULL);        // once
 *   ww_linker_define(linker);                       // once per linker
 *   ww_config_t *config = ww_config_new();          // per guest: what it is granted
 *   ww_config_arg(config, "app.wasm", 8); ...
 *   ww_ctx_t *ctx; ww_ctx_new(config, &ctx);        // consumes config
 *   ww_ctx_attach(ctx, wasmtime_store_context(store));
 *   ... instantiate through the linker, call _start ...
 *   ww_ctx_stop(ctx, &exit_code, NULL);             // why the guest stopped
 *   ww_ctx_output(ctx, WW_STDOUT, &bytes);          // what it wrote
 *   ww_ctx_delete(ctx);                             // detaches too
 *
 * Conventions:
 * - Functions that can fail return `ww_error_t *`: NULL on success, otherwise an error the
 *   caller owns and frees with `ww_error_delete`. A NULL pointer where an object is needed is
 *   an error, never a crash.
 * - Strings are UTF-8 given as (pointer, length) and need no terminating NUL; strings the
 *   library hands out are (pointer, length) too, not NUL-terminated, unless said otherwise.
 * - Every object the library returns is owned by the caller and freed with its `*_delete`
 *   function; `ww_bytes_t` contents with `ww_bytes_delete`.
 * - No Rust panic crosses into the caller: one inside the library becomes an error (or, inside
 *   an import, a trap).
 * - Callbacks run on the thread that runs the guest, while the import waits. They must not
 *   call back into the `ww_ctx_t` they serve, except the functions marked "re-entrant"
 *   (`ww_ctx_output`, `ww_ctx_output_written`, `ww_ctx_save_tar`, `ww_pipe_*`), nor call the
 *   guest again. A callback's `env` is freed by its `finalizer` (may be NULL) when the last
 *   object holding it is deleted.
 * - Thread safety: a `ww_ctx_t` is used by one store at a time (as the store itself);
 *   different contexts may run on different threads at once through one linker.
 *
 * Tested with the libwasmtime of wasmtime 38 and 50 (the C API functions it needs are listed
 * at `ww_init`).
 */
#ifndef WASI_WARDEN_H
#define WASI_WARDEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define WW_VERSION_MAJOR 0
#define WW_VERSION_MINOR 1
#define WW_VERSION_PATCH 0
#define WW_VERSION "0.1.0"

/* wasmtime's types, as its own headers declare them (include either header first). */
struct wasmtime_linker;
struct wasmtime_context;
struct wasmtime_memory;

/** The library's version, "MAJOR.MINOR.PATCH", NUL-terminated, static. */
const char *ww_version(void);

/* ---- Errors and byte buffers --------------------------------------------------------------- */

/** An error: a one-line message. Owned by the caller. */
typedef struct ww_error ww_error_t;

/** The error's message, NUL-terminated; valid until `ww_error_delete`. */
const char *ww_error_message(const ww_error_t *error);

/** Frees an error. NULL is allowed. */
void ww_error_delete(ww_error_t *error);

/** Bytes the library hands out: free them with `ww_bytes_delete`. */
typedef struct ww_bytes {
  uint8_t *data;
  size_t size;
} ww_bytes_t;

/** Frees the contents of `bytes` and zeroes it. NULL and empty buffers are allowed. */
void ww_bytes_delete(ww_bytes_t *bytes);

/* ---- Binding to the host's libwasmtime ----------------------------------------------------- */

/**
 * Finds the wasmtime C API functions the library calls, once per process:
 * `wasm_valtype_new`, `wasm_valtype_vec_new`, `wasm_functype_new`, `wasm_functype_delete`,
 * `wasm_byte_vec_delete`, `wasmtime_linker_define_func_unchecked`, `wasmtime_caller_context`,
 * `wasmtime_caller_export_get`, `wasmtime_extern_delete`, `wasmtime_memory_data`,
 * `wasmtime_memory_data_size`, `wasmtime_trap_new`, `wasmtime_error_message`,
 * `wasmtime_error_delete`.
 *
 * `library` is the handle the host loaded libwasmtime with (`dlopen`'s result; `HMODULE` on
 * Windows; Python's `ctypes.CDLL(...)._handle`; .NET's `NativeLibrary.Load`), or NULL to search
 * the process (libwasmtime linked into the program, or loaded with RTLD_GLOBAL; on Windows a
 * loaded `wasmtime.dll`). Calling it again with the same library is allowed; with another one
 * it is an error. Every other function but `ww_version`, the error and bytes functions and
 * the config functions needs a successful `ww_init` first.
 */
ww_error_t *ww_init(void *library);

/** `ww_init` with the library at `path` (loaded, or found if already loaded). */
ww_error_t *ww_init_path(const char *path, size_t path_len);

/**
 * Defines the 46 `wasi_snapshot_preview1` imports in `linker`. Each import finds the guest's
 * `ww_ctx_t` through the store it runs in (see `ww_ctx_attach`); a store with none attached
 * traps at its first WASI call. One linker serves any number of stores.
 */
ww_error_t *ww_linker_define(struct wasmtime_linker *linker);

/* ---- Configuration: what a guest is granted ------------------------------------------------ */

/** A guest's grants, built up by the `ww_config_*` calls. Nothing is granted by default. */
typedef struct ww_config ww_config_t;

/** A config that grants nothing: empty stdin, stdout and stderr discarded, no mounts. */
ww_config_t *ww_config_new(void);

/** Frees a config that was not given to `ww_ctx_new`. NULL is allowed. */
void ww_config_delete(ww_config_t *config);

/** Appends an argument (the first is the program's name, `argv[0]`). */
ww_error_t *ww_config_arg(ww_config_t *config, const char *arg, size_t arg_len);

/** Sets an environment variable (`key` must not be empty or hold `=` or NUL). */
ww_error_t *ww_config_env(ww_config_t *config, const char *key, size_t key_len, const char *value,
                          size_t value_len);

/** stdin reads these bytes (copied), then end of file. */
ww_error_t *ww_config_stdin_bytes(ww_config_t *config, const uint8_t *data, size_t len);

/** stdin reads the process's own stdin. */
ww_error_t *ww_config_stdin_inherit(ww_config_t *config);

/**
 * A pipe the host feeds the guest's stdin through: bytes written with `ww_pipe_write` (from
 * any thread), end of file after `ww_pipe_close`. A read waits for bytes, up to the context's
 * deadline (`ww_ctx_set_timeout`).
 */
typedef struct ww_pipe ww_pipe_t;

/** stdin reads from a new pipe; `*writer` receives its writing end (owned by the caller). */
ww_error_t *ww_config_stdin_pipe(ww_config_t *config, ww_pipe_t **writer);

/** Writes to the pipe; false once the guest's side is gone. Re-entrant, thread-safe. */
bool ww_pipe_write(ww_pipe_t *pipe, const uint8_t *data, size_t len);

/** The guest reads end of file once what was written is read. Re-entrant, thread-safe. */
void ww_pipe_close(ww_pipe_t *pipe);

/** Closes (as `ww_pipe_close`) and frees the writing end. NULL is allowed. */
void ww_pipe_delete(ww_pipe_t *pipe);

/** Output streams, for the `stream` arguments below. */
#define WW_STDOUT 1
#define WW_STDERR 2

/** Receives each write of the guest to a stream (the bytes are valid during the call only). */
typedef void (*ww_output_callback_t)(void *env, const uint8_t *data, size_t len);
/** Frees a callback's `env`. */
typedef void (*ww_finalizer_t)(void *env);

/** The stream discards what the guest writes (the default). */
ww_error_t *ww_config_output_null(ww_config_t *config, int32_t stream);
/** The stream goes to the process's own stdout or stderr (control characters as written). */
ww_error_t *ww_config_output_inherit(ww_config_t *config, int32_t stream);
/** The stream is kept in memory; read it with `ww_ctx_output`. */
ww_error_t *ww_config_output_capture(ww_config_t *config, int32_t stream);
/** Each write goes to `callback`. */
ww_error_t *ww_config_output_callback(ww_config_t *config, int32_t stream,
                                      ww_output_callback_t callback, void *env,
                                      ww_finalizer_t finalizer);

/** What happens past a stream's byte limit. */
#define WW_LIMIT_TRAP 0     /* the guest stops (ww_ctx_stop: WW_STOP_LIMIT) */
#define WW_LIMIT_TRUNCATE 1 /* what fits is written, later writes fail with EFBIG */

/**
 * Limits the stream to `bytes` over the guest's whole run, whatever it is sent to; `action`
 * is WW_LIMIT_TRAP or WW_LIMIT_TRUNCATE. Applies to the stream as configured when
 * `ww_ctx_new` runs (set it before or after choosing the stream).
 */
ww_error_t *ww_config_output_limit(ww_config_t *config, int32_t stream, uint64_t bytes,
                                   int32_t action);

/** Mount flags. */
#define WW_MOUNT_READ_ONLY 1u /* every change is refused (EPERM, as wasmtime) before acting */

/**
 * Mounts an empty in-memory filesystem at `guest_path` (such as "/" or "/tmp"). `quota` bounds
 * the bytes it may hold (its host memory stays within 1.25 x quota + 64 KiB); 0 means no quota.
 * Mounts become the guest's preopens from fd 3, in the order given.
 */
ww_error_t *ww_config_mount_memory(ww_config_t *config, const char *guest_path,
                                   size_t guest_path_len, uint64_t quota, uint32_t flags);

/** `ww_config_mount_memory` filled with a copy of the host directory `host_path`. */
ww_error_t *ww_config_mount_memory_from_dir(ww_config_t *config, const char *guest_path,
                                            size_t guest_path_len, const char *host_path,
                                            size_t host_path_len, uint64_t quota, uint32_t flags);

/**
 * `ww_config_mount_memory` filled from a tar image (ustar/pax/GNU, as `ww_ctx_save_tar`
 * writes); the image counts against the quota, and a bad image is an error.
 */
ww_error_t *ww_config_mount_memory_from_tar(ww_config_t *config, const char *guest_path,
                                            size_t guest_path_len, const uint8_t *tar,
                                            size_t tar_len, uint64_t quota, uint32_t flags);

/**
 * Mounts the host directory `host_path`, confined: every access is a single-name operation
 * relative to a directory handle, `..` and symlinks never leave it. With WW_MOUNT_READ_ONLY
 * the guest may read only.
 */
ww_error_t *ww_config_mount_host_dir(ww_config_t *config, const char *guest_path,
                                     size_t guest_path_len, const char *host_path,
                                     size_t host_path_len, uint32_t flags);

/**
 * Mounts the host directory `host_path` read-only under an in-memory upper layer: the guest
 * may change anything, the host directory never changes (copy-on-write, `quota` bounds the
 * upper layer; 0: none).
 */
ww_error_t *ww_config_mount_overlay(ww_config_t *config, const char *guest_path,
                                    size_t guest_path_len, const char *host_path,
                                    size_t host_path_len, uint64_t quota);

/** Clocks, for `ww_config_clocks`. */
#define WW_CLOCK_REALTIME 1u
#define WW_CLOCK_MONOTONIC 2u
#define WW_CLOCK_CPUTIME 4u

/** Grants the clocks in `clocks` (an OR of WW_CLOCK_*); reading any other answers ENOTCAPABLE. */
ww_error_t *ww_config_clocks(ww_config_t *config, uint32_t clocks);
/** `random_get` reads the OS's random source. */
ww_error_t *ww_config_random_os(ww_config_t *config);
/** `random_get` reads a stream seeded by `seed` (reproducible). */
ww_error_t *ww_config_random_seeded(ww_config_t *config, uint64_t seed);
/**
 * Deterministic mode: every clock granted but virtual (starts at 2000-01-01, never sleeps),
 * randomness seeded by `seed`, in-memory mounts stamped by the same clock: the same guest with
 * the same inputs gives the same output and tree.
 */
ww_error_t *ww_config_deterministic(ww_config_t *config, uint64_t seed);
/** At most `max` open descriptors (stdio and mounts count; EMFILE past it). */
ww_error_t *ww_config_max_fds(ww_config_t *config, uint32_t max);

/* ---- Policy, prompts and audit ------------------------------------------------------------- */

/**
 * The policy: rules from TOML text, in the format of `wasi-warden run --policy` (README,
 * "Policies"). A bad file is an error naming its line. A config has one policy: this replaces
 * a decision callback set before, and the reverse.
 */
ww_error_t *ww_config_policy_toml(ww_config_t *config, const char *toml, size_t toml_len);

/** What a call wants to do (bits of `ww_request_t.access`). */
#define WW_ACCESS_READ (1u << 0)
#define WW_ACCESS_WRITE (1u << 1)
#define WW_ACCESS_CREATE (1u << 2)
#define WW_ACCESS_TRUNCATE (1u << 3)
#define WW_ACCESS_REMOVE (1u << 4)
#define WW_ACCESS_RENAME (1u << 5)
#define WW_ACCESS_LINK (1u << 6)
#define WW_ACCESS_SYMLINK (1u << 7)
#define WW_ACCESS_SET_TIMES (1u << 8)
#define WW_ACCESS_READDIR (1u << 9)
#define WW_ACCESS_STAT (1u << 10)

/**
 * A call waiting for a decision. Paths are normalised guest paths ("/data/out.txt"),
 * unescaped; NULL (length 0) when the call has none. Valid during the callback only.
 */
typedef struct ww_request {
  const char *syscall; /* "path_open", "fd_write", ... */
  size_t syscall_len;
  uint32_t access;    /* WW_ACCESS_* bits */
  int64_t fd;         /* the descriptor acted on, or -1 */
  int64_t fd2;        /* a second descriptor (rename/link destination directory), or -1 */
  const char *path;   /* the (first) path */
  size_t path_len;
  const char *path2;  /* the second path (rename/link destination) */
  size_t path2_len;
  bool subtree;       /* a directory rename or link: the paths stand for whole subtrees */
} ww_request_t;

/** Answers of a decision callback. A negative value -E denies with the WASI errno E. */
#define WW_DECIDE_DENY 0  /* deny with EACCES; also any unknown value */
#define WW_DECIDE_ALLOW 1
#define WW_DECIDE_ASK 2   /* ask the prompter (none set: deny) */
#define WW_DECIDE_TRAP 3  /* stop the guest (ww_ctx_stop: WW_STOP_POLICY) */

/** Decides one call; runs on the guest's thread, keep it quick (to wait, answer ASK). */
typedef int32_t (*ww_decide_callback_t)(void *env, const ww_request_t *request);

/**
 * The policy: `callback` decides every call that has a policy-visible effect (every syscall is
 * offered). Replaces a TOML policy set before, and the reverse.
 */
ww_error_t *ww_config_policy_callback(ww_config_t *config, ww_decide_callback_t callback,
                                      void *env, ww_finalizer_t finalizer);

/** What a person is asked about: the request and a one-line message, escaped for display. */
typedef struct ww_prompt {
  const char *message; /* "module wants to write /data/out.txt" */
  size_t message_len;
  const ww_request_t *request;
} ww_prompt_t;

/** Answers of a prompter. "ALWAYS" answers are remembered for the path (or every path). */
#define WW_ANSWER_DENY_ONCE 0 /* also any unknown value */
#define WW_ANSWER_ALLOW_ONCE 1
#define WW_ANSWER_ALLOW_ALWAYS 2
#define WW_ANSWER_DENY_ALWAYS 3
#define WW_ANSWER_ALLOW_ALWAYS_ANY_PATH 4
#define WW_ANSWER_DENY_ALWAYS_ANY_PATH 5

/**
 * Asks a person. May block as long as it needs (waiting on another thread, a UI): the time
 * spent postpones the context's deadline. Answers are remembered (at most 4,096 per context).
 */
typedef int32_t (*ww_prompt_callback_t)(void *env, const ww_prompt_t *prompt);

/** The prompter that answers the policy's ASK decisions. Without one, ASK denies. */
ww_error_t *ww_config_prompter(ww_config_t *config, ww_prompt_callback_t callback, void *env,
                               ww_finalizer_t finalizer);

/** Receives one audit record: a JSON object on one line (no newline), valid during the call. */
typedef void (*ww_audit_callback_t)(void *env, const char *line, size_t len);

/** Appends one JSON line per decided call to the file at `path` (created or appended to). */
ww_error_t *ww_config_audit_file(ww_config_t *config, const char *path, size_t path_len);
/** Sends one JSON line per decided call to `callback`. Replaces an audit file set before. */
ww_error_t *ww_config_audit_callback(ww_config_t *config, ww_audit_callback_t callback, void *env,
                                     ww_finalizer_t finalizer);

/* ---- A guest's context ---------------------------------------------------------------------- */

/** One guest's state: its descriptor table, streams and mounts. */
typedef struct ww_ctx ww_ctx_t;

/**
 * Builds a context from `config`, which is consumed (freed) whether or not this succeeds.
 * `*ctx` receives the context, owned by the caller.
 */
ww_error_t *ww_ctx_new(ww_config_t *config, ww_ctx_t **ctx);

/**
 * Serves the store whose context is `store` (`wasmtime_store_context(store)`): WASI calls made
 * in it use `ctx`. A store has at most one context and a context at most one store (an error
 * otherwise). Detach (or delete the ctx) before deleting the store.
 */
ww_error_t *ww_ctx_attach(ww_ctx_t *ctx, struct wasmtime_context *store);

/** Stops serving the store; its later WASI calls trap. No-op when not attached. */
void ww_ctx_detach(ww_ctx_t *ctx);

/**
 * The host's promise that the store holds one instance importing WASI, whose memory is
 * `memory`: calls then skip looking the memory up by name (the largest cost of a small call).
 * Another instance in the store would read and write this memory instead of its own.
 */
ww_error_t *ww_ctx_bind_memory(ww_ctx_t *ctx, const struct wasmtime_memory *memory);

/**
 * Every wait of the guest (sleeps in `poll_oneoff`, reads of a pipe, a socket) ends `nanos`
 * from now with a time-limit stop; 0 clears it. Code that computes without waiting is the
 * host's to interrupt (wasmtime's epochs or fuel).
 */
ww_error_t *ww_ctx_set_timeout(ww_ctx_t *ctx, uint64_t nanos);

/** Detaches and frees the context. NULL is allowed. */
void ww_ctx_delete(ww_ctx_t *ctx);

/** Why the guest stopped, as far as its WASI calls know (`ww_ctx_stop`). */
#define WW_STOP_NONE 0   /* no WASI call stopped it: it returned, or trapped on its own */
#define WW_STOP_EXIT 1   /* it called proc_exit: *exit_code is the status */
#define WW_STOP_LIMIT 2  /* an output byte limit or the timeout */
#define WW_STOP_POLICY 3 /* a policy's TRAP decision */
#define WW_STOP_TRAP 4   /* a fault in a WASI call (a pointer out of bounds, ...) */
#define WW_STOP_ERROR 5  /* a host-side error (no exported memory, no context, ...) */

/**
 * How the last stop happened (WW_STOP_*); `exit_code` (may be NULL) receives the status for
 * WW_STOP_EXIT, 0 for NONE, 1 otherwise; `message` (may be NULL) the stop's one-line
 * description, to free with `ww_bytes_delete`. The host's call of the guest returns a trap
 * whenever this is not NONE.
 */
int32_t ww_ctx_stop(const ww_ctx_t *ctx, int32_t *exit_code, ww_bytes_t *message);

/** A copy of what the guest wrote to a capturing stream (empty otherwise). Re-entrant. */
ww_error_t *ww_ctx_output(const ww_ctx_t *ctx, int32_t stream, ww_bytes_t *out);

/** How many bytes the guest wrote to the stream, whatever it is sent to. Re-entrant. */
uint64_t ww_ctx_output_written(const ww_ctx_t *ctx, int32_t stream);

/**
 * Saves the in-memory tree mounted at `guest_path` (a memory mount, or an overlay's upper
 * layer) as a tar image, consistent even after a stop mid-call. Re-entrant.
 */
ww_error_t *ww_ctx_save_tar(const ww_ctx_t *ctx, const char *guest_path, size_t guest_path_len,
                            ww_bytes_t *out);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* WASI_WARDEN_H */
