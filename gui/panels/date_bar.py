"""The strip above the map of a region with several dates: which date is on the map, one click for another.

One button per date (the year alone when every date is a different year); the one on the map is pressed.
The arrows (and Dates > Previous / Next date, Alt+Left / Alt+Right) step through them. Hidden for data of
one date. The words at the right say what the map shows beyond the imagery (a change, what is new).
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QButtonGroup, QHBoxLayout, QLabel, QSizePolicy, QToolButton, QWidget

from terrafind.core.dates.region import display_labels
from terrafind.gui.panels.panel_style import hint_label

__all__ = ["DateBar"]

_BUTTON = (
    "QToolButton { padding: 3px 10px; border: 1px solid #c5ccd6; border-radius: 4px; background: #f6f8fa; }"
    "QToolButton:checked { background: #1f6feb; color: white; border-color: #1f6feb; font-weight: bold; }"
    "QToolButton:hover:!checked { background: #e7ecf2; }"
)


class DateBar(QWidget):
    """See the module docstring. ``date_chosen(label)`` when the person asks for another date."""

    date_chosen = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("dateBar")
        self.setStyleSheet("#dateBar { background: #eef2f6; border-bottom: 1px solid #d0d7de; }")
        self._labels: list[str] = []
        self._current: str | None = None
        self.title = QLabel("<b>Date on the map:</b>", self)
        self.prev_button = QToolButton(self)
        self.prev_button.setText("◀")
        self.prev_button.setToolTip("The date before (Alt+Left)")
        self.next_button = QToolButton(self)
        self.next_button.setText("▶")
        self.next_button.setToolTip("The date after (Alt+Right)")
        self.group = QButtonGroup(self)
        self.group.setExclusive(True)
        self.buttons: dict[str, QToolButton] = {}
        self._row = QHBoxLayout()
        self._row.setSpacing(3)
        self.note = hint_label("", self)
        self.note.setWordWrap(False)
        # A long note must never widen the window: it takes the room left and is cut there (tooltip: all).
        self.note.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(8, 4, 8, 4)
        lay.setSpacing(6)
        lay.addWidget(self.title)
        lay.addWidget(self.prev_button)
        lay.addLayout(self._row)
        lay.addWidget(self.next_button)
        lay.addSpacing(12)
        lay.addWidget(self.note, 1)
        self.prev_button.clicked.connect(lambda: self.step(-1))
        self.next_button.clicked.connect(lambda: self.step(1))
        self.hide()

    def set_dates(self, labels: list[str], current: str | None) -> None:
        """The region's dates (oldest first) and the one on the map; hidden for fewer than two."""
        if labels != self._labels:
            for b in self.buttons.values():
                self.group.removeButton(b)
                b.deleteLater()
            self.buttons.clear()
            names = display_labels(labels)
            for label in labels:
                b = QToolButton(self)
                b.setText(names[label])
                b.setCheckable(True)
                b.setStyleSheet(_BUTTON)
                b.setCursor(Qt.CursorShape.PointingHandCursor)
                b.setToolTip(f"Show {label} on the map (its chips, thumbnails and imagery)")
                b.clicked.connect(lambda _c=False, lab=label: self._choose(lab))
                self.group.addButton(b)
                self._row.addWidget(b)
                self.buttons[label] = b
            self._labels = list(labels)
        self.set_current(current)
        self.setVisible(len(labels) >= 2)

    def set_current(self, label: str | None) -> None:
        self._current = label
        for lab, b in self.buttons.items():
            b.setChecked(lab == label)
        i = self._labels.index(label) if label in self._labels else -1
        self.prev_button.setEnabled(i > 0)
        self.next_button.setEnabled(0 <= i < len(self._labels) - 1)

    def set_note(self, text: str) -> None:
        self.note.setText(text)
        self.note.setToolTip(text)

    def current(self) -> str | None:
        return self._current

    def step(self, delta: int) -> None:
        """The date ``delta`` places later (negative: earlier), when there is one."""
        if self._current not in self._labels:
            return
        i = self._labels.index(self._current) + delta
        if 0 <= i < len(self._labels):
            self._choose(self._labels[i])

    def _choose(self, label: str) -> None:
        self.set_current(self._current)  # the session decides; the controller's signal presses the button
        if label != self._current:
            self.date_chosen.emit(label)
