#!/usr/bin/env bash
# README command 1: installs what is missing, builds, and runs a local fleet:
# Mosquitto with mutual TLS, the aggregator, and three agents in two regions,
# each with its own configuration and state under run/demo/. Ctrl-C stops all.
#
#   ./scripts/demo.sh                  run until Ctrl-C
#   ./scripts/demo.sh --seconds 20     stop by itself after 20 s
#   ./scripts/demo.sh --no-build       use binaries already built
# Ports: HALE_DEMO_HTTP_PORT (default 8080), HALE_DEMO_BROKER_PORT (8883).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${HALE_BUILD_DIR:-$root/build}
run=${HALE_DEMO_DIR:-$root/run/demo}
http_port=${HALE_DEMO_HTTP_PORT:-8080}
broker_port=${HALE_DEMO_BROKER_PORT:-8883}
seconds=0
do_build=1
while [[ $# -gt 0 ]]; do
  case $1 in
    --seconds) seconds=${2:?--seconds needs a number}; shift 2 ;;
    --no-build) do_build=0; shift ;;
    -h|--help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "demo: unknown option $1 (see --help)" >&2; exit 64 ;;
  esac
done

if [[ $do_build -eq 1 ]]; then
  "$root/scripts/deps.sh" --build
  "$root/scripts/build.sh" hale-agent hale-aggregator
fi
for bin in hale-agent hale-aggregator; do
  [[ -x "$build/$bin" ]] || { echo "demo: $build/$bin is missing; run without --no-build" >&2; exit 1; }
done

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for p in "$http_port" "$broker_port"; do
  if port_busy "$p"; then echo "demo: port $p is in use; set HALE_DEMO_HTTP_PORT / HALE_DEMO_BROKER_PORT" >&2; exit 1; fi
done

nodes=(runner-eu-1:eu-west runner-eu-2:eu-west runner-us-1:us-east)
mkdir -p "$run/logs"
"$root/scripts/dev-pki.sh" "$run/pki" "${nodes[@]}" >/dev/null
"$root/scripts/broker-config.sh" "$broker_port" "$run/pki" "$run/broker-data" > "$run/mosquitto.conf"

mqtt_section() {  # identity
  cat <<TOML
[mqtt]
url = "mqtts://localhost:$broker_port"
ca_file = "$run/pki/ca.crt"
cert_file = "$run/pki/$1.crt"
key_file = "$run/pki/$1.key"
TOML
}

cat > "$run/aggregator.toml" <<TOML
[aggregator]
database = "$run/aggregator/aggregator.db"
[http]
listen = "127.0.0.1:$http_port"
$(mqtt_section aggregator)
TOML

for entry in "${nodes[@]}"; do
  node=${entry%%:*} region=${entry##*:}
  cat > "$run/$node.toml" <<TOML
[agent]
node = "$node"
region = "$region"
state_dir = "$run/$node"
heartbeat_interval = "5s"
$(mqtt_section "node-$node")

[[check]]
name = "root-disk"
kind = "disk"
path = "/"
interval = "5s"

[[check]]
name = "demo-disk"
kind = "disk"
path = "$run"
interval = "5s"

[[check]]
name = "broker"
kind = "process"
pidfile = "$run/mosquitto.pid"
interval = "2s"
fail_after = 1
TOML
done

pids=()
cleanup() {
  trap - INT TERM EXIT
  echo
  echo "demo: stopping"
  for ((i=${#pids[@]}-1; i>=0; i--)); do kill -TERM "${pids[$i]}" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -f "$run/mosquitto.pid"
}
trap cleanup INT TERM EXIT

mosquitto -c "$run/mosquitto.conf" > "$run/logs/mosquitto.log" 2>&1 &
pids+=($!)
echo $! > "$run/mosquitto.pid"
for _ in $(seq 50); do port_busy "$broker_port" && break; sleep 0.1; done
port_busy "$broker_port" || { echo "demo: mosquitto did not start:" >&2; cat "$run/logs/mosquitto.log" >&2; exit 1; }

"$build/hale-aggregator" run --config "$run/aggregator.toml" > "$run/logs/aggregator.log" 2>&1 &
pids+=($!)
for _ in $(seq 50); do curl -fs "http://127.0.0.1:$http_port/health" >/dev/null && break; sleep 0.1; done

for entry in "${nodes[@]}"; do
  node=${entry%%:*}
  "$build/hale-agent" run --config "$run/$node.toml" > "$run/logs/$node.log" 2>&1 &
  pids+=($!)
done

cat <<MSG

Hale demo is running: Mosquitto (mutual TLS) on 127.0.0.1:$broker_port, one aggregator,
three agents (runner-eu-1, runner-eu-2 in eu-west; runner-us-1 in us-east).

  dashboard http://127.0.0.1:$http_port/
  fleet     http://127.0.0.1:$http_port/api/v1/fleet/health
  API       http://127.0.0.1:$http_port/api/v1/nodes
  one node  http://127.0.0.1:$http_port/api/v1/nodes/runner-eu-1
  metrics   http://127.0.0.1:$http_port/metrics
  files     $run  (configs, certificates, state, logs/)

Try: curl -s http://127.0.0.1:$http_port/api/v1/nodes | python3 -m json.tool
Press Ctrl-C to stop everything.
MSG

if [[ $seconds -gt 0 ]]; then
  sleep "$seconds"
  curl -fs "http://127.0.0.1:$http_port/api/v1/nodes" || true
  echo
else
  wait
fi
