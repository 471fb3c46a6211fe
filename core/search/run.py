"""One search, whatever its kind: the query a session hands to a worker, and what comes back.

A :class:`SearchQuery` is a snapshot (catalog, index, examples, parameters, labels, masked chips) taken on
the thread that owns the session; :func:`run_query` is a plain function that can run anywhere (a worker,
the CLI, a test). The kinds ("how"):

``plain``    rank by likeness to the examples (:func:`terrafind.core.search.query.search`);
``refine``   a classifier trained on the labels re-ranks the hits (:func:`terrafind.core.search.refine.refine`),
             with a review queue and a quality sentence;
``grouped``  one query per group of alike examples, merged (:func:`terrafind.core.search.groups.grouped_search`);
``unusual``  no examples: the chips with the highest loss or novelty (:mod:`terrafind.core.search.unusual`).

Labelled chips and masked chips (under imported "exclude" places) never come back as hits.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from terrafind.core.catalog import Catalog
from terrafind.core.progress import CancelToken, ProgressFn, check
from terrafind.core.search.percentiles import RegionPercentiles, region_percentiles
from terrafind.core.types import Examples, SearchResult

__all__ = ["HOWS", "SearchQuery", "SearchOutcome", "run_query", "quality_text", "PROBABILITY_CUT"]

HOWS = ("plain", "refine", "grouped", "unusual")
# The classifier's own decision point: with balanced class weights, p = 0.5 is "as likely yes as no"
# (terrafind.core.search.refine), so "the share of the region at p >= 0.5" is what it would call a target.
PROBABILITY_CUT = 0.5


@dataclass(frozen=True)
class SearchQuery:
    """Everything one search needs, taken from a session at one moment (see the module docstring)."""

    catalog: Catalog
    examples: Examples
    how: str = "plain"
    k: int = 200
    mode: str = "mean"
    index: Any = None  # terrafind.core.search.index.VectorIndex, or None: exact search
    labels: Mapping[int, str] = field(default_factory=dict)
    masked: tuple[int, ...] = ()
    unusual_by: str = "auto"  # how = "unusual": "loss", "novelty" or "auto" (terrafind.core.search.unusual)
    neighbours: int = 10  # novelty: how many nearest chips a chip is compared with


@dataclass
class SearchOutcome:
    """What a search found: the ranked ``result`` and, for a refined search, the classifier's figures
    (``refine``), the review queue (least sure first) and the quality sentence."""

    how: str
    result: SearchResult
    refine: Any = None  # terrafind.core.search.refine.RefineResult
    review: SearchResult | None = None
    quality: str = ""
    warning: str | None = None  # examples far apart (terrafind.core.search.groups.spread_warning)
    # where the hits' scores stand in the region (terrafind.core.search.percentiles): "top 0.1 %"
    percentiles: RegionPercentiles | None = None
    values: Any = None  # every chip's value, when the search computed it (unusual places)

    def region_count_above(self, threshold: float | None) -> int | None:
        """About how many chips of the region are at or above ``threshold`` (the probability after Refine,
        where None means the classifier's own cut 0.5; else the similarity, where None means no line).
        None when unknown. Counts the region, not the hits: more may exist than were asked for (k)."""
        if self.refine is not None:
            cut = PROBABILITY_CUT if threshold is None else float(threshold)
            return int(np.count_nonzero(np.asarray(self.refine.pool_probabilities) >= cut))
        if threshold is None or self.percentiles is None:
            return None
        p = self.percentiles
        return int(round(float(p.top(float(threshold))[0]) * p.region_rows))

    def tops(self, result: SearchResult | None = None) -> np.ndarray | None:
        """Share of the region scoring at least each hit of ``result`` (default: the hits), or None."""
        r = self.result if result is None else result
        return None if self.percentiles is None else self.percentiles.top(r.scores)

    def line_percentiles(self) -> RegionPercentiles | None:
        """Where the values the threshold line compares stand in the region: the similarity sample, or
        after Refine the classifier's probabilities of every chip it scored (chips outside its pool count
        as lower). What turns a line into "top 1 %" and back, and what the histogram draws behind the hits."""
        if self.refine is None:
            return self.percentiles
        cached = self.__dict__.get("_line_percentiles")
        if cached is None:
            probs = np.sort(np.asarray(self.refine.pool_probabilities, np.float32))
            cached = RegionPercentiles(probs, int(self.refine.region_rows), int(self.refine.region_rows))
            self.__dict__["_line_percentiles"] = cached
        return cached

    def share_of(self, value: float | None) -> float | None:
        """The share of the region at or above a line at ``value`` (None when unknown or no line)."""
        p = self.line_percentiles()
        if value is None or p is None or not p.size:
            return None
        return float(p.top(float(value))[0])

    def value_at(self, share: float) -> float | None:
        """The line (similarity, or probability after Refine) that keeps ``share`` of the region above it."""
        p = self.line_percentiles()
        if p is None or not p.size:
            return None
        return p.score_at(share)


def quality_text(catalog: Catalog, refined: Any) -> str:
    """The quality of a refined search in plain words, e.g. "Checked on your 12 marks: 87 % right (each
    judged by a model that had not seen it). Probability 0.5 or more: top 0.2 % of this region (about
    330 chips)."

    The accuracy is measured on the user's own labels by fits that never saw the label judged
    (``refined.cv_method`` names how: the app puts it in a tooltip); the share counts the chips the
    classifier scored (the whole region when it is small, else a similarity pool, so the share is then a
    lower bound)."""
    from terrafind.core.search.refine import format_share, region_share

    n = refined.n_pos + refined.n_neg
    if refined.cv_accuracy is None:
        acc = f"Your {n} marks are too few to check the classifier on yet"
    else:
        acc = (
            f"Checked on your {n} marks: {100.0 * refined.cv_accuracy:.0f} % right "
            "(each judged by a model that had not seen it)"
        )
    share = region_share(catalog, refined, PROBABILITY_CUT)
    count = int(round(share * len(catalog)))
    return f"{acc}. Probability {PROBABILITY_CUT:g} or more: {format_share(share)} (about {count:,} chips)."


def _review_result(catalog: Catalog, refined: Any) -> SearchResult:
    """The review queue as a result: each chip's similarity to its closest positive, and its probability."""
    rows = np.asarray(refined.review_rows, np.int64)
    pos = np.asarray(refined.result.positives, np.int64)
    if len(rows) and len(pos):
        sims = catalog.vectors[rows] @ catalog.vectors[pos].T  # (review, positives): small, cheap
        scores, matched = sims.max(axis=1).astype(np.float32), sims.argmax(axis=1).astype(np.int64)
    else:
        scores, matched = np.zeros(len(rows), np.float32), np.full(len(rows), -1, np.int64)
    r = refined.result
    return SearchResult(
        rows=rows,
        scores=np.clip(scores, -1.0, 1.0),
        matched=matched,
        mode="review",
        k=r.k,
        threshold=None,
        positives=r.positives,
        negatives=r.negatives,
        method=r.method,
        elapsed_ms=r.elapsed_ms,
        probabilities=np.asarray(refined.review_probabilities, np.float32),
    )


def _ranked(
    q: SearchQuery, pos: list[int], neg: list[int], k: int, cancel: CancelToken | None, on_partial=None
):
    """The ``k`` best hits of ``q`` (and the classifier's figures after Refine)."""
    refined = None
    if q.how == "refine":
        from terrafind.core.search.refine import refine

        ex = q.examples
        refined = refine(
            q.catalog, pos, neg, index=q.index, k=k, exclude=q.masked, cancel=cancel,
            positive_vectors=ex.positive_vectors, negative_vectors=ex.negative_vectors,
        )  # fmt: skip
        return refined.result, refined
    if q.how == "grouped" and pos:  # (examples of other dates only: no chips to group, search plainly)
        from terrafind.core.search.groups import grouped_search

        exclude = (*q.labels, *q.masked, *neg)
        return grouped_search(q.catalog, pos, neg, k=k, index=q.index, exclude=exclude, cancel=cancel), None
    from terrafind.core.search.query import search

    exclude = (*q.labels, *q.masked)
    result = search(
        q.catalog,
        q.examples,
        k=k,
        mode=q.mode,
        index=q.index,
        exclude=exclude,
        cancel=cancel,
        partial=on_partial,
    )
    return result, None


def run_query(
    query: SearchQuery,
    *,
    cancel: CancelToken | None = None,
    partial: Callable[[SearchOutcome, float], None] | None = None,
    progress: ProgressFn | None = None,
) -> SearchOutcome:
    """Run ``query`` (see the module docstring); InputError when it cannot run (no positive example...).

    ``partial(outcome, share)`` gets the best hits found so far of a long exact scan (millions of chips,
    no index yet) after each round of it, with the share of the region scanned; the returned outcome is
    the complete one. ``progress`` follows the one long pass of unusual places (novelty of every chip)."""
    from terrafind.core.search.dedupe import drop_twins, extra_hits
    from terrafind.core.search.groups import spread_warning
    from terrafind.core.search.query import MAX_K

    q = query
    if q.how == "unusual":  # no examples: ranked by loss or novelty (core.search.unusual)
        from terrafind.core.search.unusual import region_figures, unusual

        result, values = unusual(
            q.catalog, by=q.unusual_by, k=q.k, neighbours=q.neighbours, index=q.index,
            exclude=(*q.labels, *q.masked), progress=progress, cancel=cancel,
        )  # fmt: skip
        percentiles, quality = region_figures(q, result, values)
        return SearchOutcome("unusual", result, quality=quality, percentiles=percentiles, values=values)
    pos, neg = list(q.examples.positives), list(q.examples.negatives)
    on_partial: Callable[[SearchResult, float], None] | None = None
    if partial is not None:
        shared: dict[str, Any] = {}

        def _on_partial(result: SearchResult, share: float) -> None:
            if "percentiles" not in shared:  # the same sample scores as the finished search's
                shared["percentiles"] = region_percentiles(q, cancel=cancel)
            part = drop_twins(q.catalog, result, q.k)
            partial(SearchOutcome(q.how, part, percentiles=shared["percentiles"]), share)

        on_partial = _on_partial

    # Twins where tiles overlap go (core.search.dedupe): ask for more, and more again while too few remain.
    k = q.k + extra_hits(q.catalog, q.k)
    while True:
        result, refined = _ranked(q, pos, neg, k, cancel, on_partial)
        check(cancel)
        fetched = len(result)
        result = drop_twins(q.catalog, result, q.k)
        if len(result) >= q.k or fetched < k or k >= MAX_K:
            break
        k, on_partial = min(MAX_K, 2 * k), None  # (a second pass shows no partial results)
    review = None
    quality = ""
    if refined is not None:
        refined.result = result  # without twins, like the outcome's
        review = _review_result(q.catalog, refined)
        quality = quality_text(q.catalog, refined)
    warning = spread_warning(q.catalog, pos) if len(set(pos)) >= 2 else None
    percentiles = region_percentiles(q, cancel=cancel)
    return SearchOutcome(
        q.how,
        result,
        refine=refined,
        review=review,
        quality=quality,
        warning=warning,
        percentiles=percentiles,
    )
