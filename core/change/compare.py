"""What changed: the chips that changed most between two dates, or that are unusual for their own history.

A :class:`ChangeQuery` is taken from a session (like a search's query) and :func:`run_change` runs it
anywhere. The outcome is a :class:`terrafind.core.search.run.SearchOutcome` whose ``how`` is "change" or
"history" and whose result ranks chips by change (:mod:`terrafind.core.change.metric`, 0..2), so the map,
the histogram and its threshold line, the gallery, sites (with hectares) and every export show it like
any result. ``result.extra`` carries both dates, both ids and both rows per hit (before/after thumbnails,
exports, and the hits staying put when the map switches date: :mod:`terrafind.core.change.remap`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from terrafind.core.change.metric import history_change, joint_mean, pair_change
from terrafind.core.errors import InputError
from terrafind.core.progress import CancelToken, check
from terrafind.core.search.exact import top_sorted
from terrafind.core.search.percentiles import RegionPercentiles
from terrafind.core.search.query import MAX_K
from terrafind.core.search.run import SearchOutcome
from terrafind.core.types import SearchResult

__all__ = ["ChangeQuery", "run_change", "comparison_extra"]


@dataclass(frozen=True)
class ChangeQuery:
    """Change between ``before`` and ``after`` (kind "change"), or of date ``after`` against its other
    dates (kind "history"); hits are rows of date ``on`` (the date on the map). ``masked`` are ids never
    shown (imported "exclude" places); ``threshold`` keeps only changes at or above it."""

    dates: Any  # terrafind.core.dates.region.DatedRegion
    before: str
    after: str
    on: str
    kind: str = "change"
    k: int = 500
    threshold: float | None = None
    masked: tuple[str, ...] = ()


def comparison_extra(dates: Any, on: str, before: str, after: str, rows_after: np.ndarray) -> dict[str, Any]:
    """Per-hit columns of a comparison whose hits are ``rows_after`` of date ``after``: both dates, both
    ids and rows (-1 / None where a chip has no twin), and ``on``, the date the rows index."""
    a_cat, b_cat = dates.get(after).catalog, dates.get(before).catalog
    rows_before = dates.match(after, before).a_to_b[rows_after] if len(rows_after) else np.zeros(0, np.int64)
    n = len(rows_after)
    ids_before = np.array([str(b_cat.ids[r]) if r >= 0 else None for r in rows_before.tolist()], object)
    return {
        "on": np.full(n, on, object),
        "date_before": np.full(n, before, object),
        "date_after": np.full(n, after, object),
        "id_before": ids_before,
        "id_after": np.array([str(a_cat.ids[r]) for r in rows_after.tolist()], object),
        "row_before": rows_before.astype(np.int64),
        "row_after": np.asarray(rows_after, np.int64),
    }


def _history_before(dates: Any, label: str) -> str:
    """The date shown beside a year judged against its history: the one before it (after, for the first)."""
    prev, nxt = dates.neighbours(label)
    return prev or nxt or label


def run_change(q: ChangeQuery, *, cancel: CancelToken | None = None) -> SearchOutcome:
    """Rank the chips of ``q.after`` by change (see the module docstring); InputError when it cannot run."""
    t0 = time.perf_counter()
    dates = q.dates
    if dates is None or len(dates) < 2:
        raise InputError("Open two or more dates of a region to see what changed.")
    if q.kind not in ("change", "history"):
        raise InputError(f"Unknown kind of change {q.kind!r}.")
    if not 1 <= int(q.k) <= MAX_K:
        raise InputError(f"Ask for between 1 and {MAX_K} changes (got {q.k}).")
    after = dates.get(q.after).catalog
    warning = None
    if q.kind == "change":
        if q.before == q.after:
            raise InputError("Choose two different dates to compare.")
        match = dates.match(q.after, q.before)
        warning = None if match.same_grid else match.sentence
        rows_a, rows_b = match.pairs
        before = dates.get(q.before).catalog
        mean = joint_mean(after, before)
        values = pair_change(after, before, mean, a_rows=rows_a, b_rows=rows_b, cancel=cancel)
        shown_before = q.before
    else:
        if len(dates) < 3:
            raise InputError("'Unusual for its own history' needs three or more dates.")
        others = [
            (dates.get(lab).catalog, dates.match(q.after, lab).a_to_b)
            for lab in dates.labels
            if lab != q.after
        ]
        mean = joint_mean(*(s.catalog for s in dates.slices))
        score, _ = history_change(after, others, mean, cancel=cancel)
        rows_a = np.flatnonzero(~np.isnan(score))
        values = score[rows_a]
        shown_before = _history_before(dates, q.after)
    check(cancel)
    keep = np.ones(len(rows_a), bool)
    if q.masked:
        masked = {after.row_of(i) for i in q.masked} - {None}
        keep &= ~np.isin(rows_a, np.fromiter(masked, np.int64, len(masked)))
    if q.threshold is not None:
        keep &= values >= float(q.threshold)
    rows, scores = top_sorted(rows_a[keep], values[keep].astype(np.float32), int(q.k))
    extra = comparison_extra(dates, q.after, shown_before, q.after, rows)
    result = SearchResult(
        rows=rows.astype(np.int64),
        scores=scores.astype(np.float32),
        matched=np.full(len(rows), -1, np.int64),
        mode=q.kind,
        k=int(q.k),
        threshold=q.threshold,
        positives=(),
        negatives=(),
        method="exact",
        elapsed_ms=(time.perf_counter() - t0) * 1000.0,
        extra=extra,
    )
    # Where each change stands among every chip compared: the map colours by it ("top 1 %"), and the
    # panel can say how many more lie above the line than were shown.
    spread = RegionPercentiles(np.sort(values.astype(np.float32)), int(len(values)))
    outcome = SearchOutcome(q.kind, result, warning=warning, percentiles=spread)
    outcome.quality = _summary(q, int(len(rows_a)), len(after))
    if q.on != q.after:
        from terrafind.core.change.remap import outcome_on

        outcome = outcome_on(outcome, dates, q.on)
    return outcome


def _summary(q: ChangeQuery, compared: int, total: int) -> str:
    """The line beside the histogram: what was compared with what."""
    if q.kind == "history":
        return f"{q.after} against its other dates · {compared:,} of {total:,} chips with 2+ other dates"
    return f"{q.before} → {q.after} · {compared:,} of {total:,} chips compared"
