"""Paints one gallery tile: thumbnail (grey until it arrives), rank, labelled figures, date, label mark.

Every number says what it is: line 1 the rank and what the ranking sorts by ("sim 0.964", or "prob 0.97"
after Refine), line 2 where the hit stands in its region ("top 0.5 %", or its similarity after Refine),
line 3 the date.

Painting in a delegate (instead of a widget per tile) is what keeps 5,000 hits cheap: Qt only asks
for the tiles on screen.
"""

from __future__ import annotations

from PySide6.QtCore import QLineF, QModelIndex, QPersistentModelIndex, QRect, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPen
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem

from terrafind.core.present.items import ResultItem
from terrafind.core.search.percentiles import format_top
from terrafind.gui.panels.panel_style import PLACEHOLDER_COLOR, kind_color
from terrafind.gui.results.results_model import ItemRole, PairRole, PixmapRole

PAD = 6
TEXT_H = 17
GAP = 4  # between the before and after thumbnails of a comparison


def tile_figures(item: ResultItem) -> tuple[str, str]:
    """(line 1, line 2) of a tile: "sim 0.964" / "top 0.5 % of region"; after Refine "prob 0.97" / "sim 0.588";
    a change between dates "change 0.842"; what is new "sim 0.931" / "was 0.612 in 2015"."""
    if item.kind == "change":
        return f"change {item.score:.3f}", ""
    if item.kind in ("loss", "novelty"):  # unusual places
        top = "" if item.top is None else format_top(item.top) + " of region"
        return f"{item.kind} {item.score:.3g}", top
    if item.score_before is not None and item.before is not None:
        word = "prob" if item.probability is not None else "sim"
        return f"{word} {item.score:.3f}", f"was {item.score_before:.3f} in {item.before[0][:10]}"
    if item.probability is not None:
        return f"prob {item.probability:.2f}", f"sim {item.score:.3f}"
    top = "" if item.top is None else format_top(item.top) + " of region"
    return f"sim {item.score:.3f}", top


class ResultTileDelegate(QStyledItemDelegate):
    """Fixed-size tiles so the view can lay out thousands of them without asking each one."""

    def __init__(self, thumb_size: int = 100, parent=None) -> None:
        super().__init__(parent)
        self.thumb_size = thumb_size
        self.pairs = False  # tiles of a comparison across dates: before and after side by side

    def tile_size(self) -> QSize:
        width = 2 * self.thumb_size + GAP if self.pairs else self.thumb_size
        return QSize(width + 2 * PAD, self.thumb_size + 2 * PAD + 3 * TEXT_H - 2)

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> QSize:
        return self.tile_size()

    def paint(
        self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> None:
        item: ResultItem | None = index.data(ItemRole)
        if item is None:
            return
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        tile = QRect(option.rect).adjusted(1, 1, -1, -1)
        palette = option.palette
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        if selected:
            fill = QColor(palette.highlight().color())
            fill.setAlpha(60)
            painter.setPen(QPen(palette.highlight().color(), 1.5))
            painter.setBrush(fill)
            painter.drawRoundedRect(QRectF(tile), 5, 5)
        elif option.state & QStyle.StateFlag.State_MouseOver:
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QColor(0, 0, 0, 14))
            painter.drawRoundedRect(QRectF(tile), 5, 5)

        size = self.thumb_size
        width = 2 * size + GAP if self.pairs else size
        left = tile.left() + (tile.width() - width) // 2
        thumb = QRect(left, tile.top() + PAD - 1, size, size)
        if self.pairs and item.before is not None and item.after is not None:
            after = QRect(left + size + GAP, thumb.top(), size, size)
            before_pm, after_pm = index.data(PairRole) or (None, None)
            self._paint_thumb(painter, thumb, before_pm)
            self._paint_thumb(painter, after, after_pm)
            self._paint_dates(painter, ((thumb, item.before[0]), (after, item.after[0])))
            self._paint_mark(painter, after, item.label)
        else:
            self._paint_thumb(painter, thumb, index.data(PixmapRole))
            self._paint_mark(painter, thumb, item.label)

        text_top = thumb.bottom() + 3
        size = width  # the text lines span both thumbnails of a pair
        line1 = QRect(left, text_top, size, TEXT_H)
        line2 = QRect(left, text_top + TEXT_H - 2, size, TEXT_H)
        text_color = palette.text().color()
        font = QFont(option.font)
        bold = QFont(font)
        bold.setBold(True)
        painter.setPen(text_color)
        painter.setFont(bold)
        painter.drawText(line1, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, f"#{item.rank}")
        painter.setFont(font)
        first, second = tile_figures(item)
        painter.drawText(line1, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, first)
        small = QFont(font)
        small.setPointSizeF(font.pointSizeF() * 0.85)
        painter.setFont(small)
        painter.setPen(QColor("#6b7280"))
        line3 = QRect(thumb.left(), text_top + 2 * TEXT_H - 4, size, TEXT_H)
        painter.drawText(line2, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, second)
        if item.date and not self.pairs:
            painter.drawText(
                line3, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, item.date[:10]
            )
        painter.restore()

    def _paint_thumb(self, painter: QPainter, slot: QRect, pixmap) -> None:
        painter.fillRect(slot, PLACEHOLDER_COLOR)
        if pixmap is not None and not pixmap.isNull():
            # Centre non-square thumbnails inside the square slot.
            x = slot.left() + (slot.width() - pixmap.width()) // 2
            y = slot.top() + (slot.height() - pixmap.height()) // 2
            painter.drawPixmap(x, y, pixmap)

    def _paint_dates(self, painter: QPainter, slots) -> None:
        """Each thumbnail's date on a small dark tag in its lower-left corner: "1985" | "2020"."""
        painter.save()
        small = QFont(painter.font())
        small.setPointSizeF(max(6.5, small.pointSizeF() * 0.8))
        small.setBold(True)
        painter.setFont(small)
        for slot, date in slots:
            text = str(date)[:10]
            w = painter.fontMetrics().horizontalAdvance(text) + 8
            tag = QRect(slot.left() + 3, slot.bottom() - 16, w, 14)
            painter.fillRect(tag, QColor(0, 0, 0, 160))
            painter.setPen(QColor("white"))
            painter.drawText(tag, Qt.AlignmentFlag.AlignCenter, text)
        painter.restore()

    def _paint_mark(self, painter: QPainter, thumb: QRect, label: str | None) -> None:
        """A coloured frame and a corner badge (check or cross) on labelled tiles."""
        color = kind_color(label)
        if color is None:
            return
        painter.setPen(QPen(color, 3))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRect(QRectF(thumb).adjusted(1.5, 1.5, -1.5, -1.5))
        badge = QRectF(thumb.right() - 21, thumb.top() + 4, 18, 18)
        painter.setPen(QPen(QColor("white"), 1.5))
        painter.setBrush(color)
        painter.drawEllipse(badge)
        painter.setPen(QPen(QColor("white"), 2.2, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap))
        c = badge.center()
        if label == "positive":
            painter.drawLine(QLineF(c.x() - 4.5, c.y() + 0.5, c.x() - 1.5, c.y() + 3.5))
            painter.drawLine(QLineF(c.x() - 1.5, c.y() + 3.5, c.x() + 4.5, c.y() - 3.5))
        else:
            painter.drawLine(QLineF(c.x() - 3.5, c.y() - 3.5, c.x() + 3.5, c.y() + 3.5))
            painter.drawLine(QLineF(c.x() - 3.5, c.y() + 3.5, c.x() + 3.5, c.y() - 3.5))
