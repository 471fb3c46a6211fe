"""Benchmark: the field pack size estimate against the pack actually built, on the demo region.

Run by hand (not a test); prints a Markdown table for docs/performance.md::

    .venv/bin/python bench/pack_estimate.py          # builds the demo first if needed; ~2-4 min

The estimate runs with an empty thumbnail cache (the worst case: it cuts a few thumbnails to measure),
then the pack is built and each part's real size is read from its manifest. A fresh TERRAFIND_HOME is used
unless one is set, so nothing of the user's is read or written.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path


def main() -> int:
    os.environ.setdefault("TERRAFIND_HOME", tempfile.mkdtemp(prefix="terrafind-bench-"))
    from terrafind.core.embed.demo import ensure_demo
    from terrafind.core.pack.build import build_pack
    from terrafind.core.pack.estimate import estimate_pack
    from terrafind.core.read.reader import open_catalog
    from terrafind.core.types import Region
    from terrafind.core.units import human_bytes

    demo = ensure_demo()
    cat = open_catalog([str(demo.embeddings)])
    w, s, e, n = cat.bounds
    region = Region.from_bbox(w, s, e, n)  # the whole demo region, as the 457 MB estimate was
    t0 = time.perf_counter()
    est = estimate_pack([str(demo.embeddings)], region)
    t_est = time.perf_counter() - t0
    out = Path(tempfile.mkdtemp(prefix="terrafind-pack-")) / "demo-pack"
    t0 = time.perf_counter()
    build_pack([str(demo.embeddings)], region, out)
    t_build = time.perf_counter() - t0
    files = json.loads((out / "manifest.json").read_text())["files"]

    def real(part: str) -> int:
        prefix = {
            "embeddings": "embeddings/",
            "index": "index/",
            "thumbnails": "thumbnails.sqlite",
            "basemap": "basemap.mbtiles",
        }[part]
        return sum(int(v["bytes"]) for k, v in files.items() if k.startswith(prefix))

    print(f"Demo region, {est['rows']:,} chips; estimate {t_est:.1f} s, build {t_build:.0f} s\n")
    print("| part | estimated | built | error |")
    print("| --- | ---: | ---: | ---: |")
    total_real = 0
    for part in ("embeddings", "index", "thumbnails", "basemap"):
        r = real(part)
        total_real += r
        err = f"{100 * (est[part] - r) / r:+.0f} %" if r else "-"
        print(f"| {part} | {human_bytes(est[part])} | {human_bytes(r)} | {err} |")
    print(
        f"| total | {human_bytes(est['total'])} | {human_bytes(total_real)} | {100 * (est['total'] - total_real) / total_real:+.0f} % |"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
