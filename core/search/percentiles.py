"""Where a score stands in its region: "top 0.1 %" instead of a bare 0.83.

A similarity of 0.83 means little by itself (one model's unrelated chips score 0.6, another's 0.1). What a
person can read is the share of the region that scores at least as high. Scoring every chip of a large
region for every search would cost a full pass, so a fixed random sample of the region's chips (at most
:data:`SAMPLE_SIZE`, the same rows for the same catalog: a fixed seed) is scored *exactly* with the query
the search used, and a hit's percentile is read off that sample:

    top(s) = (number of sampled chips scoring >= s) / (number sampled)

With 20,000 sampled chips the cost is one (20k x d) matrix product per search, whatever the region's size
(10 M chips cost the same): the sample's vectors are gathered once per catalog and kept (30 MB at d = 384,
60 MB at d = 768; on 500k x 768 chips the first search of a catalog took 70 ms, later ones 19-28 ms; see
docs/performance.md). The share is known to about +-0.2 percentage points near "top 10 %" (binomial
error); a hit better than every sampled chip is "top < 0.005 %".

Which score: the ``scores`` column of the result, scored the same way (:func:`score_rows`): the mean or
max query of a plain search, the best group of a grouped search, the closest positive after Refine (the
classifier's probability has its own 0..1 scale). Issue 14 builds on this module (percentiles beside
similarity, a whole-region histogram, a threshold in either unit): :meth:`RegionPercentiles.score_at`
turns a share back into a score.
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass

import numpy as np

from terrafind.core.catalog import Catalog
from terrafind.core.progress import CancelToken, check

__all__ = [
    "SAMPLE_SIZE",
    "SEED",
    "RegionPercentiles",
    "sample_rows",
    "score_rows",
    "region_percentiles",
    "format_top",
    "TOP_CLASSES",
    "top_class",
]

SAMPLE_SIZE = 20_000
SEED = 17  # fixed: the same catalog always gets the same sample, so the same search gives the same figures
# The classes the map colours by and its legend names (shares of the region, best first).
TOP_CLASSES = (0.001, 0.01, 0.1, 0.5)


@dataclass(frozen=True)
class RegionPercentiles:
    """The sorted scores of a random sample of the region's chips, scored like the search's hits."""

    sample: np.ndarray  # (m,) float32, ascending
    region_rows: int  # chips in the region (the sample is drawn from these)
    # What one sampled value stands for: the sample size for a random sample (the default); the region's
    # size when ``sample`` holds the values of a subset and every chip outside it scores lower (the
    # probabilities of Refine's pool: terrafind.core.search.refine).
    denominator: int | None = None

    @property
    def size(self) -> int:
        return int(len(self.sample))

    @property
    def _total(self) -> int:
        return int(self.denominator) if self.denominator else self.size

    def top(self, scores: np.ndarray | float) -> np.ndarray:
        """Share (0..1) of the region scoring at least each score; 0 = better than every sampled chip."""
        s = np.atleast_1d(np.asarray(scores, np.float32))
        if not self.size:
            return np.zeros(len(s), np.float64)
        at_least = self.size - np.searchsorted(self.sample, s, side="left")
        return at_least.astype(np.float64) / self._total

    def score_at(self, share: float) -> float:
        """The score above which ``share`` (0..1) of the region lies (the inverse of :meth:`top`).

        A share beyond what the values cover (a pool's) gives its lowest value."""
        if not self.size:
            return float("nan")
        share = min(1.0, max(0.0, float(share)))
        above = int(round(self._total * share))  # chips meant to be at or above the line
        i = int(np.clip(self.size - max(above, 1), 0, self.size - 1))
        return float(self.sample[i])

    def counts(self, edges: np.ndarray) -> np.ndarray:
        """About how many chips of the region fall in each bin between ``edges`` (a histogram of the
        region, scaled from the sample to the region's size)."""
        if not self.size:
            return np.zeros(max(0, len(edges) - 1), np.float64)
        counts, _ = np.histogram(self.sample, bins=edges)
        return counts.astype(np.float64) * (self.region_rows / self._total)

    def text(self, score: float) -> str:
        """ "top 0.1 %" for one score."""
        return format_top(float(self.top(score)[0]), self.size)


def sample_rows(n_rows: int, size: int = SAMPLE_SIZE, seed: int = SEED) -> np.ndarray:
    """Sorted distinct row numbers, ``min(size, n_rows)`` of them, the same for the same arguments.

    Cheap at any ``n_rows``: Generator.choice without replacement and without shuffling draws ``size``
    rows by Floyd's algorithm, never building a permutation of all ``n_rows``."""
    if n_rows <= size:
        return np.arange(n_rows, dtype=np.int64)
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(n_rows, size=size, replace=False, shuffle=False)).astype(np.int64)


# catalog -> its sample's vectors (a catalog never changes, so neither does its sample)
_SAMPLES: weakref.WeakKeyDictionary[Catalog, np.ndarray] = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()


def sample_vectors(catalog: Catalog) -> np.ndarray:
    """The vectors of :func:`sample_rows` of ``catalog``, gathered once and kept while the catalog lives."""
    with _LOCK:
        got = _SAMPLES.get(catalog)
    if got is None:
        got = np.ascontiguousarray(catalog.vectors[sample_rows(len(catalog))])
        with _LOCK:
            _SAMPLES[catalog] = got
    return got


def score_rows(catalog: Catalog, query, rows: np.ndarray | None = None) -> np.ndarray:
    """The scores ``query`` (a :class:`terrafind.core.search.run.SearchQuery`) gives the chips ``rows``
    (default: the region's sample), computed exactly as the search computes the ``scores`` of its hits."""
    from terrafind.core.search.query import BETA, example_vectors, mean_query

    vecs = sample_vectors(catalog) if rows is None else catalog.vectors[np.asarray(rows, np.int64)]
    pos, neg = example_vectors(catalog, query.examples)
    if query.how == "refine":  # refine's scores: likeness to the closest positive (refine.py)
        out = (vecs @ pos.T).max(axis=1)
    elif query.how == "grouped":
        from terrafind.core.search.groups import group_examples

        pos_rows = [int(r) for r in query.examples.positives]
        groups = group_examples(catalog, pos_rows) or [pos_rows]
        out = np.max(np.stack([vecs @ mean_query(catalog.vectors[g], neg) for g in groups], axis=1), axis=1)
    elif query.mode == "max":
        out = (vecs @ pos.T).max(axis=1)
        if len(neg):
            out = out - BETA * np.maximum(0.0, (vecs @ neg.T).max(axis=1))
    else:
        out = vecs @ mean_query(pos, neg)
    return np.clip(out, -1.0, 1.0).astype(np.float32)


def region_percentiles(query, *, cancel: CancelToken | None = None) -> RegionPercentiles:
    """Score a fixed random sample of the query's region with the query (see the module docstring)."""
    catalog = query.catalog
    check(cancel)
    scores = np.sort(score_rows(catalog, query)) if len(catalog) else np.zeros(0, np.float32)
    return RegionPercentiles(scores, len(catalog))


def format_top(share: float, sample_size: int = SAMPLE_SIZE) -> str:
    """ "top 0.1 %", "top 12 %", "top < 0.005 %" (better than every sampled chip)."""
    if sample_size and share <= 0:
        return f"top < {_pct(100.0 / sample_size)} %"
    return f"top {_pct(100.0 * share)} %"


def _pct(p: float) -> str:
    if p >= 10:
        return f"{p:.0f}"
    if p >= 1:
        return f"{p:.1f}".rstrip("0").rstrip(".")
    digits = max(1, int(np.ceil(-np.log10(p))) + 0) if p > 0 else 1
    return f"{p:.{digits}f}"


def top_class(share: float) -> int:
    """Index into :data:`TOP_CLASSES` of the best class ``share`` falls in (len(TOP_CLASSES): none)."""
    for i, limit in enumerate(TOP_CLASSES):
        if share <= limit:
            return i
    return len(TOP_CLASSES)
