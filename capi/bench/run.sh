#!/usr/bin/env bash
# The C API benchmark: fd_write of 16 B from a C host (capi/bench/fd_write.c: the C API path and
# wasmtime's built-in WASI in one process), then the Rust linker's figure for the same call
# (`cargo bench --bench warden -- fd_write_16B`), so one run prints all three. Release builds;
# uses the wheel and headers capi/tests/run.sh fetched (run it first).
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
dir=$root/target/capi/wasmtime-${WW_WASMTIME_VERSION:-50.0.1}
[ -f "$dir/include/wasmtime/conf.h" ] || { echo "run capi/tests/run.sh first (it fetches wasmtime)"; exit 1; }
cargo build --release -p wasi-warden-capi
cc -O2 -std=c11 -D_DEFAULT_SOURCE -Wall -Werror -I"$dir/include" -Icapi/include \
    capi/bench/fd_write.c -o "$root/target/capi/bench_fd_write" \
    -L"$root/target/release" -lwasi_warden -L"$dir/lib" -l:_libwasmtime.so \
    -Wl,-rpath,"$root/target/release" -Wl,-rpath,"$dir/lib"
"$root/target/capi/bench_fd_write" "${1:-1000000}"
echo
echo "The Rust linker, same call (criterion):"
cargo bench --bench warden -- 'fd_write_16B' 2>&1 | grep -E '^fd_write_16B|time:|ratio' || true
