"""Where a big region's chips are, as map tiles: coverage instead of one outline per chip.

Up to :data:`OUTLINES_MAX_CHIPS` chips the map gets every chip's outline as one GeoJSON layer
(:func:`terrafind.core.present.features.footprints_json`). Above it (a national park of 3-5 million chips, a
province of 10-15 million) nothing draws millions of shapes: the map asks for 256-pixel PNG tiles
(:class:`CoverageTiles`), rendered on demand from the region store without an object per chip:

* zoomed out, a tile is the region's occupancy raster (counted once from the chips' centres, at most
  2048 x 2048 cells, about a chip each at 10 M chips) resampled to the tile: covered ground is tinted;
* zoomed in (a chip at least :data:`OUTLINE_PIXELS` wide), a tile draws the outlines of the chips in it,
  found through the catalog's spatial grid, as the faint chip grid smaller regions show.

Results are drawn by the map as markers and cells as for any region (only a few thousand of them).
"""

from __future__ import annotations

import math
import threading
from typing import Any

import numpy as np

from terrafind.core.imagery.png import encode_png

__all__ = ["OUTLINES_MAX_CHIPS", "OUTLINE_PIXELS", "CoverageTiles", "tile_bounds"]

OUTLINES_MAX_CHIPS = 200_000  # above this, coverage tiles replace the GeoJSON layer of chip outlines
OUTLINE_PIXELS = 4.0  # chips at least this wide on screen are drawn one by one
_RASTER_MAX = 2048
_TILE = 256
_FILL = (90, 120, 150, 70)  # covered ground: a light grey-blue tint, readable on outlines and imagery
_LINE = (70, 70, 70, 60)  # chip outlines, as faint as the GeoJSON layer's


def tile_bounds(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    """(west, south, east, north) in degrees of web-mercator tile z/x/y."""
    n = 2**z
    west, east = x / n * 360.0 - 180.0, (x + 1) / n * 360.0 - 180.0

    def lat(row: float) -> float:
        return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * row / n))))

    return west, lat(y + 1), east, lat(y)


def _pixel_lats(z: int, y: int) -> np.ndarray:
    """Latitude of the centre of each pixel row of tile row ``y``."""
    n = 2**z
    rows = y + (np.arange(_TILE) + 0.5) / _TILE
    return np.degrees(np.arctan(np.sinh(np.pi * (1 - 2 * rows / n))))


def _lat_to_px(lat: np.ndarray, z: int, y: int) -> np.ndarray:
    n = 2**z
    s = np.sin(np.radians(np.clip(lat, -85.05, 85.05)))
    row = (0.5 - np.log((1 + s) / (1 - s)) / (4 * np.pi)) * n
    return (row - y) * _TILE


class CoverageTiles:
    """PNG coverage tiles of a catalog (see the module docstring); safe to call from several threads."""

    def __init__(self, catalog: Any) -> None:
        self.catalog = catalog
        self._raster: tuple[np.ndarray, tuple[float, float, float, float]] | None = None
        self._lock = threading.Lock()

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        w, s, e, n = (float(v) for v in self.catalog.bounds)
        return (w, s, e, n)

    def _occupancy(self) -> tuple[np.ndarray, tuple[float, float, float, float]]:
        """(counts (ny, nx) uint16 north row first, (west, south, east, north)); counted once."""
        with self._lock:
            if self._raster is not None:
                return self._raster
            cat = self.catalog
            w, s, e, n = self.bounds
            sx, sy = (max(float(v), 1e-9) for v in cat.stride)
            nx = int(min(_RASTER_MAX, max(1, math.ceil((e - w) / sx))))
            ny = int(min(_RASTER_MAX, max(1, math.ceil((n - s) / sy))))
            counts = np.zeros(nx * ny, np.int64)
            boxes = cat.boxes
            step = 1 << 20
            for start in range(0, len(cat), step):
                b = np.asarray(boxes[start : start + step])
                cx = ((b[:, 0] + b[:, 2]) * 0.5 - w) / max(e - w, 1e-12) * nx
                cy = (n - (b[:, 1] + b[:, 3]) * 0.5) / max(n - s, 1e-12) * ny
                ix = np.clip(cx.astype(np.int64), 0, nx - 1)
                iy = np.clip(cy.astype(np.int64), 0, ny - 1)
                counts += np.bincount(iy * nx + ix, minlength=nx * ny)
            self._raster = (np.minimum(counts, 65535).astype(np.uint16).reshape(ny, nx), (w, s, e, n))
            store = getattr(cat, "store", None)
            if store is not None:
                store.release()  # every box was read once: the pages go back to the system's cache
            return self._raster

    def chip_pixels(self, z: int) -> float:
        """How wide a typical chip is on screen at zoom ``z`` (pixels)."""
        b = self.catalog.boxes[0] if len(self.catalog) else np.zeros(4)
        return float(b[2] - b[0]) / 360.0 * _TILE * 2**z

    def tile(self, z: int, x: int, y: int) -> bytes | None:
        """The PNG of tile z/x/y, or None when no chip is in it."""
        if len(self.catalog) == 0 or not (0 <= x < 2**z and 0 <= y < 2**z):
            return None
        w, s, e, n = tile_bounds(z, x, y)
        cw, cs, ce, cn = self.bounds
        if e < cw or w > ce or n < cs or s > cn:
            return None
        img = np.zeros((_TILE, _TILE, 4), np.uint8)
        if self.chip_pixels(z) >= OUTLINE_PIXELS and self._outlines(img, z, x, y):
            return encode_png(img)
        counts, (rw, rs, re, rn) = self._occupancy()
        ny, nx = counts.shape
        lons = w + (np.arange(_TILE) + 0.5) / _TILE * (e - w)
        lats = _pixel_lats(z, y)
        ix = np.floor((lons - rw) / max(re - rw, 1e-12) * nx).astype(np.int64)
        iy = np.floor((rn - lats) / max(rn - rs, 1e-12) * ny).astype(np.int64)
        okx, oky = (ix >= 0) & (ix < nx), (iy >= 0) & (iy < ny)
        covered = np.zeros((_TILE, _TILE), bool)
        covered[np.ix_(oky, okx)] = counts[np.ix_(iy[oky], ix[okx])] > 0
        if not covered.any():
            return None
        img[covered] = _FILL
        return encode_png(img)

    def _outlines(self, img: np.ndarray, z: int, x: int, y: int) -> bool:
        """Draw the outlines of the tile's chips into ``img``; False when there are too many to draw."""
        w, s, e, n = tile_bounds(z, x, y)
        rows = self.catalog._grid.overlapping(w, s, e, n)
        if len(rows) == 0 or len(rows) > 60_000:
            return False
        b = np.asarray(self.catalog.boxes[rows])
        px0 = np.floor((b[:, 0] - w) / (e - w) * _TILE).astype(np.int64)
        px1 = np.floor((b[:, 2] - w) / (e - w) * _TILE).astype(np.int64)
        py0 = np.floor(_lat_to_px(b[:, 3], z, y)).astype(np.int64)  # north edge: the smaller row
        py1 = np.floor(_lat_to_px(b[:, 1], z, y)).astype(np.int64)
        lines = np.zeros((_TILE + 2, _TILE + 2), np.int32)  # difference arrays, one pixel of margin
        _hline(lines, py0, px0, px1)
        _hline(lines, py1, px0, px1)
        horizontal = np.cumsum(lines, axis=1)
        lines[:] = 0
        _vline(lines, px0, py0, py1)
        _vline(lines, px1, py0, py1)
        vertical = np.cumsum(lines, axis=0)
        mask = (horizontal[1:-1, 1:-1] > 0) | (vertical[1:-1, 1:-1] > 0)
        img[mask] = _LINE
        return True


def _hline(diff: np.ndarray, row: np.ndarray, x0: np.ndarray, x1: np.ndarray) -> None:
    """Mark rows ``row`` from x0 to x1 (inclusive) in the difference array (cumsum along x draws them)."""
    keep = (row >= 0) & (row < _TILE) & (x1 >= 0) & (x0 < _TILE)
    r, a, b = row[keep] + 1, np.clip(x0[keep], 0, _TILE - 1) + 1, np.clip(x1[keep], 0, _TILE - 1) + 2
    np.add.at(diff, (r, a), 1)
    np.add.at(diff, (r, b), -1)


def _vline(diff: np.ndarray, col: np.ndarray, y0: np.ndarray, y1: np.ndarray) -> None:
    keep = (col >= 0) & (col < _TILE) & (y1 >= 0) & (y0 < _TILE)
    c, a, b = col[keep] + 1, np.clip(y0[keep], 0, _TILE - 1) + 1, np.clip(y1[keep], 0, _TILE - 1) + 2
    np.add.at(diff, (a, c), 1)
    np.add.at(diff, (b, c), -1)
