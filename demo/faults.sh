#!/usr/bin/env bash
# The demo's fault schedule, started by scripts/demo.sh: breaks things inside
# the demo directory at set times so that the fleet has something to heal. The
# worker's crashes need no schedule: it dies by itself (hale-demo-service
# --crash-after). Everything here acts on files under $HALE_DEMO_RUN only;
# scripts/demo.sh removes them when it stops. SIGTERM stops the schedule and
# whatever fault is being injected.
#
#   HALE_DEMO_RUN=DIR HALE_DEMO_ROOT=REPO HALE_DEMO_BUILD=BUILD [HALE_DEMO_FAST=1] demo/faults.sh
set -uo pipefail
set -m  # every injection runs in its own process group, so SIGTERM can stop it whole
run=${HALE_DEMO_RUN:?} root=${HALE_DEMO_ROOT:?} build=${HALE_DEMO_BUILD:?}
agent=$build/hale-agent
printf -v started '%(%s)T' -1
started=${HALE_DEMO_T0:-$started}  # scripts/demo.sh's start, which the narration counts from too
elapsed() {
  local now
  printf -v now '%(%s)T' -1
  echo $((now - started))
}

say() {
  local t
  t=$(elapsed)
  printf 'demo  +%d:%02d  %s\n' $((t / 60)) $((t % 60)) "$*"
}

write_atomically() {  # file content
  printf '%b' "$2" > "$1.tmp" && mv -f "$1.tmp" "$1"
}

fill_scratch() {
  say "runner-eu-1: a build leaves 15 MiB of partial files in the 16 MiB CI scratch dir"
  for _ in 1 2 3; do
    head -c 5242880 /dev/urandom > "$run/scratch/build-$RANDOM.partial" 2>/dev/null || return 0
    sleep 1
  done
}

expire_cert() {
  say "runner-eu-2: the web certificate now expires in a day"
  HALE_CERT="$run/web/tls/web.crt" HALE_DEMO_CERT_DAYS=1 "$root/demo/hooks/renew-cert" >/dev/null
}

deploy_slow_release() {
  say "runner-eu-2: web release v2 is deployed; it answers 25 ms slower every second (SLO: p95 200 ms)"
  write_atomically "$run/web/release.conf" 'release = v2\nstatus = 200\ndelay_ms = 5\ndrift_ms_per_s = 25\n'
}

ci_step() {  # what step
  say "runner-us-1: CI step $1 starts under hale-agent exec"
  "$agent" exec --config "$run/runner-us-1.toml" --retry-delay 1s --max-attempts 3 -- \
    "$root/demo/steps/$2" "$run/ci" >> "$run/logs/ci.log" 2>&1
  say "runner-us-1: CI step $1 exited $? (log: logs/ci.log)"
}
ci_network() { ci_step "\`npm ci\` (the registry's DNS will hiccup once)" fetch-deps; }
ci_compile() { ci_step "\`make\` (the source has a typo)" compile; }

outage_begin() {
  say "eu-west: the region's gateway answers 503: an outage Hale cannot repair locally"
  write_atomically "$run/gateways/eu-west.conf" 'release = eu-west\nstatus = 503\n'
}
outage_end() {
  say "eu-west: the gateway is back"
  write_atomically "$run/gateways/eu-west.conf" 'release = eu-west\nstatus = 200\ndelay_ms = 2\n'
}

# "first-at every what", in seconds from the start.
if [[ ${HALE_DEMO_FAST:-0} == 1 ]]; then
  schedule=("2 30 ci_network" "4 30 ci_compile" "3 40 fill_scratch" "4 40 expire_cert" "5 40 deploy_slow_release"
            "3 60 outage_begin" "23 60 outage_end")
else
  schedule=("5 60 ci_network" "10 60 ci_compile" "15 120 fill_scratch" "20 120 expire_cert"
            "25 120 deploy_slow_release" "10 300 outage_begin" "55 300 outage_end")
fi

stop() {
  trap - TERM INT
  local job
  for job in $(jobs -p); do kill -TERM -- "-$job" 2>/dev/null; done
  wait
  exit 0
}
trap stop TERM INT

due=()
for entry in "${schedule[@]}"; do due+=("${entry%% *}"); done
while :; do
  now=$(elapsed)
  for i in "${!schedule[@]}"; do
    read -r _ every what <<<"${schedule[$i]}"
    if ((now >= due[i])); then
      "$what" &
      while ((due[i] <= now)); do due[i]=$((due[i] + every)); done
    fi
  done
  sleep 1 &
  wait $! 2>/dev/null
done
