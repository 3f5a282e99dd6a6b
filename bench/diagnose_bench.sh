#!/usr/bin/env bash
# Diagnosis throughput vs `LC_ALL=C grep -E -c -f` over the same patterns and
# peak RSS. (The overhead of `exec`: bench/exec_overhead_bench.sh.)
#   usage: bench/diagnose_bench.sh [BINARY] [LOG_MB]
# BINARY needs the `diagnose` and `patterns` subcommands (default:
# build/hale-agent). Runs are interleaved and repeated; the best
# of each is reported, since the machine may be shared.
set -euo pipefail
root=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
bin="${1:-$root/build/hale-agent}"
size_mb="${2:-220}"
runs="${RUNS:-3}"
patterns="$root/config/patterns"
work="${BENCH_DIR:-$(mktemp -d)}"
[[ -x "$bin" ]] || { echo "diagnose_bench: $bin not built (ninja -C build hale-agent)" >&2; exit 2; }
[[ -x /usr/bin/time ]] || { echo "diagnose_bench: needs /usr/bin/time" >&2; exit 2; }

log="$work/build-$size_mb.log"
[[ -s "$log" ]] || "$root/bench/gen_build_log.sh" "$size_mb" >"$log"
bytes=$(stat -c %s "$log")

# The same patterns for grep: RE2 syntax rewritten to ERE (\d, (?:, (?i), lazy ops).
"$bin" patterns "$patterns" >"$work/re2.txt"
sed -E -e 's/\\d/[0-9]/g' -e 's/\(\?:/(/g' -e 's/\(\?i\)//g' -e 's/([+*])\?/\1/g' "$work/re2.txt" >"$work/ere.txt"
npat=$(wc -l <"$work/ere.txt")

# Prints "wall user maxrss_kb" of a command. Output goes to a real file: GNU
# grep stops at the first match when its output is /dev/null.
measure() { /usr/bin/time -f "%e %U %M" -o "$work/time" "$@" >"$work/out" 2>/dev/null || true; cat "$work/time"; }
best() { sort -n | head -1; }

cat "$log" >/dev/null  # warm the page cache for both
: >"$work/hale.t"; : >"$work/grep.t"
for _ in $(seq "$runs"); do
  measure "$bin" diagnose --patterns "$patterns" "$log" >>"$work/hale.t"
  measure env LC_ALL=C grep -E -c -f "$work/ere.txt" "$log" >>"$work/grep.t"
done
read -r hw hu hrss < <(best <"$work/hale.t")
read -r gw gu grss < <(best <"$work/grep.t")
mbps() { awk -v b="$bytes" -v s="$1" 'BEGIN { printf "%.0f", (s > 0 ? b / 1048576 / s : 0) }'; }
echo "log: $((bytes / 1048576)) MB, $npat patterns, best of $runs"
printf "hale diagnose : %5.2f s wall (%4s MB/s), %5.2f s user (%4s MB/s), peak RSS %d MB\n" "$hw" "$(mbps "$hw")" "$hu" "$(mbps "$hu")" $((hrss / 1024))
printf "grep -E -c -f : %5.2f s wall (%4s MB/s), %5.2f s user (%4s MB/s), peak RSS %d MB\n" "$gw" "$(mbps "$gw")" "$gu" "$(mbps "$gu")" $((grss / 1024))
awk -v a="$gw" -v b="$hw" -v c="$gu" -v d="$hu" 'BEGIN { printf "speed-up vs grep: %.2fx wall, %.2fx user CPU\n", a / b, c / d }'

# Rows for bench/run's report: figure | Hale | baseline | ratio | goal
awk -v hw="$hw" -v gw="$gw" -v b="$bytes" -v r="$hrss" -v n="$npat" 'BEGIN {
  printf "REPORT|diagnosis throughput, %d patterns, full diagnosis (MB/s)|%.0f|%.0f (LC_ALL=C grep -E -c -f)|%.2fx|>= 1.5x grep\n", n, b/1048576/hw, b/1048576/gw, gw/hw
  printf "REPORT|diagnosis peak RSS (MB)|%d|-|-|< 64 MB\n", r/1024 }'
[[ -n "${BENCH_DIR:-}" ]] || rm -rf "$work"
