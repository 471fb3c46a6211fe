"""The "Check a random sample" bar above the gallery: what the person's marks on a random sample of the
visible hits say about all of them (terrafind.core.search.check), the sample's size and a new sample.

"Checked 18 of the 20 sampled hits: 15 right. Precision about 83 % (61-94 %, Wilson 95 %): expect about
34 false hits among these 200 (12-78)." The same sentence goes into the export's provenance.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QSpinBox, QVBoxLayout, QWidget

from terrafind.gui.panels.panel_style import hint_label

__all__ = ["SampleCheckBar"]


class SampleCheckBar(QWidget):
    new_sample_requested = Signal(int)  # the sample size asked for

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.text = QLabel("", self)
        self.text.setWordWrap(True)
        self.text.setStyleSheet("color: #1f4f80;")
        self.size_spin = QSpinBox(self)
        self.size_spin.setRange(1, 2000)
        self.size_spin.setToolTip("How many of the visible hits to check (default: 5 %, 20 to 200)")
        self.new_button = QPushButton("New sample", self)
        self.new_button.setToolTip("Draw another random sample of this size (marks on hits stay)")
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(hint_label("Sample size"))
        row.addWidget(self.size_spin)
        row.addStretch(1)
        row.addWidget(self.new_button)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(8, 0, 8, 0)
        lay.setSpacing(4)
        lay.addWidget(self.text)
        lay.addLayout(row)
        self.new_button.clicked.connect(lambda: self.new_sample_requested.emit(int(self.size_spin.value())))
        self.hide()

    def show_estimate(self, estimate, size: int) -> None:
        """Show a :class:`terrafind.core.search.check.PrecisionEstimate` (None hides the bar)."""
        self.setVisible(estimate is not None)
        if estimate is None:
            return
        self.text.setText(estimate.sentence())
        self.size_spin.blockSignals(True)
        self.size_spin.setValue(int(size))
        self.size_spin.blockSignals(False)
