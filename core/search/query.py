"""Search by example: rank every chip by its likeness to the user's positive (and away from negative) chips.

Two modes (all vectors unit length, so an inner product is a cosine):

``mean``  q = normalize( mean(P) - BETA * mean(N) ),  score(x) = <q, x>
    P are the positives, N the negatives (empty mean = 0). With BETA = 0.5 this is exactly the direction of
    Earth Index's ``2 * mean(pos) - mean(neg)`` (scaling does not change a direction) and a Rocchio-style
    push away from what the user rejected, without letting one negative outweigh the positives. It is one
    query, so it uses the index at full speed.

``max``   score(x) = max_i <p_i, x>  -  BETA * max(0, max_j <n_j, x>)
    Each candidate is scored by its closest positive, so several *different* kinds of example (a pond and a
    quarry) each find their own lookalikes instead of a blurred average. ``matched`` records that positive.
    A candidate that resembles a negative loses half of that resemblance (only positive likeness counts:
    being unlike a negative is not a reason to rank higher).

Scores are clipped into [-1, 1]; labelled chips (positives, negatives, ``exclude``) never appear in the
results; ties are ordered by row, so the same search always gives the same list.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

import numpy as np

from terrafind.core.catalog import Catalog
from terrafind.core.errors import InputError
from terrafind.core.progress import CancelToken, check
from terrafind.core.search.exact import EXACT_MAX_ROWS, exact_scored_topk, exact_topk, top_sorted
from terrafind.core.search.index import VectorIndex
from terrafind.core.types import Examples, SearchResult

__all__ = ["BETA", "MAX_K", "MODES", "search", "example_vectors", "mean_query"]

BETA = 0.5
MAX_K = 10_000
MODES = ("mean", "max")


def _unit_rows(vectors: np.ndarray | None, dim: int, what: str) -> np.ndarray:
    if vectors is None or len(vectors) == 0:
        return np.zeros((0, dim), np.float32)
    v = np.atleast_2d(np.asarray(vectors, dtype=np.float32))
    if v.shape[1] != dim:
        raise InputError(
            f"The {what} example vectors have {v.shape[1]} numbers each but this data has {dim}."
        )
    norms = np.linalg.norm(v, axis=1, keepdims=True)
    if not np.all(np.isfinite(v)) or np.any(norms == 0):
        raise InputError(f"One of the {what} example vectors is empty or not a number; leave it out.")
    return (v / norms).astype(np.float32)


def _check_rows(rows: Iterable[int], n: int, what: str) -> list[int]:
    out = [int(r) for r in rows]
    bad = [r for r in out if not 0 <= r < n]
    if bad:
        raise InputError(f"The {what} example chip {bad[0]} is not in the loaded data ({n} chips).")
    return out


def example_vectors(catalog: Catalog, examples: Examples) -> tuple[np.ndarray, np.ndarray]:
    """(positives (p, d), negatives (m, d)) as unit vectors: chips by row first, then raw vectors."""
    d = catalog.dim
    pos_rows = _check_rows(examples.positives, len(catalog), "positive")
    neg_rows = _check_rows(examples.negatives, len(catalog), "negative")
    pos = np.concatenate([catalog.vectors[pos_rows], _unit_rows(examples.positive_vectors, d, "positive")])
    neg = np.concatenate([catalog.vectors[neg_rows], _unit_rows(examples.negative_vectors, d, "negative")])
    return pos.astype(np.float32), neg.astype(np.float32)


def mean_query(pos: np.ndarray, neg: np.ndarray) -> np.ndarray:
    """The unit query vector of mode ``mean``: normalize(mean(P) - BETA * mean(N))."""
    q = pos.mean(axis=0)
    if len(neg):
        q = q - BETA * neg.mean(axis=0)
    norm = float(np.linalg.norm(q))
    if not np.isfinite(norm) or norm < 1e-6:
        raise InputError(
            "The positive and negative examples cancel each other out; remove a negative example."
        )
    return (q / norm).astype(np.float32)


def _max_scores(block: np.ndarray, pos: np.ndarray, neg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mode ``max`` scores of a block of unit vectors and the index of each row's best positive."""
    s = block @ pos.T
    matched = s.argmax(axis=1)
    score = s[np.arange(len(s)), matched]
    if len(neg):
        score = score - BETA * np.maximum(0.0, (block @ neg.T).max(axis=1))
    return np.clip(score, -1.0, 1.0).astype(np.float32), matched.astype(np.int64)


def _validate(catalog: Catalog, examples: Examples, k: int, mode: str, threshold: float | None) -> None:
    if mode not in MODES:
        raise InputError(f"Unknown search mode {mode!r}; use one of: {', '.join(MODES)}.")
    if not 1 <= int(k) <= MAX_K:
        raise InputError(f"Ask for between 1 and {MAX_K} results (got {k}).")
    if threshold is not None and not np.isfinite(threshold):
        raise InputError("The score threshold must be a number between -1 and 1.")
    if examples.is_empty():
        raise InputError("Add at least one example chip (a positive) before searching.")


def search(
    catalog: Catalog,
    examples: Examples,
    *,
    k: int = 100,
    mode: str = "mean",
    threshold: float | None = None,
    index: VectorIndex | None = None,
    exclude: Iterable[int] = (),
    cancel: CancelToken | None = None,
    partial: Callable[[SearchResult, float], None] | None = None,
) -> SearchResult:
    """Rank the catalog's chips by likeness to ``examples`` (see the module docstring for the formulas).

    Exact (blocked matrix product) when there is no index, when the index does not cover this catalog,
    when the catalog is small enough (``len(catalog) <= EXACT_MAX_ROWS``) that exact is as fast, or when
    the positives are far apart (mode "mean": :func:`_far_apart`); otherwise the hnswlib index
    over-fetches candidates (k + excluded + a margin) and they are re-scored exactly.
    Returns at most ``k`` hits with score >= ``threshold`` (when given), best first. ``partial(result,
    share)`` gets the best so far of a long exact scan (mode "mean"; see
    :func:`terrafind.core.search.exact.exact_topk`).
    """
    t0 = time.perf_counter()
    _validate(catalog, examples, k, mode, threshold)
    pos, neg = example_vectors(catalog, examples)
    excluded = np.unique(
        np.fromiter((int(r) for r in (*examples.positives, *examples.negatives, *exclude)), dtype=np.int64)
    )
    use_index = (
        index is not None
        and len(index) == len(catalog)
        and index.dim == catalog.dim
        and len(catalog) > EXACT_MAX_ROWS
        and not (mode == "mean" and _far_apart(catalog, examples))
    )
    check(cancel)

    def _result(rows: np.ndarray, scores: np.ndarray, matched: np.ndarray, method: str) -> SearchResult:
        scores = np.clip(scores, -1.0, 1.0).astype(np.float32)  # clipped per block already; keep the promise
        if threshold is not None:
            keep = scores >= float(threshold)
            rows, scores, matched = rows[keep], scores[keep], matched[keep]
        return SearchResult(
            rows=rows.astype(np.int64),
            scores=scores,
            matched=matched.astype(np.int64),
            mode=mode,
            k=int(k),
            threshold=None if threshold is None else float(threshold),
            positives=tuple(int(r) for r in examples.positives),
            negatives=tuple(int(r) for r in examples.negatives),
            method=method,
            elapsed_ms=(time.perf_counter() - t0) * 1000.0,
        )

    if mode == "mean":
        q = mean_query(pos, neg)
        if use_index:
            rows, scores = _index_candidates(index, q[None, :], k, excluded)  # type: ignore[arg-type]
            scores = np.clip(catalog.vectors[rows] @ q, -1.0, 1.0)  # exact scores of the candidates
            rows, scores = top_sorted(rows, scores.astype(np.float32), k)
        else:

            def streamed(rows: np.ndarray, sims: np.ndarray, done: int, total: int) -> None:
                if partial is not None:
                    partial(_result(rows, sims, np.full(len(rows), -1, np.int64), "exact"), done / total)

            r, s = exact_topk(catalog.vectors, q, k, exclude=excluded, cancel=cancel, partial=streamed)
            rows, scores = r[0], s[0]
        matched = np.full(len(rows), -1, np.int64)
    else:
        if use_index:
            rows, _ = _index_candidates(index, pos, k, excluded)  # type: ignore[arg-type]
            cand_scores, cand_matched = _max_scores(catalog.vectors[rows], pos, neg)
            best, scores = top_sorted(rows, cand_scores, k)
            matched = cand_matched[np.searchsorted(rows, best)]
            rows = best
        else:
            rows, scores, matched = exact_scored_topk(
                catalog.vectors, lambda b: _max_scores(b, pos, neg), k, exclude=excluded, cancel=cancel
            )
    return _result(rows, scores, matched, "index" if use_index else "exact")


def _far_apart(catalog: Catalog, examples: Examples) -> bool:
    """Positives as unlike each other as random chips (core.search.closeness, the line of the "far apart"
    warning): their mean lies between kinds, where the graph's walk stops in the wrong neighbourhood.
    Measured on 1 M and 10 M clustered chips (docs/performance.md): recall@100 0.87 for such means against
    0.96-0.98 for one example or alike ones; they are scored exactly instead (~90 ms at 1 M, 0.5 s at
    10 M, streamed) at recall 0.98."""
    from terrafind.core.search.closeness import SPREAD_WARN_CLOSENESS, closeness

    c = closeness(catalog, examples.positives)  # None for fewer than two distinct examples
    return c is not None and c < SPREAD_WARN_CLOSENESS


def _index_candidates(
    index: VectorIndex, queries: np.ndarray, k: int, excluded: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Unique candidate rows (sorted) from the index for every query, labelled rows removed.

    Over-fetch by the number of excluded rows (they may all be among the nearest) plus a 10 % margin, so
    that k hits remain after removing them and after exact re-scoring reorders the tail.
    """
    fetch = int(k) + len(excluded) + max(10, int(k) // 10)
    rows, sims = index.query(queries, fetch)
    flat_rows, flat_sims = rows.reshape(-1), sims.reshape(-1)
    keep = ~np.isin(flat_rows, excluded) & (flat_rows >= 0)
    uniq, first = np.unique(flat_rows[keep], return_index=True)
    return uniq, flat_sims[keep][first]
