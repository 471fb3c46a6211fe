"""``terrafind-cli index PATH...``: build (or check and reuse) the cached search index, with a progress bar.

``--shards DIR`` makes ``DIR`` a sharded region of the files (one index per tile, plus the manifest
``region.json``; adding files later adds shards and rebuilds none of the others; a rerun skips the
finished shards, checked by hash), built one after another or, with ``--cluster [ADDRESS]``, in parallel
on a Dask cluster. ``index DIR`` of a sharded region checks its shards and builds what is missing. The app
and ``terrafind-cli search`` open the region folder as one region.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from terrafind.core.cli import add_input_args, progress_for, session_from_args

__all__ = ["register", "run"]


def register(subparsers: Any) -> None:
    from terrafind.core.cli.cluster_args import add_cluster_args

    p = subparsers.add_parser(
        "index", help="build the cached search index", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    add_input_args(p)
    p.add_argument("--rebuild", action="store_true", help="build anew even when a valid index is cached")
    p.add_argument(
        "--shards",
        metavar="DIR",
        help="index every file as a shard of the sharded region DIR (created or added to)",
    )
    add_cluster_args(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from terrafind.core.shards.manifest import is_sharded

    region_dir = args.shards or (
        args.paths[0] if len(args.paths) == 1 and is_sharded(args.paths[0]) else None
    )
    if region_dir is not None or args.cluster is not None:
        return _shards(args, region_dir)
    from terrafind.core.search.index import IndexParams, index_paths, index_root, load_or_build_index

    session = session_from_args(args, progress_for(always=True))
    catalog = session.catalog
    params = IndexParams.for_rows(len(catalog))
    index_file, sidecar = index_paths(
        catalog.fingerprint(extra=params.graph_key() + catalog.space_key()), index_root(catalog)
    )
    if args.rebuild:
        for p in (index_file, sidecar):
            p.unlink(missing_ok=True)
    t0 = time.perf_counter()
    vi = load_or_build_index(catalog, params=params, progress=progress_for(always=True))
    how = "reused from the cache" if vi.from_cache else "built"
    graph = f", graph on {vi.projection.dims} dimensions" if vi.projection is not None else ""
    print(f"Index of {len(vi):,} chips ({catalog.dim}-d{graph}) {how} in {time.perf_counter() - t0:.1f} s.")
    if index_file.exists():
        print(f"Saved at {index_file}")
    return 0


def _shards(args: argparse.Namespace, region_dir: str | None) -> int:
    """A sharded region: one index per tile, here or on the cluster (core.shards, core.cluster)."""
    from terrafind.core.cli import wants_centred
    from terrafind.core.cli.cluster_args import cluster_from_args, runner_for
    from terrafind.core.errors import InputError
    from terrafind.core.shards.build import update_region
    from terrafind.core.shards.manifest import is_sharded

    if region_dir is None:
        raise InputError(
            "--cluster indexes each tile as a shard of a region: give --shards DIR, the region's folder."
        )
    if args.bbox or args.embedding_column or args.chip_size:
        raise InputError(
            "A sharded region indexes whole tiles: leave out --bbox, --embedding-column, --chip-size."
        )
    tiles = [p for p in args.paths if not (is_sharded(p) and str(p) == str(region_dir))]
    if not tiles and not is_sharded(region_dir):
        raise InputError(f"Give the tiles (GeoParquet files) to index into {region_dir}.")
    t0 = time.perf_counter()
    with cluster_from_args(args) as cluster:
        if not tiles:  # the region's own tiles: check them, build what is missing or changed
            from pathlib import Path

            from terrafind.core.shards.manifest import read_manifest, real_path

            tiles = [str(real_path(Path(region_dir), f["path"])) for s in read_manifest(Path(region_dir))["shards"]
                     for f in s["files"]]  # fmt: skip
        rep = update_region(tiles, region_dir, runner=runner_for(cluster), rebuild=args.rebuild,
                            centred=wants_centred(args), progress=progress_for(always=True))  # fmt: skip
    print(
        f"Region {rep.root}: {len(rep.built)} shard(s) built, {len(rep.skipped)} already done, "
        f"{len(rep.failures)} failed; {rep.rows:,} chips in {time.perf_counter() - t0:.1f} s."
    )
    if rep.sentence:
        raise InputError(rep.sentence)
    return 0
