#!/usr/bin/env bash
# Installs what the fault-injection suite (make chaos) needs beyond Go:
# iptables for the partition faults (nft also works). It never fails: where
# neither can be had, the suite skips the partition faults and says so in
# its summary and report.
set -u

if command -v iptables >/dev/null 2>&1 || command -v nft >/dev/null 2>&1; then
	exit 0
fi
if [ "$(id -u)" != 0 ]; then
	echo "chaos-deps: not root, cannot install iptables: partition faults will be skipped" >&2
	exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
	echo "chaos-deps: no apt-get, cannot install iptables: partition faults will be skipped" >&2
	exit 0
fi
echo "chaos-deps: installing iptables" >&2
if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iptables; } >&2; then
	echo "chaos-deps: could not install iptables: partition faults will be skipped" >&2
fi
exit 0
