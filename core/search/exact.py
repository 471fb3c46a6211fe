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

__all__ = [
    "EXACT_MAX_ROWS",
    "DEFAULT_BLOCK_ROWS",
    "STREAM_MIN_ROWS",
    "exact_topk",
    "exact_scored_topk",
    "top_sorted",
    "blas_one_thread",
]

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
PartialFn = Callable[[np.ndarray, np.ndarray, int, int], None]

# A scan of at least this many rows, given a ``partial`` callback, goes in STREAM_ROUNDS rounds, each a
# sample spread over the region, and reports the best so far after each: at 10 M chips the first hits are
# on screen after a tenth of the scan (docs/performance.md).
STREAM_MIN_ROWS = 2_000_000
STREAM_ROUNDS = 10
_STORED_SCORED_ROWS = 8192  # decoded rows per block for a score function (12 MB of float32 at 384-d)

# Below this many rows per core a scan takes a few ms and threads would only add overhead.
_MIN_ROWS_PER_THREAD = 32_768
_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None
_controller: Any = None


def _workers() -> int:
    return max(1, min(8, os.cpu_count() or 1))


def blas_one_thread() -> contextlib.AbstractContextManager[Any]:
    """Limit BLAS to one thread while our own threads share the work (see the module docstring)."""
    global _controller
    try:
        if _controller is None:
            from threadpoolctl import ThreadpoolController

            _controller = ThreadpoolController()  # inspecting the loaded libraries once is the slow part
        return _controller.limit(limits=1, user_api="blas")
    except Exception:  # no threadpoolctl or an unknown BLAS: run with BLAS's own threads
        return contextlib.nullcontext()


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


def _is_stored(matrix: Any) -> bool:
    """True for vectors kept as codes on disk (terrafind.core.store.vectors.StoredVectors)."""
    return not isinstance(matrix, np.ndarray) and hasattr(matrix, "scores")


def _rounds(n: int, block_rows: int, rounds: int) -> list[list[tuple[int, int]]]:
    """Blocks of rows grouped in ``rounds`` rounds, round r taking every r-th block: each round is a sample
    spread over the whole region, so the first round's hits are already found everywhere."""
    blocks = [(a, min(n, a + block_rows)) for a in range(0, n, block_rows)]
    return [blocks[r::rounds] for r in range(rounds) if blocks[r::rounds]]


def _split(blocks: list[tuple[int, int]]) -> list[list[tuple[int, int]]]:
    """A round's blocks shared among the workers, each a contiguous run."""
    workers = min(_workers(), max(1, sum(b - a for a, b in blocks) // _MIN_ROWS_PER_THREAD))
    if workers <= 1:
        return [blocks]
    edges = np.linspace(0, len(blocks), workers + 1).astype(int)
    return [blocks[a:b] for a, b in zip(edges[:-1], edges[1:], strict=True) if b > a]


def _run(fn: Callable[[list[tuple[int, int]]], Any], blocks: list[tuple[int, int]]) -> list[Any]:
    """``fn(blocks)`` for each worker's share of ``blocks``, in parallel when there is more than one."""
    global _pool
    shares = _split(blocks)
    if len(shares) == 1:
        return [fn(shares[0])]
    with _lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=_workers(), thread_name_prefix="terrafind-exact")
    with blas_one_thread():
        futures = [_pool.submit(fn, share) for share in shares]
        return [f.result() for f in futures]


def _keep_best(col: np.ndarray, k: int) -> np.ndarray:
    """Positions of the ``k`` best of ``col`` and every one tying the k-th (the final cut orders ties)."""
    if len(col) <= k:
        return np.arange(len(col))
    idx = np.argpartition(-col, k - 1)[:k]
    return np.flatnonzero(col >= col[idx].min())


def exact_topk(
    matrix: Any,
    queries: np.ndarray,
    k: int,
    *,
    exclude: Iterable[int] | None = None,
    block_rows: int = DEFAULT_BLOCK_ROWS,
    cancel: CancelToken | None = None,
    partial: PartialFn | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Exact top-``k`` rows of ``matrix`` by inner product with each query.

    Parameters
    ----------
    matrix : (N, d) float32 rows of unit length (inner product = cosine), or stored vectors
        (:class:`terrafind.core.store.vectors.StoredVectors`: int8 codes scanned in cached blocks).
    queries : (q, d) or (d,) float32.
    k : how many rows per query; fewer come back when fewer than ``k`` rows are not excluded.
    exclude : rows never returned (the user's labelled chips).
    partial : called with the best so far (rows, sims of the first query), the rows scanned and N after
        each round of a big scan (see :data:`STREAM_MIN_ROWS`): the app shows the first hits at once.

    Returns
    -------
    rows : (q, k') int64, best first, ties ordered by row.
    sims : (q, k') float32 in [-1, 1].
    """
    q = np.atleast_2d(np.asarray(queries, dtype=np.float32))
    n = int(matrix.shape[0])
    excl = _exclude_array(exclude, n)
    k_eff = max(0, min(int(k), n - len(excl)))
    nq = q.shape[0]
    if k_eff == 0 or nq == 0:
        return np.zeros((nq, 0), np.int64), np.zeros((nq, 0), np.float32)
    stored = _is_stored(matrix)
    folded = matrix.fold(q) if stored else None
    qt = np.ascontiguousarray(q.T)

    def scan(blocks: list[tuple[int, int]]) -> list[tuple[list[np.ndarray], list[np.ndarray]]]:
        rows_c: list[list[np.ndarray]] = [[] for _ in range(nq)]
        sims_c: list[list[np.ndarray]] = [[] for _ in range(nq)]
        if stored:
            buf = np.empty((matrix.block_rows, matrix.shape[1]), np.float32)
            out = np.empty((block_rows, nq), np.float32)
        for start, stop in blocks:
            check(cancel)
            if stored:
                sims = out[: stop - start]
                matrix.scores(start, stop, folded, buf, sims)
                if matrix.release_pages:
                    matrix.release(start, stop)
            else:
                # (b, q), GIL released; one query goes as a matrix-vector product (no packing of the block).
                sims = (matrix[start:stop] @ q[0])[:, None] if nq == 1 else matrix[start:stop] @ qt
            # Cosines of unit vectors; rounding can put a near-duplicate a whisker over 1. Clipping before
            # the cut lets such ties be ordered by row like any other.
            np.clip(sims, -1.0, 1.0, out=sims)
            lo, hi = np.searchsorted(excl, [start, stop])
            if hi > lo:
                sims[excl[lo:hi] - start, :] = -np.inf
            for j in range(nq):
                col = sims[:, j]
                idx = _keep_best(col, k_eff)
                rows_c[j].append(idx.astype(np.int64) + start)
                sims_c[j].append(col[idx].copy())
        return [(rows_c[j], sims_c[j]) for j in range(nq)]

    rounds = _rounds(n, block_rows, STREAM_ROUNDS if partial is not None and n >= STREAM_MIN_ROWS else 1)
    cand_rows: list[list[np.ndarray]] = [[] for _ in range(nq)]
    cand_sims: list[list[np.ndarray]] = [[] for _ in range(nq)]
    scanned = 0
    for blocks in rounds:
        for part in _run(scan, blocks):
            for j in range(nq):
                cand_rows[j].extend(part[j][0])
                cand_sims[j].extend(part[j][1])
        scanned += sum(b - a for a, b in blocks)
        if len(rounds) > 1:
            for j in range(nq):  # keep the candidate lists short between rounds
                r, s_ = top_sorted(np.concatenate(cand_rows[j]), np.concatenate(cand_sims[j]), k_eff)
                cand_rows[j], cand_sims[j] = [r], [s_]
            if partial is not None and scanned < n:
                partial(cand_rows[0][0], cand_sims[0][0], scanned, n)
    out_rows = np.empty((nq, k_eff), np.int64)
    out_sims = np.empty((nq, k_eff), np.float32)
    for j in range(nq):
        r, s_ = top_sorted(np.concatenate(cand_rows[j]), np.concatenate(cand_sims[j]), k_eff)
        out_rows[j], out_sims[j] = r, s_
    return out_rows, out_sims


def exact_scored_topk(
    matrix: Any,
    score_block: ScoreBlockFn,
    k: int,
    *,
    exclude: Iterable[int] | None = None,
    block_rows: int = DEFAULT_BLOCK_ROWS,
    cancel: CancelToken | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Exact top-``k`` rows under any per-row score computed block by block.

    ``score_block(block)`` gets a (b, d) float32 block of unit rows (a slice of ``matrix``, or rows of
    stored vectors decoded into a buffer) and returns (scores (b,), aux (b,) int64 or None); ``aux``
    travels with each row (mode "max" uses it for the index of the matched positive). Returns (rows (k',)
    int64, scores (k',) float32, aux (k',) int64 (-1 without aux)), best first.
    """
    n = int(matrix.shape[0])
    excl = _exclude_array(exclude, n)
    k_eff = max(0, min(int(k), n - len(excl)))
    empty = np.zeros(0, np.int64)
    if k_eff == 0:
        return empty, np.zeros(0, np.float32), empty
    stored = _is_stored(matrix)
    if stored:  # decoded rows go through a buffer: keep it cache-sized
        block_rows = min(block_rows, _STORED_SCORED_ROWS)

    def scan(blocks: list[tuple[int, int]]) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        out = []
        buf = np.empty((block_rows if stored else 0, matrix.shape[1]), np.float32)
        for start, stop in blocks:
            check(cancel)
            if stored:
                block = matrix.block(start, stop, out=buf[: stop - start])
                if matrix.release_pages:
                    matrix.release(start, stop)
            else:
                block = matrix[start:stop]
            scores, aux = score_block(block)
            # A copy: score_block may hand back a view of the matrix, and excluded rows are overwritten.
            scores = np.array(scores, dtype=np.float32, copy=True)
            lo, hi = np.searchsorted(excl, [start, stop])
            if hi > lo:
                scores[excl[lo:hi] - start] = -np.inf
            idx = _keep_best(scores, k_eff)
            aux_kept = np.full(len(idx), -1, np.int64) if aux is None else np.asarray(aux, np.int64)[idx]
            out.append((idx.astype(np.int64) + start, scores[idx], aux_kept))
        return out

    (blocks,) = _rounds(n, block_rows, 1)
    pieces = [piece for part in _run(scan, blocks) for piece in part]
    rows = np.concatenate([p[0] for p in pieces])
    scores = np.concatenate([p[1] for p in pieces])
    aux_all = np.concatenate([p[2] for p in pieces])
    best_rows, best_scores = top_sorted(rows, scores, k_eff)
    # Map the chosen rows back to their aux values (rows are unique across blocks).
    order = np.argsort(rows)
    aux_best = aux_all[order[np.searchsorted(rows[order], best_rows)]]
    return best_rows, best_scores, aux_best
