#!/usr/bin/env bash
# API latency at fleet scale: an aggregator database seeded with NODES simulated
# nodes (10 checks each, 5 % with an open critical issue, 10 % offline) in 4
# regions, then REQUESTS sequential keep-alive GETs per endpoint. The baseline,
# measured in the same run, is /health: the server's floor for any request.
#   bench/api_bench.sh [NODES] [REQUESTS]       (default 10000 x 2000)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${HALE_BUILD_DIR:-$root/build}
nodes=${1:-10000} requests=${2:-2000}
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
cmake --build "$build" --target hale-api-bench hale-aggregator >/dev/null
free_port() { while :; do local p=$((20000 + RANDOM % 40000)); (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }; done; }
"$build/bench/hale-api-bench" seed "$work/aggregator.db" "$nodes" 4 >/dev/null
http=$(free_port) mqtt=$(free_port)
"$root/scripts/dev-pki.sh" "$work/pki" >/dev/null
# No broker: the API is measured alone (the MQTT client keeps retrying quietly).
cat > "$work/aggregator.toml" <<TOML
[aggregator]
database = "$work/aggregator.db"
[http]
listen = "127.0.0.1:$http"
[mqtt]
url = "mqtts://localhost:$mqtt"
ca_file = "$work/pki/ca.crt"
cert_file = "$work/pki/aggregator.crt"
key_file = "$work/pki/aggregator.key"
TOML
"$build/hale-aggregator" run --config "$work/aggregator.toml" >"$work/aggregator.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$http/health" >/dev/null && break; sleep 0.1; done
measure() { "$build/bench/hale-api-bench" get "$http" "$1" "$requests"; }
measure /api/v1/fleet/health >/dev/null  # warm the page cache and the score cache
read -r base50 base99 _ < <(measure /health)
echo "baseline /health: p50 ${base50} ms, p99 ${base99} ms"
for path in /api/v1/fleet/health "/api/v1/nodes?limit=50" "/api/v1/nodes?region=region1&limit=50&offset=1000"; do
  read -r p50 p99 max < <(measure "$path")
  echo "$path: p50 $p50 ms, p99 $p99 ms, max $max ms"
  awk -v path="$path" -v n="$nodes" -v a="$p50" -v b="$p99" -v c="$base99" 'BEGIN {
    printf "REPORT|GET %s at %d nodes: p50 / p99 (ms)|%.2f / %.2f|/health p99 %.2f|%.1fx|p99 < 10 ms\n", path, n, a, b, c, b / c }'
done
