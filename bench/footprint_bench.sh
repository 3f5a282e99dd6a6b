#!/usr/bin/env bash
# Agent footprint with 100 mixed checks at a 1 s interval, against Monit 5.33
# at `set daemon 1` watching the equivalent set, both running in the same
# window on the same targets:
#   50 processes by pidfile, 10 file systems (space and inodes), 10 TCP connects
#   and 10 HTTP GETs against a local HTTP server, the system (load, memory),
#   16 files (content checksum), and 3 certificate checks against a local TLS
#   endpoint every 60 s (Monit: `every 60 cycles`; Hale: interval = "60s").
# Reports resident memory (VmRSS, the largest sample) and CPU seconds per
# minute (utime + stime from /proc/<pid>/stat over the window, after a warm-up).
#   bench/footprint_bench.sh [BUILD_DIR] [SECONDS]      (default build, 60)
# Prints `REPORT|...` rows for bench/run; Monit is skipped cleanly when absent.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(cd "${1:-${HALE_BUILD_DIR:-$root/build}}" && pwd)
SECONDS_MEASURED=${2:-60}
WARMUP=${WARMUP:-10}
AGENT="$BUILD/hale-agent"
[[ -x "$AGENT" ]] || { echo "build hale-agent first" >&2; exit 2; }
command -v openssl > /dev/null || { echo "footprint_bench: needs openssl" >&2; exit 2; }
WORK=$(mktemp -d /tmp/hale-footprint.XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# --- targets -------------------------------------------------------------------
mkdir -p "$WORK/pids" "$WORK/files" "$WORK/www" "$WORK/state"
for i in $(seq 1 50); do
  sleep 100000 &
  PIDS+=($!)
  echo "$!" > "$WORK/pids/p$i.pid"
done
for i in $(seq 1 16); do echo "setting_$i = $i" > "$WORK/files/f$i.conf"; done
echo ok > "$WORK/www/index.html"
HTTP_PORT=$(free_port)
python3 -m http.server --bind 127.0.0.1 --directory "$WORK/www" "$HTTP_PORT" > /dev/null 2>&1 &
PIDS+=($!)
TLS_PORT=$(free_port)
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 365 -subj /CN=localhost \
  -keyout "$WORK/tls.key" -out "$WORK/tls.crt" > /dev/null 2>&1
openssl s_server -quiet -www -accept "127.0.0.1:$TLS_PORT" -cert "$WORK/tls.crt" -key "$WORK/tls.key" \
  < /dev/null > /dev/null 2>&1 &
PIDS+=($!)
for _ in $(seq 100); do
  (exec 3<>"/dev/tcp/127.0.0.1/$HTTP_PORT") 2>/dev/null && (exec 3<>"/dev/tcp/127.0.0.1/$TLS_PORT") 2>/dev/null && break
  sleep 0.05
done

# --- hale-agent ------------------------------------------------------------------
{
  cat <<TOML
[agent]
region = "bench"
node = "bench-node"
state_dir = "$WORK/state"
heartbeat_interval = "1h"
[log]
level = "${HALE_BENCH_LOG_LEVEL:-warn}"
TOML
  for i in $(seq 1 50); do
    printf '[[check]]\nname = "proc%d"\nkind = "process"\npidfile = "%s"\ninterval = "1s"\n' "$i" "$WORK/pids/p$i.pid"
  done
  for i in $(seq 1 10); do printf '[[check]]\nname = "disk%d"\nkind = "disk"\npath = "/"\ninterval = "1s"\n' "$i"; done
  for i in $(seq 1 10); do
    printf '[[check]]\nname = "tcp%d"\nkind = "tcp_probe"\nendpoint = "127.0.0.1:%d"\ninterval = "1s"\n' "$i" "$HTTP_PORT"
    printf '[[check]]\nname = "http%d"\nkind = "http_probe"\nurl = "http://127.0.0.1:%d/"\ninterval = "1s"\n' "$i" "$HTTP_PORT"
  done
  # Thresholds out of reach for both tools: a busy shared machine must not make either alert.
  printf '[[check]]\nname = "system"\nkind = "system"\ninterval = "1s"\nload_per_cpu_warn = 100\nload_per_cpu_crit = 200\n'
  for i in $(seq 1 16); do
    sum=$(sha256sum "$WORK/files/f$i.conf" | cut -d' ' -f1)
    printf '[[check]]\nname = "file%d"\nkind = "file"\npath = "%s"\nsha256 = "%s"\ninterval = "1s"\n' "$i" "$WORK/files/f$i.conf" "$sum"
  done
  for i in 1 2 3; do
    printf '[[check]]\nname = "cert%d"\nkind = "certificate"\nendpoint = "127.0.0.1:%d"\nserver_name = "localhost"\ninterval = "60s"\n' "$i" "$TLS_PORT"
  done
} > "$WORK/agent.toml"
"$AGENT" run --config "$WORK/agent.toml" > "$WORK/agent.out" 2>&1 &
AGENT_PID=$!
PIDS+=($AGENT_PID)

# --- Monit 5.33, the equivalent set -------------------------------------------------
MONIT_PID=""
if command -v monit > /dev/null; then
  {
    cat <<MONIT
set daemon 1
set log $WORK/monit.log
set pidfile $WORK/monit.pid
set idfile $WORK/monit.id
set statefile $WORK/monit.state
check system bench_system
  if loadavg (5min) per core > 100 then alert
  if memory usage > 90% then alert
  if swap usage > 80% then alert
MONIT
    for i in $(seq 1 50); do printf 'check process proc%d with pidfile %s\n' "$i" "$WORK/pids/p$i.pid"; done
    for i in $(seq 1 10); do
      printf 'check filesystem disk%d with path /\n  if space usage > 90%% then alert\n  if inode usage > 90%% then alert\n' "$i"
    done
    for i in $(seq 1 10); do
      printf 'check host tcp%d with address 127.0.0.1\n  if failed port %d type tcp then alert\n' "$i" "$HTTP_PORT"
      printf 'check host http%d with address 127.0.0.1\n  if failed port %d protocol http request "/" then alert\n' "$i" "$HTTP_PORT"
    done
    for i in $(seq 1 16); do
      printf 'check file file%d with path %s\n  if changed checksum then alert\n' "$i" "$WORK/files/f$i.conf"
    done
    for i in 1 2 3; do
      printf 'check host cert%d with address 127.0.0.1\n  every 60 cycles\n  if failed port %d protocol https and certificate valid > 30 days then alert\n' "$i" "$TLS_PORT"
    done
  } > "$WORK/monitrc"
  chmod 600 "$WORK/monitrc"
  monit -c "$WORK/monitrc" -t > "$WORK/monit.syntax" 2>&1 || { echo "footprint_bench: monitrc rejected:" >&2; cat "$WORK/monit.syntax" >&2; exit 1; }
  monit -c "$WORK/monitrc" -I > "$WORK/monit.out" 2>&1 &
  MONIT_PID=$!
  PIDS+=($MONIT_PID)
fi

sleep "$WARMUP"
if [[ -n ${HALE_SMAPS_OUT:-} ]]; then cat /proc/$AGENT_PID/smaps > "$HALE_SMAPS_OUT"; [[ -z "$MONIT_PID" ]] || cat /proc/$MONIT_PID/smaps > "$HALE_SMAPS_OUT.monit"; fi
# HALE_BENCH_LOG_LEVEL=debug HALE_AGENT_LOG_OUT=FILE: keep the agent's log (one line per result).
# HALE_RSS_TRACE=1: every sample on stderr (does memory settle or grow?).
# HALE_SMAPS_OUT=FILE: the agent's (and Monit's) memory map after warm-up, and FILE.end after the window.
# HALE_PERF_OUT=FILE: profile the agent for 30 s with perf (where does its CPU go?).
if [[ -n ${HALE_PERF_OUT:-} ]]; then perf record -g -F 999 -p "$AGENT_PID" -o "$HALE_PERF_OUT" -- sleep 30 >/dev/null 2>&1; fi
kill -0 "$AGENT_PID" 2>/dev/null || { echo "footprint_bench: hale-agent died:" >&2; tail -5 "$WORK/agent.out" >&2; exit 1; }
[[ -z "$MONIT_PID" ]] || kill -0 "$MONIT_PID" 2>/dev/null || { echo "footprint_bench: monit died:" >&2; tail -5 "$WORK/monit.out" >&2; MONIT_PID=""; }

# Samples both processes every second; prints "name cpu_s_per_min max_rss_kb".
sample() {
  python3 - "$@" <<'PY'
import os, sys, time
seconds = float(sys.argv[1])
procs = dict(a.split("=") for a in sys.argv[2:])
hz = os.sysconf("SC_CLK_TCK")
def cpu(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return sum(int(x) for x in fields[11:15]) / hz  # utime stime cutime cstime
def rss(pid):  # (VmRSS, RssAnon) in kB; the rest of VmRSS is shared library pages
    out = [0, 0]
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"): out[0] = int(line.split()[1])
            if line.startswith("RssAnon:"): out[1] = int(line.split()[1])
    return out
start = {n: cpu(p) for n, p in procs.items()}
peak = {n: rss(p) for n, p in procs.items()}
t0 = time.monotonic()
while time.monotonic() - t0 < seconds:
    time.sleep(1)
    for n, p in procs.items():
        now = rss(p)
        if os.environ.get("HALE_RSS_TRACE"):
            print(f"{time.monotonic() - t0:5.0f}s {n} RSS {now[0]} kB anon {now[1]} kB", file=sys.stderr)
        peak[n] = [max(a, b) for a, b in zip(peak[n], now)]
elapsed = time.monotonic() - t0
for n, p in procs.items():
    print(n, f"{(cpu(p) - start[n]) * 60 / elapsed:.3f}", *peak[n])
PY
}
results=$(sample "$SECONDS_MEASURED" "hale=$AGENT_PID" ${MONIT_PID:+"monit=$MONIT_PID"})
if [[ -n ${HALE_SMAPS_OUT:-} ]]; then cat /proc/$AGENT_PID/smaps > "$HALE_SMAPS_OUT.end"; fi
if [[ -n ${HALE_AGENT_LOG_OUT:-} ]]; then cp "$WORK/agent.out" "$HALE_AGENT_LOG_OUT"; fi
echo "$results" | awk '{ printf "%-6s CPU %.3f s/min (%.2f%% of a core)  RSS %.1f MB (anonymous %.1f MB)\n", $1, $2, $2 / 0.6, $3 / 1024, $4 / 1024 }'
echo "hale-agent warnings/errors logged: $(grep -c . "$WORK/agent.out" || true)"
[[ -z "$MONIT_PID" ]] || { echo "monit errors logged: $(grep -ci error "$WORK/monit.log" || true)"; grep -i error "$WORK/monit.log" | sort -u -k3 | head -3 || true; }
echo "$results" | awk -v secs="$SECONDS_MEASURED" '
  { cpu[$1] = $2; rss[$1] = $3 / 1024; anon[$1] = $4 / 1024 }
  END {
    if ("monit" in cpu) {
      printf "REPORT|footprint, 100 checks at 1 s (3 certificate checks at 60 s): peak RSS (MB; anonymous in brackets)|%.1f (%.1f)|%.1f (%.1f) (Monit 5.33, set daemon 1, equivalent set)|%.2fx (%.2fx)|<= Monit\n", rss["hale"], anon["hale"], rss["monit"], anon["monit"], rss["hale"] / rss["monit"], anon["hale"] / anon["monit"]
      printf "REPORT|footprint, 100 checks at 1 s: CPU seconds per minute (over %d s)|%.3f|%.3f (Monit 5.33, set daemon 1, equivalent set)|%.2fx|<= 0.5x Monit\n", secs, cpu["hale"], cpu["monit"], (cpu["monit"] > 0 ? cpu["hale"] / cpu["monit"] : 0)
    } else {
      printf "REPORT|footprint, 100 checks at 1 s (3 certificate checks at 60 s): peak RSS (MB; anonymous in brackets)|%.1f (%.1f)|skipped (monit not installed)|-|<= Monit\n", rss["hale"], anon["hale"]
      printf "REPORT|footprint, 100 checks at 1 s: CPU seconds per minute (over %d s)|%.3f|skipped (monit not installed)|-|<= 0.5x Monit\n", secs, cpu["hale"]
    }
  }'
