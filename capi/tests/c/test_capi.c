/*
 * The C API from a C host: wasmtime's own C API (the libwasmtime of the `wasmtime` wheel from
 * PyPI) with wasi-warden attached to its linker. Usage: test_capi GUESTS_DIR
 * (GUESTS_DIR holds the tests/guests programs built for wasm32-wasip1). Prints one line per
 * scenario; exits non-zero at the first failure.
 */
#include <wasmtime.h>
#include <wasi_warden.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifdef _WIN32
/* mingw-w64 (the Windows build, run under Wine in CI) has no mkdtemp: the template made
 * unique, then the directory made. "/tmp/..." names the \tmp of the current drive there. */
#include <direct.h>
#include <io.h>
static char *mkdtemp(char *template) {
  if (_mktemp(template) == NULL) return NULL;
  return _mkdir(template) == 0 ? template : NULL;
}
#endif

#define CHECK(cond)                                                                    \
  do {                                                                                 \
    if (!(cond)) {                                                                     \
      fprintf(stderr, "%s:%d: %s: check failed: %s\n", __FILE__, __LINE__, __func__, \
              #cond);                                                                  \
      exit(1);                                                                         \
    }                                                                                  \
  } while (0)

static void ok(ww_error_t *error) {
  if (error) {
    fprintf(stderr, "unexpected ww error: %s\n", ww_error_message(error));
    exit(1);
  }
}

/* The error's message contains `part`; frees it. */
static void fails_with(ww_error_t *error, const char *part) {
  CHECK(error != NULL);
  if (!strstr(ww_error_message(error), part)) {
    fprintf(stderr, "error \"%s\" does not say \"%s\"\n", ww_error_message(error), part);
    exit(1);
  }
  ww_error_delete(error);
}

static void wok(wasmtime_error_t *error) {
  if (error) {
    wasm_name_t message;
    wasmtime_error_message(error, &message);
    fprintf(stderr, "wasmtime error: %.*s\n", (int)message.size, message.data);
    exit(1);
  }
}

#define S(text) text, strlen(text)

static wasm_engine_t *engine;
static wasmtime_linker_t *linker;
static const char *guests;

static wasmtime_module_t *from_wat(const char *wat) {
  wasm_byte_vec_t wasm;
  wok(wasmtime_wat2wasm(wat, strlen(wat), &wasm));
  wasmtime_module_t *module = NULL;
  wok(wasmtime_module_new(engine, (const uint8_t *)wasm.data, wasm.size, &module));
  wasm_byte_vec_delete(&wasm);
  return module;
}

static wasmtime_module_t *guest(const char *name) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s.wasm", guests, name);
  FILE *file = fopen(path, "rb");
  CHECK(file != NULL);
  fseek(file, 0, SEEK_END);
  long size = ftell(file);
  fseek(file, 0, SEEK_SET);
  uint8_t *bytes = malloc((size_t)size);
  CHECK(fread(bytes, 1, (size_t)size, file) == (size_t)size);
  fclose(file);
  wasmtime_module_t *module = NULL;
  wok(wasmtime_module_new(engine, bytes, (size_t)size, &module));
  free(bytes);
  return module;
}

typedef struct {
  bool trapped;   /* the host's call of _start answered a trap or an error */
  int32_t stop;   /* ww_ctx_stop */
  int32_t exit_code;
  char message[1024];
} outcome_t;

/* Runs `module`'s _start in a new store served by `ctx`, then detaches. */
static outcome_t run_in_store(wasmtime_module_t *module, ww_ctx_t *ctx, bool bind) {
  outcome_t outcome = {0};
  wasmtime_store_t *store = wasmtime_store_new(engine, NULL, NULL);
  wasmtime_context_t *context = wasmtime_store_context(store);
  ok(ww_ctx_attach(ctx, context));
  wasmtime_instance_t instance;
  wasm_trap_t *trap = NULL;
  wok(wasmtime_linker_instantiate(linker, context, module, &instance, &trap));
  CHECK(trap == NULL);
  if (bind) {
    wasmtime_extern_t memory;
    CHECK(wasmtime_instance_export_get(context, &instance, S("memory"), &memory));
    CHECK(memory.kind == WASMTIME_EXTERN_MEMORY);
    ok(ww_ctx_bind_memory(ctx, &memory.of.memory));
  }
  wasmtime_extern_t start;
  CHECK(wasmtime_instance_export_get(context, &instance, S("_start"), &start));
  wasmtime_error_t *error = wasmtime_func_call(context, &start.of.func, NULL, 0, NULL, 0, &trap);
  outcome.trapped = error != NULL || trap != NULL;
  if (error) wasmtime_error_delete(error);
  if (trap) wasm_trap_delete(trap);
  ww_bytes_t message = {0};
  outcome.stop = ww_ctx_stop(ctx, &outcome.exit_code, &message);
  snprintf(outcome.message, sizeof outcome.message, "%.*s", (int)message.size,
           (const char *)message.data);
  ww_bytes_delete(&message);
  if (getenv("WW_VERBOSE"))
    fprintf(stderr, "  (trapped %d, stop %d, exit code %d: %s)\n", outcome.trapped, outcome.stop,
            outcome.exit_code, outcome.message);
  ww_ctx_detach(ctx);
  wasmtime_store_delete(store);
  return outcome;
}

static outcome_t run(wasmtime_module_t *module, ww_ctx_t *ctx) {
  return run_in_store(module, ctx, false);
}

static ww_ctx_t *make(ww_config_t *config) {
  ww_ctx_t *ctx = NULL;
  ok(ww_ctx_new(config, &ctx));
  return ctx;
}

static bool contains(const ww_bytes_t *bytes, const char *part) {
  size_t n = strlen(part);
  if (n > bytes->size) return false;
  for (size_t i = 0; i + n <= bytes->size; i++)
    if (memcmp(bytes->data + i, part, n) == 0) return true;
  return false;
}

/* ---- Guests written for these scenarios ---------------------------------------------------- */

/* Writes "flood!\n" to stdout forever. */
static const char *FLOOD =
    "(module"
    "  (import \"wasi_snapshot_preview1\" \"fd_write\" (func $w (param i32 i32 i32 i32) (result i32)))"
    "  (memory (export \"memory\") 1)"
    "  (data (i32.const 16) \"flood!\\n\")"
    "  (func (export \"_start\")"
    "    (i32.store (i32.const 0) (i32.const 16)) (i32.store (i32.const 4) (i32.const 7))"
    "    (loop $again (drop (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))"
    "      (br $again))))";

/* Opens (creating) "big.bin" under fd 3 and writes 64 KiB chunks until a write fails, then
   exits with that write's errno (or 0 if path_open failed with... its errno). */
static const char *FILL =
    "(module"
    "  (import \"wasi_snapshot_preview1\" \"path_open\" (func $open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))"
    "  (import \"wasi_snapshot_preview1\" \"fd_write\" (func $w (param i32 i32 i32 i32) (result i32)))"
    "  (import \"wasi_snapshot_preview1\" \"proc_exit\" (func $exit (param i32)))"
    "  (memory (export \"memory\") 4)"
    "  (data (i32.const 64) \"big.bin\")"
    "  (func (export \"_start\") (local $e i32)"
    "    (local.set $e (call $open (i32.const 3) (i32.const 0) (i32.const 64) (i32.const 7)"
    "       (i32.const 1) (i64.const 0x7e) (i64.const 0) (i32.const 0) (i32.const 8)))"
    "    (if (local.get $e) (then (call $exit (i32.add (i32.const 1000) (local.get $e)))))"
    "    (i32.store (i32.const 0) (i32.const 65536)) (i32.store (i32.const 4) (i32.const 65536))"
    "    (loop $again"
    "      (local.set $e (call $w (i32.load (i32.const 8)) (i32.const 0) (i32.const 1) (i32.const 12)))"
    "      (br_if $again (i32.eqz (local.get $e))))"
    "    (call $exit (local.get $e))))";

/* path_open of "note.txt" under fd 3 with the oflags and rights in argv-less constants:
   CREAT for writing; exits with the errno (0 on success, after writing "hi"). */
static const char *CREATE_NOTE =
    "(module"
    "  (import \"wasi_snapshot_preview1\" \"path_open\" (func $open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))"
    "  (import \"wasi_snapshot_preview1\" \"fd_write\" (func $w (param i32 i32 i32 i32) (result i32)))"
    "  (import \"wasi_snapshot_preview1\" \"proc_exit\" (func $exit (param i32)))"
    "  (memory (export \"memory\") 1)"
    "  (data (i32.const 64) \"note.txt\")"
    "  (data (i32.const 96) \"hi\")"
    "  (func (export \"_start\") (local $e i32)"
    "    (local.set $e (call $open (i32.const 3) (i32.const 0) (i32.const 64) (i32.const 8)"
    "       (i32.const 1) (i64.const 0x7e) (i64.const 0) (i32.const 0) (i32.const 8)))"
    "    (if (local.get $e) (then (call $exit (local.get $e))))"
    "    (i32.store (i32.const 0) (i32.const 96)) (i32.store (i32.const 4) (i32.const 2))"
    "    (call $exit (call $w (i32.load (i32.const 8)) (i32.const 0) (i32.const 1) (i32.const 12)))))";

/* path_open of "secret.txt" under fd 3 for reading; exits with the errno. */
static const char *READ_SECRET =
    "(module"
    "  (import \"wasi_snapshot_preview1\" \"path_open\" (func $open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))"
    "  (import \"wasi_snapshot_preview1\" \"proc_exit\" (func $exit (param i32)))"
    "  (memory (export \"memory\") 1)"
    "  (data (i32.const 64) \"secret.txt\")"
    "  (func (export \"_start\")"
    "    (call $exit (call $open (i32.const 3) (i32.const 0) (i32.const 64) (i32.const 10)"
    "       (i32.const 0) (i64.const 2) (i64.const 0) (i32.const 0) (i32.const 8)))))";

/* fd_write with an iovec array far out of bounds: the call faults (a trap). */
static const char *BAD_POINTER =
    "(module"
    "  (import \"wasi_snapshot_preview1\" \"fd_write\" (func $w (param i32 i32 i32 i32) (result i32)))"
    "  (memory (export \"memory\") 1)"
    "  (func (export \"_start\")"
    "    (drop (call $w (i32.const 1) (i32.const 0x7ffffff0) (i32.const 4) (i32.const 8)))))";

/* ---- Scenarios ----------------------------------------------------------------------------- */

static void version_and_null_arguments(void) {
  CHECK(strcmp(ww_version(), WW_VERSION) == 0);
  fails_with(ww_config_arg(NULL, S("x")), "config is NULL");
  ww_config_t *config = ww_config_new();
  fails_with(ww_config_arg(config, NULL, 3), "NULL");
  fails_with(ww_config_arg(config, "\xff", 1), "not UTF-8");
  fails_with(ww_config_env(config, S("A=B"), S("c")), "not a variable name");
  fails_with(ww_config_output_capture(config, 3), "neither WW_STDOUT");
  fails_with(ww_config_mount_host_dir(config, S("/x"), S("/no/such/dir/anywhere"), 0),
             "cannot open");
  fails_with(ww_config_mount_memory_from_tar(config, S("/"), (const uint8_t *)"junk", 4, 0, 0),
             "cannot load the image");
  fails_with(ww_config_policy_toml(config, S("default = \"sometimes\"")), "policy");
  fails_with(ww_config_prompter(config, NULL, NULL, NULL), "prompt callback is NULL");
  fails_with(ww_config_output_callback(config, WW_STDOUT, NULL, NULL, NULL), "output callback");
  fails_with(ww_config_output_limit(config, WW_STDOUT, 10, 7), "unknown limit action");
  fails_with(ww_config_clocks(config, 8), "unknown clock bits");
  ok(ww_config_mount_memory(config, S("/"), 0, 0));
  fails_with(ww_config_mount_memory(config, S("/"), 0, 0), "mounted twice");
  ww_ctx_t *ctx = NULL;
  fails_with(ww_ctx_new(config, NULL), "NULL"); /* consumed all the same */
  fails_with(ww_ctx_new(NULL, &ctx), "config is NULL");
  fails_with(ww_linker_define(NULL), "linker is NULL");
  ctx = make(ww_config_new());
  fails_with(ww_ctx_attach(ctx, NULL), "NULL");
  fails_with(ww_ctx_bind_memory(ctx, NULL), "NULL");
  CHECK(ww_ctx_stop(NULL, NULL, NULL) == WW_STOP_NONE);
  CHECK(ww_ctx_output_written(NULL, WW_STDOUT) == 0);
  ww_ctx_delete(ctx);
  ww_ctx_delete(NULL);
  ww_config_delete(NULL);
  ww_error_delete(NULL);
  ww_bytes_delete(NULL);
  puts("ok: version and NULL arguments");
}

static void a_flood_stops_at_the_byte_limit(void) {
  ww_config_t *config = ww_config_new();
  ok(ww_config_output_capture(config, WW_STDOUT));
  ok(ww_config_output_limit(config, WW_STDOUT, 1000, WW_LIMIT_TRAP));
  ww_ctx_t *ctx = make(config);
  wasmtime_module_t *module = from_wat(FLOOD);
  outcome_t outcome = run(module, ctx);
  CHECK(outcome.trapped);
  CHECK(outcome.stop == WW_STOP_LIMIT);
  CHECK(strstr(outcome.message, "stdout") != NULL);
  ww_bytes_t out = {0};
  ok(ww_ctx_output(ctx, WW_STDOUT, &out));
  CHECK(out.size <= 1000 && out.size > 990);
  CHECK(memcmp(out.data, "flood!\n", 7) == 0);
  CHECK(ww_ctx_output_written(ctx, WW_STDOUT) == out.size);
  ww_bytes_delete(&out);
  ww_ctx_delete(ctx);
  wasmtime_module_delete(module);
  puts("ok: a flood stops at the byte limit");
}

static size_t callback_bytes;
static void count_bytes(void *env, const uint8_t *data, size_t len) {
  (void)data;
  *(size_t *)env += len;
}

static void a_callback_stream_with_truncation(void) {
  ww_config_t *config = ww_config_new();
  ok(ww_config_output_callback(config, WW_STDOUT, count_bytes, &callback_bytes, NULL));
  ok(ww_config_output_limit(config, WW_STDOUT, 700, WW_LIMIT_TRUNCATE));
  ww_ctx_t *ctx = make(config);
  wasmtime_module_t *module = from_wat(
      "(module"
      "  (import \"wasi_snapshot_preview1\" \"fd_write\" (func $w (param i32 i32 i32 i32) (result i32)))"
      "  (import \"wasi_snapshot_preview1\" \"proc_exit\" (func $exit (param i32)))"
      "  (memory (export \"memory\") 1)"
      "  (func (export \"_start\") (local $e i32)"
      "    (i32.store (i32.const 0) (i32.const 100)) (i32.store (i32.const 4) (i32.const 100))"
      "    (loop $again (local.set $e (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))"
      "      (br_if $again (i32.eqz (local.get $e))))"
      "    (call $exit (local.get $e))))");
  outcome_t outcome = run(module, ctx);
  CHECK(outcome.stop == WW_STOP_EXIT);
  CHECK(outcome.exit_code == 22); /* EFBIG */
  CHECK(callback_bytes == 700);
  ww_ctx_delete(ctx);
  wasmtime_module_delete(module);
  puts("ok: a callback stream truncates at its limit (EFBIG after)");
}

static void a_memory_mount_with_a_quota(void) {
  ww_config_t *config = ww_config_new();
  ok(ww_config_mount_memory(config, S("/"), 1 << 20, 0));
  ww_ctx_t *ctx = make(config);
  wasmtime_module_t *module = from_wat(FILL);
  outcome_t outcome = run(module, ctx);
  CHECK(outcome.stop == WW_STOP_EXIT);
  CHECK(outcome.exit_code == 51); /* ENOSPC */
  ww_bytes_t tar = {0};
  ok(ww_ctx_save_tar(ctx, S("/"), &tar));
  CHECK(contains(&tar, "big.bin"));
  CHECK(tar.size < (1 << 20) + 64 * 1024);
  ww_bytes_delete(&tar);
  fails_with(ww_ctx_save_tar(ctx, S("/elsewhere"), &tar), "no in-memory mount");
  ww_ctx_delete(ctx);
  wasmtime_module_delete(module);
  puts("ok: a memory mount's quota answers ENOSPC; the tree is saved");
}

static void read_only_host_mounts_refuse_changes(void) {
  char dir[] = "/tmp/ww-capi-XXXXXX";
  CHECK(mkdtemp(dir) != NULL);
  ww_config_t *config = ww_config_new();
  ok(ww_config_mount_host_dir(config, S("/data"), S(dir), WW_MOUNT_READ_ONLY));
  ww_ctx_t *ctx = make(config);
  wasmtime_module_t *module = from_wat(CREATE_NOTE);
  outcome_t outcome = run(module, ctx);
  CHECK(outcome.stop == WW_STOP_EXIT);
  CHECK(outcome.exit_code == 63); /* EPERM, as wasmtime answers on a read-only preopen */
  char note[4200];
  snprintf(note, sizeof note, "%s/note.txt", dir);
  struct stat st;
  CHECK(stat(note, &st) != 0); /* the host was not touched */
  ww_ctx_delete(ctx);

  /* The same guest on a writable mount creates the file on the host. */
  config = ww_config_new();
  ok(ww_config_mount_host_dir(config, S("/data"), S(dir), 0));
  ctx = make(config);
  outcome = run(module, ctx);
  CHECK(outcome.stop == WW_STOP_EXIT && outcome.exit_code == 0);
  CHECK(stat(note, &st) == 0 && st.st_size == 2);
  unlink(note);
  rmdir(dir);
  ww_ctx_delete(ctx);
  wasmtime_module_delete(module);
  puts("ok: a read-only host mount refuses changes (EPERM), a writable one writes");
}

/* A temporary host directory holding secret.txt. */
static void make_secret_dir(char *dir) {
  CHECK(mkdtemp(dir) != NULL);
  char path[4200];
  snprintf(path, sizeof path, "%s/secret.txt", dir);
  FILE *file = fopen(path, "w");
  CHECK(file != NULL);
  fputs("the secret\n", file);
  fclose(file);
}

static void a_deny_policy(void) {
  char seed[] = "/tmp/ww-seed-XXXXXX";
  make_secret_dir(seed);
  ww_config_t *config = ww_config_new();
  ok(ww_config_mount_memory_from_dir(config, S("/"), S(seed), 0, 0));
  ok(ww_config_policy_toml(config, S("default = \"allow\"\n"
                                     "[[rule]]\n"
                                     "path = \"/secret.txt\"\n"
                                     "decision = \"deny\"\n")));
  char audit[] = "/tmp/ww-audit-XXXXXX";
  int fd = mkstemp(audit);
  CHECK(fd >= 0);
  close(fd);
  ok(ww_config_audit_file(config, S(audit)));
  ww_ctx_t *ctx = make(config);
  wasmtime_module_t *module = from_wat(READ_SECRET);
  outcome_t outcome = run(module, ctx);
  CHECK(outcome.stop == WW_STOP_EXIT);
  CHECK(outcome.exit_code == 2); /* EACCES: the rule, not the missing file (ENOENT) */
  FILE *file = fopen(audit, "r");
  char line[4096] = {0};
  CHECK(fgets(line, sizeof line, file) != NULL);
  fclose(file);
  unlink(audit);
  CHECK(strstr(line, "\"path_open\"") && strstr(line, "/secret.txt") &&
        strstr(line, "\"deny\""));
  ww_ctx_delete(ctx);

  /* A trap decision stops the guest. */
  config = ww_config_new();
  ok(ww_config_mount_memory_from_dir(config, S("/"), S(seed), 0, 0));
  ok(ww_config_policy_toml(config, S("default = \"allow\"\n[[rule]]\npath = \"/secret.txt\"\n"
                                     "decision = 'trap:\"no secrets\"'\n")));
  ctx = make(config);
  outcome = run(module, ctx);
  CHECK(outcome.trapped && outcome.stop == WW_STOP_POLICY);
  CHECK(strstr(outcome.message, "no secrets") != NULL);
  ww_ctx_delete(ctx);

  /* Without a policy the file opens: the denial above was the rule's. */
  config = ww_config_new();
  ok(ww_config_mount_memory_from_dir(config, S("/"), S(seed), 0, 0));
  ctx = make(config);
  outcome = run(module, ctx);
  CHECK(outcome.stop == WW_STOP_EXIT && outcome.exit_code == 0);
  ww_ctx_delete(ctx);
  char secret[4200];
  snprintf(secret, sizeof secret, "%s/secret.txt", seed);
  unlink(secret);
  rmdir(seed);
  wasmtime_module_delete(module);
  puts("ok: a deny policy answers its errno, a trap policy stops the guest, audit records it");
}

typedef struct {
  int decisions;
  int prompts;
  char last_message[512];
  char last_path[512];
} asked_t;

static int32_t ask_for_path_open(void *env, const ww_request_t *request) {
  asked_t *asked = env;
  asked->decisions++;
  if (request->syscall_len == 9 && memcmp(request->syscall, "path_open", 9) == 0)
    return WW_DECIDE_ASK;
  return WW_DECIDE_ALLOW;
}

static int32_t answer(void *env, const ww_prompt_t *prompt) {
  asked_t *asked = env;
  asked->prompts++;
  snprintf(asked->last_message, sizeof asked->last_message, "%.*s", (int)prompt->message_len,
           prompt->message);
  snprintf(asked->last_path, sizeof asked->last_path, "%.*s", (int)prompt->request->path_len,
           prompt->request->path);
  return asked->prompts == 1 ? WW_ANSWER_ALLOW_ONCE : WW_ANSWER_DENY_ONCE;
}

static void a_prompt_answered_by_the_callback(void) {
  asked_t asked = {0};
  wasmtime_module_t *module = from_wat(CREATE_NOTE);
  for (int round = 0; round < 2; round++) {
    ww_config_t *config = ww_config_new();
    ok(ww_config_mount_memory(config, S("/"), 0, 0));
    ok(ww_config_policy_callback(config, ask_for_path_open, &asked, NULL));
    ok(ww_config_prompter(config, answer, &asked, NULL));
    ww_ctx_t *ctx = make(config);
    outcome_t outcome = run(module, ctx);
    CHECK(outcome.stop == WW_STOP_EXIT);
    /* First prompt allowed: the note is written; the second denied: EACCES. */
    CHECK(outcome.exit_code == (round == 0 ? 0 : 2));
    ww_ctx_delete(ctx);
  }
  CHECK(asked.prompts == 2);
  CHECK(strcmp(asked.last_path, "/note.txt") == 0);
  CHECK(strstr(asked.last_message, "/note.txt") != NULL);
  wasmtime_module_delete(module);
  puts("ok: a prompt is answered by the callback (allow once, then deny)");
}

static void exit_codes_and_faults(void) {
  wasmtime_module_t *module = guest("proc_exit_code");
  const char *codes[] = {"0", "1", "42"};
  for (int i = 0; i < 3; i++) {
    ww_config_t *config = ww_config_new();
    ok(ww_config_arg(config, S("proc_exit_code.wasm")));
    ok(ww_config_arg(config, S(codes[i])));
    ok(ww_config_output_capture(config, WW_STDOUT));
    ww_ctx_t *ctx = make(config);
    outcome_t outcome = run(module, ctx);
    CHECK(outcome.trapped); /* proc_exit unwinds the guest */
    CHECK(outcome.stop == WW_STOP_EXIT);
    CHECK(outcome.exit_code == atoi(codes[i]));
    ww_bytes_t out = {0};
    ok(ww_ctx_output(ctx, WW_STDOUT, &out));
    char expected[64];
    snprintf(expected, sizeof expected, "exiting with %s\n", codes[i]);
    CHECK(out.size == strlen(expected) && memcmp(out.data, expected, out.size) == 0);
    ww_bytes_delete(&out);
    ww_ctx_delete(ctx);
  }
  wasmtime_module_delete(module);

  module = from_wat(BAD_POINTER);
  ww_ctx_t *ctx = make(ww_config_new());
  outcome_t outcome = run(module, ctx);
  CHECK(outcome.trapped && outcome.stop == WW_STOP_TRAP);
  ww_ctx_delete(ctx);
  wasmtime_module_delete(module);
  puts("ok: exit codes 0, 1, 42 from proc_exit; a bad pointer traps");
}

static void a_saved_image_loads_back(void) {
  wasmtime_module_t *writer = from_wat(CREATE_NOTE);
  ww_config_t *config = ww_config_new();
  ok(ww_config_mount_memory(config, S("/"), 0, 0));
  ww_ctx_t *ctx = make(config);
  outcome_t outcome = run(writer, ctx);
  CHECK(outcome.stop == WW_STOP_EXIT && outcome.exit_code == 0);
  ww_bytes_t tar = {0};
  ok(ww_ctx_save_tar(ctx, S("/"), &tar));
  ww_ctx_delete(ctx);

  /* A second guest sees the file the first wrote: the image holds it. */
  config = ww_config_new();
  ok(ww_config_mount_memory_from_tar(config, S("/"), tar.data, tar.size, 0, WW_MOUNT_READ_ONLY));
  ok(ww_config_arg(config, S("x")));
  ww_bytes_delete(&tar);
  ctx = make(config);
  outcome = run(writer, ctx);
  /* note.txt exists now, but the mount is read-only: EPERM, not a fresh create. */
  CHECK(outcome.stop == WW_STOP_EXIT && outcome.exit_code == 63);
  ww_ctx_delete(ctx);
  wasmtime_module_delete(writer);
  puts("ok: a saved image loads back (read-only)");
}

static void *feed(void *pipe) {
  for (int i = 0; i < 100; i++) {
    CHECK(ww_pipe_write(pipe, (const uint8_t *)"abc\n", 4));
    usleep(100);
  }
  ww_pipe_close(pipe);
  return NULL;
}

static void stdin_from_a_pipe_the_host_feeds(void) {
  ww_config_t *config = ww_config_new();
  ww_pipe_t *pipe = NULL;
  ok(ww_config_stdin_pipe(config, &pipe));
  ok(ww_config_output_capture(config, WW_STDOUT));
  ww_ctx_t *ctx = make(config);
  ok(ww_ctx_set_timeout(ctx, 20ull * 1000 * 1000 * 1000));
  pthread_t thread;
  pthread_create(&thread, NULL, feed, pipe);
  wasmtime_module_t *module = guest("stdio_echo");
  outcome_t outcome = run_in_store(module, ctx, true);
  pthread_join(thread, NULL);
  CHECK(!outcome.trapped && outcome.stop == WW_STOP_NONE);
  ww_bytes_t out = {0};
  ok(ww_ctx_output(ctx, WW_STDOUT, &out));
  CHECK(out.size >= 400 && memcmp(out.data, "ABC\nABC\n", 8) == 0);
  ww_bytes_delete(&out);
  ww_pipe_delete(pipe);
  ww_ctx_delete(ctx);
  wasmtime_module_delete(module);
  puts("ok: stdin from a pipe fed by another thread (memory bound)");
}

static void a_wait_ends_at_the_timeout(void) {
  ww_config_t *config = ww_config_new();
  ww_pipe_t *pipe = NULL;
  ok(ww_config_stdin_pipe(config, &pipe));
  ww_ctx_t *ctx = make(config);
  ok(ww_ctx_set_timeout(ctx, 200ull * 1000 * 1000));
  wasmtime_module_t *module = guest("stdio_echo");
  outcome_t outcome = run(module, ctx); /* nobody writes: the read waits until the deadline */
  CHECK(outcome.trapped && outcome.stop == WW_STOP_LIMIT);
  ww_pipe_delete(pipe);
  ww_ctx_delete(ctx);
  wasmtime_module_delete(module);
  puts("ok: a read of a silent pipe ends at the timeout");
}

static void a_store_without_a_context_traps(void) {
  wasmtime_module_t *module = from_wat(FLOOD);
  wasmtime_store_t *store = wasmtime_store_new(engine, NULL, NULL);
  wasmtime_context_t *context = wasmtime_store_context(store);
  wasmtime_instance_t instance;
  wasm_trap_t *trap = NULL;
  wok(wasmtime_linker_instantiate(linker, context, module, &instance, &trap));
  wasmtime_extern_t start;
  CHECK(wasmtime_instance_export_get(context, &instance, S("_start"), &start));
  wasmtime_error_t *error = wasmtime_func_call(context, &start.of.func, NULL, 0, NULL, 0, &trap);
  CHECK(error != NULL || trap != NULL);
  wasm_message_t message;
  if (trap) {
    wasm_trap_message(trap, &message);
    wasm_trap_delete(trap);
  } else {
    wasmtime_error_message(error, &message);
    wasmtime_error_delete(error);
  }
  char text[1024];
  snprintf(text, sizeof text, "%.*s", (int)message.size, message.data);
  CHECK(strstr(text, "no context is attached") != NULL);
  wasm_byte_vec_delete(&message);

  /* One context cannot serve two stores, nor a store two contexts. */
  ww_ctx_t *a = make(ww_config_new()), *b = make(ww_config_new());
  wasmtime_store_t *other = wasmtime_store_new(engine, NULL, NULL);
  ok(ww_ctx_attach(a, context));
  ok(ww_ctx_attach(a, context)); /* the same pair again is fine */
  fails_with(ww_ctx_attach(b, context), "already has");
  fails_with(ww_ctx_attach(a, wasmtime_store_context(other)), "another store");
  ww_ctx_delete(a); /* detaches: b may take the store now */
  ok(ww_ctx_attach(b, context));
  ww_ctx_delete(b);
  wasmtime_store_delete(other);
  wasmtime_store_delete(store);
  wasmtime_module_delete(module);
  puts("ok: a store without a context traps; one context per store");
}

typedef struct {
  wasmtime_module_t *module;
  int id;
  bool good;
} worker_t;

static void *work(void *arg) {
  worker_t *worker = arg;
  for (int round = 0; round < 20; round++) {
    ww_config_t *config = ww_config_new();
    char code[16];
    snprintf(code, sizeof code, "%d", worker->id + round);
    ok(ww_config_arg(config, S("proc_exit_code.wasm")));
    ok(ww_config_arg(config, S(code)));
    ok(ww_config_output_capture(config, WW_STDOUT));
    ww_ctx_t *ctx = make(config);
    outcome_t outcome = run_in_store(worker->module, ctx, round % 2 == 0);
    ww_bytes_t out = {0};
    ok(ww_ctx_output(ctx, WW_STDOUT, &out));
    char expected[64];
    snprintf(expected, sizeof expected, "exiting with %s\n", code);
    worker->good &= outcome.stop == WW_STOP_EXIT && outcome.exit_code == atoi(code) &&
                    out.size == strlen(expected) && memcmp(out.data, expected, out.size) == 0;
    ww_bytes_delete(&out);
    ww_ctx_delete(ctx);
  }
  return NULL;
}

static void many_stores_on_many_threads_share_one_linker(void) {
  wasmtime_module_t *module = guest("proc_exit_code");
  pthread_t threads[4];
  worker_t workers[4];
  for (int i = 0; i < 4; i++) {
    workers[i] = (worker_t){module, i * 10, true};
    pthread_create(&threads[i], NULL, work, &workers[i]);
  }
  for (int i = 0; i < 4; i++) {
    pthread_join(threads[i], NULL);
    CHECK(workers[i].good);
  }
  wasmtime_module_delete(module);
  puts("ok: 4 threads x 20 stores on one linker, each with its own context");
}

int main(int argc, char **argv) {
  CHECK(argc == 2);
  guests = argv[1];
  /* libwasmtime is linked into this program: its symbols are the process's. */
  ok(ww_init(NULL));
  ok(ww_init(NULL)); /* again: the same library, fine */
  engine = wasm_engine_new();
  linker = wasmtime_linker_new(engine);
  ok(ww_linker_define(linker));
  /* Defining twice is the linker's error (shadowing is off), reported as ours. */
  fails_with(ww_linker_define(linker), "cannot define");

  version_and_null_arguments();
  a_flood_stops_at_the_byte_limit();
  a_callback_stream_with_truncation();
  a_memory_mount_with_a_quota();
  read_only_host_mounts_refuse_changes();
  a_deny_policy();
  a_prompt_answered_by_the_callback();
  exit_codes_and_faults();
  a_saved_image_loads_back();
  stdin_from_a_pipe_the_host_feeds();
  a_wait_ends_at_the_timeout();
  a_store_without_a_context_traps();
  many_stores_on_many_threads_share_one_linker();

  wasmtime_linker_delete(linker);
  wasm_engine_delete(engine);
  puts("all C API scenarios passed");
  return 0;
}
