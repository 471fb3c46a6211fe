"""Per-chip columns of a region store read like arrays, without a Python object per chip.

``IdColumn`` (ids from the memory-mapped Arrow file), ``BoxFootprints`` (a shapely box made for each row
asked for) and ``Centres`` (centres of the boxes) answer the indexing the rest of Terrafind uses on the
catalog's ``ids``, ``footprints`` and ``centroids`` (``x[i]``, ``x[rows]``, ``x[a:b]``, ``x[mask]``) with
plain values and numpy arrays, so code written for small in-memory catalogs works on 10 M chips.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["IdColumn", "BoxFootprints", "Centres", "as_rows"]


def as_rows(key: Any, n: int) -> np.ndarray | int:
    """A row key (int, slice, int or bool array, list) as an int or an int64 array of rows."""
    if isinstance(key, (int, np.integer)):
        i = int(key)
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError(f"row {key} out of range for {n} chips")
        return i
    if isinstance(key, slice):
        return np.arange(*key.indices(n), dtype=np.int64)
    idx = np.asarray(key)
    if idx.dtype == bool:
        if idx.shape != (n,):
            raise IndexError(f"a mask of {idx.shape} for {n} chips")
        return np.flatnonzero(idx)
    idx = idx.astype(np.int64, copy=False).reshape(-1)
    return np.where(idx < 0, idx + n, idx)


class IdColumn:
    """Chip ids (str) from an Arrow string column; ``ids[i]`` is a str, ``ids[rows]`` an object array."""

    def __init__(self, column: pa.ChunkedArray | pa.Array) -> None:
        self.arrow = column if isinstance(column, pa.ChunkedArray) else pa.chunked_array([column])

    def __len__(self) -> int:
        return len(self.arrow)

    def __getitem__(self, key: Any) -> Any:
        rows = as_rows(key, len(self))
        if isinstance(rows, int):
            return self.arrow[rows].as_py()
        return self.arrow.take(pa.array(rows, pa.int64())).to_numpy(zero_copy_only=False).astype(object)

    def __iter__(self) -> Iterator[str]:
        for chunk in self.arrow.chunks:
            yield from chunk.to_pylist()

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        return self.arrow.to_numpy().astype(object if dtype is None else dtype)

    def tolist(self) -> list[str]:
        return self.arrow.to_pylist()

    @property
    def shape(self) -> tuple[int]:
        return (len(self),)

    def rows_of(self, ids: Iterable[Any]) -> np.ndarray:
        """The row of each id (-1 when absent): one pass over the column, whatever the number of ids
        (another region's ``IdColumn`` is matched as Arrow data, without a Python string per id)."""
        if isinstance(ids, IdColumn):
            if len(ids) == 0 or len(self) == 0:
                return np.full(len(ids), -1, np.int64)
            found = pc.index_in(self.arrow, value_set=ids.arrow.combine_chunks())
            valid = found.is_valid().to_numpy(zero_copy_only=False)
            rows = np.flatnonzero(valid)
            pos = pc.drop_null(found).to_numpy(zero_copy_only=False).astype(np.int64)
            out = np.full(len(ids), -1, np.int64)
            out[pos[::-1]] = rows[::-1]  # the first row wins where an id repeats
            return out
        wanted = [str(i) for i in ids]
        if not wanted or len(self) == 0:
            return np.full(len(wanted), -1, np.int64)
        uniq = list(dict.fromkeys(wanted))
        found = pc.index_in(self.arrow, value_set=pa.array(uniq, pa.string()))
        valid = found.is_valid().to_numpy(zero_copy_only=False)
        rows = np.flatnonzero(valid)
        pos = pc.drop_null(found).to_numpy(zero_copy_only=False).astype(np.int64)
        first = np.full(len(uniq), -1, np.int64)
        first[pos[::-1]] = rows[::-1]  # numpy keeps the last write: reversed, the first row wins
        where = {name: i for i, name in enumerate(uniq)}
        return first[[where[name] for name in wanted]]


class BoxFootprints:
    """Footprints derived from (n, 4) boxes: ``fp[i]`` a shapely Polygon, ``fp[rows]`` an object array."""

    def __init__(self, boxes: np.ndarray) -> None:
        self.boxes = boxes

    def __len__(self) -> int:
        return int(len(self.boxes))

    @property
    def shape(self) -> tuple[int]:
        return (len(self),)

    def __getitem__(self, key: Any) -> Any:
        import shapely

        rows = as_rows(key, len(self))
        if isinstance(rows, int):
            b = self.boxes[rows]
            return shapely.box(float(b[0]), float(b[1]), float(b[2]), float(b[3]))
        b = np.asarray(self.boxes[rows]).reshape(-1, 4)
        if len(b) == 0:
            return np.zeros(0, dtype=object)
        return shapely.box(b[:, 0], b[:, 1], b[:, 2], b[:, 3])

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        return self[slice(None)]

    def __iter__(self) -> Iterator[Any]:
        for start in range(0, len(self), 65_536):
            yield from self[slice(start, min(len(self), start + 65_536))]


class Centres:
    """Centres of (n, 4) boxes as (n, 2) lon/lat, computed for the rows asked for."""

    def __init__(self, boxes: np.ndarray) -> None:
        self.boxes = boxes

    def __len__(self) -> int:
        return int(len(self.boxes))

    @property
    def shape(self) -> tuple[int, int]:
        return (len(self), 2)

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, tuple):
            rows, *cols = key
            return self[rows][(..., *cols)]
        rows = as_rows(key, len(self))
        b = np.asarray(self.boxes[rows], np.float64)
        return np.stack([(b[..., 0] + b[..., 2]) * 0.5, (b[..., 1] + b[..., 3]) * 0.5], axis=-1)

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        out = self[slice(None)]
        return out if dtype is None else out.astype(dtype)
