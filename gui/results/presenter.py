"""The one place that shows a search outcome: map, gallery, score plot and the words around them.

It reads what kind of result it got (``plain``, ``refine``, ``grouped``, ``unusual``: ``ShownResults.how``)
and which gallery mode the session wants: "best" ranked hits, "review" (least sure first, after Refine),
"check" (a random sample of the visible hits, with the precision its marks give:
terrafind.core.search.check) or "round" (the chips a reviewed hard-negative round offers:
terrafind.gui.flows.rounds_flow). It also says when a run looks wrong (terrafind.core.search.looks_wrong).
"""

from __future__ import annotations

from terrafind.core.present.features import ShownResults
from terrafind.core.search.visible import filter_values, threshold_by

__all__ = ["ResultsPresenter", "plot_info"]


def plot_info(shown: ShownResults, similarity: str = "similarity") -> str:
    """The line beside the score plot: how many, how fast, how ranked (and the quality after Refine);
    ``similarity`` says what a score is ("centred cosine" or "cosine", core.session_space)."""
    r = shown.result
    if shown.how in ("change", "history", "new"):  # a comparison of dates: what was compared with what
        return f"{len(r):,} chips · {shown.outcome.quality}"
    if shown.how == "unusual":
        return f"{len(r)} unusual places · {r.elapsed_ms:.0f} ms · by {threshold_by(r)}"
    if shown.how == "refine":
        return f"{len(r)} hits · {r.elapsed_ms:.0f} ms · by probability"
    if shown.how == "grouped":
        return f"{len(r)} matches · {r.elapsed_ms:.0f} ms · grouped search"
    return f"{len(r)} matches · {r.elapsed_ms:.0f} ms · {r.method} · by {similarity}"


class ResultsPresenter:
    """Shows the controller's results in the window's map view, results panel and score plot."""

    def __init__(self, window):
        self.w = window
        self.c = window.c
        self._warned_text = ""  # the run's warnings last said (core.search.looks_wrong)
        self._warned_shown = False

    def show(self, shown: ShownResults) -> None:
        w, session = self.w, self.c.session
        review = shown.review is not None
        bar = w.results_panel.mode_bar
        bar.set_review_available(review)
        bar.set_check_available(len(shown.result) > 0)
        if not review and session.learn.get("gallery") == "review":
            self.c.set_learn(gallery="best")
        self._show_gallery(shown)
        r = shown.result
        # what the threshold line filters, in front of the whole region's distribution of it
        similarity = session.catalog.similarity() if session.catalog is not None else "similarity"
        w.score_plot.set_similarity(similarity)
        w.score_plot.set_scores(filter_values(r), by=threshold_by(r), region=shown.outcome.line_percentiles())
        w.show_threshold(session.params.get("threshold"))
        w.score_plot.set_info(plot_info(shown, similarity))
        refined = shown.outcome.refine
        quality = (
            shown.outcome.quality if shown.how == "refine" else ""
        )  # a comparison's words go by the plot
        w.learn_panel.set_quality(quality, refined.cv_method if refined is not None else "")
        ranked = {"refine": "probability", "change": "change", "history": "change"}.get(
            shown.how, threshold_by(r) if shown.how == "unusual" else "similarity"
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
        elif shown.how == "unusual":
            self.c.say(shown.outcome.quality)
        elif shown.how in ("change", "history", "new"):
            self.c.say(f"{shown.outcome.quality}; drag the line to keep the strongest.")
            if shown.outcome.warning:  # grids that do not line up: say how many chips could be compared
                w.message_bar.show_message(shown.outcome.warning, "warning")
            return
        self.show_warnings()

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
        w, session = self.w, self.c.session
        bar = w.results_panel.mode_bar
        wanted = str(session.learn.get("gallery") or "best")
        mode = wanted if wanted in ("review", "check", "round") and bar.is_available(wanted) else "best"
        if mode == "review" and shown.review is None:
            mode = "best"
        bar.set_mode(mode)
        if mode == "check":
            payload = self._check_payload(shown)
        elif mode == "round":
            payload = self._rows_payload(shown, self.c.rounds.offered)
        else:
            payload = shown.review if mode == "review" and shown.review is not None else shown.best
        w.results_panel.check_bar.show_estimate(
            session.check_estimate() if mode == "check" else None,
            session.active_check().size if mode == "check" and session.active_check() else 0,
        )
        w.map_view.set_results(payload.fc_json or payload.fc)  # the map keeps its threshold across results
        w.results_panel.set_results(payload.items)

    def _check_payload(self, shown: ShownResults):
        """The random sample of the visible hits (a check is drawn when there is none for these results)."""
        session = self.c.session
        if session.active_check() is None:
            session.start_check()
        return self._rows_payload(shown, session.check_rows())

    def _rows_payload(self, shown: ShownResults, rows):
        """Map features and tiles of some of the hits (at most a few hundred: made here, on this thread)."""
        import numpy as np

        from terrafind.core.present.features import results_payload
        from terrafind.core.search.visible import take_hits

        r = shown.result
        where = {int(row): i for i, row in enumerate(np.asarray(r.rows).tolist())}
        idx = np.array([where[int(x)] for x in rows if int(x) in where], np.int64)
        part = take_hits(r, idx)
        tops = shown.outcome.tops(part)
        return results_payload(self.c.session.catalog, part, dict(self.c.session.labels), tops, ranks=idx + 1)

    def show_check(self) -> None:
        """Marks or the line changed: the sample and its estimate are shown again (check mode only)."""
        shown = self.c.shown
        if shown is not None and self.w.results_panel.mode_bar.mode() in ("check", "round"):
            self._show_gallery(shown)

    def show_warnings(self) -> None:
        """Say when the run looks wrong (hits covering much of the region, one site swallowing the hits,
        examples that contradict each other): the first in the message bar, all in its tooltip. Worked out
        on a worker from the run as it is now (core.search.looks_wrong: the touching hits and the region's
        sample cost tens of milliseconds on a big region, and a person marks hits one after another); a
        newer request supersedes one still running."""
        from terrafind.core.search.looks_wrong import run_facts, warnings_for

        shown = self.c.shown
        spread = (
            shown.outcome.warning if shown is not None and not self.c.session.learn.get("group") else None
        )
        first = [spread] if spread else []  # examples far apart (core.search.groups): said first, own remedy
        facts = run_facts(self.c.session) if shown is not None else None
        if facts is None:
            self.c.runner.cancel("warnings")
            self._say_warnings(first)
            return
        self.c.runner.start(
            "warnings",
            lambda progress, cancel: warnings_for(facts),
            shown=False,
            on_done=lambda found: self._say_warnings(first + found),
        )

    def _say_warnings(self, found: list[str]) -> None:
        text = " ".join(found)
        if text == self._warned_text:
            return
        self._warned_text = text
        if found:
            self.w.message_bar.show_message(
                found[0] + (f" (+{len(found) - 1} more)" if len(found) > 1 else ""), "warning"
            )
            self.w.message_bar.setToolTip("\n\n".join(found))
            self.c.say(found[0])
        elif self._warned_shown:
            self.w.message_bar.dismiss()
        self._warned_shown = bool(found)

    def show_labels(self, labels: dict) -> None:
        """Labels changed: mark the tiles on show (ranked hits or review queue alike)."""
        shown = self.c.shown
        if shown is None:
            return
        for payload in (shown.best, shown.review):
            for item in payload.items if payload is not None else ():
                self.w.results_panel.set_label(item.row, labels.get(item.row))
        session = self.c.session
        if self.w.results_panel.mode_bar.mode() == "check":  # the marks on the sample: a new estimate
            check = session.active_check()
            self.w.results_panel.check_bar.show_estimate(session.check_estimate(), check.size if check else 0)
        self.show_warnings()  # a mark may contradict an example

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
        w.results_panel.check_bar.show_estimate(None, 0)
