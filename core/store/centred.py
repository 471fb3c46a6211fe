"""A region's unit vectors centred on a mean and made unit again: the space similarity is measured in.

Why: every embedding of a region leans the same way (foundation-model vectors share a large common
direction), so plain cosines crowd near 1 (Clay v0 sample, 417 chips: the top 400 of a click score
0.78-0.995) and a line at 0.5 keeps everything. Subtracting the region's mean vector ``mu`` removes what
all chips share; the centred cosine ``<x - mu, q - mu> / (|x - mu| |q - mu|)`` spreads over the scale
(docs/performance.md, "Centred similarity").

:class:`CentredVectors` behaves like the (n, d) float32 array of the centred unit rows
``y = (x - mu) / |x - mu|`` over the plain unit rows ``x`` (a numpy array, a mapped float32 store, or
int8 :class:`terrafind.core.store.vectors.StoredVectors`) without a second copy of them:

* rows asked for (``v[rows]``, ``v.block(a, b)``) are read plainly and centred on the fly;
* an exact scan folds the query as the plain rows would (``<x, q>``) and turns the result into
  ``<y, q> = (<x, q> - <mu, q>) / |x - mu|`` with two per-row constants: nothing decoded in full.

``|x - mu|`` (``cnorm``) is the store's own ``cnorm.f32`` when ``mu`` is the store's mean (written with
the store, checked with it), else computed once, on first use, by one scan of ``<x, mu>`` (a mean shared by
several dates, a field pack's region, shards of one region). Because the catalog *is* this view, every
path (exact scan, index graph and re-ranking, refine, groups, percentiles, detectors) sees one space, and
a query made from examples read through it is centred the same way.
"""

from __future__ import annotations

import hashlib
import threading
from typing import Any

import numpy as np

from terrafind.core.store.rows import RowView

__all__ = ["CentredVectors", "mean_of", "centre_key", "MIN_CNORM"]

MIN_CNORM = 1e-6  # a row equal to the mean has no direction: it scores 0 against everything
_SCAN = 65_536


def _is_stored(v: Any) -> bool:
    return not isinstance(v, np.ndarray) and hasattr(v, "scores")


def mean_of(vectors: Any) -> np.ndarray:
    """The mean row of ``vectors`` (float64 sum, block by block), as float32 (d,)."""
    n, d = int(vectors.shape[0]), int(vectors.shape[1])
    total = np.zeros(d, np.float64)
    for a in range(0, n, _SCAN):
        total += np.asarray(vectors[a : min(n, a + _SCAN)], np.float32).sum(axis=0, dtype=np.float64)
    return (total / max(1, n)).astype(np.float32)


def centre_key(mu: np.ndarray) -> str:
    """A short hash of a mean vector (part of the index's fingerprint: a graph belongs to one space)."""
    return hashlib.sha256(np.ascontiguousarray(mu, "<f4").tobytes()).hexdigest()[:16]


class CentredVectors(RowView):
    """The centred unit rows of ``unit`` (see the module docstring); read-only and array-like."""

    dtype = np.dtype(np.float32)
    ndim = 2

    def __init__(self, unit: Any, mu: np.ndarray, cnorm: np.ndarray | None = None) -> None:
        self.unit = unit
        self.mu = np.ascontiguousarray(mu, np.float32)
        if self.mu.shape != (int(unit.shape[1]),):
            raise ValueError("the mean does not fit the vectors")
        self._cnorm = cnorm
        self._lock = threading.Lock()
        self.block_rows = int(getattr(unit, "block_rows", 2048))
        self.release_pages = bool(getattr(unit, "release_pages", False))

    # --- the per-row constant ----------------------------------------------------------------------------
    @property
    def cnorm(self) -> np.ndarray:
        """(n,) ``|x - mu|`` of every row (computed by one scan the first time when not given)."""
        if self._cnorm is None:
            with self._lock:
                if self._cnorm is None:
                    self._cnorm = self._scan_cnorm()
        return self._cnorm

    def _scan_cnorm(self) -> np.ndarray:
        n = len(self)
        out = np.empty(n, np.float32)
        mm = float(self.mu @ self.mu)
        stored = _is_stored(self.unit)
        folded = self.unit.fold(self.mu) if stored else None
        buf = np.empty((self.block_rows, self.shape[1]), np.float32) if stored else None
        for a in range(0, n, _SCAN):
            b = min(n, a + _SCAN)
            if stored:
                dot = np.empty((b - a, 1), np.float32)
                self.unit.scores(a, b, folded, buf, dot)
                dot = dot[:, 0]
            else:
                dot = np.asarray(self.unit[a:b], np.float32) @ self.mu
            out[a:b] = np.sqrt(np.maximum(1.0 - 2.0 * dot + mm, 0.0))
        return out

    def _inv(self, rows: Any) -> np.ndarray:
        return 1.0 / np.maximum(np.asarray(self.cnorm[rows], np.float32), MIN_CNORM)

    # --- array-like --------------------------------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, int]:
        return (int(self.unit.shape[0]), int(self.unit.shape[1]))

    @property
    def nbytes(self) -> int:
        return int(self.unit.nbytes)

    def _centre(self, x: np.ndarray, rows: Any) -> np.ndarray:
        out = np.array(x, np.float32, copy=True)
        out -= self.mu
        out *= self._inv(rows)[..., None]
        return out

    def _gather(self, idx: np.ndarray) -> np.ndarray:
        return self._centre(np.asarray(self.unit[idx], np.float32), idx)

    def block(self, start: int, stop: int, out: np.ndarray | None = None) -> np.ndarray:
        """Centred unit rows [start, stop) as a new float32 array (or into ``out``)."""
        if _is_stored(self.unit):
            x = self.unit.block(start, stop, out)
        else:
            x = np.asarray(self.unit[start:stop], np.float32)
            if out is not None:
                np.copyto(out, x)
                x = out
            else:
                x = np.array(x, np.float32, copy=True)
        x -= self.mu
        x *= self._inv(slice(start, stop))[:, None]
        return x

    # --- scanning ----------------------------------------------------------------------------------------
    def fold(self, queries: np.ndarray) -> tuple[Any, np.ndarray]:
        """The queries folded for :meth:`scores`: the plain rows' fold and ``<mu, q>`` per query."""
        q = np.atleast_2d(np.asarray(queries, np.float32))
        inner = self.unit.fold(q) if _is_stored(self.unit) else np.ascontiguousarray(q.T)
        return inner, (q @ self.mu).astype(np.float32)

    def scores(
        self, start: int, stop: int, folded: tuple[Any, np.ndarray], buf: np.ndarray, out: np.ndarray
    ) -> None:
        """Centred cosines of rows [start, stop) with the folded queries into ``out`` ((stop-start, q))."""
        inner, mq = folded
        if _is_stored(self.unit):
            self.unit.scores(start, stop, inner, buf, out)
        else:
            x = self.unit[start:stop]
            if inner.shape[1] == 1:
                np.matmul(x, inner[:, 0], out=out[:, 0])
            else:
                np.matmul(x, inner, out=out)
        out -= mq
        out *= self._inv(slice(start, stop))[:, None]

    def release(self, start: int = 0, stop: int | None = None) -> None:
        """Hand rows back to the page cache (see :meth:`terrafind.core.store.vectors.StoredVectors.release`)."""
        if hasattr(self.unit, "release"):
            self.unit.release(start, stop)
