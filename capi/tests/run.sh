#!/usr/bin/env bash
# The C API's tests, from C, Python and C#, against the libwasmtime of the official `wasmtime`
# wheels from PyPI (two majors a year apart), with wasmtime's own headers from its
# `wasmtime-c-api-impl` crate on crates.io. Run from anywhere after `cargo test` (which builds
# the guests in target/guests). Needs cc, python3 with venv, curl; mcs and mono for C# (skipped
# with a message when missing, unless WW_REQUIRE_MONO=1).
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
work=$root/target/capi
guests=$root/target/guests/wasm32-wasip1/release
versions=${WW_WASMTIME_VERSIONS:-"50.0.1 38.0.0"}
mkdir -p "$work"

step() { printf '\n==> %s\n' "$*"; }

step "build libwasi_warden (cdylib + staticlib), and its own unit tests"
cargo build -p wasi-warden-capi
cargo test -q -p wasi-warden-capi
[ -f "$guests/proc_exit_code.wasm" ] || { echo "no guests in $guests: run cargo test first"; exit 1; }

step "python venv for the wheels and pytest"
if [ ! -x "$work/venv/bin/python" ]; then
    python3 -m venv "$work/venv"
fi
"$work/venv/bin/pip" install --quiet pytest

# Fetches the wheel and the headers of one wasmtime version into $work/$1.
fetch() {
    local version=$1 dir=$work/wasmtime-$1
    if [ ! -f "$dir/lib/_libwasmtime.so" ]; then
        rm -rf "$dir" && mkdir -p "$dir/lib" "$dir/wheel"
        "$work/venv/bin/pip" download --quiet --no-deps --only-binary=:all: \
            --platform manylinux1_x86_64 "wasmtime==$version" -d "$dir/wheel"
        (cd "$dir/wheel" && python3 -m zipfile -e ./*.whl unpacked)
        cp "$dir/wheel/unpacked/wasmtime/linux-x86_64/_libwasmtime.so" "$dir/lib/"
    fi
    # The name a loader looks for (mono's DllImport("wasmtime")).
    ln -sf _libwasmtime.so "$dir/lib/libwasmtime.so"
    if [ ! -f "$dir/include/wasmtime/conf.h" ]; then
        curl -sSfL --retry 3 -o "$dir/c-api.crate" \
            "https://static.crates.io/crates/wasmtime-c-api-impl/wasmtime-c-api-impl-$version.crate"
        tar xzf "$dir/c-api.crate" -C "$dir"
        rm -rf "$dir/include" && cp -r "$dir/wasmtime-c-api-impl-$version/include" "$dir/include"
        # conf.h is made by wasmtime's CMake build: every feature on, as the wheel is built.
        sed 's/^#cmakedefine \(.*\)$/#define \1/' "$dir/include/wasmtime/conf.h.in" \
            > "$dir/include/wasmtime/conf.h"
    fi
}

for version in $versions; do
    step "wasmtime $version: wheel and headers"
    fetch "$version"
    dir=$work/wasmtime-$version
    flags=(-std=c11 -D_DEFAULT_SOURCE -Wall -Wextra -Werror -I"$dir/include" -Icapi/include)
    step "wasmtime $version: C tests (shared libwasi_warden)"
    cc "${flags[@]}" capi/tests/c/test_capi.c -o "$work/test_capi_shared_$version" \
        -L"$root/target/debug" -lwasi_warden -L"$dir/lib" -l:_libwasmtime.so -lpthread \
        -Wl,-rpath,"$root/target/debug" -Wl,-rpath,"$dir/lib"
    "$work/test_capi_shared_$version" "$guests"
    step "wasmtime $version: C tests (static libwasi_warden)"
    cc "${flags[@]}" capi/tests/c/test_capi.c -o "$work/test_capi_static_$version" \
        "$root/target/debug/libwasi_warden.a" -L"$dir/lib" -l:_libwasmtime.so \
        -lpthread -ldl -lm -Wl,-rpath,"$dir/lib"
    "$work/test_capi_static_$version" "$guests"
    step "wasmtime $version: Python (the unmodified wheel, wasi_warden.py over ctypes)"
    rm -rf "$work/site-$version"
    "$work/venv/bin/pip" install --quiet --no-deps --target "$work/site-$version" \
        "$dir"/wheel/*.whl
    PYTHONPATH="$work/site-$version:$root/capi/python" \
    WW_LIBRARY="$root/target/debug/libwasi_warden.so" WW_GUESTS="$guests" \
    WW_CLI="$root/target/debug/wasi-warden" \
        "$work/venv/bin/python" -m pytest -q -p no:cacheprovider capi/python/tests
done

step "C#: the P/Invoke sample on mono"
if command -v mcs >/dev/null && command -v mono >/dev/null; then
    dir=$work/wasmtime-${versions%% *}
    mcs -nologo -warnaserror -out:"$work/WardenSample.exe" capi/dotnet/*.cs
    LD_LIBRARY_PATH="$root/target/debug:$dir/lib" WW_WASMTIME="$dir/lib/libwasmtime.so" \
        mono "$work/WardenSample.exe"
elif [ "${WW_REQUIRE_MONO:-0}" = 1 ]; then
    echo "mcs/mono are missing (Debian: mono-mcs mono-runtime)"; exit 1
else
    echo "mcs/mono are missing: skipping the C# sample (Debian: mono-mcs mono-runtime)"
fi

step "C API: ok"
