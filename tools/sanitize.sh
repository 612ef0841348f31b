#!/usr/bin/env bash
# Build the extension with AddressSanitizer + UndefinedBehaviorSanitizer and run the test
# suite under them (Linux, gcc or clang).
#
#   tools/sanitize.sh                 # whole suite, then once per backend
#   tools/sanitize.sh tests/kernels   # arguments replace the default `tests` for pytest
#   CC=clang tools/sanitize.sh        # clang's UBSan also checks float->int conversions
#
# The source is copied to a temporary folder and built in place there, so the normal
# build in the work tree is left alone. The interpreter is not instrumented, so the ASan
# runtime is preloaded; PYTHONMALLOC=malloc sends Python's allocations through ASan too;
# detect_leaks=0 because CPython deliberately leaks at exit (tests/test_leaks.py does
# the leak check). Any ASan or UBSan report fails the run.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PY=${PYTHON:-python3}
CC=${CC:-gcc}
export CC
WORK=$(mktemp -d "${TMPDIR:-/tmp}/rcmlrs-asan.XXXXXX")
if [[ "${KEEP:-0}" != 1 ]]; then trap 'rm -rf "$WORK"' EXIT; fi

# the runtime that goes with the compiler: gcc -> libasan.so, clang -> its shared asan DSO
if [[ "$($CC --version)" == *clang* ]]; then
    # older layout: libclang_rt.asan-<arch>.so; per-target runtime dirs: libclang_rt.asan.so
    ASAN_LIB=$($CC -print-file-name="libclang_rt.asan-$(uname -m).so")
    [[ -f "$ASAN_LIB" ]] || ASAN_LIB=$($CC -print-file-name=libclang_rt.asan.so)
    export LDSHARED="$CC -shared -shared-libasan"
else
    ASAN_LIB=$($CC -print-file-name=libasan.so)
fi
if [[ ! -f "$ASAN_LIB" ]]; then
    echo "sanitize.sh: no ASan runtime found for $CC ($ASAN_LIB)" >&2
    exit 2
fi

echo "== copy of the source in $WORK/src"
mkdir -p "$WORK/src"
(cd "$ROOT" && tar --exclude=./build --exclude=./dist --exclude='*.so' --exclude='*.o' \
    --exclude=./.git --exclude=./rcmlrs/_tensor.c --exclude=./rcmlrs/include -cf - .) |
    (cd "$WORK/src" && tar -xf -)

# an interpreter with the build and test requirements
if ! "$PY" -c "import numpy, pytest, hypothesis, Cython, setuptools" 2>/dev/null; then
    echo "== venv with numpy, pytest, hypothesis, Cython, setuptools"
    "$PY" -m venv "$WORK/venv"
    "$WORK/venv/bin/python" -m pip install -q numpy pytest hypothesis Cython setuptools
    PY="$WORK/venv/bin/python"
fi

echo "== build with RCMLRS_SANITIZE=1 ($CC)"
(cd "$WORK/src" && RCMLRS_SANITIZE=1 "$PY" setup.py -q build_ext --inplace)

echo "== run the suite under ASan + UBSan (LD_PRELOAD=$ASAN_LIB)"
cd "$WORK/src"
export PYTHONPATH="$WORK/src${PYTHONPATH:+:$PYTHONPATH}"
export RCMLRS_SANITIZE=1 # lets tests skip what ASan's quarantine distorts (RSS checks)
export PYTHONMALLOC=malloc
export ASAN_OPTIONS="detect_leaks=0:halt_on_error=1:detect_stack_use_after_return=1:strict_string_checks=1:check_initialization_order=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
# torch (a test reference) throws C++ exceptions: ASan's __cxa_throw interceptor needs the
# real one resolvable at start-up, so libstdc++ is preloaded right after the runtime
PRELOAD=$ASAN_LIB
STDCXX=$($CC -print-file-name=libstdc++.so.6)
[[ -f "$STDCXX" ]] && PRELOAD="$ASAN_LIB:$STDCXX"
run() { LD_PRELOAD="$PRELOAD" "$PY" "$@"; }
# --capture=sys: pytest must not capture file descriptor 2, or a sanitizer report written
# there just before the process exits would be lost with the captured output
args=("$@")
[[ ${#args[@]} -gt 0 ]] || args=(tests)
pytest_() { run -m pytest -p no:cacheprovider --capture=sys -q -x "${args[@]}"; }
run -c "import rcmlrs; rcmlrs.show_config()"
pytest_

# every backend and 2 threads: SIMD variants and the pool must be as clean as serial
# (assigned first: under set -e a failing command substitution in a for list is ignored)
backends=$(run -c "from rcmlrs import _runtime as t; print(' '.join(t.capabilities()))")
for be in $backends; do
    echo "== RCMLRS_BACKEND=$be, 2 threads"
    RCMLRS_BACKEND=$be RCMLRS_NUM_THREADS=2 pytest_
done
echo "== sanitize: OK"
