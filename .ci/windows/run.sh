#!/usr/bin/env bash
# The Windows leg of CI: cross-compile the test binaries for x86_64-pc-windows-gnu with
# Debian's mingw-w64 and run them under Wine. Called by .ci/run after the Linux suite, which
# has built the wasm32-wasip1 guests the Windows binaries load and recorded the conformance
# reference they compare against (tests/support/reference.rs).
#
# All blocking: the unit tests (the Windows host backend and its name traps among them),
# tests/sandbox.rs, tests/policy.rs, tests/model.rs, tests/cli.rs, tests/conformance.rs. The
# tests Wine cannot run are `ignore`d on Windows, each saying why (README, "Platforms").
set -euo pipefail
cd "$(dirname "$0")/../.."
step() { printf '\n==> %s\n' "$*"; }
target=x86_64-pc-windows-gnu

step "Debian packages for the Windows leg: mingw-w64, Wine"
if ! command -v x86_64-w64-mingw32-gcc >/dev/null 2>&1 || ! command -v wine >/dev/null 2>&1; then
    timeout 600 apt-get update -qq
    DEBIAN_FRONTEND=noninteractive timeout 1200 apt-get install -y -qq --no-install-recommends \
        gcc-mingw-w64-x86-64 wine64 wine >/dev/null
fi
rustup target add "$target"

step "ProcessPrng shim for Wine 8 (Rust's std imports it from bcryptprimitives.dll)"
out=target/$target/debug
mkdir -p "$out/deps"
x86_64-w64-mingw32-gcc -O2 -shared -o "$out/bcryptprimitives.dll" \
    .ci/windows/bcryptprimitives.c .ci/windows/bcryptprimitives.def -ladvapi32
cp "$out/bcryptprimitives.dll" "$out/deps/"

step "cargo clippy --target $target (the targets that run on Windows; the benches are Unix-only)"
cargo clippy --target "$target" --lib --bins --tests --examples -- -D warnings

step "cargo test --target $target --no-run"
tests=(--lib --bins --test sandbox --test policy --test model --test cli --test conformance)
cargo test --target "$target" --no-run "${tests[@]}"

export WINEDEBUG=-all WINEPREFIX="${WINEPREFIX:-$PWD/target/wine}"
export CARGO_TARGET_X86_64_PC_WINDOWS_GNU_RUNNER=wine
step "wineboot"
timeout 300 wine wineboot --init >/dev/null 2>&1 || true

step "under Wine: cargo test --target $target ${tests[*]}"
timeout 1500 cargo test --target "$target" "${tests[@]}"

step "under Wine: the C API's C tests against the Windows wasmtime.dll"
bash capi/tests/windows.sh
