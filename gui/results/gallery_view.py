"""The gallery's grid: uniform tiles that fill the width, an empty-state hint, and the label keys."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QKeyEvent, QPainter, QPaintEvent, QResizeEvent
from PySide6.QtWidgets import QAbstractItemView, QListView, QWidget

from terrafind.core.present.items import NEGATIVE, POSITIVE


class GalleryView(QListView):
    """Icon grid with uniform tiles, an empty-state hint, and label keys."""

    label_key_pressed = Signal(str)
    enter_pressed = Signal()
    viewport_resized = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.empty_text = "No results yet.\nClick chips on the map to search by example."
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setMovement(QListView.Movement.Static)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setUniformItemSizes(True)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setMouseTracking(True)
        self.setSpacing(0)
        self._tile = QSize(112, 146)

    def set_tile_size(self, tile: QSize) -> None:
        self._tile = tile
        self._fit_grid()

    def _fit_grid(self) -> None:
        # Share the spare width between the columns so the grid fills the panel evenly.
        gap = 6
        width = max(1, self.viewport().width() - 2)  # an exact fit wraps the last column in IconMode
        columns = max(1, width // (self._tile.width() + gap))
        cell = QSize(max(self._tile.width() + gap, width // columns), self._tile.height() + gap)
        if cell != self.gridSize():
            self.setGridSize(cell)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        if key == Qt.Key.Key_Y and not event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            self.label_key_pressed.emit(POSITIVE)
        elif key == Qt.Key.Key_N and not event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            self.label_key_pressed.emit(NEGATIVE)
        elif key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.enter_pressed.emit()
        else:
            super().keyPressEvent(event)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit_grid()
        self.viewport_resized.emit()

    def paintEvent(self, event: QPaintEvent) -> None:
        super().paintEvent(event)
        if self.model() is not None and self.model().rowCount() == 0 and self.empty_text:
            painter = QPainter(self.viewport())
            painter.setPen(Qt.GlobalColor.gray)
            rect = self.viewport().rect().adjusted(16, 16, -16, -16)
            painter.drawText(rect, Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, self.empty_text)
