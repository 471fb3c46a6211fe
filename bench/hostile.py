"""What the checks against hostile files cost on ordinary data (issue 11), and what a hostile file costs.

Run by hand (not a test); it prints a Markdown table for docs/performance.md::

    .venv/bin/python bench/hostile.py             # 300k chips (about a minute)
    .venv/bin/python bench/hostile.py --rows 1000000

Measured: the footprint checks (NaN/inf anywhere, vertex count, self-crossing) per chip; an open of an
ordinary file with and without them (the same file, alternately, best of 3, so that other jobs on a
shared machine weigh on both alike); the structural check of a search index before hnswlib loads it;
and the peak memory of opening a file that promises 16 GB of repeated text. The load average is printed.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "tests" / "hostile"))


def best(fn, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=300_000)
    args = parser.parse_args()
    import numpy as np
    import shapely
    from synth import write_earth_index

    from terrafind.core.read import reader, shapes

    n = args.rows
    folder = Path(tempfile.mkdtemp(prefix="terrafind-bench-hostile-"))
    rows: list[tuple[str, str]] = []
    x, y = np.random.default_rng(0).random((2, n)) * 10
    boxes = shapely.box(x, y, x + 0.01, y + 0.01)
    shapes.unusable(boxes[:1000])
    t = best(lambda: shapes.unusable(boxes))
    rows.append((f"footprint checks, {n:,} chips", f"{t * 1000:.0f} ms ({t / n * 1e6:.2f} us a chip)"))

    path = write_earth_index(folder / "bench.parquet", n=n, d=384, row_group_size=65536)["path"]
    real = shapes.unusable

    def first_open() -> None:
        # A fresh home each time: a later open reads the region store (the app cache), not the file.
        os.environ["TERRAFIND_HOME"] = tempfile.mkdtemp(prefix="home-", dir=folder)
        reader.open_catalog(path)

    with_checks, without = [], []
    for _ in range(3):  # alternately: other jobs on the machine weigh on both alike
        with_checks.append(best(first_open, 1))
        shapes.unusable = lambda g: np.zeros(len(g), dtype=bool)  # the same open without the checks
        try:
            without.append(best(first_open, 1))
        finally:
            shapes.unusable = real
    rows.append(
        (f"first open_catalog, {n:,} x 384, with the checks (best of 3)", f"{min(with_checks):.2f} s")
    )
    rows.append(("... without the footprint checks (best of 3)", f"{min(without):.2f} s"))

    import hnswlib

    from terrafind.core.search.hnsw_check import check_hnsw_file

    m = min(n, 100_000)
    vecs = np.random.default_rng(1).standard_normal((m, 384)).astype(np.float32)
    index = hnswlib.Index(space="ip", dim=384)
    index.init_index(max_elements=m, M=16, ef_construction=100)
    index.add_items(vecs, np.arange(m))
    index.save_index(str(folder / "i.hnsw"))
    t = best(lambda: check_hnsw_file(folder / "i.hnsw", rows=m, dim=384))
    rows.append((f"index structure check, {m:,} x 384", f"{t * 1000:.0f} ms"))

    import subprocess

    import psutil
    from corpus import write_repeated_text

    bomb = write_repeated_text(folder / "rep.parquet")
    proc = subprocess.Popen(
        [sys.executable, "-m", "terrafind.core.cli.main", "info", str(bomb)], stdout=subprocess.DEVNULL
    )
    peak, watched = 0, psutil.Process(proc.pid)
    while proc.poll() is None:
        try:
            peak = max(peak, watched.memory_info().rss)
        except psutil.Error:
            break
        time.sleep(0.01)
    rows.append(("peak RSS, info on a file promising 16 GB of text", f"{peak / 1e6:.0f} MB"))
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores\n")
    print("| measured | value |\n| --- | --- |")
    for name, value in rows:
        print(f"| {name} | {value} |")


if __name__ == "__main__":
    main()
