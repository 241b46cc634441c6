#!/usr/bin/env bash
# Create .venv (action server, search engine, records, tests) from requirements/app.lock.txt.
# Idempotent: a stamp (sha256 of the lock + this script + python version) makes a rerun a no-op.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${APP_VENV:-$ROOT/.venv}"
LOCK="$ROOT/requirements/app.lock.txt"
STAMP="$VENV/.setup-stamp"

log() { echo "[setup_app_env] $*"; }

want=$({ cat "$LOCK" "${BASH_SOURCE[0]}"; python3 --version; } | sha256sum | cut -d' ' -f1)
if [[ -x "$VENV/bin/python" && -f "$STAMP" && "$(cat "$STAMP")" == "$want" ]]; then
    log "up to date ($VENV)"
    exit 0
fi
[[ -x "$VENV/bin/python" ]] || { log "creating $VENV"; python3 -m venv "$VENV"; }
rm -f "$STAMP"
log "installing requirements/app.lock.txt (torch is the CPU build)"
"$VENV/bin/pip" install -q --upgrade pip 2> >(grep -v 'is ignored' >&2)
"$VENV/bin/pip" install -q -r "$LOCK" 2> >(grep -v 'is ignored' >&2)
"$VENV/bin/pip" check
echo "$want" >"$STAMP"
log "ready"
