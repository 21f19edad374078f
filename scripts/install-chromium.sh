#!/usr/bin/env bash
# Installs Debian's chromium and chromium-driver, which the dashboard's
# end-to-end test (internal/e2e/ui) drives headless. Idempotent: does
# nothing when /usr/bin/chromium is already there. Exits 0 with a message
# when it cannot install (no apt, not root), because that test then skips
# itself.
set -euo pipefail

packages=(chromium chromium-driver fonts-dejavu-core)

chromium_present() {
	if [ -x /usr/bin/chromium ]; then
		echo "install-chromium: found $(/usr/bin/chromium --version 2>/dev/null || echo /usr/bin/chromium)"
		return 0
	fi
	return 1
}

if chromium_present; then
	exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
	echo "install-chromium: apt-get not found; the dashboard e2e test will skip"
	exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
	echo "install-chromium: not root; run 'sudo apt-get install -y ${packages[*]}' to enable the dashboard e2e test"
	exit 0
fi

export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y --no-install-recommends "${packages[@]}"; then
	# The package lists may be missing or stale on a fresh machine.
	if ! { apt-get update && apt-get install -y --no-install-recommends "${packages[@]}"; }; then
		echo "install-chromium: apt-get could not install ${packages[*]}; the dashboard e2e test will skip"
		exit 0
	fi
fi

if ! chromium_present; then
	echo "install-chromium: packages installed but /usr/bin/chromium is missing"
fi
exit 0
