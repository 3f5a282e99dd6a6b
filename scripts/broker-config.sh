#!/usr/bin/env bash
# Writes a Mosquitto configuration for Hale.
#   scripts/broker-config.sh PORT PKI_DIR DATA_DIR [BRIDGE_TO_HOST:PORT] > mosquitto.conf
# With BRIDGE_TO, hale/v1/# is bridged both ways to that broker (one broker
# per region), authenticated by PKI_DIR/bridge.crt (CN hale-bridge).
set -euo pipefail
port=${1:?port}; pki=${2:?pki dir}; data=${3:?data dir}; bridge_to=${4:-}
root=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$data"
sed -e "s|@PORT@|$port|" -e "s|@PKI@|$pki|g" -e "s|@ACL@|$root/config/mosquitto/acl|" -e "s|@DATA@|$data|" \
  "$root/config/mosquitto/mosquitto.conf.in"
if [[ -n $bridge_to ]]; then
  sed -e "s|@PORT@|$port|g" -e "s|@PKI@|$pki|g" -e "s|@REMOTE@|$bridge_to|" "$root/config/mosquitto/bridge.conf.in"
fi
# Started as root, Mosquitto drops to the 'mosquitto' user before reading
# keys; keep the current user instead so the test's own files stay readable.
if [[ $(id -u) -eq 0 ]]; then echo "user root"; fi
