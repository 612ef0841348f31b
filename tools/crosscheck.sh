#!/usr/bin/env bash
# Compile csrc/ for the platforms the wheels target but this machine is not: Windows
# (MinGW and MSVC modes) and macOS (x86_64, arm64), warning-free (-Werror), each per-ISA
# object with the flags setup.py gives it, and check what those objects contain.
#
#   zig cc (pip install ziglang)   -target x86_64-windows-gnu, aarch64-windows-gnu,
#                                  x86_64-macos, aarch64-macos: the GCC/Clang path (target
#                                  pragmas), Apple's ABI and headers, Windows' _WIN32 code
#   clang in cl mode (clang-cl)    the MSVC path: _MSC_VER, RCML_ARCH_OBJECTS, the per-ISA
#                                  objects with setup.py's /arch flags, x64 and ARM64
#   the same with __clang__ off    the branches only cl.exe itself takes (cpuid intrinsics,
#                                  __pragma(loop(no_vector)))
# and then, per x86 target: isa_baseline has no AVX instruction, isa_avx2/gemm_avx2 have
# AVX2 + FMA and no AVX-512, isa_avx512/gemm_avx512 have AVX-512, and an MSVC-mode
# variant object compiled WITHOUT its /arch flag stops at its #error.
#
# What it cannot do: run cl.exe (not available off Windows; the MSVC modes use clang's
# MSVC emulation with mingw-w64's headers standing in for the MSVC CRT and Windows SDK)
# or link and run anything. The wheels workflow builds and tests with the real MSVC on
# windows-2022 (the `windows` job also prints rc.show_config() and runs the backend
# equality tests there).
#
#   pip install ziglang; apt-get install clang llvm mingw-w64-common  # clang-cl, objdump, headers
#   tools/crosscheck.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PY=${PYTHON:-python3}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
fail=0

# -Werror flags of tools/cwarnings.sh, plus setup.py's release flags
FLAGS=(-std=c11 -O3 -ffp-contract=off -fno-math-errno -fvisibility=hidden -Wall -Wextra
       -Wpedantic -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wformat=2 -Werror -Icsrc)
# setup.py's MSVC flags (BuildExt.build_extensions) and per-ISA flags (ISA_FLAGS), read from
# setup.py itself so the two cannot drift apart
read -r -a MSVC_FLAGS <<<"$("$PY" - <<'EOF'
import ast
tree = ast.parse(open("setup.py").read())
for node in ast.walk(tree):
    if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "args" for t in node.targets):
        if isinstance(node.value, ast.List) and any(
            isinstance(e, ast.Constant) and e.value == "/fp:precise" for e in node.value.elts
        ):
            print(" ".join(e.value for e in node.value.elts))
            break
EOF
)"
isa_flags() { # isa_flags <avx2|avx512>: setup.py's ISA_FLAGS[("msvc", isa)]
    "$PY" - "$1" <<'EOF'
import ast, sys
tree = ast.parse(open("setup.py").read())
for node in ast.walk(tree):
    if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "ISA_FLAGS":
        print(" ".join(ast.literal_eval(node.value)[("msvc", sys.argv[1])]))
EOF
}
AVX2_FLAGS=$(isa_flags avx2)
AVX512_FLAGS=$(isa_flags avx512)
[[ ${#MSVC_FLAGS[@]} -gt 0 && $AVX2_FLAGS == */arch:AVX2* && $AVX512_FLAGS == */arch:AVX512* ]] || {
    echo "could not read the MSVC flags from setup.py" >&2
    exit 1
}

isa_of() { # the ISA setup.py compiles a source for (ISA_OBJECTS), or "base"
    case $(basename "$1" .c) in
    isa_avx2 | gemm_avx2) echo avx2 ;;
    isa_avx512 | gemm_avx512) echo avx512 ;;
    *) echo base ;;
    esac
}

# check_isa <label> <dir with NAME.o>: the instruction sets inside the per-ISA objects
check_isa() {
    local label=$1 dir=$2 dis
    if ! command -v llvm-objdump >/dev/null; then
        echo "   $label: llvm-objdump not installed (apt-get install llvm): ISA split not checked"
        return
    fi
    dis() { llvm-objdump -d --no-show-raw-insn "$dir/$1.o" 2>/dev/null; }
    local base avx2 avx512
    base=$(dis isa_baseline | grep -cE '%?[yz]mm[0-9]|vfmadd' || true)
    avx2=$( (dis isa_avx2; dis gemm_avx2) | grep -cE 'vfmadd' || true)
    local avx2_zmm
    avx2_zmm=$( (dis isa_avx2; dis gemm_avx2) | grep -cE '%?zmm[0-9]|%k[1-7]\b|\{k[1-7]\}' || true)
    avx512=$( (dis isa_avx512; dis gemm_avx512) | grep -cE '%?zmm[0-9]' || true)
    if [[ $base -eq 0 && $avx2 -gt 0 && $avx2_zmm -eq 0 && $avx512 -gt 0 ]]; then
        echo "   $label: baseline 0 AVX instructions; avx2 $avx2 FMA, 0 AVX-512; avx512 $avx512 zmm"
    else
        echo "   $label: WRONG ISA SPLIT (baseline AVX $base, avx2 FMA $avx2, avx2 AVX-512 $avx2_zmm, avx512 zmm $avx512)" >&2
        fail=1
    fi
}

# ---------------------------------------------------------------- zig cc (GNU path)
if "$PY" -m ziglang version >/dev/null 2>&1; then
    for target in x86_64-windows-gnu aarch64-windows-gnu x86_64-macos aarch64-macos; do
        d="$out/zig-$target"
        mkdir -p "$d"
        n=0
        for f in csrc/*.c; do
            "$PY" -m ziglang cc -target "$target" "${FLAGS[@]}" -c "$f" -o "$d/$(basename "$f" .c).o" || fail=1
            n=$((n + 1))
        done
        echo "-- zig cc -target $target ($("$PY" -m ziglang version)): $n files, no warnings"
        if [[ $target == x86_64-* ]]; then check_isa "$target" "$d"; fi
    done
else
    echo "-- zig: not installed (pip install ziglang), skipped"
fi

# ------------------------------------------------------------ clang-cl (MSVC path)
CLANG_CL=()
if command -v clang-cl >/dev/null 2>&1; then
    CLANG_CL=(clang-cl)
elif command -v clang >/dev/null 2>&1 && clang --driver-mode=cl /? >/dev/null 2>&1; then
    CLANG_CL=(clang --driver-mode=cl)
fi
WINH=""
for h in /usr/share/mingw-w64/include /usr/x86_64-w64-mingw32/include; do
    [[ -f $h/windows.h ]] && WINH=$h && break
done
if [[ ${#CLANG_CL[@]} -eq 0 || -z $WINH ]]; then
    echo "-- clang-cl mode: needs clang and mingw-w64's headers (apt-get install clang mingw-w64-common), skipped"
else
    # mingw-w64's headers stand in for the MSVC CRT and the Windows SDK; they need
    # __GNUC__ (defined through -fgnuc-version; every __GNUC__ test in csrc/ also excludes
    # __clang__, so csrc/ still takes its clang-cl branches), and redefine __forceinline
    cat >"$out/msvc_shim.h" <<'EOF'
#include <_mingw.h>
#undef __forceinline
EOF
    # cl.exe pass: __clang__ and __GNUC__ off for csrc/ (the headers come first, with them on)
    cat >"$out/cl_shim.h" <<'EOF'
#include <_mingw.h>
#undef __forceinline
#define _INC_SETJMP 1 /* mingw-w64's setjmp.h and clang's intrin.h disagree */
typedef struct { unsigned __int64 Part[2]; } _JBTYPE;
typedef _JBTYPE jmp_buf[16];
#include <float.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <intrin.h>
#include <immintrin.h>
#undef __GNUC__
#undef __GNUC_MINOR__
#undef __GNUC_PATCHLEVEL__
EOF
    CLV=$("${CLANG_CL[@]}" --version | head -1)
    # setup.py's flags, then /W4 /WX (stricter than its /W3)
    CLBASE=(-fms-compatibility-version=19.40 /clang:-fgnuc-version=4.2.1 /imsvc "$WINH"
            "${MSVC_FLAGS[@]}" /W4 /WX /Icsrc /c)
    for arch in x86_64 aarch64; do
        d="$out/msvc-$arch"
        mkdir -p "$d"
        n=0
        for f in csrc/*.c; do
            isa=$(isa_of "$f")
            extra=()
            # /GL- is an MSVC link-time-codegen switch clang-cl accepts but ignores
            if [[ $arch == x86_64 && $isa == avx2 ]]; then read -r -a extra <<<"${AVX2_FLAGS//\/GL-/}"; fi
            if [[ $arch == x86_64 && $isa == avx512 ]]; then read -r -a extra <<<"${AVX512_FLAGS//\/GL-/}"; fi
            "${CLANG_CL[@]}" --target="$arch-pc-windows-msvc" "${CLBASE[@]}" /FI"$out/msvc_shim.h" \
                "${extra[@]}" "$f" /Fo"$d/$(basename "$f" .c).o" || fail=1
            n=$((n + 1))
        done
        if [[ $arch == x86_64 ]]; then
            isas="per-ISA objects with ${AVX2_FLAGS} and ${AVX512_FLAGS}"
        else
            isas="no /arch flag on ARM64, the variant files compile to nothing"
        fi
        echo "-- ${CLANG_CL[*]} --target=$arch-pc-windows-msvc ($CLV) ${MSVC_FLAGS[*]} /W4 /WX;" \
            "$isas: $n files, no warnings"
        if [[ $arch == x86_64 ]]; then check_isa "msvc-x86_64" "$d"; fi
    done

    # the cl.exe-only branches; threads.c and alloc.c have none (only _WIN32, checked above)
    # and need <windows.h>, which mingw-w64 cannot provide without __clang__ or __GNUC__.
    # -mxsave: clang's _xgetbv wants the target feature cl.exe does not ask for.
    d="$out/cl"
    mkdir -p "$d"
    n=0
    for f in csrc/*.c; do
        case $(basename "$f" .c) in threads | alloc) continue ;; esac
        isa=$(isa_of "$f")
        extra=()
        if [[ $isa == avx2 ]]; then read -r -a extra <<<"${AVX2_FLAGS//\/GL-/}"; fi
        if [[ $isa == avx512 ]]; then read -r -a extra <<<"${AVX512_FLAGS//\/GL-/}"; fi
        # clang knows neither cl.exe's loop pragma nor how it sits on a line
        "${CLANG_CL[@]}" --target=x86_64-pc-windows-msvc "${CLBASE[@]}" /U__clang__ /clang:-mxsave \
            /clang:-Wno-unknown-pragmas /clang:-Wno-misleading-indentation /FI"$out/cl_shim.h" \
            "${extra[@]}" "$f" /Fo"$d/$(basename "$f" .c).o" || fail=1
        n=$((n + 1))
    done
    echo "-- the same with __clang__ and __GNUC__ undefined (cl.exe's own branches): $n files, no warnings"
    check_isa "cl-branches-x86_64" "$d"
    if command -v llvm-objdump >/dev/null; then
        cpuid=$(llvm-objdump -d "$d/dispatch.o" | grep -cE 'cpuid|xgetbv' || true)
        [[ $cpuid -gt 0 ]] || { echo "   dispatch.o (cl.exe branch) has no cpuid/xgetbv" >&2; fail=1; }
        echo "   dispatch.o (cl.exe branch): __cpuidex/_xgetbv detection compiled ($cpuid instructions)"
    fi

    # a variant object built without its /arch flag must stop, not silently be baseline
    for v in isa_avx2 isa_avx512 gemm_avx2 gemm_avx512; do
        if msg=$("${CLANG_CL[@]}" --target=x86_64-pc-windows-msvc "${CLBASE[@]}" /FI"$out/msvc_shim.h" \
            "csrc/$v.c" /Fo"$out/noarch.o" 2>&1); then
            echo "   csrc/$v.c compiled without /arch in MSVC mode: the #error guard is missing" >&2
            fail=1
        elif ! grep -q "compile this file with /arch" <<<"$msg"; then
            echo "   csrc/$v.c without /arch failed for another reason:" >&2
            echo "$msg" | head -5 >&2
            fail=1
        fi
    done
    echo "   without their /arch flag the 4 variant sources stop at their #error (as intended)"
fi

if [[ $fail -ne 0 ]]; then
    echo "crosscheck: FAILED" >&2
    exit 1
fi
echo "crosscheck: OK"
