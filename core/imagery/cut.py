"""Cutting one chip's footprint out of imagery: open, choose bands, read at output size, stretch.

The read asks GDAL for ``out_shape`` = the thumbnail size, so GDAL takes the nearest overview of a COG
instead of full-resolution blocks (about 2x faster locally, far fewer bytes remotely). Only the part of
the window that lies on the raster is read; the rest of the thumbnail is filled with grey, which is what
a "boundless" read would give without the cost of rasterio's boundless VRT.

The thumbnail window is the chip's bounding box in the raster's CRS, made square and grown by ``pad``
(0.25 = the window is 25 % wider than the chip, 12.5 % margin on each side); with a margin the chip
outline is drawn on top so people see what the model saw.
"""

from __future__ import annotations

import math
import re
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "STRETCH_VERSION",
    "Cut",
    "Grid",
    "DatasetPool",
    "rgb_bands",
    "stretch_to_uint8",
    "chip_grid",
    "cut_chip",
    "cut_mosaic",
    "rasterio_path",
    "list_folder",
    "lonlat_bounds",
]

# Bump when the look of a thumbnail changes (stretch, outline, fill): it is part of every cache key.
STRETCH_VERSION = "s1"
FILL = 96  # grey for pixels off the image or nodata
OUTLINE = (255, 214, 0)

_RED = re.compile(r"(^|[^a-z0-9])(b0?4|red)([^a-z0-9]|$)", re.I)
_GREEN = re.compile(r"(^|[^a-z0-9])(b0?3|green)([^a-z0-9]|$)", re.I)
_BLUE = re.compile(r"(^|[^a-z0-9])(b0?2|blue)([^a-z0-9]|$)", re.I)


@dataclass
class Cut:
    """A chip cut from imagery: (size, size, 3) uint8 RGB and the mask of pixels that came from it."""

    rgb: np.ndarray
    valid: np.ndarray
    status: str  # "ok" | "outside"


@dataclass(frozen=True)
class Grid:
    """The square thumbnail window in a raster CRS: centre, half width (CRS units), output size."""

    crs: Any
    cx: float
    cy: float
    half: float
    size: int

    def to_pixels(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """CRS coordinates -> (n, 2) thumbnail pixel x/y."""
        s = self.size / (2 * self.half)
        return np.column_stack([(x - (self.cx - self.half)) * s, ((self.cy + self.half) - y) * s])


def rasterio_path(source: str) -> str:
    """What GDAL opens for a source (kept for callers outside the thumbnail service): a local path as
    it is, a plain address through GDAL's readers. Refused forms raise
    :class:`terrafind.core.net.locations.Refused`."""
    from terrafind.core.imagery.rasters import gdal_path
    from terrafind.core.net.locations import locate

    return gdal_path(locate(source))


class DatasetPool:
    """Open rasterio datasets kept per thread (a dataset must not be shared between threads).

    Reopening a COG costs a header read (a network round trip when remote), so each worker thread keeps
    its ``per_thread`` most recently used datasets open. ``opener`` opens a source that is not open yet
    (the thumbnail service passes one that allows a single driver); by default a local, trusted path."""

    def __init__(self, per_thread: int = 8) -> None:
        self.per_thread = per_thread
        self._local = threading.local()

    def get(self, source: str, opener: Callable[[], Any] | None = None) -> Any:
        cache: OrderedDict[str, Any] = getattr(self._local, "cache", None) or OrderedDict()
        self._local.cache = cache
        ds = cache.get(source)
        if ds is not None and not ds.closed:
            cache.move_to_end(source)
            return ds
        if opener is None:
            from terrafind.core.imagery.rasters import open_raster
            from terrafind.core.net.locations import locate

            ds = open_raster(locate(source))
        else:
            ds = opener()
        cache[source] = ds
        while len(cache) > self.per_thread:
            _, old = cache.popitem(last=False)
            old.close()
        return ds

    def drop(self, source: str) -> None:
        """Close this thread's handle of ``source`` (after a failed read, so the next try reopens)."""
        cache = getattr(self._local, "cache", None)
        if cache and source in cache:
            cache.pop(source).close()

    def close_thread(self) -> None:
        cache = getattr(self._local, "cache", None)
        while cache:
            cache.popitem()[1].close()


def rgb_bands(
    descriptions: tuple[str | None, ...], colorinterp: tuple[Any, ...] = ()
) -> tuple[int, int, int]:
    """1-based band indexes for red, green, blue: by description (B04/B03/B02, red/green/blue),
    then by colour interpretation, else the first three (or band 1 three times for one-band data)."""
    count = len(descriptions)
    found = []
    for pattern in (_RED, _GREEN, _BLUE):
        idx = next((i + 1 for i, d in enumerate(descriptions) if d and pattern.search(d)), None)
        found.append(idx)
    if all(found) and len(set(found)) == 3:
        return found[0], found[1], found[2]  # type: ignore[return-value]
    names = [getattr(c, "name", str(c)) for c in colorinterp]
    if all(n in names for n in ("red", "green", "blue")):
        return names.index("red") + 1, names.index("green") + 1, names.index("blue") + 1
    if count >= 3:
        return 1, 2, 3
    return 1, 1, 1


def stretch_to_uint8(data: np.ndarray, valid: np.ndarray, *, low: float = 2, high: float = 98) -> np.ndarray:
    """(3, h, w) -> (3, h, w) uint8. 8-bit data is kept as it is (visual products are already
    stretched); other types get a per-band ``low``-``high`` percentile stretch over the valid pixels."""
    if data.dtype == np.uint8:
        return data
    out = np.zeros(data.shape, dtype=np.uint8)
    for b in range(data.shape[0]):
        band = data[b].astype(np.float32)
        vals = band[valid] if valid.any() else band.reshape(-1)
        vals = vals[np.isfinite(vals)]
        if vals.size == 0:
            continue
        lo, hi = np.percentile(vals, [low, high])
        if not hi > lo:
            hi = lo + 1.0
        out[b] = np.clip((band - lo) * (255.0 / (hi - lo)), 0, 255).astype(np.uint8)
    return out


def chip_grid(ds: Any, footprint: Any, size: int, pad: float) -> Grid:
    """The square window around ``footprint`` (lon/lat shapely geometry) in the dataset's CRS."""
    from rasterio.warp import transform_bounds

    crs = ds.crs
    w, s, e, n = footprint.bounds
    if crs is not None and crs.to_epsg() != 4326:
        w, s, e, n = transform_bounds("EPSG:4326", crs, w, s, e, n, densify_pts=21)
    half = max(e - w, n - s) / 2 * (1.0 + pad)
    return Grid(crs, (w + e) / 2, (s + n) / 2, half, size)


def _outline_pixels(grid: Grid, footprint: Any) -> np.ndarray:
    from rasterio.warp import transform

    ring = getattr(footprint, "exterior", None)
    if ring is None:
        return np.zeros((0, 2))
    xs, ys = np.asarray(ring.coords).T[:2]
    if grid.crs is not None and grid.crs.to_epsg() != 4326:
        xs, ys = transform("EPSG:4326", grid.crs, xs.tolist(), ys.tolist())
    return grid.to_pixels(np.asarray(xs), np.asarray(ys))


def _read_into(ds: Any, grid: Grid, bands: tuple[int, int, int]) -> tuple[np.ndarray, np.ndarray] | None:
    """Read the part of ``grid`` that lies on ``ds`` at output resolution; None when it lies off it."""
    from rasterio.enums import MaskFlags, Resampling
    from rasterio.windows import Window

    size = grid.size
    inv = ~ds.transform
    # window corners in source pixels (north-up rasters; rotated ones are rare for COGs)
    c0, r0 = inv @ (grid.cx - grid.half, grid.cy + grid.half)
    c1, r1 = inv @ (grid.cx + grid.half, grid.cy - grid.half)
    c0, c1 = min(c0, c1), max(c0, c1)
    r0, r1 = min(r0, r1), max(r0, r1)
    ic0, ir0 = max(c0, 0.0), max(r0, 0.0)
    ic1, ir1 = min(c1, float(ds.width)), min(r1, float(ds.height))
    if ic1 <= ic0 or ir1 <= ir0:
        return None
    sx, sy = size / (c1 - c0), size / (r1 - r0)
    ox0, oy0 = int(round((ic0 - c0) * sx)), int(round((ir0 - r0) * sy))
    ox1, oy1 = int(round((ic1 - c0) * sx)), int(round((ir1 - r0) * sy))
    ox1, oy1 = max(ox1, ox0 + 1), max(oy1, oy0 + 1)
    ox1, oy1 = min(ox1, size), min(oy1, size)
    ox0, oy0 = min(ox0, ox1 - 1), min(oy0, oy1 - 1)
    window = Window(ic0, ir0, ic1 - ic0, ir1 - ir0)
    shape = (3, oy1 - oy0, ox1 - ox0)
    down = shape[2] < window.width
    resampling = Resampling.average if down else Resampling.bilinear
    needs_mask = ds.nodata is not None or any(
        MaskFlags.all_valid not in flags for flags in (ds.mask_flag_enums[b - 1] for b in bands)
    )
    data = ds.read(list(bands), window=window, out_shape=shape, resampling=resampling, masked=needs_mask)
    full = np.zeros((3, size, size), dtype=data.dtype)
    valid = np.zeros((size, size), dtype=bool)
    if needs_mask:
        m = np.ma.getmaskarray(data).any(axis=0)
        full[:, oy0:oy1, ox0:ox1] = np.ma.getdata(data)
        valid[oy0:oy1, ox0:ox1] = ~m
    else:
        full[:, oy0:oy1, ox0:ox1] = data
        valid[oy0:oy1, ox0:ox1] = True
    return full, valid


def _footprint_on(ds: Any, grid: Grid, footprint: Any) -> bool:
    """Does the chip itself (not just the padded window) touch the raster?"""
    import shapely
    from rasterio.warp import transform_geom

    geom = footprint
    if grid.crs is not None and grid.crs.to_epsg() != 4326:
        geom = shapely.geometry.shape(
            transform_geom("EPSG:4326", grid.crs, shapely.geometry.mapping(footprint))
        )
    b = ds.bounds
    return bool(geom.intersects(shapely.box(b.left, b.bottom, b.right, b.top)))


def cut_mosaic(datasets: list[Any], footprint: Any, size: int, *, pad: float = 0.25) -> Cut:
    """Cut ``footprint`` from the first dataset that holds it, filling its gaps from the others in the
    same CRS (a folder of COGs); pixels that none of them hold stay grey."""
    rgb = np.full((size, size, 3), FILL, dtype=np.uint8)
    valid = np.zeros((size, size), dtype=bool)
    grid: Grid | None = None
    for ds in datasets:
        if ds.crs is None:
            continue
        if grid is None:
            g = chip_grid(ds, footprint, size, pad)
            if not _footprint_on(ds, g, footprint):
                continue
            grid = g
        elif ds.crs != grid.crs:
            continue
        got = _read_into(ds, grid, rgb_bands(ds.descriptions, ds.colorinterp))
        if got is None:
            continue
        data, v = got
        take = v & ~valid
        if not take.any():
            continue
        img = stretch_to_uint8(data, v).transpose(1, 2, 0)
        rgb[take] = img[take]
        valid |= take
        if valid.all():
            break
    if grid is None or not valid.any():
        return Cut(rgb, valid, "outside")
    if pad > 0:
        from terrafind.core.imagery.png import draw_polyline

        draw_polyline(rgb, _outline_pixels(grid, footprint), OUTLINE, width=max(1, size // 128))
    return Cut(rgb, valid, "ok")


def cut_chip(ds: Any, footprint: Any, size: int, *, pad: float = 0.25) -> Cut:
    """Cut one chip from one dataset (see :func:`cut_mosaic`)."""
    return cut_mosaic([ds], footprint, size, pad=pad)


_RASTER_SUFFIXES = {".tif", ".tiff", ".vrt", ".jp2", ".img"}


def list_folder(folder: Path) -> list[Path]:
    """The rasters of a folder of COGs (sorted, so a mosaic always fills gaps in the same order)."""
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in _RASTER_SUFFIXES and p.is_file())


def lonlat_bounds(ds: Any) -> tuple[float, float, float, float]:
    """(west, south, east, north) of a dataset in lon/lat."""
    from rasterio.warp import transform_bounds

    b = ds.bounds
    if ds.crs is None:
        return (math.nan,) * 4
    if ds.crs.to_epsg() == 4326:
        return (b.left, b.bottom, b.right, b.top)
    return tuple(transform_bounds(ds.crs, "EPSG:4326", *b, densify_pts=21))
