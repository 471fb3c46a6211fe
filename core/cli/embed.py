"""``terrafind-cli embed IMAGE... --out FILE``: embeddings of your own imagery with Terrafind's built-in
embedder (random convolutional features after MOSAIKS: a descriptor of spectra and texture, not a
foundation model), written as Earth Index-layout GeoParquet that Terrafind opens like any other.

``--like EARLIER.parquet`` embeds another date of the same place in the space of an earlier file: its
settings and filter bank (stored in every output's footer) are reused exactly.

``--out-dir DIR`` writes one file per image (tile), all with one filter bank; a rerun skips the tiles
already written. ``--cluster [ADDRESS]`` computes on a Dask cluster (windows of chip rows for ``--out``,
whole tiles for ``--out-dir``): the files are the same bytes as without it."""

from __future__ import annotations

import argparse
import time
from typing import Any

__all__ = ["register", "run"]

CHIP, STRIDE, FILTERS, PATCH = 32, 16, 128, 3


def _bands(text: str) -> list[int]:
    parts = [p for p in text.replace(" ", ",").split(",") if p]
    try:
        values = [int(p) for p in parts]
    except ValueError:
        values = []
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a list of band numbers such as 4,3,2,8 (1 = first band)"
        )
    return values


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of at least 1")
    return value


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "embed",
        help="make embeddings from your own imagery (GeoTIFF/COG)",
        description=(
            "Make embeddings of your own imagery with Terrafind's built-in embedder (random convolutional "
            "features after MOSAIKS: a descriptor of spectra and texture, not a foundation model), written "
            "as Earth Index-layout GeoParquet that Terrafind opens like any other."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "images", nargs="+", metavar="IMAGE", help="georeferenced image file(s) with the same bands"
    )
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--out", metavar="FILE", help="the GeoParquet file to write")
    where.add_argument(
        "--out-dir",
        metavar="DIR",
        help="one GeoParquet file per image in DIR (tiles of a region, one filter bank); a rerun skips "
        "the tiles already written",
    )
    p.add_argument(
        "--bands",
        type=_bands,
        metavar="B,B,...",
        help="band numbers to use, 1-based (default: all but alpha)",
    )
    p.add_argument(
        "--like",
        metavar="EARLIER.parquet",
        help="reuse exactly the settings and filters of an earlier file of this embedder, so that the new "
        "embeddings share its space (another date of the same place); no other embedder option then",
    )
    # Defaults are None so that --like can tell an option the user gave from one left alone.
    p.add_argument("--chip", type=_positive, metavar="PX", help=f"chip size in pixels (default {CHIP})")
    p.add_argument("--stride", type=_positive, metavar="PX", help=f"pixels between chips (default {STRIDE})")
    p.add_argument(
        "--filters",
        type=_positive,
        metavar="K",
        help=f"random filters; vectors have 2K numbers (default {FILTERS})",
    )
    p.add_argument("--patch", type=_positive, metavar="PX", help=f"filter size in pixels (default {PATCH})")
    p.add_argument("--seed", type=int, help="seed of the random filters (default 0)")
    p.add_argument(
        "--date",
        metavar="DATE",
        help="the date the imagery shows (2020, 2020-06 or 2020-06-15), when the image does not say; "
        "dates let Terrafind open several dates of a region together",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    from terrafind.core.cli.cluster_args import add_cluster_args

    add_cluster_args(p)
    p.set_defaults(run=run)


_OPTIONS = (("chip", "--chip"), ("stride", "--stride"), ("filters", "--filters"), ("patch", "--patch"),
            ("seed", "--seed"), ("bands", "--bands"))  # fmt: skip


def run(args: argparse.Namespace) -> int:
    import sys

    from terrafind.core.embed.embedder import EmbedderParams, embed_images
    from terrafind.core.errors import InputError
    from terrafind.core.progress import TextProgress

    params = None
    if args.like:
        given = [flag for name, flag in _OPTIONS if getattr(args, name) is not None]
        if given:
            raise InputError(
                f"--like reuses every embedder setting of {args.like}; leave out {', '.join(given)}."
            )
    else:
        params = EmbedderParams(
            k=args.filters or FILTERS,
            patch=args.patch or PATCH,
            chip=args.chip or CHIP,
            stride=args.stride or STRIDE,
            seed=args.seed or 0,
            bands=args.bands,
        )
    time_range = None
    if args.date:
        from terrafind.core.dates.detect import check_label, label_end, label_start

        label = check_label(args.date)
        time_range = (f"{label_start(label)}T00:00:00Z", f"{label_end(label)}T23:59:59Z")
    from terrafind.core.cli.cluster_args import cluster_from_args

    t0 = time.perf_counter()
    warn = lambda text: print(f"Warning: {text}", file=sys.stderr)  # noqa: E731
    with cluster_from_args(args) as cluster:
        if args.out_dir:
            return _tiles(args, params, time_range, cluster, t0)
        from terrafind.core.cluster.embed import cluster_chips

        out = embed_images(
            args.images,
            args.out,
            params=params,
            like=args.like,
            time_range=time_range,
            warn=warn,
            chips=cluster_chips(cluster) if cluster is not None else None,
            progress=None if args.quiet else TextProgress(),
        )
    import pyarrow.parquet as pq

    f = pq.ParquetFile(out)
    dim = f.schema_arrow.field("embedding").type.list_size
    like = f" in the space of {args.like}" if args.like else ""
    print(f"{out}: {f.metadata.num_rows} chips x {dim} numbers{like} in {time.perf_counter() - t0:.1f} s")
    return 0


def _tiles(args: argparse.Namespace, params: Any, time_range: Any, cluster: Any, t0: float) -> int:
    """``--out-dir``: one file per tile (core.embed.tiles), here or on the cluster."""
    from terrafind.core.cli.cluster_args import runner_for
    from terrafind.core.embed.tiles import embed_tiles
    from terrafind.core.errors import InputError
    from terrafind.core.progress import TextProgress

    rep = embed_tiles(
        args.images,
        args.out_dir,
        params=params,
        like=args.like,
        time_range=time_range,
        runner=runner_for(cluster),
        progress=None if args.quiet else TextProgress(),
    )
    print(
        f"{rep.folder}: {len(rep.written)} tile(s) embedded, {len(rep.skipped)} already done, "
        f"{len(rep.failures)} failed, in {time.perf_counter() - t0:.1f} s"
    )
    if rep.sentence:
        raise InputError(rep.sentence)
    return 0
