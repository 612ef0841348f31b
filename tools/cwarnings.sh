#!/usr/bin/env bash
# Compile every csrc/*.c file warning-free (-Werror) with each C compiler found here:
# gcc and clang natively, plus cross compilers when installed, which reach the #if
# branches a native build skips:
#   aarch64-linux-gnu-gcc   arm64 (RCML_ARM64, NEON baseline, no x86 target pragmas)
#   x86_64-w64-mingw32-gcc  Windows (_WIN32 threads and aligned allocation)
# MSVC itself cannot run here: see the MSVC notes in csrc/internal.h and tools/README.
#   tools/cwarnings.sh            # Debian: apt-get install clang gcc-aarch64-linux-gnu gcc-mingw-w64-x86-64
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

FLAGS=(-std=c11 -O2 -ffp-contract=off -fno-math-errno -Wall -Wextra -Wpedantic -Wshadow
       -Wstrict-prototypes -Wmissing-prototypes -Wformat=2 -Werror -Icsrc)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
found=0
for cc in gcc clang aarch64-linux-gnu-gcc x86_64-w64-mingw32-gcc ${EXTRA_CC:-}; do
    command -v "$cc" >/dev/null 2>&1 || { echo "-- $cc: not installed, skipped"; continue; }
    found=$((found + 1))
    for f in csrc/*.c; do
        "$cc" "${FLAGS[@]}" -c "$f" -o "$out/$(basename "$f").o"
    done
    # -O3 too: some warnings (array bounds, stringop) only appear after inlining
    for f in csrc/*.c; do
        "$cc" "${FLAGS[@]}" -O3 -c "$f" -o "$out/$(basename "$f").o"
    done
    echo "-- $cc ($("$cc" -dumpversion)): $(ls csrc/*.c | wc -l) files, no warnings"
done
[[ $found -gt 0 ]] || { echo "no C compiler found" >&2; exit 1; }
