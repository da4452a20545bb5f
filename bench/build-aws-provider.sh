#!/usr/bin/env bash
# Builds hashicorp/aws (github.com/hashicorp/terraform-provider-aws) from the Go module proxy into
# $CACHE_DIR/bench/aws-provider/, for the end-to-end comparison in `bench/bench.py` (section `aws`); idempotent.
# Opt-in and never part of CI or `make test`: a large build (hundreds of AWS SDK packages; 68 minutes on 2 cores,
# an 862 MiB binary). `BENCH_AWS=build make bench` runs it first; `make bench` uses the binary when it is there
# and skips the comparison with a message when it is not.
#
# The newest code on the proxy is a pseudo-version of the main branch: the module path has no /v6 suffix, so the
# proxy only lists the old tagged v1.60.0 and pseudo-versions of later commits. Its go.mod has a `godebug` line,
# so `go install ...@version` refuses it; this script builds inside a writable copy of the module zip instead,
# with the module's own go.mod and go.sum (the dependency versions upstream releases with).
#
# Layout of the result (a dev_overrides directory, see bench.py):
#   $CACHE_DIR/bench/aws-provider/terraform-provider-aws   the binary
#   $CACHE_DIR/bench/aws-provider/build.json               module version, commit, build seconds, size
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE_DIR="${CACHE_DIR:-$ROOT/.cache}"
MODULE=github.com/hashicorp/terraform-provider-aws
# main-branch commit 5f2286d6d836 of 2026-06-02 (CHANGELOG: 6.48.0 unreleased, after v6.47.0)
AWS_MODULE_VERSION="${AWS_MODULE_VERSION:-v1.60.1-0.20260602190131-5f2286d6d836}"
AWS_PROVIDER_VERSION="${AWS_PROVIDER_VERSION:-6.48.0-dev}"
OUT="$CACHE_DIR/bench/aws-provider"
BIN="$OUT/terraform-provider-aws"
WORK="$CACHE_DIR/aws-provider-build"

if [ -x "$BIN" ] && [ -f "$OUT/build.json" ] && grep -q "\"module_version\": \"${AWS_MODULE_VERSION}\"" "$OUT/build.json"; then
  echo "build-aws-provider: $BIN is already ${MODULE}@${AWS_MODULE_VERSION}, skipping"
  cat "$OUT/build.json"
  exit 0
fi

GO_ENV_CALLER=build-aws-provider
# shellcheck source=testbed/go-env.sh
. "$ROOT/testbed/go-env.sh"
export GOPROXY="${GOPROXY:-https://proxy.golang.org}"
mkdir -p "$WORK" "$OUT"
start=$(date +%s)

echo "build-aws-provider: $(go version); downloading ${MODULE}@${AWS_MODULE_VERSION}"
DIR=$(cd "$WORK" && go mod download -json "${MODULE}@${AWS_MODULE_VERSION}" |
      python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')

echo "build-aws-provider: copying the module to a writable tree ($WORK/src)"
rm -rf "$WORK/src"
mkdir -p "$WORK/src"
# the docs, website and changelog are not needed to build
tar -C "$DIR" --exclude=./website --exclude=./docs --exclude=./.changelog --exclude=./examples -cf - . |
  tar -C "$WORK/src" -xf -
chmod -R u+w "$WORK/src"
cd "$WORK/src"

echo "build-aws-provider: downloading dependencies"
t=$(date +%s)
go mod download 2>&1 | tail -n 5
download_s=$(( $(date +%s) - t ))
echo "build-aws-provider: dependencies in ${download_s} s"

echo "build-aws-provider: building (CGO_ENABLED=0, -trimpath -s -w; about 70 min on 2 cores when cold)"
t=$(date +%s)
go build -trimpath -ldflags "-s -w -X ${MODULE}/version.ProviderVersion=${AWS_PROVIDER_VERSION}" -o "$BIN.tmp" .
build_s=$(( $(date +%s) - t ))
mv "$BIN.tmp" "$BIN"
total_s=$(( $(date +%s) - start ))
size=$(stat -c %s "$BIN")
cat > "$OUT/build.json" <<JSON
{
  "module": "${MODULE}",
  "module_version": "${AWS_MODULE_VERSION}",
  "provider_version": "${AWS_PROVIDER_VERSION}",
  "go": "$(go env GOVERSION)",
  "cores": $(nproc),
  "download_seconds": ${download_s},
  "build_seconds": ${build_s},
  "total_seconds": ${total_s},
  "binary_bytes": ${size},
  "built": "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
}
JSON
echo "build-aws-provider: built $BIN ($(( size / 1048576 )) MiB)"
echo "build-aws-provider: dependencies ${download_s} s, compile+link ${build_s} s, total ${total_s} s"
