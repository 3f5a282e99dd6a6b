#!/usr/bin/env bash
# Installs the Debian packages Hale needs to build, test and run its demo.
# Idempotent: when everything is present it changes nothing and says so.
#   scripts/deps.sh            build + demo + tests (what CI needs)
#   scripts/deps.sh --build    build + demo only (no headless browser, no promtool, no clang)
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
  openssl curl dpkg-dev
  libpq-dev
)
# Tests only: promtool checks a live /metrics scrape, headless Chromium loads
# the dashboard (big, ~300 MB, but CI must run them), python3 and openssl serve
# the HTTPS receiver of the notifier test, man-db renders the man pages; clang for the
# sanitizer-friendly fuzz builds. smartctl (smartmontools) and journalctl with
# systemd-journal-remote (writes the journal files the log check follows) serve
# tests/integration/log_sources_test.cpp.
TEST_PACKAGES=(prometheus chromium python3 man-db smartmontools systemd-journal-remote postgresql-15)

want=("${PACKAGES[@]}")
[[ "${1:-}" == "--build" ]] || want+=("${TEST_PACKAGES[@]}")

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
