#!/usr/bin/env bash
# Development PKI for Hale: a CA, the broker's server certificate, the
# aggregator's and the broker bridge's client certificates and one client certificate per node.
# The certificate's CN is the MQTT identity (use_identity_as_username), so a
# node's CN must be its node id. A node given as NODE:REGION gets its region
# in the certificate's OU: scripts/broker-config.sh lets it read that region's
# command topic and no other. Idempotent: existing files are kept.
#
#   scripts/dev-pki.sh OUT_DIR NODE[:REGION] [NODE[:REGION]...]
#
# Keys are ECDSA P-256. Not for production: keys are unencrypted.
set -euo pipefail
out=${1:?usage: dev-pki.sh OUT_DIR NODE[:REGION] [NODE[:REGION]...]}
shift
mkdir -p "$out"
cd "$out"
days=${HALE_PKI_DAYS:-825}

key() { [[ -f "$1" ]] || openssl ecparam -name prime256v1 -genkey -noout -out "$1" 2>/dev/null; chmod 600 "$1"; }

if [[ ! -f ca.crt ]]; then
  key ca.key
  openssl req -x509 -new -key ca.key -sha256 -days "$days" -subj "/O=Hale dev/CN=Hale dev CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -out ca.crt 2>/dev/null
fi

# issue NAME SUBJECT EXT: a certificate signed by the CA
issue() {
  local name=$1 subject=$2 ext=$3
  [[ -f "$name.crt" ]] && return 0
  key "$name.key"
  openssl req -new -key "$name.key" -subj "$subject" -out "$name.csr" 2>/dev/null
  printf '%s\n' "$ext" > "$name.ext"
  openssl x509 -req -in "$name.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -sha256 -days "$days" \
    -extfile "$name.ext" -out "$name.crt" 2>/dev/null
  rm -f "$name.csr" "$name.ext"
}

issue broker "/O=Hale dev/CN=localhost" "subjectAltName=DNS:localhost,IP:127.0.0.1
extendedKeyUsage=serverAuth"
issue aggregator "/O=Hale dev/CN=hale-aggregator" "extendedKeyUsage=clientAuth"
# Region brokers bridge to each other with this one (config/mosquitto/bridge.conf.in).
issue bridge "/O=Hale dev/CN=hale-bridge" "extendedKeyUsage=clientAuth"
id='[A-Za-z0-9_-][A-Za-z0-9._-]{0,63}'
for entry in "$@"; do
  [[ "$entry" =~ ^$id(:$id)?$ ]] || { echo "dev-pki: bad node id '$entry' (NODE or NODE:REGION)" >&2; exit 2; }
  node=${entry%%:*} ou=""
  [[ "$entry" == *:* ]] && ou="/OU=${entry#*:}"
  issue "node-$node" "/O=Hale dev$ou/CN=$node" "extendedKeyUsage=clientAuth"
done
echo "dev-pki: certificates in $out"
