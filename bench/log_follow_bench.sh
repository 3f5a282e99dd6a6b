#!/usr/bin/env bash
# Lines per second a `log` check follows, against `tail -F | grep -c` over the
# same file with the same patterns, in the same run.
#   usage: bench/log_follow_bench.sh [BINARY] [LINES]
# The file is a backlog of LINES service-log lines (1 in 5000 matches), read
# from its start: the catch-up a follower does after a burst, where its
# throughput matters. Hale runs the check once (`hale-agent once`, one run
# with max_read_bytes above the file's size; process start, configuration and
# pattern compilation included); tail gets `--pid` of an ended process, so it
# reads to EOF and exits like a follower that has caught up. Both count the
# same matches (checked). Two pattern sets: 3 inline patterns vs
# `grep -E 'a|b|c'`, and the shipped knowledge base (config/patterns, the
# failure categories) vs `grep -E -f` of the same patterns rewritten to ERE.
# Runs are interleaved and repeated; the best of each is reported, wall and
# CPU time, user + system, children included (the machine may be shared: CPU
# time is the steadier figure).
set -euo pipefail
root=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
bin="${1:-$root/build/hale-agent}"
lines="${2:-2000000}"
runs="${RUNS:-3}"
work="${BENCH_DIR:-$(mktemp -d)}"
[[ -x "$bin" ]] || { echo "log_follow_bench: $bin not built (ninja -C build hale-agent)" >&2; exit 2; }
[[ -x /usr/bin/time ]] || { echo "log_follow_bench: needs /usr/bin/time" >&2; exit 2; }

log="$work/service.log"
awk -v n="$lines" 'BEGIN {
  srand(7)
  for (i = 1; i <= n; i++) {
    if (i % 15000 == 0) print "2026-12-03T17:00:00Z kernel: Out of memory: Killed process " i " (api) total-vm:912340kB"
    else if (i % 15000 == 5000) print "2026-12-03T17:00:00Z api[812]: ERROR dial tcp 10.0.0.5:5432: connect: connection refused"
    else if (i % 15000 == 10000) print "2026-12-03T17:00:00Z api[812]: FATAL x509: certificate has expired or is not yet valid"
    else printf "2026-12-03T17:00:%02dZ api[812]: request id=%d path=/v1/items/%d status=200 bytes=%d took=%dms\n", i % 60, i, int(rand() * 100000), int(rand() * 9000), int(rand() * 40)
  }
}' >"$log"
bytes=$(stat -c %s "$log")
expected=$((lines / 5000))

inline_re='Out of memory|connection refused|FATAL'
"$bin" patterns "$root/config/patterns" >"$work/re2.txt"
sed -E -e 's/\\d/[0-9]/g' -e 's/\(\?:/(/g' -e 's/\(\?i\)//g' -e 's/([+*])\?/\1/g' "$work/re2.txt" >"$work/ere.txt"
npat=$(wc -l <"$work/ere.txt")

config() {  # $1: the pattern keys
  cat >"$work/agent.toml" <<EOF
[agent]
region = "bench"
node = "bench"
state_dir = "$work/state"
[[check]]
name = "follow"
kind = "log"
path = "$log"
from_start = true
max_read_bytes = 17179869184
crit_matches = 1000000000
$1
EOF
}

sleep 0 & dead=$!
wait "$dead" || true
# Prints "wall cpu" (user + system, children included); the last line, since
# "Command exited with non-zero status" comes first (hale-agent once exits 1 on warn).
measure() {
  /usr/bin/time -f "%e %U %S" -o "$work/time" "$@" >"$work/out" 2>/dev/null || true
  tail -n1 "$work/time" | awk '{ printf "%s %.2f\n", $1, $2 + $3 }'
}
hale() { rm -rf "$work/state"; measure "$bin" once --config "$work/agent.toml"; }
best() { sort -n | head -1; }
matches_hale() { grep -oE '[0-9]+ match(es)? in' "$work/out" | grep -oE '^[0-9]+'; }

run_set() {  # $1 label, $2 hale pattern keys, $3.. grep arguments
  local label=$1 keys=$2
  shift 2
  config "$keys"
  cat "$log" >/dev/null
  : >"$work/h.t"
  : >"$work/g.t"
  local hm gm
  for _ in $(seq "$runs"); do
    hale >>"$work/h.t"
    hm=$(matches_hale)
    measure sh -c 'd=$1 f=$2; shift 2; tail -n +1 -F --pid="$d" "$f" 2>/dev/null | LC_ALL=C grep -c -E "$@"' sh "$dead" "$log" "$@" >>"$work/g.t"
    gm=$(cat "$work/out")
  done
  [[ "$hm" == "$gm" ]] || { echo "log_follow_bench: $label: hale counted $hm matches, grep $gm" >&2; exit 1; }
  read -r hw hu < <(best <"$work/h.t")
  read -r gw gu < <(best <"$work/g.t")
  printf "%-22s hale: %5.2f s wall %5.2f s CPU | tail -F | grep -c: %5.2f s wall %5.2f s CPU | %s matches\n" \
    "$label" "$hw" "$hu" "$gw" "$gu" "$hm"
  awk -v l="$label" -v n="$lines" -v hw="$hw" -v hu="$hu" -v gw="$gw" -v gu="$gu" 'BEGIN {
    hu = hu > 0 ? hu : 0.01; gu = gu > 0 ? gu : 0.01
    printf "REPORT|log check lines/s followed, %s (wall; per CPU second)|%.2fM (%.2fM)|%.2fM (%.2fM) (tail -F \\| grep -c)|%.2fx (%.2fx CPU)|-\n",
      l, n / hw / 1e6, n / hu / 1e6, n / gw / 1e6, n / gu / 1e6, gw / hw, gu / hu }'
}

echo "log: $lines lines, $((bytes / 1048576)) MB, $expected matching; best of $runs"
run_set "3 inline patterns" "patterns = ['Out of memory', 'connection refused', 'FATAL']" "$inline_re"
run_set "$npat KB patterns" "patterns_dir = \"$root/config/patterns\"" -f "$work/ere.txt"
[[ -n "${BENCH_DIR:-}" ]] || rm -rf "$work"
