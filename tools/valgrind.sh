#!/usr/bin/env bash
# Optional: memcheck over the leak-check loop of tests/test_leaks.py (every op family,
# small and 1 MiB tensors) with PYTHONMALLOC=malloc. CPython and NumPy report their own
# start-up noise, so only reports whose stack passes through rcmlrs (the _tensor
# extension or an rcml_* kernel) fail the run. Needs a built rcmlrs on PYTHONPATH or
# installed, and valgrind (apt-get install valgrind).
#   PYTHONPATH=. tools/valgrind.sh
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PY=$("${PYTHON:-python3}" -c "import sys; print(sys.executable)") # not a pyenv shim
LOG=$(mktemp "${TMPDIR:-/tmp}/rcmlrs-valgrind.XXXXXX.log")
cat > "$LOG.py" <<PYEOF
import sys
sys.path.insert(0, "$ROOT/tests")
import test_leaks
for _ in range(3):
    test_leaks.one_round()
test_leaks.one_round(1 << 18)
print("valgrind loop: done")
PYEOF
PYTHONMALLOC=malloc valgrind --tool=memcheck --leak-check=full --show-leak-kinds=definite --errors-for-leak-kinds=definite \
    --num-callers=30 --log-file="$LOG" "$PY" "$LOG.py"
"$PY" - "$LOG" <<'PYEOF'
import re, sys
text = open(sys.argv[1]).read()
blocks = re.split(r"\n==\d+== \n", text)
ours = [b for b in blocks if "_tensor." in b or "rcml_" in b]
summary = re.findall(r"ERROR SUMMARY: .*", text)
print(f"valgrind: {summary[-1] if summary else '?'} in total; {len(ours)} involve rcmlrs")
for b in ours:
    print(b, "\n----")
sys.exit(1 if ours else 0)
PYEOF
rm -f "$LOG" "$LOG.py"
