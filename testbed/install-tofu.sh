#!/usr/bin/env bash
# Builds OpenTofu from the Go module proxy into $CACHE_DIR/bin/tofu (idempotent).
# OpenTofu's go.mod has `replace` and `godebug` lines, so `go install ...@version` refuses it: build from a tiny
# generated wrapper module that requires OpenTofu and repeats those lines.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE_DIR="${CACHE_DIR:-$ROOT/.cache}"
TOFU_VERSION="${TOFU_VERSION:-v1.12.6}"   # newest stable on the proxy that builds with Go 1.26.8 (needs Go >= 1.26.6)
MODULE=github.com/opentofu/opentofu
BIN="$CACHE_DIR/bin/tofu"

installed_version() { env -u TF_CLI_CONFIG_FILE "$BIN" version 2>/dev/null | sed -n 1p; }
if [ -x "$BIN" ] && [ "$(installed_version)" = "OpenTofu ${TOFU_VERSION}" ]; then
  echo "install-tofu: $BIN is already OpenTofu ${TOFU_VERSION}, skipping"
  exit 0
fi

GO_ENV_CALLER=install-tofu
# shellcheck source=testbed/go-env.sh
. "$ROOT/testbed/go-env.sh"
WORK="$CACHE_DIR/tofu-build"
mkdir -p "$WORK" "$CACHE_DIR/bin"
start=$(date +%s)

echo "install-tofu: $(go version); downloading ${MODULE}@${TOFU_VERSION} module"
cd "$WORK"
GOMOD_FILE=$(go mod download -json "${MODULE}@${TOFU_VERSION}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["GoMod"])')

echo "install-tofu: generating wrapper module from $GOMOD_FILE"
{
  echo "module crossrepl.invalid/tofubuild"
  echo
  # repeat the `go`, `godebug` and `replace` directives (single lines and blocks) of OpenTofu's go.mod
  awk '
    inblock { print; if ($0 ~ /^\)/) { inblock = 0; print "" }; next }
    /^go [0-9]/ { print; print ""; next }
    /^(godebug|replace)[ \t]*\($/ { print; inblock = 1; next }
    /^(godebug|replace)[ \t]/ { print; next }
  ' "$GOMOD_FILE"
  echo
  echo "require ${MODULE} ${TOFU_VERSION}"
} > go.mod
rm -f go.sum
cat > tools.go <<'GO'
//go:build tools

package tools

import _ "github.com/opentofu/opentofu/cmd/tofu"
GO

echo "install-tofu: resolving dependencies"
go mod tidy 2> tidy.log || { cat tidy.log >&2; exit 1; }
echo "install-tofu: $(grep -c '^go: downloading' tidy.log || true) modules downloaded"
echo "install-tofu: building (CGO_ENABLED=0, release ldflags; several minutes on 2 cores when cold)"
go build -trimpath -ldflags "-s -w -X ${MODULE}/version.dev=no" -o "$BIN.tmp" "${MODULE}/cmd/tofu"
mv "$BIN.tmp" "$BIN"
echo "install-tofu: built $(installed_version)"
echo "install-tofu: done in $(( $(date +%s) - start )) s"
