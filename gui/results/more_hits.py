"""The line under the results header that says when the region holds more hits than are shown.

"About 330 chips of this region are above the line; the best 200 are shown. [Show up to 400]": the count
comes from core (:meth:`terrafind.core.search.run.SearchOutcome.region_count_above`), the button asks for a
larger number of results (the window hands it to the controller's ``set_params``).
"""

from __future__ import annotations

import math

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QPushButton, QWidget

from terrafind.core.search.query import MAX_K
from terrafind.gui.panels.panel_style import hint_label

__all__ = ["MoreHits", "more_text", "next_k"]


def next_k(count: int, k: int) -> int:
    """A results count that shows all ``count`` hits (rounded up to a hundred), within MAX_K."""
    return int(min(MAX_K, max(k + 100, math.ceil(count * 1.1 / 100) * 100)))


def more_text(count: int | None, shown: int, k: int) -> str:
    """The sentence, or "" when everything above the line is shown."""
    if count is None or shown < k or count <= shown:
        return ""
    return f"About {count:,} chips of this region are above the line; the best {shown:,} are shown."


class MoreHits(QWidget):
    more_requested = Signal(int)  # the number of results to ask for

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.label = hint_label("")
        self.label.setWordWrap(True)
        self.button = QPushButton(self)
        self.button.setToolTip("Search again for more results (Results in the search settings)")
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.label, 1)
        lay.addWidget(self.button)
        self._k = 0
        self.button.clicked.connect(lambda: self.more_requested.emit(self._k))
        self.hide()

    def show_counts(self, count: int | None, shown: int, k: int) -> None:
        text = more_text(count, shown, k)
        self.setVisible(bool(text))
        if not text:
            return
        self._k = next_k(int(count or 0), k)
        self.label.setText(text)
        self.button.setText(f"Show up to {self._k:,}")
        self.button.setEnabled(self._k > k)
