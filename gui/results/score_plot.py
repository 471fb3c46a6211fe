"""Histogram of all result scores with a draggable threshold line (bottom of the window).

After Refine the histogram is of the classifier's probabilities instead (x axis "probability", 0..1) and
the line filters by probability (``set_scores(values, by="probability")``; the rule is terrafind.core.search.visible's).

Scores below the line are shaded: they are what the map and gallery hide. ``threshold_changed`` fires
live while the line is dragged, never when the line is moved from code (``set_threshold``), so the
plot, the controls and the panels can all mirror each other without signal loops.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QSize, Signal

LINE_COLOR = "#d1453b"
BAR_PEN = "#2f6fb0"
BAR_BRUSH = (47, 111, 176, 110)
AXIS_COLOR = "#4b5563"


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
        item = self.getPlotItem()
        item.setMenuEnabled(False)
        item.hideButtons()
        item.setMouseEnabled(x=False, y=False)  # a fixed view: dragging belongs to the threshold line
        item.showGrid(x=False, y=True, alpha=0.15)
        for name, text in (("bottom", "score"), ("left", "chips")):
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
        item.addItem(self.curve)
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
            labelOpts={"position": 0.92, "color": LINE_COLOR, "fill": (255, 255, 255, 210), "movable": False},
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

    def set_scores(self, scores: np.ndarray, *, by: str = "score") -> None:
        """Histogram of ``scores``: similarities (``by="score"``) or probabilities (``by="probability"``)."""
        self._set_kind(by)
        scores = np.asarray(scores, dtype=np.float64)
        scores = scores[np.isfinite(scores)]
        self._bins = histogram_bins(len(scores))
        if self._bins == 0:
            self.curve.setData([], [])
            self.line.hide()
            self.hidden_region.hide()
            self._count_ticks(4)  # "chips 0-4", never "chips 0.2-0.8"
            self.getPlotItem().setYRange(0, 4, padding=0)
            return
        lo, hi = float(scores.min()), float(scores.max())
        if by == "probability":  # a fixed 0..1 axis: 0.5 is the classifier's own "as likely yes as no"
            lo, hi = 0.0, 1.0
        if hi - lo < 1e-6:  # all equal: give the single bar some width
            lo, hi = lo - 0.005, hi + 0.005
        counts, edges = np.histogram(scores, bins=self._bins, range=(lo, hi))
        self.curve.setData(edges, counts)
        pad = (hi - lo) * 0.04
        self.getPlotItem().setXRange(lo - pad, hi + pad, padding=0)
        top = max(1, int(counts.max()))
        self._count_ticks(top)
        self.getPlotItem().setYRange(0, top * 1.18, padding=0)
        # Without a threshold the line waits at the lowest score, ready to be dragged.
        self.line.show()  # before placing it: a hidden line's label does not refresh its text
        self._place_line(self._threshold if self._threshold is not None else lo)

    def _count_ticks(self, top: int) -> None:
        """Whole numbers of chips on the y axis: a step of 1, 2, 5, 10, 20, 50... giving about 3-5 ticks."""
        step = 1
        while top / step > 5:
            step *= 2 if str(step)[0] in "15" else 5 / 2  # 1, 2, 5, 10, 20, 50, ...
            step = int(step)
        self.getPlotItem().getAxis("left").setTickSpacing(step, step)

    def ticks(self) -> list[float]:
        """The y axis' major tick values now (tests)."""
        axis = self.getPlotItem().getAxis("left")
        lo, hi = self.getPlotItem().vb.viewRange()[1]
        return [v for v in axis.tickValues(lo, hi, axis.height() or 100)[0][1]]

    def _set_kind(self, by: str) -> None:
        if by == self.by:
            return
        self.by = by
        word = "probability" if by == "probability" else "score"
        self.getPlotItem().getAxis("bottom").setLabel(word, color=AXIS_COLOR)
        self.line.setBounds((0.0, 1.0) if by == "probability" else (-1.0, 1.0))
        self.line.setToolTip(f"Drag to hide results below this {word}")

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

    def _place_line(self, value: float) -> None:
        # Without a threshold the label says what dragging does instead of showing the lowest score.
        self.line.label.setFormat("{value:.3f}" if self._threshold is not None else "drag to filter")
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
            if self._threshold is None:
                self.line.label.setFormat("{value:.3f}")
            self._threshold = float(self.line.value())
            self.hidden_region.show()
            self.threshold_changed.emit(self._threshold)
