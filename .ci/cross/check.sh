#!/usr/bin/env bash
# `cargo check` of the crate, the CLI and the C API for the targets CI cannot run:
# x86_64-pc-windows-msvc (the Windows backend under MSVC's cfgs) and aarch64-apple-darwin
# (macOS: the Unix backend). Check never links, so the C that wasmtime and zstd build for
# those targets (which needs MSVC or a macOS SDK) is replaced by stub-cc.sh, which writes
# empty objects: what is checked is every line of Rust, ours and our dependencies'.
set -euo pipefail
cd "$(dirname "$0")/../.."
stub="$PWD/.ci/cross/stub-cc.sh"
for target in x86_64-pc-windows-msvc aarch64-apple-darwin; do
    printf '\n==> cargo check --target %s\n' "$target"
    rustup target add "$target"
    var=${target//-/_}
    env "CC_$var=$stub" "AR_$var=$stub" "CXX_$var=$stub" \
        cargo check --target "$target" --lib --bins -p wasi-warden -p wasi-warden-capi
done
