"""Hard-negative rounds in the app ("Improve automatically"): core.search.rounds, run round by round.

Reviewed rounds: each round is a search job that also works out the round's figures and the chips to
offer; the gallery's "Improve: chips to review" shows them; the person marks them (ordinary Yes / No
labels) and presses Next round. Rounds taken without asking run as one job (``rounds.improve`` on a
snapshot); its negatives come back as one undoable step. Either way the rounds panel shows each round's
figures and why they stopped.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtCore import QObject, Signal

from terrafind.core.errors import InputError
from terrafind.core.present.features import show_outcome
from terrafind.core.search import rounds as rd
from terrafind.gui.workers import TaskRunner

__all__ = ["RoundsFlow"]


class RoundsFlow(QObject):
    changed = Signal()  # figures, status or state changed: the window shows them

    def __init__(self, controller, runner: TaskRunner):
        super().__init__(controller)
        self.c = controller
        self.runner = runner
        self.options: Any = None  # terrafind.gui.panels.improve_dialog.ImproveOptions
        self.figures: list[rd.RoundFigures] = []
        self.offered = np.zeros(0, np.int64)
        self.status = ""
        self.reviewing = False  # offered chips wait for marks
        self.running = False  # a round's job runs
        self._pending: tuple[int, int, int] | None = None

    # --- verbs ------------------------------------------------------------------------------------
    def start(self, options: Any) -> None:
        """Begin rounds with ``options`` (max_rounds, per_round, far_m, auto)."""
        s = self.c.session
        if s.catalog is None or s.outcome is None or not s.search_examples().positives:
            self.c.say("Search first: the rounds improve the hits of a search.")
            return
        self.options = options
        self.figures, self.offered, self._pending = [], np.zeros(0, np.int64), None
        self.c.set_learn(refine=True, search=False)  # the rounds train the detector (Refine)
        if options.auto:
            self._run_auto()
        else:
            self._review_round(0)

    def next_round(self) -> None:
        """The person marked the offered chips: learn from them and search again."""
        if not self.reviewing or self.running:
            return
        labels = self.c.session.labels
        marks = [labels.get(int(r)) for r in self.offered]
        taken = sum(1 for m in marks if m == "negative")
        confirmed = sum(1 for m in marks if m == "positive")
        if not taken and not confirmed:
            self.c.say("Mark the offered chips first: Yes, this (Y) or Not this (N).")
            return
        self._pending = (len(self.offered), taken, confirmed)
        self._review_round(len(self.figures))

    def stop(self) -> None:
        self.runner.cancel("rounds")
        self._finish("Stopped by you." if self.figures else "")

    def close(self) -> None:
        self.stop()
        self.figures, self.status = [], ""
        self.changed.emit()

    # --- jobs -------------------------------------------------------------------------------------
    def _review_round(self, round_no: int) -> None:
        s = self.c.session
        try:
            query = s.query()
        except InputError as exc:
            self.c.say(exc.message)
            return
        snap = s.snapshot()
        opts = self.options
        labels = dict(query.labels)

        def job(progress, cancel):
            from terrafind.core.search.run import run_query

            outcome = run_query(query, cancel=cancel)
            snap.set_outcome(outcome)
            visible = snap.visible()
            figures = rd.figures_of(round_no, outcome, visible)
            ex = snap.search_examples()
            figures.site_confidence = rd.site_confidence(snap.catalog, ex.positives, ex.negatives)
            sites = np.asarray(ex.positives, np.int64)
            offered = rd.hard_negatives(
                snap.catalog, visible, sites, count=opts.per_round, far_m=opts.far_m or None
            )
            return show_outcome(query.catalog, outcome, labels), figures, offered

        self.running = True
        self.status = f"Round {round_no}: searching..."
        self.changed.emit()
        self.runner.start(
            "rounds",
            job,
            label=f"Improving: round {round_no}",
            on_done=self._round_done,
            on_error=self._failed,
        )

    def _round_done(self, done: tuple) -> None:
        shown, figures, offered = done
        self.running = False
        if self._pending is not None:
            figures.offered, figures.taken, figures.confirmed = self._pending
            self._pending = None
        self.figures.append(figures)
        reason = rd.stop_reason(self.figures, self.options.max_rounds) if figures.round else None
        if not reason and not len(offered):
            reason = "Stopped: no hit the detector is sure about lies far from your confirmed sites."
        self.c.show_results(shown)
        if reason:
            self._finish(reason)
            return
        self.offered = np.asarray(offered, np.int64)
        self.reviewing = True
        self.status = (
            f"Round {figures.round}: {len(self.offered)} hits the detector is surest about, far from your sites. "
            "Mark each Yes, this (Y) or Not this (N), then Next round."
        )
        self.changed.emit()
        self.c.set_learn(gallery="round")

    def _run_auto(self) -> None:
        snap = self.c.session.snapshot()
        opts = self.options

        def job(progress, cancel):
            res = rd.improve(
                snap,
                max_rounds=opts.max_rounds,
                per_round=opts.per_round,
                far_m=opts.far_m or None,
                progress=progress,
                cancel=cancel,
            )
            return res, show_outcome(snap.catalog, res.outcome, dict(snap.labels))

        self.running = True
        self.status = "Taking the surest far hits as negatives, round by round..."
        self.changed.emit()
        self.runner.start(
            "rounds", job, label="Improving automatically", on_done=self._auto_done, on_error=self._failed
        )

    def _auto_done(self, done: tuple) -> None:
        res, shown = done
        self.running = False
        self.figures = list(res.rounds)
        if res.taken:
            self.c.apply_labels(res.taken, "negative", f"Improve automatically: {len(res.taken)} negatives")
        self.c.show_results(shown)
        self._finish(res.stopped or "Done.")

    def _failed(self, exc: BaseException, tb: str = "") -> None:
        self.running = False
        self._finish("")
        self.c.report_error(exc, tb)

    def _finish(self, status: str) -> None:
        was_reviewing = self.reviewing
        self.reviewing = False
        self.running = False
        self.offered = np.zeros(0, np.int64)
        self.status = status
        self.changed.emit()
        if was_reviewing and self.c.session.learn.get("gallery") == "round":
            self.c.set_learn(gallery="best")
