"""``terrafind-cli pack PATH... --bbox W,S,E,N [--imagery SRC] --out DIR``: make a field pack.

Prints the size estimate first, then builds (with a progress bar). Run it again after a cancel to
continue where it stopped. ``--check DIR`` opens an existing pack and lists changed or missing files.

``--places FILE`` (CSV, GeoJSON, KML, GPX...) makes one pack per place in ``DIR/<place name>/`` (a point gets
a square of ``--size-km``), with ``--cluster [ADDRESS]`` in parallel on a Dask cluster; a rerun skips the
finished packs (checked by their manifests' SHA-256 sums) and a place that fails is named.
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
    p.add_argument(
        "--places",
        metavar="FILE",
        help="one pack per place of FILE (CSV, GeoJSON, KML, GPX...), named by the place, in --out DIR",
    )
    p.add_argument(
        "--size-km", type=float, default=10.0, metavar="KM", help="side of a point place's square (10 km)"
    )
    from terrafind.core.cli import add_network_args
    from terrafind.core.cli.cluster_args import add_cluster_args

    add_network_args(p)
    add_cluster_args(p)
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
    if args.places or args.cluster is not None:
        return _many(args)
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


def _many(args: argparse.Namespace) -> int:
    """One pack per place (core.pack.many), here or on the cluster."""
    from terrafind.core.cli import progress_for
    from terrafind.core.cli.cluster_args import cluster_from_args, runner_for
    from terrafind.core.errors import InputError
    from terrafind.core.pack.many import build_packs, place_regions
    from terrafind.core.types import Region

    if not args.paths or not args.out or not (args.places or args.bbox) or (args.places and args.bbox):
        raise InputError(
            "Give the embeddings files, --places FILE (or one --bbox W,S,E,N) and --out DIR "
            "(see terrafind-cli pack --help)."
        )
    if args.estimate_only:
        raise InputError("--estimate-only estimates one pack: give --bbox without --places or --cluster.")
    places = (
        place_regions(args.places, args.size_km) if args.places else [("pack", Region.from_bbox(*args.bbox))]
    )
    with cluster_from_args(args) as cluster:
        rep = build_packs(args.paths, places, args.out, imagery=args.imagery, thumbnail_size=args.thumbnail_size,
                          runner=runner_for(cluster), progress=progress_for())  # fmt: skip
    for name, info in rep.built.items():
        print(f"  {name:<24} {info['rows']:>8,} chips  {human_bytes(info['bytes'])}")
    print(f"{rep.folder}: {len(rep.built)} pack(s) ready, {len(rep.failures)} failed.")
    if rep.sentence:
        raise InputError(rep.sentence)
    return 0
