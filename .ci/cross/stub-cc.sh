#!/usr/bin/env bash
# A C compiler and archiver for `cargo check` on targets this machine cannot build C for
# (no macOS SDK, no MSVC): check never links, so the objects only have to exist. Writes an
# empty file wherever the command names an output (-o F, -oF, -FoF, /FoF, -out:F, or ar's
# archive operand) and succeeds; preprocessing (-E, cc's compiler detection) prints nothing.
set -u
out=""
prev=""
for arg in "$@"; do
    case "$prev" in
        -o) out=$arg ;;
    esac
    case "$arg" in
        -out:*) out=${arg#-out:} ;;
        /OUT:*) out=${arg#/OUT:} ;;
        -Fo*) out=${arg#-Fo} ;;
        /Fo*) out=${arg#/Fo} ;;
        -o?*) out=${arg#-o} ;;
        *.a | *.lib) [ "$prev" != "-o" ] && out=$arg ;;
    esac
    prev=$arg
done
[ -n "$out" ] && : > "$out"
exit 0
