#!/usr/bin/env bash
# Crash-to-restart latency of a supervised process, measured in one run for:
#   hale   - hale-agent supervising the child (pidfd exit detection, issue
#            tracker, limiter, hash-chained audit writes, RemediationEvent
#            telemetry into the SQLite outbox, restart action on a worker)
#   loop   - a bare `while true; do CMD; done` shell loop (the floor)
#   monit  - Monit at `set daemon 1` (skipped cleanly when monit is absent)
# Each round SIGKILLs the child and times the kill to the new child's first
# instruction (it logs CLOCK_MONOTONIC at start). Usage:
#   bench/restart_latency.sh [BUILD_DIR] [KILLS]
set -euo pipefail
BUILD=$(cd "${1:-build}" && pwd)
KILLS=${2:-100}
CHILD="$BUILD/tests/hale_crash_child"
AGENT="$BUILD/hale-agent"
[[ -x "$CHILD" && -x "$AGENT" ]] || { echo "build hale-agent and hale_crash_child first" >&2; exit 2; }
WORK=$(mktemp -d /tmp/hale-bench.XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  # Children this run started: their pids are in its own start logs.
  for log in "$WORK"/*.log; do
    [[ -f "$log" ]] && awk '{print $1}' "$log" | xargs -r kill -KILL 2>/dev/null || true
  done
  rm -rf "$WORK"
}
trap cleanup EXIT

# measure NAME LOG: kills the newest child in LOG KILLS times, prints stats.
STATS="$WORK/stats"
measure() {
  # The log path goes through the environment: Monit matches command lines on it.
  BENCH_STATS="$STATS" BENCH_LOG="$2" BENCH_SPACING="${BENCH_SPACING:-0.15}" BENCH_JITTER="${BENCH_JITTER:-0}" python3 - "$1" "$KILLS" <<'PY'
import os, random, signal, sys, time
name, log, kills = sys.argv[1], os.environ["BENCH_LOG"], int(sys.argv[2])
def starts():
    try:
        with open(log) as f:
            return [tuple(map(int, l.split())) for l in f if l.strip()]
    except FileNotFoundError:
        return []
deadline = time.monotonic() + 30
while not starts():
    if time.monotonic() > deadline: sys.exit(f"{name}: child never started")
    time.sleep(0.01)
time.sleep(0.3)
lat = []
for i in range(kills):
    before = starts()
    t0 = time.monotonic_ns()
    os.kill(before[-1][0], signal.SIGKILL)
    limit = time.monotonic() + 30
    while len(starts()) == len(before) and time.monotonic() < limit:
        time.sleep(0.0002)
    now = starts()
    if len(now) == len(before):
        print(f"{name}: no restart within 30 s after kill {i + 1}; stats over the {len(lat)} before")
        break
    lat.append((now[-1][1] - t0) / 1e6)
    # Longer than hale's backoff_reset_after, so every kill follows a stable run;
    # Monit gets 2.5 s so each kill lands on a settled, running service.
    # A random extra up to 1 s spreads Monit's kills over its whole 1 s cycle.
    time.sleep(float(os.environ["BENCH_SPACING"]) + random.uniform(0, float(os.environ["BENCH_JITTER"])))
if not lat: sys.exit(f"{name}: no restart measured")
lat.sort()
pick = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))]
print(f"{name:6} kills={len(lat):4} median={pick(0.5):8.2f} ms  p99={pick(0.99):8.2f} ms  "
      f"min={lat[0]:7.2f} ms  max={lat[-1]:8.2f} ms")
with open(os.environ["BENCH_STATS"], "a") as out:
    out.write(f"{name} {pick(0.5):.2f} {pick(0.99):.2f} {len(lat)}\n")
PY
}

# --- hale-agent -------------------------------------------------------------
cat > "$WORK/agent.toml" <<TOML
[agent]
region = "bench"
node = "bench-node"
state_dir = "$WORK/state"
heartbeat_interval = "1h"
[log]
level = "warn"
[remediation]
cooldown = "0s"
resource_per_hour = 100000
global_per_hour = 100000
max_attempts = 100
backoff_initial = "0s"      # a crash after a stable run restarts at once
backoff_cap = "1s"
backoff_reset_after = "100ms"
[[check]]
name = "svc"
kind = "process"
argv = ["$CHILD", "$WORK/hale.log"]
interval = "10s"
fail_after = 1
pass_after = 1
  [[check.remedy]]
  action = "restart"
  supervised = true
  settle = "20ms"
TOML
"$AGENT" run --config "$WORK/agent.toml" > "$WORK/agent.out" 2>&1 &
PIDS+=($!)
measure hale "$WORK/hale.log"
kill "${PIDS[0]}"; wait "${PIDS[0]}" 2>/dev/null || true
"$AGENT" audit verify --config "$WORK/agent.toml" | sed 's/^/       /'

# --- hale-agent, pidfile process (a daemon it did not start) -------------------
# Exit seen through a pidfd on the pid in the pidfile; the restart action runs
# the start command (setsid -f: it detaches), which writes a new pidfile.
# reaper.py reaps the orphans, as an init would.
sed -e 's|^argv = .*|pidfile = "'"$WORK"'/svc.pid"|' \
    -e 's|^  supervised = true|  pidfile = "'"$WORK"'/svc.pid"\n  start = ["/usr/bin/setsid", "-f", "'"$CHILD"'", "'"$WORK"'/pidfile.log", "pidfile", "'"$WORK"'/svc.pid"]|' \
    -e 's|^state_dir = .*|state_dir = "'"$WORK"'/state-pidfile"|' \
    -e 's|^\[remediation\]|[remediation]\nallowlist = ["/usr/bin/setsid"]|' "$WORK/agent.toml" > "$WORK/agent-pidfile.toml"
/usr/bin/setsid -f "$CHILD" "$WORK/pidfile.log" pidfile "$WORK/svc.pid"
python3 "$(dirname "$0")/reaper.py" "$AGENT" run --config "$WORK/agent-pidfile.toml" > "$WORK/agent-pidfile.out" 2>&1 &
PIDS+=($!)
measure hale-pidfile "$WORK/pidfile.log"
kill "${PIDS[-1]}"; kill "$(cat "$WORK/svc.pid")" 2>/dev/null || true  # the reaper waits for its orphans too
wait "${PIDS[-1]}" 2>/dev/null || true

# --- bare shell loop ----------------------------------------------------------
bash -c "while true; do '$CHILD' '$WORK/loop.log'; done" 2> /dev/null &
PIDS+=($!)
measure loop "$WORK/loop.log"
kill "${PIDS[-1]}" 2>/dev/null || true

# --- Monit 5.33 -----------------------------------------------------------------
if command -v monit > /dev/null; then
  cat > "$WORK/monitrc" <<MONIT
set daemon 1
set pidfile $WORK/monit.pid
set idfile $WORK/monit.id
set statefile $WORK/monit.state
check process crashchild matching "$WORK/monit.log"
  start program = "/usr/bin/setsid -f $CHILD $WORK/monit.log"
MONIT
  chmod 600 "$WORK/monitrc"
  python3 "$(dirname "$0")/reaper.py" monit -c "$WORK/monitrc" -I > "$WORK/monit.out" 2>&1 &
  PIDS+=($!)
  # A one-second cycle makes each round slow: 20 kills are enough to see the distribution.
  BENCH_SPACING=2.5 BENCH_JITTER=1 KILLS=$(( KILLS < 20 ? KILLS : 20 )) measure monit "$WORK/monit.log" || { echo "monit: see $WORK/monit.out"; cat "$WORK/monit.out" | tail -5; }
else
  echo "monit  skipped (not installed: apt-get install monit)"
fi

# --- report rows (bench/run collects them) ----------------------------------------
stat() { awk -v n="$1" -v f="$2" '$1 == n { print $f }' "$STATS"; }
monit_med=$(stat monit 2); monit_p99=$(stat monit 3); loop_med=$(stat loop 2)
for name in hale hale-pidfile; do
  med=$(stat "$name" 2); p99=$(stat "$name" 3); n=$(stat "$name" 4)
  [[ -n "$med" ]] || continue
  what=$([[ $name == hale ]] && echo "supervised process" || echo "pidfile process (start command)")
  if [[ -n "$monit_med" ]]; then
    awk -v w="$what" -v m="$med" -v p="$p99" -v n="$n" -v bm="$monit_med" -v bp="$monit_p99" -v l="$loop_med" 'BEGIN {
      printf "REPORT|crash-to-restart, %s, median (p99) over %d SIGKILLs|%.2f ms (p99 %.2f ms)|Monit 5.33 set daemon 1: %.0f ms (p99 %.0f ms); bare loop %.2f ms|%.0fx faster than Monit|median <= 5 ms, p99 <= 20 ms, >= 100x Monit\n", w, n, m, p, bm, bp, l, bm / m }'
  else
    awk -v w="$what" -v m="$med" -v p="$p99" -v n="$n" -v l="$loop_med" 'BEGIN {
      printf "REPORT|crash-to-restart, %s, median (p99) over %d SIGKILLs|%.2f ms (p99 %.2f ms)|bare loop %.2f ms (Monit not installed)|-|median <= 5 ms, p99 <= 20 ms\n", w, n, m, p, l }'
  fi
done
