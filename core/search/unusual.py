"""Unusual places, no examples needed: a starting point for a survey.

Two ways to call a chip unusual:

``loss``     the file's own reconstruction loss (the Clay v1 layout, :mod:`terrafind.core.read.v1`): a
             chip the model reconstructs badly is unlike what it learned from. Clouds and plain water have
             low loss; odd places high. Ranking by it costs nothing.
``novelty``  how far a chip lies from its ``neighbours`` nearest chips of the region in embedding space:
             1 - the mean cosine to them. A chip in a dense crowd of look-alikes scores near 0; one with
             few look-alikes anywhere scores high. It needs no examples and no loss column.

Novelty must scale to millions of chips, so it is never an all-pairs scan:

* with a search index (large regions), each chip's neighbours come from the graph, re-scored exactly,
  in batches (``index.candidates``);
* without one, each chip is compared with a fixed random reference sample of the region
  (:data:`REFERENCE` chips, all of them for a small region): its nearest chips *among the sample*. The
  k-th nearest of a sample is farther than the k-th nearest of the region, but the order of chips, which
  is what a survey uses, is kept (dense places stay dense).

Either way the cost is one pass over the region: (N x REFERENCE) dot products without an index.
The result is a search result like any: ranked chips, a share of the region for each ("top 0.1 %"), ready
to label, refine and export. Scores are the novelty (0..2) or the loss, in the data's own units.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from terrafind.core.catalog import Catalog
from terrafind.core.errors import InputError
from terrafind.core.progress import CancelToken, ProgressFn, check, report
from terrafind.core.search.exact import top_sorted
from terrafind.core.search.percentiles import RegionPercentiles, sample_rows
from terrafind.core.types import SearchResult

__all__ = ["BY", "REFERENCE", "NEIGHBOURS", "choose_by", "novelty", "unusual", "region_figures"]

BY = ("auto", "loss", "novelty")
REFERENCE = 4096  # chips of the reference sample when there is no index
NEIGHBOURS = 10
_BLOCK = 4096  # chips scored per block: (block x REFERENCE) float32 = 64 MB of similarities
_INDEX_BATCH = 2048
_FETCH = 4  # graph candidates asked per neighbour wanted


def choose_by(catalog: Catalog, by: str = "auto") -> str:
    """``by`` made concrete: "loss" when asked or when the data has a loss column (auto), else "novelty"."""
    from terrafind.core.read.v1 import chip_loss

    if by not in BY:
        raise InputError(f"Rank unusual places by one of {', '.join(BY)}, not {by!r}.")
    has_loss = chip_loss(catalog) is not None
    if by == "loss" and not has_loss:
        raise InputError("This data has no loss column: rank unusual places by novelty instead.")
    return "loss" if by == "loss" or (by == "auto" and has_loss) else "novelty"


def _novelty_sample(
    catalog: Catalog, k: int, progress: ProgressFn | None, cancel: CancelToken | None
) -> np.ndarray:
    n = len(catalog)
    ref_rows = sample_rows(n, REFERENCE, seed=23)
    ref = np.ascontiguousarray(np.asarray(catalog.vectors[ref_rows], np.float32).T)  # (d, m)
    kk = min(k, len(ref_rows) - 1)
    out = np.empty(n, np.float32)
    for start in range(0, n, _BLOCK):
        check(cancel)
        stop = min(n, start + _BLOCK)
        block = np.asarray(catalog.vectors[start:stop], np.float32)
        sims = block @ ref  # (b, m)
        # a chip of the sample is not its own neighbour
        mine = np.flatnonzero((ref_rows >= start) & (ref_rows < stop))
        sims[ref_rows[mine] - start, mine] = -np.inf
        top = -np.partition(-sims, kk - 1, axis=1)[:, :kk]
        out[start:stop] = 1.0 - top.mean(axis=1)
        report(progress, stop, n, "Finding unusual places")
    return out


def _novelty_index(
    catalog: Catalog, index: Any, k: int, progress: ProgressFn | None, cancel: CancelToken | None
) -> np.ndarray:
    n = len(catalog)
    out = np.empty(n, np.float32)
    fetch = min(n, max(k + 1, _FETCH * (k + 1)))
    for start in range(0, n, _INDEX_BATCH):
        check(cancel)
        stop = min(n, start + _INDEX_BATCH)
        queries = np.asarray(catalog.vectors[start:stop], np.float32)
        cand = index.candidates(queries, fetch)  # (b, fetch), -1 where fewer
        safe = np.where(cand >= 0, cand, start)
        uniq, inverse = np.unique(safe.reshape(-1), return_inverse=True)
        vecs = np.asarray(catalog.vectors[uniq], np.float32)
        sims = np.einsum("bd,bfd->bf", queries, vecs[inverse.reshape(cand.shape)])
        own = cand == np.arange(start, stop)[:, None]
        sims[(cand < 0) | own] = -np.inf
        kk = min(k, fetch - 1)
        top = -np.partition(-sims, kk - 1, axis=1)[:, :kk]
        top[~np.isfinite(top)] = np.nan
        out[start:stop] = 1.0 - np.nanmean(top, axis=1)
        report(progress, stop, n, "Finding unusual places (search index)")
    return out


def novelty(
    catalog: Catalog,
    *,
    neighbours: int = NEIGHBOURS,
    index: Any = None,
    progress: ProgressFn | None = None,
    cancel: CancelToken | None = None,
) -> np.ndarray:
    """Each chip's novelty: 1 - mean cosine to its ``neighbours`` nearest chips (see the module docstring)."""
    n = len(catalog)
    k = max(1, int(neighbours))
    if n < 2:
        return np.zeros(n, np.float32)
    if index is not None and len(index) == n and getattr(index, "candidates", None) is not None:
        return _novelty_index(catalog, index, k, progress, cancel)
    return _novelty_sample(catalog, k, progress, cancel)


def unusual(
    catalog: Catalog,
    *,
    by: str = "auto",
    k: int = 200,
    neighbours: int = NEIGHBOURS,
    index: Any = None,
    exclude: Any = (),
    progress: ProgressFn | None = None,
    cancel: CancelToken | None = None,
) -> tuple[SearchResult, np.ndarray]:
    """The ``k`` most unusual chips (by loss or novelty), best first, and every chip's value (NaN where a
    chip has no loss). ``exclude`` rows (labelled, masked) never come back."""
    t0 = time.perf_counter()
    how = choose_by(catalog, by)
    if how == "loss":
        from terrafind.core.read.v1 import chip_loss

        values = np.asarray(chip_loss(catalog), np.float64).astype(np.float32)
    else:
        values = novelty(catalog, neighbours=neighbours, index=index, progress=progress, cancel=cancel)
    ranked = np.where(np.isfinite(values), values, -np.inf).astype(np.float32)
    excl = np.fromiter((int(r) for r in exclude), np.int64)
    excl = excl[(excl >= 0) & (excl < len(catalog))]
    ranked[excl] = -np.inf
    rows, scores = top_sorted(np.arange(len(catalog), dtype=np.int64), ranked, int(k))
    keep = np.isfinite(scores)
    rows, scores = rows[keep], scores[keep]
    result = SearchResult(
        rows=rows,
        scores=scores.astype(np.float32),
        matched=np.full(len(rows), -1, np.int64),
        mode=f"unusual-{how}",
        k=int(k),
        threshold=None,
        positives=(),
        negatives=(),
        method="index" if how == "novelty" and index is not None else "exact",
        elapsed_ms=(time.perf_counter() - t0) * 1000.0,
    )
    return result, values


def region_figures(query: Any, result: SearchResult, values: np.ndarray) -> tuple[RegionPercentiles, str]:
    """Where each value stands in the region (a fixed sample of the values, like any search's) and the
    sentence that says what the places are."""
    finite = values[np.isfinite(values)]
    sample = finite[sample_rows(len(finite))] if len(finite) else finite
    percentiles = RegionPercentiles(np.sort(sample.astype(np.float32)), len(query.catalog))
    word = "loss" if result.mode == "unusual-loss" else "novelty"
    k = getattr(query, "neighbours", NEIGHBOURS)
    how = f" (distance to their {k} nearest look-alikes)" if word == "novelty" else ""
    quality = (
        f"The {len(result):,} chips of this region with the highest {word}{how}: label them, then search from "
        "the ones worth a visit."
    )
    return percentiles, quality
