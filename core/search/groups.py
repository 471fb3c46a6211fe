"""Diverse positives: group the user's examples, search per group, and warn when they are far apart.

Why: the mean of diverse examples (a pond and a quarry) lands in "an unrealistic part of the embedding
space" (research/peers.md section 3, item 2). Grouping keeps each kind's own mean query, and merging the
groups' hits by their best score lets every kind find its own lookalikes. Each hit records which example
(of the positives as given) it is closest to.

How far apart is "far" depends on the model: some embeddings put any two chips at cosine 0.5, others at 0.
So closeness is measured against the region itself::

    closeness = (mean pairwise cosine of the positives - b) / (1 - b)

where ``b`` is the median cosine between random chips of the region. 1 means identical examples, 0 means the
examples are as unlike each other as random chips are. :func:`spread_warning` speaks below
``SPREAD_WARN_CLOSENESS`` (0.35). Measured on the Clay v0 sample (417 chips, 768-d): a chip and its four
nearest neighbours score 0.89-0.98 (10th-90th percentile), random pairs 0.08 at the median and 0.58 at
the 75th percentile; on the synthetic test data one kind scores ~0.8 and two kinds ~0.2.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence

import numpy as np

from terrafind.core.catalog import Catalog
from terrafind.core.errors import InputError
from terrafind.core.progress import CancelToken, check
from terrafind.core.types import Examples, SearchResult

__all__ = [
    "SPREAD_WARN_CLOSENESS",
    "MIN_SILHOUETTE",
    "closeness",
    "group_examples",
    "grouped_search",
    "spread_warning",
]

SPREAD_WARN_CLOSENESS = 0.35
# A split into groups is taken only when it is clearly better than one group: silhouette (cosine) >= 0.25
# is the usual "weak but real structure" mark; below it, grouping would only scatter one kind.
MIN_SILHOUETTE = 0.25
_BG_SAMPLE = 256


def _background_cosine(catalog: Catalog) -> float:
    """Median cosine between random chips of the region (a fixed sample, so the answer is repeatable).

    The median, not the mean: in some products (Clay v0 sample: mean 0.92) a few odd chips drag the mean
    far below what a typical pair scores, and "as alike as a typical pair" is what the warning means."""
    n = len(catalog)
    if n < 3:
        return 0.0
    rng = np.random.default_rng(12345)
    rows = rng.choice(n, size=min(n, _BG_SAMPLE), replace=False)
    v = catalog.vectors[rows]
    s = v @ v.T
    return float(np.median(s[np.triu_indices(len(rows), k=1)]))


def _pairwise_mean(v: np.ndarray) -> float:
    s = v @ v.T
    m = len(v)
    return float((s.sum() - np.trace(s)) / (m * (m - 1)))


def _rows(catalog: Catalog, positives: Sequence[int]) -> list[int]:
    rows = [int(r) for r in positives]
    bad = [r for r in rows if not 0 <= r < len(catalog)]
    if bad:
        raise InputError(f"The positive example at row {bad[0]} is not a chip of this region.")
    return rows


def closeness(catalog: Catalog, positives: Sequence[int]) -> float | None:
    """How alike the positives are, relative to random chips of the region (see module docs); None for < 2."""
    rows = list(dict.fromkeys(_rows(catalog, positives)))
    if len(rows) < 2:
        return None
    b = min(_background_cosine(catalog), 0.99)
    return (_pairwise_mean(catalog.vectors[rows]) - b) / (1.0 - b)


def spread_warning(catalog: Catalog, positives: Sequence[int]) -> str | None:
    """A sentence for the user when the positives are far apart from each other, else None."""
    c = closeness(catalog, positives)
    if c is None or c >= SPREAD_WARN_CLOSENESS:
        return None
    n = len(set(int(r) for r in positives))
    return (
        f"Your {n} examples look quite different from each other (closeness {c:.2f}, where 0 is as "
        'different as random chips), so their average may match none of them: try "Group my examples".'
    )


def group_examples(catalog: Catalog, positives: Sequence[int], *, max_groups: int = 5) -> list[list[int]]:
    """Split the positives (catalog rows) into groups of alike examples; one group when they are alike.

    Agglomerative clustering (average linkage on cosine distance) for 2..max_groups groups; the split with
    the best cosine silhouette wins if it reaches ``MIN_SILHOUETTE``. With two examples, they form two
    groups when their closeness is below ``SPREAD_WARN_CLOSENESS``. Groups keep the given row order and are
    ordered by their first example.
    """
    rows = list(dict.fromkeys(_rows(catalog, positives)))
    if len(rows) <= 1 or max_groups <= 1:
        return [rows] if rows else []
    if len(rows) == 2:
        c = closeness(catalog, rows)
        return [[rows[0]], [rows[1]]] if c is not None and c < SPREAD_WARN_CLOSENESS else [rows]
    from sklearn.cluster import AgglomerativeClustering
    from sklearn.metrics import silhouette_score

    v = catalog.vectors[rows]
    best_labels, best_sil = None, MIN_SILHOUETTE
    for n_groups in range(2, min(max_groups, len(rows) - 1) + 1):
        labels = AgglomerativeClustering(n_clusters=n_groups, metric="cosine", linkage="average").fit_predict(
            v
        )
        sil = float(silhouette_score(v, labels, metric="cosine"))
        if sil >= best_sil + 1e-9:
            best_labels, best_sil = labels, sil
    if best_labels is None:
        return [rows]
    groups: dict[int, list[int]] = {}
    for r, lab in zip(rows, best_labels, strict=True):
        groups.setdefault(int(lab), []).append(r)
    return list(groups.values())


def grouped_search(
    catalog: Catalog,
    positives: Sequence[int],
    negatives: Sequence[int] = (),
    *,
    k: int = 100,
    index=None,
    threshold: float | None = None,
    max_groups: int = 5,
    exclude: Iterable[int] = (),
    cancel: CancelToken | None = None,
) -> SearchResult:
    """Search once per group of alike positives (mode ``mean``) and merge the hits by their best score.

    ``matched`` of each hit is the index (into ``positives`` as given) of the example of its group closest
    to the hit; ``mode`` is ``"grouped"``. Negatives push every group's query away (as in plain search).
    """
    from terrafind.core.search.query import search

    t0 = time.perf_counter()
    given = _rows(catalog, positives)
    if not given:
        raise InputError("Add at least one example chip (a positive) before searching.")
    groups = group_examples(catalog, given, max_groups=max_groups)
    excl = list(exclude) + given  # one group's examples must not turn up as another group's hits
    best: dict[int, tuple[float, int]] = {}
    methods = set()
    for g, members in enumerate(groups):
        check(cancel)
        ex = Examples(positives=list(members), negatives=[int(r) for r in negatives])
        res = search(
            catalog, ex, k=k, mode="mean", threshold=threshold, index=index, exclude=excl, cancel=cancel
        )
        methods.add(res.method)
        for row, score in zip(res.rows.tolist(), res.scores.tolist(), strict=True):
            if row not in best or score > best[row][0]:
                best[row] = (score, g)
    rows = np.fromiter(best.keys(), np.int64, len(best))
    scores = np.fromiter((v[0] for v in best.values()), np.float32, len(best))
    group_of = np.fromiter((v[1] for v in best.values()), np.int64, len(best))
    order = np.lexsort((rows, -scores))[: int(k)]
    rows, scores, group_of = rows[order], scores[order], group_of[order]
    matched = np.empty(len(rows), np.int64)
    for i, (row, g) in enumerate(zip(rows, group_of, strict=True)):
        members = groups[int(g)]
        sims = catalog.vectors[members] @ catalog.vectors[int(row)]
        matched[i] = given.index(members[int(np.argmax(sims))])
    return SearchResult(
        rows=rows,
        scores=scores,
        matched=matched,
        mode="grouped",
        k=int(k),
        threshold=threshold,
        positives=tuple(given),
        negatives=tuple(int(r) for r in negatives),
        method="index" if "index" in methods else "exact",
        elapsed_ms=(time.perf_counter() - t0) * 1000.0,
    )
