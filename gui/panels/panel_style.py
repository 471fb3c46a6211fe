"""Shared looks of the side panels: the example colours and small text helpers.

Kept in one place so the gallery, the examples list and the controls speak the same colour language
(green = positive, red = negative) as the map.
"""

from __future__ import annotations

from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import QLabel, QWidget

POSITIVE_COLOR = QColor("#2e9d4f")
NEGATIVE_COLOR = QColor("#d1453b")
PLACEHOLDER_COLOR = QColor("#d9dde2")
HINT_COLOR = "#6b7280"
ERROR_COLOR = "#b42318"
WARNING_COLOR = "#9a6700"


def kind_color(kind: str | None) -> QColor | None:
    """The mark colour of an example kind or result label, None when unlabelled."""
    if kind == "positive":
        return POSITIVE_COLOR
    if kind == "negative":
        return NEGATIVE_COLOR
    return None


def section_title(text: str, parent: QWidget | None = None) -> QLabel:
    """A bold heading for a panel section."""
    label = QLabel(text, parent)
    font = QFont(label.font())
    font.setBold(True)
    font.setPointSizeF(font.pointSizeF() * 1.05)
    label.setFont(font)
    return label


def hint_label(text: str = "", parent: QWidget | None = None, color: str = HINT_COLOR) -> QLabel:
    """Small grey text for hints, counts and inline messages."""
    label = QLabel(text, parent)
    label.setWordWrap(True)
    label.setStyleSheet(f"color: {color};")
    font = QFont(label.font())
    font.setPointSizeF(font.pointSizeF() * 0.92)
    label.setFont(font)
    return label
