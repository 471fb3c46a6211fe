#!/usr/bin/env bash
# Build Terrafind's one-folder app for Linux x86_64, smoke-test it offline, and pack it.
#   bash installer/build.sh [--no-archive]
# Output: dist/terrafind/ (run dist/terrafind/terrafind), dist/terrafind-<version>-linux-x86_64.tar.gz + .sha256
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
ARCHIVE=1
[ "${1:-}" = "--no-archive" ] && ARCHIVE=0

bash scripts/dev.sh setup
PY="$ROOT/.venv/bin/python"
"$PY" -m pip install -q -e ".[installer]"

STAGE="$ROOT/build/stage"
export TERRAFIND_STAGE="$STAGE"
mkdir -p "$STAGE"
t0=$(date +%s)

# 1. The prebuilt demo region (built once into a staging home, then bundled read-only).
echo "== demo region"
rm -rf "$STAGE/demo"
TERRAFIND_HOME="$STAGE/home" "$PY" - <<'EOF'
import os, shutil
from pathlib import Path
from terrafind.core.embed.demo import ensure_demo
demo = ensure_demo()
src = demo.embeddings.parent
dst = Path(os.environ["TERRAFIND_STAGE"]) / "demo"
dst.mkdir(parents=True)
# What searching needs; the 13-band COG (70 MB) only serves re-embedding and the quality test.
for name in ("build.json", "demo_embeddings.parquet", "demo_truecolour_cog.tif", "demo_basemap.mbtiles"):
    if (src / name).exists():
        shutil.copy2(src / name, dst / name)
print("demo staged from", src)
EOF

# 2. The frozen app.
echo "== pyinstaller"
"$PY" -m PyInstaller --noconfirm --log-level WARN --distpath "$ROOT/dist" --workpath "$ROOT/build/pyinstaller" \
    installer/terrafind.spec
APP="$ROOT/dist/terrafind"
cp installer/terrafind.desktop "$APP/"
cp resources/icons/terrafind.svg "$APP/terrafind.svg"
QT_QPA_PLATFORM=offscreen "$PY" - "$APP/terrafind.png" <<'EOF'
import sys
from PySide6.QtGui import QGuiApplication, QImage, QPainter
from PySide6.QtSvg import QSvgRenderer
app = QGuiApplication([])
img = QImage(256, 256, QImage.Format.Format_ARGB32)
img.fill(0)
p = QPainter(img)
QSvgRenderer("resources/icons/terrafind.svg").render(p)
p.end()
img.save(sys.argv[1])
EOF
t1=$(date +%s)
echo "built in $((t1 - t0)) s, size $(du -sh "$APP" | cut -f1)"

# 3. Smoke test: the built app, offscreen, on the bundled demo, with the outside network blocked
#    (a new network namespace with no interfaces when we may make one; the app's own request
#    interceptor counts outside requests in any case and the self test fails on any).
echo "== smoke test"
SMOKE_HOME=$(mktemp -d)
NET=()
if [ "$(id -u)" = 0 ] && unshare -n true 2>/dev/null; then NET=(unshare -n); fi
QT_QPA_PLATFORM=offscreen TERRAFIND_HOME="$SMOKE_HOME" "${NET[@]}" "$APP/terrafind" --selftest | tee "$ROOT/dist/selftest.json"
rm -rf "$SMOKE_HOME"
t2=$(date +%s)
echo "smoke test passed in $((t2 - t1)) s"

# 4. The archive people download, with its checksum.
if [ "$ARCHIVE" = 1 ]; then
    VERSION=$("$PY" -c "import terrafind; print(terrafind.__version__)")
    NAME="terrafind-$VERSION-linux-x86_64.tar.gz"
    tar -C "$ROOT/dist" -czf "$ROOT/dist/$NAME" terrafind
    (cd "$ROOT/dist" && sha256sum "$NAME" > "$NAME.sha256")
    echo "archive: dist/$NAME ($(du -h "$ROOT/dist/$NAME" | cut -f1)) in $(( $(date +%s) - t2 )) s"
fi
