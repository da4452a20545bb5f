#!/usr/bin/env bash
# Coverage-guided fuzzing of the wire decoder: libFuzzer via cargo-fuzz, on stable Rust (`-s none`: no sanitizer,
# so no nightly). Installs cargo-fuzz into the cache on first use, builds the targets, runs each for SECONDS, and
# prints the executions run and whether anything crashed.
#
#   fuzz/run.sh [SECONDS] [TARGET...]     SECONDS per target (default 20); targets default to all of them
#
# Environment:
#   CACHE_DIR    cache root (default: <repo>/.cache); everything goes under $CACHE_DIR/fuzz
#   FUZZ_MERGE=1 afterwards, merge inputs that add coverage from the working corpus into fuzz/corpus/<target>/
#   FUZZ_ARGS    extra libFuzzer flags, e.g. FUZZ_ARGS='-seed=1 -runs=100000'
#
# Corpora: fuzz/corpus/<target>/ (committed seeds, read only here) plus $CACHE_DIR/fuzz/corpus/<target>/ (the
# working corpus, where libFuzzer writes what it finds). A crash input lands in fuzz/artifacts/<target>/ (git-ignored);
# reproduce it with `<binary> <file>`, the binary path is printed. Exit status: 0 clean, 1 crash (or a failed
# build or install).
set -euo pipefail

# All in one function, parsed before it runs: editing this file during a long run cannot derail that run.
main() {
  SECS=${1:-20}
  shift || true
  [[ $SECS =~ ^[0-9]+$ ]] || { echo "usage: fuzz/run.sh [SECONDS] [TARGET...]" >&2; return 2; }

  FUZZ_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
  ROOT=$(dirname "$FUZZ_DIR")
  CACHE=${CACHE_DIR:-$ROOT/.cache}/fuzz
  TOOLS=$CACHE/tools
  TARGET_DIR=$CACHE/target
  CARGO_FUZZ_VERSION=0.13.2
  ALL_TARGETS=(msgpack_decode json_decode type_json)
  TARGETS=("$@")
  [[ ${#TARGETS[@]} -gt 0 ]] || TARGETS=("${ALL_TARGETS[@]}")

  # libFuzzer flags: inputs up to 4 KiB; an RSS above 512 MB or an input taking over 10 s is a failure. (Without a
  # sanitizer libFuzzer cannot see single mallocs; the targets' allocator aborts on any allocation above 64 MiB.)
  LIBFUZZER_FLAGS=(-max_len=4096 -rss_limit_mb=512 -timeout=10 -print_final_stats=1)

  step() { echo "==> [$(date +%T)] fuzz: $*"; }

  # 1. cargo-fuzz, pinned, installed once into the cache.
  if ! "$TOOLS/bin/cargo-fuzz" --version 2>/dev/null | grep -qx "cargo-fuzz $CARGO_FUZZ_VERSION"; then
    step "installing cargo-fuzz $CARGO_FUZZ_VERSION into $TOOLS"
    cargo install cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked --root "$TOOLS" --quiet
  fi
  export PATH="$TOOLS/bin:$PATH"

  # 2. Build all targets (release, debug assertions, sancov instrumentation; the cache's own target dir).
  step "building ${TARGETS[*]} (stable, -s none)"
  t0=$(date +%s)
  build() {
    local rc=0
    (cd "$ROOT" && cargo fuzz build -s none --target-dir "$TARGET_DIR" "$@") >"$CACHE/build.log" 2>&1 || rc=$?
    grep -v -E '^\s*(Compiling|Downloaded|Downloading) ' "$CACHE/build.log" || true
    [[ $rc -eq 0 ]] || { echo "fuzz: build failed (exit $rc); full log: $CACHE/build.log" >&2; exit 1; }
  }
  mkdir -p "$CACHE"
  if [[ ${#TARGETS[@]} -eq ${#ALL_TARGETS[@]} ]]; then
    build                      # all targets in one cargo invocation
  else
    for t in "${TARGETS[@]}"; do build "$t"; done
  fi
  step "built in $(( $(date +%s) - t0 )) s"
  HOST=$(rustc -vV | sed -n 's/^host: //p')
  BIN_DIR=$TARGET_DIR/$HOST/release

  # 3. Run each target.
  status=0
  summary=()
  total_runs=0
  for t in "${TARGETS[@]}"; do
    bin=$BIN_DIR/$t
    [[ -x $bin ]] || { echo "fuzz: no binary $bin" >&2; exit 1; }
    work=$CACHE/corpus/$t
    seeds=$FUZZ_DIR/corpus/$t
    artifacts=$FUZZ_DIR/artifacts/$t
    log=$CACHE/logs/$t.log
    mkdir -p "$work" "$seeds" "$artifacts" "$(dirname "$log")"
    marker=$CACHE/logs/$t.started
    touch "$marker"
    step "running $t for ${SECS}s (log: $log)"
    rc=0
    started=$(date +%s)
    dict=()
    [[ -f $FUZZ_DIR/dict/$t.dict ]] && dict=(-dict="$FUZZ_DIR/dict/$t.dict")
    # shellcheck disable=SC2086
    "$bin" "${LIBFUZZER_FLAGS[@]}" "${dict[@]}" -max_total_time="$SECS" -artifact_prefix="$artifacts/" ${FUZZ_ARGS:-} \
      "$work" "$seeds" >"$log" 2>&1 || rc=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1 || true)
    [[ -n $runs ]] || runs=$(grep -oE '^#[0-9]+' "$log" | tail -1 | tr -d '#' || true)
    runs=${runs:-0}
    secs=$(( $(date +%s) - started ))
    (( secs > 0 )) || secs=1
    cov=$(grep -oE 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+' "$log" | tail -1 || true)
    new_artifacts=$(find "$artifacts" -type f -newer "$marker" | wc -l)
    total_runs=$(( total_runs + runs ))
    if [[ $rc -ne 0 || $new_artifacts -gt 0 ]]; then
      status=1
      result="CRASH (exit $rc)"
      echo "---- $t: libFuzzer exited $rc; what it reported (full log: $log):"
      grep -E -A3 "panicked at|crossrepl-fuzz: |ERROR: libFuzzer|^SUMMARY" "$log" | grep -v -E '^\s+[0-9]+: |^\s+at ' | head -40 || true
      for f in $(find "$artifacts" -type f -newer "$marker" | head -5); do
        echo "---- input $f ($(stat -c %s "$f") bytes), hex:"
        od -An -tx1 -v "$f" | tr -d ' \n' | head -c 2000; echo
        echo "reproduce: $bin $f"
      done
    else
      result="ok"
    fi
    summary+=("$(printf '%-16s %12s runs %6s s %9s exec/s  %-32s %s' "$t" "$runs" "$secs" "$(( runs / secs ))" "$cov" "$result")")
    if [[ ${FUZZ_MERGE:-0} == 1 && $rc -eq 0 ]]; then
      step "merging new coverage of $t into fuzz/corpus/$t"
      "$bin" -merge=1 -max_len=4096 -rss_limit_mb=512 "$seeds" "$work" >>"$log" 2>&1
    fi
  done

  echo "==> fuzz summary (${SECS}s per target, libFuzzer via cargo-fuzz $CARGO_FUZZ_VERSION, stable Rust, no sanitizer)"
  printf '%s\n' "${summary[@]}"
  echo "total executions: $total_runs"
  if [[ $status -ne 0 ]]; then
    echo "fuzz: CRASH found (inputs under fuzz/artifacts/)" >&2
  else
    echo "fuzz: no crash"
  fi
  return $status
}

main "$@"
exit $?
