#!/usr/bin/env bash
# Crash-to-detection latency: the time from a SIGKILL to the agent noticing,
# measured in one run for
#   supervised - a process hale-agent started itself (pidfd on its child)
#   pidfile    - a process found through a pidfile (pidfd opened after each run)
#   monit      - Monit 5.33 at `set daemon 1` watching the same kind of pidfile
#                process (skipped cleanly when monit is absent)
# Hale's detection is the "issue opened" line of its JSON log (CLOCK_REALTIME,
# microseconds; fail_after = 1); Monit's is a stamp (`date +%s%N`) written by
# its `if does not exist then exec` action, so Monit's figure includes one
# fork/exec (about a millisecond). The kill is stamped with CLOCK_REALTIME just
# before it is sent. Checks run every second, but each kill lands 0.1-0.5 s
# after a run, so an exit seen in milliseconds was seen through the pidfd.
#   bench/detection_latency.sh [BUILD_DIR] [KILLS]
# Prints `REPORT|...` rows for bench/run; quiet apart from its results.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(cd "${1:-${HALE_BUILD_DIR:-$root/build}}" && pwd)
KILLS=${2:-50}
MONIT_KILLS=${MONIT_KILLS:-$(( KILLS < 30 ? KILLS : 30 ))}  # Monit rounds take seconds each
CHILD="$BUILD/tests/hale_crash_child"
AGENT="$BUILD/hale-agent"
[[ -x "$CHILD" && -x "$AGENT" ]] || { echo "build hale-agent and hale_crash_child first" >&2; exit 2; }
WORK=$(mktemp -d /tmp/hale-detect.XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  # Children this run started log their pids on start.
  for log in "$WORK"/*.log; do
    [[ -f "$log" ]] && awk '{print $1}' "$log" | xargs -r kill -KILL 2>/dev/null || true
  done
  rm -rf "$WORK"
}
trap cleanup EXIT

# measure MODE NAME KILLS: MODE is hale-supervised, hale-pidfile or monit.
measure() {
  WORK="$WORK" CHILD="$CHILD" python3 - "$@" <<'PY'
import calendar, json, os, random, signal, subprocess, sys, time
mode, name, kills = sys.argv[1], sys.argv[2], int(sys.argv[3])
work, child = os.environ["WORK"], os.environ["CHILD"]

def log_events(path, offset):
    """New JSON log lines of the agent from byte offset: (offset, [(check, msg, ts_ns)])."""
    events = []
    try:
        with open(path, "rb") as f:
            f.seek(offset)
            data = f.read()
    except FileNotFoundError:
        return offset, events
    end = data.rfind(b"\n") + 1
    for line in data[:end].splitlines():
        try:
            j = json.loads(line)
        except ValueError:
            continue
        if j.get("component") != "issue":
            continue
        ts = j["ts"]  # 2026-11-23T21:01:31.123456Z
        secs = calendar.timegm(time.strptime(ts[:19], "%Y-%m-%dT%H:%M:%S"))
        events.append((j.get("check"), j.get("msg"), secs * 10**9 + int(ts[20:26]) * 1000))
    return offset + end, events

class Tail:
    def __init__(self, path):
        self.path, self.offset = path, 0
    def wait(self, check, msg, timeout=15):
        limit = time.monotonic() + timeout
        while time.monotonic() < limit:
            self.offset, events = log_events(self.path, self.offset)
            for c, m, ts in events:
                if c == check and m == msg:
                    return ts
            time.sleep(0.0005)
        return None

def last_pid(log):
    with open(log) as f:
        return int(f.read().split()[-2])

def write_pidfile(path, pid):
    with open(path + ".tmp", "w") as f:
        f.write(f"{pid}\n")
    os.rename(path + ".tmp", path)

lat = []
if mode == "hale-supervised":
    tail = Tail(f"{work}/agent.out")
    limit = time.monotonic() + 10
    while not os.path.exists(f"{work}/sup.log") and time.monotonic() < limit:
        time.sleep(0.01)
    for i in range(kills):
        time.sleep(random.uniform(0.1, 0.5))
        t0 = time.time_ns()
        os.kill(last_pid(f"{work}/sup.log"), signal.SIGKILL)
        seen = tail.wait("sup", "issue opened")
        if seen is None or tail.wait("sup", "issue closed") is None:  # restarted and healthy again
            print(f"{name}: no detection or restart after kill {i + 1}", file=sys.stderr); break
        lat.append((seen - t0) / 1e6)
elif mode == "hale-pidfile":
    tail = Tail(f"{work}/agent.out")
    # The agent started without the pidfile: its issue closes once the process is there.
    proc = subprocess.Popen([child, f"{work}/pf.log"])
    write_pidfile(f"{work}/pf.pid", proc.pid)
    if tail.wait("pf", "issue closed") is None:
        sys.exit(f"{name}: the pidfile process was never seen")
    for i in range(kills):
        time.sleep(random.uniform(0.1, 0.5))
        t0 = time.time_ns()
        proc.kill()
        proc.wait()
        seen = tail.wait("pf", "issue opened")
        if seen is None:
            print(f"{name}: no detection after kill {i + 1}", file=sys.stderr); break
        lat.append((seen - t0) / 1e6)
        proc = subprocess.Popen([child, f"{work}/pf.log"])
        write_pidfile(f"{work}/pf.pid", proc.pid)
        if tail.wait("pf", "issue closed") is None:
            print(f"{name}: the restarted process was never seen after kill {i + 1}", file=sys.stderr); break
    proc.kill(); proc.wait()
else:  # monit: a stamp per exec action
    stamps = f"{work}/monit.stamps"
    def count():
        try:
            with open(stamps) as f: return [int(l) for l in f if l.strip()]
        except FileNotFoundError: return []
    proc = subprocess.Popen([child, f"{work}/mpf.log"])
    write_pidfile(f"{work}/mpf.pid", proc.pid)
    for i in range(kills):
        # Longer than a cycle, so Monit has seen the process running; the random part spreads the kills over its cycle.
        time.sleep(1.3 + random.uniform(0, 1.0))
        before = len(count())
        t0 = time.time_ns()
        proc.kill(); proc.wait()
        limit = time.monotonic() + 15
        while len(count()) == before and time.monotonic() < limit:
            time.sleep(0.0005)
        now = count()
        if len(now) == before:
            print(f"{name}: no detection after kill {i + 1}", file=sys.stderr); break
        lat.append((now[-1] - t0) / 1e6)
        proc = subprocess.Popen([child, f"{work}/mpf.log"])
        write_pidfile(f"{work}/mpf.pid", proc.pid)
    proc.kill(); proc.wait()
if not lat:
    sys.exit(f"{name}: nothing measured")
lat.sort()
pick = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))]
print(f"{name} {len(lat)} {pick(0.5):.3f} {pick(0.99):.3f} {lat[0]:.3f} {lat[-1]:.3f}")
PY
}

# --- hale-agent: one supervised and one pidfile process, both every second ---
cat > "$WORK/agent.toml" <<TOML
[agent]
region = "bench"
node = "bench-node"
state_dir = "$WORK/state"
heartbeat_interval = "1h"
[log]
level = "info"
format = "json"
[remediation]
cooldown = "0s"
resource_per_hour = 100000
global_per_hour = 100000
max_attempts = 100
backoff_initial = "0s"
backoff_cap = "1s"
backoff_reset_after = "100ms"
[[check]]
name = "sup"
kind = "process"
argv = ["$CHILD", "$WORK/sup.log"]
interval = "1s"
fail_after = 1
pass_after = 1
  [[check.remedy]]
  action = "restart"
  supervised = true
  settle = "20ms"
[[check]]
name = "pf"
kind = "process"
pidfile = "$WORK/pf.pid"
interval = "1s"
fail_after = 1
pass_after = 1
TOML
"$AGENT" run --config "$WORK/agent.toml" > "$WORK/agent.out" 2>&1 &
PIDS+=($!)
results=$(
  measure hale-supervised supervised "$KILLS"
  measure hale-pidfile pidfile "$KILLS"
)

# --- Monit 5.33 ---------------------------------------------------------------
monit_row="skipped (monit not installed)"
if command -v monit > /dev/null; then
  printf '#!/bin/sh\ndate +%%s%%N >> %s/monit.stamps\n' "$WORK" > "$WORK/stamp.sh"
  chmod 755 "$WORK/stamp.sh"
  cat > "$WORK/monitrc" <<MONIT
set daemon 1
set log $WORK/monit.logfile
set pidfile $WORK/monit.pid
set idfile $WORK/monit.id
set statefile $WORK/monit.state
check process pf with pidfile $WORK/mpf.pid
  if does not exist then exec "$WORK/stamp.sh"
MONIT
  chmod 600 "$WORK/monitrc"
  python3 "$root/bench/reaper.py" monit -c "$WORK/monitrc" -I > "$WORK/monit.out" 2>&1 &
  PIDS+=($!)
  if m=$(measure monit monit "$MONIT_KILLS"); then results+=$'\n'"$m"; else monit_row="failed (see monit log)"; fi
fi

# name kills median p99 min max
echo "$results" | awk '{ printf "%-10s kills=%3d median=%8.3f ms  p99=%8.3f ms  min=%8.3f ms  max=%8.3f ms\n", $1, $2, $3, $4, $5, $6 }'
echo "$results" | awk -v monit_row="$monit_row" '
  { n[$1] = $2; med[$1] = $3; p99[$1] = $4 }
  END {
    base = ("monit" in med) ? sprintf("%.0f ms (p99 %.0f ms, %d kills; Monit 5.33, set daemon 1)", med["monit"], p99["monit"], n["monit"]) : monit_row
    ratio = ("monit" in med) ? sprintf("%.0fx faster", med["monit"] / med["pidfile"]) : "-"
    printf "REPORT|crash-to-detection, pidfile process, median (p99) over %d SIGKILLs|%.2f ms (p99 %.2f ms)|%s|%s|median < 5 ms\n", n["pidfile"], med["pidfile"], p99["pidfile"], base, ratio
    printf "REPORT|crash-to-detection, supervised process, median (p99) over %d SIGKILLs|%.2f ms (p99 %.2f ms)|-|-|median < 5 ms\n", n["supervised"], med["supervised"], p99["supervised"]
  }'
