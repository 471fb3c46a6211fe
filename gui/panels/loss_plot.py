"""A small histogram of the chips' loss in the Data panel (the Clay v1 ``loss`` of the seeds).

What the loss is worth: clouds and plain water reconstruct with low loss, unusual places with high loss.
The histogram shows how the region's chips spread on that scale, with the metric the data names on the
x axis; the counts come from core (``Catalog.describe()["v1"]["loss_hist"]``).
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QSize

__all__ = ["LossPlot"]

AXIS_COLOR = "#4b5563"
BAR_PEN = "#7e03a8"
BAR_BRUSH = (126, 3, 168, 90)


class LossPlot(pg.PlotWidget):
    """Counts of chips per loss bin; read-only (no mouse interaction)."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent, background="w")
        item = self.getPlotItem()
        item.setMenuEnabled(False)
        item.hideButtons()
        item.setMouseEnabled(x=False, y=False)
        for name in ("bottom", "left"):
            axis = item.getAxis(name)
            axis.setPen(pg.mkPen(AXIS_COLOR))
            axis.setTextPen(pg.mkPen(AXIS_COLOR))
            axis.enableAutoSIPrefix(False)
        item.getAxis("left").setWidth(34)
        self.curve = pg.PlotDataItem(
            stepMode="center", fillLevel=0, pen=pg.mkPen(BAR_PEN, width=1), brush=pg.mkBrush(*BAR_BRUSH)
        )
        item.addItem(self.curve)
        self.setFixedHeight(96)
        self.metric = ""

    def sizeHint(self) -> QSize:
        return QSize(260, 96)

    def set_histogram(self, counts: list[int], edges: list[float], metric: str) -> None:
        """Show ``counts`` per bin between ``edges``; ``metric`` names the x axis ("MSE")."""
        self.metric = metric
        self.curve.setData(np.asarray(edges, float), np.asarray(counts, float))
        self.getPlotItem().getAxis("bottom").setLabel(f"loss ({metric})", color=AXIS_COLOR)
        top = max(1.0, float(max(counts) if counts else 1))
        self.getPlotItem().setYRange(0, top * 1.1, padding=0)
        self.getPlotItem().setXRange(float(edges[0]), float(edges[-1]), padding=0.02)

    def total(self) -> int:
        """Chips counted in the histogram now (tests)."""
        data = self.curve.getData()[1]
        return 0 if data is None else int(np.sum(data))
