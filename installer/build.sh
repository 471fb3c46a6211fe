#!/usr/bin/env bash
# Build Terrafind for Linux x86_64: the one-folder app, packed as one self-installing file, smoke-tested
# offline as a new user would meet it (installer/README.md).
#   bash installer/build.sh [--tarball]
# Output in dist/: terrafind/ (the app folder), Terrafind-<version>-linux-x86_64.run and .sha256,
# selftest.json; with --tarball also terrafind-<version>-linux-x86_64.tar.gz and .sha256.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
TARBALL=0
[ "${1:-}" = "--tarball" ] && TARBALL=1

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

bash scripts/dev.sh setup
PY="$ROOT/.venv/bin/python"
"$PY" -m pip install -q -e ".[installer]"
# makeself packs the .run; pigz packs it on both cores; the others check the desktop integration.
if ! command -v makeself >/dev/null || ! command -v pigz >/dev/null || ! command -v desktop-file-validate >/dev/null \
    || ! command -v update-mime-database >/dev/null; then
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        makeself pigz desktop-file-utils shared-mime-info
fi

STAGE="$ROOT/build/stage"
export TERRAFIND_STAGE="$STAGE"
mkdir -p "$STAGE"
VERSION=$("$PY" -c "import terrafind; print(terrafind.__version__)")
t0=$(date +%s)

echo "== demo region"
"$PY" installer/stage_demo.py "$STAGE"

echo "== pyinstaller"
"$PY" -m PyInstaller --noconfirm --log-level WARN --distpath "$ROOT/dist" --workpath "$ROOT/build/pyinstaller" \
    installer/terrafind.spec
APP="$ROOT/dist/terrafind"
t1=$(date +%s)
echo "built in $((t1 - t0)) s, size $(du -sh "$APP" | cut -f1)"

echo "== self-installing file"
RUN="$ROOT/dist/Terrafind-$VERSION-linux-x86_64.run"
bash installer/linux/build_run.sh "$APP" "$VERSION" "$RUN" "$STAGE/icons/terrafind.png" resources/icons/terrafind.svg
(cd "$ROOT/dist" && sha256sum "$(basename "$RUN")" > "$(basename "$RUN").sha256")
t2=$(date +%s)
echo "$(basename "$RUN"): $(du -h "$RUN" | cut -f1) in $((t2 - t1)) s"

echo "== smoke test of the .run"
bash installer/linux/smoke_test.sh "$RUN" "$ROOT/dist/selftest.json"
t3=$(date +%s)
echo "smoke test took $((t3 - t2)) s"

if [ "$TARBALL" = 1 ]; then
    NAME="terrafind-$VERSION-linux-x86_64.tar.gz"
    tar -C "$ROOT/dist" -cf - terrafind | pigz > "$ROOT/dist/$NAME"
    (cd "$ROOT/dist" && sha256sum "$NAME" > "$NAME.sha256")
    echo "archive: dist/$NAME ($(du -h "$ROOT/dist/$NAME" | cut -f1))"
fi
