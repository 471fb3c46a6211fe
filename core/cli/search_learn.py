"""The learning side of ``terrafind-cli search``: ``--labels FILE``, ``--refine`` and ``--sites``.

Kept apart from :mod:`terrafind.core.cli.search` (which calls these three hooks) so that verb stays short:

* ``--labels FILE`` (repeatable): places from CSV / GeoJSON / KML / GPX / shapefile become examples
  (a status column decides positive / negative / exclude; without one, ``--labels-as`` decides).
* ``--refine``: train a logistic regression on the examples plus random background chips and re-rank
  (see :mod:`terrafind.core.search.refine`); hits gain a ``probability`` property and ``--threshold`` applies to it.
* ``--sites``: hits whose chips touch merge into sites, and ``--out`` writes sites instead of chips.

``.gpx`` and ``.kml`` outputs need nothing here: :mod:`terrafind.core.export.hits` picks the writer by extension.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

__all__ = ["add_arguments", "apply_labels", "run_search", "write_output"]


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The learning options of ``search``."""
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


def apply_labels(args: argparse.Namespace, catalog: Any, positives: list[int], negatives: list[int]):
    """Add the places of every ``--labels`` file; return (positives, negatives, exclude rows)."""
    from terrafind.core.read.places import places_to_labels, read_places

    pos, neg, exclude = list(positives), list(negatives), []
    for name in args.labels:
        labels = places_to_labels(catalog, read_places(name), default=args.labels_as)
        pos += [r for r in labels.positives if r not in pos]
        neg += [r for r in labels.negatives if r not in neg]
        exclude += labels.exclude
        note = f", {labels.unmatched} on no chip" if labels.unmatched else ""
        skipped = f", {labels.skipped} not visited" if labels.skipped else ""
        print(
            f"{Path(name).name}: {len(labels.positives)} positive, {len(labels.negatives)} negative, "
            f"{len(labels.exclude)} excluded chip(s){note}{skipped}."
        )
    # A chip marked both ways: the rejection wins (as in terrafind.core.read.places.places_to_labels).
    pos = [r for r in pos if r not in neg and r not in exclude]
    neg = [r for r in neg if r not in exclude]
    return pos, neg, sorted(set(exclude))


def run_search(args: argparse.Namespace, catalog: Any, examples: Any, index: Any, exclude: list[int]):
    """Plain search, or with ``--refine`` the classifier's re-ranking (with its quality printed)."""
    from terrafind.core.errors import InputError
    from terrafind.core.search.query import search

    if examples.is_empty():
        raise InputError("Give at least one positive example: --at LON,LAT or a --labels file with places.")
    if not args.refine:
        return search(
            catalog,
            examples,
            k=args.k,
            mode=args.mode,
            threshold=args.threshold,
            index=index,
            exclude=exclude,
        )
    from terrafind.core.search.refine import format_share, refine, region_share

    out = refine(
        catalog,
        examples.positives,
        examples.negatives,
        index=index,
        k=args.k,
        threshold=args.threshold,
        exclude=exclude,
    )
    result = out.result
    acc = "n/a" if out.cv_accuracy is None else f"{out.cv_accuracy:.0%}"
    share = format_share(region_share(catalog, out, 0.5 if args.threshold is None else args.threshold))
    print(
        f"Refined on {out.n_pos} positive, {out.n_neg} negative and {out.n_background} background chips "
        f"in {out.elapsed_ms:.0f} ms; label accuracy {acc} ({out.cv_method}); probability >= "
        f"{0.5 if args.threshold is None else args.threshold}: {share}."
    )
    return result


def write_output(args: argparse.Namespace, catalog: Any, result: Any) -> Path:
    """Write hits, or with ``--sites`` the merged sites, to ``--out`` (format by extension)."""
    if not args.sites:
        from terrafind.core.export.hits import export_hits

        return export_hits(catalog, result, args.out)
    from terrafind.core.export.hits import export_sites
    from terrafind.core.search.sites import merge_sites

    sites = merge_sites(catalog, result)
    total = sum(s.area_ha for s in sites)
    print(f"{len(result)} hits form {len(sites)} site(s), {total:.1f} ha in all.")
    return export_sites(catalog, sites, args.out, result=result)
