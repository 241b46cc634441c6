#!/usr/bin/env bash
# Make sure the services the tests use answer: Redis on 127.0.0.1:6379 and PostgreSQL on
# 127.0.0.1:5432 (database `test`). Starts a stopped local server; installs none.
set -euo pipefail

log() { echo "[ensure_services] $*"; }

redis_up() { (exec 3<>/dev/tcp/127.0.0.1/6379 && printf 'PING\r\n' >&3 && head -c 5 <&3 | grep -q PONG) 2>/dev/null; }
postgres_up() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }

wait_for() {
    local name=$1 check=$2
    for _ in $(seq 1 30); do
        $check && { log "$name is up"; return 0; }
        sleep 1
    done
    log "$name did not come up"; return 1
}

if ! redis_up; then
    log "starting redis-server"
    mkdir -p /var/lib/redis /var/log/redis
    redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
        --dir /var/lib/redis --logfile /var/log/redis/ci.log
fi
wait_for redis redis_up

if ! postgres_up; then
    log "starting PostgreSQL"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start
fi
wait_for postgresql postgres_up
psql -h 127.0.0.1 -U postgres -lqt 2>/dev/null | cut -d'|' -f1 | grep -qw test \
    || { log "creating database test"; createdb -h 127.0.0.1 -U postgres test; }
