"""How much a chip changed: between two dates, and against its own history.

**Two dates.** ``1 - cos(a - m, b - m)``: the cosine distance of the two vectors after centring both on
``m``, the mean vector of every chip of both dates. Every embedding of a region leans the same way (all
RCF features are positive; foundation-model vectors share a large common direction), so raw cosines of
two dates differ by little everywhere; centring removes what all chips share and leaves what sets a chip
apart. Centring each date on its own mean would also remove real net change (a region cleared in part
moves its mean), so the mean is a joint one. Measured on the Pucallpa series (docs/demo.md): centred
cosine puts forest cleared into farmland 4-10x above the chip-mean pixel baseline; raw cosine and L2
rank river migration and stretch drift first. Range 0 (same direction) .. 2 (opposite).

**Three or more dates: unusual for its own history.** For date ``t`` of a chip: the median over the
chip's other dates ``s`` of the distance ``d(t, s)``. One odd year stands out (it is far from all the
others); a one-off clearing that stays cleared (far from the years before it, close to those after) sits
half-way, and a chip that changes every year is far from each of its other years too. The median makes a
single missing or odd other year harmless.

Scaled per chip: the score is ``median_s d(t, s)`` minus the chip's own baseline, the median distance
between its other dates in turn (how much it moves when nothing unusual happens), floored at 0. Measured
on the Pucallpa series against a pixel truth (docs/demo.md), over all 8 x 4,084 (chip, date) pairs: top 50
unusual by that truth 0.96 (0.98 unscaled), a drop of the vegetation index against the chip's own history
0.46 (0.40), and a change beyond 3x the chip's own spread 0.86 (0.74). Dividing by the chip's spread instead
rewards near-constant chips with tiny blips (0.10 for drops).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from terrafind.core.progress import CancelToken, check

__all__ = ["joint_mean", "pair_change", "history_change", "BLOCK"]

BLOCK = 65_536  # rows per block: bounded temporaries at any region size


def joint_mean(*catalogs: Any) -> np.ndarray:
    """The mean raw vector (lengths as read: ``Catalog.raw_vectors``) of every chip of ``catalogs``."""
    total = np.zeros(catalogs[0].dim, np.float64)
    n = 0
    for cat in catalogs:
        for start in range(0, len(cat), BLOCK):
            part = cat.raw_vectors(np.arange(start, min(start + BLOCK, len(cat))))
            total += part.sum(axis=0, dtype=np.float64)
            n += len(part)
    return (total / max(n, 1)).astype(np.float32)


def _unit_rows(x: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.where(n > 0, n, 1.0)


def pair_change(
    a: Any,
    b: Any,
    mean: np.ndarray,
    *,
    a_rows: np.ndarray | None = None,
    b_rows: np.ndarray | None = None,
    cancel: CancelToken | None = None,
) -> np.ndarray:
    """``1 - cos(a[i] - mean, b[i] - mean)`` on raw vectors for every pair (rows ``a_rows`` of catalog
    ``a`` with ``b_rows`` of catalog ``b``; all rows when None), float32 in [0, 2], block by block."""
    ia = np.arange(len(a)) if a_rows is None else np.asarray(a_rows, np.int64)
    ib = np.arange(len(b)) if b_rows is None else np.asarray(b_rows, np.int64)
    out = np.empty(len(ia), np.float32)
    m = np.asarray(mean, np.float32)
    for start in range(0, len(ia), BLOCK):
        check(cancel)
        sl = slice(start, start + BLOCK)
        x = _unit_rows(a.raw_vectors(ia[sl]) - m)
        y = _unit_rows(b.raw_vectors(ib[sl]) - m)
        out[sl] = 1.0 - np.einsum("ij,ij->i", x, y)
    return np.clip(out, 0.0, 2.0)


def history_change(
    here: Any,
    others: Sequence[tuple[Any, np.ndarray]],
    mean: np.ndarray,
    *,
    cancel: CancelToken | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(score, raw) of each chip of one date against its own history (see the module docstring).

    ``here`` is the catalog of the date judged; ``others`` are (catalog, rows) per other date, in date
    order, ``rows[i]`` the row of chip ``i`` of ``here`` in that catalog (-1: not there). ``raw`` is the median
    distance to the other dates, ``score`` it minus the chip's own baseline; NaN where fewer than two
    other dates hold the chip."""
    n, s = len(here), len(others)
    dist = np.full((n, s), np.nan, np.float32)
    m = np.asarray(mean, np.float32)
    for j, (vecs, rows) in enumerate(others):
        check(cancel)
        ok = np.flatnonzero(rows >= 0)
        if len(ok):
            dist[ok, j] = pair_change(here, vecs, m, a_rows=ok, b_rows=rows[ok], cancel=cancel)
    enough = np.count_nonzero(~np.isnan(dist), axis=1) >= 2
    raw = np.full(n, np.nan, np.float32)
    with np.errstate(all="ignore"):
        raw[enough] = np.nanmedian(dist[enough], axis=1)
    base = _baseline(others, m, n, enough, cancel)
    score = np.where(enough, np.maximum(raw - base, 0.0), np.nan).astype(np.float32)
    return score, raw


def _baseline(
    others: Sequence[tuple[Any, np.ndarray]],
    mean: np.ndarray,
    n: int,
    enough: np.ndarray,
    cancel: CancelToken | None,
) -> np.ndarray:
    """Per chip: the median distance between its other dates (consecutive pairs in date order, which
    costs one pass per date and measures the same year-to-year movement)."""
    pair_d = []
    for (va, ra), (vb, rb) in zip(others[:-1], others[1:], strict=True):
        check(cancel)
        d = np.full(n, np.nan, np.float32)
        ok = np.flatnonzero((ra >= 0) & (rb >= 0))
        if len(ok):
            d[ok] = pair_change(va, vb, mean, a_rows=ra[ok], b_rows=rb[ok], cancel=cancel)
        pair_d.append(d)
    if not pair_d:
        return np.zeros(n, np.float32)
    stack = np.stack(pair_d, axis=1)
    base = np.zeros(n, np.float32)
    has = enough & (np.count_nonzero(~np.isnan(stack), axis=1) >= 1)
    with np.errstate(all="ignore"):
        base[has] = np.nanmedian(stack[has], axis=1)
    return base
