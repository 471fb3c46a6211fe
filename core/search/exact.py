"""Exact (brute-force) top-k by cosine: a blocked matrix product over the whole catalog.

Why brute force at all: on the 2-core reference machine one query over 1M x 384 float32 runs at memory
bandwidth (~55-60 ms, docs/performance.md), needs no build step and has recall 1.0. So it serves small
regions outright and answers every search while the hnswlib index is still being built.

Why blocks: ``X @ Q.T`` for many queries (mode "max" with many positives) would otherwise allocate an
(N, q) float32 score matrix; a block of rows keeps it small, and ``argpartition`` per block keeps only k
candidates per query.

Why our own threads instead of BLAS's: the rows are split into one contiguous range per core, each scanned
by a pool thread with BLAS limited to one thread (numpy releases the GIL). OpenBLAS's own threads wait
for each other at every call, so when the cores are busy (the index building in the background, other
programs) one descheduled thread stalls the other: on 500k x 384 while an index was building, a query
took 68-218 ms with OpenBLAS's 2 threads and 57-115 ms with this split over four runs, faster in each
(docs/performance.md). A search in a worker thread does not freeze the GUI thread either way.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from terrafind.core.progress import CancelToken, check

__all__ = ["EXACT_MAX_ROWS", "DEFAULT_BLOCK_ROWS", "exact_topk", "exact_scored_topk", "top_sorted"]

# The switch point between exact search and the hnswlib index, measured with `bench/core.py --switch`
# (docs/performance.md, "Core engine"): exact top-100 over N x 384 costs ~5.7 ms per 100k rows on 2 cores
# (100k: 5.7 ms, 300k: 17 ms, 500k: 28 ms, 1M: 56 ms), hnswlib 0.4-0.9 ms. Up to 300k rows (~0.46 GB of
# float32 at 384-d) a search stays under ~20 ms, which nobody notices, with recall 1.0 and no index to
# build; above it the index pays for its build (about a minute per 300k rows) on every search.
EXACT_MAX_ROWS = 300_000

# 64k rows x 384-d float32 = 96 MB per block is large enough for BLAS to run at full bandwidth and
# small enough that the (block, q) score matrix of a multi-positive query stays modest.
DEFAULT_BLOCK_ROWS = 65_536

ScoreBlockFn = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray | None]]

# Below this many rows per core a scan takes a few ms and threads would only add overhead.
_MIN_ROWS_PER_THREAD = 32_768
_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None
_controller: Any = None


def _workers() -> int:
    return max(1, min(8, os.cpu_count() or 1))


def _ranges(n: int) -> list[tuple[int, int]]:
    """One contiguous range of rows per worker (or one range for small matrices)."""
    workers = min(_workers(), n // _MIN_ROWS_PER_THREAD)
    if workers <= 1:
        return [(0, n)]
    edges = np.linspace(0, n, workers + 1).astype(np.int64)
    return [(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:], strict=True)]


def _blas_one_thread() -> contextlib.AbstractContextManager[Any]:
    """Limit BLAS to one thread while our own threads share the work (see the module docstring)."""
    global _controller
    try:
        if _controller is None:
            from threadpoolctl import ThreadpoolController

            _controller = ThreadpoolController()  # inspecting the loaded libraries once is the slow part
        return _controller.limit(limits=1, user_api="blas")
    except Exception:  # no threadpoolctl or an unknown BLAS: run with BLAS's own threads
        return contextlib.nullcontext()


def _map_ranges(fn: Callable[[int, int], Any], n: int) -> list[Any]:
    """``fn(start, stop)`` over the row ranges, in parallel when there is more than one."""
    global _pool
    ranges = _ranges(n)
    if len(ranges) == 1:
        return [fn(*ranges[0])]
    with _lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=_workers(), thread_name_prefix="terrafind-exact")
    with _blas_one_thread():
        futures = [_pool.submit(fn, a, b) for a, b in ranges]
        return [f.result() for f in futures]


def _exclude_array(exclude: Iterable[int] | None, n: int) -> np.ndarray:
    """Unique in-range rows to leave out, sorted (so each block can slice its own with searchsorted)."""
    if exclude is None:
        return np.zeros(0, dtype=np.int64)
    arr = np.unique(np.fromiter((int(r) for r in exclude), dtype=np.int64))
    return arr[(arr >= 0) & (arr < n)]


def top_sorted(rows: np.ndarray, scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The best ``k`` of (rows, scores), best first; equal scores ordered by row so results are deterministic."""
    if len(rows) > k:
        # argpartition first: sorting all candidates would cost O(n log n) for nothing.
        part = np.argpartition(-scores, k - 1)[:k]
        # Ties at the cut would be chosen arbitrarily by argpartition: take every candidate that ties
        # the k-th score and let the row order decide.
        kth = scores[part].min()
        part = np.flatnonzero(scores >= kth)
        rows, scores = rows[part], scores[part]
    order = np.lexsort((rows, -scores))[:k]
    return rows[order], scores[order]


def exact_topk(
    matrix: np.ndarray,
    queries: np.ndarray,
    k: int,
    *,
    exclude: Iterable[int] | None = None,
    block_rows: int = DEFAULT_BLOCK_ROWS,
    cancel: CancelToken | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Exact top-``k`` rows of ``matrix`` by inner product with each query.

    Parameters
    ----------
    matrix : (N, d) float32, rows of unit length (inner product = cosine).
    queries : (q, d) or (d,) float32.
    k : how many rows per query; fewer come back when fewer than ``k`` rows are not excluded.
    exclude : rows never returned (the user's labelled chips).

    Returns
    -------
    rows : (q, k') int64, best first, ties ordered by row.
    sims : (q, k') float32 in [-1, 1].
    """
    q = np.atleast_2d(np.asarray(queries, dtype=np.float32))
    n = int(matrix.shape[0])
    excl = _exclude_array(exclude, n)
    k_eff = max(0, min(int(k), n - len(excl)))
    if k_eff == 0 or q.shape[0] == 0:
        return np.zeros((q.shape[0], 0), np.int64), np.zeros((q.shape[0], 0), np.float32)
    qt = np.ascontiguousarray(q.T)
    single = q.shape[0] == 1

    def scan(first: int, last: int) -> tuple[list[list[np.ndarray]], list[list[np.ndarray]]]:
        rows_c: list[list[np.ndarray]] = [[] for _ in range(q.shape[0])]
        sims_c: list[list[np.ndarray]] = [[] for _ in range(q.shape[0])]
        for start in range(first, last, block_rows):
            check(cancel)
            stop = min(last, start + block_rows)
            # (b, q), GIL released; one query goes as a matrix-vector product (no packing of the block).
            sims = (matrix[start:stop] @ q[0])[:, None] if single else matrix[start:stop] @ qt
            # Cosines of unit vectors; rounding can put a near-duplicate a whisker over 1. Clipping before
            # the cut lets such ties be ordered by row like any other.
            np.clip(sims, -1.0, 1.0, out=sims)
            lo, hi = np.searchsorted(excl, [start, stop])
            if hi > lo:
                sims[excl[lo:hi] - start, :] = -np.inf
            for j in range(q.shape[0]):
                col = sims[:, j]
                if len(col) > k_eff:
                    idx = np.argpartition(-col, k_eff - 1)[:k_eff]
                    # Keep rows that tie the k-th score too, so the final cut can order ties by row.
                    idx = np.flatnonzero(col >= col[idx].min())
                else:
                    idx = np.arange(len(col))
                rows_c[j].append(idx.astype(np.int64) + start)
                sims_c[j].append(col[idx])
        return rows_c, sims_c

    parts = _map_ranges(scan, n)
    cand_rows = [[r for part in parts for r in part[0][j]] for j in range(q.shape[0])]
    cand_sims = [[v for part in parts for v in part[1][j]] for j in range(q.shape[0])]
    out_rows = np.empty((q.shape[0], k_eff), np.int64)
    out_sims = np.empty((q.shape[0], k_eff), np.float32)
    for j in range(q.shape[0]):
        r, s = top_sorted(np.concatenate(cand_rows[j]), np.concatenate(cand_sims[j]), k_eff)
        out_rows[j], out_sims[j] = r, s
    return out_rows, out_sims


def exact_scored_topk(
    matrix: np.ndarray,
    score_block: ScoreBlockFn,
    k: int,
    *,
    exclude: Iterable[int] | None = None,
    block_rows: int = DEFAULT_BLOCK_ROWS,
    cancel: CancelToken | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Exact top-``k`` rows under any per-row score computed block by block.

    ``score_block(block)`` gets a (b, d) slice of ``matrix`` and returns (scores (b,), aux (b,) int64 or
    None); ``aux`` travels with each row (mode "max" uses it for the index of the matched positive).
    Returns (rows (k',) int64, scores (k',) float32, aux (k',) int64 (-1 without aux)), best first.
    """
    n = int(matrix.shape[0])
    excl = _exclude_array(exclude, n)
    k_eff = max(0, min(int(k), n - len(excl)))
    empty = np.zeros(0, np.int64)
    if k_eff == 0:
        return empty, np.zeros(0, np.float32), empty

    def scan(first: int, last: int) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        out = []
        for start in range(first, last, block_rows):
            check(cancel)
            stop = min(last, start + block_rows)
            scores, aux = score_block(matrix[start:stop])
            # A copy: score_block may hand back a view of the matrix, and excluded rows are overwritten.
            scores = np.array(scores, dtype=np.float32, copy=True)
            lo, hi = np.searchsorted(excl, [start, stop])
            if hi > lo:
                scores[excl[lo:hi] - start] = -np.inf
            if len(scores) > k_eff:
                idx = np.argpartition(-scores, k_eff - 1)[:k_eff]
                idx = np.flatnonzero(scores >= scores[idx].min())
            else:
                idx = np.arange(len(scores))
            aux_kept = np.full(len(idx), -1, np.int64) if aux is None else np.asarray(aux, np.int64)[idx]
            out.append((idx.astype(np.int64) + start, scores[idx], aux_kept))
        return out

    pieces = [piece for part in _map_ranges(scan, n) for piece in part]
    rows_parts = [p[0] for p in pieces]
    score_parts = [p[1] for p in pieces]
    aux_parts = [p[2] for p in pieces]
    rows = np.concatenate(rows_parts)
    scores = np.concatenate(score_parts)
    aux_all = np.concatenate(aux_parts)
    best_rows, best_scores = top_sorted(rows, scores, k_eff)
    # Map the chosen rows back to their aux values (rows are unique across blocks).
    order = np.argsort(rows)
    aux_best = aux_all[order[np.searchsorted(rows[order], best_rows)]]
    return best_rows, best_scores, aux_best
