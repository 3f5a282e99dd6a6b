#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (+ ASan/UBSan) and runs each for a
# while, starting from tests/fuzz/corpus/<name>/ (new inputs go to build-fuzz/corpus).
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]    (default 60 s, all targets)
# HALE_FUZZ_RUNS=N stops a target after N executions (SECONDS stays the cap).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
seconds=${1:-60}
shift || true
build=$root/build-fuzz
if ! command -v clang++-14 >/dev/null; then
  sudo_cmd=""; [[ $(id -u) -ne 0 ]] && sudo_cmd=sudo
  $sudo_cmd apt-get install -y -qq --no-install-recommends clang-14 libclang-rt-14-dev >/dev/null
fi
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++-14 \
  -DCMAKE_C_COMPILER=clang-14 -DHALE_FUZZ=ON -DHALE_SANITIZE=ON >/dev/null
targets=("$@")
if [[ ${#targets[@]} -eq 0 ]]; then
  for f in "$root"/tests/fuzz/*_fuzz.cpp; do targets+=("$(basename "$f" .cpp)"); done
fi
cmake --build "$build" -j "$(nproc)" --target "${targets[@]}"
for t in "${targets[@]}"; do
  corpus=${t%_fuzz}
  mkdir -p "$build/corpus/$corpus"
  echo "== $t for ${seconds}s"
  runs=(); [[ -n ${HALE_FUZZ_RUNS:-} ]] && runs=(-runs="$HALE_FUZZ_RUNS")
  "$build/tests/$t" -max_total_time="$seconds" "${runs[@]}" -print_final_stats=1 "$build/corpus/$corpus" \
    "$root/tests/fuzz/corpus/$corpus" 2>&1 | grep -E "^(stat::number_of_executed_units|stat::peak_rss_mb|==[0-9]+==|SUMMARY)|Done [0-9]+ runs" || true
done
