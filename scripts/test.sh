#!/usr/bin/env bash
# README command 2: installs what is missing, builds everything, runs every
# test, then builds the unit tests with AddressSanitizer + UndefinedBehavior-
# Sanitizer and runs them again, and once more with ThreadSanitizer.
#   ./scripts/test.sh               all of it
#   ./scripts/test.sh -L unit       only unit tests (arguments go to ctest; skips the sanitizer passes)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${HALE_BUILD_DIR:-$root/build}
"$root/scripts/deps.sh"
"$root/scripts/build.sh"
start=$(date +%s)
ctest --test-dir "$build" --output-on-failure -j "$(nproc)" "$@"
echo "tests: done in $(( $(date +%s) - start ))s"
if [[ $# -eq 0 && -z "${HALE_SKIP_SANITIZERS:-}" ]]; then
  asan=${HALE_ASAN_BUILD_DIR:-$root/build-asan}
  echo "tests: unit tests again under AddressSanitizer + UndefinedBehaviorSanitizer ($asan)"
  HALE_BUILD_DIR=$asan HALE_CMAKE_ARGS="-DHALE_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug" \
    "$root/scripts/build.sh" hale_unit_tests
  start=$(date +%s)
  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    "$asan/tests/hale_unit_tests" --no-intro=true
  echo "tests: sanitizer pass done in $(( $(date +%s) - start ))s"
  # Every unit test, the threaded ones (scheduler, engine, reload, pools, MQTT
  # client) included; optimised, as ThreadSanitizer's cost is per memory access.
  tsan=${HALE_TSAN_BUILD_DIR:-$root/build-tsan}
  echo "tests: unit tests again under ThreadSanitizer ($tsan)"
  HALE_BUILD_DIR=$tsan HALE_CMAKE_ARGS="-DHALE_SANITIZE=thread" "$root/scripts/build.sh" hale_unit_tests
  start=$(date +%s)
  TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 suppressions=$root/tests/tsan.supp" \
    "$tsan/tests/hale_unit_tests" --no-intro=true
  echo "tests: thread sanitizer pass done in $(( $(date +%s) - start ))s"
fi
