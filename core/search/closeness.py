"""How alike a person's positive examples are, measured against the region itself.

How far apart is "far" depends on the model: some embeddings put any two chips at cosine 0.5, others at 0.
So closeness is measured against the region::

    closeness = (mean pairwise cosine of the positives - b) / (1 - b)

where ``b`` is the median cosine between random chips of the region. 1 means identical examples, 0 means the
examples are as unlike each other as random chips are. Below ``SPREAD_WARN_CLOSENESS`` (0.35) the app warns
that their average may match none of them (:func:`terrafind.core.search.groups.spread_warning`), and a
search of their mean is scored exactly rather than by the graph (:mod:`terrafind.core.search.query`).
Measured on the Clay v0 sample (417 chips, 768-d): a chip and its four nearest neighbours score 0.89-0.98
(10th-90th percentile), random pairs 0.08 at the median and 0.58 at the 75th percentile; on the synthetic
test data one kind scores ~0.8 and two kinds ~0.2.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Sequence

import numpy as np

from terrafind.core.catalog import Catalog
from terrafind.core.errors import InputError

__all__ = ["SPREAD_WARN_CLOSENESS", "closeness", "positive_rows"]

SPREAD_WARN_CLOSENESS = 0.35
_BG_SAMPLE = 256


# catalog -> its background cosine: a catalog never changes, and a search asks twice (the far-apart rule
# of core.search.query, then the warning of core.search.groups)
_BACKGROUND: weakref.WeakKeyDictionary[Catalog, float] = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()


def _background_cosine(catalog: Catalog) -> float:
    """Median cosine between random chips of the region (a fixed sample, so the answer is repeatable).

    The median, not the mean: in some products (Clay v0 sample: mean 0.92) a few odd chips drag the mean
    far below what a typical pair scores, and "as alike as a typical pair" is what the warning means."""
    with _LOCK:
        got = _BACKGROUND.get(catalog)
    if got is not None:
        return got
    n = len(catalog)
    if n < 3:
        return 0.0
    rng = np.random.default_rng(12345)
    rows = rng.choice(n, size=min(n, _BG_SAMPLE), replace=False)
    v = catalog.vectors[rows]
    s = v @ v.T
    got = float(np.median(s[np.triu_indices(len(rows), k=1)]))
    with _LOCK:
        _BACKGROUND[catalog] = got
    return got


def _pairwise_mean(v: np.ndarray) -> float:
    s = v @ v.T
    m = len(v)
    return float((s.sum() - np.trace(s)) / (m * (m - 1)))


def positive_rows(catalog: Catalog, positives: Sequence[int]) -> list[int]:
    """The positives as catalog rows; InputError naming the first that is not a chip of this region."""
    rows = [int(r) for r in positives]
    bad = [r for r in rows if not 0 <= r < len(catalog)]
    if bad:
        raise InputError(f"The positive example at row {bad[0]} is not a chip of this region.")
    return rows


def closeness(catalog: Catalog, positives: Sequence[int]) -> float | None:
    """How alike the positives are, relative to random chips of the region (see module docs); None for < 2."""
    rows = list(dict.fromkeys(positive_rows(catalog, positives)))
    if len(rows) < 2:
        return None
    b = min(_background_cosine(catalog), 0.99)
    return (_pairwise_mean(catalog.vectors[rows]) - b) / (1.0 - b)
