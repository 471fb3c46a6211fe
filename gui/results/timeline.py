"""The timeline: how many hits the current search (or Refine's detector) finds at each date, and their area.

A bar per date (the date on the map in the accent colour) of hits or of their hectares, the figure written
above it (both in the tooltip); the caption above the plot (:mod:`terrafind.gui.dates_ui`) says where
(the whole region or one site) and what a hit is (score or probability at or above the line). Counts come from :func:`terrafind.core.change.timeline.run_timeline` in a job.
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import QSize

from terrafind.core.dates.region import display_labels

__all__ = ["TimelinePlot"]

BAR = (47, 111, 176, 150)
CURRENT = (31, 111, 235, 230)
AXIS_COLOR = "#4b5563"


class TimelinePlot(pg.PlotWidget):
    """See the module docstring."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent, background="w")
        self.measure = "count"  # what the bars show: "count" (hits) or "area" (hectares)
        self.current: str | None = None
        self._caption = ""
        item = self.getPlotItem()
        item.setMenuEnabled(False)
        item.hideButtons()
        item.setMouseEnabled(x=False, y=False)
        item.showGrid(x=False, y=True, alpha=0.15)
        for name in ("bottom", "left"):
            axis = item.getAxis(name)
            axis.setPen(pg.mkPen(AXIS_COLOR))
            axis.setTextPen(pg.mkPen(AXIS_COLOR))
        item.getAxis("left").setLabel("hits", color=AXIS_COLOR)
        item.getAxis("left").enableAutoSIPrefix(False)
        self._items: list = []
        self.counts: list = []
        self.setMinimumHeight(120)

    def sizeHint(self) -> QSize:
        return QSize(520, 180)

    def set_measure(self, measure: str) -> None:
        """Bars of hits ("count") or of their area ("area", hectares)."""
        self.measure = measure
        self.getPlotItem().getAxis("left").setLabel(
            "hits" if measure == "count" else "hectares", color=AXIS_COLOR
        )
        self.set_counts(self.counts, self.current, self._caption)

    def set_counts(self, counts: list, current: str | None, caption: str) -> None:
        """``counts``: terrafind.core.change.timeline.DateCount per date, oldest first."""
        item = self.getPlotItem()
        for it in self._items:
            item.removeItem(it)
        self._items = []
        self.counts, self.current, self._caption = list(counts), current, caption
        if not counts:
            return
        names = display_labels([c.date for c in counts])
        xs = list(range(len(counts)))
        area = self.measure == "area"
        heights = [c.area_ha if area else c.count for c in counts]
        brushes = [pg.mkBrush(*(CURRENT if c.date == current else BAR)) for c in counts]
        bars = pg.BarGraphItem(x=xs, height=heights, width=0.6, brushes=brushes, pen=pg.mkPen(None))
        item.addItem(bars)
        self._items.append(bars)
        top = max(1, max(heights))
        for x, h in zip(xs, heights, strict=True):
            label = pg.TextItem(f"{h:,.0f}", color=AXIS_COLOR, anchor=(0.5, 1))
            label.setPos(x, h + top * 0.02)
            item.addItem(label)
            self._items.append(label)
        self.setToolTip(
            "\n".join(f"{c.date}: {c.count:,} hits, {c.area_ha:,.0f} ha of {c.chips:,} chips" for c in counts)
        )
        item.getAxis("bottom").setTicks([[(x, names[c.date]) for x, c in zip(xs, counts, strict=True)]])
        item.setXRange(-0.6, len(counts) - 0.4, padding=0)
        item.setYRange(0, top * 1.2, padding=0)

    def caption_text(self) -> str:
        return self._caption
