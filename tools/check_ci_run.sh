#!/usr/bin/env bash
# .ci/run must run exactly the README's test command (the Quick start line that runs
# pytest, without its comment), and nothing else.
set -euo pipefail
cd "$(dirname "$0")/.."
readme=$(sed -n '/^## Quick start/,/^## /p' README.md | grep -m1 'python -m pytest' |
    sed 's/[[:space:]]*#.*$//')
ci=$(grep -v -e '^[[:space:]]*#' -e '^[[:space:]]*$' -e '^set ' -e '^cd ' .ci/run)
if [ "$readme" != "$ci" ]; then
    printf 'README: %s\n.ci/run: %s\n' "$readme" "$ci" >&2
    exit 1
fi
echo "ok: .ci/run runs the README's command: $ci"
