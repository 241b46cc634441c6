#!/usr/bin/env bash
# Train the Rasa model only when its inputs changed.
#
# key = sha256 over config.yml, domain.yml, every file under bot/ (sorted relative paths and
# their contents) and the installed rasa version. The model is models/<key>.tar.gz; an existing
# one is reused. models/current.tar.gz is a relative symlink to the model in use.
#
# Usage: scripts/train_model.sh [--print-key | --force]
# Env:   RASA_PROJECT_DIR (default: repo root)  directory with config.yml, domain.yml, bot/
#        RASA_MODELS_DIR  (default: $RASA_PROJECT_DIR/models)
#        RASA_VENV        (default: <repo root>/.venv-rasa)
#        RASA_KEEP_MODELS (default: 3) newest models kept in the models directory, current included
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PROJECT="$(cd "${RASA_PROJECT_DIR:-$ROOT}" && pwd)"
MODELS="${RASA_MODELS_DIR:-$PROJECT/models}"
VENV="${RASA_VENV:-$ROOT/.venv-rasa}"
KEEP="${RASA_KEEP_MODELS:-3}"

log() { echo "[train_model] $*"; }

rasa_version() {
    if [[ ! -x "$VENV/bin/python" ]]; then
        echo "no Rasa environment at $VENV: run scripts/setup_rasa_env.sh" >&2
        exit 1
    fi
    "$VENV/bin/python" -c 'from importlib.metadata import version; print(version("rasa"))'
}

# One "sha256  path" line per input file, sorted by path, then the rasa version.
key_manifest() {
    local rel
    cd "$PROJECT"
    for rel in config.yml domain.yml; do
        [[ -f "$rel" ]] || { echo "missing $PROJECT/$rel" >&2; exit 1; }
    done
    [[ -d bot ]] || { echo "missing $PROJECT/bot/" >&2; exit 1; }
    { printf '%s\0' config.yml domain.yml; find bot -type f -print0; } \
        | LC_ALL=C sort -z | xargs -0 sha256sum
    echo "rasa==$(rasa_version)"
}

model_key() { key_manifest | sha256sum | cut -d' ' -f1; }

link_current() {
    ln -sfn "$1.tar.gz" "$MODELS/current.tar.gz.tmp"
    mv -fT "$MODELS/current.tar.gz.tmp" "$MODELS/current.tar.gz"
}

# Train into a scratch directory so an interrupted run never leaves a model that looks finished.
train() {
    local key=$1 tmp start
    tmp=$(mktemp -d "$MODELS/.train-XXXXXX")
    # shellcheck disable=SC2064  # expand now: $tmp is local
    trap "rm -rf '$tmp'" EXIT
    start=$SECONDS
    log "training $key (inputs changed or no cached model)"
    # config.yml names custom components (rasa_components.*) by module path: importable from the repo
    # root also when RASA_PROJECT_DIR is elsewhere.
    export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
    (cd "$PROJECT" && "$VENV/bin/rasa" train --data bot --domain domain.yml --config config.yml \
        --out "$tmp" --fixed-model-name "$key")
    mv -f "$tmp/$key.tar.gz" "$MODELS/$key.tar.gz"
    rm -rf "$tmp"
    log "trained in $((SECONDS - start)) s"
}

# Drop all but the $KEEP newest keyed models; the current one is always kept.
prune_old() {
    local current=$1 old
    find "$MODELS" -maxdepth 1 -type f -regextype egrep -regex '.*/[0-9a-f]{64}\.tar\.gz' \
        -printf '%T@ %p\n' | sort -rn | cut -d' ' -f2- | tail -n +"$((KEEP + 1))" \
        | while read -r old; do
            [[ "$(basename "$old")" == "$current.tar.gz" ]] && continue
            log "removing old model $(basename "$old")"
            rm -f "$old"
        done
}

main() {
    local force=0 key
    case "${1:-}" in
        --print-key) model_key; return 0 ;;
        --force) force=1 ;;
        "") ;;
        *) echo "usage: $0 [--print-key | --force]" >&2; exit 2 ;;
    esac
    key=$(model_key)
    mkdir -p "$MODELS"
    if [[ $force -eq 0 && -f "$MODELS/$key.tar.gz" ]]; then
        touch "$MODELS/$key.tar.gz"  # newest first when pruning
        log "up to date, skipped training: $MODELS/$key.tar.gz"
    else
        train "$key"
    fi
    link_current "$key"
    prune_old "$key"
    log "current model: $MODELS/current.tar.gz -> $key.tar.gz"
}

main "$@"
