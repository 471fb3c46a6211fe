"""Diverse positives: group the user's examples, search per group, and warn when they are far apart.

Why: the mean of diverse examples (a pond and a quarry) lands in "an unrealistic part of the embedding
space" (research/peers.md section 3, item 2). Grouping keeps each kind's own mean query, and merging the
groups' hits by their best score lets every kind find its own lookalikes. Each hit records which example
(of the positives as given) it is closest to.

How far apart is "far" is measured against the region itself (:mod:`terrafind.core.search.closeness`):
:func:`spread_warning` speaks below ``SPREAD_WARN_CLOSENESS`` (0.35).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence

import numpy as np

from terrafind.core.catalog import Catalog
from terrafind.core.errors import InputError
from terrafind.core.progress import CancelToken, check
from terrafind.core.search.closeness import SPREAD_WARN_CLOSENESS, closeness, positive_rows
from terrafind.core.types import Examples, SearchResult

__all__ = [
    "SPREAD_WARN_CLOSENESS",
    "MIN_SILHOUETTE",
    "closeness",
    "group_examples",
    "grouped_search",
    "spread_warning",
]

# A split into groups is taken only when it is clearly better than one group: silhouette (cosine) >= 0.25
# is the usual "weak but real structure" mark; below it, grouping would only scatter one kind.
MIN_SILHOUETTE = 0.25


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
    rows = list(dict.fromkeys(positive_rows(catalog, positives)))
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
    given = positive_rows(catalog, positives)
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
