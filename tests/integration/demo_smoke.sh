#!/usr/bin/env bash
# Runs README command 1 (the demo) with its fast fault schedule (HALE_DEMO_FAST=1)
# on free ports and checks through the API that Hale heals what the demo breaks:
# a remediation healed, a build diagnosed as network and retried, one diagnosed as
# compile, eu-west failed over to us-east and back, issues closed. Then it stops the
# demo as Ctrl-C would and checks that no process and no fault is left behind.
# Waits for each condition with a generous deadline; finishes in well under 3 minutes.
set -euo pipefail
build=${1:?build dir}
root=$(cd "$(dirname "$0")/../.." && pwd)
if ! command -v python3 >/dev/null 2>&1; then
  echo "demo_smoke: python3 is needed to read the API (scripts/deps.sh installs it)" >&2
  [[ ${CI:-} == true ]] && exit 1
  exit 77
fi
dir=$(mktemp -d)
run=$dir/run
demo_pid=""
finish() {
  if [[ -n $demo_pid ]] && kill -0 "$demo_pid" 2>/dev/null; then kill -TERM "$demo_pid"; wait "$demo_pid" || true; fi
  rm -rf "$dir"
}
trap finish EXIT
free_port() {
  while :; do
    local p=$(( 20000 + RANDOM % 40000 ))
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
  done
}
fail() {
  echo "demo_smoke: $*" >&2
  echo "--- demo output (last 60 lines)" >&2
  tail -n 60 "$dir/demo.out" >&2 || true
  for log in "$run"/logs/*.log; do echo "--- $log" >&2; tail -n 15 "$log" >&2 || true; done
  exit 1
}

http_port=$(free_port)
HALE_BUILD_DIR="$build" HALE_DEMO_DIR="$run" HALE_DEMO_FAST=1 HALE_DEMO_HTTP_PORT=$http_port \
  HALE_DEMO_BROKER_PORT=$(free_port) HALE_DEMO_SERVICE_PORT=$(free_port) \
  "$root/scripts/demo.sh" --no-build --seconds 170 > "$dir/demo.out" 2>&1 &
demo_pid=$!

# Prints what is still missing (nothing: exit 0) from the API's point of view.
missing() {
  python3 - "$http_port" <<'PY'
import json, sys, urllib.request
base = f"http://127.0.0.1:{sys.argv[1]}/api/v1"
def get(path):
    try:
        with urllib.request.urlopen(base + path, timeout=5) as r:
            return json.load(r)
    except (OSError, ValueError):
        return {}
missing = []
nodes = get("/nodes").get("nodes", [])
regions = {n["region"] for n in nodes}
if len(nodes) != 3 or regions != {"eu-west", "us-east"}:
    missing.append(f"3 nodes in eu-west and us-east (have {len(nodes)}: {sorted(regions)})")
healed = get("/remediations?outcome=Healed&limit=1000").get("remediations", [])
if not healed:
    missing.append("a remediation that healed")
builds = get("/builds?limit=200").get("recent", [])
if not any(b["category"] == "network" and b["remedy"] == "retry" for b in builds):
    missing.append("a build diagnosed network with remedy retry")
if not any(b["category"] == "compile" and b["remedy"] == "none" for b in builds):
    missing.append("a build diagnosed compile, not retried")
moves = [(h.get("from"), h.get("to")) for h in get("/failover").get("history", [])]
if ("eu-west", "us-east") not in moves:
    missing.append("a failover from eu-west to us-east")
if ("us-east", "eu-west") not in moves:
    missing.append("a failback to eu-west")
stats = get("/statistics?window=24h")
if not stats.get("issues", {}).get("closed") or not stats.get("remediations", {}).get("healed"):
    missing.append("statistics with closed issues and healed remediations")
if missing:
    print("; ".join(missing))
    sys.exit(1)
print("healed: " + ", ".join(sorted({f"{r['node']} {r['check']} by {r['action']}" for r in healed})))
print(f"builds: {len(builds)} attempts; failover history (newest first): {moves}")
print(f"statistics: {json.dumps(stats['issues'])}; remediations {json.dumps(stats['remediations'])}")
PY
}

# The API answers once the aggregator is up (the demo starts it within seconds).
for ((i = 0; i < 60; i++)); do
  curl -fs "http://127.0.0.1:$http_port/health" >/dev/null && break
  kill -0 "$demo_pid" 2>/dev/null || fail "the demo exited before its API came up"
  sleep 0.5
done
curl -fs "http://127.0.0.1:$http_port/health" >/dev/null || fail "no API on port $http_port after 30 s"

# The fast schedule heals, fails over and fails back within about 40 s; 130 s allows for a loaded machine.
start=$SECONDS
until report=$(missing); do
  kill -0 "$demo_pid" 2>/dev/null || fail "the demo exited early; still missing: $report"
  ((SECONDS - start < 130)) || fail "after $((SECONDS - start)) s still missing: $report"
  sleep 2
done
echo "$report"
echo "demo_smoke: all seen after $((SECONDS - start)) s"

# Every process the demo started (its whole tree), as "pid starttime", to find them again after it stops.
descendants() {
  python3 - "$1" <<'PY'
import os, sys
children = {}
for pid in filter(str.isdigit, os.listdir("/proc")):
    try:
        fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    except OSError:
        continue
    children.setdefault(fields[1], []).append((pid, fields[19]))  # ppid, starttime
todo = [sys.argv[1]]
while todo:
    for pid, start in children.get(todo.pop(), []):
        print(pid, start)
        todo.append(pid)
PY
}
tree=$(descendants "$demo_pid")
echo "demo_smoke: the demo runs $(wc -l <<<"$tree") processes"

# Stop it the way Ctrl-C does; it must take every process and every fault with it.
kill -TERM "$demo_pid"
for ((i = 0; i < 60; i++)); do kill -0 "$demo_pid" 2>/dev/null || break; sleep 0.5; done
kill -0 "$demo_pid" 2>/dev/null && fail "the demo did not stop within 30 s of SIGTERM"
status=0
wait "$demo_pid" || status=$?
demo_pid=""
grep -q "demo: stopped" "$dir/demo.out" || fail "the demo did not run its cleanup (exit $status)"
for fault in scratch web ci gateways; do
  [[ ! -e $run/$fault ]] || fail "$run/$fault is still there after the demo stopped"
done
left=()
while read -r pid start; do
  stat=$(cat "/proc/$pid/stat" 2>/dev/null) || continue
  read -r -a fields <<<"${stat##*) }"
  # The same process (same start time), and not a zombie: still running.
  [[ ${fields[19]} == "$start" && ${fields[0]} != Z ]] && left+=("$pid: $(tr '\0' ' ' < "/proc/$pid/cmdline")")
done <<<"$tree"
((${#left[@]} == 0)) || fail "processes left running: ${left[*]}"
echo "demo_smoke: stopped cleanly, nothing left running, every fault removed"
