#!/usr/bin/env bash
# Pack the one-folder app into one self-extracting, self-installing file (makeself; installer/README.md).
#   bash installer/linux/build_run.sh DIST_FOLDER VERSION OUT.run ICON.png ICON.svg
# gzip inside (pigz packs it on every core when present): every Linux desktop can unpack it, with no FUSE,
# no root and nothing but sh and tar. makeself checks a SHA-256 of the payload before it unpacks.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
DIST=$1 VERSION=$2 OUT=$3 PNG=$4 SVG=$5
[ -x "$DIST/terrafind" ] || { echo "no terrafind program in $DIST" >&2; exit 1; }
STAGE=$(mktemp -d "$(dirname "$OUT")/.run-stage.XXXXXX")
trap 'rm -rf "$STAGE"' EXIT
cp -al "$DIST" "$STAGE/terrafind" 2>/dev/null || cp -a "$DIST" "$STAGE/terrafind"  # links: no 1 GB copy
install -m 755 "$HERE/install.sh" "$STAGE/install.sh"
cp "$HERE/terrafind.desktop" "$HERE/terrafind-mime.xml" "$PNG" "$SVG" "$STAGE/"
echo "$VERSION" > "$STAGE/VERSION"
COMPRESS=--gzip
command -v pigz >/dev/null 2>&1 && COMPRESS=--pigz
# --nox11: never re-open itself in a terminal window; no --needroot: it installs for the user. Level 6:
# level 9 (makeself's default) took three times as long here for 2 % less; one SHA-256, no MD5 or CRC.
makeself --quiet --nox11 --sha256 --nomd5 --nocrc "$COMPRESS" --complevel 6 "$STAGE" "$OUT" "Terrafind $VERSION" ./install.sh
