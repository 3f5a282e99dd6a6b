#!/usr/bin/env bash
# README command 2: installs what is missing, builds everything, runs every test.
#   ./scripts/test.sh            all tests
#   ./scripts/test.sh -L unit    only unit tests (any ctest arguments pass through)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${HALE_BUILD_DIR:-$root/build}
"$root/scripts/deps.sh"
"$root/scripts/build.sh"
start=$(date +%s)
ctest --test-dir "$build" --output-on-failure -j "$(nproc)" "$@"
echo "tests: done in $(( $(date +%s) - start ))s"
