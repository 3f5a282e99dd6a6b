#!/bin/sh
# Time to detect and time to heal of `hale-agent drill --all`: 10 drills of a supervised
# process and of a disk, each with a fresh state dir (no cooldown carried over).
# usage: scripts/drill-timings.sh [BUILD_DIR]
B=${1:-build}; T=$(mktemp -d); mkdir -p $T/sandbox
crit=$(python3 -c "import os;s=os.statvfs('$T');t=s.f_blocks*s.f_frsize;print((t-s.f_bavail*s.f_frsize+64*2**20)/t*100)")
for i in $(seq 10); do
cat > $T/a.toml <<EOC
[agent]
region = "r"
state_dir = "$T/state$i"
[[check]]
name = "sleeper"
kind = "process"
argv = ["/usr/bin/sleep", "600"]
interval = "1s"
fail_after = 1
  [[check.remedy]]
  action = "restart"
  supervised = true
  settle = "100ms"
[[check]]
name = "scratch"
kind = "disk"
path = "$T"
interval = "1s"
fail_after = 1
warn_percent = $crit
crit_percent = $crit
  [check.drill]
  dir = "$T/sandbox"
  [[check.remedy]]
  action = "clean"
  roots = ["$T/sandbox"]
  globs = ["*.fill"]
  settle = "100ms"
EOC
$B/hale-agent drill --all --json --config $T/a.toml | python3 -c "import json,sys;j=json.load(sys.stdin);print(' '.join(f\"{d['check']}:{d['verdict']}:{d['healed_by']}:detect={d['detect_ms']}ms:heal={d['heal_ms']}ms\" for d in j['drills']))"
done
rm -rf $T
