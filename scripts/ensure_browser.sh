#!/usr/bin/env bash
# Debian's Chromium and ChromeDriver for the browser tests (no browser download of a test tool's own).
set -euo pipefail
# Noto CJK so that screenshots of the Chinese page show characters, not boxes; poppler-utils
# (pdftotext) so that tests can read the statistics report's PDF.
if [[ -x /usr/bin/chromium && -x /usr/bin/chromedriver ]] && dpkg -s fonts-noto-cjk >/dev/null 2>&1 \
    && command -v pdftotext >/dev/null; then
    exit 0
fi
echo "[ensure_browser] apt-get install chromium chromium-driver fonts-noto-cjk poppler-utils"
sudo=""
[[ $(id -u) -ne 0 ]] && sudo="sudo"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends chromium chromium-driver fonts-noto-cjk poppler-utils >/dev/null
