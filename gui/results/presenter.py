"""The one place that shows a search outcome: map, gallery, score plot and the words around them.

It reads what kind of result it got (``plain``, ``refine``, ``grouped``: ``ShownResults.how``) and which
gallery mode the session wants ("best" ranked hits, or "review": least sure first, after Refine).
"""

from __future__ import annotations

from terrafind.core.present.features import ShownResults
from terrafind.core.search.visible import filter_values, threshold_by

__all__ = ["ResultsPresenter", "plot_info"]


def plot_info(shown: ShownResults) -> str:
    """The line beside the score plot: how many, how fast, how ranked (and the quality after Refine)."""
    r = shown.result
    if shown.how in ("change", "history", "new"):  # a comparison of dates: what was compared with what
        return f"{len(r):,} chips · {shown.outcome.quality}"
    if shown.how == "refine":
        return f"{len(r)} hits · {r.elapsed_ms:.0f} ms · by probability"
    if shown.how == "grouped":
        return f"{len(r)} matches · {r.elapsed_ms:.0f} ms · grouped search"
    return f"{len(r)} matches · {r.elapsed_ms:.0f} ms · {r.method} · by similarity"


class ResultsPresenter:
    """Shows the controller's results in the window's map view, results panel and score plot."""

    def __init__(self, window):
        self.w = window
        self.c = window.c
        self._warned_for: frozenset[int] | None = None

    def show(self, shown: ShownResults) -> None:
        w, session = self.w, self.c.session
        review = shown.review is not None
        w.results_panel.mode_bar.set_review_available(review)
        if not review and session.learn.get("gallery") == "review":
            self.c.set_learn(gallery="best")
        self._show_gallery(shown)
        r = shown.result
        # what the threshold line filters, in front of the whole region's distribution of it
        w.score_plot.set_scores(filter_values(r), by=threshold_by(r), region=shown.outcome.line_percentiles())
        w.show_threshold(session.params.get("threshold"))
        w.score_plot.set_info(plot_info(shown))
        refined = shown.outcome.refine
        quality = (
            shown.outcome.quality if shown.how == "refine" else ""
        )  # a comparison's words go by the plot
        w.learn_panel.set_quality(quality, refined.cv_method if refined is not None else "")
        ranked = {"refine": "probability", "change": "change", "history": "change"}.get(
            shown.how, "similarity"
        )
        w.results_panel.set_ranked_by(ranked)
        self.show_more()
        if shown.how == "refine":
            self.c.say(
                f"Refined: {len(r)} hits ranked by probability in {r.elapsed_ms:.0f} ms; "
                "the threshold line now filters by probability."
            )
        elif shown.how == "grouped":
            groups = len({int(m) for m in r.matched if m >= 0})
            self.c.say(f"{len(r)} matches from a search per group of examples ({groups} examples matched).")
        elif shown.how in ("change", "history", "new"):
            self.c.say(f"{shown.outcome.quality}; drag the line to keep the strongest.")
            if shown.outcome.warning:  # grids that do not line up: say how many chips could be compared
                w.message_bar.show_message(shown.outcome.warning, "warning")
            return
        self._warn_spread(shown)

    def show_more(self) -> None:
        """Say when the region holds more hits above the line than the search returned (k)."""
        shown, p = self.c.shown, self.c.session.params
        if shown is None:
            self.w.results_panel.more.show_counts(None, 0, 0)
            return
        count = shown.outcome.region_count_above(p.get("threshold"))
        self.w.results_panel.more.show_counts(count, len(shown.result), int(p.get("k", 200)))

    def show_gallery(self) -> None:
        """The session's gallery mode changed: show the ranked hits or the review queue."""
        if self.c.shown is not None:
            self._show_gallery(self.c.shown)

    def _show_gallery(self, shown: ShownResults) -> None:
        w = self.w
        mode = "review" if self.c.session.learn.get("gallery") == "review" and shown.review else "best"
        w.results_panel.mode_bar.set_mode(mode)
        payload = shown.review if mode == "review" and shown.review is not None else shown.best
        w.map_view.set_results(payload.fc_json or payload.fc)  # the map keeps its threshold across results
        w.results_panel.set_results(payload.items)

    def show_labels(self, labels: dict) -> None:
        """Labels changed: mark the tiles on show (ranked hits or review queue alike)."""
        shown = self.c.shown
        if shown is None:
            return
        for payload in (shown.best, shown.review):
            for item in payload.items if payload is not None else ():
                self.w.results_panel.set_label(item.row, labels.get(item.row))

    def clear(self) -> None:
        import numpy as np

        w = self.w
        w.map_view.set_results({"type": "FeatureCollection", "features": []})
        w.results_panel.clear()
        w.results_panel.mode_bar.set_review_available(False)
        w.score_plot.set_scores(np.zeros(0, np.float32))
        w.score_plot.set_info("")
        w.learn_panel.set_quality("")
        w.results_panel.set_ranked_by("similarity")
        w.results_panel.more.show_counts(None, 0, 0)

    def _warn_spread(self, shown: ShownResults) -> None:
        positives = frozenset(int(p) for p in shown.result.positives)
        if positives == self._warned_for or len(positives) < 2:
            return
        text = shown.outcome.warning
        if text and not self.c.session.learn.get("group"):
            self._warned_for = positives
            self.w.message_bar.show_message(text, "warning")
            self.c.say(text)
