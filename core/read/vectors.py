"""Embedding columns (Arrow list arrays) to rows of a float32 matrix, without a Python loop per row.

Each record batch's list column is turned into an (n, d) numpy view of its child values buffer (zero-copy for
float32 without nulls), checked with one pass (row norms: NaN, infinite and zero rows all show up there) and
made unit with one more pass (:func:`unit_rows`); the region store then keeps them
(:mod:`terrafind.core.store.writer`). Only one batch is in memory at a time.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from terrafind.core.errors import InputError

__all__ = ["batch_matrix", "row_norms", "unit_rows"]


_PRIMITIVE = {
    pa.float32(): np.float32,
    pa.float64(): np.float64,
    pa.float16(): np.float16,
    pa.int8(): np.int8,
    pa.uint8(): np.uint8,
    pa.int16(): np.int16,
    pa.uint16(): np.uint16,
    pa.int32(): np.int32,
    pa.int64(): np.int64,
}


def _as_numpy(values: pa.Array) -> np.ndarray:
    """Child values as numpy; float nulls become NaN (so the row is later skipped as invalid).

    Numbers without nulls are viewed straight from the Arrow buffer: pyarrow's own ``to_numpy`` imports
    pandas the first time (0.8 s of an open)."""
    dtype = _PRIMITIVE.get(values.type)
    if dtype is not None and not values.null_count:
        return np.frombuffer(
            values.buffers()[1],
            dtype=dtype,
            count=len(values),
            offset=values.offset * np.dtype(dtype).itemsize,
        )
    if values.null_count:
        values = values.cast(pa.float64()) if not pa.types.is_floating(values.type) else values
        return values.to_numpy(zero_copy_only=False)
    try:
        return values.to_numpy(zero_copy_only=True)
    except pa.ArrowInvalid:
        return values.to_numpy(zero_copy_only=False)


def batch_matrix(arr: pa.Array, dim: int | None, label: str) -> tuple[np.ndarray, np.ndarray | None, int]:
    """An (n, d) view of a list column chunk, the rows that are present (None = all) and d.

    ``dim`` is the width the file (or an earlier file) already fixed, or None to take it from this chunk.
    Rows that are null or empty come back as zeros and False in the mask; rows of another length raise
    :class:`InputError` naming ``label``.
    """
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    n = len(arr)
    t = arr.type
    if pa.types.is_fixed_size_list(t):
        d = t.list_size
        _check_dim(dim, d, label)
        # .values ignores the slice offset of the parent; null rows still own d slots (filtered by the mask).
        child = arr.values.slice(arr.offset * d, n * d)
        mat = _as_numpy(child).reshape(n, d) if d else np.zeros((n, 0), np.float32)
        present = arr.is_valid().to_numpy(zero_copy_only=False) if arr.null_count else None
        return mat, present, d
    if not (pa.types.is_list(t) or pa.types.is_large_list(t)):
        raise InputError(f"The embedding column in {label} is {t}, not a list of numbers.")
    offsets = arr.offsets.to_numpy()  # n + 1 entries, already shifted by the slice offset
    lengths = np.diff(offsets)
    if n == 0:
        return np.zeros((0, dim or 0), np.float32), None, dim or 0
    nonzero = lengths[lengths > 0]
    if len(nonzero):
        _check_dim(dim, int(nonzero[0]), label)  # this chunk against earlier files / batches
        d = int(nonzero[0])
    else:
        d = dim or 0
    if n and lengths.min() == d and lengths.max() == d:  # the common case: every row complete
        child = arr.values.slice(int(offsets[0]), n * d)
        return (
            _as_numpy(child).reshape(n, d),
            (arr.is_valid().to_numpy(zero_copy_only=False) if arr.null_count else None),
            d,
        )
    # Some rows are null/empty (length 0) or of another width.
    odd = (lengths != d) & (lengths != 0)
    if odd.any():
        i = int(np.flatnonzero(odd)[0])
        raise InputError(
            f"The embeddings in {label} do not all have the same length ({d} and {int(lengths[i])} values): "
            "the file mixes vectors of different models or is damaged."
        )
    present = lengths == d
    if arr.null_count:
        present &= arr.is_valid().to_numpy(zero_copy_only=False)
    mat = np.zeros((n, d), dtype=np.float32 if pa.types.is_float32(t.value_type) else np.float64)
    full = arr.filter(pa.array(present))
    if len(full):
        mat[present] = _as_numpy(full.flatten()).reshape(-1, d)
    return mat, present, d


def _check_dim(dim: int | None, d: int, label: str) -> None:
    if dim is not None and dim != d:
        raise InputError(
            f"The embeddings in {label} have {d} values but the others have {dim}: "
            "open files made by the same model together."
        )


def row_norms(mat: np.ndarray) -> np.ndarray:
    """L2 norm of every row in one pass (NaN or inf when a row holds NaN or inf)."""
    if mat.dtype == np.float32 or mat.dtype == np.float64:
        return np.sqrt(np.einsum("ij,ij->i", mat, mat))
    m = mat.astype(np.float32)
    return np.sqrt(np.einsum("ij,ij->i", m, m))


def unit_rows(mat: np.ndarray, norms: np.ndarray) -> np.ndarray:
    """``mat`` divided by ``norms`` row by row as float32 (one pass: read, divide, cast)."""
    out = np.empty(mat.shape, dtype=np.float32)
    np.divide(mat, norms[:, None], out=out, casting="unsafe")
    return out
