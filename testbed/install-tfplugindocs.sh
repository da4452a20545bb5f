#!/usr/bin/env bash
# Builds HashiCorp's docs validator `tfplugindocs` from the Go module proxy into $CACHE_DIR/bin/tfplugindocs
# (idempotent: a stamp next to the binary records the version it was built from).
# terraform-plugin-docs' go.mod has no `replace` or `godebug` lines, so plain `go install module@version` works; the
# version is stamped into the binary with the same -X flag HashiCorp's release build sets.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE_DIR="${CACHE_DIR:-$ROOT/.cache}"
TFPLUGINDOCS_VERSION="${TFPLUGINDOCS_VERSION:-v0.25.0}"   # newest the Go module proxy serves (go list -m -versions)
MODULE=github.com/hashicorp/terraform-plugin-docs
BIN="$CACHE_DIR/bin/tfplugindocs"
STAMP="$CACHE_DIR/bin/.tfplugindocs.version"

if [ -x "$BIN" ] && [ "$(cat "$STAMP" 2>/dev/null)" = "$TFPLUGINDOCS_VERSION" ]; then
  echo "install-tfplugindocs: $BIN is already ${TFPLUGINDOCS_VERSION}, skipping"
  exit 0
fi

GO_ENV_CALLER=install-tfplugindocs
# shellcheck source=testbed/go-env.sh
. "$ROOT/testbed/go-env.sh"
mkdir -p "$CACHE_DIR/bin"
start=$(date +%s)
TMP_BIN=$(mktemp -d "$CACHE_DIR/bin/.tfplugindocs-build.XXXXXX")
trap 'rm -rf "$TMP_BIN"' EXIT

echo "install-tfplugindocs: $(go version); building ${MODULE}/cmd/tfplugindocs@${TFPLUGINDOCS_VERSION}"
GOBIN="$TMP_BIN" go install -trimpath \
  -ldflags "-s -w -X ${MODULE}/cmd/tfplugindocs/build.version=${TFPLUGINDOCS_VERSION#v}" \
  "${MODULE}/cmd/tfplugindocs@${TFPLUGINDOCS_VERSION}"
mv "$TMP_BIN/tfplugindocs" "$BIN"
echo "$TFPLUGINDOCS_VERSION" > "$STAMP"
echo "install-tfplugindocs: built $("$BIN" --version 2>&1 | head -1)"
echo "install-tfplugindocs: done in $(( $(date +%s) - start )) s"
