#!/usr/bin/env bash
# Browser libraries the staff app serves itself (no CDN: the county's network may not reach one, and
# the CSP allows scripts from the app only). Apache ECharts, pinned with its integrity hash in
# staff/assets/package-lock.json, is installed with `npm ci` and its minified build copied to
# staff/static/vendor/ (gitignored). Idempotent: a stamp of the lock file makes a rerun a no-op.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ASSETS="$ROOT/staff/assets"
VENDOR="$ROOT/staff/static/vendor"
BUILD="$ROOT/var/npm-assets"
STAMP="$VENDOR/.stamp"

log() { echo "[setup_staff_assets] $*"; }

want=$(cat "$ASSETS/package.json" "$ASSETS/package-lock.json" "${BASH_SOURCE[0]}" | sha256sum | cut -d' ' -f1)
if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$want" && -f "$VENDOR/echarts.min.js" ]]; then
    log "up to date"
    exit 0
fi
command -v npm >/dev/null || { log "npm is missing: apt-get install -y nodejs npm"; exit 1; }
rm -rf "$BUILD"
mkdir -p "$BUILD" "$VENDOR"
cp "$ASSETS/package.json" "$ASSETS/package-lock.json" "$BUILD/"
log "npm ci (echarts)"
(cd "$BUILD" && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error)
cp "$BUILD/node_modules/echarts/dist/echarts.min.js" "$VENDOR/echarts.min.js"
cp "$BUILD/node_modules/echarts/LICENSE" "$VENDOR/echarts.LICENSE.txt"
rm -rf "$BUILD"
echo "$want" >"$STAMP"
log "ready ($VENDOR)"
