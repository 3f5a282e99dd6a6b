#!/usr/bin/env bash
# Ingest throughput: N simulated agents publish QoS 1 telemetry over mutual TLS
# -> Mosquitto -> hale-aggregator -> SQLite (committed), compared in the same
# run with the broker's raw ceiling: a subscriber that only counts
# (mosquitto_sub as the aggregator's identity). Also the aggregator's CPU
# time and peak RSS, and the end-to-end latency (the envelope's sent_at, set
# by the load generator when it publishes -> SQLite commit) as p50/p99 from the
# aggregator's hale_ingest_latency_seconds histogram (interpolated in buckets).
# The load comes from LOADGENS processes (one load generator alone could not
# saturate the broker), each publishing as NODES/LOADGENS agents.
#   bench/ingest_bench.sh [NODES] [MESSAGES_PER_NODE] [LOADGENS]   (default 20 x 5000, 4)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${HALE_BUILD_DIR:-$root/build}
nodes=${1:-20} per=${2:-5000} gens=${3:-4}
(( nodes % gens == 0 )) || { echo "NODES must be a multiple of LOADGENS" >&2; exit 64; }
total=$((nodes * per)) per_gen=$((nodes / gens))
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
cmake --build "$build" --target hale-load-gen hale-aggregator >/dev/null
free_port() { while :; do local p=$((20000 + RANDOM % 40000)); (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }; done; }
names=(); for g in $(seq 0 $((gens - 1))); do for i in $(seq 0 $((per_gen - 1))); do names+=("g${g}n$i" "p${g}n$i"); done; done
"$root/scripts/dev-pki.sh" "$work/pki" "${names[@]}" >/dev/null
port=$(free_port) http=$(free_port)
"$root/scripts/broker-config.sh" "$port" "$work/pki" "$work/broker" > "$work/mosquitto.conf"
mosquitto -c "$work/mosquitto.conf" >"$work/mosquitto.log" 2>&1 &
broker=$!
pids+=($broker)
for _ in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
now() { date +%s.%N; }
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
# percent of one core used by a process between two tick counts over [t0, t1]
pct() { awk -v c="$(($2 - $1))" -v a="$3" -v b="$4" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.0f", 100 * c / hz / (b - a) }'; }
load() {
  local g gen_pids=()
  for g in $(seq 0 $((gens - 1))); do
    "$build/bench/hale-load-gen" "mqtts://localhost:$port" "$work/pki" bench "g${g}n" "$per_gen" "$per" >"$work/load$g.log" &
    gen_pids+=($!)
  done
  for g in "${gen_pids[@]}"; do wait "$g"; done
}

# 1. The broker's ceiling: publish the same load to a subscriber that only counts.
mosquitto_sub -h localhost -p "$port" --cafile "$work/pki/ca.crt" --cert "$work/pki/aggregator.crt" \
  --key "$work/pki/aggregator.key" -V mqttv5 -q 1 -t 'hale/v1/+/+/telemetry' -C "$total" >/dev/null &
sub=$!
sleep 1
b0=$(ticks "$broker")
t0=$(now); load; wait "$sub"; t1=$(now)
broker_ceiling_cpu=$(pct "$b0" "$(ticks "$broker")" "$t0" "$t1")
ceiling=$(awk -v n="$total" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", n / (b - a) }')

# 2. Hale: the same load into the aggregator, until every message is committed.
cat > "$work/aggregator.toml" <<TOML
[aggregator]
database = "$work/aggregator.db"
client_id = "hale-aggregator"
[http]
listen = "127.0.0.1:$http"
[mqtt]
url = "mqtts://localhost:$port"
ca_file = "$work/pki/ca.crt"
cert_file = "$work/pki/aggregator.crt"
key_file = "$work/pki/aggregator.key"
TOML
"$build/hale-aggregator" run --config "$work/aggregator.toml" >"$work/aggregator.log" 2>&1 &
agg=$!
pids+=($agg)
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$http/ready" >/dev/null && break; sleep 0.1; done
scrape() { curl -fs "http://127.0.0.1:$http/metrics" | grep '^hale_ingest_latency_seconds_bucket' >"$1"; }
stored() { curl -fs "http://127.0.0.1:$http/metrics" | awk '/^hale_ingest_messages_total\{outcome="stored"\}/ { print $2 }'; }
scrape "$work/m0"
cpu0=$(ticks "$agg") b0=$(ticks "$broker")
t0=$(now); load
while [[ $(stored) -lt $total ]]; do sleep 0.05; done
t1=$(now)
cpu1=$(ticks "$agg") b1=$(ticks "$broker")
rss=$(awk '/VmHWM/ { print int($2 / 1024) }' "/proc/$agg/status")
hale=$(awk -v n="$total" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", n / (b - a) }')
cpu=$(pct "$cpu0" "$cpu1" "$t0" "$t1") broker_cpu=$(pct "$b0" "$b1" "$t0" "$t1")
# pQ of the latency histogram between two /metrics scrapes (files), interpolated
# linearly inside the bucket as Prometheus' histogram_quantile does.
quantile() {
  awk -v q="$1" -F'[ "]' '
    FNR == NR { base[$2] = $4; next }
    { le[n] = $2; c[n] = $4 - base[$2]; n++ }
    END { want = q * c[n - 1]; lo = 0; prev = 0
          for (i = 0; i < n; i++) { if (c[i] >= want) { hi = (le[i] == "+Inf") ? lo : le[i]
                                      f = (c[i] > prev) ? (want - prev) / (c[i] - prev) : 1
                                      printf "%.1f", 1000 * (lo + f * (hi - lo)); exit }
                                    lo = le[i]; prev = c[i] } }' "$2" "$3"
}
scrape "$work/m1"
p50=$(quantile 0.5 "$work/m0" "$work/m1") p99=$(quantile 0.99 "$work/m0" "$work/m1")

# 3. Latency below saturation: other agents (fresh sequence numbers) publish at
# a steady rate, half the ingest rate just measured in all, for about 5 s.
rate=$(awk -v h="$hale" -v n="$nodes" 'BEGIN { printf "%.1f", h / 2 / n }')
paced_per=$(awk -v r="$rate" 'BEGIN { printf "%d", r * 5 }')
target=$(($(stored) + nodes * paced_per))
paced_pids=()
for g in $(seq 0 $((gens - 1))); do
  "$build/bench/hale-load-gen" "mqtts://localhost:$port" "$work/pki" bench "p${g}n" "$per_gen" "$paced_per" "$rate" \
    >"$work/paced$g.log" &
  paced_pids+=($!)
done
for p in "${paced_pids[@]}"; do wait "$p"; done
while [[ $(stored) -lt $target ]]; do sleep 0.05; done
scrape "$work/m2"
paced_p50=$(quantile 0.5 "$work/m1" "$work/m2") paced_p99=$(quantile 0.99 "$work/m1" "$work/m2")
paced_total=$(awk -v r="$rate" -v n="$nodes" 'BEGIN { printf "%.0f", r * n }')
missing=$(curl -fs "http://127.0.0.1:$http/api/v1/nodes?limit=1000" | grep -o '"missing":[0-9]*' | awk -F: '{ s += $2 } END { print s + 0 }')
echo "broker ceiling (counting subscriber): $ceiling msg/s; hale ingest to SQLite: $hale msg/s; latency publish->commit at full speed p50 ${p50} ms, p99 ${p99} ms, at ${paced_total} msg/s (half) p50 ${paced_p50} ms, p99 ${paced_p99} ms; aggregator CPU ${cpu}% of a core, peak RSS ${rss} MB; broker CPU ${broker_ceiling_cpu}% (ceiling run) / ${broker_cpu}% (hale run); $total messages from $gens load generators, missing $missing; $(nproc) cores, load average $(cut -d' ' -f1 /proc/loadavg)"
awk -v h="$hale" -v c="$ceiling" -v n="$nodes" -v g="$gens" 'BEGIN {
  printf "REPORT|ingest, %d agents in %d load generators, QoS 1 over mTLS, committed to SQLite (msg/s)|%d|%d (broker ceiling: counting subscriber)|%.2fx|>= 0.9x ceiling, zero loss\n", n, g, h, c, h / c }'
echo "REPORT|end-to-end latency, publish -> SQLite commit, p50 / p99 (ms): publishers at full speed|$p50 / $p99|-|-|-"
echo "REPORT|end-to-end latency, publish -> SQLite commit, p50 / p99 (ms): steady $paced_total msg/s (half the ingest rate)|$paced_p50 / $paced_p99|-|-|-"
echo "REPORT|aggregator during ingest: CPU (% of a core) / peak RSS (MB) / messages missing|${cpu}% / ${rss} MB / $missing|-|-|zero loss"
