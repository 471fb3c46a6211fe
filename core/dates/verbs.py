"""The session's verbs about dates (a part of :class:`terrafind.core.session.Session`, in a file of its own).

Which date is on the map, which dates a search learns from, and the questions across dates: what changed
(:mod:`terrafind.core.change.compare`), what is new (:mod:`terrafind.core.change.new`), how many hits
at each date (:mod:`terrafind.core.change.timeline`) and whether the detector travels
(:mod:`terrafind.core.change.transfer`). Like a search, each has a query taken on the session's thread
and a plain function that runs it anywhere; the ``run_*`` verbs do both (the CLI's way).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from terrafind.core.dates.marks import DateMarks, marks_by_id, marks_by_row
from terrafind.core.errors import InputError

__all__ = ["DateVerbs", "CHANGE_K"]

CHANGE_K = 500  # changes shown by default: enough to see a pattern, few enough for a quick gallery


class DateVerbs:
    """Mixed into Session: needs its ``dates``, ``date``, ``catalog``, ``marks``, ``learn_from``, ``params``,
    ``masked``, ``examples``, ``labels`` and ``outcome``."""

    dates: Any
    date: str | None
    catalog: Any
    marks: dict[str, DateMarks]
    learn_from: list[str] | None
    params: dict[str, Any]
    masked: dict[int, str]
    examples: dict[int, str]
    labels: dict[int, str]
    outcome: Any
    index: Any
    imagery: str | None
    refined_with: Any
    assigned: dict[str, str]

    # --- dates ------------------------------------------------------------------------------------
    def _need_dates(self, what: str) -> Any:
        if self.dates is None or len(self.dates) < 2 or self.date is None:
            raise InputError(f"Open two or more dates of a region to see {what}.")
        return self.dates

    def set_learn_from(self, labels: list[str] | None) -> None:
        """The dates whose examples and labels a search learns from (None: every date)."""
        if labels is not None and self.dates is not None:
            known = set(self.dates.labels)
            labels = [lab for lab in labels if lab in known]
        self.learn_from = labels

    def all_marks(self) -> dict[str, DateMarks]:
        """The marks of every date by id, the date on the map's included."""
        out = dict(self.marks)
        if self.catalog is not None and self.date is not None:
            mine = marks_by_id(self.catalog, self.examples, self.labels)
            if not mine.is_empty():
                out[self.date] = mine
        return out

    def default_pair(self) -> tuple[str, str]:
        """(before, after) to compare when the user has not chosen: the first date and the one on the map
        (or the last, when the first is on the map)."""
        dates = self._need_dates("what changed")
        labels = dates.labels
        after = self.date if self.date != labels[0] else labels[-1]
        return labels[0], str(after)

    def date_labels(self) -> list[str]:
        """The dates of the open region, oldest first ([] for one snapshot)."""
        return list(self.dates.labels) if self.dates is not None else []

    def set_date(self, label: str) -> bool:
        """Show date ``label``: its chips become the catalog, its marks come back by row and those of the
        date left are kept by id. A comparison between dates stays (on this date's chips); a search's
        outcome goes (searching again is the caller's choice). Returns True when the date changed."""
        from terrafind.core.change.remap import outcome_on

        if self.dates is None or label == self.date:
            return False
        new = self.dates.get(label)
        if self.catalog is not None and self.date is not None:
            mine = marks_by_id(self.catalog, self.examples, self.labels)
            self.marks.pop(self.date, None)
            if not mine.is_empty():
                self.marks[self.date] = mine
        masked_ids = list(self.masked.values())
        self.examples, self.labels, _ = marks_by_row(new.catalog, self.marks.pop(label, DateMarks()))
        self.outcome = outcome_on(self.outcome, self.dates, label)
        self.catalog, self.index, self.date = new.catalog, new.index, label
        rows = new.catalog.rows_of(masked_ids)  # one pass over the ids, however many chips
        self.masked = {int(r): str(i) for r, i in zip(rows, masked_ids, strict=True) if r >= 0}
        self.imagery = new.imagery
        self.refined_with = None
        return True

    # --- projects -----------------------------------------------------------------------------------
    def _dates_to_project(self) -> dict[str, Any] | None:
        if self.dates is None and not self.assigned:
            return None
        from terrafind.core.dates.marks import marks_to_dict

        return {
            "current": self.date,
            "marks": marks_to_dict({d: m for d, m in self.marks.items() if d != self.date}),
            "assigned": dict(self.assigned),
            "learn_from": self.learn_from,
        }

    def _dates_from_project(self, saved: dict[str, Any] | None) -> None:
        """Before a project's examples come back: its date on the map, the other dates' marks, the dates
        searches learn from."""
        from terrafind.core.dates.marks import marks_from_dict

        if not saved or self.dates is None:
            return
        current = saved.get("current")
        if current in self.dates.labels:
            self.set_date(str(current))
        self.marks = {d: m for d, m in marks_from_dict(saved.get("marks")).items() if d in self.dates.labels}
        learn = saved.get("learn_from")
        self.set_learn_from([str(x) for x in learn] if isinstance(learn, list) else None)

    # --- what changed -----------------------------------------------------------------------------
    def change_query(
        self,
        before: str | None = None,
        after: str | None = None,
        *,
        kind: str = "change",
        k: int | None = None,
    ) -> Any:
        from terrafind.core.change.compare import ChangeQuery

        dates = self._need_dates("what changed")
        b, a = self.default_pair()
        before, after = before or b, after or a
        if kind == "change" and dates.get(before).start > dates.get(after).start:
            before, after = after, before  # "change between" reads oldest first
        return ChangeQuery(
            dates, before, after, on=str(self.date), kind=kind, k=int(k or self.params.get("change_k") or CHANGE_K),
            masked=tuple(self.masked.values()),
        )  # fmt: skip

    def run_change(self, before: str | None = None, after: str | None = None, **kwargs: Any) -> Any:
        """Compare now, on this thread, and keep the outcome (the CLI's way)."""
        from terrafind.core.change.compare import run_change

        threshold = kwargs.pop("threshold", None)
        q = self.change_query(before, after, **kwargs)
        if threshold is not None:
            from dataclasses import replace

            q = replace(q, threshold=float(threshold))
        outcome = run_change(q)
        self.set_outcome(outcome)  # type: ignore[attr-defined]
        return outcome

    # --- the detector, what is new, the timeline ---------------------------------------------------
    def detector(self) -> Any:
        """What the current search looks for, able to score any date (terrafind.core.change.detector)."""
        from terrafind.core.change.detector import Detector
        from terrafind.core.search.query import example_vectors
        from terrafind.core.search.run import PROBABILITY_CUT
        from terrafind.core.search.visible import threshold_by

        if self.catalog is None:
            raise InputError("Open a file first: File > Open file...")
        examples = self.search_examples()  # type: ignore[attr-defined]
        if examples.is_empty():
            raise InputError("Click on the map to add a positive example, then search.")
        pos, neg = example_vectors(self.catalog, examples)
        out = self.outcome
        refined = out.refine if out is not None and out.how == "refine" else None
        t = self.params.get("threshold")
        words = f"{len(pos)} positive and {len(neg)} negative examples"
        if refined is not None and refined.model is not None:
            line = (
                float(t)
                if t is not None and self.params.get("threshold_by") == "probability"
                else PROBABILITY_CUT
            )
            return Detector(
                "probability", line, pos, neg, model=refined.model, described=f"Refine on {words}"
            )
        mode = str(self.params.get("mode", "mean"))
        if t is not None and out is not None and threshold_by(out.result) == "score":
            line = float(t)
        elif out is not None and out.how in ("plain", "grouped") and len(out.result.scores):
            line = float(np.min(out.result.scores))  # the last of the top-k hits shown
        else:
            from terrafind.core.search.run import run_query

            r = run_query(self.query("plain")).result  # type: ignore[attr-defined]
            line = float(np.min(r.scores)) if len(r.scores) else 1.0
        return Detector("score", line, pos, neg, mode=mode, described=words)

    def new_query(self, since: str, detector: Any = None) -> Any:
        from terrafind.core.change.new import NewQuery

        dates = self._need_dates("what is new")
        if dates.get(since).start >= dates.get(str(self.date)).start:
            raise InputError(
                f"'New since' needs a date before {self.date}: choose an earlier one than {since}."
            )
        exclude = (*self.examples, *self.labels, *self.masked)
        return NewQuery(
            dates, detector or self.detector(), since, str(self.date), str(self.date), tuple(exclude)
        )

    def run_new(self, since: str) -> Any:
        """What is new since ``since`` on the date on the map, now, on this thread (the CLI's way)."""
        from terrafind.core.change.new import run_new

        outcome = run_new(self.new_query(since))
        self.set_outcome(outcome)  # type: ignore[attr-defined]
        return outcome

    def timeline_query(
        self, where: Any = None, where_name: str = "the whole region", detector: Any = None
    ) -> Any:
        from terrafind.core.change.timeline import TimelineQuery

        return TimelineQuery(self._need_dates("a timeline"), detector or self.detector(), where, where_name)

    def check_date(self, hold_out: str) -> Any:
        """Train on the other dates' labels (those searches learn from), check on ``hold_out``'s."""
        from terrafind.core.change.transfer import check_transfer

        dates = self._need_dates("whether the detector travels")
        return check_transfer(dates, self.all_marks(), hold_out, self.learn_from)
