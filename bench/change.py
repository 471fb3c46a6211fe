"""Benchmark of the multi-year features on the Pucallpa demo: quality per embedder seed, and timings.

Run by hand (not a test); it prints Markdown tables for docs/demo.md and docs/performance.md::

    .venv/bin/python bench/change.py              # seeds 0-4 and timings (a minute or two)
    .venv/bin/python bench/change.py --seeds 0     # the shipped demo only

Quality is measured against the pixel truth of tests/pucallpa_truth.py, through the Session (as the app
does it): tests/pucallpa_quality.py. The machine may be shared: the load average is printed too.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

COLUMNS = [
    "P@50 cleared", "P@100 cleared", "P@200 cleared", "recall@M cleared", "AUC cleared", "P@100 any",
    "P@50 cleared, land only", "P@100 cleared, pixel baseline", "P@50 cleared 2000-2010", "P@50 any 2000-2010",
    "history P@50 unusual", "history P@200 unusual", "water 1985 -> 2020, P@50",
    "detector 2010 -> 2020, precision", "detector 2010 -> 2020, recall",
]  # fmt: skip


def quality(seeds: list[int]) -> None:
    import pucallpa_quality as q

    import terrafind.core.embed.pucallpa as demo

    shipped = demo.PUCALLPA_PARAMS
    rows = {}
    for seed in seeds:
        demo.PUCALLPA_PARAMS = dataclasses.replace(shipped, seed=seed)
        with tempfile.TemporaryDirectory() as d:
            files, _ = q.build(Path(d))
            rows[seed] = q.measure(files)
    demo.PUCALLPA_PARAMS = shipped
    print("\n| figure | " + " | ".join(f"seed {s}" for s in seeds) + " | worst |")
    print("|---|" + "---:|" * (len(seeds) + 1))
    for c in COLUMNS:
        values = [rows[s][c] for s in seeds]
        worst = max(values) if "baseline" in c else min(values)
        print(f"| {c} | " + " | ".join(f"{v:.2f}" for v in values) + f" | {worst:.2f} |")
    print(f"\ncleared chips 1985->2020: {rows[seeds[0]]['cleared chips']:.0f}; 2000->2010: "
          f"{rows[seeds[0]]['cleared chips 2000-2010']:.0f}; share unusual (history): "
          f"{rows[seeds[0]]['history share unusual']:.3f}")  # fmt: skip


def _best(fn, repeat: int) -> tuple[float, float]:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times), statistics.median(times)


def timings(repeat: int) -> None:
    import pucallpa_quality as q

    from terrafind.core.change.compare import run_change
    from terrafind.core.change.new import run_new
    from terrafind.core.change.timeline import run_timeline
    from terrafind.core.session import Session

    with tempfile.TemporaryDirectory() as d:
        t0, c0 = time.perf_counter(), time.process_time()
        files, _ = q.build(Path(d))
        embed = (time.perf_counter() - t0, time.process_time() - c0)
        s = Session.open([str(f) for f in files])
        cells = [("open 8 dates (4,088 chips each)", lambda: Session.open([str(f) for f in files]))]
        s.dates._matches.clear()
        cells.append(
            (
                "match 1985 <-> 2020 by place (first time)",
                lambda: s.dates.match("1985", "2020") and s.dates._matches.clear(),
            )
        )
        cells.append(("change 1985 -> 2020", lambda: run_change(s.change_query("1985", "2020"))))
        cells.append(
            (
                "unusual for its history, 2020 vs 7 dates",
                lambda: run_change(s.change_query(after="2020", kind="history")),
            )
        )
        s.set_example(int(s.catalog.nearest(-74.55, -8.43)), "positive")
        s.run_search()
        det = s.detector()
        cells.append(("new since 1985 (examples on 2020)", lambda: run_new(s.new_query("1985", det))))
        cells.append(("timeline, 8 dates", lambda: run_timeline(s.timeline_query(detector=det))))
        print(
            f"\nload average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; best / median of {repeat}\n"
        )
        print("| step | best | median |\n|---|---:|---:|")
        print(
            f"| build the 8 dates' COGs + embeddings (fit 1985, 7 --like) | {embed[0]:.2f} s wall, {embed[1]:.2f} s CPU | |"
        )
        for name, fn in cells:
            best, med = _best(fn, repeat)
            print(f"| {name} | {best * 1000:.0f} ms | {med * 1000:.0f} ms |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", default="0,1,2,3,4")
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    os.environ.setdefault("TERRAFIND_HOME", tempfile.mkdtemp(prefix="tf-bench-"))
    quality([int(s) for s in args.seeds.split(",")])
    timings(args.repeat)


if __name__ == "__main__":
    main()
