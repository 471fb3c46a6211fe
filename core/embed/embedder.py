"""Terrafind's built-in embedder: random convolutional features (MOSAIKS-style) from your own imagery.

What it computes (see docs/demo.md for the plain-language version):

1. Every band is standardised with its mean and spread over the scene (all images together).
2. ``k`` patches of ``patch x patch`` pixels (all bands) are cut at random, seeded, from the imagery itself
   and whitened (ZCA), so that filters respond to what is unusual in a patch rather than to overall
   brightness. They become the convolution filters.
3. Each filter is applied every ``step`` pixels; the chip's vector is the mean over its valid positions of
   ``max(r - 1, 0)`` and of ``max(-r - 1, 0)`` for every filter response ``r``: ``2 k`` numbers.

It describes local spectra and texture. It is not a foundation model: it learned nothing from other data,
and similar vectors mean "similar colours and patterns", not "the same kind of place" in any deeper sense.

The idea is from Rolf et al., "A generalizable and accessible approach to machine learning with global
satellite imagery", Nature Communications 12, 4392 (2021); this implementation is Terrafind's own.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from terrafind.core.embed.like import check_like, model_to_meta, read_like
from terrafind.core.embed.output import ChipCorners, EmbeddingWriter, image_date
from terrafind.core.embed.raster import band_indexes, iter_chip_rows, mask_kind, open_image, sample_windows
from terrafind.core.embed.rcf import BlockGrid, RCFModel, fit_model
from terrafind.core.embed.windows import ChipRow, ImageJob, local_chips
from terrafind.core.errors import InputError
from terrafind.core.progress import CancelToken, ProgressFn, check, report

__all__ = [
    "EmbedderParams",
    "MODEL_ID",
    "fit_embedder",
    "embed_array",
    "embed_images",
    "like_settings",
    "write_embeddings",
]

# Where chip rows are computed: (jobs, model, params, cancel) -> every image's chip rows, in order.
ChipSource = Callable[[list[ImageJob], RCFModel, "EmbedderParams", CancelToken | None], Iterator[ChipRow]]

MODEL_ID = "terrafind-mosaiks-rcf"
MODEL_VERSION = "1"
# Values (bands x pixels) read at once; bounds memory on large rasters (about 32 MB of float32 per read).
WINDOW_VALUES = 8_000_000


@dataclass
class EmbedderParams:
    """How to embed. ``bands`` are 1-based band numbers (None = every band but alpha)."""

    k: int = 128  # filters; the vector has 2 k numbers
    patch: int = 3  # filter size in pixels
    chip: int = 32  # chip side in pixels (320 m at 10 m, like Earth Index)
    stride: int = 16  # pixels between neighbouring chips
    seed: int = 0
    bands: list[int] | None = None
    step: int = 2  # filter responses every `step` pixels: a 4x cheaper, regular subsample of each chip
    min_valid: float = 0.5  # chips with less than this share of valid (not nodata) positions are dropped

    def validate(self) -> None:
        """Raise InputError when the numbers cannot work together."""
        if self.k < 1 or self.patch < 1 or self.chip < 1 or self.stride < 1 or self.step < 1:
            raise InputError("Filters, patch, chip, stride and step must all be at least 1.")
        if self.patch > self.chip:
            raise InputError(
                f"The filter patch ({self.patch} px) cannot be larger than a chip ({self.chip} px)."
            )
        if not 0.0 < self.min_valid <= 1.0:
            raise InputError("The share of valid pixels a chip needs must be above 0 and at most 1.")

    def grid(self) -> BlockGrid:
        return BlockGrid(chip=self.chip, stride=self.stride, step=self.step, patch=self.patch)


def fit_embedder(images: Sequence[str | Path], params: EmbedderParams | None = None) -> RCFModel:
    """The filters and band statistics for ``images`` (deterministic for a given seed and imagery)."""
    params = params or EmbedderParams()
    params.validate()
    sources = [open_image(p) for p in images]
    try:
        with threadpool_limits(limits=1, user_api="blas"):
            return _fit(sources, _common_bands(sources, params.bands), params)
    finally:
        for s in sources:
            s.close()


def _fit(sources, indexes: list[list[int]], params: EmbedderParams) -> RCFModel:
    windows = sample_windows(sources, indexes, params.seed)
    try:
        return fit_model(windows, k=params.k, patch=params.patch, seed=params.seed)
    except ValueError as exc:
        names = ", ".join(Path(s.name).name for s in sources)
        raise InputError(
            f"{names}: too little valid imagery to make {params.k} filters from.", detail=str(exc)
        ) from exc


def _common_bands(sources, bands: list[int] | None) -> list[list[int]]:
    indexes = [band_indexes(s, bands) for s in sources]
    counts = {len(i) for i in indexes}
    if len(counts) > 1:
        names = ", ".join(f"{Path(s.name).name} ({len(i)})" for s, i in zip(sources, indexes, strict=True))
        raise InputError(
            f"The images have different numbers of bands ({names}); choose the same bands in each."
        )
    return indexes


def embed_array(
    data: np.ndarray, valid: np.ndarray, model: RCFModel, params: EmbedderParams | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Embed an image held in memory: (features (rows, cols, 2k) float32, valid share (rows, cols)).

    ``data`` is (bands, height, width), ``valid`` (height, width) bool. Chip (r, c) covers pixel rows
    ``r*stride .. r*stride+chip`` and the same for columns; chips keep their place even when mostly invalid."""
    params = params or EmbedderParams()
    grid = params.grid()
    _, h, w = data.shape

    def read(r0: int, r1: int, c0: int, c1: int) -> tuple[np.ndarray, np.ndarray]:
        out = np.zeros((data.shape[0], r1 - r0, c1 - c0), np.float32)
        ok = np.zeros((r1 - r0, c1 - c0), bool)
        ys, xs = slice(max(r0, 0), min(r1, h)), slice(max(c0, 0), min(c1, w))
        dst = (slice(ys.start - r0, ys.stop - r0), slice(xs.start - c0, xs.stop - c0))
        out[:, dst[0], dst[1]] = data[:, ys, xs]
        ok[dst] = valid[ys, xs]
        return out, ok

    rows = list(iter_chip_rows(read, h, w, model, grid, rows_per_read=max(1, grid.block_rows(h))))
    if not rows:
        return np.zeros((0, 0, model.dim), np.float32), np.zeros((0, 0))
    return np.stack([r[1] for r in rows]), np.stack([r[2] for r in rows])


def embed_images(
    images: Sequence[str | Path],
    out: str | Path,
    *,
    params: EmbedderParams | None = None,
    like: str | Path | None = None,
    time_range: tuple[str, str] | None = None,
    warn: Callable[[str], None] | None = None,
    protected: Sequence[str | Path] = (),
    chips: ChipSource | None = None,
    progress: ProgressFn | None = None,
    cancel: CancelToken | None = None,
) -> Path:
    """Embed one or more georeferenced images into an Earth Index-layout GeoParquet file; return its path.

    ``like`` is an earlier file of this embedder: its settings and filter bank are reused exactly, so the
    new vectors share its space (``params`` must then be None). ``warn`` gets sentences about imagery
    that does not look like the earlier file's (other band names, another value scale).
    Each chip's ``source_url`` is its image file. Raises InputError for unreadable images, images without
    a CRS or smaller than one chip, and Cancelled when ``cancel`` is set (no file is left behind).
    ``out`` never replaces an image, the ``like`` file or ``protected`` files (the open data)."""
    model = None
    if like is not None:
        params, model = like_settings(like, params)
    return write_embeddings(
        images,
        out,
        params=params,
        model=model,
        like=like,
        time_range=time_range,
        warn=warn,
        protected=[*protected, *([like] if like else [])],
        chips=chips,
        progress=progress,
        cancel=cancel,
    )


def like_settings(path: str | Path, params: EmbedderParams | None = None) -> tuple[EmbedderParams, RCFModel]:
    """The exact settings and filter bank of an earlier file of this embedder (``--like``).

    ``params`` given too must not differ from the stored settings (InputError names the first that does):
    the point of --like is that nothing changes."""
    like = read_like(path, MODEL_ID)
    names = {f.name for f in fields(EmbedderParams)}
    stored = EmbedderParams(**{k: v for k, v in like.settings.items() if k in names})
    if params is not None:
        for name in sorted(names):
            if getattr(params, name) != getattr(stored, name) and not (
                name == "bands" and params.bands is None
            ):
                raise InputError(
                    f"--like reuses the {name} of {Path(path).name} ({getattr(stored, name)}); "
                    f"leave out the option that sets it to {getattr(params, name)}."
                )
    return stored, like.model


def _checked_out(out: Path, protected: Sequence[str | Path]) -> Path:
    """Embeddings go into a GeoParquet file that is none of the images, none of the open data, and not a
    file of another kind (:mod:`terrafind.core.outputs`)."""
    from terrafind.core.outputs import check_output_file
    from terrafind.core.read.sources import SUFFIXES

    if out.suffix.lower() not in SUFFIXES:
        raise InputError(f"{out.name} does not end in .parquet: name the embeddings file so.")
    return check_output_file(out, "embeddings", protected)


def write_embeddings(
    images: Sequence[str | Path],
    out: str | Path,
    *,
    params: EmbedderParams | None = None,
    source_urls: Sequence[str] | None = None,
    dataset_paths: Sequence[str] | None = None,
    dates: Sequence[str | None] | None = None,
    model: RCFModel | None = None,
    like: str | Path | None = None,
    time_range: tuple[str, str] | None = None,
    warn: Callable[[str], None] | None = None,
    protected: Sequence[str | Path] = (),
    chips: ChipSource | None = None,
    progress: ProgressFn | None = None,
    cancel: CancelToken | None = None,
) -> Path:
    """:func:`embed_images` with control over each image's ``source_url`` and ``date`` columns, and over
    the paths by which the ``emb`` footer names the embedded images (``dataset_paths``).

    ``model`` is a filter bank to use instead of fitting one (``like`` names the file it came from, for
    the footer); ``time_range`` (ISO start, end) is written as the file's ``start_datetime`` /
    ``end_datetime`` when the images carry no date of their own (a yearly composite: its year).

    ``chips`` computes the chip rows somewhere else (a Dask cluster: :mod:`terrafind.core.cluster.embed`)
    and yields them in order; the file written is the same bytes as when they are computed here.

    The demo uses it to point thumbnails at the 8-bit true-colour rendering of the multiband scene it
    embeds (same pixel grid), so that a thumbnail shows what the user sees on the map."""
    params = params or EmbedderParams()
    params.validate()
    paths = [Path(p) for p in images]
    if not paths:
        raise InputError("No images were given to embed.")
    out = _checked_out(Path(out), [*paths, *protected])
    grid = params.grid()
    sources: list = []
    # One BLAS thread (per worker, below): on a busy 2-core laptop OpenBLAS's own threads fight over the
    # cores and mid-sized products and eigh slow down 10-100x; two Python workers (numpy releases the
    # GIL) use both cores steadily. The sources stay open from fitting to embedding so that GDAL's block
    # cache serves the tiles the fit already decoded.
    limits = threadpool_limits(limits=1, user_api="blas")
    try:
        sources.extend(open_image(p) for p in paths)
        wanted = max(params.bands or [0])
        short = [s for s in sources if s.count < wanted]
        if model is not None and short:  # said here: "no band 4" alone would not say why a 4th is wanted
            made_on = f" of {Path(like).name}" if like else ""
            raise InputError(
                f"{Path(short[0].name).name} has {short[0].count} bands but the filters{made_on} were made "
                f"on bands {', '.join(map(str, params.bands or []))} of the earlier imagery; give imagery "
                "with the same bands."
            )
        indexes = _common_bands(sources, params.bands)
        for src in sources:
            if 0 in grid.chip_counts(src.height, src.width):
                raise InputError(f"{Path(src.name).name} is smaller than one chip ({params.chip} px).")
        if model is None:
            report(progress, 0, 1, "Choosing filters from the imagery")
            model = _fit(sources, indexes, params)
        else:
            check_like(model, sources, indexes, params.seed, like, warn)
            if params.k != model.k or params.patch != model.patch:
                raise InputError("The embedder settings do not match the filters to reuse.")
        check(cancel)
        total = sum(grid.block_rows(s.height) for s in sources)
        stems = [p.stem for p in paths]
        named = list(dataset_paths) if dataset_paths else [str(p.resolve()) for p in paths]
        meta = _emb_metadata(params, model, sources, indexes, named)
        if like is not None:
            meta["model"]["like"] = {"source": str(Path(like).resolve()), "name": Path(like).name}
        image_dates = list(dates) if dates else [image_date(src) for src in sources]
        known = sorted(d for d in image_dates if d)
        if known and len(known) == len(image_dates):  # a time range only when every image states its date
            meta["start_datetime"] = f"{known[0]}T00:00:00Z"
            meta["end_datetime"] = f"{known[-1]}T23:59:59Z"
        elif time_range is not None:
            meta["start_datetime"], meta["end_datetime"] = time_range
        jobs = [
            ImageJob(i, str(p), tuple(idx), mask_kind(src, idx), src.height, src.width,
                     max(2, WINDOW_VALUES // max(1, len(idx) * src.width) // grid.block))
            for i, (p, src, idx) in enumerate(zip(paths, sources, indexes, strict=True))
        ]  # fmt: skip
        writer = EmbeddingWriter(out, model.dim, meta)
        before = np.cumsum([0] + [grid.block_rows(s.height) for s in sources])
        workers = max(1, min(4, os.cpu_count() or 1))
        with writer, ThreadPoolExecutor(workers) as pool:
            stream = (
                chips(jobs, model, params, cancel)
                if chips is not None
                else local_chips(sources, jobs, model, params, pool=pool, cancel=cancel)
            )
            corners: tuple[int, ChipCorners] | None = None
            last_done = -1
            for i, r, keep, feats in stream:
                if corners is None or corners[0] != i:  # one image at a time, in order
                    corners, last_done = (i, ChipCorners(sources[i], grid)), -1
                if len(keep):
                    prefix = stems[i] if stems.count(stems[i]) == 1 else f"{i}-{stems[i]}"
                    url = source_urls[i] if source_urls else str(paths[i].resolve())
                    ids = [f"{prefix}_{r}_{c}" for c in keep]
                    writer.add(ids, feats, corners[1].polygons(r, keep), url, image_dates[i])
                height = sources[i].height
                block_done = min(grid.block_rows(height), r * grid.per_stride + grid.per_chip)
                if block_done - last_done >= 8 or r == grid.chip_counts(height, sources[i].width)[0] - 1:
                    report(progress, int(before[i]) + block_done, total, f"Embedding {paths[i].name}")
                    last_done = block_done
        if writer.rows == 0:
            raise InputError(
                f"No chip of {', '.join(p.name for p in paths)} has enough valid pixels to embed."
            )
    finally:
        limits.restore_original_limits()
        for s in sources:
            s.close()
    report(progress, total, total, "Embeddings written")
    return out


def _emb_metadata(params: EmbedderParams, model: RCFModel, sources, indexes, named: list[str]) -> dict:
    """The ``emb`` footer: what made these vectors, truthfully."""
    src0 = sources[0]
    pixel_m = (
        abs(src0.transform.a)
        if src0.crs.is_projected and src0.crs.linear_units in ("metre", "meter")
        else None
    )
    band_names = [src0.descriptions[i - 1] or f"band {i}" for i in indexes[0]]
    settings = asdict(params) | {
        "bands": indexes[0],
        "band_names": band_names,
        "dim": model.dim,
        "threshold": model.threshold,
    }
    meta = {
        "version": "0.0.1",
        "model": {
            "id": MODEL_ID,
            "version": MODEL_VERSION,
            "family": "random convolutional features",
            "name": "Terrafind random convolutional features (MOSAIKS-style)",
            "description": (
                f"{params.k} whitened {params.patch}x{params.patch}-pixel patches sampled from the imagery itself "
                "serve as convolution filters; each response and its negative go through a ReLU and are averaged "
                "over the chip. A descriptor of local spectra and texture computed on this computer; not a "
                "foundation model (nothing was learned from other data)."
            ),
            "config": (
                f"K={params.k}, patch={params.patch} px, responses every {params.step} px, threshold "
                f"{model.threshold}, seed={params.seed}, chip={params.chip} px, stride={params.stride} px, "
                f"bands={indexes[0]}, dim={model.dim}"
            ),
            "foundation_model": False,
            "source": "Terrafind core/embedder.py (after Rolf et al., Nature Communications 2021)",
            "params": settings,
            # the exact filter bank, so that later imagery can be embedded in the same space (--like)
            "filters": model_to_meta(model),
        },
        "providers": [{"name": "Terrafind", "roles": ["processor"]}],
        "datasets": [{"source": path, "name": Path(path).name} for path in named],
        "embedding": {"dim": model.dim, "quantization": "None"},
    }
    if pixel_m:
        meta["chip_size_m"] = params.chip * pixel_m
    return meta
