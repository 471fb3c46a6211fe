"""The results gallery: a grid of hit thumbnails with rank and score, sorting, and Yes/No labelling.

Keys (when the grid has focus): Y = "Yes, this" (positive), N = "Not this" (negative), Enter = zoom to
the chip, arrows move. Delete is deliberately not bound: it reads as "remove", and a label is not a
removal. After a label the next tile becomes current, so a reviewer can go through hits with Y/N alone.
"""

from __future__ import annotations

from PySide6.QtCore import QItemSelectionModel, QModelIndex, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QImage
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from terrafind.core.present.items import NEGATIVE, POSITIVE, ResultItem
from terrafind.gui.panels.panel_style import HINT_COLOR, hint_label, section_title
from terrafind.gui.results.check_bar import SampleCheckBar
from terrafind.gui.results.gallery_view import GalleryView
from terrafind.gui.results.mode_bar import GalleryModeBar
from terrafind.gui.results.more_hits import MoreHits
from terrafind.gui.results.results_delegate import ResultTileDelegate
from terrafind.gui.results.results_model import ROW_KEY, ResultsModel
from terrafind.gui.results.rounds_panel import RoundsPanel
from terrafind.gui.results.sites_list import SitesList

SORT_KEYS = [("score", "Best first (similarity)"), ("distance", "Nearest to map centre")]


class ResultsPanel(QWidget):
    """Right side of the window. Rows in signals and methods are catalog rows (``ResultItem.row``)."""

    row_selected = Signal(int)
    row_activated = Signal(int)
    label_requested = Signal(int, str)
    thumbnails_wanted = Signal(list)
    dated_thumbnails_wanted = Signal(list)  # [(date, row)]: before/after tiles of a comparison
    sort_chosen = Signal(str)  # the user picked a sort key in the combo ("score" | "distance")

    def __init__(self, parent: QWidget | None = None, thumb_size: int = 100) -> None:
        super().__init__(parent)
        self._quiet = False  # set while the selection changes from code, so no row_selected echo
        self._center: tuple[float, float] | None = None
        self._total = 0
        self._threshold: float | None = None
        self.model = ResultsModel(self)
        self.model.thumb_size = thumb_size
        self.delegate = ResultTileDelegate(thumb_size, self)
        self.view = GalleryView(self)
        self.view.setModel(self.model)
        self.view.setItemDelegate(self.delegate)
        self.view.set_tile_size(self.delegate.tile_size())
        self.mode_bar = GalleryModeBar(self)  # Best matches / Review (after Refine)
        self.more = MoreHits(self)  # "about 330 chips are above the line; the best 200 are shown"
        self.check_bar = SampleCheckBar(self)  # "Check a random sample": the precision the marks give
        self.rounds = RoundsPanel(self)  # "Improve automatically": each round's figures
        self.sites_list = SitesList(self)  # shown while View > Show sites is on
        self.sites_list.hide()

        self.count_label = hint_label("")
        self.count_label.setWordWrap(False)
        self.sort_combo = QComboBox(self)
        for key, text in SORT_KEYS:
            self.sort_combo.addItem(text, key)
        self.sort_combo.setToolTip("Order of the tiles (the map centre comes from the map view)")
        self.yes_button = QPushButton("Yes, this  (Y)", self)
        self.no_button = QPushButton("Not this  (N)", self)
        self.yes_button.setToolTip("Label the selected chip as a positive example (key Y)")
        self.no_button.setToolTip("Label the selected chip as a negative example (key N)")
        for button in (self.yes_button, self.no_button):
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # keep focus in the grid so Y/N keep working
        self._build_layout()

        self._wanted_timer = QTimer(self)
        self._wanted_timer.setSingleShot(True)
        self._wanted_timer.setInterval(40)  # coalesce scroll/resize bursts into one request
        self._wanted_timer.timeout.connect(self._emit_thumbnails_wanted)
        # Not connected to QTimer.start directly: valueChanged(int) would call start(msec).
        self.view.verticalScrollBar().valueChanged.connect(self._schedule_thumbnails)
        self.view.viewport_resized.connect(self._schedule_thumbnails)
        self.view.selectionModel().currentChanged.connect(self._on_view_current_changed)
        self.view.doubleClicked.connect(self._on_view_activated)
        self.view.enter_pressed.connect(lambda: self._on_view_activated(self.view.currentIndex()))
        self.view.label_key_pressed.connect(self._label_current)
        self.yes_button.clicked.connect(lambda: self._label_current(POSITIVE))
        self.no_button.clicked.connect(lambda: self._label_current(NEGATIVE))
        self.sort_combo.activated.connect(self._on_sort_combo_activated)
        self._update_header()

    def _build_layout(self) -> None:
        header = QHBoxLayout()
        header.addWidget(section_title("Results"))
        header.addWidget(self.count_label, 1)
        header.addWidget(QLabel("Sort:", self))
        header.addWidget(self.sort_combo)
        buttons = QHBoxLayout()
        buttons.addWidget(self.yes_button)
        buttons.addWidget(self.no_button)
        hint = hint_label("Labelled tiles are marked and leave the next search.")
        hint.setStyleSheet(f"color: {HINT_COLOR};")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.setSpacing(6)
        layout.addLayout(header)
        layout.addWidget(self.mode_bar)
        layout.addWidget(self.check_bar)
        layout.addWidget(self.rounds)
        layout.addWidget(self.more)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.sites_list)
        layout.addLayout(buttons)
        layout.addWidget(hint)

    def set_ranked_by(self, by: str) -> None:
        """Name what "Best first" sorts by: "similarity", or "probability" after Refine (what the tiles show)."""
        self.sort_combo.setItemText(self.sort_combo.findData("score"), f"Best first ({by})")

    def sizeHint(self) -> QSize:
        # Three single tiles wide: before/after pairs then sit one and a half to a row, and the window
        # keeps its width when a comparison is shown.
        tile = self.delegate.thumb_size + 12
        return QSize(3 * (tile + 6) + 40, 600)

    # --- public API ---------------------------------------------------------------------------
    def set_results(self, items: list[ResultItem]) -> None:
        self._total = len(items)
        self.model.set_items(items)
        if self.delegate.pairs != self.model.pairs():  # before/after tiles are twice as wide
            self.delegate.pairs = self.model.pairs()
            self.view.set_tile_size(self.delegate.tile_size())
        self.model.set_threshold(self._threshold)
        self._apply_sort()
        self._update_header()
        self.view.scrollToTop()
        self._schedule_thumbnails()

    def set_threshold(self, t: float | None) -> None:
        self._threshold = t
        self.model.set_threshold(t)
        self._update_header()
        self._schedule_thumbnails()

    def set_loss_range(self, low: float | None, high: float | None) -> None:
        """Hide tiles whose loss (Clay v1) lies outside [low, high]; both None: no filter."""
        self.model.set_loss_range(low, high)
        self._update_header()
        self._schedule_thumbnails()

    def set_thumbnail(self, row: int, image: QImage) -> None:
        self.model.set_pixmap(row, image)

    def set_dated_thumbnail(self, date: str, row: int, image: QImage) -> None:
        """A before/after thumbnail: (date, row of that date's chips)."""
        self.model.set_dated_pixmap(date, row, image)

    def set_label(self, row: int, label: str | None) -> None:
        """Mark (or unmark, after an undo) a tile's label without emitting anything."""
        self.model.set_label(row, label)

    def select_row(self, row: int) -> None:
        model_row = self.model.model_row_of(row)
        self._quiet = True
        try:
            if model_row < 0:
                self.view.clearSelection()
                return
            index = self.model.index(model_row)
            flags = QItemSelectionModel.SelectionFlag.ClearAndSelect
            self.view.selectionModel().setCurrentIndex(index, flags)
            self.view.scrollTo(index, QAbstractItemView.ScrollHint.PositionAtCenter)
        finally:
            self._quiet = False

    def set_sort(self, key: str, center: tuple[float, float] | None = None) -> None:
        """Sort by "score" (the search's ranking, best first) or "distance" from ``center`` (lon, lat);
        without a centre, the centre of the results is used."""
        if key not in dict(SORT_KEYS):
            raise ValueError(f"unknown sort key {key!r}")
        if center is not None:
            self._center = (float(center[0]), float(center[1]))
        self.sort_combo.setCurrentIndex(self.sort_combo.findData(key))
        self._apply_sort()
        self._schedule_thumbnails()

    def visible_count(self) -> int:
        return self.model.rowCount()

    def visible_rows(self) -> list[int]:
        return self.model.shown_rows()

    def current_row(self) -> int | None:
        index = self.view.currentIndex()
        return index.data(ROW_KEY) if index.isValid() else None

    def clear(self) -> None:
        self.set_results([])

    # --- internals ----------------------------------------------------------------------------
    def _apply_sort(self) -> None:
        current = self.current_row()
        if self.sort_combo.currentData() == "distance" and self._total:
            center = self._center or self._results_center()
            self.model.sort_by_distance(*center)
        else:
            self.model.sort_by_rank()
        if current is not None:
            self.select_row(current)

    def _results_center(self) -> tuple[float, float]:
        items = [self.model.item_for_row(r) for r in self.model.shown_rows()] or []
        lons = [it.lon for it in items if it] or [0.0]
        lats = [it.lat for it in items if it] or [0.0]
        return (sum(lons) / len(lons), sum(lats) / len(lats))

    def _update_header(self) -> None:
        shown, total = self.visible_count(), self._total
        if total == 0:
            text = "none"
        elif shown == total:
            text = f"{total:,} hits"
        else:
            text = f"{shown:,} of {total:,}"
        self.count_label.setText(text)
        self.count_label.setToolTip(
            f"{shown:,} of {total:,} hits have a {self.model.by} of at least {self._threshold:.3f}"
            if self._threshold is not None and total
            else ""
        )
        self.view.empty_text = (
            f"All results are below the {self.model.by} threshold."
            if total
            else "No results yet.\nClick chips on the map to search by example."
        )
        has_current = self.view.currentIndex().isValid()
        self.yes_button.setEnabled(has_current)
        self.no_button.setEnabled(has_current)

    def _on_view_current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        self._update_header()
        if current.isValid() and not self._quiet:
            self.row_selected.emit(current.data(ROW_KEY))

    def _on_view_activated(self, index: QModelIndex) -> None:
        if index.isValid():
            self.row_activated.emit(index.data(ROW_KEY))

    def _on_sort_combo_activated(self, _i: int) -> None:
        self._apply_sort()
        self._schedule_thumbnails()
        self.sort_chosen.emit(self.sort_combo.currentData())

    def _label_current(self, kind: str) -> None:
        index = self.view.currentIndex()
        if not index.isValid():
            return
        row = index.data(ROW_KEY)
        self.model.set_label(row, kind)  # marked at once; the shell may correct it with set_label
        self.label_requested.emit(row, kind)
        if index.row() + 1 < self.model.rowCount():
            self.view.setCurrentIndex(self.model.index(index.row() + 1))

    def _schedule_thumbnails(self, *_args: object) -> None:
        self._wanted_timer.start()

    def _emit_thumbnails_wanted(self) -> None:
        shown = self._rows_in_viewport()
        if self.model.pairs():
            keys = self.model.missing_pair_keys(shown)
            if keys:
                self.dated_thumbnails_wanted.emit(keys)
            return
        rows = [r for r in shown if not self.model.has_pixmap(r)]
        if rows:
            self.thumbnails_wanted.emit(rows)

    def _rows_in_viewport(self) -> list[int]:
        """Catalog rows of the tiles on screen, top-left first. Tiles flow left to right, so their
        top edge never decreases with the model row: a binary search finds the first one."""
        n = self.model.rowCount()
        if n == 0 or not self.view.isVisible():
            return []
        area = self.view.viewport().rect()
        lo, hi = 0, n
        while lo < hi:
            mid = (lo + hi) // 2
            if self.view.visualRect(self.model.index(mid)).bottom() < area.top():
                lo = mid + 1
            else:
                hi = mid
        rows = []
        for model_row in range(lo, n):
            rect = self.view.visualRect(self.model.index(model_row))
            if rect.top() > area.bottom():
                break
            if rect.intersects(area):
                rows.append(self.model.index(model_row).data(ROW_KEY))
        return rows
