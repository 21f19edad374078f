#!/usr/bin/env bash
# Installs Debian's libquartz2-java (Quartz 2.3.2), which the differential
# test of package scheduler (scheduler/quartzdiff) runs against. Idempotent:
# does nothing when the jar is already there. Exits 0 with a message when it
# cannot install (no apt, not root), because that test then skips itself.
set -euo pipefail

jar_present() {
	local j
	for j in /usr/share/java/quartz2.jar /usr/share/java/quartz.jar; do
		if [ -f "$j" ]; then
			echo "install-quartz: found $j"
			return 0
		fi
	done
	return 1
}

if jar_present; then
	exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
	echo "install-quartz: apt-get not found; the Quartz differential test will skip"
	exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
	echo "install-quartz: not root; run 'sudo apt-get install -y libquartz2-java' to enable the Quartz differential test"
	exit 0
fi

export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y --no-install-recommends libquartz2-java; then
	# The package lists may be missing or stale on a fresh machine.
	if ! { apt-get update && apt-get install -y --no-install-recommends libquartz2-java; }; then
		echo "install-quartz: apt-get could not install libquartz2-java; the Quartz differential test will skip"
		exit 0
	fi
fi

if ! jar_present; then
	echo "install-quartz: libquartz2-java installed but no quartz jar under /usr/share/java"
	dpkg -L libquartz2-java | grep '\.jar$' || true
fi

if ! command -v javac >/dev/null 2>&1; then
	echo "install-quartz: javac not found; install a JDK (17+) for the Quartz differential test"
fi
exit 0
