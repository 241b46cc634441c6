#!/usr/bin/env bash
# Production mode's reverse proxy: Debian's nginx, installed when missing (make run-prod and the
# production tests need it). Only the binary is used: scripts/run_prod.sh starts its own nginx
# with the repo's configuration, the distribution's default site is never started.
set -euo pipefail
command -v nginx >/dev/null 2>&1 || [[ -x /usr/sbin/nginx ]] && exit 0
echo "[ensure_nginx] installing nginx"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends nginx-light >/dev/null 2>&1 || apt-get install -y -qq nginx >/dev/null
# The package starts the default site on port 80 when an init system runs; it is not wanted here.
service nginx stop >/dev/null 2>&1 || true
