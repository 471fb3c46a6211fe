"""``terrafind-cli unusual PATH... [--by loss|novelty] [-k K] --out FILE``: unusual places, no examples needed.

The chips with the highest loss (the Clay v1 layout's own column) or the highest novelty (distance to
their nearest look-alikes in the region), as a starting point for a survey (:mod:`terrafind.core.search.unusual`).
``--out`` takes any hits format, or ``.tif`` for the whole region's values as a Cloud-Optimized GeoTIFF.
"""

from __future__ import annotations

import argparse
from typing import Any

from terrafind.core.cli import add_input_args, progress_for, session_from_args

__all__ = ["register", "run"]

TOP_LINES = 10


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "unusual",
        help="unusual places, no examples needed",
        description="Rank the region's chips by loss (when the data has it) or by novelty, and write the most unusual.",
    )
    add_input_args(p)
    p.add_argument(
        "--by",
        choices=["auto", "loss", "novelty"],
        default="auto",
        help="loss: the data's own loss column; novelty: distance to the nearest look-alikes (auto: loss when "
        "the data has it)",
    )
    p.add_argument("-k", type=int, default=200, help="how many places (1-10000, default 200)")
    p.add_argument("--neighbours", type=int, default=10, help="novelty: how many nearest chips (default 10)")
    p.add_argument(
        "--out",
        metavar="FILE",
        help="write the places to FILE (.geojson, .gpkg, .csv, .gpx, .kml), or the whole region's values to "
        "FILE.tif (a Cloud-Optimized GeoTIFF, one pixel per chip)",
    )
    p.add_argument("--no-index", action="store_true", help="never use a cached search index")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from terrafind.core.errors import InputError
    from terrafind.core.search.exact import EXACT_MAX_ROWS
    from terrafind.core.search.query import MAX_K

    if not 1 <= args.k <= MAX_K:
        raise InputError(f"Ask for between 1 and {MAX_K} places (got {args.k}).")
    if args.neighbours < 1:
        raise InputError("Compare each chip with at least one neighbour (--neighbours 1 or more).")
    raster = bool(args.out) and args.out.lower().endswith((".tif", ".tiff"))
    if args.out and not raster:
        from terrafind.core.export.formats import resolve

        resolve(args.out)  # an unknown format fails now, not after the work
    session = session_from_args(args, progress_for())
    catalog = session.catalog
    session.params.update(k=args.k, unusual_by=args.by, neighbours=args.neighbours)
    if not args.no_index and len(catalog) > EXACT_MAX_ROWS:
        session.use_index(catalog, session.load_index(build=False, progress=progress_for()))
    outcome = session.run_search("unusual")
    result, pct = outcome.result, outcome.percentiles
    word = "loss" if result.mode == "unusual-loss" else "novelty"
    print(f"{outcome.quality} ({len(catalog):,} chips, {catalog.model_name}, {result.elapsed_ms:.0f} ms)")
    for rank, (row, value) in enumerate(
        zip(result.rows[:TOP_LINES], result.scores[:TOP_LINES], strict=True), 1
    ):
        lon, lat = catalog.centroids[[int(row)]][0]
        where = f"  {pct.text(float(value))}" if pct is not None else ""
        place = f"{lon:.5f}, {lat:.5f}" if session.precise_allowed() else "(sensitive: place not shown)"
        print(f"  {rank:>3}  {catalog.ids[int(row)]}  {word} {value:.4g}{where}  {place}")
    if args.out:
        if raster:
            out, what = session.export_raster(args.out)
            print(f"Wrote {out} ({what} of every chip, one pixel per chip).")
        else:
            out, count = session.export_hits(args.out)
            print(f"Wrote {count} places to {out}")
    return 0
