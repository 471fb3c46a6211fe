"""``terrafind-cli pack PATH... --bbox W,S,E,N [--imagery SRC] --out DIR``: make a field pack.

Prints the size estimate first, then builds (with a progress bar). Run it again after a cancel to
continue where it stopped. ``--check DIR`` opens an existing pack and lists changed or missing files.
"""

from __future__ import annotations

import argparse
from typing import Any

from terrafind.core.units import human_bytes

__all__ = ["register", "run"]


def register(subparsers: Any) -> None:
    from terrafind.core.cli import bbox

    p = subparsers.add_parser("pack", help="make a field pack for offline use", description=__doc__)
    p.add_argument("paths", nargs="*", metavar="PATH", help="GeoParquet file(s) or folder(s) of them")
    p.add_argument(
        "--bbox",
        type=bbox,
        metavar="W,S,E,N",
        help="the region to pack, lon/lat degrees (write --bbox=W,S,E,N when W is negative)",
    )
    p.add_argument("--imagery", metavar="SRC", help="imagery for thumbnails/basemap: COG, VRT, folder, URL")
    p.add_argument("--out", metavar="DIR", help="the pack folder to write")
    p.add_argument("--thumbnail-size", type=int, default=128, metavar="PX", help="thumbnail size (128)")
    p.add_argument("--estimate-only", action="store_true", help="print the size estimate and stop")
    p.add_argument("--check", metavar="DIR", help="check an existing pack against its manifest")
    from terrafind.core.cli import add_network_args

    add_network_args(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from terrafind.core.cli import progress_for
    from terrafind.core.errors import InputError
    from terrafind.core.pack.build import build_pack, estimate_pack
    from terrafind.core.pack.open import open_pack
    from terrafind.core.types import Region

    if args.check:
        info = open_pack(args.check)
        print(
            f"{info.root}: {len(info.catalog_paths)} embeddings file(s), index "
            f"{'ok' if info.index_path else 'missing'}, thumbnails {'ok' if info.thumbnails_path else 'missing'}, "
            f"basemap {'ok' if info.mbtiles_path else 'none'}"
        )
        for problem in info.problems:
            print(f"  problem: {problem}")
        return 1 if info.problems else 0
    if not args.paths or not args.bbox or not (args.out or args.estimate_only):
        raise InputError(
            "Give the embeddings files, --bbox W,S,E,N and --out DIR (see terrafind-cli pack --help)."
        )
    region = Region.from_bbox(*args.bbox)
    est = estimate_pack(args.paths, region, imagery=args.imagery)
    print(f"Field pack estimate: {est['rows']} chips, about {human_bytes(est['total'])}")
    for part in ("embeddings", "index", "thumbnails", "basemap"):
        print(f"  {part:<11} {human_bytes(est[part])}")
    if args.estimate_only:
        return 0
    out = build_pack(
        args.paths,
        region,
        args.out,
        imagery=args.imagery,
        thumbnail_size=args.thumbnail_size,
        progress=progress_for(),
    )
    info = open_pack(out, verify=False)
    print(f"Wrote {out} ({human_bytes(info.manifest.get('bytes_total', 0))}).")
    for problem in info.problems:
        print(f"  note: {problem}")
    return 0
