#!/usr/bin/env bash
# Start the action server and the Rasa server (REST webhook + web chat page) in the foreground.
# Ctrl-C stops both. Settings (environment, with defaults):
#   RASA_PORT=5005  ACTION_PORT=5055  RASA_HOST=127.0.0.1  RASA_ENDPOINTS=endpoints.yml
#   RASA_MODEL=models/current.tar.gz  LEGAL_DB_URL (records.config)  KNOWLEDGE_* (knowledge.config)
#   STAFF_PORT=5080 STAFF_HOST=127.0.0.1 and the other STAFF_* settings (staff/config.py)
#   RASA_TOKEN (Rasa's HTTP API token; generated into var/rasa_token when unset)
# --build (make run): train the Rasa model (scripts/train_model.sh, cached) in the background while the quick
# search index is built (`python -m knowledge build --quick`), start the action server and the staff app as
# soon as that index exists, and Rasa once its model is trained: the two servers' start-up overlaps the
# training instead of following it.
# --improve-index (make run): once the servers answer, if the index is not yet the configured model's
# (`make run` indexes with the base model first), run the full `python -m knowledge build` in the
# background (progress in var/log/knowledge-build.log) and say when the action server has swapped it in.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

RASA_PORT="${RASA_PORT:-5005}"
ACTION_PORT="${ACTION_PORT:-5055}"
RASA_HOST="${RASA_HOST:-127.0.0.1}"
STAFF_PORT="${STAFF_PORT:-5080}"
STAFF_HOST="${STAFF_HOST:-127.0.0.1}"
export ACTION_SERVER_URL="${ACTION_SERVER_URL:-http://127.0.0.1:${ACTION_PORT}/webhook}"
export REDIS_HOST="${REDIS_HOST:-127.0.0.1}" REDIS_PORT="${REDIS_PORT:-6379}"
export REDIS_TRACKER_DB="${REDIS_TRACKER_DB:-0}" REDIS_LOCK_DB="${REDIS_LOCK_DB:-1}"
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
export SANIC_WORKER_ACK_TIMEOUT="${SANIC_WORKER_ACK_TIMEOUT:-120}"
export SQLALCHEMY_SILENCE_UBER_WARNING=1 TF_CPP_MIN_LOG_LEVEL=2 RASA_TELEMETRY_ENABLED=false
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
# The WeChat channel (active when WECHAT_TOKEN is set) shares its state through Redis only when the
# Rasa instances do (endpoints.production.yml); a single instance keeps it in var/wechat.db.
[[ "${RASA_ENDPOINTS:-endpoints.yml}" == *production* ]] && WECHAT_DEFAULT_STORE=redis || WECHAT_DEFAULT_STORE=sqlite
export WECHAT_STATE_STORE="${WECHAT_STATE_STORE:-$WECHAT_DEFAULT_STORE}"
mkdir -p var/log
# Rasa's HTTP API (--enable-api: trackers, takeover) needs a token: RASA_TOKEN, else one generated
# on first run into var/rasa_token (mode 0600); the staff app reads the same (staff/config.py).
RASA_TOKEN="$(.venv/bin/python -m staff rasa-token)"
export RASA_TOKEN

improve=0
build=0
for arg in "$@"; do
    case "$arg" in
        --improve-index) improve=1 ;;
        --build) build=1 ;;
        *) echo "usage: $0 [--build] [--improve-index]" >&2; exit 2 ;;
    esac
done

pids=()
builder=""
trainer=""
stop() {
    # The background build and the training run in process groups of their own (fine-tuning and `rasa train`
    # are children of children): stop all of each.
    [[ -n "$builder" ]] && kill -- "-$builder" 2>/dev/null || true
    [[ -n "$trainer" ]] && kill -- "-$trainer" 2>/dev/null || true
    kill "${pids[@]}" 2>/dev/null || true
    wait 2>/dev/null || true
}
trap stop EXIT INT TERM

# The full build (fine-tuning, then the index re-embedded with that model) beside the running servers;
# the action server notices the new index within INDEX_CHECK_SECONDS and logs one line when it swapped.
improve_index() {
    local started=$SECONDS line
    if ! HF_HUB_OFFLINE=1 .venv/bin/python -m knowledge build >var/log/knowledge-build.json 2>var/log/knowledge-build.log; then
        echo "  The full search index build failed; the quick index keeps serving. See var/log/knowledge-build.log" >&2
        return 1
    fi
    for _ in $(seq 1 120); do
        if line=$(grep -m1 -o "search index swapped: .*" var/log/actions.log); then
            echo "  [$(date +%H:%M:%S)] The improved search index is live after $((SECONDS - started)) s: ${line#search index swapped: }"
            return 0
        fi
        sleep 1
    done
    echo "  The improved search index is built but the action server has not swapped it in; see var/log/actions.log" >&2
}

stamp() { date +%H:%M:%S; }

if [[ $build == 1 ]]; then
    # Its own process group (see stop()); its output goes to the console as it comes, [train_model] lines and
    # Rasa's progress bars interleaved with the index build's [knowledge] lines.
    set -m
    scripts/train_model.sh &
    trainer=$!
    set +m
    HF_HUB_OFFLINE=1 .venv/bin/python -m knowledge build --quick
fi

.venv/bin/python -m rasa_sdk --actions actions --port "$ACTION_PORT" >var/log/actions.log 2>&1 &
pids+=($!)
# Staff web app. On a fresh machine `staff demo` creates the demo county's accounts and prints
# their passwords once; later runs leave existing accounts alone.
.venv/bin/python -m staff demo
# The operator console takes chats over through Rasa's HTTP API (RASA_TOKEN is sent when set).
RASA_URL="${RASA_URL:-http://$RASA_HOST:$RASA_PORT}" STAFF_HOST="$STAFF_HOST" STAFF_PORT="$STAFF_PORT" \
    .venv/bin/python -m staff serve >var/log/staff.log 2>&1 &
pids+=($!)

if [[ -n "$trainer" ]]; then
    echo "  [$(stamp)] Action server and staff app starting (logs in var/log/); waiting for the Rasa training …"
    status=0
    wait "$trainer" || status=$?
    trainer=""
    # Above 128: interrupted (Ctrl-C), stop() has run already.
    (( status > 128 )) && exit "$status"
    (( status == 0 )) || { echo "Rasa training failed (its output is above)" >&2; exit 1; }
fi
.venv-rasa/bin/rasa run --enable-api --auth-token "$RASA_TOKEN" -i "$RASA_HOST" --port "$RASA_PORT" \
    --model "${RASA_MODEL:-models/current.tar.gz}" --endpoints "${RASA_ENDPOINTS:-endpoints.yml}" \
    --credentials credentials.yml >var/log/rasa.log 2>&1 &
pids+=($!)

echo "Starting (logs in var/log/): action server on :$ACTION_PORT, Rasa on $RASA_HOST:$RASA_PORT …"
for _ in $(seq 1 300); do
    if curl -sf "http://$RASA_HOST:$RASA_PORT/status?token=$RASA_TOKEN" >/dev/null 2>&1 \
        && curl -sf "http://127.0.0.1:$ACTION_PORT/health" >/dev/null 2>&1 \
        && curl -sf "http://$STAFF_HOST:$STAFF_PORT/login" >/dev/null 2>&1; then
        cat <<MSG

  The assistant is ready.
  Web chat (residents):  http://$RASA_HOST:$RASA_PORT/webhooks/webchat/
  REST webhook:          http://$RASA_HOST:$RASA_PORT/webhooks/rest/webhook
                         curl -s -XPOST -H 'Content-Type: application/json' \\
                           -d '{"sender":"demo","message":"老板拖欠工资怎么办"}' \\
                           http://$RASA_HOST:$RASA_PORT/webhooks/rest/webhook
  Staff web app:         http://$STAFF_HOST:$STAFF_PORT/   (advisers, 司法所, operators, admin; accounts above)
$( [[ -n "${WECHAT_TOKEN:-}" ]] && echo "  WeChat server URL:     https://<public host>/webhooks/wechat/webhook (proxied to :$RASA_PORT)" || true )
  Law search (CLI):      .venv/bin/python -m knowledge search "邻居家的树倒了砸坏了我的车"
  Press Ctrl-C to stop.
MSG
        if [[ $improve == 1 ]] && ! .venv/bin/python -m knowledge status >var/log/knowledge-status.json 2>&1; then
            echo "  Answering from the quick search index (base model) now; fine-tuning and re-indexing in the"
            echo "  background, a few minutes (progress: tail -f var/log/knowledge-build.log)."
            set -m  # its own process group, so stop() ends the build and the steps it started
            improve_index &
            builder=$!
            set +m
        fi
        wait -n "${pids[@]}"
        echo "a server exited; see var/log/" >&2
        exit 1
    fi
    for pid in "${pids[@]}"; do
        kill -0 "$pid" 2>/dev/null || { echo "a server failed to start; see var/log/" >&2; tail -n 20 var/log/*.log >&2; exit 1; }
    done
    sleep 1
done
echo "timed out waiting for the servers; see var/log/" >&2
exit 1
