"""From "the examples changed" to results on screen: debounce, one search job at a time, newest wins.

A click starts a 400 ms timer; more clicks restart it, so three quick clicks give one search. The search
(plain, refined or grouped: the session decides, :meth:`terrafind.core.session.Session.how`) and turning
its hits into map features and gallery items run in a worker on a snapshot of the session
(:meth:`~terrafind.core.session.Session.query`). Starting a search cancels the one still running
(TaskRunner's latest-wins), so a slow old search never overwrites a new one. The outcome goes back to
the controller (``show_results``).
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QTimer, Signal

from terrafind.core.errors import InputError
from terrafind.core.present.features import ShownResults, show_outcome
from terrafind.core.search.run import run_query
from terrafind.gui.workers import TaskRunner

__all__ = ["SearchFlow", "DEBOUNCE_MS"]

DEBOUNCE_MS = 400
LABELS = {"refine": "Refining with your labels", "grouped": "Searching per group of examples"}


class SearchFlow(QObject):
    """Runs the searches of a controller's session."""

    started = Signal(str)  # how: "plain" | "refine" | "grouped"

    def __init__(self, controller, runner: TaskRunner):
        super().__init__(controller)
        self.c = controller
        self.runner = runner
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.setInterval(DEBOUNCE_MS)
        self.timer.timeout.connect(self.search_now)

    def request(self) -> None:
        """Search after a short pause (restarts the pause)."""
        self.timer.start()

    def cancel(self) -> None:
        self.timer.stop()
        self.runner.cancel("search")

    def search_now(self) -> bool:
        """Start a search now; False (with a status message) when there is nothing to search with."""
        self.timer.stop()
        session = self.c.session
        try:
            query = session.query()
        except InputError as exc:
            self.c.say(exc.message)
            return False
        if session.learn.get("refine") and query.how != "refine":
            self.c.say("Refine needs a hit marked wrong (N) too; searching by likeness meanwhile.")
        labels = dict(query.labels)

        def job(progress, cancel) -> ShownResults:
            outcome = run_query(query, cancel=cancel)
            return show_outcome(query.catalog, outcome, labels)

        self.started.emit(query.how)
        self.runner.start(
            "search",
            job,
            label=LABELS.get(query.how, "Searching"),
            on_done=self.c.show_results,
            on_error=self.c.report_error,
        )
        return True

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
