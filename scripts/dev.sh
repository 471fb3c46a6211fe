#!/usr/bin/env bash
# Terrafind's one entry point for people and CI.
#   bash scripts/dev.sh run [ARGS...]   set up (once) and start the app (the demo region when no ARGS)
#   bash scripts/dev.sh test [ARGS...]  set up (once) and run lint + the whole test suite
#   bash scripts/dev.sh setup           only set up
# Set-up is idempotent: Debian libraries QtWebEngine needs (only those missing), a .venv at the repo
# root with Terrafind and its test extras, and the pinned, hash-checked web assets.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
VENV="$ROOT/.venv"
PY="$VENV/bin/python"

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

apt_missing() {
    # Print the packages of "$@" that are not installed; for alternatives "a|b" print the first that exists.
    local spec pkg found
    for spec in "$@"; do
        found=""
        for pkg in ${spec//|/ }; do
            if dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
                found=ok; break
            fi
        done
        if [ -z "$found" ]; then
            for pkg in ${spec//|/ }; do
                if apt-cache show "$pkg" >/dev/null 2>&1; then echo "$pkg"; break; fi
            done
        fi
    done
}

setup_system() {
    command -v dpkg-query >/dev/null 2>&1 || { echo "Not a Debian/Ubuntu system: install QtWebEngine's libraries yourself." >&2; return 0; }
    # QtWebEngine's shared libraries (measured on a bare Debian 12) and venv support (every Python package,
    # hnswlib included, comes as a binary wheel: no compiler).
    local wanted=(libasound2t64\|libasound2 libbrotli1 libdbus-1-3 libegl1 libfontconfig1 libfreetype6 libgbm1
        libgl1 libglib2.0-0t64\|libglib2.0-0 libnspr4 libnss3 libx11-6 libxcb-dri3-0 libxcb1 libxcomposite1
        libxdamage1 libxext6 libxfixes3 libxkbcommon0 libxkbfile1 libxrandr2 libxtst6 libxcb-cursor0
        libxcb-icccm4 libxcb-keysyms1 libxkbcommon-x11-0 python3-venv)
    local missing
    missing=$(apt_missing "${wanted[@]}" | tr '\n' ' ')
    if [ -n "${missing// /}" ] || ! python3 -c "import venv, ensurepip" >/dev/null 2>&1; then
        echo "Installing system libraries: $missing"
        as_root apt-get update -qq
        missing=$(apt_missing "${wanted[@]}" | tr '\n' ' ')
        # shellcheck disable=SC2086
        [ -z "${missing// /}" ] || as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing
    fi
}

setup_python() {
    local stamp="$VENV/.terrafind-installed" want
    want=$(sha256sum pyproject.toml | cut -c1-16)
    [ -x "$PY" ] || python3 -m venv "$VENV"
    if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
        "$PY" -m pip install -q --upgrade pip
        # Upstream hnswlib (earlier set-ups) and chroma-hnswlib both install the module `hnswlib`.
        if "$PY" -m pip show -q hnswlib >/dev/null 2>&1; then "$PY" -m pip uninstall -y -q hnswlib; fi
        "$PY" -m pip install -q -e ".[test]"
        echo "$want" > "$stamp"
    fi
}

setup_web() {
    "$PY" scripts/fetch_web_assets.py
}

setup() { setup_system; setup_python; setup_web; }

gui_env() {
    # Chromium refuses to run as root with its sandbox on; field users (not root) keep the sandbox.
    if [ "$(id -u)" = 0 ]; then export QTWEBENGINE_DISABLE_SANDBOX=1; fi
    if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ]; then export QT_QPA_PLATFORM="${QT_QPA_PLATFORM:-offscreen}"; fi
}

typecheck() {
    # core must stay mypy-clean. mypy resolves `terrafind` through a folder whose `terrafind` is this checkout.
    mkdir -p "$ROOT/build/typecheck"
    ln -sfn "$ROOT" "$ROOT/build/typecheck/terrafind"
    MYPYPATH="$ROOT/build/typecheck" "$VENV/bin/mypy" -p terrafind.core
}

cmd="${1:-run}"; shift || true
case "$cmd" in
    setup) setup ;;
    run) setup; gui_env; exec "$VENV/bin/terrafind" "$@" ;;
    test)
        setup
        export QT_QPA_PLATFORM=offscreen
        "$VENV/bin/ruff" check .
        typecheck
        exec "$PY" -m pytest -q -p no:cacheprovider "$@"
        ;;
    *) echo "usage: bash scripts/dev.sh run|test|setup" >&2; exit 2 ;;
esac
