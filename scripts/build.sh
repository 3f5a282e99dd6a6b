#!/usr/bin/env bash
# Configures and builds Hale into ${HALE_BUILD_DIR:-build}. Extra arguments are
# build targets (default: everything).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${HALE_BUILD_DIR:-$root/build}
generator=()
if command -v ninja >/dev/null 2>&1; then generator=(-G Ninja); fi
launcher=()
# ccache, when installed, makes rebuilds of other checkouts (worktrees) cheap.
if command -v ccache >/dev/null 2>&1; then launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache); fi
if [[ ! -f "$build/CMakeCache.txt" ]]; then
  cmake -S "$root" -B "$build" "${generator[@]}" "${launcher[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo ${HALE_CMAKE_ARGS:-} >/dev/null
fi
targets=()
for t in "$@"; do targets+=(--target "$t"); done
start=$(date +%s)
if [[ -t 1 ]]; then
  cmake --build "$build" -j "$(nproc)" "${targets[@]}"
else
  # Piped (CI): keep the log short; compiler errors still come through.
  status=0
  cmake --build "$build" -j "$(nproc)" "${targets[@]}" 2>&1 | { grep -vE '^\[[0-9]+/[0-9]+\] ' || true; } || status=$?
  [[ $status -eq 0 ]] || { echo "build: failed" >&2; exit "$status"; }
fi
echo "build: done in $(( $(date +%s) - start ))s ($build)"
