"""A region's vectors on disk, read like an array: memory-mapped files, decoded a block at a time.

:func:`map_array` maps a raw file as a read-only numpy array (float32 stores are used as such: a
``np.ndarray`` view of the page cache). :class:`StoredVectors` does the same for int8 codes and behaves
like a read-only (n, d) float32 array of unit rows for row access (``v[i]``, ``v[rows]``, ``v[a:b]``):
rows are decoded when asked for, so a 10 M x 384 region costs 3.8 GB of disk and no memory.

Exact search goes through :meth:`StoredVectors.scores`: a few thousand rows at a time are cast into a
small per-thread float32 buffer (it stays in the CPU cache) and multiplied by the folded query
(:meth:`terrafind.core.store.codec.Int8Codec.fold`): measured 37-70 ms per million 384-d rows on 2 cores,
no slower than float32 because a quarter of the bytes come from memory (docs/performance.md).

Mapped pages count as the process's memory while they stay mapped. Above :data:`RELEASE_BYTES` a scan
hands each range back to the page cache after use (:meth:`StoredVectors.release`), so searching a 10 M
region never holds its 3.8 GB, nor a 1 M region its 0.37 GB: the next scan maps them again from the page
cache (~25-35 ms per million).
"""

from __future__ import annotations

import mmap
from pathlib import Path
from typing import Any

import numpy as np

from terrafind.core.store.codec import Int8Codec
from terrafind.core.store.rows import RowView

__all__ = ["map_array", "StoredVectors", "RELEASE_BYTES", "SUB_ROWS", "GATHER_RELEASE_ROWS"]

# Stores bigger than this give their pages back after each scan range: from ~0.7 M chips of 384-d. At 1 M
# (367 MB of codes) that costs an exact top-100 25-35 ms more (33 -> 57-67 ms, page cache warm) and keeps
# the whole file from staying resident in the app beside its search graph's process (docs/performance.md).
RELEASE_BYTES = 256 << 20
GATHER_RELEASE_ROWS = 256  # a gather of this many rows or more hands the pages back (see __getitem__)
SUB_ROWS = 2048  # rows cast per step: 2048 x 384 x 4 B = 3 MB fits the cache; 64k-row blocks ran 2-3x slower
_DONTNEED = getattr(mmap, "MADV_DONTNEED", None)


def map_array(path: Path, dtype: Any, shape: tuple[int, ...]) -> tuple[np.ndarray, mmap.mmap | None]:
    """(read-only array over the file, its mapping) ; an empty array (and None) for an empty file."""
    count = int(np.prod(shape))
    if count == 0:
        return np.zeros(shape, dtype), None
    with open(path, "rb") as fh:
        mm = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
    arr = np.frombuffer(mm, dtype=dtype, count=count).reshape(shape)
    return arr, mm


def release(mm: mmap.mmap | None, start: int = 0, stop: int | None = None) -> None:
    """Give the pages of bytes [start, stop) back to the page cache (no-op where madvise is missing)."""
    if mm is None or _DONTNEED is None or not hasattr(mm, "madvise"):
        return
    page = mmap.PAGESIZE
    a = (start // page) * page
    b = len(mm) if stop is None else min(len(mm), -(-stop // page) * page)
    if b > a:
        try:
            mm.madvise(_DONTNEED, a, b - a)
        except (OSError, ValueError):
            pass


class StoredVectors(RowView):
    """Unit vectors stored as int8 codes + 1/|decoded| per row (see the module docstring)."""

    dtype = np.dtype(np.float32)
    ndim = 2
    block_rows = SUB_ROWS

    def __init__(
        self, codes: np.ndarray, codec: Int8Codec, inv: np.ndarray, mapping: mmap.mmap | None = None
    ):
        self.codes, self.codec, self.inv = codes, codec, inv
        self._mapping = mapping
        self.release_pages = codes.nbytes > RELEASE_BYTES

    # --- array-like --------------------------------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, int]:
        return (int(self.codes.shape[0]), int(self.codes.shape[1]))

    @property
    def nbytes(self) -> int:
        return int(self.codes.nbytes)

    def _span(self, start: int, stop: int) -> np.ndarray:
        out = self.block(start, stop)
        if self.release_pages and stop - start >= GATHER_RELEASE_ROWS:
            self.release(start, stop)  # a scan block by block (refine's pool) must not keep them all
        return out

    def _gather(self, idx: np.ndarray) -> np.ndarray:
        if not (self.release_pages and len(idx) >= GATHER_RELEASE_ROWS):
            return self._decode(self.codes[idx], self.inv[idx])
        # Rows scattered over a big file: each page fault maps its neighbourhood too (fault-around,
        # readahead), so 20k random rows of a 10 M region made 2.7 GB of it resident in this process
        # (measured: the region sample of core.search.percentiles). Gather them in file order, a piece at a
        # time, handing each piece's range back before the next.
        order = np.argsort(idx, kind="stable")
        codes = np.empty((len(idx), self.shape[1]), self.codes.dtype)
        for a in range(0, len(order), GATHER_RELEASE_ROWS):
            part = order[a : a + GATHER_RELEASE_ROWS]
            rows = idx[part]
            codes[part] = self.codes[rows]
            self.release(int(rows[0]), int(rows[-1]) + 1)
        return self._decode(codes, self.inv[idx])

    def _decode(self, codes: np.ndarray, inv: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        out = self.codec.decode(codes, out)
        out *= np.asarray(inv, np.float32)[:, None]
        return out

    def block(self, start: int, stop: int, out: np.ndarray | None = None) -> np.ndarray:
        """Decoded unit rows [start, stop) as a new float32 array (or into ``out``)."""
        return self._decode(self.codes[start:stop], self.inv[start:stop], out)

    # --- scanning ----------------------------------------------------------------------------------------
    def fold(self, queries: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The query folded into the code (weights (d, q), constants (q,)): see :meth:`scores`."""
        return self.codec.fold(queries)

    def scores(
        self, start: int, stop: int, folded: tuple[np.ndarray, np.ndarray], buf: np.ndarray, out: np.ndarray
    ) -> None:
        """Cosines of rows [start, stop) with the folded queries into ``out`` ((stop-start, q) float32),
        :data:`SUB_ROWS` rows at a time through ``buf`` ((SUB_ROWS, d) float32, the caller's)."""
        weights, consts = folded
        single = weights.shape[1] == 1
        for a in range(start, stop, SUB_ROWS):
            b = min(stop, a + SUB_ROWS)
            part = buf[: b - a]
            np.copyto(part, self.codes[a:b], casting="unsafe")
            dest = out[a - start : b - start]
            if single:
                np.matmul(part, weights[:, 0], out=dest[:, 0])
            else:
                np.matmul(part, weights, out=dest)
            dest += consts
            dest *= self.inv[a:b, None]

    def release(self, start: int = 0, stop: int | None = None) -> None:
        """Hand rows [start, stop) (all by default) back to the page cache (see the module docstring)."""
        row = self.shape[1] * self.codes.itemsize
        release(self._mapping, start * row, None if stop is None else stop * row)
