"""A comparison between dates stays on screen when the map switches dates: its hits move to that date's rows.

Results of a comparison (change, unusual for its history, new since) carry both dates' rows in
``extra["row_before"]`` / ``extra["row_after"]``, so the hits of another date on the map are found through
the chip match (:meth:`terrafind.core.dates.region.DatedRegion.match`); hits with no chip at that date
drop out. A search's outcome belongs to the date it ran on and goes (the app searches again).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from terrafind.core.search.visible import take_hits

__all__ = ["COMPARISONS", "is_comparison", "outcome_on"]

COMPARISONS = ("change", "history", "new")  # SearchOutcome.how of results that compare dates


def is_comparison(outcome: Any) -> bool:
    return outcome is not None and outcome.how in COMPARISONS


def outcome_on(outcome: Any, dates: Any, label: str) -> Any:
    """``outcome`` with its hits as rows of date ``label`` (None for a search's outcome)."""
    if not is_comparison(outcome):
        return None
    r = outcome.result
    extra = r.extra or {}
    on = str(extra["on"][0]) if "on" in extra and len(r.rows) else None
    if on is None or on == label:
        return outcome
    # Where the hits are now: their rows on the date they were shown on, matched to ``label``.
    rows = dates.match(on, label).a_to_b[np.asarray(r.rows, np.int64)]
    keep = np.flatnonzero(rows >= 0)
    moved = take_hits(r, keep)
    moved_extra = dict(moved.extra or {})
    moved_extra["on"] = np.full(len(keep), label, object)
    # The examples' rows belonged to the other date's chips: they are in ``extra`` by id instead.
    moved = replace(
        moved, rows=rows[keep], extra=moved_extra, positives=(), negatives=(),
        matched=np.full(len(keep), -1, np.int64),
    )  # fmt: skip
    return replace(outcome, result=moved, review=None)
