# Sourced (never run) by the scripts that build Go programs from the module proxy (testbed/install-tofu.sh,
# bench/build-aws-provider.sh): one Go workspace and build cache inside $CACHE_DIR, the machine's own Go
# toolchain, static binaries, and a module cache the scripts may clean. Needs CACHE_DIR and the caller's name in
# GO_ENV_CALLER (for the error message).
command -v go >/dev/null || { echo "${GO_ENV_CALLER:-go-env}: go is not on PATH" >&2; exit 1; }
export GOPATH="$CACHE_DIR/go"
export GOMODCACHE="$CACHE_DIR/go/pkg/mod"
export GOCACHE="$CACHE_DIR/go-build"
export GOTOOLCHAIN=local
export CGO_ENABLED=0
export GOFLAGS="-mod=mod -modcacherw -buildvcs=false"
