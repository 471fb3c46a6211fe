#!/usr/bin/env bash
# Smoke test of the self-installing file, as a person meets it on a clean desktop, offline.
#   bash installer/linux/smoke_test.sh Terrafind-VERSION-linux-x86_64.run [SELFTEST.json]
# A clean profile (an empty home, no XDG folders, a bare environment), an ordinary user (as root, it runs as
# `nobody`, so Chromium's sandbox is on as on a real desktop) and no network: a network namespace with no
# interfaces when we may make one (root); the app's self test also fails on any outside request its map
# makes. The .run installs, registers the menu entry, icon and .terrafind type, and runs the self test
# on the bundled demo; then the checks below, and the uninstaller.
set -euo pipefail
# Root (here: for the network namespace and to drop to `nobody`) through sudo where that needs no password
# (hosted CI runners); elsewhere it runs as the current user, with the network on.
if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    exec sudo -n bash "$0" "$@"
fi
RUN=$(readlink -f "$1")
OUT=${2:-}
SMOKE=$(mktemp -d)
trap 'rm -rf "$SMOKE"' EXIT
mkdir -p "$SMOKE/home"
cp "$RUN" "$SMOKE/terrafind.run"
AS=()
if [ "$(id -u)" = 0 ]; then
    unshare -n true 2>/dev/null && AS=(unshare -n)
    if command -v setpriv >/dev/null; then
        chown -R 65534:65534 "$SMOKE"
        AS+=(setpriv --reuid=65534 --regid=65534 --clear-groups)
    fi
fi
selftest() {
    "${AS[@]}" env -i PATH="$PATH" HOME="$SMOKE/home" TMPDIR="$SMOKE" QT_QPA_PLATFORM=offscreen LANG=C.UTF-8 \
        sh "$SMOKE/terrafind.run" --quiet -- --selftest > "$SMOKE/out.txt"
}
if ! selftest; then
    # Say what failed (the self test's JSON names the step, the log the rest), then try once more: on a
    # loaded 2-core machine a step can run past its timeout. Two failures fail the build.
    cat "$SMOKE/out.txt"
    echo "the self test failed once; the app's log:" >&2
    tail -n 40 "$SMOKE/home/.local/state/terrafind/log/terrafind.log" >&2 || true
    echo "trying once more" >&2
    selftest || { cat "$SMOKE/out.txt"; echo "the self test failed twice" >&2; exit 1; }
fi
cat "$SMOKE/out.txt"
RESULT=$(tail -n 1 "$SMOKE/out.txt")
[ -n "$OUT" ] && echo "$RESULT" > "$OUT"
python3 -c 'import json, sys; r = json.loads(sys.argv[1]); assert r["ok"] and r["counts"]["outside_requests"] == 0, r' \
    "$RESULT"
DATA="$SMOKE/home/.local/share"
desktop-file-validate --no-hints "$DATA/applications/terrafind.desktop"
grep -qx "Exec=\"$DATA/terrafind-app/current/terrafind\" %f" "$DATA/applications/terrafind.desktop"
grep -q "application/x-terrafind-project:\*\.terrafind" "$DATA/mime/globs2"
[ -s "$DATA/icons/hicolor/256x256/apps/terrafind.png" ] && [ -s "$DATA/icons/hicolor/scalable/apps/terrafind.svg" ]
"${AS[@]}" env -i PATH="$PATH" HOME="$SMOKE/home" sh "$DATA/terrafind-app/uninstall.sh" >/dev/null
[ ! -e "$DATA/terrafind-app" ] && [ ! -e "$DATA/applications/terrafind.desktop" ]
echo "smoke test passed: installed, menu entry, icon and .terrafind type registered, self test ok offline, uninstalled"
