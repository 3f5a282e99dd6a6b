#!/usr/bin/env bash
# README command 1: installs what is missing, builds, and runs a local fleet that
# breaks on a schedule and heals itself: Mosquitto with mutual TLS, the aggregator
# with region failover, and three agents in two regions, each with its own
# configuration and state under run/demo/. Ctrl-C stops all and removes every fault.
#
#   ./scripts/demo.sh                  run until Ctrl-C
#   ./scripts/demo.sh --seconds 120    stop by itself after 120 s
#   ./scripts/demo.sh --no-build       use binaries already built
# Ports: HALE_DEMO_HTTP_PORT (default 8080), HALE_DEMO_BROKER_PORT (8883), demo
# services from HALE_DEMO_SERVICE_PORT (8090) up. HALE_DEMO_FAST=1 runs the fault
# schedule in seconds instead of minutes (the smoke test does). Needs no root.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${HALE_BUILD_DIR:-$root/build}
run=${HALE_DEMO_DIR:-$root/run/demo}
http_port=${HALE_DEMO_HTTP_PORT:-8080}
broker_port=${HALE_DEMO_BROKER_PORT:-8883}
fast=${HALE_DEMO_FAST:-0}
seconds=0
do_build=1
while [[ $# -gt 0 ]]; do
  case $1 in
    --seconds) seconds=${2:?--seconds needs a number}; shift 2 ;;
    --no-build) do_build=0; shift ;;
    -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "demo: unknown option $1 (see --help)" >&2; exit 64 ;;
  esac
done

if [[ $do_build -eq 1 ]]; then
  "$root/scripts/deps.sh" --build
  "$root/scripts/build.sh" hale-agent hale-aggregator hale-demo-service
fi
service=$build/demo/hale-demo-service
for bin in "$build/hale-agent" "$build/hale-aggregator" "$service"; do
  [[ -x "$bin" ]] || { echo "demo: $bin is missing; run without --no-build" >&2; exit 1; }
done

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for p in "$http_port" "$broker_port"; do
  if port_busy "$p"; then echo "demo: port $p is in use; set HALE_DEMO_HTTP_PORT / HALE_DEMO_BROKER_PORT" >&2; exit 1; fi
done
next_free_port() {  # first free port from $1 up
  local p=$1
  while port_busy "$p" || [[ $p -eq $http_port || $p -eq $broker_port ]]; do p=$((p + 1)); done
  echo "$p"
}
web_port=$(next_free_port "${HALE_DEMO_SERVICE_PORT:-8090}")
eu_gateway_port=$(next_free_port $((web_port + 1)))
us_gateway_port=$(next_free_port $((eu_gateway_port + 1)))

# The schedule's pace. Failover: a region whose mean score stays below 70 for
# three windows is demoted; it takes over again after good windows for
# failback_after (and once the other region has been active for min_dwell).
if [[ $fast == 1 ]]; then
  crash_after=8s crash_window=10s window=2s min_dwell=6s failback_after=6s backoff_reset=3s
else
  crash_after=60s crash_window=60s window=5s min_dwell=30s failback_after=30s backoff_reset=20s
fi

nodes=(runner-eu-1:eu-west runner-eu-2:eu-west runner-us-1:us-east)
# Each run starts from a clean slate (certificates are kept); nothing outside $run is touched.
rm -rf "$run/aggregator" "$run/broker-data" "$run/logs" "$run/keys" "$run/scratch" "$run/ci" "$run/web" \
  "$run/gateways" "$run"/runner-*
mkdir -p "$run/logs" "$run/scratch" "$run/ci" "$run/web" "$run/gateways"
"$root/scripts/dev-pki.sh" "$run/pki" "${nodes[@]}" >/dev/null
"$root/scripts/broker-config.sh" "$broker_port" "$run/pki" "$run/broker-data" > "$run/mosquitto.conf"
"$build/hale-aggregator" keygen "$run/keys" >/dev/null

# The demo's services start healthy: release v1 answering in 5 ms, both
# gateways up, a certificate valid for 90 days.
printf 'release = v1\nstatus = 200\ndelay_ms = 5\ndrift_ms_per_s = 0\n' > "$run/web/release.conf"
for region in eu-west us-east; do printf 'release = %s\nstatus = 200\ndelay_ms = 2\n' "$region" > "$run/gateways/$region.conf"; done
HALE_CERT="$run/web/tls/web.crt" "$root/demo/hooks/renew-cert" >/dev/null

mqtt_section() {  # identity
  cat <<TOML
[mqtt]
url = "mqtts://localhost:$broker_port"
ca_file = "$run/pki/ca.crt"
cert_file = "$run/pki/$1.crt"
key_file = "$run/pki/$1.key"
TOML
}

region_section() {  # name priority
  cat <<TOML
[[region]]
name = "$1"
priority = $2
threshold = 70
windows = 3
window = "$window"
min_dwell = "$min_dwell"
failback = "auto"
failback_after = "$failback_after"
TOML
}

cat > "$run/aggregator.toml" <<TOML
[aggregator]
database = "$run/aggregator/aggregator.db"
[http]
listen = "127.0.0.1:$http_port"
[commands]
signing_key_file = "$run/keys/command-signing.key"
$(mqtt_section aggregator)

$(region_section eu-west 1)

$(region_section us-east 2)
TOML

# What every agent has: its limits, the failover hooks, the machine's disk and the broker.
common_section() {  # node
  cat <<TOML
[commands]
public_key_files = ["$run/keys/command-signing.pub"]

[failover]
on_promote = ["$root/demo/hooks/failover-role", "$run/logs/failover.log", "$1"]
on_demote = ["$root/demo/hooks/failover-role", "$run/logs/failover.log", "$1"]

# Limits for a demo that breaks things every minute: short cooldowns, a restart
# is immediate after a long run, budgets that a minute-by-minute schedule fits.
[remediation]
allowlist = ["$root/demo/hooks/renew-cert", "$root/demo/hooks/rollback-release"]
cooldown = "20s"
resource_per_hour = 120
global_per_hour = 600
backoff_initial = "0s"
backoff_reset_after = "$backoff_reset"

[[check]]
name = "root-disk"
kind = "disk"
path = "/"
warn_percent = 95
crit_percent = 98
interval = "5s"

[[check]]
name = "broker"
kind = "process"
pidfile = "$run/mosquitto.pid"
interval = "2s"
fail_after = 1
TOML
}

gateway_check() {  # region port: the region's upstream; the demo's outage makes it answer 503
  cat <<TOML

[[check]]
name = "$1-gateway"
kind = "http_probe"
url = "http://127.0.0.1:$2/"
interval = "1s"
timeout = "2s"
fail_after = 2
pass_after = 2
TOML
}

node_checks() {  # node
  case $1 in
    runner-eu-1) gateway_check eu-west "$eu_gateway_port"; cat <<TOML

# The CI scratch space may use 16 MiB: a directory against a quota, no mount, no root.
[[check]]
name = "scratch"
kind = "disk"
path = "$run/scratch"
quota_bytes = 16777216
warn_percent = 75
crit_percent = 90
fill_window = "10s"
interval = "2s"
fail_after = 2

  [[check.remedy]]
  action = "clean"
  roots = ["$run/scratch"]
  globs = ["*.partial", "*.tmp"]
  settle = "12s"    # longer than fill_window: the re-check must not see the slope of the fill it cleaned
TOML
    ;;
    runner-eu-2) gateway_check eu-west "$eu_gateway_port"; cat <<TOML

# The web service, supervised by the agent.
[[check]]
name = "web"
kind = "process"
argv = ["$service", "--name", "web", "--listen", "127.0.0.1:$web_port", "--control", "$run/web/release.conf"]
fail_after = 1

  [[check.remedy]]
  action = "restart"
  supervised = true
  settle = "1s"

# Its latency SLO: p95 under 200 ms over 10 s. A slow release is rolled back.
[[check]]
name = "web-slo"
kind = "http_probe"
url = "http://127.0.0.1:$web_port/"
interval = "1s"
timeout = "3s"
window = "10s"
slo_p95_ms = 200
fail_after = 2
pass_after = 2

  [[check.remedy]]
  action = "hook"
  argv = ["$root/demo/hooks/rollback-release", "$run/web/release.conf"]
  settle = "12s"    # longer than the window: the re-check sees only the rolled-back release

# Its certificate: renewed by a hook when fewer than 7 days are left.
[[check]]
name = "web-cert"
kind = "certificate"
file = "$run/web/tls/web.crt"
key_file = "$run/web/tls/web.key"
warn_days = 30
crit_days = 7
interval = "2s"
fail_after = 2

  [[check.remedy]]
  action = "renew_cert"
  argv = ["$root/demo/hooks/renew-cert"]
  cert = "$run/web/tls/web.crt"
  settle = "1s"
TOML
    ;;
    runner-us-1) gateway_check us-east "$us_gateway_port"; cat <<TOML

# A worker that crashes every $crash_after of uptime; the agent restarts it in milliseconds.
[[check]]
name = "worker"
kind = "process"
argv = ["$service", "--name", "worker", "--crash-after", "$crash_after"]
interval = "1s"
fail_after = 1
crash_loop_window = "$crash_window"   # one crash per $crash_after is a crash, not a crash loop

  [[check.remedy]]
  action = "restart"
  supervised = true
  settle = "1s"
  cooldown = "2s"
TOML
    ;;
  esac
}

for entry in "${nodes[@]}"; do
  node=${entry%%:*} region=${entry##*:}
  {
    cat <<TOML
[agent]
node = "$node"
region = "$region"
state_dir = "$run/$node"
heartbeat_interval = "5s"
$(mqtt_section "node-$node")

TOML
    common_section "$node"
    node_checks "$node"
  } > "$run/$node.toml"
  "$build/hale-agent" check-config "$run/$node.toml" >/dev/null
done

pids=()
cleanup() {
  trap - INT TERM EXIT
  echo
  echo "demo: stopping, and removing what it broke"
  for ((i=${#pids[@]}-1; i>=0; i--)); do kill -TERM "${pids[$i]}" 2>/dev/null || true; done
  wait 2>/dev/null || true
  # The faults go with the fleet: fill files, expiring certificate, slow release, outage, CI leftovers.
  rm -rf "$run/scratch" "$run/ci" "$run/web" "$run/gateways"
  rm -f "$run/mosquitto.pid"
  echo "demo: stopped; configurations, state and logs stay in $run"
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

# The regions' upstream gateways are not Hale's to restart: an outage there is what failover is for.
"$service" --name eu-west-gateway --listen "127.0.0.1:$eu_gateway_port" --control "$run/gateways/eu-west.conf" \
  > "$run/logs/eu-west-gateway.log" 2>&1 &
pids+=($!)
"$service" --name us-east-gateway --listen "127.0.0.1:$us_gateway_port" --control "$run/gateways/us-east.conf" \
  > "$run/logs/us-east-gateway.log" 2>&1 &
pids+=($!)

for entry in "${nodes[@]}"; do
  node=${entry%%:*}
  "$build/hale-agent" run --config "$run/$node.toml" > "$run/logs/$node.log" 2>&1 &
  pids+=($!)
done

cat <<MSG

Hale demo is running: Mosquitto (mutual TLS) on 127.0.0.1:$broker_port, one aggregator with
region failover (eu-west preferred, us-east standby), three agents (runner-eu-1,
runner-eu-2 in eu-west; runner-us-1 in us-east). Nothing needs root.

  dashboard     http://127.0.0.1:$http_port/
  what healed   http://127.0.0.1:$http_port/api/v1/remediations
  builds        http://127.0.0.1:$http_port/api/v1/builds
  failover      http://127.0.0.1:$http_port/api/v1/failover
  statistics    http://127.0.0.1:$http_port/api/v1/statistics
  files         $run  (configs, state, logs/; logs/failover.log has the agents' failover hooks)

What breaks, on a schedule (HALE_DEMO_FAST=1: in seconds):
  runner-us-1  worker crashes after $crash_after of uptime        -> restarted by its supervisor in ms
  runner-us-1  CI step \`npm ci\` hits EAI_AGAIN                   -> hale-agent exec retries it, it passes
  runner-us-1  CI step fails to compile                           -> diagnosed as compile, not retried
  runner-eu-1  CI scratch dir fills past its 16 MiB quota         -> clean removes the partial files
  runner-eu-2  web certificate has a day left                     -> renew_cert hook issues a new one
  runner-eu-2  web release v2 gets slower every second (SLO 200 ms) -> rollback hook goes back to v1
  eu-west      gateway answers 503 for a while                    -> us-east takes over, eu-west fails back
Press Ctrl-C to stop everything.

MSG

# The schedule and the narration count time from the same start.
export HALE_DEMO_T0
printf -v HALE_DEMO_T0 '%(%s)T' -1
HALE_DEMO_RUN=$run HALE_DEMO_ROOT=$root HALE_DEMO_BUILD=$build HALE_DEMO_FAST=$fast \
  "$root/demo/faults.sh" 2>> "$run/logs/faults.log" &
pids+=($!)
if command -v python3 >/dev/null 2>&1; then
  python3 "$root/demo/narrate.py" "http://127.0.0.1:$http_port" &
  pids+=($!)
else
  echo "demo: python3 is missing, so what Hale does is not narrated here; ask the API above"
fi

# `wait` rather than a foreground sleep: Ctrl-C and SIGTERM run the cleanup at once.
if [[ $seconds -gt 0 ]]; then
  sleep "$seconds" &
  pids+=($!)
  wait $!
  curl -fs "http://127.0.0.1:$http_port/api/v1/nodes" || true
  echo
else
  wait
fi
