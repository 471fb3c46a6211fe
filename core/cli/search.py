"""``terrafind-cli search PATH... --at LON,LAT``: find chips like the ones under the given points."""

from __future__ import annotations

import argparse
from typing import Any

from terrafind.core.cli import add_input_args, lonlat, open_from_args, progress_for, search_learn

__all__ = ["register", "run", "rows_under"]

TOP_LINES = 10


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "search",
        help="search by example",
        description="Find chips that look like the chips under the --at points (and unlike --not points).",
    )
    add_input_args(p)
    p.add_argument(
        "--at",
        type=lonlat,
        action="append",
        default=[],
        metavar="LON,LAT",
        help="a positive example: the chip under this point (repeatable; or give a --labels file)",
    )
    p.add_argument(
        "--not",
        dest="negatives",
        type=lonlat,
        action="append",
        default=[],
        metavar="LON,LAT",
        help="a negative example: the chip under this point (repeatable)",
    )
    p.add_argument("-k", type=int, default=100, help="how many hits (1-10000, default 100)")
    p.add_argument(
        "--mode",
        choices=["mean", "max"],
        default="mean",
        help="mean: like the average example; max: like any one example",
    )
    p.add_argument("--threshold", type=float, metavar="S", help="keep hits scoring at least S (-1..1)")
    p.add_argument("--out", metavar="FILE", help="write hits to FILE (.geojson, .gpkg, .csv, .gpx, .kml)")
    p.add_argument("--no-index", action="store_true", help="always search exactly, ignore a cached index")
    search_learn.add_arguments(p)  # --labels, --labels-as, --refine, --sites
    p.set_defaults(run=run)


def rows_under(catalog: Any, points: list[tuple[float, float]], what: str) -> list[int]:
    """The chip row under each (lon, lat); a point on no chip is bad input."""
    from terrafind.core.errors import InputError

    rows = []
    for lon, lat in points:
        row = catalog.chip_at(lon, lat)
        if row is None:
            if len(catalog) == 0:
                raise InputError("The opened data holds no chips, so there is nothing to search.")
            w, s, e, n = catalog.bounds
            raise InputError(
                f"No chip lies under the {what} point {lon}, {lat}; the data covers "
                f"{w:.5f}, {s:.5f} to {e:.5f}, {n:.5f} (W, S to E, N)."
            )
        rows.append(row)
    return rows


def run(args: argparse.Namespace) -> int:
    from terrafind.core.export.formats import resolve
    from terrafind.core.search.exact import EXACT_MAX_ROWS
    from terrafind.core.search.index import load_cached_index
    from terrafind.core.types import Examples

    if args.out:
        resolve(args.out)  # an unknown format fails now, not after the search
    catalog = open_from_args(args, progress_for())
    pos, neg, exclude = search_learn.apply_labels(
        args, catalog, rows_under(catalog, args.at, "--at"), rows_under(catalog, args.negatives, "--not")
    )
    examples = Examples(positives=pos, negatives=neg)
    index = None
    if not args.no_index and len(catalog) > EXACT_MAX_ROWS:
        index = load_cached_index(catalog, progress=progress_for())  # never a multi-minute build here
    result = search_learn.run_search(args, catalog, examples, index, exclude)  # plain or --refine
    for problem in catalog.problems:
        print(f"note: {problem}")
    n_pos, n_neg = len(examples.positives), len(examples.negatives)
    print(
        f"Searched {len(catalog):,} chips ({catalog.model_name}) with {n_pos} positive and {n_neg} negative "
        f"example(s), mode {result.mode}, {result.method}, {result.elapsed_ms:.1f} ms."
    )
    top = " ".join(f"{s:.3f}" for s in result.scores[:5])
    print(f"{len(result)} hits; top scores: {top or 'none'}")
    for rank, (row, score) in enumerate(
        zip(result.rows[:TOP_LINES], result.scores[:TOP_LINES], strict=True), 1
    ):
        lon, lat = catalog.centroids[row]
        print(f"  {rank:>3}  {catalog.ids[row]}  {score:.4f}  {lon:.5f}, {lat:.5f}")
    if args.out:
        out = search_learn.write_output(args, catalog, result)  # hits, or --sites
        print(f"Wrote {out}")
    return 0
