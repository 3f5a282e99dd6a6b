#!/usr/bin/env bash
# Runs README command 1 (the demo) for a few seconds on free ports and checks
# that all three agents reach the API: the newcomer's first command stays working.
set -euo pipefail
build=${1:?build dir}
root=$(cd "$(dirname "$0")/../.." && pwd)
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
free_port() {
  while :; do
    local p=$(( 20000 + RANDOM % 40000 ))
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
  done
}
out=$(HALE_BUILD_DIR="$build" HALE_DEMO_DIR="$dir" HALE_DEMO_HTTP_PORT=$(free_port) HALE_DEMO_BROKER_PORT=$(free_port) \
      "$root/scripts/demo.sh" --no-build --seconds 8)
echo "$out" | tail -3
online=$(echo "$out" | grep -o '"online":true' | wc -l)
if [[ $online -ne 3 ]]; then
  echo "demo_smoke: expected 3 online nodes, got $online" >&2
  tail -n 20 "$dir"/logs/*.log >&2 || true
  exit 1
fi
for region in eu-west us-east; do
  grep -q "\"region\":\"$region\"" <<<"$out" || { echo "demo_smoke: region $region missing" >&2; exit 1; }
done
echo "demo_smoke: 3 agents in 2 regions online"
