#!/usr/bin/env bash
# Creates the test-bed virtualenv $CACHE_DIR/venv with uv and testbed/requirements.txt (idempotent).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE_DIR="${CACHE_DIR:-$ROOT/.cache}"
UV_VERSION="${UV_VERSION:-0.13.9}"
PY_DATE="${TESTBED_PY_DATE:-2026-11-20}"   # transitive dependencies as of this date
VENV="$CACHE_DIR/venv"
REQ="$ROOT/testbed/requirements.txt"
STAMP="$VENV/.crossrepl-stamp"
want="$(sha256sum "$REQ" | cut -d' ' -f1) uv=$UV_VERSION date=$PY_DATE"

if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ] && [ -x "$VENV/bin/python" ]; then
  echo "install-venv: $VENV is up to date, skipping"
  exit 0
fi
start=$(date +%s)
PYTHON="${PYTHON:-python3}"
echo "install-venv: creating $VENV with $($PYTHON --version)"
"$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "uv==$UV_VERSION"
export UV_CACHE_DIR="$CACHE_DIR/uv-cache"
echo "install-venv: installing $(grep -v '^#' "$REQ" | xargs) (dependencies as of $PY_DATE)"
"$VENV/bin/uv" pip install --quiet --python "$VENV/bin/python" --exclude-newer "$PY_DATE" -r "$REQ"
echo "$want" > "$STAMP"
echo "install-venv: done in $(( $(date +%s) - start )) s"
