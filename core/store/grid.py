"""Where chips are, without an object per chip: footprint boxes and a grid of cells over their centres.

A region's chips are known by their footprint boxes (xmin, ymin, xmax, ymax in lon/lat, float64; an
(n, 4) array, memory-mapped from a region store or made from polygons given in memory). Lookups on the map
go through a grid: each chip falls in the cell of its centre, cells are about a chip wide, and the rows
are kept sorted by cell (``keys`` sorted, ``rows`` in that order), so the chips near a point are a few
slices found by binary search. At 10 M chips that is 120 MB of keys and rows on disk, read a few pages at a
time, instead of 4 GB of polygons and an STRtree in memory.

The rules are those the catalog always had: a click picks the chip whose footprint holds the point, the
one centred closest where chips overlap (:meth:`ChipGrid.chip_at`); ``nearest`` measures the distance to
footprints; ``rows_in`` finds the chips a drawn region or an imported place touches.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["GridParams", "ChipGrid", "build_grid"]

_MAX_CELLS = 4096  # a lookup touching more cells than this scans the boxes directly (vectorised)


@dataclass(frozen=True)
class GridParams:
    """Cell layout: cells of (cx, cy) degrees from (x0, y0); ny cells per column; the largest half width
    and height of any footprint (how far from its centre a chip can reach)."""

    x0: float
    y0: float
    cx: float
    cy: float
    ny: int
    hx: float
    hy: float

    def to_json(self) -> dict[str, float]:
        return {k: float(v) for k, v in self.__dict__.items()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> GridParams:
        f = {k: float(data[k]) for k in ("x0", "y0", "cx", "cy", "hx", "hy")}
        return cls(f["x0"], f["y0"], f["cx"], f["cy"], int(data["ny"]), f["hx"], f["hy"])


def _centres(boxes: np.ndarray) -> np.ndarray:
    return np.column_stack([(boxes[:, 0] + boxes[:, 2]) * 0.5, (boxes[:, 1] + boxes[:, 3]) * 0.5])


def build_grid(boxes: np.ndarray, block: int = 1 << 20) -> tuple[GridParams, np.ndarray, np.ndarray]:
    """(params, sorted keys int64, rows int64 in key order) of the grid over ``boxes`` ((n, 4) float64).

    Read in blocks, so a memory-mapped array is never copied whole."""
    n = len(boxes)
    if n == 0:
        return GridParams(0.0, 0.0, 1.0, 1.0, 1, 0.0, 0.0), np.zeros(0, np.int64), np.zeros(0, np.int64)
    lo = np.array([np.inf, np.inf])
    hi = np.array([-np.inf, -np.inf])
    half = np.zeros(2)
    sample = boxes[np.unique(np.linspace(0, n - 1, min(n, 4096)).astype(np.int64))]
    size = np.median(np.column_stack([sample[:, 2] - sample[:, 0], sample[:, 3] - sample[:, 1]]), axis=0)
    for start in range(0, n, block):
        b = np.asarray(boxes[start : start + block])
        c = _centres(b)
        lo, hi = np.minimum(lo, c.min(axis=0)), np.maximum(hi, c.max(axis=0))
        half = np.maximum(half, np.column_stack([b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]]).max(axis=0) * 0.5)
    cx, cy = (max(float(v), 1e-9) for v in size)
    ny = int(math.floor((hi[1] - lo[1]) / cy)) + 1
    params = GridParams(float(lo[0]), float(lo[1]), cx, cy, ny, float(half[0]), float(half[1]))
    keys = np.empty(n, np.int64)
    for start in range(0, n, block):
        keys[start : start + block] = _keys(params, _centres(np.asarray(boxes[start : start + block])))
    order = np.argsort(keys, kind="stable")
    return params, keys[order], order.astype(np.int64)


def _keys(p: GridParams, xy: np.ndarray) -> np.ndarray:
    ix = np.floor((xy[:, 0] - p.x0) / p.cx).astype(np.int64)
    iy = np.floor((xy[:, 1] - p.y0) / p.cy).astype(np.int64)
    return ix * p.ny + np.clip(iy, 0, p.ny - 1)


class ChipGrid:
    """Lookups over footprint boxes with a grid (see the module docstring)."""

    def __init__(self, boxes: np.ndarray, params: GridParams, keys: np.ndarray, rows: np.ndarray) -> None:
        self.boxes, self.p, self.keys, self.rows = boxes, params, keys, rows

    @classmethod
    def of(cls, boxes: np.ndarray) -> ChipGrid:
        return cls(boxes, *build_grid(boxes))

    def __len__(self) -> int:
        return int(len(self.boxes))

    # --- candidates ------------------------------------------------------------------------------------
    def near(self, west: float, south: float, east: float, north: float) -> np.ndarray | None:
        """Rows whose centre lies in the box grown by the largest half chip (every chip that can touch it),
        sorted; None when that spans too many cells (the caller scans the boxes instead)."""
        p = self.p
        w, e = west - p.hx, east + p.hx
        s, n = south - p.hy, north + p.hy
        ix0, ix1 = math.floor((w - p.x0) / p.cx), math.floor((e - p.x0) / p.cx)
        iy0, iy1 = max(0, math.floor((s - p.y0) / p.cy)), min(p.ny - 1, math.floor((n - p.y0) / p.cy))
        if iy1 < iy0 or ix1 < ix0:
            return np.zeros(0, np.int64)
        if (ix1 - ix0 + 1) * (iy1 - iy0 + 1) > _MAX_CELLS and (ix1 - ix0 + 1) > 64:
            return None
        lo = np.arange(ix0, ix1 + 1, dtype=np.int64) * p.ny
        starts = np.searchsorted(self.keys, lo + iy0, side="left")
        stops = np.searchsorted(self.keys, lo + iy1, side="right")
        parts = [self.rows[a:b] for a, b in zip(starts.tolist(), stops.tolist(), strict=True) if b > a]
        return np.sort(np.concatenate(parts)) if parts else np.zeros(0, np.int64)

    def _scan(self, test) -> np.ndarray:
        """Rows of all boxes passing ``test(boxes block) -> bool mask``, block by block."""
        out = []
        step = 1 << 20
        for start in range(0, len(self.boxes), step):
            mask = test(np.asarray(self.boxes[start : start + step]))
            out.append(np.flatnonzero(mask) + start)
        return np.concatenate(out) if out else np.zeros(0, np.int64)

    def overlapping(self, west: float, south: float, east: float, north: float) -> np.ndarray:
        """Rows whose footprint box overlaps the box (sorted)."""

        def test(b: np.ndarray) -> np.ndarray:
            return (b[:, 0] <= east) & (b[:, 2] >= west) & (b[:, 1] <= north) & (b[:, 3] >= south)

        cand = self.near(west, south, east, north)
        if cand is None:
            return self._scan(test)
        return cand[test(np.asarray(self.boxes[cand]))] if len(cand) else cand

    # --- the lookups the catalog offers ------------------------------------------------------------------
    def chip_at(self, lon: float, lat: float) -> int | None:
        """The row whose footprint holds (lon, lat); where several do, the one centred closest."""
        hits = self.overlapping(lon, lat, lon, lat)
        if len(hits) == 0:
            return None
        c = _centres(np.asarray(self.boxes[hits]))
        d2 = (c[:, 0] - lon) ** 2 + (c[:, 1] - lat) ** 2
        return int(hits[int(np.argmin(d2))])

    def nearest(self, lon: float, lat: float) -> int | None:
        """The row whose footprint is nearest to (lon, lat) (0 inside; degrees), ties by row."""
        if len(self) == 0:
            return None
        p = self.p
        reach = max(p.cx, p.cy)
        while True:
            cand = self.near(lon - reach, lat - reach, lon + reach, lat + reach)
            if cand is None:
                cand = np.arange(len(self), dtype=np.int64)
            if len(cand):
                b = np.asarray(self.boxes[cand])
                dx = np.maximum(np.maximum(b[:, 0] - lon, lon - b[:, 2]), 0.0)
                dy = np.maximum(np.maximum(b[:, 1] - lat, lat - b[:, 3]), 0.0)
                d = np.hypot(dx, dy)
                best = int(np.argmin(d))
                # Every box within d of the point has its centre within d + half a chip: covered?
                if d[best] <= reach or len(cand) == len(self):
                    return int(cand[best])
                reach = float(d[best]) + 1e-12
                continue
            reach *= 4.0

    def rows_in(self, geom: Any) -> np.ndarray:
        """Rows whose footprint box intersects the shapely geometry ``geom`` (sorted)."""
        import shapely

        w, s, e, n = (float(v) for v in geom.bounds)
        cand = self.overlapping(w, s, e, n)
        if len(cand) == 0 or shapely.equals(geom, shapely.box(w, s, e, n)):
            return cand
        shapely.prepare(geom)
        b = np.asarray(self.boxes[cand])
        boxes = shapely.box(b[:, 0], b[:, 1], b[:, 2], b[:, 3])
        return cand[shapely.intersects(geom, boxes)]

    def bounds(self) -> tuple[float, float, float, float]:
        """(west, south, east, north) of all footprints (NaN when empty)."""
        if len(self) == 0:
            return (math.nan, math.nan, math.nan, math.nan)
        lo = np.array([np.inf, np.inf])
        hi = np.array([-np.inf, -np.inf])
        step = 1 << 20
        for start in range(0, len(self), step):
            b = np.asarray(self.boxes[start : start + step])
            lo = np.minimum(lo, b[:, :2].min(axis=0))
            hi = np.maximum(hi, b[:, 2:].max(axis=0))
        return (float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1]))

    def stride(self) -> tuple[float, float]:
        """(x, y) spacing of neighbouring chips' centres, at most the chip's own size (see Catalog.stride)."""
        n = len(self)
        if n == 0:
            return (0.0, 0.0)
        rows = np.unique(np.linspace(0, n - 1, min(n, 400)).astype(np.int64))
        b = np.asarray(self.boxes[rows])
        w, h = b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]
        found_x, found_y = [], []
        for i in range(len(rows)):
            near = self.overlapping(*b[i])
            nb = np.asarray(self.boxes[near])
            d = _centres(nb) - _centres(b[i : i + 1])
            dx, dy = np.abs(d[:, 0]), np.abs(d[:, 1])
            same_row = (dy < 0.25 * h[i]) & (dx > 1e-9)
            same_col = (dx < 0.25 * w[i]) & (dy > 1e-9)
            found_x.append(dx[same_row].min() if same_row.any() else w[i])
            found_y.append(dy[same_col].min() if same_col.any() else h[i])
        sx = min(float(np.median(found_x)), float(np.median(w)))
        sy = min(float(np.median(found_y)), float(np.median(h)))
        return (round(sx, 9), round(sy, 9))
