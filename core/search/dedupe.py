"""Duplicate chips where tiles overlap, shown once.

Products made per MGRS tile (Clay v0 and v1) cover the strip where neighbouring tiles overlap twice: the
same ground as a chip of each tile, on two grids offset from each other. Opened together, both chips of
a place can come back as hits, side by side, which counts one place twice.

The rule needs no file bookkeeping: chips of one grid are never closer than the grid's spacing
(``Catalog.stride``), so two hits whose centres are closer than :data:`SAME_PLACE` of it in both
directions are the same place seen by two grids. The better-ranked one is kept. Only data opened from
more than one file can have such twins; a search over it asks for a few more hits
(:func:`extra_hits`) so that ``k`` remain after the twins go.
"""

from __future__ import annotations

import numpy as np

from terrafind.core.catalog import Catalog

__all__ = ["SAME_PLACE", "may_have_twins", "extra_hits", "twin_of_better", "drop_twins"]

SAME_PLACE = 0.6  # of the stride, along each axis


def may_have_twins(catalog: Catalog) -> bool:
    """Only chips from several files can be twins (one grid never places two chips that close)."""
    return len(catalog.sources) > 1


def extra_hits(catalog: Catalog, k: int) -> int:
    """How many more hits to ask for, so that ``k`` remain after twins are dropped."""
    return max(10, k // 4) if may_have_twins(catalog) else 0


def twin_of_better(catalog: Catalog, rows: np.ndarray) -> np.ndarray:
    """True for each of ``rows`` (best first) whose centre lies within :data:`SAME_PLACE` of the stride of
    a better-ranked row's centre that is itself kept."""
    rows = np.asarray(rows, np.int64)
    twin = np.zeros(len(rows), bool)
    if len(rows) < 2:
        return twin
    sx, sy = catalog.stride
    if sx <= 0 or sy <= 0:
        return twin
    cents = np.asarray(catalog.centroids[rows])
    cells = np.floor((cents - cents[0]) / np.array([sx, sy])).astype(np.int64)
    kept: dict[tuple[int, int], list[int]] = {}
    for i in range(len(rows)):  # best first: a hit is compared with the better ones kept before it
        cx, cy = int(cells[i, 0]), int(cells[i, 1])
        for ddx in (-1, 0, 1):
            for ddy in (-1, 0, 1):
                for j in kept.get((cx + ddx, cy + ddy), ()):
                    d = np.abs(cents[i] - cents[j])
                    if d[0] < SAME_PLACE * sx and d[1] < SAME_PLACE * sy:
                        twin[i] = True
                        break
                if twin[i]:
                    break
            if twin[i]:
                break
        if not twin[i]:
            kept.setdefault((cx, cy), []).append(i)
    return twin


def drop_twins(catalog: Catalog, result, k: int):
    """``result`` (a SearchResult, best first) without twins of better hits, cut to ``k`` hits."""
    from dataclasses import replace

    from terrafind.core.search.visible import take_hits

    if not may_have_twins(catalog) or not len(result.rows):
        return result
    keep = np.flatnonzero(~twin_of_better(catalog, np.asarray(result.rows)))[: int(k)]
    return replace(take_hits(result, keep), k=int(k))
