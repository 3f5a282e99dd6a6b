#!/usr/bin/env bash
# Installs the Debian packages Hale needs to build, test and run its demo.
# Idempotent: when everything is present it changes nothing and says so.
set -euo pipefail

PACKAGES=(
  build-essential cmake pkg-config ca-certificates
  libasio-dev
  libpaho-mqtt-dev libpaho-mqttpp-dev
  libflatbuffers-dev flatbuffers-compiler
  libsqlite3-dev
  libmbedtls-dev
  libtomlplusplus-dev
  doctest-dev
  libre2-dev
  librestinio-dev libfmt-dev libhttp-parser-dev
  nlohmann-json3-dev
  mosquitto mosquitto-clients
  openssl curl
  # Tests of the fleet view: promtool checks a live /metrics scrape, headless
  # Chromium loads the dashboard. Chromium is big (~300 MB) but CI must run them.
  prometheus chromium
)

# Accepted for older callers; everything is in PACKAGES now.
[[ "${1:-}" == "--with-extras" ]] && shift
want=("${PACKAGES[@]}")

missing=()
for p in "${want[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
  echo "deps: all ${#want[@]} packages present"
  exit 0
fi

SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "deps: installed ${#missing[@]} packages"
