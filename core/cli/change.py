"""``terrafind-cli change OLD NEW --out FILE``: the chips that changed most between two dates.

OLD and NEW are files or folders of one region at two dates (their dates are read from the files, or
given with ``--dates``); chips are matched by id or by place. Change is the centred cosine distance of
each chip's two vectors (:mod:`terrafind.core.change.metric`, 0..2). Writes the chips (or with
``--sites`` the sites they merge into, with hectares), each with ``change``, both dates and both ids.
"""

from __future__ import annotations

import argparse
from typing import Any

from terrafind.core.cli import add_network_args, bbox, progress_for, two_dates_session

__all__ = ["register", "run"]


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "change",
        help="what changed between two dates",
        description="Rank the chips of a region by how much they changed between an OLD and a NEW date.",
    )
    p.add_argument("old", metavar="OLD", help="GeoParquet file or folder of the earlier date")
    p.add_argument("new", metavar="NEW", help="GeoParquet file or folder of the later date")
    p.add_argument(
        "--out", required=True, metavar="FILE", help="write to FILE (.geojson, .gpkg, .csv, .gpx, .kml)"
    )
    p.add_argument("--bbox", type=bbox, metavar="W,S,E,N", help="only compare chips in this lon/lat box")
    p.add_argument("-k", type=int, default=500, help="how many changed chips at most (1-10000, default 500)")
    p.add_argument(
        "--threshold", type=float, metavar="D", help="keep chips whose change is at least D (0..2)"
    )
    p.add_argument(
        "--sites", action="store_true", help="merge touching changed chips into sites and write those"
    )
    p.add_argument(
        "--dates", metavar="OLD_DATE,NEW_DATE", help="the two dates, when the files do not state them"
    )
    p.add_argument("--embedding-column", metavar="NAME", help="the vector column, when not detected")
    p.add_argument("--chip-size", type=float, metavar="METRES", help="chip size of point-only data")
    add_network_args(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from terrafind.core.export.formats import resolve

    resolve(args.out)  # an unknown format fails now, not after the work
    session, before, after = two_dates_session(args, [args.old], [args.new], progress_for())
    match = session.dates.match(after, before)
    outcome = session.run_change(before, after, k=args.k, threshold=args.threshold)
    r = outcome.result
    if match.sentence:
        print(f"note: {match.sentence}")
    print(f"Compared {outcome.quality}, {r.elapsed_ms:.0f} ms; {len(r)} chips kept.")
    cat = session.catalog
    for rank, (row, value) in enumerate(zip(r.rows[:10], r.scores[:10], strict=True), 1):
        lon, lat = cat.centroids[row]
        print(f"  {rank:>3}  {cat.ids[row]}  change {value:.4f}  {lon:.5f}, {lat:.5f}")
    if args.sites:
        out, count = session.export_sites(args.out)
        total = sum(s.area_ha for s in session.sites())
        print(f"{len(r)} changed chips form {count} site(s), {total:.1f} ha in all.")
    else:
        out, _ = session.export_hits(args.out)
    print(f"Wrote {out}")
    return 0
