#!/usr/bin/env bash
# Writes a Mosquitto configuration for Hale, and its ACL as DATA_DIR/acl: the
# shipped config/mosquitto/acl plus, for every node certificate
# PKI_DIR/node-*.crt with the region as OU (scripts/dev-pki.sh NODE:REGION),
# read access to that region's command topic only. Run it again (and send the
# broker SIGHUP) when node certificates are added.
#   scripts/broker-config.sh PORT PKI_DIR DATA_DIR [BRIDGE_TO_HOST:PORT] > mosquitto.conf
# With BRIDGE_TO, hale/v1/# is bridged both ways to that broker (one broker
# per region), authenticated by PKI_DIR/bridge.crt (CN hale-bridge).
set -euo pipefail
port=${1:?port}; pki=${2:?pki dir}; data=${3:?data dir}; bridge_to=${4:-}
root=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$data"
acl="$data/acl"
{
  cat "$root/config/mosquitto/acl"
  shopt -s nullglob
  for crt in "$pki"/node-*.crt; do
    subject=$(openssl x509 -noout -subject -nameopt RFC2253 -in "$crt")
    cn=$(sed -n 's/.*[=,]CN=\([^,]*\).*/\1/p; s/^subject=CN=\([^,]*\).*/\1/p' <<<"$subject" | head -n1)
    ou=$(sed -n 's/.*[=,]OU=\([^,]*\).*/\1/p' <<<"$subject" | head -n1)
    # Ids are [A-Za-z0-9._-]: anything else (an MQTT wildcard, a separator) gets no grant.
    [[ "$cn" =~ ^[A-Za-z0-9._-]+$ && "$ou" =~ ^[A-Za-z0-9._-]+$ && "$ou" != global ]] || continue
    printf '\nuser %s\ntopic read hale/v1/%s/cmd\n' "$cn" "$ou"
  done
} > "$acl.tmp"
mv "$acl.tmp" "$acl"
sed -e "s|@PORT@|$port|" -e "s|@PKI@|$pki|g" -e "s|@ACL@|$acl|" -e "s|@DATA@|$data|" \
  "$root/config/mosquitto/mosquitto.conf.in"
if [[ -n $bridge_to ]]; then
  sed -e "s|@PORT@|$port|g" -e "s|@PKI@|$pki|g" -e "s|@REMOTE@|$bridge_to|" "$root/config/mosquitto/bridge.conf.in"
fi
# Started as root, Mosquitto drops to the 'mosquitto' user before reading
# keys; keep the current user instead so the test's own files stay readable.
if [[ $(id -u) -eq 0 ]]; then echo "user root"; fi
