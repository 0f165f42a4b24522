/*
 * fd_write of 16 bytes from a C host, in one process: wasi-warden through the C API (stdout
 * discarded, with and without ww_ctx_bind_memory; and stdout inherited, a write(2) per call),
 * and the same libwasmtime's built-in WASI (wasmtime_linker_define_wasi, stdout inherited). The
 * process's stdout is /dev/null while guests run; the report goes to the original stdout. Each guest calls fd_write N times in a
 * wasm loop; the figure is wall time per call, the best of ROUNDS rounds. Usage: fd_write [N].
 * capi/bench/run.sh builds it, runs it, and runs the Rust linker's figure beside it.
 */
#include <wasmtime.h>
#include <wasi_warden.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define ROUNDS 7

static void wok(wasmtime_error_t *error) {
  if (error) {
    wasm_name_t message;
    wasmtime_error_message(error, &message);
    fprintf(stderr, "wasmtime: %.*s\n", (int)message.size, message.data);
    exit(1);
  }
}

static void ok(ww_error_t *error) {
  if (error) {
    fprintf(stderr, "wasi-warden: %s\n", ww_error_message(error));
    exit(1);
  }
}

/* `loop(n)`: n calls of fd_write(1, one 16-byte iovec); exits with the last errno. */
static const char *GUEST =
    "(module"
    "  (import \"wasi_snapshot_preview1\" \"fd_write\" (func $w (param i32 i32 i32 i32) (result i32)))"
    "  (memory (export \"memory\") 1)"
    "  (data (i32.const 64) \"0123456789abcdef\")"
    "  (func (export \"loop\") (param $n i32) (result i32) (local $e i32)"
    "    (i32.store (i32.const 0) (i32.const 64)) (i32.store (i32.const 4) (i32.const 16))"
    "    (block $done (loop $again"
    "      (br_if $done (i32.eqz (local.get $n)))"
    "      (local.set $e (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))"
    "      (local.set $n (i32.sub (local.get $n) (i32.const 1)))"
    "      (br $again)))"
    "    (local.get $e)))";

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* Best nanoseconds per call of `loop` in `instance`. */
static double time_loop(wasmtime_context_t *context, wasmtime_instance_t *instance, int n) {
  wasmtime_extern_t loop;
  if (!wasmtime_instance_export_get(context, instance, "loop", 4, &loop)) exit(1);
  double best = 1e30;
  for (int round = 0; round < ROUNDS; round++) {
    wasmtime_val_t arg = {.kind = WASMTIME_I32, .of.i32 = n}, result;
    wasm_trap_t *trap = NULL;
    double start = now();
    wok(wasmtime_func_call(context, &loop.of.func, &arg, 1, &result, 1, &trap));
    double took = now() - start;
    if (trap || result.of.i32 != 0) {
      fprintf(stderr, "the guest's fd_write failed (errno %d)\n", result.of.i32);
      exit(1);
    }
    if (took < best) best = took;
  }
  return best * 1e9 / n;
}

static wasmtime_instance_t instantiate(wasmtime_linker_t *linker, wasmtime_context_t *context,
                                       wasmtime_module_t *module) {
  wasmtime_instance_t instance;
  wasm_trap_t *trap = NULL;
  wok(wasmtime_linker_instantiate(linker, context, module, &instance, &trap));
  if (trap) exit(1);
  return instance;
}

static double warden(wasm_engine_t *engine, wasmtime_module_t *module, int n, bool bind,
                     bool inherit) {
  wasmtime_linker_t *linker = wasmtime_linker_new(engine);
  ok(ww_linker_define(linker));
  ww_config_t *config = ww_config_new();
  ok(inherit ? ww_config_output_inherit(config, WW_STDOUT) : ww_config_output_null(config, WW_STDOUT));
  ww_ctx_t *ctx = NULL;
  ok(ww_ctx_new(config, &ctx));
  wasmtime_store_t *store = wasmtime_store_new(engine, NULL, NULL);
  wasmtime_context_t *context = wasmtime_store_context(store);
  ok(ww_ctx_attach(ctx, context));
  wasmtime_instance_t instance = instantiate(linker, context, module);
  if (bind) {
    wasmtime_extern_t memory;
    if (!wasmtime_instance_export_get(context, &instance, "memory", 6, &memory)) exit(1);
    ok(ww_ctx_bind_memory(ctx, &memory.of.memory));
  }
  double ns = time_loop(context, &instance, n);
  if (ww_ctx_output_written(ctx, WW_STDOUT) != (uint64_t)n * 16 * ROUNDS) {
    fprintf(stderr, "wasi-warden did not count every byte\n");
    exit(1);
  }
  ww_ctx_delete(ctx);
  wasmtime_store_delete(store);
  wasmtime_linker_delete(linker);
  return ns;
}

static double builtin(wasm_engine_t *engine, wasmtime_module_t *module, int n) {
  wasmtime_linker_t *linker = wasmtime_linker_new(engine);
  wok(wasmtime_linker_define_wasi(linker));
  wasmtime_store_t *store = wasmtime_store_new(engine, NULL, NULL);
  wasmtime_context_t *context = wasmtime_store_context(store);
  wasi_config_t *wasi = wasi_config_new();
  wasi_config_inherit_stdout(wasi);
  wok(wasmtime_context_set_wasi(context, wasi));
  wasmtime_instance_t instance = instantiate(linker, context, module);
  double ns = time_loop(context, &instance, n);
  wasmtime_store_delete(store);
  wasmtime_linker_delete(linker);
  return ns;
}

int main(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[1]) : 1000000;
  FILE *report = fdopen(dup(1), "w");
  int null = open("/dev/null", O_WRONLY);
  if (!report || null < 0 || dup2(null, 1) < 0) exit(1);
  ok(ww_init(NULL));
  wasm_engine_t *engine = wasm_engine_new();
  wasm_byte_vec_t wasm;
  wok(wasmtime_wat2wasm(GUEST, strlen(GUEST), &wasm));
  wasmtime_module_t *module = NULL;
  wok(wasmtime_module_new(engine, (const uint8_t *)wasm.data, wasm.size, &module));
  wasm_byte_vec_delete(&wasm);

  /* Interleaved, so that a noisy moment of the machine does not favour one side. */
  double bound = 1e30, unbound = 1e30, inherited = 1e30, theirs = 1e30;
  for (int i = 0; i < 3; i++) {
    double a = warden(engine, module, n, true, false), b = warden(engine, module, n, false, false);
    double c = warden(engine, module, n / 10, true, true), d = builtin(engine, module, n / 10);
    if (a < bound) bound = a;
    if (b < unbound) unbound = b;
    if (c < inherited) inherited = c;
    if (d < theirs) theirs = d;
  }
  fprintf(report, "fd_write 16 B, C host, best of %d x 3 rounds (ns per call):\n", ROUNDS);
  fprintf(report, "  wasi-warden C API, discarding, memory bound     %8.1f\n", bound);
  fprintf(report, "  wasi-warden C API, discarding, memory looked up %8.1f\n", unbound);
  fprintf(report, "  wasi-warden C API, inherited stdout (/dev/null) %8.1f\n", inherited);
  fprintf(report, "  wasmtime's built-in WASI, inherited (/dev/null) %8.1f\n", theirs);
  fprintf(report, "  built-in / C API: discarding %.2fx (looked up %.2fx), both inherited %.2fx\n",
          theirs / bound, theirs / unbound, theirs / inherited);
  fclose(report);
  wasmtime_module_delete(module);
  wasm_engine_delete(engine);
  return 0;
}
