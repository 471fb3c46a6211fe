"""A timeline: how many hits the current search or detector finds at each date, and their area.

Each date's chips are scored by the same :class:`~terrafind.core.change.detector.Detector` and counted at
or above its line, over the whole region or inside one place (a site's outline: the chips of each date
whose centre lies in it). The area is the hits' share of the ground: each chip counts the cell of the
grid around its centre (``Catalog.stride``, the part of overlapping chips that is its own), so chips at
half stride are not counted twice.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from terrafind.core.progress import CancelToken, ProgressFn, check, report

__all__ = ["DateCount", "TimelineQuery", "run_timeline", "cell_hectares"]

_M_PER_DEG = 111_320.0


@dataclass(frozen=True)
class DateCount:
    """Hits at one date: ``count`` chips, ``area_ha`` hectares, out of ``chips`` chips looked at."""

    date: str
    count: int
    area_ha: float
    chips: int


@dataclass(frozen=True)
class TimelineQuery:
    """Count the detector's hits at every date, inside ``where`` (a shapely geometry, lon/lat) or all."""

    dates: Any  # terrafind.core.dates.region.DatedRegion
    detector: Any
    where: Any = None
    where_name: str = "the whole region"


def cell_hectares(catalog: Any) -> float:
    """The ground each chip stands for: its grid cell (``Catalog.stride``) in hectares."""
    if len(catalog) == 0:
        return 0.0
    sx, sy = catalog.stride
    lat = float(np.mean(catalog.centroids[:: max(1, len(catalog) // 1000), 1]))
    return sx * _M_PER_DEG * math.cos(math.radians(lat)) * sy * _M_PER_DEG / 10_000.0


def _inside(catalog: Any, where: Any) -> np.ndarray:
    import shapely

    c = catalog.centroids
    return np.flatnonzero(shapely.contains_xy(where, c[:, 0], c[:, 1]))


def run_timeline(
    q: TimelineQuery, *, progress: ProgressFn | None = None, cancel: CancelToken | None = None
) -> list[DateCount]:
    """One :class:`DateCount` per date, oldest first."""
    out = []
    slices = q.dates.slices
    for i, s in enumerate(slices):
        check(cancel)
        report(progress, i, len(slices), f"Counting hits at {s.label}")
        cat = s.catalog
        rows = None if q.where is None else _inside(cat, q.where)
        scores = q.detector.scores(cat, rows, cancel=cancel)
        count = int(np.count_nonzero(scores >= q.detector.line))
        looked = len(cat) if rows is None else len(rows)
        out.append(DateCount(s.label, count, round(count * cell_hectares(cat), 2), looked))
    report(progress, len(slices), len(slices), "Timeline ready")
    return out
