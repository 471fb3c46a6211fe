"""What is new: chips that look like the user's examples at a later date and did not at an earlier one.

"New since 2015" on 2020 = the chips of 2020 whose score is at or above the detector's line while the
same place's score in 2015 was below it (:class:`terrafind.core.change.detector.Detector`: the same
question asked of both years). Chips with no twin in 2015 cannot be judged and are left out (the match's
sentence says how many). The outcome ranks the new chips by their score now, with ``score_before`` per
hit, and exports, merges into sites and travels to the field like any result.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from terrafind.core.change.compare import comparison_extra
from terrafind.core.errors import InputError
from terrafind.core.progress import CancelToken, check
from terrafind.core.search.exact import top_sorted
from terrafind.core.search.percentiles import RegionPercentiles
from terrafind.core.search.query import MAX_K
from terrafind.core.search.run import SearchOutcome
from terrafind.core.types import SearchResult

__all__ = ["NewQuery", "run_new"]


@dataclass(frozen=True)
class NewQuery:
    """New at ``after`` since ``before`` by ``detector``; hits are rows of date ``on``. ``exclude`` are
    rows of ``after`` never shown (the examples themselves, masked chips)."""

    dates: Any  # terrafind.core.dates.region.DatedRegion
    detector: Any  # terrafind.core.change.detector.Detector
    before: str
    after: str
    on: str
    exclude: tuple[int, ...] = ()
    k: int = MAX_K


def run_new(q: NewQuery, *, cancel: CancelToken | None = None) -> SearchOutcome:
    """The chips new at ``q.after`` since ``q.before`` (see the module docstring)."""
    t0 = time.perf_counter()
    dates, det = q.dates, q.detector
    if dates is None or len(dates) < 2:
        raise InputError("Open two or more dates of a region to see what is new.")
    if q.before == q.after:
        raise InputError("Choose an earlier date than the one searched to see what is new since then.")
    after, before = dates.get(q.after).catalog, dates.get(q.before).catalog
    match = dates.match(q.after, q.before)
    now = det.scores(after, cancel=cancel)
    check(cancel)
    twin = match.a_to_b
    rows = np.flatnonzero((now >= det.line) & (twin >= 0))
    then = det.scores(before, twin[rows], cancel=cancel)
    new = rows[then < det.line]
    if q.exclude:
        new = new[~np.isin(new, np.asarray(q.exclude, np.int64))]
    top, scores = top_sorted(new, now[new], int(q.k))
    before_scores = det.scores(before, twin[top]) if len(top) else np.zeros(0, np.float32)
    extra = comparison_extra(dates, q.after, q.before, q.after, top)
    extra["score_before"] = before_scores.astype(np.float32)
    probs = scores.astype(np.float32) if det.by == "probability" else None
    result = SearchResult(
        rows=top.astype(np.int64),
        scores=scores.astype(np.float32),
        matched=np.full(len(top), -1, np.int64),
        mode="new",
        k=int(q.k),
        threshold=None,
        positives=(),
        negatives=(),
        method="exact",
        elapsed_ms=(time.perf_counter() - t0) * 1000.0,
        probabilities=probs,
        extra=extra,
    )
    spread = RegionPercentiles(np.sort(now.astype(np.float32)), int(len(now)))  # the map colours by it
    outcome = SearchOutcome(
        "new", result, warning=None if match.same_grid else match.sentence, percentiles=spread
    )
    word = "probability" if det.by == "probability" else "score"
    outcome.quality = (
        f"New since {q.before}: {len(new):,} chips of {q.after} at {word} ≥ {det.line:.3f} that were below it "
        f"in {q.before}"
    )
    if q.on != q.after:
        from terrafind.core.change.remap import outcome_on

        outcome = outcome_on(outcome, dates, q.on)
    return outcome
