"""``terrafind-cli embed IMAGE... --out FILE``: embeddings of your own imagery with Terrafind's built-in
embedder (random convolutional features after MOSAIKS: a descriptor of spectra and texture, not a
foundation model), written as Earth Index-layout GeoParquet that Terrafind opens like any other."""

from __future__ import annotations

import argparse
import time
from typing import Any

__all__ = ["register", "run"]


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
    p.add_argument("--out", required=True, metavar="FILE", help="the GeoParquet file to write")
    p.add_argument(
        "--bands",
        type=_bands,
        metavar="B,B,...",
        help="band numbers to use, 1-based (default: all but alpha)",
    )
    p.add_argument(
        "--chip", type=_positive, default=32, metavar="PX", help="chip size in pixels (default 32)"
    )
    p.add_argument(
        "--stride", type=_positive, default=16, metavar="PX", help="pixels between chips (default 16)"
    )
    p.add_argument(
        "--filters",
        type=_positive,
        default=128,
        metavar="K",
        help="random filters; vectors have 2K numbers (default 128)",
    )
    p.add_argument(
        "--patch", type=_positive, default=3, metavar="PX", help="filter size in pixels (default 3)"
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the random filters (default 0)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from terrafind.core.embed.embedder import EmbedderParams, embed_images
    from terrafind.core.progress import TextProgress

    params = EmbedderParams(
        k=args.filters, patch=args.patch, chip=args.chip, stride=args.stride, seed=args.seed, bands=args.bands
    )
    t0 = time.perf_counter()
    out = embed_images(args.images, args.out, params=params, progress=None if args.quiet else TextProgress())
    import pyarrow.parquet as pq

    rows = pq.ParquetFile(out).metadata.num_rows
    print(f"{out}: {rows} chips x {2 * params.k} numbers in {time.perf_counter() - t0:.1f} s")
    return 0
