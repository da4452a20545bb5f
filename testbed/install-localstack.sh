#!/usr/bin/env bash
# Installs LocalStack (host mode) into its own virtualenv $CACHE_DIR/localstack-venv (idempotent).
# localstack-core 4.13.1 is the newest release that runs on Python 3.11; its dependencies are resolved as of its
# release date (an unpinned resolution pulls cbor2 6.x, which breaks LocalStack's parser). The replication engine
# (testbed/replication_engine) runs in the same process and needs Principal Mapper, the independent IAM evaluator.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE_DIR="${CACHE_DIR:-$ROOT/.cache}"
LOCALSTACK_VERSION="${LOCALSTACK_VERSION:-4.13.1}"
LOCALSTACK_DATE="${LOCALSTACK_DATE:-2026-02-03}"
PMAPPER="principalmapper-0ca==1.1.5"
VENV="$CACHE_DIR/localstack-venv"
STAMP="$VENV/.crossrepl-stamp"
want="localstack-core[runtime]==$LOCALSTACK_VERSION $PMAPPER exclude-newer=$LOCALSTACK_DATE"

if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ] && [ -x "$VENV/bin/python" ]; then
  echo "install-localstack: $VENV has $want, skipping"
  exit 0
fi
"$ROOT/testbed/install-venv.sh"   # provides uv
start=$(date +%s)
echo "install-localstack: creating $VENV with $want"
rm -rf "$VENV"
"${PYTHON:-python3}" -m venv "$VENV"
UV_CACHE_DIR="$CACHE_DIR/uv-cache" "$CACHE_DIR/venv/bin/uv" pip install --quiet --python "$VENV/bin/python" \
  --exclude-newer "$LOCALSTACK_DATE" "localstack-core[runtime]==$LOCALSTACK_VERSION" "$PMAPPER"
"$VENV/bin/python" -c 'import localstack.services.s3.provider, localstack.runtime.main, principalmapper'
echo "$want" > "$STAMP"
echo "install-localstack: done in $(( $(date +%s) - start )) s"
