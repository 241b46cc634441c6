#!/usr/bin/env bash
# Create .venv-rasa (Rasa Open Source 3.6.21 on CPython 3.11) from requirements/rasa.lock.txt.
#
# rasa 3.6 declares Requires-Python < 3.11, so pip cannot resolve it on 3.11. The lock was
# resolved as if on 3.10; it is installed as is (--no-deps, nothing re-resolved), then rasa and
# rasa-sdk without their metadata checks, and `pip check` proves the set is consistent.
# Idempotent: a stamp (sha256 of lock + this script + python version) makes a rerun a no-op.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${RASA_VENV:-$ROOT/.venv-rasa}"
LOCK="$ROOT/requirements/rasa.lock.txt"
STAMP="$VENV/.setup-stamp"
RASA_PINS=(rasa==3.6.21 rasa-sdk==3.6.2)
# matplotlib 3.5 (rasa needs < 3.6) has no cp311 wheel: it is built against Debian's libraries.
APT_DEPS=(build-essential pkg-config libfreetype-dev libqhull-dev)

log() { echo "[setup_rasa_env] $*"; }

stamp_value() {
    { cat "$LOCK" "${BASH_SOURCE[0]}"; python3 --version; } | sha256sum | cut -d' ' -f1
}

install_apt_deps() {
    local missing=() pkg
    for pkg in "${APT_DEPS[@]}"; do
        dpkg -s "$pkg" 2>/dev/null | grep -q '^Status: install ok installed' || missing+=("$pkg")
    done
    [[ ${#missing[@]} -eq 0 ]] && return 0
    log "apt-get install ${missing[*]}"
    local sudo=""
    [[ $(id -u) -ne 0 ]] && sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
        "${missing[@]}" >/dev/null
}

# Packages installed in the venv but no longer in the lock (a changed lock drops them).
remove_unlocked() {
    local extra
    extra=$(comm -23 \
        <("$VENV/bin/pip" list --format=freeze | cut -d= -f1 | norm_names | sort -u) \
        <({ grep -Ev '^\s*(#|$)' "$LOCK" | cut -d= -f1; printf '%s\n' rasa rasa-sdk pip; } \
            | norm_names | sort -u))
    if [[ -n "$extra" ]]; then
        log "removing packages not in the lock: $(echo $extra)"
        # shellcheck disable=SC2086
        pip_quiet uninstall -y -q $extra
    fi
}

norm_names() { tr 'A-Z_.' 'a-z--'; }

# pip, minus the machine-config noise about extra local indexes that lack a project.
pip_quiet() {
    "$VENV/bin/pip" "$@" 2> >(grep -v 'is ignored: it is neither a file nor a directory' >&2)
}

# A venv is tied to the interpreter it was made from.
venv_usable() {
    [[ -x "$VENV/bin/python" && "$("$VENV/bin/python" --version 2>&1)" == "$(python3 --version)" ]]
}

main() {
    local want
    want=$(stamp_value)
    if [[ -x "$VENV/bin/rasa" && -f "$STAMP" && "$(cat "$STAMP")" == "$want" ]]; then
        log "up to date ($VENV)"
        return 0
    fi
    install_apt_deps
    if [[ -d "$VENV" ]] && ! venv_usable; then
        log "python3 changed or venv broken: recreating $VENV"
        rm -rf "$VENV"
    fi
    [[ -x "$VENV/bin/python" ]] || { log "creating $VENV"; python3 -m venv "$VENV"; }
    rm -f "$STAMP"

    local cfg="$VENV/mplsetup.cfg"
    printf '[libs]\nsystem_freetype = True\nsystem_qhull = True\n' >"$cfg"

    log "installing requirements/rasa.lock.txt (a few minutes on a fresh venv)"
    MPLSETUPCFG="$cfg" pip_quiet install -q --no-deps -r "$LOCK"
    log "installing ${RASA_PINS[*]}"
    pip_quiet install -q --no-deps --ignore-requires-python "${RASA_PINS[@]}"
    remove_unlocked
    "$VENV/bin/pip" check
    echo "$want" >"$STAMP"
    log "done: $("$VENV/bin/rasa" --version 2>/dev/null | grep -m1 -i 'rasa version' || true)"
}

main "$@"
