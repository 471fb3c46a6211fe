"""The same place at two dates: which chip of date B is chip ``i`` of date A.

Chips match by **id** when the two dates share their ids (Earth Index grid cells keep their id from year
to year), else by **place**: the chip of B whose centre is nearest to A's centre, if it is within half a
chip. On one grid every chip finds its twin at distance ~0; on grids that do not line up some chips find
none, and :attr:`Match.sentence` says how many matched so that nobody mistakes a partial comparison for
a whole one.

Distances are measured in metres on a local equirectangular plane (the region is small: at 100 km the
error is far below a chip). Uses only the catalog's public ``ids``, ``centroids`` and ``chip_size_m``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from terrafind.core.catalog import Catalog

__all__ = ["Match", "match_chips", "ID_SHARE"]

# At least this share of A's ids must be ids of B for matching by id (else: by place).
ID_SHARE = 0.5
_M_PER_DEG = 111_320.0


@dataclass(frozen=True)
class Match:
    """Row correspondences between two dates' catalogs. ``a_to_b[i]`` is the row of B matching row ``i`` of
    A (-1: none), ``b_to_a`` the other way. ``sentence`` is None when every chip of both found its twin
    on the same grid."""

    a_label: str
    b_label: str
    a_to_b: np.ndarray
    b_to_a: np.ndarray
    by: str  # "id" or "place"
    sentence: str | None
    same_grid: bool = True  # False when chips matched by place lie apart (grids that do not line up)

    @property
    def pairs(self) -> tuple[np.ndarray, np.ndarray]:
        """(rows of A, rows of B) of every matched chip of A."""
        rows = np.flatnonzero(self.a_to_b >= 0)
        return rows, self.a_to_b[rows]

    def reversed(self) -> Match:
        return Match(
            self.b_label, self.a_label, self.b_to_a, self.a_to_b, self.by, self.sentence, self.same_grid
        )


def _chip_side_m(catalog: Catalog) -> float:
    """The chip's side in metres: stated, else the median spacing of neighbouring centres."""
    if catalog.chip_size_m:
        return float(catalog.chip_size_m)
    c = catalog.centroids
    if len(c) < 2:
        return 0.0
    from scipy.spatial import cKDTree

    xy = _plane(c, float(np.mean(c[:, 1])))
    d, _ = cKDTree(xy).query(xy[:: max(1, len(xy) // 2000)], k=2)
    return float(np.median(d[:, 1]))


def _plane(lonlat: np.ndarray, lat0: float) -> np.ndarray:
    return np.column_stack(
        [lonlat[:, 0] * _M_PER_DEG * math.cos(math.radians(lat0)), lonlat[:, 1] * _M_PER_DEG]
    )


def _by_id(a: Catalog, b: Catalog) -> tuple[np.ndarray, np.ndarray] | None:
    if len(a) == 0 or len(b) == 0:
        return None
    a_to_b = b.rows_of(a.ids)  # one pass over the ids (a lookup per id would scan a region store's each time)
    if np.count_nonzero(a_to_b >= 0) < ID_SHARE * len(a):
        return None
    b_to_a = a.rows_of(b.ids)
    return a_to_b, b_to_a


def _nearest(src: np.ndarray, dst: np.ndarray, tol: float) -> tuple[np.ndarray, np.ndarray]:
    from scipy.spatial import cKDTree

    d, j = cKDTree(dst).query(src, k=1, distance_upper_bound=tol)
    ok = np.isfinite(d)
    return np.where(ok, j, -1).astype(np.int64), np.where(ok, d, np.nan)


def match_chips(a: Catalog, b: Catalog, a_label: str = "A", b_label: str = "B") -> Match:
    """Match the chips of ``a`` (date ``a_label``) to those of ``b`` (see the module docstring)."""
    ids = _by_id(a, b)
    if ids is not None:
        a_to_b, b_to_a = ids
        n = int(np.count_nonzero(a_to_b >= 0))
        sentence = None
        if n < len(a) or np.count_nonzero(b_to_a >= 0) < len(b):
            sentence = (
                f"{n:,} of the {len(a):,} chips of {a_label} are also in {b_label} (matched by id); "
                "the others are left out of comparisons between the two dates."
            )
        return Match(a_label, b_label, a_to_b, b_to_a, "id", sentence)
    if len(a) == 0 or len(b) == 0:
        empty_a, empty_b = np.full(len(a), -1, np.int64), np.full(len(b), -1, np.int64)
        return Match(a_label, b_label, empty_a, empty_b, "place", f"{a_label} or {b_label} holds no chips.")
    side = max(_chip_side_m(a), _chip_side_m(b))
    lat0 = float(np.mean(a.centroids[:, 1]))
    pa_, pb = _plane(a.centroids, lat0), _plane(b.centroids, lat0)
    tol = 0.5 * side if side > 0 else 1e-6
    a_to_b, dist = _nearest(pa_, pb, tol)
    b_to_a, _ = _nearest(pb, pa_, tol)
    n = int(np.count_nonzero(a_to_b >= 0))
    off = float(np.nanmax(dist)) if n else 0.0
    same_grid = n > 0 and off <= 0.01 * max(side, 1e-9)
    sentence = None
    if not same_grid:
        sentence = (
            f"The chips of {a_label} and {b_label} are not on the same grid: {n:,} of the {len(a):,} chips of "
            f"{a_label} have a chip of {b_label} within half a chip ({off:,.0f} m apart at most); the others "
            "are left out of comparisons between the two dates."
        )
    elif n < len(a) or np.count_nonzero(b_to_a >= 0) < len(b):
        sentence = (
            f"{len(a) - n:,} chips of {a_label} have no chip at {b_label} (no usable data there at one of the "
            "dates); they are left out of comparisons between the two dates."
        )
    return Match(a_label, b_label, a_to_b, b_to_a, "place", sentence, same_grid)
