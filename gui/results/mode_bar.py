"""The gallery's "Show:" switch above the results: Best matches | Review: least sure first (after Refine) |
Check a random sample (any results) | Improve: chips to review (during reviewed hard-negative rounds)."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QWidget

__all__ = ["GalleryModeBar", "GALLERY_MODES"]

GALLERY_MODES = [
    ("best", "Best matches", "The hits in ranked order"),
    (
        "review",
        "Review: least sure first",
        "Hits the classifier is least sure about: each label teaches most",
    ),
    (
        "check",
        "Check a random sample",
        "A random sample of the visible hits: your Yes / No marks tell how many of all of them are right",
    ),
    (
        "round",
        "Improve: chips to review",
        "The hits the detector is surest about far from your sites: mark each, then Next round",
    ),
]


class GalleryModeBar(QWidget):
    """ "Show: Best matches | Review" above the gallery; Review is enabled once a refined search exists."""

    mode_chosen = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.combo = QComboBox(self)
        for i, (key, text, tip) in enumerate(GALLERY_MODES):
            self.combo.addItem(text, key)
            self.combo.setItemData(i, tip, Qt.ItemDataRole.ToolTipRole)
        self.combo.setToolTip(
            "Review appears after Refine: it lists the hits the classifier is least sure about"
        )
        lay = QHBoxLayout(self)
        lay.setContentsMargins(8, 0, 8, 0)
        lay.addWidget(QLabel("Show:", self))
        lay.addWidget(self.combo, 1)
        self.combo.activated.connect(lambda _i: self.mode_chosen.emit(self.mode()))
        for key in ("review", "check", "round"):
            self._set_available(key, False)

    def mode(self) -> str:
        return str(self.combo.currentData())

    def set_mode(self, key: str) -> None:
        """Reflect a mode without emitting."""
        self.combo.setCurrentIndex(self.combo.findData(key))

    def set_review_available(self, on: bool) -> None:
        self._set_available("review", on)

    def set_check_available(self, on: bool) -> None:
        """The random-sample check needs results."""
        self._set_available("check", on)

    def set_round_available(self, on: bool) -> None:
        """Chips to review exist while reviewed hard-negative rounds run."""
        self._set_available("round", on)

    def is_available(self, key: str) -> bool:
        return bool(self.combo.model().item(self.combo.findData(key)).isEnabled())

    def _set_available(self, key: str, on: bool) -> None:
        item = self.combo.model().item(self.combo.findData(key))
        item.setEnabled(on)
        if not on and self.mode() == key:
            self.set_mode("best")
