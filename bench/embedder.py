"""Benchmark of the built-in embedder and the demo region: speed (megapixels/s) and search quality.

Run by hand (not a test); it prints Markdown tables for docs/demo.md::

    .venv/bin/python bench/embedder.py             # speed on the 13-band demo scene + demo build + quality
    .venv/bin/python bench/embedder.py --repeat 5  # more repeats (the best and the median are shown)

Speed is measured on the real scene: 13 Sentinel-2 bands resampled to 10 m, 1931 x 1942 px (3.75 Mpx).
"compute" embeds an array already in memory; "end to end" is ``embed_images`` on the multiband COG
(ZSTD), including fitting the filters, reading, reprojecting chip corners and writing GeoParquet.
The machine may be shared: the load average is printed with the figures.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _load() -> str:
    one, five, _ = os.getloadavg()
    return f"{one:.1f} / {five:.1f}"


def _compute(data, valid, model, params, workers: int) -> None:
    """Embed an in-memory array with ``workers`` threads (what embed_images does, minus I/O)."""
    from concurrent.futures import ThreadPoolExecutor

    from threadpoolctl import threadpool_limits

    from terrafind.core.embed.raster import iter_chip_rows

    grid = params.grid()
    h, w = valid.shape

    def read(r0, r1, c0, c1):
        out = np.zeros((data.shape[0], r1 - r0, c1 - c0), np.float32)
        ok = np.zeros((r1 - r0, c1 - c0), bool)
        ys, xs = slice(max(r0, 0), min(r1, h)), slice(max(c0, 0), min(c1, w))
        out[:, ys.start - r0 : ys.stop - r0, xs.start - c0 : xs.stop - c0] = data[:, ys, xs]
        ok[ys.start - r0 : ys.stop - r0, xs.start - c0 : xs.stop - c0] = valid[ys, xs]
        return out, ok

    with threadpool_limits(1, user_api="blas"), ThreadPoolExecutor(workers) as pool:
        for _ in iter_chip_rows(read, h, w, model, grid, rows_per_read=16, pool=pool):
            pass


def _timed(fn, repeat: int) -> tuple[float, float, float]:
    """(best wall s, median wall s, median CPU s of all threads)."""
    walls, cpus = [], []
    for _ in range(repeat):
        t, c = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - t)
        cpus.append(time.process_time() - c)
    return min(walls), statistics.median(walls), statistics.median(cpus)


def speed(repeat: int, home: Path) -> None:
    import rasterio

    from terrafind.core.embed.demo import DEMO_PARAMS, ensure_demo
    from terrafind.core.embed.embedder import embed_images, fit_embedder

    os.environ["TERRAFIND_HOME"] = str(home)
    load_before = _load()
    t0 = time.perf_counter()
    region = ensure_demo()
    build = time.perf_counter() - t0
    with rasterio.open(region.imagery_multiband) as src:
        data = src.read().astype(np.float32)
        profile = src.profile
        mpx = src.width * src.height / 1e6
    plain = home / "plain.tif"  # the same pixels, uncompressed and striped: reading costs ~nothing
    profile = {k: profile[k] for k in ("width", "height", "count", "dtype", "crs", "transform")}
    with rasterio.open(plain, "w", driver="GTiff", **profile) as dst:
        dst.write(data.astype(np.uint16))
    valid = np.ones(data.shape[1:], bool)
    model = fit_embedder([region.imagery_multiband], DEMO_PARAMS)
    out = home / "bench.parquet"
    runs = [
        ("compute only, 1 thread", lambda: _compute(data, valid, model, DEMO_PARAMS, 1)),
        ("compute only, 2 threads", lambda: _compute(data, valid, model, DEMO_PARAMS, 2)),
        ("embed_images, uncompressed GeoTIFF", lambda: embed_images([plain], out, params=DEMO_PARAMS)),
        (
            "embed_images, the demo COG (ZSTD)",
            lambda: embed_images([region.imagery_multiband], out, params=DEMO_PARAMS),
        ),
    ]
    print(
        f"\nScene: {mpx:.2f} Mpx x 13 bands; {os.cpu_count()} cores; load average (1/5 min) before: {load_before}"
    )
    print(
        f"K={DEMO_PARAMS.k}, patch={DEMO_PARAMS.patch}, step={DEMO_PARAMS.step}, chip={DEMO_PARAMS.chip}, stride={DEMO_PARAMS.stride}\n"
    )
    print("| run | best s | best Mpx/s | median Mpx/s | Mpx per CPU-second |")
    print("|---|---:|---:|---:|---:|")
    for label, fn in runs:
        best, med, cpu = _timed(fn, repeat)
        print(f"| {label} | {best:.2f} | {mpx / best:.1f} | {mpx / med:.1f} | {mpx / cpu:.1f} |")
    print(f"\nDemo build (first run, into an empty home): {build:.1f} s; load average after: {_load()}")


def quality(home: Path) -> None:
    from terrafind.core.embed.demo import ensure_demo

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from demo_quality import chip_class_shares, precision_at_k

    from terrafind.core.read.reader import open_catalog

    os.environ["TERRAFIND_HOME"] = str(home)
    region = ensure_demo()
    cat = open_catalog(region.embeddings)
    shares = chip_class_shares(region.imagery_multiband, cat.ids)
    print(
        f"\nSearch quality on the demo ({len(cat)} chips): 3 example chips, top 50, 10 random example sets\n"
    )
    print(
        "| class (ground truth from the imagery) | hit = share of class pixels | example chips | random pick | precision@50 mean | worst |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    for name, share in shares.items():
        for hit in (0.5, 0.8):
            fig = precision_at_k(cat, share, name, k=50, trials=10, seed=0, hit=hit)
            print(
                f"| {name} | >= {hit:.0%} | {fig.candidates} | {fig.prevalence:.2f} | {fig.mean:.3f} | {fig.worst:.2f} |"
            )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="tf-bench-embed-") as tmp:
        speed(args.repeat, Path(tmp))
        quality(Path(tmp))


if __name__ == "__main__":
    main()
