"""The work behind "learning from labels", as plain functions run in workers (no Qt here).

One search job turns the session's examples into a :class:`LearnPayload`: a refined search (a classifier
trained on the labels re-ranks the hits, :func:`terrafind.core.search.refine.refine`), a grouped search (one query per
group of alike examples, :func:`terrafind.core.search.groups.grouped_search`) or a plain search that leaves out masked
chips. The payload is a :class:`terrafind.core.present.features.ResultsPayload` (so the window shows it like any search) plus
the review queue, the quality sentence for the score plot and a warning when the examples are far apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from terrafind.core.present.features import ResultsPayload, results_payload
from terrafind.core.types import Examples, SearchResult

__all__ = ["LearnPayload", "learn_search", "quality_text", "mark_matched", "PROBABILITY_CUT"]

# The classifier's own decision point: with balanced class weights, p = 0.5 is "as likely yes as no"
# (terrafind.core.search.refine module docs), so "the share of the region at p >= 0.5" is what it would call a target.
PROBABILITY_CUT = 0.5


@dataclass
class LearnPayload(ResultsPayload):
    """A ResultsPayload with what refined / grouped searches add."""

    how: str = "plain"  # "refine" | "grouped" | "plain"
    refine: Any = None  # terrafind.core.search.refine.RefineResult
    review: ResultsPayload | None = None  # the review queue, most uncertain first
    quality: str = ""  # the sentence shown beside the score plot
    warning: str | None = None  # terrafind.core.search.groups.spread_warning for these positives


def mark_matched(catalog, payload: ResultsPayload) -> None:
    """Give each map feature and gallery item the id of the example it matched (when the search knows)."""
    r = payload.result
    matched = np.asarray(r.matched, np.int64) if r.matched is not None else np.zeros(0, np.int64)
    if len(matched) != len(payload.items):
        return
    for i, (item, feature) in enumerate(zip(payload.items, payload.fc["features"], strict=True)):
        m = int(matched[i])
        if 0 <= m < len(r.positives):
            name = str(catalog.ids[int(r.positives[m])])
            item.matched = name
            feature["properties"]["matched"] = name


def quality_text(catalog, refined) -> str:
    """ "Labels: 87 % right (leave-one-out, 12 labels) · p ≥ 0.5: top 0.2 % of this region".

    The accuracy is measured on the user's own labels by fits that never saw the label judged
    (``refined.cv_method`` names how); the share counts the chips the classifier scored (the whole region
    when it is small, else a similarity pool, so the share is then a lower bound)."""
    from terrafind.core.search.refine import format_share, region_share

    n = refined.n_pos + refined.n_neg
    if refined.cv_accuracy is None:
        acc = f"Labels: accuracy not measured yet ({refined.cv_method}; {n} labels)"
    else:
        acc = f"Labels: {100.0 * refined.cv_accuracy:.0f} % right ({refined.cv_method}, {n} labels)"
    share = format_share(region_share(catalog, refined, PROBABILITY_CUT))
    return f"{acc} · p ≥ {PROBABILITY_CUT:g}: {share}"


def _review_payload(catalog, refined, labels: dict[int, str]) -> ResultsPayload:
    rows = np.asarray(refined.review_rows, np.int64)
    pos = np.asarray(refined.result.positives, np.int64)
    vecs = catalog.vectors
    if len(rows) and len(pos):
        sims = vecs[rows] @ vecs[pos].T  # (review, positives): a few hundred x a few dozen, cheap
        scores, matched = sims.max(axis=1).astype(np.float32), sims.argmax(axis=1).astype(np.int64)
    else:
        scores, matched = np.zeros(len(rows), np.float32), np.full(len(rows), -1, np.int64)
    r = refined.result
    review = SearchResult(
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
    payload = results_payload(catalog, review, labels)
    mark_matched(catalog, payload)
    return payload


def learn_search(
    catalog,
    examples: Examples,
    *,
    how: str,
    k: int,
    mode: str,
    index,
    labels: dict[int, str],
    masked: tuple[int, ...] = (),
    cancel=None,
) -> LearnPayload:
    """Run one search of kind ``how`` ("refine", "grouped" or "plain") and make it ready for the screen.

    ``masked`` rows (chips under imported "exclude" places) never appear in the hits or the review queue.
    """
    from terrafind.core.search.groups import spread_warning

    pos, neg = list(examples.positives), list(examples.negatives)
    refined = review = None
    quality = ""
    if how == "refine":
        from terrafind.core.search.refine import refine

        refined = refine(catalog, pos, neg, index=index, k=k, exclude=masked, cancel=cancel)
        result = refined.result
    elif how == "grouped":
        from terrafind.core.search.groups import grouped_search

        exclude = tuple(labels) + tuple(masked) + tuple(neg)
        result = grouped_search(catalog, pos, neg, k=k, index=index, exclude=exclude, cancel=cancel)
    else:
        from terrafind.core.search.query import search

        exclude = tuple(labels) + tuple(masked)
        result = search(catalog, examples, k=k, mode=mode, index=index, exclude=exclude, cancel=cancel)
    if cancel is not None:
        cancel.raise_if_cancelled()
    base = results_payload(catalog, result, labels)
    mark_matched(catalog, base)
    if refined is not None:
        review = _review_payload(catalog, refined, labels)
        quality = quality_text(catalog, refined)
    warning = spread_warning(catalog, pos) if len(set(pos)) >= 2 else None
    return LearnPayload(
        base.result,
        base.fc,
        base.items,
        base.scores,
        how=how,
        refine=refined,
        review=review,
        quality=quality,
        warning=warning,
    )
