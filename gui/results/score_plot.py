"""Histogram of all result scores with a draggable threshold line (bottom of the window).

After Refine the histogram is of the classifier's probabilities instead (x axis "probability", 0..1) and
the line filters by probability (``set_scores(values, by="probability")``; the rule is terrafind.core.search.visible's).

With the region's distribution (``region=``, a terrafind.core.search.percentiles.RegionPercentiles), the
whole region is drawn in grey behind the hits (about how many chips of the region score in each bin,
scaled up from the sample) and the hits in blue on top, on a logarithmic count axis: a region of 100,000
chips and 200 hits both stay readable. The line's label then says where it stands: "0.812 · top 1.2 %".

Scores below the line are shaded: they are what the map and gallery hide. ``threshold_changed`` fires
live while the line is dragged, never when the line is moved from code (``set_threshold``), so the
plot, the controls and the panels can all mirror each other without signal loops.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QSize, Signal

from terrafind.core.search.percentiles import format_top

LINE_COLOR = "#d1453b"
BAR_PEN = "#2f6fb0"
BAR_BRUSH = (47, 111, 176, 110)
REGION_PEN = "#9ca3af"
REGION_BRUSH = (156, 163, 175, 90)
AXIS_COLOR = "#4b5563"
REGION_BINS = 60


def histogram_bins(n: int) -> int:
    """How many bins a histogram of ``n`` scores gets: about sqrt(n), kept between 5 and 60."""
    if n <= 0:
        return 0
    return int(np.clip(np.ceil(np.sqrt(n)), 5, 60))


class ScorePlot(pg.PlotWidget):
    """Score histogram; x = score, y = number of chips."""

    threshold_changed = Signal(float)

    def __init__(self, parent=None) -> None:
        super().__init__(parent, background="w")
        self._quiet = False
        self._bins = 0
        self._threshold: float | None = None
        self.by = "score"  # what the x axis and the line are: "score" (similarity) or "probability"
        self.similarity = "centred cosine"  # what a score is (core.session_space): said on the x axis
        item = self.getPlotItem()
        item.setMenuEnabled(False)
        item.hideButtons()
        item.setMouseEnabled(x=False, y=False)  # a fixed view: dragging belongs to the threshold line
        item.showGrid(x=False, y=True, alpha=0.15)
        for name, text in (("bottom", f"score ({self.similarity})"), ("left", "chips")):
            axis = item.getAxis(name)
            axis.setPen(pg.mkPen(AXIS_COLOR))
            axis.setTextPen(pg.mkPen(AXIS_COLOR))
            axis.setLabel(text, color=AXIS_COLOR)
            axis.enableAutoSIPrefix(False)  # scores read as 0.85, not "850 (x0.001)"
        # The info text sits inside the plot's top-right corner (in pixels, not data coordinates),
        # so it costs no extra row of height.
        self.info = pg.TextItem("", color=AXIS_COLOR, anchor=(1, 0))
        self.info.setParentItem(item.vb)
        item.vb.sigResized.connect(self._place_info)
        self.curve = pg.PlotDataItem(
            stepMode="center", fillLevel=0, pen=pg.mkPen(BAR_PEN, width=1.2), brush=pg.mkBrush(*BAR_BRUSH)
        )
        # The region behind the hits (log counts); drawn first, so the hits' bars sit on top of it.
        self.region_curve = pg.PlotDataItem(
            stepMode="center", fillLevel=0, pen=pg.mkPen(REGION_PEN, width=1), brush=pg.mkBrush(*REGION_BRUSH)
        )
        self.region_curve.setZValue(-5)
        item.addItem(self.region_curve)
        item.addItem(self.curve)
        self.region = None  # RegionPercentiles of the values on the x axis, when known
        # What the two colours are, top left while the region is drawn.
        self.key = pg.TextItem(anchor=(0, 0))
        self.key.setHtml(
            f'<span style="color:{REGION_PEN}">&#9632;</span> <span style="color:{AXIS_COLOR}">whole region'
            f'</span> &nbsp;<span style="color:{BAR_PEN}">&#9632;</span> <span style="color:{AXIS_COLOR}">'
            "hits</span>"
        )
        self.key.setParentItem(item.vb)
        self.key.setPos(4, 2)
        self.key.hide()
        self.log_counts = False
        self.hidden_region = pg.LinearRegionItem(
            (0, 0), movable=False, brush=pg.mkBrush(120, 120, 120, 45), pen=pg.mkPen(None)
        )
        self.hidden_region.setZValue(-10)
        item.addItem(self.hidden_region, ignoreBounds=True)
        self.line = pg.InfiniteLine(
            angle=90,
            movable=True,
            pen=pg.mkPen(LINE_COLOR, width=2),
            hoverPen=pg.mkPen(LINE_COLOR, width=4),
            label="{value:.3f}",
            labelOpts={"position": 0.55, "color": LINE_COLOR, "fill": (255, 255, 255, 210), "movable": False},
        )
        self.line.setBounds((-1.0, 1.0))
        self.line.setToolTip("Drag to hide results below this score")
        item.addItem(self.line, ignoreBounds=True)
        self.line.sigPositionChanged.connect(self._on_line_moved)
        self.line.hide()
        self.hidden_region.hide()
        self.setMinimumHeight(110)

    def sizeHint(self) -> QSize:
        return QSize(700, 170)

    def set_scores(self, scores: np.ndarray, *, by: str = "score", region=None) -> None:
        """Histogram of ``scores``: similarities (``by="score"``) or probabilities (``by="probability"``);
        with ``region`` (RegionPercentiles of the same values), the region's distribution behind them."""
        self._set_kind(by)
        self.region = region if region is not None and region.size else None
        scores = np.asarray(scores, dtype=np.float64)
        scores = scores[np.isfinite(scores)]
        self._bins = histogram_bins(len(scores))
        if self._bins == 0:
            self.curve.setData([], [])
            self.region_curve.setData([], [])
            self.log_counts = False
            self.key.hide()
            self.line.hide()
            self.hidden_region.hide()
            self._count_ticks(4)  # "chips 0-4", never "chips 0.2-0.8"
            self.getPlotItem().setYRange(0, 4, padding=0)
            return
        lo, hi = float(scores.min()), float(scores.max())
        if self.region is not None:  # the axis spans the region (its lowest 0.5 % left out) and the hits
            lo = min(lo, float(self.region.score_at(0.995)))
            hi = max(hi, float(self.region.sample[-1]))
        if by == "probability":  # a fixed 0..1 axis: 0.5 is the classifier's own "as likely yes as no"
            lo, hi = 0.0, 1.0
        if hi - lo < 1e-6:  # all equal: give the single bar some width
            lo, hi = lo - 0.005, hi + 0.005
        if self.region is None:
            counts, edges = np.histogram(scores, bins=self._bins, range=(lo, hi))
            self.log_counts = False
            self.key.hide()
            self.region_curve.setData([], [])
            self.curve.setData(edges, counts)
            top = max(1, int(counts.max()))
            self._count_ticks(top)
            self.getPlotItem().setYRange(0, top * 1.3, padding=0)
        else:
            # One set of bins for both, fine enough for the region: the hits are a few bins at its top.
            self._bins = REGION_BINS
            edges = np.linspace(lo, hi, REGION_BINS + 1)
            counts, _ = np.histogram(scores, bins=edges)
            region_counts = np.maximum(self.region.counts(edges), counts)  # the hits are region chips too
            self.log_counts = True
            self.key.show()
            self.region_curve.setData(edges, np.log10(1.0 + region_counts))
            self.curve.setData(edges, np.log10(1.0 + counts))
            top = float(np.log10(1.0 + max(1.0, float(region_counts.max()))))
            self._log_ticks(top)
            self.getPlotItem().setYRange(0, top * 1.3, padding=0)
        pad = (hi - lo) * 0.04
        self.getPlotItem().setXRange(lo - pad, hi + pad, padding=0)
        # Without a threshold the line waits at the lowest score, ready to be dragged.
        self.line.show()  # before placing it: a hidden line's label does not refresh its text
        self._place_line(self._threshold if self._threshold is not None else lo)

    def _log_ticks(self, top: float) -> None:
        """Counts 1, 10, 100, 1k ... on an axis of log10(1 + count)."""
        ticks = [
            (np.log10(1.0 + v), _count_text(v)) for v in (10**e for e in range(0, 9)) if np.log10(v) <= top
        ]
        ticks.insert(0, (0.0, "0"))
        axis = self.getPlotItem().getAxis("left")
        axis.setTicks([ticks, []])
        axis.setLabel("chips (log)", color=AXIS_COLOR)

    def hits_counts(self) -> np.ndarray:
        """The number of hits per bin now (tests): the counts whatever the axis."""
        counts = self.curve.getData()[1]
        if counts is None:
            return np.zeros(0)
        return np.round(10**counts - 1.0) if self.log_counts else counts

    def region_counts(self) -> np.ndarray:
        """About how many chips of the region fall in each bin (zeros without a region)."""
        counts = self.region_curve.getData()[1]
        if counts is None or not self.log_counts:
            return np.zeros(self._bins)
        return 10**counts - 1.0

    def _count_ticks(self, top: int) -> None:
        """Whole numbers of chips on the y axis: a step of 1, 2, 5, 10, 20, 50... giving about 3-5 ticks."""
        axis = self.getPlotItem().getAxis("left")
        axis.setTicks(None)
        axis.setLabel("chips", color=AXIS_COLOR)
        step = 1
        while top / step > 5:
            step *= 2 if str(step)[0] in "15" else 5 / 2  # 1, 2, 5, 10, 20, 50, ...
            step = int(step)
        self.getPlotItem().getAxis("left").setTickSpacing(step, step)

    def ticks(self) -> list[float]:
        """The y axis' major tick values now (tests)."""
        axis = self.getPlotItem().getAxis("left")
        lo, hi = self.getPlotItem().vb.viewRange()[1]
        if self.log_counts:
            return [float(round(10**v - 1.0)) for v, _ in axis._tickLevels[0]]
        return [v for v in axis.tickValues(lo, hi, axis.height() or 100)[0][1]]

    def set_similarity(self, words: str) -> None:
        """What a score is ("centred cosine" or "cosine"): the x axis says it while it shows scores."""
        if words != self.similarity:
            self.similarity = words
            if self.by == "score":
                self.getPlotItem().getAxis("bottom").setLabel(f"score ({words})", color=AXIS_COLOR)

    def _set_kind(self, by: str) -> None:
        if by == self.by:
            return
        self.by = by
        word = {
            "probability": "probability",
            "change": "change (between the dates)",
            "loss": "loss (unusual places)",
            "novelty": "novelty (distance to the nearest look-alikes)",
        }.get(by, f"score ({self.similarity})")
        self.getPlotItem().getAxis("bottom").setLabel(word, color=AXIS_COLOR)
        # a loss has the data's own scale: no bounds; a novelty is a cosine distance (0..2)
        bounds = {"probability": (0.0, 1.0), "change": (0.0, 2.0), "novelty": (0.0, 2.0)}.get(by, (-1.0, 1.0))
        if by == "loss":
            bounds = (None, None)
        self._quiet = True  # new bounds may move the line: that is not the person dragging it
        try:
            self.line.setBounds(bounds)
        finally:
            self._quiet = False
        self.line.setToolTip(f"Drag to hide results below this {word.split(' ')[0]}")

    def set_threshold(self, t: float | None) -> None:
        """Move the line without emitting ``threshold_changed``; None = no threshold (line at the
        lowest score)."""
        self._threshold = None if t is None else float(t)
        if t is not None:
            self._place_line(float(t))
        elif self._bins:
            self._place_line(float(self.curve.xData[0]))
        self.hidden_region.setVisible(t is not None and self._bins > 0)

    def threshold(self) -> float | None:
        return self._threshold

    def line_text(self, value: float) -> str:
        """The line's label: its value, and where it stands in the region when that is known."""
        if self.region is None:
            return f"{value:.3f}"
        return f"{value:.3f} · {format_top(float(self.region.top(value)[0]), self.region.size)}"

    def _label_line(self, value: float) -> None:
        # Without a threshold the label says what dragging does instead of showing the lowest score.
        # The label is a format string: braces in the finished text are doubled.
        text = self.line_text(value) if self._threshold is not None else "drag to filter"
        self.line.label.setFormat(text.replace("{", "{{").replace("}", "}}"))
        # The label on the side of the line with more room, so it never runs off the plot.
        (x0, x1), _ = self.getPlotItem().viewRange()
        side = (1, 0.5) if value > (x0 + x1) / 2 else (0, 0.5)
        self.line.label.anchors = [side, side]
        self.line.label.updatePosition()

    def _place_line(self, value: float) -> None:
        self._label_line(value)
        self._quiet = True
        try:
            self.line.setValue(value)
        finally:
            self._quiet = False
        self._update_region()

    def bin_count(self) -> int:
        return self._bins

    def set_info(self, text: str) -> None:
        self.info.setText(text)
        self._place_info()

    def info_text(self) -> str:
        return self.info.toPlainText()

    def _place_info(self) -> None:
        self.info.setPos(self.getPlotItem().vb.width() - 4, 2)

    def _update_region(self) -> None:
        x_min = self.getPlotItem().viewRange()[0][0]
        self.hidden_region.setRegion((min(x_min, self.line.value()), self.line.value()))

    def _on_line_moved(self) -> None:
        self._update_region()
        if not self._quiet:
            self._threshold = float(self.line.value())
            self._label_line(self._threshold)
            self.hidden_region.show()
            self.threshold_changed.emit(self._threshold)


def _count_text(v: float) -> str:
    """1, 10, 100, 1k, 10k, 100k, 1M ..."""
    for div, unit in ((1e6, "M"), (1e3, "k")):
        if v >= div:
            return f"{v / div:g}{unit}"
    return f"{v:g}"
