"""The gallery's "Show: Best matches | Review: least sure first" switch above the results."""

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
        self.set_review_available(False)

    def mode(self) -> str:
        return str(self.combo.currentData())

    def set_mode(self, key: str) -> None:
        """Reflect a mode without emitting."""
        self.combo.setCurrentIndex(self.combo.findData(key))

    def set_review_available(self, on: bool) -> None:
        item = self.combo.model().item(1)
        item.setEnabled(on)
        if not on and self.mode() == "review":
            self.set_mode("best")
