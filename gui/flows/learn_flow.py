"""Searches that learn from labels: Refine, Group my examples, and chips masked by imported places.

:class:`LearnFlow` takes a search over from :class:`terrafind.gui.flows.search_flow.SearchFlow` (its ``takeover`` hook)
whenever one of these is on, so the debounce, the Search button, auto search after a label and
"latest wins" stay exactly as they are: its job has the same kind ("search"), so a new search of either
flow cancels the other's. When none is on, plain searches run as before.

The masked chips are kept by chip id as well as by row: opening a region again renumbers the rows, and
``remap`` finds them again by id.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from terrafind.core.search.learn import LearnPayload, learn_search
from terrafind.gui.workers import TaskRunner

__all__ = ["LearnFlow"]


class LearnFlow(QObject):
    payload_ready = Signal(object)  # LearnPayload, before the controller shows it
    masked_changed = Signal(int)  # number of masked chips
    readiness_changed = Signal(bool)  # True when there is >= 1 positive and >= 1 negative

    def __init__(self, controller, runner: TaskRunner):
        super().__init__(controller)
        self.c = controller
        self.runner = runner
        self.refining = False
        self.grouping = False
        self.masked: dict[int, str] = {}  # row -> chip id, rows that never appear in results
        self._ready = False
        controller.search.takeover = self.take_over
        controller.examples_changed.connect(self._on_examples_changed)
        controller.catalog_loaded.connect(self.remap)

    # --- state ----------------------------------------------------------------------------------------
    def can_refine(self) -> bool:
        ex = self.c.search.examples()
        return bool(ex.positives) and bool(ex.negatives)

    def _on_examples_changed(self, _items) -> None:
        ready = self.c.catalog is not None and self.can_refine()
        if ready != self._ready:
            self._ready = ready
            self.readiness_changed.emit(ready)

    def set_refining(self, on: bool) -> None:
        """Searches from now on re-rank with a classifier trained on the labels (and search at once)."""
        if bool(on) == self.refining:
            return
        self.refining = bool(on)
        if on and not self.can_refine():
            self.c.message.emit(
                "Refine learns from your labels: mark at least one hit right (Y) and one wrong (N) first."
            )
            return
        self._search_again()

    def set_grouping(self, on: bool) -> None:
        """Searches from now on query each group of alike examples on its own and merge the hits."""
        if bool(on) == self.grouping:
            return
        self.grouping = bool(on)
        self._search_again()

    def _search_again(self) -> None:
        if self.c.catalog is not None and self.c.search.examples().positives:
            self.c.search_now()

    def set_masked(self, rows) -> None:
        """Replace the masked chips (the undo commands of terrafind.gui.flows.import_flow call this)."""
        cat = self.c.catalog
        self.masked = {int(r): (str(cat.ids[int(r)]) if cat is not None else f"#{r}") for r in rows}
        self.masked_changed.emit(len(self.masked))

    def remap(self, catalog) -> None:
        """A catalog was (re)opened: find the masked chips again by id (rows differ between regions)."""
        if not self.masked:
            return
        rows = [catalog.row_of(i) for i in self.masked.values()]
        self.masked = {int(r): str(catalog.ids[int(r)]) for r in rows if r is not None}
        self.masked_changed.emit(len(self.masked))

    def how(self) -> str:
        """What the next search will be: "refine", "grouped" or "plain"."""
        if self.refining and self.can_refine():
            return "refine"
        return "grouped" if self.grouping else "plain"

    # --- the search ---------------------------------------------------------------------------------
    def take_over(self) -> bool:
        """SearchFlow's hook: run this search here (True) or leave it to the plain path (False)."""
        c = self.c
        catalog = c.catalog
        examples = c.search.examples()
        if catalog is None or not examples.positives:
            return False  # the plain path says what is missing
        how = self.how()
        if how == "plain" and not self.masked:
            if self.refining:
                c.message.emit("Refine needs a hit marked wrong (N) too; searching by likeness meanwhile.")
            return False
        params = dict(c.params)
        k, mode = int(params.get("k", 200)), str(params.get("mode", "mean"))
        index, labels, masked = c.index, dict(c.labels), tuple(self.masked)

        def job(progress, cancel) -> LearnPayload:
            return learn_search(
                catalog,
                examples,
                how=how,
                k=k,
                mode=mode,
                index=index,
                labels=labels,
                masked=masked,
                cancel=cancel,
            )

        label = {"refine": "Refining with your labels", "grouped": "Searching per group of examples"}
        c.search.search_started.emit()
        self.runner.start(
            "search", job, label=label.get(how, "Searching"), on_done=self._done, on_error=c.report_error
        )
        return True

    def _done(self, payload: LearnPayload) -> None:
        if payload.result is None or self.c.catalog is None:
            return
        self.payload_ready.emit(payload)
        # The controller's own entry point for finished searches: payload, message, signals, autosave.
        self.c.search.results_ready.emit(payload)
