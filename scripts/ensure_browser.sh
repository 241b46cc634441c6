#!/usr/bin/env bash
# Debian's Chromium and ChromeDriver for the browser tests (no browser download of a test tool's own).
set -euo pipefail
if [[ -x /usr/bin/chromium && -x /usr/bin/chromedriver ]]; then
    exit 0
fi
echo "[ensure_browser] apt-get install chromium chromium-driver"
sudo=""
[[ $(id -u) -ne 0 ]] && sudo="sudo"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends chromium chromium-driver >/dev/null
