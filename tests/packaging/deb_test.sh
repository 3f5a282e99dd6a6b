#!/usr/bin/env bash
# Builds the .deb packages, installs them with dpkg, runs the installed
# binaries against the installed configuration, and purges them again:
# nothing may be left but the `hale` user (Debian policy keeps users).
set -euo pipefail
build=${1:?build dir}
if [[ $(id -u) -ne 0 ]]; then echo "deb_test: needs root for dpkg; skipped"; exit 77; fi
cd "$build"
rm -f hale-agent_*.deb hale-aggregator_*.deb
cpack -G DEB >/dev/null
agent_deb=$(ls hale-agent_*.deb) aggregator_deb=$(ls hale-aggregator_*.deb)
# Captured first: `grep -q` exits at the first match, and under pipefail the
# writer's SIGPIPE would fail the pipeline.
info=$(dpkg-deb --info "$agent_deb") contents=$(dpkg-deb --contents "$agent_deb")
grep -q "Depends:.*libpaho" <<<"$info" || { echo "deb_test: no shared-library dependencies"; exit 1; }
grep -q "./etc/hale/patterns/" <<<"$contents" || { echo "deb_test: patterns missing"; exit 1; }
grep -q "./usr/share/man/man1/hale-agent.1.gz" <<<"$contents" || { echo "deb_test: man page missing"; exit 1; }

cleanup() { dpkg --purge hale-agent hale-aggregator >/dev/null 2>&1 || true; }
trap cleanup EXIT
dpkg -i "$agent_deb" "$aggregator_deb" >/dev/null

[[ $(/usr/bin/hale-agent --version) == "hale-agent "* ]]
/usr/bin/hale-agent check-config /etc/hale/agent.toml
/usr/bin/hale-aggregator check-config /etc/hale/aggregator.toml
/usr/bin/hale-agent once --config /etc/hale/agent.toml >/dev/null || [[ $? -le 2 ]]
diagnosis=$(/usr/bin/hale-agent diagnose - <<<"npm ERR! network request to https://registry.npmjs.org failed, reason: getaddrinfo ENOTFOUND")
grep -q network <<<"$diagnosis"
getent passwd hale >/dev/null
[[ -d /var/lib/hale/agent && -f /lib/systemd/system/hale-agent.service && -f /lib/systemd/system/hale-aggregator.service ]]
grep -qx /etc/hale/agent.toml /var/lib/dpkg/info/hale-agent.conffiles
zcat /usr/share/man/man1/hale-agent.1.gz | grep -q '^\.B drill$'
[[ -f /usr/share/man/man1/hale-aggregator.1.gz ]]

dpkg --purge hale-agent hale-aggregator >/dev/null
trap - EXIT
for path in /usr/bin/hale-agent /usr/bin/hale-aggregator /etc/hale /var/lib/hale \
            /lib/systemd/system/hale-agent.service /lib/systemd/system/hale-aggregator.service \
            /usr/share/man/man1/hale-agent.1.gz /usr/share/man/man1/hale-aggregator.1.gz; do
  if [[ -e $path ]]; then echo "deb_test: $path left behind after purge"; exit 1; fi
done
echo "deb_test: installed, ran, purged cleanly"
