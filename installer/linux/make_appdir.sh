#!/usr/bin/env bash
# Lay out an AppDir from a PyInstaller one-folder build, then pack it with appimagetool when it is there.
#   bash make_appdir.sh DIST_FOLDER VERSION OUT_DIR ICON.png [ICON.svg]
# appimagetool and the type2 runtime come from GitHub releases (not from PyPI, Debian or npm): set
# APPIMAGETOOL=/path/to/appimagetool-x86_64.AppImage and RUNTIME=/path/to/runtime-x86_64 to pack.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
DIST=$1 VERSION=$2 OUT=$3 PNG=$4 SVG=${5:-}
APPDIR="$OUT/Terrafind.AppDir"
rm -rf "$APPDIR"; mkdir -p "$APPDIR/usr/lib" "$APPDIR/usr/share/applications" "$APPDIR/usr/share/mime/packages" \
    "$APPDIR/usr/share/icons/hicolor/256x256/apps"
cp -a "$DIST" "$APPDIR/usr/lib/terrafind"
install -m 755 "$HERE/AppRun" "$APPDIR/AppRun"
cp "$HERE/terrafind.desktop" "$APPDIR/terrafind.desktop"
cp "$HERE/terrafind.desktop" "$APPDIR/usr/share/applications/terrafind.desktop"
cp "$HERE/terrafind-mime.xml" "$APPDIR/usr/share/mime/packages/terrafind.xml"
cp "$PNG" "$APPDIR/terrafind.png"; cp "$PNG" "$APPDIR/usr/share/icons/hicolor/256x256/apps/terrafind.png"
ln -s terrafind.png "$APPDIR/.DirIcon"
if [ -n "$SVG" ]; then mkdir -p "$APPDIR/usr/share/icons/hicolor/scalable/apps"; cp "$SVG" "$APPDIR/usr/share/icons/hicolor/scalable/apps/"; fi
echo "AppDir: $APPDIR"
if [ -n "${APPIMAGETOOL:-}" ]; then
    # APPIMAGE_EXTRACT_AND_RUN: appimagetool is itself an AppImage; CI machines often have no FUSE.
    APPIMAGE_EXTRACT_AND_RUN=1 ARCH=x86_64 VERSION="$VERSION" "$APPIMAGETOOL" --no-appstream \
        ${RUNTIME:+--runtime-file "$RUNTIME"} "$APPDIR" "$OUT/Terrafind-$VERSION-x86_64.AppImage"
fi
