#!/bin/sh
# Runs inside Terrafind's self-extracting file (makeself), from the folder it was unpacked into.
#   sh Terrafind-VERSION-linux-x86_64.run                     install for this user (no root), then start it
#   sh Terrafind-VERSION-linux-x86_64.run -- --install-only   install, do not start
#   sh Terrafind-VERSION-linux-x86_64.run -- --uninstall      remove the app, its menu entry, icon, file type
#   sh Terrafind-VERSION-linux-x86_64.run -- ARGS...          install, then start Terrafind with ARGS
#   sh ~/.local/share/terrafind-app/uninstall.sh               remove it without the .run file
# The app goes to ~/.local/share/terrafind-app/VERSION (not ~/.local/share/terrafind: that is the app's own
# data, the user's projects' recovery files and the demo region, which an update must never touch).
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
DATA=${XDG_DATA_HOME:-$HOME/.local/share}
ROOT="$DATA/terrafind-app"
ICONS="$DATA/icons/hicolor"

refresh() {
    command -v update-mime-database >/dev/null 2>&1 && update-mime-database "$DATA/mime" || true
    command -v update-desktop-database >/dev/null 2>&1 && update-desktop-database -q "$DATA/applications" || true
    command -v gtk-update-icon-cache >/dev/null 2>&1 && gtk-update-icon-cache -q -t "$ICONS" 2>/dev/null || true
}

if [ "${1:-}" = "--uninstall" ] || [ "$(basename "$0")" = uninstall.sh ]; then
    rm -rf "$ROOT" "$DATA/applications/terrafind.desktop" "$DATA/mime/packages/terrafind.xml" \
        "$ICONS/256x256/apps/terrafind.png" "$ICONS/scalable/apps/terrafind.svg"
    refresh
    echo "Terrafind removed (your projects and $DATA/terrafind are kept)."
    exit 0
fi

VERSION=$(cat "$HERE/VERSION")
APP="$ROOT/$VERSION"
if [ ! -x "$APP/terrafind" ]; then
    mkdir -p "$ROOT"
    rm -rf "$APP.partial"
    mv "$HERE/terrafind" "$APP.partial"   # a copy when the unpack folder is on another file system
    mv "$APP.partial" "$APP"               # never a half-installed version under the real name
fi
ln -sfn "$VERSION" "$ROOT/current"
cp "$HERE/install.sh" "$ROOT/uninstall.sh"  # run from there, it uninstalls
for old in "$ROOT"/*; do                   # keep only this version
    case "$(basename "$old")" in "$VERSION" | current | uninstall.sh) ;; *) rm -rf "$old" ;; esac
done

mkdir -p "$DATA/applications" "$DATA/mime/packages" "$ICONS/256x256/apps" "$ICONS/scalable/apps"
sed "s|^Exec=.*|Exec=\"$ROOT/current/terrafind\" %f|" "$HERE/terrafind.desktop" > "$DATA/applications/terrafind.desktop"
cp "$HERE/terrafind-mime.xml" "$DATA/mime/packages/terrafind.xml"
cp "$HERE/terrafind.png" "$ICONS/256x256/apps/terrafind.png"
cp "$HERE/terrafind.svg" "$ICONS/scalable/apps/terrafind.svg"
refresh
echo "Terrafind $VERSION installed in $APP, with a menu entry, an icon and the .terrafind file type."

[ "${1:-}" = "--install-only" ] && exit 0
exec "$ROOT/current/terrafind" "$@"
