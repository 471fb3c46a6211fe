"""The gallery's list model: search hits in display order, filtered by a score threshold.

Filtering and sorting happen here with numpy rather than in a QSortFilterProxyModel: a proxy calls a
Python ``filterAcceptsRow``/``lessThan`` per row and per comparison, which makes a live threshold drag over
5,000 hits stutter. Here a drag is one numpy comparison plus a row insert/remove at the tail.
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
from PySide6.QtCore import QAbstractListModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QImage, QPixmap

from terrafind.core.present.items import ResultItem
from terrafind.core.search.percentiles import format_top
from terrafind.gui.plain import plain_tip

ItemRole = Qt.ItemDataRole.UserRole + 1
PixmapRole = Qt.ItemDataRole.UserRole + 2
ROW_KEY = Qt.ItemDataRole.UserRole + 3
PairRole = Qt.ItemDataRole.UserRole + 4  # (before pixmap, after pixmap) of a comparison across dates

MAX_PIXMAPS = 2000  # about 75 MB of 100 px tiles; older ones are dropped and asked for again when seen


class ResultsModel(QAbstractListModel):
    """Hits in display order. Model rows are positions in ``_shown``; ``item.row`` is the catalog row."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._items: list[ResultItem] = []
        self.by = (
            "score"  # what the threshold compares: "score" or "probability" (terrafind.core.search.visible)
        )
        self._scores = np.zeros(0, np.float32)
        self._order = np.zeros(0, np.int64)  # item positions sorted by the current key
        self._shown = np.zeros(0, np.int64)  # _order with the threshold applied
        self._model_row = np.zeros(0, np.int64)  # item position -> model row, -1 when hidden
        self._pos_of_row: dict[int, int] = {}
        self._pixmaps: OrderedDict[int, QPixmap] = OrderedDict()
        self._dated: OrderedDict[tuple[str, int], QPixmap] = OrderedDict()  # (date, row): before/after tiles
        self._pair_of: dict[tuple[str, int], list[int]] = {}  # (date, row) -> catalog rows of the items
        self._threshold: float | None = None
        self._loss_range: tuple[float | None, float | None] | None = None  # (min, max): Clay v1 loss
        self._losses = np.zeros(0, np.float64)
        self.thumb_size = 100

    # --- Qt model API -------------------------------------------------------------------------
    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._shown)

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or index.row() >= len(self._shown):
            return None
        item = self._items[int(self._shown[index.row()])]
        if role == ItemRole:
            return item
        if role == PixmapRole:
            return self._pixmaps.get(item.row)
        if role == PairRole:
            if item.before is None or item.after is None:
                return None
            return self._dated.get(item.before), self._dated.get(item.after)
        if role == ROW_KEY:
            return item.row
        if role == Qt.ItemDataRole.DisplayRole:
            return f"#{item.rank}  {item.score:.3f}"
        if role == Qt.ItemDataRole.ToolTipRole:
            where = "" if item.top is None else f" ({format_top(item.top)} of region)"
            word = item.kind if item.kind in ("loss", "novelty", "change") else "similarity"
            lines = [f"Rank {item.rank}, {word} {item.score:.3f}{where}", f"Chip {item.chip_id}"]
            if item.probability is not None:
                lines.append(f"Probability {item.probability:.2f}")
            if item.loss is not None:
                lines.append(f"Loss {item.loss:.4g}")
            if item.matched:
                lines.append(f"Matched example {item.matched}")
            if item.before is not None and item.after is not None:
                word = "Change" if item.kind == "change" else "Score"
                lines[0] = f"Rank {item.rank}, {word.lower()} {item.score:.3f}"
                lines.append(f"Left: {item.before[0]}, right: {item.after[0]}")
                if item.score_before is not None:
                    lines.append(f"Score at {item.before[0]}: {item.score_before:.3f}")
            elif item.date:
                lines.append(f"Date {item.date}")
            lines.append(f"{item.lon:.5f}, {item.lat:.5f} (lon, lat)")
            return plain_tip("\n".join(lines))  # ids and dates come from the data file
        return None

    # --- content ------------------------------------------------------------------------------
    def set_items(self, items: list[ResultItem]) -> None:
        self.beginResetModel()
        self._items = list(items)
        # What the threshold compares (terrafind.core.search.visible): probabilities when every hit has one (after Refine).
        self.by = "probability" if items and all(it.probability is not None for it in items) else "score"
        key = (lambda it: it.probability) if self.by == "probability" else (lambda it: it.score)
        self._scores = np.array([key(it) for it in self._items], np.float32)
        self._losses = np.array([np.nan if it.loss is None else it.loss for it in self._items], np.float64)
        self._pos_of_row = {it.row: i for i, it in enumerate(self._items)}
        self._pair_of = {}
        for it in self._items:
            for key in (it.before, it.after) if it.before is not None and it.after is not None else ():
                self._pair_of.setdefault(key, []).append(it.row)
        # Hits that survive into the next search keep their thumbnail: no grey flash, no new request.
        for row in [r for r in self._pixmaps if r not in self._pos_of_row]:
            del self._pixmaps[row]
        ranks = np.array([it.rank for it in self._items], np.int64)
        self._order = np.argsort(ranks, kind="stable")
        self._set_shown(self._filtered(self._order))
        self.endResetModel()

    def item_for_row(self, row: int) -> ResultItem | None:
        pos = self._pos_of_row.get(row)
        return None if pos is None else self._items[pos]

    def model_row_of(self, row: int) -> int:
        """The display position of a catalog row, -1 when absent or filtered out."""
        pos = self._pos_of_row.get(row)
        return -1 if pos is None else int(self._model_row[pos])

    def shown_rows(self) -> list[int]:
        return [self._items[int(p)].row for p in self._shown]

    def set_label(self, row: int, label: str | None) -> None:
        item = self.item_for_row(row)
        if item is not None and item.label != label:
            item.label = label
            self._changed(row)

    def set_pixmap(self, row: int, image: QImage) -> None:
        if row not in self._pos_of_row or image.isNull():
            return
        size = self.thumb_size
        scaled = image.scaled(
            size, size, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation
        )
        self._pixmaps[row] = QPixmap.fromImage(scaled)
        self._pixmaps.move_to_end(row)
        while len(self._pixmaps) > MAX_PIXMAPS:
            self._pixmaps.popitem(last=False)
        self._changed(row)

    def has_pixmap(self, row: int) -> bool:
        return row in self._pixmaps

    def pairs(self) -> bool:
        """True when the items compare two dates (tiles show both)."""
        return bool(self._pair_of)

    def missing_pair_keys(self, rows: list[int]) -> list[tuple[str, int]]:
        """(date, row) thumbnails the tiles of catalog ``rows`` still lack."""
        out = []
        for row in rows:
            it = self.item_for_row(row)
            if it is None or it.before is None or it.after is None:
                continue
            out += [k for k in (it.before, it.after) if k[1] >= 0 and k not in self._dated]
        return out

    def set_dated_pixmap(self, date: str, row: int, image: QImage) -> None:
        """A before/after thumbnail arrived: (date, row of that date's catalog)."""
        key = (date, row)
        if key not in self._pair_of or image.isNull():
            return
        size = self.thumb_size
        scaled = image.scaled(
            size, size, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation
        )
        self._dated[key] = QPixmap.fromImage(scaled)
        while len(self._dated) > MAX_PIXMAPS:
            self._dated.popitem(last=False)
        for catalog_row in self._pair_of[key]:
            self._changed(catalog_row)

    # --- order and filter ---------------------------------------------------------------------
    def sort_by_rank(self) -> None:
        ranks = np.array([it.rank for it in self._items], np.int64)
        self._reorder(np.argsort(ranks, kind="stable"))

    def sort_by_distance(self, lon: float, lat: float) -> None:
        """Nearest first; an equirectangular distance is exact enough to order chips in one region."""
        lons = np.array([it.lon for it in self._items], np.float64)
        lats = np.array([it.lat for it in self._items], np.float64)
        dx = (lons - lon) * np.cos(np.radians(lat))
        dy = lats - lat
        self._reorder(np.argsort(dx * dx + dy * dy, kind="stable"))

    def set_loss_range(self, low: float | None, high: float | None) -> None:
        """Hide hits whose loss lies outside [low, high] (None: open; both None: no filter), as core does."""
        self._loss_range = None if low is None and high is None else (low, high)
        self.set_threshold(self._threshold)

    def set_threshold(self, threshold: float | None) -> None:
        self._threshold = threshold
        new = self._filtered(self._order)
        old = self._shown
        n_old, n_new = len(old), len(new)
        # Sorted by score, a threshold move only cuts or extends the tail: keep the view (and its
        # scroll position and selection) by inserting or removing those rows only.
        if n_new <= n_old and np.array_equal(old[:n_new], new):
            if n_new < n_old:
                self.beginRemoveRows(QModelIndex(), n_new, n_old - 1)
                self._set_shown(new)
                self.endRemoveRows()
        elif n_new > n_old and np.array_equal(new[:n_old], old):
            self.beginInsertRows(QModelIndex(), n_old, n_new - 1)
            self._set_shown(new)
            self.endInsertRows()
        else:
            self.beginResetModel()
            self._set_shown(new)
            self.endResetModel()

    def _filtered(self, order: np.ndarray) -> np.ndarray:
        if len(order) == 0:
            return order
        if self._threshold is not None:
            order = order[self._scores[order] >= self._threshold]
        if self._loss_range is not None:  # the rule of core.session_lines.loss_keep
            lo, hi = self._loss_range
            loss = self._losses[order]
            keep = np.isfinite(loss)
            if lo is not None:
                keep &= loss >= lo
            if hi is not None:
                keep &= loss <= hi
            order = order[keep]
        return order

    def _set_shown(self, shown: np.ndarray) -> None:
        self._shown = shown
        self._model_row = np.full(len(self._items), -1, np.int64)
        self._model_row[shown] = np.arange(len(shown))

    def _reorder(self, order: np.ndarray) -> None:
        self.beginResetModel()
        self._order = order
        self._set_shown(self._filtered(order))
        self.endResetModel()

    def _changed(self, row: int) -> None:
        model_row = self.model_row_of(row)
        if model_row >= 0:
            index = self.index(model_row)
            self.dataChanged.emit(index, index)
