"""One rule for "the visible hits": what the threshold line compares, shared by the plot, the map, the
gallery, sites and every export.

A plain search ranks by similarity, so the line filters scores (cosine, -1..1). After Refine the hits are
ranked by the classifier's probability, and a similarity cut-off would hide hits the classifier likes:
the line then filters probabilities (0..1). ``threshold_by`` says which, from the result itself, so a
restored or a fresh result both follow it.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

__all__ = [
    "threshold_by",
    "filter_values",
    "visible_mask",
    "visible_result",
    "take_hits",
    "AXIS_LABELS",
    "CHANGE_MODES",
]

AXIS_LABELS = {
    "score": "similarity",
    "probability": "probability",
    "change": "change",
    "loss": "loss",
    "novelty": "novelty",
}
# Result modes whose scores are a change between dates (distance, 0..2), not a similarity.
CHANGE_MODES = ("change", "history")


def threshold_by(result) -> str:
    """ "probability" when ``result`` (a terrafind.core.types.SearchResult) carries probabilities, "change"
    when its scores are changes between dates (terrafind.core.change), "loss" or "novelty" for unusual
    places, else "score"."""
    if result.mode in CHANGE_MODES:
        return "change"
    if str(result.mode).startswith("unusual-"):  # unusual places: their loss or novelty (core.search.unusual)
        return str(result.mode).split("-", 1)[1]
    probs = result.probabilities
    return "probability" if probs is not None and len(probs) == len(result.rows) else "score"


def filter_values(result) -> np.ndarray:
    """The value per hit that the threshold compares (see :func:`threshold_by`)."""
    if threshold_by(result) == "probability":
        return np.asarray(result.probabilities, np.float32)
    return np.asarray(result.scores, np.float32)


def visible_mask(result, threshold: float | None) -> np.ndarray:
    """True for the hits at or above ``threshold`` (all when None)."""
    if threshold is None:
        return np.ones(len(result.rows), bool)
    return filter_values(result) >= float(threshold)


def visible_result(result, threshold: float | None, keep: np.ndarray | None = None):
    """The visible hits of ``result`` as a SearchResult (``result`` itself when nothing hides any): at or
    above ``threshold`` and, when given, where ``keep`` is True (the loss range: core.session_lines)."""
    if threshold is None and keep is None:
        return result
    mask = visible_mask(result, threshold)
    if keep is not None:
        mask = mask & np.asarray(keep, bool)
    return take_hits(result, np.flatnonzero(mask))


def take_hits(result, idx: np.ndarray):
    """The hits at positions ``idx`` of ``result`` (every per-hit array, ``extra`` too), as a SearchResult."""
    idx = np.asarray(idx, np.int64)
    probs = None if result.probabilities is None else np.asarray(result.probabilities)[idx]
    matched = np.asarray(result.matched)
    extra = None if result.extra is None else {k: np.asarray(v)[idx] for k, v in result.extra.items()}
    return replace(
        result,
        rows=np.asarray(result.rows)[idx],
        scores=np.asarray(result.scores)[idx],
        matched=matched[idx] if len(matched) == len(result.rows) else matched,
        probabilities=probs,
        extra=extra,
    )
