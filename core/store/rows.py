"""numpy's row indexing for matrices whose rows are made on demand (decoded, centred), in one place.

:class:`~terrafind.core.store.vectors.StoredVectors` (int8 codes decoded to unit rows) and
:class:`~terrafind.core.store.centred.CentredVectors` (unit rows centred on the region's mean) stand where
the search code expects an ``(n, d)`` float32 array: ``v[i]``, ``v[a:b]``, ``v[rows]``, ``v[mask]``,
``v[rows, cols]``, ``np.asarray(v)``, ``v @ q``. A subclass says how to make a block of consecutive rows
(:meth:`RowView.block`) and, when it can do better than one row at a time, a gather of scattered rows.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["RowView"]


class RowView:
    """An ``(n, d)`` float32 matrix read row by row (see the module docstring)."""

    @property
    def shape(self) -> tuple[int, int]:
        raise NotImplementedError

    def __len__(self) -> int:
        return int(self.shape[0])

    def block(self, start: int, stop: int, out: np.ndarray | None = None) -> np.ndarray:
        """Rows [start, stop) as a new float32 array (or into ``out``)."""
        raise NotImplementedError

    def _span(self, start: int, stop: int) -> np.ndarray:
        """``v[start:stop]`` (a subclass may hand pages back after a long span)."""
        return self.block(start, stop)

    def _gather(self, idx: np.ndarray) -> np.ndarray:
        """Rows ``idx`` (1-d int64, in range), in that order."""
        raise NotImplementedError

    def __getitem__(self, key: Any) -> np.ndarray:
        if isinstance(key, tuple):  # (rows, columns...): rows made, then numpy indexes the rest
            rows, *cols = key
            if isinstance(rows, (int, np.integer)):
                return self[rows][tuple(cols)]
            return self[rows][(..., *cols)]
        n = len(self)
        if isinstance(key, (int, np.integer)):
            i = int(key)
            if i < 0:
                i += n
            if not 0 <= i < n:
                raise IndexError(f"row {key} out of range for {n} vectors")
            return self.block(i, i + 1)[0]
        if isinstance(key, slice):
            start, stop, step = key.indices(n)
            if step == 1:
                return self._span(start, max(start, stop))
            key = np.arange(start, stop, step)
        idx = np.asarray(key)
        if idx.dtype == bool:
            idx = np.flatnonzero(idx)
        idx = idx.astype(np.int64, copy=False)
        if idx.ndim != 1:
            return self[idx.reshape(-1)].reshape(*idx.shape, self.shape[1])
        if len(idx) and (idx.min() < -n or idx.max() >= n):
            raise IndexError(f"rows out of range for {n} vectors")
        return self._gather(np.where(idx < 0, idx + n, idx))

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        out = self.block(0, len(self))
        return out if dtype is None else out.astype(dtype)

    @property
    def T(self) -> np.ndarray:  # noqa: N802 - numpy's name
        """The matrix transposed (small regions only: this makes every row)."""
        return np.asarray(self).T

    def __matmul__(self, other: Any) -> np.ndarray:
        return np.asarray(self) @ other
