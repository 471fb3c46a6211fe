"""Jobs across the dates of a region: what changed, what is new, the timeline, the held-out-date check.

Each runs on a snapshot of the session in a worker (:mod:`terrafind.core.change`) and hands back: a
comparison as results (``controller.show_results``: the map, the histogram with its line, the gallery
with before/after tiles and the sites show it like any result), the timeline's counts as a signal, and
the check's sentence as a signal and a status message.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, Signal

from terrafind.core.errors import InputError
from terrafind.core.present.features import show_outcome
from terrafind.gui.workers import TaskRunner

__all__ = ["DatesFlow"]


class DatesFlow(QObject):
    timeline_ready = Signal(list, str)  # [DateCount], caption
    check_ready = Signal(str)  # the held-out check's sentence

    def __init__(self, controller: Any, runner: TaskRunner):
        super().__init__(controller)
        self.c = controller
        self.runner = runner
        self.where: Any = None  # the place the timeline counts in (a site's outline), None = everywhere
        self.where_name = "the whole region"

    def _snapshot(self) -> Any:
        s = self.c.session
        if s.dates is None or len(s.dates) < 2:
            self.c.say(
                "Open two or more dates of a region first (File > Open demo region > Pucallpa 1985-2020)."
            )
            return None
        return s.snapshot()

    def _show(self, kind: str, label: str, make) -> None:
        """Run ``make(snapshot, cancel) -> SearchOutcome`` and show it (a search of the same kind waits)."""
        snap = self._snapshot()
        if snap is None:
            return
        self.c.search.cancel()  # a debounced search must not replace the comparison asked for now

        def job(progress, cancel):
            outcome = make(snap, cancel)
            return show_outcome(snap.catalog, outcome, dict(snap.labels))

        self.runner.start(
            "search", job, label=label, on_done=self.c.show_results, on_error=self.c.report_error
        )

    def compare(self, before: str, after: str, kind: str = "change") -> None:
        """What changed between ``before`` and ``after`` ("change"), or ``after`` against its history."""
        from terrafind.core.change.compare import run_change

        try:
            snap = self._snapshot()
            if snap is None:
                return
            q = snap.change_query(before or None, after or None, kind=kind)
        except InputError as exc:
            self.c.say(exc.message)
            return
        what = f"{q.after} against its history" if kind == "history" else f"{q.before} → {q.after}"
        self._show(kind, f"Comparing {what}", lambda s, cancel: run_change(q, cancel=cancel))

    def new_since(self, since: str) -> None:
        """What looks like the examples on the date on the map and did not at ``since``."""
        from terrafind.core.change.new import run_new

        s = self.c.session
        if not s.has_positive():
            self.c.say(
                "Click on the map to add a positive example first: 'new' means new like your examples."
            )
            return
        self._show(
            "new", f"New since {since}", lambda snap, cancel: run_new(snap.new_query(since), cancel=cancel)
        )

    def timeline(self, where: Any = None, where_name: str = "the whole region") -> None:
        """Hits of the current search at every date, inside ``where`` (None: the whole region)."""
        from terrafind.core.change.timeline import run_timeline

        s = self.c.session
        if s.dates is None or len(s.dates) < 2 or not s.has_positive():
            self.timeline_ready.emit([], "")
            return
        self.where, self.where_name = where, where_name
        snap = s.snapshot()

        def job(progress, cancel):
            q = snap.timeline_query(where, where_name)
            counts = run_timeline(q, progress=progress, cancel=cancel)
            det = q.detector
            word = "probability" if det.by == "probability" else "score"
            return counts, f"Hits per date in {where_name} ({word} ≥ {det.line:.3f}, {det.described})"

        self.runner.start(
            "timeline",
            job,
            label="Counting hits per date",
            on_done=lambda out: self.timeline_ready.emit(out[0], out[1]),
            on_error=lambda exc, tb: self.c.say(getattr(exc, "message", str(exc))),
        )

    def check(self, hold_out: str) -> None:
        """Train on the other dates' labels, measure on ``hold_out``'s."""
        snap = self._snapshot()
        if snap is None:
            return

        def done(result) -> None:
            text = result.sentence()
            self.check_ready.emit(text)
            self.c.say(text)

        self.runner.start(
            "check",
            lambda progress, cancel: snap.check_date(hold_out),
            label=f"Checking the detector on {hold_out}",
            on_done=done,
            on_error=lambda exc, tb: self.check_ready.emit(getattr(exc, "message", str(exc))),
        )
