"""From "the examples changed" to results on screen: at once, one search job at a time, newest wins.

The first click searches at once; a click while a search runs, or within 400 ms of the last one started,
starts a 400 ms timer that more clicks restart, so quick clicks after the first give one more search.
The search (plain, refined or grouped: the session decides, :meth:`terrafind.core.session.Session.how`)
and turning its hits into map features and gallery items run in a worker on a snapshot of the session
(:meth:`~terrafind.core.session.Session.query`). Starting a search cancels the one still running
(TaskRunner's latest-wins), so a slow old search never overwrites a new one. The outcome goes back to
the controller (``show_results``). An exact search of millions of chips (the index still building) also
hands back the best hits found so far after each tenth of the region, spread over all of it
(``partial``), so the first results are on screen in a fraction of the scan.
"""

from __future__ import annotations

import time

from PySide6.QtCore import QObject, QTimer, Signal

from terrafind.core.errors import InputError
from terrafind.core.present.features import ShownResults, show_outcome
from terrafind.core.search.run import run_query
from terrafind.gui.workers import TaskRunner

__all__ = ["SearchFlow", "DEBOUNCE_MS"]

DEBOUNCE_MS = 400
LABELS = {
    "refine": "Refining with your labels",
    "grouped": "Searching per group of examples",
    "unusual": "Finding unusual places",
}


class SearchFlow(QObject):
    """Runs the searches of a controller's session."""

    started = Signal(str)  # how: "plain" | "refine" | "grouped"
    _partial = Signal(object, object, float)  # (job, ShownResults, share of the region scanned), queued

    def __init__(self, controller, runner: TaskRunner):
        super().__init__(controller)
        self.c = controller
        self.runner = runner
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.setInterval(DEBOUNCE_MS)
        self.timer.timeout.connect(self.search_now)
        self._last_start = -1e9
        self._partial.connect(self._on_partial)

    def request(self) -> None:
        """Search now, unless a search is running or started moments ago: then after a short pause
        (which further requests restart), so quick clicks coalesce into one search."""
        recent = time.monotonic() - self._last_start < DEBOUNCE_MS / 1000.0
        if recent or self.runner.running("search") or self.timer.isActive():
            self.timer.start()
        else:
            self.search_now()

    def cancel(self) -> None:
        self.timer.stop()
        self.runner.cancel("search")

    def search_now(self, how: str | None = None) -> bool:
        """Start a search now (``how``: the session's choice, or "unusual"); False (with a status message)
        when there is nothing to search with."""
        self.timer.stop()
        session = self.c.session
        try:
            query = session.query(how)
        except InputError as exc:
            self.c.say(exc.message)
            return False
        if session.learn.get("refine") and query.how not in ("refine", "unusual"):
            self.c.say("Refine needs a hit marked wrong (N) too; searching by likeness meanwhile.")
        labels = dict(query.labels)
        holder: dict = {}

        def partial(outcome, share: float) -> None:  # in the worker: best so far of a long exact scan
            self._partial.emit(holder.get("job"), show_outcome(query.catalog, outcome, labels), share)

        def job(progress, cancel) -> ShownResults:
            # (unusual places: one pass over the region, with progress: core.search.unusual)
            outcome = run_query(query, cancel=cancel, partial=partial, progress=progress)
            return show_outcome(query.catalog, outcome, labels)

        self._last_start = time.monotonic()
        self.started.emit(query.how)
        holder["job"] = self.runner.start(
            "search",
            job,
            label=LABELS.get(query.how, "Searching"),
            on_done=self.c.show_results,
            on_error=self.c.report_error,
        )
        return True

    def _on_partial(self, job, shown: ShownResults, share: float) -> None:
        if job is not None and job in self.runner.running("search"):  # a newer search drops older partials
            self.c.show_results(shown, partial=share)

    def show_saved(self, outcome) -> None:
        """Results a project saved: made ready for the screen in a job of the same kind (a search started
        meanwhile supersedes it)."""
        catalog, labels = self.c.session.catalog, dict(self.c.session.labels)
        self.runner.start(
            "search",
            lambda progress, cancel: show_outcome(catalog, outcome, labels),
            label="Restoring results",
            on_done=self.c.show_results,
            on_error=self.c.report_error,
        )
