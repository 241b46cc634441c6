#!/usr/bin/env bash
# Production mode on one machine (make run-prod): nginx in front of 2 Rasa servers on
# endpoints.production.yml (Redis tracker and lock stores), 2 action servers, the staff app, and
# PostgreSQL for the records. Prints every address; Ctrl-C (or SIGTERM) stops nginx first, then
# lets every server finish its in-flight messages (SIGTERM, up to PROD_GRACE_SECONDS) before the rest.
# Settings (environment, with defaults):
#   PROD_HOST=127.0.0.1 PROD_PORT=8080      where nginx serves residents (/webhooks/…) and staff (/)
#   PROD_RASA_PORTS="5005 5006"             one Rasa server per port
#   PROD_ACTION_PORTS="5055 5056"           one action server per port
#   PROD_ACTIONS_PROXY_PORT=8081            nginx's internal balancer of the action servers
#   STAFF_PORT=5080                         the staff app
#   LEGAL_DB_URL=postgresql+psycopg://postgres@127.0.0.1:5432/legal   (created if missing)
#   REDIS_HOST=127.0.0.1 REDIS_PORT=6379 REDIS_TRACKER_DB=0 REDIS_LOCK_DB=1
#   RASA_TOKEN (else var/rasa_token)  PROD_RUN_DIR=var/prod (nginx config, pid, temp)  PROD_LOG_DIR=var/log
#   PROD_GRACE_SECONDS=30  RATE_LIMIT_* (channels/ratelimit.py)  RETENTION_DAYS (records/config.py)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

PROD_HOST="${PROD_HOST:-127.0.0.1}"
PROD_PORT="${PROD_PORT:-8080}"
read -r -a RASA_PORTS <<<"${PROD_RASA_PORTS:-5005 5006}"
read -r -a ACTION_PORTS <<<"${PROD_ACTION_PORTS:-5055 5056}"
ACTIONS_PROXY_PORT="${PROD_ACTIONS_PROXY_PORT:-8081}"
STAFF_PORT="${STAFF_PORT:-5080}"
RUN_DIR="$(realpath -m "${PROD_RUN_DIR:-var/prod}")"
LOG_DIR="$(realpath -m "${PROD_LOG_DIR:-var/log}")"
GRACE="${PROD_GRACE_SECONDS:-30}"
NGINX="$(command -v nginx || echo /usr/sbin/nginx)"

export LEGAL_DB_URL="${LEGAL_DB_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/legal?connect_timeout=5}"
export REDIS_HOST="${REDIS_HOST:-127.0.0.1}" REDIS_PORT="${REDIS_PORT:-6379}"
export REDIS_TRACKER_DB="${REDIS_TRACKER_DB:-0}" REDIS_LOCK_DB="${REDIS_LOCK_DB:-1}"
export RASA_ENDPOINTS=endpoints.production.yml WECHAT_STATE_STORE="${WECHAT_STATE_STORE:-redis}"
export ACTION_SERVER_URL="http://127.0.0.1:${ACTIONS_PROXY_PORT}/webhook"
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false RASA_TELEMETRY_ENABLED=false
export SANIC_WORKER_ACK_TIMEOUT="${SANIC_WORKER_ACK_TIMEOUT:-120}" SQLALCHEMY_SILENCE_UBER_WARNING=1 TF_CPP_MIN_LOG_LEVEL=2
# nginx is the one proxy: Sanic takes the client address from X-Forwarded-For (rate limits).
export SANIC_PROXIES_COUNT=1 STAFF_TRUST_PROXY=1
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
# The staff app: sessions and scheduler lease in Redis, transcripts from Rasa's Redis store.
export REDIS_URL="${REDIS_URL:-redis://$REDIS_HOST:$REDIS_PORT/4}"
export STAFF_TRACKER_REDIS_URL="${STAFF_TRACKER_REDIS_URL:-redis://$REDIS_HOST:$REDIS_PORT/$REDIS_TRACKER_DB}"
mkdir -p "$RUN_DIR/tmp" "$LOG_DIR"
chmod 1777 "$RUN_DIR/tmp"  # nginx's workers run as an unprivileged user when started as root
RASA_TOKEN="$(.venv/bin/python -m staff rasa-token)"
export RASA_TOKEN RASA_URL="${RASA_URL:-http://127.0.0.1:${RASA_PORTS[0]}}"

[[ -x "$NGINX" ]] || { echo "nginx is missing: run scripts/ensure_nginx.sh" >&2; exit 1; }
if [[ "$LEGAL_DB_URL" == postgresql*@127.0.0.1:5432/legal\?* ]]; then  # the default database
    psql -h 127.0.0.1 -U postgres -lqt | cut -d'|' -f1 | grep -qw legal || createdb -h 127.0.0.1 -U postgres legal
fi
.venv/bin/python -m records init >/dev/null  # creates the tables
.venv/bin/python -m staff demo

# nginx's configuration from the template.
rasa_servers="" action_servers=""
for port in "${RASA_PORTS[@]}"; do rasa_servers+="        server 127.0.0.1:$port max_fails=1 fail_timeout=5s;"$'\n'; done
for port in "${ACTION_PORTS[@]}"; do action_servers+="        server 127.0.0.1:$port max_fails=1 fail_timeout=5s;"$'\n'; done
busy_text="$(.venv/bin/python -c 'from channels.wording import domain_text; print(domain_text("utter_service_busy"))')"
RASA_SERVERS="$rasa_servers" ACTION_SERVERS="$action_servers" TRY_AGAIN_TEXT="$busy_text" \
    RUN_DIR="$RUN_DIR" LOG_DIR="$LOG_DIR" PROD_HOST="$PROD_HOST" PROD_PORT="$PROD_PORT" \
    STAFF_PORT="$STAFF_PORT" ACTIONS_PROXY_PORT="$ACTIONS_PROXY_PORT" .venv/bin/python deploy/nginx_conf.py \
    >"$RUN_DIR/nginx.conf"
"$NGINX" -t -q -c "$RUN_DIR/nginx.conf" -e "$LOG_DIR/nginx-error.log" 2>&1 | grep -v "^$" >&2 || true

pids=() nginx_pid=""
stop() {
    trap - EXIT INT TERM
    echo "stopping: nginx first, then the servers finish their in-flight messages …" >&2
    # nginx: graceful quit (finishes the requests it is proxying).
    [[ -n "$nginx_pid" ]] && kill -QUIT "$nginx_pid" 2>/dev/null && wait "$nginx_pid" 2>/dev/null
    kill -TERM "${pids[@]}" 2>/dev/null || true
    for _ in $(seq 1 "$GRACE"); do
        alive=0
        for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
        ((alive)) || break
        sleep 1
    done
    kill -KILL "${pids[@]}" 2>/dev/null || true
    wait 2>/dev/null || true
}
trap stop EXIT
trap 'stop; exit 0' INT TERM

# Each server runs under a small supervisor that restarts it when it exits (pid in $RUN_DIR/NAME.pid).
# A server gets a process group of its own (setsid): Sanic's worker processes go with it, so a
# crashed server leaves nothing holding its port, and SIGTERM reaches all of it and is waited for,
# so in-flight messages finish.
supervise() {
    local name=$1
    shift
    (
        child=""
        trap '[[ -n "$child" ]] && kill -TERM -- "-$child" 2>/dev/null; wait "$child" 2>/dev/null; exit 0' TERM INT
        while true; do
            setsid "$@" >>"$LOG_DIR/$name.log" 2>&1 &
            child=$!
            echo "$child" >"$RUN_DIR/$name.pid"
            wait "$child" && code=0 || code=$?
            kill -KILL -- "-$child" 2>/dev/null || true  # what is left of it (workers)
            echo "$(date -u +%FT%TZ) $name exited ($code); restarting in 2 s" >>"$LOG_DIR/$name.log"
            sleep 2
        done
    ) &
    pids+=($!)
}

for i in "${!ACTION_PORTS[@]}"; do
    supervise "actions-$i" .venv/bin/python -m rasa_sdk --actions actions --port "${ACTION_PORTS[$i]}"
done
for i in "${!RASA_PORTS[@]}"; do
    supervise "rasa-$i" .venv-rasa/bin/rasa run --enable-api --auth-token "$RASA_TOKEN" -i 127.0.0.1 \
        --port "${RASA_PORTS[$i]}" --model "${RASA_MODEL:-models/current.tar.gz}" \
        --endpoints endpoints.production.yml --credentials credentials.yml
done
STAFF_HOST=127.0.0.1 STAFF_PORT="$STAFF_PORT" supervise staff .venv/bin/python -m staff serve
# Its own session: a Ctrl-C in the terminal would make nginx drop what it is proxying; the trap
# above asks it to quit gracefully instead.
setsid "$NGINX" -c "$RUN_DIR/nginx.conf" -e "$LOG_DIR/nginx-error.log" &
nginx_pid=$!

healthy() {
    local port
    for port in "${RASA_PORTS[@]}"; do curl -sf "http://127.0.0.1:$port/status?token=$RASA_TOKEN" >/dev/null || return 1; done
    for port in "${ACTION_PORTS[@]}"; do curl -sf "http://127.0.0.1:$port/health" >/dev/null || return 1; done
    curl -sf "http://127.0.0.1:$STAFF_PORT/login" >/dev/null && curl -sf "http://$PROD_HOST:$PROD_PORT/healthz" >/dev/null
}

echo "Starting production mode (logs in $LOG_DIR) …"
for _ in $(seq 1 600); do
    if healthy 2>/dev/null; then
        cat <<MSG

  Production mode is ready (nginx on $PROD_HOST:$PROD_PORT).
  Web chat (residents):  http://$PROD_HOST:$PROD_PORT/webhooks/webchat/
  REST webhook:          http://$PROD_HOST:$PROD_PORT/webhooks/rest/webhook
  WeChat webhook:        http://$PROD_HOST:$PROD_PORT/webhooks/wechat/webhook (behind HTTPS in real use)
  Staff web app:         http://$PROD_HOST:$PROD_PORT/   (also direct: http://127.0.0.1:$STAFF_PORT/)
  Health:                http://$PROD_HOST:$PROD_PORT/healthz
  Rasa servers (API, token in var/rasa_token or RASA_TOKEN): $(printf 'http://127.0.0.1:%s ' "${RASA_PORTS[@]}")
  Action servers:        $(printf 'http://127.0.0.1:%s ' "${ACTION_PORTS[@]}")(balanced by nginx on 127.0.0.1:$ACTIONS_PROXY_PORT)
  Records database:      ${LEGAL_DB_URL%%\?*}
  Redis:                 $REDIS_HOST:$REDIS_PORT (trackers db $REDIS_TRACKER_DB, locks db $REDIS_LOCK_DB)
  Press Ctrl-C to stop.
MSG
        # The supervisors restart a server that exits; production mode ends only with nginx.
        wait "$nginx_pid"
        echo "nginx exited; see $LOG_DIR/nginx-error.log" >&2
        exit 1
    fi
    for pid in "${pids[@]}" "$nginx_pid"; do
        kill -0 "$pid" 2>/dev/null || { echo "a server failed to start; see $LOG_DIR" >&2; exit 1; }
    done
    sleep 1
done
echo "timed out waiting for the servers; see $LOG_DIR" >&2
exit 1
