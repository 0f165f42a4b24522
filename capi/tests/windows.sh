#!/usr/bin/env bash
# The C API's C tests on Windows: libwasi_warden built for x86_64-pc-windows-gnu, the C host
# built with mingw-w64 against the wasmtime.dll of the official `wasmtime` wheel for win_amd64,
# run under Wine. Called by .ci/windows/run.sh after capi/tests/run.sh (which fetched the
# headers) and with the Wine environment set up (WINEPREFIX, the ProcessPrng shim).
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
target=x86_64-pc-windows-gnu
version=${WW_WASMTIME_WINDOWS_VERSION:-50.0.1}
work=$root/target/capi/windows-$version
headers=$root/target/capi/wasmtime-$version/include
guests=$root/target/guests/wasm32-wasip1/release
out=$root/target/$target/debug
step() { printf '\n==> %s\n' "$*"; }

[ -f "$headers/wasmtime.h" ] || { echo "no wasmtime headers in $headers: run capi/tests/run.sh first"; exit 1; }

step "libwasi_warden for $target, and its own unit tests under Wine"
cargo build -p wasi-warden-capi --target "$target"
cargo test -q -p wasi-warden-capi --target "$target"

step "wasmtime $version for Windows: the win_amd64 wheel's DLL"
if [ ! -f "$work/wasmtime.dll" ]; then
    rm -rf "$work" && mkdir -p "$work/wheel"
    "$root/target/capi/venv/bin/pip" download --quiet --no-deps --only-binary=:all: \
        --platform win_amd64 "wasmtime==$version" -d "$work/wheel"
    (cd "$work/wheel" && python3 -m zipfile -e ./*.whl unpacked)
    # The name wasmtime's own Windows release gives it, which ww_init(NULL) looks for.
    cp "$work/wheel/unpacked/wasmtime/win32-x86_64/_wasmtime.dll" "$work/wasmtime.dll"
fi

step "C tests (shared libwasi_warden) under Wine"
cp "$out/wasi_warden.dll" "$out/bcryptprimitives.dll" "$work/"
x86_64-w64-mingw32-gcc -std=c11 -D_DEFAULT_SOURCE -Wall -Wextra -Werror \
    -I"$headers" -Icapi/include capi/tests/c/test_capi.c -o "$work/test_capi.exe" \
    "$work/wasi_warden.dll" "$work/wasmtime.dll" -static -lpthread
timeout 600 wine "$work/test_capi.exe" "$guests"

step "C tests (static libwasi_warden) under Wine"
# The system libraries are those `--print native-static-libs` names for the staticlib.
x86_64-w64-mingw32-gcc -std=c11 -D_DEFAULT_SOURCE -Wall -Wextra -Werror \
    -I"$headers" -Icapi/include capi/tests/c/test_capi.c -o "$work/test_capi_static.exe" \
    "$out/libwasi_warden.a" "$work/wasmtime.dll" -static -lpthread \
    -lkernel32 -lntdll -luserenv -lws2_32 -ldbghelp
timeout 600 wine "$work/test_capi_static.exe" "$guests"
