#!/usr/bin/env bash
# Install Debian's headless-capable Chromium (and its driver) for the report's browser test.
# Idempotent: does nothing when /usr/bin/chromium and chromedriver already exist.
# Needs root (or sudo) and the Debian package registry; the test it serves skips without it
# unless STEERING_REQUIRE_BROWSER=1.
set -euo pipefail

if [ -x /usr/bin/chromium ] && command -v chromedriver >/dev/null 2>&1; then
    echo "chromium: already installed ($(/usr/bin/chromium --version 2>/dev/null || echo unknown version))"
    exit 0
fi

. "$(dirname "$0")/apt_install.sh"
apt_install chromium chromium chromium-driver
echo "chromium: installed ($(/usr/bin/chromium --version 2>/dev/null || echo unknown version))"
