"""From "the examples changed" to results on screen: debounce, one search job at a time, newest wins.

A click starts a 400 ms timer; more clicks restart it, so three quick clicks give one search. The search
itself (and turning its hits into map features and gallery items) runs in a worker. Starting a search
cancels the one still running (TaskRunner's latest-wins), so a slow old search never overwrites a new one.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer, Signal

from terrafind.core.present.features import ResultsPayload, results_payload
from terrafind.core.types import Examples
from terrafind.gui.workers import TaskRunner

__all__ = ["SearchFlow", "DEBOUNCE_MS"]

DEBOUNCE_MS = 400


class SearchFlow(QObject):
    """Runs searches for a controller. ``controller`` provides catalog, index, examples, labels, params."""

    results_ready = Signal(object)  # ResultsPayload
    search_started = Signal()

    def __init__(self, controller, runner: TaskRunner):
        super().__init__(controller)
        self.c = controller
        self.runner = runner
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.setInterval(DEBOUNCE_MS)
        self.timer.timeout.connect(self.search_now)
        # terrafind.gui.flows.learn_flow takes a search over (refine, grouped, masked places) by returning True here.
        self.takeover: Callable[[], bool] | None = None

    def request(self) -> None:
        """Search after a short pause (restarts the pause)."""
        self.timer.start()

    def cancel(self) -> None:
        self.timer.stop()
        self.runner.cancel("search")

    def examples(self) -> Examples:
        pos = [r for r, k in self.c.examples.items() if k == "positive"]
        neg = [r for r, k in self.c.examples.items() if k == "negative"]
        pos += [r for r, k in self.c.labels.items() if k == "positive" and r not in self.c.examples]
        neg += [r for r, k in self.c.labels.items() if k == "negative" and r not in self.c.examples]
        return Examples(positives=pos, negatives=neg)

    def search_now(self) -> bool:
        """Start a search now; False (with a status message) when there is nothing to search with."""
        self.timer.stop()
        if self.takeover is not None and self.takeover():
            return True
        catalog = self.c.catalog
        if catalog is None:
            self.c.message.emit("Open a file first: File > Open file...")
            return False
        examples = self.examples()
        if not examples.positives:
            self.c.message.emit("Click on the map to add a positive example, then search.")
            return False
        params = dict(self.c.params)
        index = (
            self.c.index
        )  # None until the index is published: terrafind.core.search.query then searches exactly
        labels = dict(self.c.labels)
        exclude = tuple(labels)
        k, mode = int(params.get("k", 200)), str(params.get("mode", "mean"))

        def job(progress, cancel) -> ResultsPayload:
            from terrafind.core.search.query import search

            result = search(catalog, examples, k=k, mode=mode, index=index, exclude=exclude, cancel=cancel)
            if cancel is not None:
                cancel.raise_if_cancelled()
            return results_payload(catalog, result, labels)

        self.search_started.emit()
        self.runner.start(
            "search",
            job,
            label="Searching",
            on_done=self._done,
            on_error=self.c.report_error,
        )
        return True

    def _done(self, payload: ResultsPayload) -> None:
        if payload.result is None:
            return
        self.results_ready.emit(payload)
