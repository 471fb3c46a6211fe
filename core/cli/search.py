"""``terrafind-cli search PATH... --at LON,LAT``: find chips like the ones under the given points.

The search is the app's: a :class:`terrafind.core.session.Session` opens the data (files, folders or a
field pack), takes the examples, runs a plain or refined search and exports the visible hits.

* ``--labels FILE`` (repeatable): places from CSV / GeoJSON / KML / GPX / shapefile become examples
  (a status column decides positive / negative / exclude; without one, ``--labels-as`` decides).
* ``--refine``: train a logistic regression on the examples plus random background chips and re-rank
  (:mod:`terrafind.core.search.refine`); hits gain a ``probability`` and ``--threshold`` applies to it.
* ``--sites``: hits whose chips touch merge into sites, and ``--out`` writes sites instead of chips.
* ``--since OLD``: only what is new since an earlier date of the region (:mod:`terrafind.core.change.new`):
  hits are like the examples now (at or above the line: ``--threshold``, else the score of the k-th hit)
  and were below it at OLD; each gets ``score_before``.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from terrafind.core.cli import add_input_args, lonlat, progress_for, session_from_args, two_dates_session
from terrafind.core.search.percentiles import format_top

__all__ = ["register", "run", "rows_under", "similarity_words"]

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
        "--snap",
        type=float,
        metavar="METRES",
        help="a point on no chip takes the nearest chip within METRES (default: one chip width; 0: never)",
    )
    p.add_argument(
        "--mode",
        choices=["mean", "max"],
        default="mean",
        help="mean: like the average example; max: like any one example",
    )
    line = p.add_mutually_exclusive_group()
    line.add_argument("--threshold", type=float, metavar="S", help="keep hits scoring at least S (-1..1)")
    line.add_argument(
        "--top",
        type=float,
        metavar="PCT",
        help="keep the hits in the top PCT %% of the region (e.g. 0.5), whatever their score",
    )
    p.add_argument(
        "--loss",
        type=_loss_range,
        metavar="MIN,MAX",
        help="keep hits whose loss (Clay v1 layout) lies between MIN and MAX; leave one out for an open side "
        "(e.g. --loss 0.2, keeps loss >= 0.2)",
    )
    p.add_argument(
        "--out",
        metavar="FILE",
        help="write hits to FILE (.geojson, .gpkg, .csv, .gpx, .kml), or every chip's score to FILE.tif "
        "(a Cloud-Optimized GeoTIFF, one pixel per chip: similarity, or probability with --refine)",
    )
    p.add_argument(
        "--blur",
        type=float,
        metavar="KM",
        help="sensitive places: snap the written hits to a grid of KM (1, 5, 10) and leave out ids, dates, "
        "files and examples",
    )
    p.add_argument(
        "--label-set",
        metavar="FILE",
        help="also write the examples as a label set without coordinates (labels and embeddings, .parquet)",
    )
    p.add_argument(
        "--unlock",
        action="store_true",
        help="a project marked sensitive: let precise coordinates be written and printed in this run",
    )
    p.add_argument("--no-index", action="store_true", help="always search exactly, ignore a cached index")
    p.add_argument(
        "--labels",
        action="append",
        default=[],
        metavar="FILE",
        help="examples from a file of places (.csv with lat/lon columns, .geojson, .kml, .gpx, .shp); "
        "a status column (confirmed / rejected / exclude / not visited) decides each place's role",
    )
    p.add_argument(
        "--labels-as",
        choices=["positive", "negative", "exclude"],
        default="positive",
        help="what places in a --labels file without a status column are (default: positive)",
    )
    p.add_argument(
        "--refine",
        action="store_true",
        help="train a classifier on the examples (needs at least one --not or rejected place) plus random "
        "background chips and rank by its probability; --threshold then applies to the probability",
    )
    p.add_argument(
        "--sites",
        action="store_true",
        help="merge hits whose chips touch into sites (one outline, chip count, hectares) and write those",
    )
    p.add_argument(
        "--since",
        metavar="OLD",
        help="only chips that are like the examples now and were not at OLD (a file or folder of the same "
        "region at an earlier date); hits gain score_before",
    )
    p.add_argument(
        "--dates",
        metavar="OLD_DATE,NEW_DATE",
        help="with --since: the two dates, when the files do not state them",
    )
    p.set_defaults(run=run)


def _loss_range(text: str) -> tuple[float | None, float | None]:
    """``MIN,MAX``, ``MIN,`` or ``,MAX``: a range of loss (an empty side is open)."""
    parts = (text.split(",") + [""])[:2] if "," in text else [text, ""]
    try:
        lo, hi = (float(p) if p.strip() else None for p in parts)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not MIN,MAX (numbers; one may be left out)") from None
    return lo, hi


def similarity_words(catalog: Any) -> str:
    """What the scores are, for people: the app's Scores setting in the same words."""
    if catalog.is_centred:
        return "centred cosine (the region's mean taken away first; --similarity cosine for plain)"
    return "plain cosine (--similarity centred to take the region's mean away first)"


def rows_under(catalog: Any, points: list[tuple[float, float]], what: str, snap_m: float = 0.0) -> list[int]:
    """The chip row under each (lon, lat), else the nearest within ``snap_m`` metres; a point on no chip
    is bad input."""
    from terrafind.core.errors import InputError

    rows = []
    for lon, lat in points:
        found = catalog.chip_near(lon, lat, snap_m)
        row = None if found is None else found[0]
        if found is not None and found[1] > 0:
            print(
                f"{what} {lon}, {lat}: snapped to {catalog.ids[row]}, the nearest chip, {found[1]:,.0f} m away."
            )
        if row is None:
            if len(catalog) == 0:
                raise InputError("The opened data holds no chips, so there is nothing to search.")
            w, s, e, n = catalog.bounds
            raise InputError(
                f"No chip lies within {snap_m:,.0f} m of the {what} point {lon}, {lat}; the data covers "
                f"{w:.5f}, {s:.5f} to {e:.5f}, {n:.5f} (W, S to E, N)."
            )
        rows.append(row)
    return rows


def _add_places(args: argparse.Namespace, session: Any) -> None:
    """The places of every ``--labels`` file as examples and masked chips (a rejection wins over a
    confirmation of the same chip, as in :func:`terrafind.core.read.places.places_to_labels`)."""
    from terrafind.core.read.places import places_to_labels, read_places

    masked = set(session.masked)
    for name in args.labels:
        labels = places_to_labels(
            session.catalog, read_places(name), default=args.labels_as, snap_m=session.snap_m()
        )
        for row in labels.positives:
            if session.examples.get(row) != "negative":
                session.set_example(row, "positive")
        for row in labels.negatives:
            session.set_example(row, "negative")
        masked.update(labels.exclude)
        note = f", {labels.unmatched} on no chip" if labels.unmatched else ""
        skipped = f", {labels.skipped} not visited" if labels.skipped else ""
        print(
            f"{Path(name).name}: {len(labels.positives)} positive, {len(labels.negatives)} negative, "
            f"{len(labels.exclude)} excluded chip(s){note}{skipped}."
        )
    for row in masked:
        session.set_example(row, None)
    session.set_masked(sorted(masked))


def run(args: argparse.Namespace) -> int:
    from terrafind.core.errors import InputError
    from terrafind.core.export.formats import resolve
    from terrafind.core.search.exact import EXACT_MAX_ROWS

    raster = bool(args.out) and args.out.lower().endswith((".tif", ".tiff"))  # every chip's score (COG)
    if args.out and not raster:
        resolve(args.out)  # an unknown format fails now, not after the search
    if args.since:
        session, before, _after = two_dates_session(args, [args.since], list(args.paths), progress_for())
    else:
        session = session_from_args(args, progress_for())
    catalog = session.catalog
    if args.unlock:
        session.unlock_precise()
    if args.out:
        session.check_precise(args.blur)  # said before the search, not after
    if args.snap is not None:
        session.params["snap_m"] = max(0.0, float(args.snap))
    for row in rows_under(catalog, args.at, "--at", session.snap_m()):
        session.set_example(row, "positive")
    for row in rows_under(catalog, args.negatives, "--not", session.snap_m()):
        session.set_example(row, "negative")
    _add_places(args, session)
    examples = session.search_examples()
    if not examples.positives:
        raise InputError("Give at least one positive example: --at LON,LAT or a --labels file with places.")
    session.params.update(k=args.k, mode=args.mode)
    session.learn["refine"] = bool(args.refine)
    if not args.no_index and len(catalog) > EXACT_MAX_ROWS:
        session.use_index(catalog, session.load_index(build=False, progress=progress_for()))  # never a build
    outcome = session.run_search("refine" if args.refine else "plain")
    # after the search: the line filters what its ranking shows (a share needs its region's figures)
    if args.top is not None:
        session.set_threshold_share(args.top / 100.0)
    else:
        session.set_threshold(args.threshold)
    if args.since:
        outcome = session.run_new(before)
        session.set_threshold(None)  # the line made "new"; the hits are all above it
        print(f"New since {before}: {len(outcome.result)} chips at {outcome.quality.split(' at ', 1)[-1]}.")
    if args.loss is not None:
        session.set_loss_range(*args.loss)
    visible = session.visible()
    for problem in catalog.problems:
        print(f"note: {problem}")
    if outcome.refine is not None:
        _print_refined(session, outcome.refine, args.threshold)
    n_pos, n_neg = len(examples.positives), len(examples.negatives)
    result = outcome.result
    print(
        f"Searched {len(catalog):,} chips ({catalog.model_name}) with {n_pos} positive and {n_neg} negative "
        f"example(s), mode {result.mode}, {result.method}, {result.elapsed_ms:.1f} ms."
    )
    cache = catalog.cache_info()
    if cache is not None:
        data = (
            "opened from the app cache"
            if cache["reused"]
            else "read from the files and kept in the app cache"
        )
        index = "" if session.index is None else "; search index from the app cache"
        print(f"Data {data}{index}.")
    print(f"Scores: {similarity_words(catalog)}.")
    top = " ".join(f"{s:.3f}" for s in visible.scores[:5])
    print(f"{len(visible)} hits; top scores: {top or 'none'}")
    pct = outcome.percentiles
    if pct is not None:
        print(region_line(pct))
        line_at = session.params.get("threshold")
        if line_at is not None:
            word = "probability" if outcome.refine is not None else "score"
            share = outcome.share_of(line_at)
            where = "" if share is None else f", {format_top(share)} of the region"
            print(f"Line at {word} {line_at:.4f}{where}.")
        print(f"(top % = share of the region scoring as high, from {pct.size:,} chips sampled at random)")
    for rank, (row, score) in enumerate(
        zip(visible.rows[:TOP_LINES], visible.scores[:TOP_LINES], strict=True), 1
    ):
        lon, lat = catalog.centroids[row]
        where = f"  {pct.text(float(score))}" if pct is not None else ""
        place = f"{lon:.5f}, {lat:.5f}" if session.precise_allowed() else "(sensitive: place not shown)"
        print(f"  {rank:>3}  {catalog.ids[row]}  {score:.4f}{where}  {place}")
    if args.out and raster:
        out, what = session.export_raster(args.out)
        print(f"Wrote {out}: the {what} of every chip of the region, one pixel per chip.")
    elif args.out:
        if args.sites:
            out, count = session.export_sites(args.out, blur_km=args.blur)
            total = sum(s.area_ha for s in session.sites())
            print(f"{len(visible)} hits form {count} site(s), {total:.1f} ha in all.")
        else:
            out, _count = session.export_hits(args.out, blur_km=args.blur)
        blurred = f" (places blurred to a {args.blur:g} km grid)" if args.blur else ""
        print(f"Wrote {out}{blurred}")
    if args.label_set:
        out, count = session.export_label_set(args.label_set)
        print(f"Wrote {count} labels without coordinates to {out}")
    return 0


def region_line(pct: Any) -> str:
    """How the region scores, in words: where half of it, the top 10 %, 1 % and 0.1 % begin."""
    marks = [(0.5, "half"), (0.1, "10 %"), (0.01, "1 %"), (0.001, "0.1 %")]
    parts = [f"{name} above {pct.score_at(share):.3f}" for share, name in marks if pct.size * share >= 1]
    sampled = "all" if pct.size >= pct.region_rows else f"{pct.size:,} sampled"
    return f"Region scores ({sampled} of {pct.region_rows:,} chips): " + ", ".join(parts) + "."


def _print_refined(session: Any, refined: Any, threshold: float | None) -> None:
    from terrafind.core.search.refine import format_share, region_share

    cut = 0.5 if threshold is None else threshold
    acc = "n/a" if refined.cv_accuracy is None else f"{refined.cv_accuracy:.0%}"
    share = format_share(region_share(session.catalog, refined, cut))
    print(
        f"Refined on {refined.n_pos} positive, {refined.n_neg} negative and {refined.n_background} "
        f"background chips in {refined.elapsed_ms:.0f} ms; label accuracy {acc} ({refined.cv_method}); "
        f"probability >= {cut}: {share}."
    )
