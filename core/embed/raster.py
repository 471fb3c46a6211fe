"""Reading imagery for the embedder: sample windows to fit on, and full-width strips with overlap.

Reads never go past the raster: pixels outside it (the half patch at the edges) are marked invalid, like
nodata. A pixel is valid when every selected band holds data (not the nodata value, not masked, finite).
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import Executor, ThreadPoolExecutor
from pathlib import Path

import numpy as np
import rasterio
from rasterio.enums import MaskFlags
from rasterio.windows import Window

from terrafind.core.embed.rcf import BlockGrid, RCFModel, block_row_sums, chips_from_block_rows
from terrafind.core.errors import InputError
from terrafind.core.progress import CancelToken, check

__all__ = ["open_image", "band_indexes", "mask_kind", "read_padded", "sample_windows", "iter_chip_rows"]

SAMPLE_WINDOWS = 64  # windows per scene read to fit the filters (spread across all images)
SAMPLE_SIZE = 64  # px


def open_image(path: str | Path) -> rasterio.DatasetReader:
    """Open an image for embedding, or raise an InputError that names the file."""
    from terrafind.core.imagery.rasters import open_raster
    from terrafind.core.net.locations import Local

    p = Path(path)
    if not p.exists():
        raise InputError(f"The image {p} does not exist.")
    try:
        # An image may come from someone else: one GDAL driver, chosen by its suffix (a .tif holding VRT
        # XML is not read as a VRT), and a VRT's sources checked (its own folder, the network gate).
        src = open_raster(Local(p.absolute()))
    except rasterio.errors.RasterioIOError as exc:
        raise InputError(
            f"{p.name} is not an image Terrafind can read (GeoTIFF, COG, JPEG2000...).", detail=str(exc)
        ) from exc
    if src.crs is None:
        src.close()
        raise InputError(
            f"{p.name} has no coordinate reference system, so its chips cannot be placed on the map."
        )
    return src


def band_indexes(src: rasterio.DatasetReader, bands: list[int] | None) -> list[int]:
    """The 1-based band numbers to use; all bands (except an alpha band) when ``bands`` is None."""
    name = Path(src.name).name
    if bands is None:
        alpha = {i + 1 for i, ci in enumerate(src.colorinterp) if ci.name == "alpha"}
        return [i for i in range(1, src.count + 1) if i not in alpha]
    bad = [b for b in bands if not 1 <= b <= src.count]
    if bad:
        raise InputError(f"{name} has bands 1 to {src.count}; there is no band {bad[0]}.")
    return list(bands)


def mask_kind(src: rasterio.DatasetReader, indexes: list[int]) -> str:
    """How validity is known: "all" (every pixel), "nodata" (a nodata value) or "masks" (ask GDAL).

    Callers ask once per file and pass it to :func:`read_padded`: rasterio builds the flag enums anew on
    every call, which cost more than the arithmetic when asked once per window."""
    flags = [src.mask_flag_enums[i - 1] for i in indexes]
    if all(f == [MaskFlags.all_valid] for f in flags):
        return "all"
    if all(f == [MaskFlags.nodata] for f in flags) and src.nodata is not None:
        return "nodata"
    return "masks"


def read_padded(
    src: rasterio.DatasetReader,
    indexes: list[int],
    row0: int,
    row1: int,
    col0: int,
    col1: int,
    kind: str | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Pixels [row0, row1) x [col0, col1) as (float32 (C, h, w), valid (h, w)); outside the raster is invalid."""
    h, w = row1 - row0, col1 - col0
    r0, r1 = max(row0, 0), min(row1, src.height)
    c0, c1 = max(col0, 0), min(col1, src.width)
    if r0 >= r1 or c0 >= c1:
        return np.zeros((len(indexes), h, w), np.float32), np.zeros((h, w), bool)
    win = Window(c0, r0, c1 - c0, r1 - r0)
    raw = src.read(indexes, window=win, out_dtype=np.float32)  # GDAL converts while reading: no extra copy
    ok = np.ones(raw.shape[1:], bool)
    kind = kind or mask_kind(src, indexes)
    if kind == "nodata":
        nodata = np.float32(src.nodata)
        ok &= ~(np.isnan(raw) if np.isnan(nodata) else raw == nodata).any(axis=0)
    elif kind == "masks":
        for i in indexes:  # per-dataset masks, alpha bands, per-band nodata: let GDAL say
            ok &= src.read_masks(i, window=win) > 0
    if src.dtypes[indexes[0] - 1].startswith("float"):
        ok &= np.isfinite(raw).all(axis=0)
    if (r0, r1, c0, c1) == (row0, row1, col0, col1):
        return raw, ok
    data = np.zeros((len(indexes), h, w), np.float32)
    valid = np.zeros((h, w), bool)
    sl = (slice(r0 - row0, r1 - row0), slice(c0 - col0, c1 - col0))
    data[:, sl[0], sl[1]] = raw
    valid[sl] = ok
    return data, valid


def sample_windows(
    sources: list[rasterio.DatasetReader], indexes: list[list[int]], seed: int
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Full-resolution windows at seeded random places across all images (to fit filters and band stats)."""
    rng = np.random.default_rng(seed)
    per = max(8, SAMPLE_WINDOWS // len(sources))
    out = []
    for src, idx in zip(sources, indexes, strict=True):
        kind = mask_kind(src, idx)
        size_y, size_x = min(SAMPLE_SIZE, src.height), min(SAMPLE_SIZE, src.width)
        for _ in range(per):
            r = int(rng.integers(0, src.height - size_y + 1))
            c = int(rng.integers(0, src.width - size_x + 1))
            out.append(read_padded(src, idx, r, r + size_y, c, c + size_x, kind))
    return out


def _standardise(model: RCFModel, data: np.ndarray) -> np.ndarray:
    z = data - model.band_mean.astype(np.float32)[:, None, None]
    z /= model.band_std.astype(np.float32)[:, None, None]
    return z


def iter_chip_rows(
    read,
    height: int,
    width: int,
    model: RCFModel,
    grid: BlockGrid,
    *,
    rows_per_read: int,
    pool: Executor | None = None,
    cancel: CancelToken | None = None,
    chip_rows: tuple[int, int] | None = None,
) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
    """Yield (chip row, features (cols, 2K), valid share (cols,)) for every chip row of a raster, or for
    the chip rows ``[first, stop)`` of ``chip_rows`` (a window: what one cluster task computes).

    ``read(row0, row1, col0, col1)`` returns padded (data, valid) like :func:`read_padded`. Each read
    covers ``rows_per_read`` block rows plus the patch overlap, so memory does not grow with the raster.
    With a ``pool``, the block rows of a read are computed in parallel (each one is independent, so the
    numbers do not depend on the number of workers). A window gives the very same numbers as the whole
    raster: a block row depends only on its own pixels and every read spans the full width."""
    n_rows, n_cols = grid.chip_counts(height, width)
    first_chip, stop_chip = chip_rows if chip_rows is not None else (0, n_rows)
    stop_chip = min(stop_chip, n_rows)
    if n_rows == 0 or n_cols == 0 or first_chip >= stop_chip:
        return
    a, b = grid.per_chip, grid.per_stride
    # the block rows these chip rows need: from the first chip's top to the last chip's bottom
    n_brows = min(grid.block_rows(height), (stop_chip - 1) * b + a)
    n_bcols = grid.block_cols(width)
    col0 = -grid.offset
    col1 = n_bcols * grid.block - grid.offset + grid.patch - 1
    kept: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    next_chip = first_chip
    starts = list(range(first_chip * b, n_brows, rows_per_read))

    def fetch(first: int) -> tuple[np.ndarray, np.ndarray]:
        last = min(first + rows_per_read, n_brows)
        return read(*grid.pixel_rows_for(first, last), col0, col1)

    # With a pool, the next window is read (GDAL releases the GIL) while this one is computed; one reader
    # thread only, because a rasterio dataset must not be read from two threads at once.
    reader = ThreadPoolExecutor(1) if pool is not None else None
    try:
        pending = reader.submit(fetch, starts[0]) if reader else None
        for n, first in enumerate(starts):
            check(cancel)
            last = min(first + rows_per_read, n_brows)
            data, valid = pending.result() if pending else fetch(first)
            if reader and n + 1 < len(starts):
                pending = reader.submit(fetch, starts[n + 1])

            def one(br: int, first: int = first, data: np.ndarray = data, valid: np.ndarray = valid):
                top = (br - first) * grid.block
                span = slice(top, top + grid.block + grid.patch - 1)
                # Standardised per block row, in the worker: parallel, and a copy, since spans overlap.
                z = _standardise(model, data[:, span])
                return block_row_sums(model, grid, z, valid[span], n_bcols)

            mapper = pool.map if pool is not None else map
            for br, sums in zip(range(first, last), mapper(one, range(first, last)), strict=True):
                kept[br] = sums
            # Emit every chip row whose blocks are all computed, then forget blocks no later chip needs.
            while next_chip < stop_chip and next_chip * b + a - 1 < last:
                rows = [kept[next_chip * b + j] for j in range(a)]
                feats, share = chips_from_block_rows(grid, rows, n_cols)
                yield next_chip, feats, share
                next_chip += 1
            for br in [k for k in kept if k < next_chip * b]:
                del kept[br]
    finally:
        if reader:
            reader.shutdown(wait=True, cancel_futures=True)
