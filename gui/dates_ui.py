"""The window's part for regions with several dates: the date bar above the map, the "Over time" dock
(what changed, what is new, learning across dates), the timeline beside the score histogram, and each
date's imagery basemap. Built and wired by the main window; state lives in the controller's session.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QPushButton, QScrollArea, QVBoxLayout, QWidget

from terrafind.gui.panels.change_panel import ChangePanel
from terrafind.gui.panels.date_bar import DateBar
from terrafind.gui.panels.panel_style import hint_label
from terrafind.gui.results.timeline import TimelinePlot

__all__ = ["DatesUi", "scrolling"]

COMPARISONS = {"change", "history", "new"}


def scrolling(widget: QWidget) -> QScrollArea:
    """``widget`` in a vertical scroll area: a dock shorter than the panel still shows all of it."""
    area = QScrollArea(widget.parentWidget())
    area.setWidgetResizable(True)
    area.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
    area.setFrameShape(QScrollArea.NoFrame)
    area.setWidget(widget)
    return area


class DatesUi:
    """See the module docstring. ``window`` is the MainWindow (its centre layout, docks, map and panels)."""

    def __init__(self, window: Any, centre_layout: QVBoxLayout) -> None:
        self.w = window
        self.c = window.c
        self.pucallpa: Any = None  # the Pucallpa demo while it is open (its credit line, its hint)
        self._basemap_shown: str | None = None
        self.bar = DateBar(window)
        centre_layout.insertWidget(1, self.bar)  # under the message bar, over the map
        self.panel = ChangePanel(window)
        self.dock = window._dock("Over time", scrolling(self.panel), Qt.LeftDockWidgetArea, "datesDock")
        window.tabifyDockWidget(window.left_dock, self.dock)
        window.left_dock.raise_()
        self.timeline = TimelinePlot(window)
        self.whole_button = QPushButton("Whole region", window)
        self.whole_button.setToolTip("Count the hits of every date over the whole region again")
        self.measure = QComboBox(window)
        self.measure.addItem("Hits", "count")
        self.measure.addItem("Hectares", "area")
        self.measure.setToolTip("What the bars show: how many hits, or the ground they cover")
        self.timeline_hint = hint_label("Search (click a chip) to see how many places like it each date has.")
        box = QWidget(window)
        lay = QVBoxLayout(box)
        lay.setContentsMargins(4, 0, 4, 0)
        lay.setSpacing(2)
        head = QHBoxLayout()
        head.addWidget(QLabel("Bars:", window))
        head.addWidget(self.measure)
        head.addStretch(1)
        head.addWidget(self.whole_button)
        lay.addLayout(head)
        lay.addWidget(self.timeline_hint)
        lay.addWidget(self.timeline, 1)
        self.timeline_dock = window._dock("Timeline", box, Qt.BottomDockWidgetArea, "timelineDock")
        window.splitDockWidget(window.plot_dock, self.timeline_dock, Qt.Horizontal)
        self.timeline_dock.hide()
        self._timeline_sized = False
        view = window.actions.view_menu
        first = view.actions()[0] if view.actions() else None
        view.insertActions(first, [self.dock.toggleViewAction(), self.timeline_dock.toggleViewAction()])
        self._wire()

    def _wire(self) -> None:
        c, p = self.c, self.panel
        c.dates_changed.connect(self.show_dates)
        c.results_ready.connect(self._on_results)
        c.results_cleared.connect(lambda: self.bar.set_note(""))
        c.data.pucallpa_ready.connect(self._on_pucallpa)
        c.data.opened.connect(self._on_opened)
        c.dates.timeline_ready.connect(self._on_timeline)
        c.dates.check_ready.connect(p.set_check_result)
        self.bar.date_chosen.connect(c.set_date)
        p.change_requested.connect(c.dates.compare)
        p.new_requested.connect(c.dates.new_since)
        p.check_requested.connect(c.dates.check)
        p.learn_from_changed.connect(c.set_learn_from)
        self.whole_button.clicked.connect(lambda: c.dates.timeline())
        self.measure.currentIndexChanged.connect(
            lambda _i: self.timeline.set_measure(self.measure.currentData())
        )
        self.w.results_panel.sites_list.site_chosen.connect(self._on_site_chosen)
        self.w.results_panel.dated_thumbnails_wanted.connect(c.thumbs.want_dated)
        c.thumbs.dated_ready.connect(self._on_dated_thumbnail)
        c.examples_changed.connect(self._want_example_thumbnails)

    # --- the session's dates ---------------------------------------------------------------------------
    def show_dates(self, session: Any) -> None:
        labels = session.date_labels()
        dated = len(labels) >= 2
        self.bar.set_dates(labels, session.date)
        self.panel.set_dates(labels, session.date, session.learn_from)
        self.timeline_dock.setVisible(dated)
        if dated and not self._timeline_sized:  # the histogram and the timeline share the bottom evenly
            self._timeline_sized = True
            QTimer.singleShot(0, self._share_bottom)
        if session.catalog is not None:
            self.w.dataset_panel.set_info(session.catalog.describe())
            if self.c.footprints_fc is not None:
                self.w.map_view.set_footprints(self.c.footprints_fc)
        if dated:
            self.dock.raise_()
            if not self.show_date_basemap():  # this date's own local imagery, when it has some
                QTimer.singleShot(0, self.w.basemaps.decide)
            if self.timeline.counts:
                self.timeline.set_counts(self.timeline.counts, session.date, self.timeline.caption_text())
            title = f"Terrafind - {session.date} of {labels[0]}-{labels[-1]}"
            self.w.setWindowTitle(title if self.pucallpa is None else f"Terrafind - Pucallpa, {session.date}")

    def _share_bottom(self) -> None:
        half = max(400, self.w.width() // 2)
        self.w.resizeDocks([self.w.plot_dock, self.timeline_dock], [half, half], Qt.Horizontal)

    def show_date_basemap(self) -> bool:
        """The imagery basemap of the date on the map, when that date has one; True when shown."""
        s = self.c.session
        if s.dates is None or s.date is None:
            return False
        here = s.dates.get(s.date)
        if not here.basemap:
            self._basemap_shown = None
            return False
        if self._basemap_shown != here.basemap:
            credit = self.pucallpa.attribution if self.pucallpa is not None else ""
            self.w.basemaps.show_mbtiles(here.basemap, s.catalog.bounds if len(s.catalog) else None, credit)
            self._basemap_shown = here.basemap
        return True

    def _on_opened(self, _paths: list) -> None:
        demo = self.pucallpa
        if demo is not None and not set(demo.files) & set(self.c.session.sources):
            self.pucallpa = None  # other data now
        self._basemap_shown = None
        self.timeline.set_counts([], None, "")
        self.timeline_hint.setText("Search (click a chip) to see how many places like it each date has.")

    def _on_pucallpa(self, demo: Any) -> None:
        self.pucallpa = demo
        self._basemap_shown = None
        self.show_dates(self.c.session)
        self.w.feedback.show_hint(f"{demo.hint}. {demo.attribution}.")

    # --- thumbnails of other dates ----------------------------------------------------------------------
    def _on_dated_thumbnail(self, date: str, row: int, png: bytes) -> None:
        from PySide6.QtGui import QImage

        image = QImage.fromData(png)
        if image.isNull():
            return
        self.w.results_panel.set_dated_thumbnail(date, row, image)
        dates = self.c.session.dates
        if dates is not None and date in dates.labels:
            self.w.examples_panel.set_dated_thumbnail(date, str(dates.get(date).catalog.ids[row]), image)

    def _want_example_thumbnails(self, items: list) -> None:
        dates = self.c.session.dates
        if dates is None:
            return
        keys = []
        for it in items:
            if it.row < 0 and it.date in dates.labels:
                row = dates.get(it.date).catalog.row_of(it.chip_id)
                if row is not None:
                    keys.append((it.date, int(row)))
        if keys:
            self.c.thumbs.want_dated(keys)

    # --- results and the timeline ----------------------------------------------------------------------
    def _on_results(self, shown: Any) -> None:
        s = self.c.session
        if s.dates is None or len(s.dates) < 2:
            return
        how = shown.how
        if how in COMPARISONS:
            r = shown.result
            x = r.extra or {}
            before = str(x["date_before"][0]) if len(r.rows) else ""
            after = str(x["date_after"][0]) if len(r.rows) else ""
            words = {
                "change": f"Showing what changed from {before} to {after}",
                "history": f"Showing what is unusual at {after} for its own history",
                "new": f"Showing what is new at {after} since {before}",
            }[how]
            self.bar.set_note(f"{words} ({len(r):,} chips) on {s.date}'s imagery")
            return
        self.bar.set_note("")
        self.c.dates.timeline(self.c.dates.where, self.c.dates.where_name)

    def _on_timeline(self, counts: list, caption: str) -> None:
        self.timeline.set_counts(counts, self.c.session.date, caption)
        self.timeline_hint.setText(
            caption or "Search (click a chip) to see how many places like it each date has."
        )

    def _on_site_chosen(self, i: int) -> None:
        import shapely.geometry

        features = self.c.sites.features
        s = self.c.session
        if s.dates is None or not 0 <= i < len(features) or s.outcome is None or s.outcome.how in COMPARISONS:
            return
        shape = shapely.geometry.shape(features[i]["geometry"])
        self.c.dates.timeline(shape, f"site S{i + 1} ({features[i]['properties']['area_ha']:.0f} ha)")
