"""Benchmark: embed and index throughput in one process and on a Dask LocalCluster of 1 and 2 workers.

Run by hand (not a test); prints a Markdown table for docs/performance.md::

    .venv/bin/python bench/cluster.py                          # 4 tiles of 2048 px, best of 3, ~5 min on 2 cores
    .venv/bin/python bench/cluster.py --tiles 8 --size 1536 --repeat 1

Made-up 4-band tiles (tests/core/cluster_synth.py) are embedded with the default settings (128 filters,
32 px chips every 16 px: 256-d vectors). The filters are chosen once, before anything is timed (every run
takes them ``--like`` a reference file), so the figures are the embedding itself. "embed one file" cuts
the tiles into windows of chip rows (one task each) and writes one file; "embed tiles" makes one file per
tile (one task each); "index shards" builds one region store and search index per tile (one task each).
"one process" is the path without --cluster (with its own threads: the embedder's block rows, hnswlib's
insertions). The paths take turns, round after round, and each figure is the best of ``--repeat`` rounds
(the machine is shared: its load changes); cluster start-up is timed apart. Every "one file" is checked to
be the same bytes as the one process's first. A fresh TERRAFIND_HOME is used, so nothing of the user's is
read or written.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from functools import partial
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "core"))


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tiles", type=int, default=4)
    ap.add_argument("--size", type=int, default=2048, help="tile side in pixels")
    ap.add_argument("--repeat", type=int, default=3, help="runs of each measurement (the best is shown)")
    args = ap.parse_args()
    os.environ.setdefault("TERRAFIND_HOME", tempfile.mkdtemp(prefix="terrafind-bench-"))
    import pyarrow.parquet as pq
    from cluster_synth import tiles

    from terrafind.core.cluster.connect import open_cluster
    from terrafind.core.cluster.embed import cluster_chips
    from terrafind.core.cluster.tasks import run_tasks
    from terrafind.core.embed.embedder import embed_images
    from terrafind.core.embed.tiles import embed_tiles
    from terrafind.core.shards.build import update_region

    work = Path(tempfile.mkdtemp(prefix="terrafind-bench-cluster-"))
    try:
        images = [str(p) for p in tiles(work / "img", n=args.tiles, size=args.size)]
        t0 = time.perf_counter()
        ref = embed_images(images, work / "reference.parquet")  # chooses the filters (not timed below)
        print(f"  filters chosen and reference embedded in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
        chips = pq.ParquetFile(ref).metadata.num_rows
        emb = work / "emb"
        embed_tiles(images, emb, like=ref)  # the tiles the index measurements start from
        files = sorted(str(p) for p in emb.glob("*.parquet"))
        expected: dict[str, str] = {}
        indexed: dict[str, int] = {}

        def steps(tag: str, run: Any) -> list[Callable[[int], None]]:
            """The three measured steps of one path (``run`` None: one process)."""
            source = cluster_chips(run) if run is not None else None
            kw: dict[str, Any] = {"runner": partial(run_tasks, run)} if run is not None else {}

            def one_file(i: int) -> None:
                out = work / f"{tag}-{i}.parquet"
                embed_images(images, out, like=ref, chips=source)
                digest = expected.setdefault("sha", _sha(out))  # the first one-process file's
                assert _sha(out) == digest, f"{tag}: not the same bytes as in one process"
                out.unlink()

            def per_tile(i: int) -> None:
                rep = embed_tiles(images, work / f"tiles-{tag}-{i}", like=ref, **kw)
                assert len(rep.written) == len(images), rep.failures
                shutil.rmtree(work / f"tiles-{tag}-{i}")

            def index(i: int) -> None:
                rep = update_region(files, work / f"region-{tag}-{i}", **kw)
                assert not rep.failures, rep.failures
                indexed["rows"] = rep.rows  # chips in the stores (the reader leaves out unusable rows)
                shutil.rmtree(work / f"region-{tag}-{i}")

            return [one_file, per_tile, index]

        with ExitStack() as stack:
            paths: dict[str, tuple[float | None, list[Callable[[int], None]]]] = {
                "one process": (None, steps("one", None))
            }
            for workers in (1, 2):
                t0 = time.perf_counter()
                run = stack.enter_context(open_cluster(workers=workers))
                label = f"cluster, {workers} worker{'s' if workers > 1 else ''}"
                paths[label] = (time.perf_counter() - t0, steps(f"w{workers}", run))
            # Round after round of every path, so that a change in the shared machine's load between
            # rounds falls on every path alike; the best round of each step is kept.
            best: dict[str, list[float]] = {label: [float("inf")] * 3 for label in paths}
            for i in range(args.repeat):
                for label, (_, fns) in paths.items():
                    for j, fn in enumerate(fns):
                        t0 = time.perf_counter()
                        fn(i)
                        best[label][j] = min(best[label][j], time.perf_counter() - t0)
                    times = ", ".join(f"{t:.1f}" for t in best[label])
                    print(f"  round {i + 1}, {label}: best so far {times} s", file=sys.stderr)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"\n{args.tiles} tiles of {args.size} px, 4 bands, {chips:,} chips (256-d; {indexed['rows']:,} "
        f"indexed: the reader leaves out unusable rows); {os.cpu_count()} cores, "
        f"load {load:.1f} at the end; best of {args.repeat}\n"
    )
    print(
        "| path | start-up (s) | embed one file (chips/s) | embed tiles (chips/s) | index shards (chips/s) |"
    )
    print("|---|---:|---:|---:|---:|")
    for label, (start, _) in paths.items():
        one, per_tile, index = best[label]
        s = f"{start:.1f}" if start is not None else "-"
        print(
            f"| {label} | {s} | {chips / one:,.0f} | {chips / per_tile:,.0f} | {indexed['rows'] / index:,.0f} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
